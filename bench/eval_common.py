"""Shared pieces of the evaluation harness: corpus writing, driving the bot, a BM25 baseline.

Every eval script measures the bot the way a user meets it, through the
``python -m bot ask --json`` contract in one subprocess per corpus, and sets a
plain sentence-level BM25 beside it so a figure always has something to be
compared with. Nothing here imports ``bot``: the harness checks the contract,
not the implementation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import numpy as np
import yaml
from nltk.tokenize.punkt import PunktSentenceTokenizer
from rank_bm25 import BM25Okapi

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT.parent / "shared" / "data"
SEED = 20240601  # every sample the harness draws is drawn with this, so runs compare

Reply = dict  # one ``ask --json`` line: {"question", "answers": [...], "no_answer_reason"}

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def normalise(text: str) -> str:
    """NFKC + casefold + collapsed whitespace, so gold strings match quotes despite cosmetics."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def simple_tokens(text: str) -> list[str]:
    """The baseline's tokenizer: lowercase ``\\w+`` runs, nothing else."""
    return _WORD.findall(text.lower())


def missing(*paths: Path) -> bool:
    """Say ``skipped: … not found`` for the first absent path (data is optional here)."""
    for path in paths:
        if not path.exists():
            print(f"skipped: {path} not found")
            return True
    return False


# --- corpus files -----------------------------------------------------------------------------


def split_front_matter(raw: str) -> str:
    """The body of an article file: everything after a leading ``---`` … ``---`` block."""
    text = raw.removeprefix("\ufeff")
    if not text.startswith("---\n"):
        return text
    match = re.search(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", text[4:], re.MULTILINE)
    return text if match is None else text[4 + match.end() :]


def write_article(path: Path, meta: Mapping[str, str | None], body: str) -> None:
    """Write one front-matter file whose body is exactly ``body`` (offsets must line up)."""
    header = yaml.safe_dump(
        {k: v for k, v in meta.items() if v}, allow_unicode=True, sort_keys=False, width=10**9
    )
    raw = f"---\n{header}---\n{body}"
    path.write_text(raw, encoding="utf-8", newline="")
    if split_front_matter(path.read_bytes().decode("utf-8")) != body:
        raise RuntimeError(f"{path}: body does not survive the front matter round trip")


def read_bodies(corpus: Path) -> dict[str, str]:
    """Bodies of every article file under ``corpus``, keyed the way the bot names sources."""
    return {
        path.relative_to(corpus).as_posix(): split_front_matter(path.read_bytes().decode("utf-8"))
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and path.suffix.lower() in (".txt", ".md")
    }


# --- the bot ----------------------------------------------------------------------------------


@dataclass
class Run:
    """Replies in question order and how long they took."""

    replies: list[Reply]
    seconds: float  # wall time of the whole run, start-up included
    first_reply: float = 0.0  # seconds until the first reply (start-up + index + one question)

    @property
    def per_question(self) -> float:
        return self.seconds / max(len(self.replies), 1)

    @property
    def steady_per_question(self) -> float:
        """Per-question time once the index is built (start-up left out)."""
        return (self.seconds - self.first_reply) / max(len(self.replies) - 1, 1)


def run_bot(
    corpus: Path,
    questions: Sequence[str],
    top_k: int,
    timeout: float = 3600,
    env: Mapping[str, str] | None = None,
) -> Run:
    """Pipe every question through one ``python -m bot ask --json`` process and read it back."""
    cmd = [sys.executable, "-m", "bot", "ask", "--json", "--corpus", str(corpus)]
    cmd += ["--top-k", str(top_k)]
    lines = [" ".join(q.split()) for q in questions]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            text=True, encoding="utf-8",
            env={**os.environ, "PYTHONUNBUFFERED": "1", "NEWSQUOTE_USE_SAVED_INDEX": "false",
                 **(env or {})},
        )  # fmt: skip
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        writer = threading.Thread(target=_feed, args=(proc, lines), daemon=True)
        writer.start()
        replies: list[Reply] = []
        first = 0.0
        try:
            for line in cast(IO[str], proc.stdout):
                if not line.strip():
                    continue
                try:
                    replies.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise RuntimeError(f"bot printed a non-JSON line: {line[:200]!r}") from exc
                first = first or time.perf_counter() - start
            proc.wait()
        finally:
            killer.cancel()
            if proc.poll() is None:  # only when reading failed: do not leave the bot running
                proc.kill()
                proc.wait()
            writer.join(timeout=5)
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or len(replies) != len(lines):
            err.seek(0)
            tail = err.read()[-2000:]
            raise RuntimeError(
                f"{' '.join(cmd)} exited {proc.returncode} after {len(replies)}/{len(lines)} "
                f"replies:\n{tail}"
            )
    _keep_replies(replies)
    return Run(replies, seconds, first)


