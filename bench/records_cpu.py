"""Python CPU of building a cluster's sentence documents, without a cluster.

Usage (from the repository root)::

    python bench/records_cpu.py [--scale 100000] [--cache DIR] [--repeat 3] [--code PATH]

Reads ``opensearch_bulk.py``'s cached table (``--cache``; prepared there if missing) and
times, over every article, CPU seconds (``process_time``) per 100k sentences of:
``records`` (the paragraph records alone, one article at a time; ``records_batched``:
``records_of`` over ``ingest.RECORD_BATCH`` articles, where the code has it),
``article_docs`` (every document of an article, one at a time, records included) and
``corpus_json``: every document of a rebuild as ``ingest`` makes them, each encoded as
the bulk sends it (``wire.dumps`` of its source). Best of ``--repeat``. ``--code PATH`` imports
``bot`` from another checkout (say, main's), for an A/B on the same table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", type=Path)
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsquote-bulkbench"
    )
    args = parser.parse_args(argv)
    sys.path[:0] = [str(args.code or ROOT), str(ROOT / "bench")]
    from opensearch_bulk import prepared

    from bot.core.search import documents, ingest, paragraphs, totals, wire

    table, _, _ = prepared(args.scale, args.cache)
    per = 100_000 / table.sentences
    keys = ("_id", "_op_type", "_index")

    def build_records() -> None:
        for number in range(table.articles):
            paragraphs.records(table, number)

    batch = getattr(ingest, "RECORD_BATCH", None)

    def build_batched() -> None:
        for first in range(0, table.articles, batch):
            paragraphs.records_of(table, first, min(first + batch, table.articles))

    _, sdf, pdf = totals.table_stats(table)

    def build_docs() -> None:
        for number in range(table.articles):
            documents.article_docs(table, number, None)

    def build_and_encode() -> None:
        for doc in ingest._corpus_actions(table, {}, sdf, pdf):
            wire.dumps({k: v for k, v in doc.items() if k not in keys})

    row: dict[str, object] = {"code": str(args.code or ROOT), "sentences": table.sentences}
    steps = [("records", build_records)]
    if batch is not None:
        steps.append(("records_batched", build_batched))
    steps += [("article_docs", build_docs), ("corpus_json", build_and_encode)]
    for name, step in steps:
        best = float("inf")
        for _ in range(args.repeat):
            cpu = time.process_time()
            step()
            best = min(best, time.process_time() - cpu)
        row[f"{name}_cpu_s_per_100k"] = round(best * per, 2)
    row["load"] = os.getloadavg()[0]
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
