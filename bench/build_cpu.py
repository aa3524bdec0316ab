"""CPU seconds of a whole build of one folder, on one core: steady where wall time is not.

    python bench/build_cpu.py FOLDER [--workers 1] [--label NAME]

Imports the package, then builds the folder's index from scratch as ``python -m bot
index`` does (``open_engine(rebuild=True)``: hash, read, train Punkt, clean, split,
attribute, tokenize, BM25, save into a temporary ``data_dir``). Prints the CPU time
of the imports and of the build (this process and its workers). On a machine shared
with other work, CPU time still counts the work itself. To compare with another
commit, run the same command with ``PYTHONPATH`` at a worktree of it.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--workers", type=int, default=1, help="ingest processes (0: one per core)")
    parser.add_argument("--label", default="build")
    args = parser.parse_args()
    started, wall = cpu_seconds(), time.perf_counter()
    from bot.core.index.saved import open_engine
    from bot.settings import Settings

    imported = cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="newsquote-build-cpu-") as data:
        options = Settings(
            _env_file=None, data_dir=Path(data), use_saved_index=True, ingest_workers=args.workers
        ).core_options()
        opened = open_engine(args.folder, options, rebuild=True)
    done = cpu_seconds()
    print(
        f"{args.label}: imports {imported - started:.2f} s CPU; build {done - imported:.2f} s CPU "
        f"(all processes) for {opened.engine.sentence_count:,} sentences; "
        f"wall {time.perf_counter() - wall:.1f} s"
    )


if __name__ == "__main__":
    main()
