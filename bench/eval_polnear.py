"""PolNeAR "What did X say?": do the bot's quotes land on what X was annotated as saying?

The split's articles (dev by default; never test unless ``--final``) become the
corpus, written with the record's text as the body so PolNeAR's character
offsets are body offsets. Attributions come from the first annotator.

Who X is. A source span is cut at its first ``(`` , ``,`` ``;`` ``:`` or dash
(dropping appositions such as "Rendell, a Clinton surrogate" and "(R-Ga.)"),
split on "and"/"&" into conjuncts (each conjunct is a source of the
attribution), and each conjunct must *end* in a capitalised name: its trailing
run of capitalised words (with inner "of", "for", "the", "de" …). So
descriptions ("the president", "The Trump campaign", "two Democratic
speechwriters", "experts") and bare pronouns or relative words ("He", "It",
"who", "which", "I", "They", "Others", "Some" …: ``SKIP_WORDS``) are skipped,
as are names after a preposition ("a spokesman for Janney", "an aide to Kaine"),
as are one-word runs never capitalised mid-sentence in the split or more
often lowercase there: common nouns opening a sentence ("Authorities", "Polls").
A title-led run ends at "of" ("Mr. Morgan of the Sierra Club" is Morgan),
leading "The"/"A" are dropped, and a name starts after its last title ("Mr.",
"Sen.", "President", "Prime Minister" …: "British Prime Minister Theresa May"
is Theresa May; "Secretary of State John Kerry" is John Kerry). The
entity key is the run's last word, casefolded, without a possessive or "Jr.":
"Donald Trump", "Mr. Trump", "Trump’s", "TRUMP" are one entity. Namesakes
merge (Bill and Hillary Clinton are both "Clinton"), as a reader asking "what
did Clinton say?" would accept. X is the entity's shortest form (title-case
preferred over capitals; "the" in front when most mentions have it, as in
"the Post"), and every entity with at least two attributions in
the split is asked about once: "What did X say?".

A hit is a quote whose [start, end) overlaps a content span of an attribution
by entity X in the article the quote comes from. "lenient" also counts
content whose source is a bare pronoun in an article where X is a named
source (the coreference the strict figure cannot credit).

    python bench/eval_polnear.py [--polnear PATH] [--split dev|train] [--top-k K]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import eval_common as ec

_SKIP = (
    "he she they it we i you who whom whose which that this these those his her hers him them "
    "their theirs its our ours us me my your one some many others other another someone "
    "somebody everyone everybody anyone all both each several few most none either neither "
    "there here what"
)
_TITLES = (
    "mr mrs ms miss dr sen senator rep representative gov governor president vice secretary "
    "chairman chairwoman judge justice gen general lt col sgt rev speaker former mayor "
    "attorney sheriff prof professor gop minister prime chancellor ambassador commissioner "
    "moderator pastor chief deputy spokesman spokeswoman director"
)
SKIP_WORDS = frozenset(_SKIP.split())  # bare pronouns, relative and quantifier words
TITLES = frozenset(_TITLES.split())  # a name starts after its last title
CONNECTORS = frozenset({"of", "for", "the", "de", "van", "von", "al", "bin", "la", "du", "del"})
SUFFIXES = frozenset({"jr", "sr", "ii", "iii"})
PREPOSITIONS = frozenset(
    {"for", "to", "of", "with", "at", "from", "by", "about", "near", "on", "in"}
)
_CUT = re.compile(r"[(,;:—–]| - ")
_CONJ = re.compile(r"\s+(?:and|&)\s+")
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_WORDS = re.compile(r"[\w'’.-]+|[^\w\s]")
_SENTENCE_START = frozenset({".", "!", "?", "“", '"', ":", "‘", "'", "—", "–", "-"})


@dataclass(frozen=True)
class Attribution:
    """One annotated attribution: its source entities and what it says (content offsets)."""

    keys: frozenset[str]
    pronoun: bool
    content: tuple[tuple[int, int], ...]


class Casing:
    """How each word is written mid-sentence across the split (proper noun or not)."""

    def __init__(self, texts: list[str]) -> None:
        self.capital: Counter[str] = Counter()
        self.lower: Counter[str] = Counter()
        for text in texts:
            words = _WORDS.findall(text.split("\n", 1)[-1])  # the title line is Title Case
            for prev, word in pairwise(words):
                if word.islower():
                    self.lower[word] += 1
                elif word[0].isupper() and prev[-1] not in _SENTENCE_START:
                    self.capital[word.lower()] += 1

    def proper(self, word: str) -> bool:
        """A name: capitalised mid-sentence at least once and at least as often as not."""
        key = word.lower()
        return word.isupper() or self.capital[key] >= max(1, self.lower[key])


def _is_title(word: str) -> bool:
    return word.lower().rstrip(".") in TITLES


def _capitalised(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and letters[0].isupper()


def names(source: str, casing: Casing) -> list[tuple[str, str, bool]]:
    """(entity key, name form, had "the") for each named conjunct of a source span."""
    out = []
    for conjunct in _CONJ.split(_CUT.split(source, maxsplit=1)[0]):
        words = conjunct.split()
        if words:
            words[-1] = _POSSESSIVE.sub("", words[-1])
        while words and words[-1].lower().rstrip(".") in SUFFIXES:
            words.pop()
        run: list[str] = []
        for word in reversed(words):
            if _capitalised(word) or (run and word.lower() in CONNECTORS):
                run.insert(0, word)
            else:
                break
        article = bool(run) and run[0].lower() == "the"
        while run and (run[0].islower() or run[0] in {"The", "A", "An"}):  # "for", "the"
            run.pop(0)
        before = words[-len(run) - 1].lower() if 0 < len(run) < len(words) else ""
        if before in PREPOSITIONS:  # "a spokesman for Janney" is not Janney
            continue
        if run and _is_title(run[0]) and "of" in run:  # "Mr. Morgan of the Sierra Club"
            cut = run.index("of")
            if not all(_is_title(w) for w in run[:cut]):
                run = run[:cut]
        titled = [i for i, w in enumerate(run[:-1]) if _is_title(w)]
        if titled:  # "British Prime Minister Theresa May", "Secretary of State John Kerry"
            run = run[titled[-1] + 1 :]
            if run[0] == "of":  # "the Secretary of State" alone is a description
                del run[:2]
        if not run or run[-1].lower() in SKIP_WORDS:
            continue
        if len(run) == 1 and not casing.proper(run[0]):
            continue
        out.append((run[-1].casefold().rstrip("."), " ".join(run), article))
    return out


def best_form(forms: Counter[str]) -> str:
    """Shortest name form; title case before ALL CAPS, then the most frequent."""
    return min(forms, key=lambda f: (len(f.split()), f.isupper(), len(f), -forms[f], f))


def load(path: Path, split: str) -> tuple[list[dict], dict[str, list[Attribution]], dict]:
    """The split's records, their attributions by file name, and entity statistics."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["compartment"] == split:
                records.append(record)
    casing = Casing([r["text"] for r in records])
    by_file: dict[str, list[Attribution]] = {}
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    counts: Counter[str] = Counter()
    with_the: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for record in records:
        name = f"{record['id']}.txt"
        if name in by_file:
            raise ValueError(f"{path}: article id {record['id']!r} occurs twice in {split}")
        annotations = record["annotations"][0]["attributions"] if record["annotations"] else []
        by_file[name] = []
        for item in annotations:
            keys: set[str] = set()
            for span in item["source"]:
                for key, form, article in names(span["text"], casing):
                    keys.add(key)
                    forms[key][form] += 1
                    with_the[key] += article
            texts = [span["text"].strip().lower() for span in item["source"]]
            pronoun = bool(texts) and all(t in SKIP_WORDS for t in texts)
            kind = "named" if keys else "pronoun" if pronoun else "description" if texts else ""
            skipped[kind or "no source"] += 1
            counts.update(keys)
            content = tuple((c["start"], c["end"]) for c in item["content"])
            if any(record["text"][c["start"] : c["end"]] != c["text"] for c in item["content"]):
                raise ValueError(f"{path}: {record['id']} {item['id']}: offsets do not fit text")
            by_file[name].append(Attribution(frozenset(keys), pronoun, content))
    entities = {
        key: "the " * (2 * with_the[key] > n) + best_form(forms[key])
        for key, n in counts.items()
        if n >= 2
    }
    return records, by_file, {"entities": entities, "counts": counts, "sources": skipped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ec.add_polnear_args(parser)
    ec.add_common_args(parser)
    args = parser.parse_args(argv)
    ec.check_polnear_split(parser, args)
    if ec.missing(args.polnear):
        return 0
    records, by_file, stats = load(args.polnear, args.split)
    entities: dict[str, str] = stats["entities"]
    keys = sorted(entities, key=lambda k: (-stats["counts"][k], k))
    questions = [f"What did {entities[k]} say?" for k in keys]
    bodies = {f"{r['id']}.txt": r["text"] for r in records}
    sources = ", ".join(f"{n} {kind}" for kind, n in stats["sources"].most_common())
    print(
        f"PolNeAR {args.split}: {len(records)} articles; attribution sources: {sources}; "
        f"{len(entities)} entities with >= 2 attributions -> {len(questions)} questions, "
        f"top-k {args.top_k}"
    )

    with tempfile.TemporaryDirectory(prefix="polnear-corpus-") as tmp:
        for record in records:
            meta = {
                "title": record["title"],
                "publisher": record["publisher"],
                "published": record["publication_date"],
                "author": None if record["author"] in ("", "None") else record["author"],
            }
            ec.write_article(Path(tmp, f"{record['id']}.txt"), meta, record["text"])
        bot = ec.run_bot(Path(tmp), questions, args.top_k, args.timeout)
    baseline = ec.Bm25Baseline(bodies).ask(questions, args.top_k)

    def judge(n: int, answer: dict, lenient: bool = False) -> bool:
        found = by_file.get(answer["source"]["id"], [])
        named_here = lenient and any(keys[n] in a.keys for a in found)
        return any(
            answer["start"] < e and s < answer["end"]
            for a in found
            if keys[n] in a.keys or (named_here and a.pronoun)
            for s, e in a.content
        )

    rows = []
    for name, run in (("bot", bot), ("BM25 sentences", baseline)):
        rows.append((
            name,
            len(run.replies),
            ec.pct(ec.rate(ec.hit_at(run.replies, 1, judge))),
            ec.pct(ec.rate(ec.hit_at(run.replies, 3, judge))),
            ec.pct(ec.rate(ec.hit_at(run.replies, 1, lambda n, a: judge(n, a, lenient=True)))),
            ec.pct(ec.rate(ec.declined(run.replies))),
            1000 * run.per_question,
            ec.offset_errors(run.replies, bodies),
        ))  # fmt: skip
    ec.print_table(
        f'PolNeAR {args.split}: "What did X say?"',
        ["system", "questions", "precision@1", "precision@3", "lenient@1", "declined",
         "ms/question", "offset errors"],
        rows,
    )  # fmt: skip
    print(
        f"bot: {bot.seconds:.1f} s in one process (first reply after {bot.first_reply:.1f} s); "
        "baseline: scoring time only"
    )
    hits = ec.hit_at(bot.replies, 1, judge)
    misses = []
    for n, (reply, ok) in enumerate(zip(bot.replies, hits, strict=True)):
        if not ok:
            gold = [(f, a) for f, found in by_file.items() for a in found if keys[n] in a.keys]
            f, a = gold[0]
            want = " ".join(bodies[f][s:e] for s, e in a.content)
            misses.append((questions[n], f"{len(gold)} attributions, e.g. [{f}] {want}", reply))
    ec.print_misses("PolNeAR misses at 1", misses, args.show_misses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