REPLIES_ENV = "NEWSQUOTE_EVAL_REPLIES"


def _keep_replies(replies: Sequence[Reply]) -> None:
    """Append every reply, as one sorted-key JSON line, to the file ``$NEWSQUOTE_EVAL_REPLIES``.

    Two runs' files are equal byte for byte exactly when every answer is: the check that
    a refactoring changed no answer (``cmp before.jsonl after.jsonl``).
    """
    path = os.environ.get(REPLIES_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for reply in replies:
            out.write(json.dumps(reply, sort_keys=True, ensure_ascii=False) + "\n")


def _feed(proc: subprocess.Popen, lines: Sequence[str]) -> None:
    stdin = cast(IO[str], proc.stdin)
    try:
        for line in lines:
            stdin.write(line + "\n")
        stdin.close()
    except BrokenPipeError:  # the bot died; run_bot reports it with its stderr
        pass


def offset_errors(replies: Iterable[Reply], bodies: Mapping[str, str]) -> int:
    """Quotes that are not ``body[start:end]`` of the article they name (the verbatim promise)."""
    bad = 0
    for reply in replies:
        for answer in reply["answers"]:
            body = bodies.get(answer["source"]["id"])
            if body is None or body[answer["start"] : answer["end"]] != answer["quote"]:
                bad += 1
    return bad


# --- the baseline -----------------------------------------------------------------------------


def sentence_spans(body: str) -> list[tuple[int, int]]:
    """Untrained-Punkt sentences of each blank-line paragraph, as offsets into ``body``."""
    punkt = PunktSentenceTokenizer()
    spans: list[tuple[int, int]] = []
    start = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(body), None]:
        end = len(body) if brk is None else brk.start()
        paragraph = body[start:end]
        spans += [(start + s, start + e) for s, e in punkt.span_tokenize(paragraph)]
        start = len(body) if brk is None else brk.end()
    return spans


class Bm25Baseline:
    """Plain ``BM25Okapi`` over every sentence of the corpus; never declines."""

    def __init__(self, bodies: Mapping[str, str]) -> None:
        self._bodies = bodies
        self._sentences = [
            (doc, s, e) for doc, body in bodies.items() for s, e in sentence_spans(body)
        ]
        self._bm25 = BM25Okapi([simple_tokens(bodies[d][s:e]) for d, s, e in self._sentences])

    def ask(self, questions: Sequence[str], top_k: int) -> Run:
        """Replies shaped like the bot's JSON, timed over scoring only."""
        start = time.perf_counter()
        replies = []
        for question in questions:
            scores = self._bm25.get_scores(simple_tokens(question))
            best = np.argsort(-scores, kind="stable")[:top_k]
            answers = [self._answer(int(i), float(scores[i])) for i in best]
            replies.append({"question": question, "answers": answers, "no_answer_reason": None})
        return Run(replies, time.perf_counter() - start)

    def _answer(self, i: int, score: float) -> dict:
        doc, s, e = self._sentences[i]
        quote = self._bodies[doc][s:e]
        return {"quote": quote, "source": {"id": doc}, "score": score, "start": s, "end": e}


# --- scoring and printing ---------------------------------------------------------------------

Judge = Callable[[int, dict], bool]  # (question number, answer) -> is this answer right?


def hit_at(replies: Sequence[Reply], k: int, judge: Judge) -> list[bool]:
    """Per question: is any of the first ``k`` answers right?"""
    return [any(judge(n, a) for a in r["answers"][:k]) for n, r in enumerate(replies)]


