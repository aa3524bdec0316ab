"""How much of a saved page's text the bot may quote is article text, on real news pages.

Scores the ingestion path (``read_html`` then only the CONTENT paragraphs of
``clean.classify``) on the Zyte/Scrapinghub article-extraction benchmark
(181 pages, ground-truth article bodies), beside plain trafilatura, all page
text, and upstream's own stored outputs (which checks this scorer against
upstream's published figures).

Scoring is upstream's (``evaluate.py`` of scrapinghub/article-extraction-benchmark):

* tokens are runs of ``\\w+``; a text is the multiset of its word 4-grams
  ("shingles"); a text of 1-3 tokens is one shorter shingle, an empty one has none;
* per page, TP/FP/FN are multiset overlaps of predicted and true shingles;
  precision = TP/(TP+FP), recall = TP/(TP+FN), and both are 1 when FP = FN = 0;
* precision is averaged over the pages with a non-empty prediction (TP+FP > 0)
  and recall over pages with a non-empty truth (TP+FN > 0), each page weighing
  the same. So an empty prediction costs recall (0 on that page) and leaves
  precision alone: 0/0 is no evidence either way. Dropping whole pages could
  thus flatter precision, which is why the table also counts empty predictions;
* F1 = 2PR/(P+R) from the two averages; accuracy = share of pages whose token
  sequence equals the truth's; ``--bootstrap N`` adds ± (std over N resamples
  of the pages, seeded).

Usage (from the repository root)::

    python -m bench.extraction [DATA_DIR] [--out FILE] [--bootstrap N] [--jobs N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import trafilatura

from bot.core.ingest.clean import classify
from bot.core.ingest.html import decode_html, read_html
from bot.core.ingest.raw import ArticleFormatError
from bot.core.models import BlockKind

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("/work/shared/data/extraction")
NGRAM = 4
_TOKEN = re.compile(r"\w+")

PROJECT = "newsquote: read_html → CONTENT paragraphs"
PROJECT_RAW = "read_html text, before clean.classify"
TRAFILATURA = "trafilatura.extract(html), defaults"
ALL_TEXT = "all text: trafilatura.html2txt(html)"

TpFpFn = tuple[float, float, float]


# --- scoring ---------------------------------------------------------------------------


def tokens(text: str | None) -> list[str]:
    """Upstream's tokens: runs of word characters."""
    return _TOKEN.findall(text or "")


