"""How often the bot quotes page furniture from real news pages, and whether it still finds the body.

The 181 saved pages of the article-extraction benchmark (``bench/extraction.py``)
come with their ground-truth article bodies. All of them are loaded as one corpus,
the way a user's folder of saved pages would be, and two kinds of question asked:

* **body questions**: for up to ``--per-page`` sentences of each page's ground-truth
  body (seeded sample, 8 words or more), the question made of its words, with its
  first word and last words left out (so it is not a copy of the sentence). The
  body sentence is *found@3* when one of the top three quotes holds it;
* **title questions**: "What happened: <page title>?", which meets the pages' own
  headlines, related-article lists and teasers, where furniture lives.

Every top-3 quote of both kinds is labelled against the ground truth of the page
it comes from: *body* when at least half its word 4-grams are in that page's true
body (upstream's shingles, ``extraction.shingles``), *not body* otherwise. "Not
body" is what the benchmark's annotators left out: page furniture, and also
captions and standfirsts they did not count; ``--show N`` prints some to read.

``--sentences FILE`` also writes every quotable sentence of the corpus with its
label (body or not), the labelled set ``tools/fit_furniture.py`` fits on.

    .venv/bin/python bench/furniture.py [DATA_DIR] [--per-page 3] [--show N]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.extraction import DEFAULT_DATA, shingles, tokens  # noqa: E402
from bot.core.answer.engine import Engine  # noqa: E402
from bot.core.ingest.clean import classify  # noqa: E402
from bot.core.ingest.document import candidate_spans  # noqa: E402
from bot.core.ingest.html import read_html  # noqa: E402
from bot.core.ingest.raw import ArticleFormatError  # noqa: E402
from bot.core.ingest.sentences import SentenceSplitter  # noqa: E402
from bot.core.models import BlockKind  # noqa: E402
from bot.settings import Settings  # noqa: E402

SEED = 20240601
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Question:
    """A question, the page it was made from, and the body sentence it should find (if any)."""

    text: str
    page: str
    sentence: str | None


def is_body(quote: str, truth: str) -> bool:
    """At least half of the quote's word 4-grams are in the page's true body.

    A quote of one to three words has no 4-gram: it is body when its words stand
    side by side in the true body.
    """
    mine = shingles(quote)
    if not mine:
        return True
    if len(tokens(quote)) < 4:
        return f" {flat(quote)} " in f" {flat(truth)} "
    return sum((mine & shingles(truth)).values()) >= 0.5 * sum(mine.values())


def flat(text: str) -> str:
    """Words only, lower case, one space apart: for "does this quote hold that sentence"."""
    return " ".join(tokens(text.casefold()))


def body_questions(page: str, truth: str, per_page: int, rng: random.Random) -> list[Question]:
    """Questions from up to ``per_page`` of the page's true sentences (8+ words)."""
    pieces = [p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", truth) if p.strip()]
    fit = [p for p in pieces if len(tokens(p)) >= 8]
    chosen = rng.sample(fit, min(per_page, len(fit)))
    out = []
    for sentence in chosen:
        words = tokens(sentence)
        inner = words[1 : max(len(words) - 2, 6)][:30]  # within the question length limit
        out.append(Question(" ".join(inner) + "?", page, sentence))
    return out


def load_pages(data: Path) -> tuple[dict[str, str], list[Path]]:
    """Ground-truth bodies by page id, and the saved pages."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    paths = sorted((data / "html").glob("*.html.gz"))
    return {k: v.get("articleBody") or "" for k, v in truth.items()}, paths


def page_of(source_id: str) -> str:
    """The page id of a source id ("html/<id>.html.gz" -> "<id>")."""
    return Path(source_id).name.split(".")[0]


@dataclass
class Tally:
    """Counts of one question kind."""

    questions: int = 0
    quotes: int = 0
    not_body: int = 0
    found: int = 0
    declined: int = 0


def ask_all(
    engine: Engine, questions: Sequence[Question], truth: dict[str, str], show: list
) -> Tally:
    """Ask each question, label its top-3 quotes, count found body sentences."""
    tally = Tally()
    for q in questions:
        reply = engine.ask(q.text, top_k=3)
        tally.questions += 1
        tally.declined += not reply.answers
        held = False
        for answer in reply.answers[:3]:
            page = page_of(answer.source.id)
            tally.quotes += 1
            if not is_body(answer.quote, truth[page]):
                tally.not_body += 1
                show.append((q.text, answer.quote))
            if q.sentence is not None and page == q.page:
                held = held or flat(q.sentence) in flat(answer.quote)
        tally.found += held
    return tally


def write_sentences(paths: Sequence[Path], truth: dict[str, str], out: Path) -> tuple[int, int]:
    """Every sentence the sentence model weighs, labelled body or not, as JSON lines.

    Read from the pages as ingestion reads them (content paragraphs, Punkt spans, the
    furniture patterns applied) and *before* the model, so the set does not depend on
    the model fitted on it. Returns (sentences, not body).
    """
    raws = []
    for path in paths:
        try:
            raws.append(read_html(path, page_of(path.name)))
        except ArticleFormatError:
            continue  # not in the corpus either
    splitter = SentenceSplitter.train(raw.text for raw in raws)  # as the engine trains it
    count = not_body = 0
    with out.open("w", encoding="utf-8") as sink:
        for raw in raws:
            page = raw.source.id
            blocks = [b for b in classify(raw.text, raw.headings) if b.kind is BlockKind.CONTENT]
            for after, block in enumerate(reversed(blocks)):
                body = raw.text[block.start : block.end]
                spans = candidate_spans(body, splitter)
                for start, end in spans:
                    text = body[start:end]
                    label = is_body(text, truth[page])
                    count, not_body = count + 1, not_body + (not label)
                    row = {"page": page, "text": text, "body": label, "title": raw.source.title,
                           "whole_paragraph": len(spans) == 1, "after": after}  # fmt: skip
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    return count, not_body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-page", type=int, default=3)
    parser.add_argument("--show", type=int, default=0, metavar="N")
    parser.add_argument("--sentences", type=Path, help="write the labelled sentences here")
    parser.add_argument("--sentences-only", action="store_true", help="ask no questions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if not (args.data / "ground-truth.json").exists():
        print(f"skipped: {args.data / 'ground-truth.json'} not found")
        return 0
    truth, paths = load_pages(args.data)
    if args.sentences:
        count, bad = write_sentences(paths, truth, args.sentences)
        print(f"wrote {args.sentences}: {count} sentences, {bad} not body")
        if args.sentences_only:
            return 0
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="furniture-") as tmp:
        folder = Path(tmp, "html")
        folder.mkdir()
        for path in paths:
            shutil.copyfile(path, folder / path.name)
        engine = Engine.from_folder(Path(tmp), Settings(_env_file=None).core_options().engine)
    titles = {page_of(s.id): s.title for s in engine.table.sources}
    body_qs = [q for p in sorted(truth) for q in body_questions(p, truth[p], args.per_page, rng)]
    title_qs = [
        Question(f"What happened: {t[:200]}?", p, None) for p, t in sorted(titles.items()) if t
    ]
    shown: list = []
    held = set(sorted(truth)[1::2])  # the pages tools/fit_furniture.py does not fit on
    rows = []
    for name, qs in (("body", body_qs), ("title", title_qs)):
        rows.append((name, ask_all(engine, qs, truth, shown)))
        rows.append(
            (
                f"{name}, held-out pages",
                ask_all(engine, [q for q in qs if q.page in held], truth, []),
            )
        )
    print(f"Furniture on {len(paths)} real pages ({engine.sentence_count} quotable sentences)")
    print("| questions | n | top-3 quotes | not body | body sentence found@3 | declined |")
    print("|---|---|---|---|---|---|")
    for name, t in rows:
        found = f"{t.found / t.questions:.1%}" if name.startswith("body") else "-"
        print(
            f"| {name} | {t.questions} | {t.quotes} | {t.not_body} "
            f"({t.not_body / max(t.quotes, 1):.1%}) | {found} | {t.declined} |"
        )
    for label, picked in (("all pages", rows[0::2]), ("held-out pages", rows[1::2])):
        quotes = sum(t.quotes for _, t in picked)
        bad = sum(t.not_body for _, t in picked)
        print(f"{label}: not body {bad} of {quotes} top-3 quotes ({bad / max(quotes, 1):.2%})")
    for question, quote in random.Random(SEED).sample(shown, min(args.show, len(shown))):
        print(f"- Q: {question[:80]}\n  not body: {_WS.sub(' ', quote)[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
