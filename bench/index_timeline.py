"""Wall-clock timeline of one ``python -m bot index`` build, phase by phase.

    cd WORKTREE && NEWSQUOTE_DATA_DIR=$(mktemp -d) python bench/index_timeline.py CORPUS

Runs the ``index`` command in this process, as ``python -m bot index --corpus CORPUS``
does, with the build's serial steps wrapped by timers (listing, hashing, Punkt
training, the workers' preparing, each worker table joined, the BM25 builds, the
save); a step the tree under test lacks is left out. Prints, on stderr, each step's
start and end in seconds from this script's start, and the CPU time of this process
and of its children (the workers and the Punkt child). The tree measured is the one
``bot`` is imported from: the current directory comes first on ``sys.path``.
Unlike ``build_memory.py`` it samples nothing, so nothing else competes for the cores.
"""

from __future__ import annotations

import contextlib
import functools
import os
import runpy
import sys
import time
from typing import Any

sys.path.insert(0, os.getcwd())
T0 = time.perf_counter()
EVENTS: list[tuple[str, float, float]] = []
JOINS: list[tuple[float, float]] = []


def timed(owner: Any, attr: str, label: str) -> None:
    """Time every call of ``owner.attr`` under ``label`` (nothing if it does not exist)."""
    function = getattr(owner, attr, None)
    if function is None:
        return

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            EVENTS.append((label, start - T0, time.perf_counter() - T0))

    setattr(owner, attr, wrapper)


def wrap_listing(saved: Any) -> None:
    """The folder is listed in a child: time its start and the wait for its answer."""
    start_listing = saved.stamp_lister.start

    def start(*args: Any, **kwargs: Any) -> Any:
        listing = start_listing(*args, **kwargs)

        def wait() -> Any:
            began = time.perf_counter()
            try:
                return listing()
            finally:
                EVENTS.append(("wait for the listing", began - T0, time.perf_counter() - T0))

        return wait

    saved.stamp_lister.start = start


def main() -> None:
    import bot.core.answer.engine as engine
    import bot.core.answer.indexed as indexed
    import bot.core.index.bm25 as bm25
    import bot.core.index.saved as saved
    import bot.core.ingest.prepare as prepare
    from bot.core.index.table import TableJoin

    EVENTS.append(("imports", 0.0, time.perf_counter() - T0))
    wrap_listing(saved)
    timed(saved, "hash_files", "hash files")
    timed(prepare, "train_splitter", "train punkt")
    timed(prepare, "start_training", "start punkt")
    timed(getattr(prepare, "Training", None), "result", "wait for punkt")
    timed(prepare, "prepare_files", "prepare (workers)")
    timed(TableJoin, "table", "last join")
    timed(engine.Engine, "__init__", "engine (arrays, BM25)")
    timed(indexed.IndexedCorpus, "__init__", "derive arrays and BM25")
    timed(bm25.SparseBM25, "from_ids", "bm25")
    timed(saved, "settle", "settle stamps")
    timed(saved, "save_quietly", "save")
    timed(saved.store, "save", "write bundle")
    join = TableJoin.add

    def add(self: Any, table: Any) -> None:
        start = time.perf_counter()
        join(self, table)
        JOINS.append((start - T0, time.perf_counter() - T0))

    TableJoin.add = add  # type: ignore[method-assign]
    sys.argv = ["bot", "index", "--corpus", sys.argv[1]]
    with contextlib.suppress(SystemExit):  # the command's exit status
        runpy.run_module("bot", run_name="__main__")
    end = time.perf_counter() - T0
    for label, start, stop in sorted(EVENTS, key=lambda event: event[1]):
        print(f"{label:28s} {start:8.2f} -> {stop:8.2f}  ({stop - start:7.2f} s)", file=sys.stderr)
    if JOINS:
        print(
            f"worker tables joined: {len(JOINS)}, first at {JOINS[0][0]:.2f}, last done at "
            f"{JOINS[-1][1]:.2f}, {sum(b - a for a, b in JOINS):.2f} s in all",
            file=sys.stderr,
        )
    cpu = os.times()
    print(
        f"total {end:.2f} s; CPU s: this process {cpu.user + cpu.system:.1f}, "
        f"children {cpu.children_user + cpu.children_system:.1f}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