def shingles(text: str | None, n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """The multiset of word n-grams; 1..n-1 tokens make one short shingle, none make none."""
    words = tokens(text)
    return Counter(
        tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words[i : i + n]
    )


def match(true: str | None, pred: str | None) -> TpFpFn:
    """Multiset overlap of shingles, normalised to sum 1 so every page weighs the same."""
    truth, guess = shingles(true), shingles(pred)
    tp = sum((truth & guess).values())
    fp = sum((guess - truth).values())
    fn = sum((truth - guess).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision(tp: float, fp: float, fn: float) -> float:
    """Upstream's page precision (1 for a perfect match, even of two empty texts)."""
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall(tp: float, fp: float, fn: float) -> float:
    """Upstream's page recall (1 for a perfect match, even of two empty texts)."""
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def aggregate(pages: Sequence[TpFpFn]) -> dict[str, float]:
    """Macro precision and recall over the pages they are defined on, and F1 of the two."""
    p = statistics.mean([precision(*page) for page in pages if page[0] + page[1] > 0] or [0.0])
    r = statistics.mean([recall(*page) for page in pages if page[0] + page[2] > 0] or [0.0])
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1}


@dataclass(frozen=True)
class Scores:
    """One system's figures on the benchmark."""

    name: str
    precision: float
    recall: float
    f1: float
    accuracy: float
    empty: int
    pages: int
    std: Mapping[str, float]


def evaluate(
    name: str,
    truth: Mapping[str, str],
    predicted: Mapping[str, str | None],
    n_bootstrap: int = 0,
    seed: int = 0,
) -> Scores:
    """Score one system's predictions against the ground truth, page by page."""
    missing = truth.keys() - predicted.keys()
    if missing:
        raise ValueError(f"{name}: no prediction for {len(missing)} pages, e.g. {min(missing)}")
    keys = sorted(truth)
    pages = [match(truth[k], predicted[k]) for k in keys]
    exact = [float(tokens(truth[k]) == tokens(predicted[k])) for k in keys]
    metrics = aggregate(pages)
    std: dict[str, float] = {}
    if n_bootstrap > 1:
        rng = random.Random(seed)
        samples: dict[str, list[float]] = {}
        for _ in range(n_bootstrap):
            picks = [rng.randrange(len(keys)) for _ in keys]
            for key, value in aggregate([pages[i] for i in picks]).items():
                samples.setdefault(key, []).append(value)
            samples.setdefault("accuracy", []).append(statistics.mean(exact[i] for i in picks))
        std = {key: statistics.stdev(values) for key, values in samples.items()}
    return Scores(
        name=name,
        precision=metrics["precision"],
        recall=metrics["recall"],
        f1=metrics["f1"],
        accuracy=statistics.mean(exact),
        empty=sum(1 for tp, fp, _ in pages if tp + fp == 0),
        pages=len(keys),
        std=std,
    )


# --- systems ---------------------------------------------------------------------------


def content_text(text: str, headings: Sequence[tuple[int, int]] | None = None) -> str:
    """What the bot may quote from an article body: its CONTENT paragraphs, blank-line joined."""
    return "\n\n".join(
        text[block.start : block.end]
        for block in classify(text, headings)
        if block.kind is BlockKind.CONTENT
    )


def _page_html(path: Path) -> str:
    return decode_html(gzip.decompress(path.read_bytes()))


def run_page(path: Path) -> tuple[str, dict[str, str]]:
    """All systems' outputs for one page (a process-pool task: module-level, picklable)."""
    page_id = path.name.split(".")[0]
    try:
        article = read_html(path, page_id)
        body, headings = article.text, article.headings
    except ArticleFormatError as exc:
        log.info("%s: %s", page_id, exc)
        body, headings = "", None
    html = _page_html(path)
    return page_id, {
        PROJECT: content_text(body, headings),
        PROJECT_RAW: body,
        TRAFILATURA: trafilatura.extract(html) or "",
        ALL_TEXT: trafilatura.html2txt(html) or "",
    }


def run_systems(paths: Sequence[Path], jobs: int) -> dict[str, dict[str, str]]:
    """Run every system on every page; ``{system: {page id: text}}``."""
    outputs: dict[str, dict[str, str]] = {}
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results: Iterable[tuple[str, dict[str, str]]] = list(
                pool.map(run_page, paths, chunksize=4)
            )
    else:
        results = map(run_page, paths)
    for page_id, texts in results:
        for system, text in texts.items():
            outputs.setdefault(system, {})[page_id] = text
    return outputs


def load_baselines(folder: Path) -> dict[str, dict[str, str | None]]:
    """Upstream's stored outputs, ``{"upstream <name> <version>": {page id: text}}``."""
    found: dict[str, dict[str, str | None]] = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        name = f"upstream output: {path.stem} {data.get('version', '')}".strip()
        found[name] = {k: v.get("articleBody") for k, v in data["output"].items()}
    return found


# --- report ----------------------------------------------------------------------------


def table(rows: Sequence[Scores]) -> str:
    """A markdown table of the scores (± bootstrap std when computed)."""

    def cell(row: Scores, key: str) -> str:
        value = f"{getattr(row, key):.3f}"
        return f"{value} ± {row.std[key]:.3f}" if key in row.std else value

    lines = [
        "| system | precision | recall | F1 | accuracy | empty |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        figures = " | ".join(cell(row, k) for k in ("precision", "recall", "f1", "accuracy"))
        lines.append(f"| {row.name} | {figures} | {row.empty}/{row.pages} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Score every system, print the table, optionally write it to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    parser.add_argument("--bootstrap", type=int, default=0, help="resamples for ± (0: none)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, help="score only the first N pages (quick runs)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)

    truth_file, html_dir = args.data / "ground-truth.json", args.data / "html"
    for needed in (args.data, truth_file, html_dir):
        if not needed.exists():
            print(f"skipped: {needed} not found")
            return 0
    truth_all = {
        k: v.get("articleBody") or ""
        for k, v in json.loads(truth_file.read_text(encoding="utf-8")).items()
    }
    paths = sorted(html_dir.glob("*.html.gz"))[: args.limit]
    truth = {p.name.split(".")[0]: truth_all[p.name.split(".")[0]] for p in paths}

    started = time.perf_counter()
    systems: dict[str, Mapping[str, str | None]] = dict(run_systems(paths, args.jobs))
    elapsed = time.perf_counter() - started
    systems.update(load_baselines(args.data / "baselines"))
    rows = [
        evaluate(name, truth, {k: output.get(k) for k in truth}, args.bootstrap)
        for name, output in systems.items()
    ]
    report = "\n".join(
        [
            f"Article extraction, {len(truth)} pages of {args.data} "
            f"(extractors run in {elapsed:.0f} s, trafilatura {trafilatura.__version__})",
            "",
            table(rows),
            "",
        ]
    )
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