def declined(replies: Iterable[Reply]) -> list[bool]:
    return [not r["answers"] for r in replies]


def rate(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def qa_rates(answerable: Sequence[Reply], unanswerable: Sequence[Reply], judge: Judge) -> list[str]:
    """right@1, right@3, unanswerable declined, answerable declined (the headline four)."""
    return [
        pct(rate(hit_at(answerable, 1, judge))),
        pct(rate(hit_at(answerable, 3, judge))),
        pct(rate(declined(unanswerable))),
        pct(rate(declined(answerable))),
    ]


def mean_top_quote_chars(replies: Iterable[Reply]) -> float:
    lengths = [len(r["answers"][0]["quote"]) for r in replies if r["answers"]]
    return sum(lengths) / len(lengths) if lengths else float("nan")


def fmt(value: object) -> str:
    """Floats with 3 significant digits, NaN as a dash."""
    if isinstance(value, float):
        return "-" if value != value else f"{value:.3g}"
    return str(value)


def pct(value: float) -> str:
    return "-" if value != value else f"{100 * value:.1f}%"


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A plain aligned text table (stdout is read by people and diffed between runs)."""
    cells = [list(headers), *([fmt(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


COVERAGE_CUTS = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)


def calibration(
    answerable: Sequence[Reply], right1: Sequence[bool], unanswerable: Sequence[Reply], title: str
) -> None:
    """What each ``min_coverage`` would do: right answers kept against declines, on data.

    The replies must come from a run with ``min_coverage = 0``, so that every
    question has its best answer and that answer's ``coverage`` to threshold.
    It is an estimate: at a real threshold the bot may still answer with a
    lower-ranked sentence that covers enough, so real declines are no higher.
    """
    top = [r["answers"][0].get("coverage") if r["answers"] else None for r in answerable]
    top_out = [r["answers"][0].get("coverage") if r["answers"] else None for r in unanswerable]
    rows = []
    for cut in COVERAGE_CUTS:

        def kept(c: object, cut: float = cut) -> bool:
            return isinstance(c, int | float) and c >= cut

        rows.append((
            f"{cut:g}",
            pct(rate([ok and kept(c) for ok, c in zip(right1, top, strict=True)])),
            pct(rate([not kept(c) for c in top])),
            pct(rate([not kept(c) for c in top_out])),
        ))  # fmt: skip
    print_table(
        title,
        ["min_coverage", "answerable right@1", "answerable declined", "unanswerable declined"],
        rows,
    )


def print_misses(title: str, items: Iterable[tuple[str, str, Reply]], most: int) -> None:
    """Show a seeded sample of failures (question, what was wanted, what came back)."""
    items = list(items)
    if not items or most <= 0:
        return
    items = random.Random(SEED).sample(items, min(most, len(items)))
    print(f"\n{title} ({len(items)} shown)")
    for question, wanted, reply in items:
        print(f"- Q: {question}\n  want: {wanted[:200]}")
        for answer in reply["answers"][:1]:
            quote = " ".join(answer["quote"].split())
            print(f"  got [{answer['source']['id']} {answer['score']:.3g}]: {quote[:240]}")
        if not reply["answers"]:
            print(f"  got: no answer ({reply.get('no_answer_reason')})")


def add_polnear_args(parser: argparse.ArgumentParser) -> None:
    """--polnear, --split and --final, as every PolNeAR harness takes them."""
    parser.add_argument("--polnear", type=Path, default=DATA_DIR / "polnear" / "polnear.jsonl")
    parser.add_argument("--split", choices=["dev", "train", "test"], default="dev")
    parser.add_argument("--final", action="store_true", help="allow --split test (final scores)")


def check_polnear_split(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse the test split without --final: it is kept for final scores."""
    if args.split == "test" and not args.final:
        parser.error("the test split is for final scores only: add --final to use it")


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top-k", type=int, default=3, help="answers asked of the bot (default 3)")
    parser.add_argument("--show-misses", type=int, default=0, metavar="N", help="print N failures")
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds before the bot is killed"
    )
