"""Every benchmark in one run: seeds, SQuAD v1.1 dev, PolNeAR dev (three ways), bot beside BM25.

PolNeAR is asked "What did X say?" (eval_polnear), then in eight question shapes
(polnear_shapes), and its attributions are scored as such (eval_attribution: the
source of each content span, rules beside rules + the learned tagger).

Each part skips itself (one "skipped: … not found" line) when its data is absent.

    python bench/eval_all.py [--data DIR] [--squad-limit N] [--top-k K] [--show-misses N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import eval_attribution
import eval_common as ec
import eval_polnear
import eval_seeds
import eval_squad
import polnear_shapes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=ec.DATA_DIR, help="folder holding squad/, polnear/"
    )
    parser.add_argument("--seeds", type=Path, default=ec.ROOT / "seeds")
    parser.add_argument("--squad-limit", type=int, default=0, help="see eval_squad.py --limit")
    parser.add_argument("--polnear-split", choices=["dev", "train"], default="dev")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--show-misses", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    common = ["--top-k", str(args.top_k), "--show-misses", str(args.show_misses)]
    polnear = [
        "--polnear",
        str(args.data / "polnear" / "polnear.jsonl"),
        "--split",
        args.polnear_split,
    ]
    parts = [
        ("seeds", eval_seeds.main, ["--corpus", str(args.seeds)]),
        ("SQuAD", eval_squad.main, ["--squad", str(args.data / "squad" / "dev-v1.1.json"),
                                    "--limit", str(args.squad_limit)]),
        ("PolNeAR", eval_polnear.main, polnear),
        ("PolNeAR question shapes", polnear_shapes.main, polnear),
    ]  # fmt: skip
    worst = 0
    for name, run, extra in parts:
        print(f"\n=== {name} ===")
        start = time.perf_counter()
        worst = max(worst, run(extra + common))
        print(f"({name}: {time.perf_counter() - start:.0f} s)")
    print("\n=== PolNeAR attribution ===")  # an inner stage: no top-k, no misses
    worst = max(worst, eval_attribution.main(polnear))
    return worst


if __name__ == "__main__":
    sys.exit(main())
