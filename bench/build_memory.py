"""Memory of a whole build over time, by phase: where the build's main process peaks.

    python bench/build_memory.py FOLDER [--interval 0.05] [--timeline out.tsv]

Builds the folder's index from scratch as ``python -m bot index`` does
(``open_engine(rebuild=True)`` into a temporary ``data_dir``) in a child process,
and samples that process's resident memory (``VmRSS``) from outside every
``--interval`` seconds, with the summed RSS of its own children (the ingest
workers) beside it. The sampler is another process, not a thread of the build:
a second thread would make the build spawn its workers instead of forking them
(``prepare._start_method``), which is another memory profile.

Phases are named by wrapping the build's steps (hashing, Punkt training, preparing,
joining the worker tables, each BM25, the save) in the child (a step the code under
test lacks is left out; one run in another process, as Punkt training now is, is
still timed, though the memory sampled is the main process's); each wrapper writes a
time stamp when its step starts and ends, on the clock the sampler reads too
(``CLOCK_MONOTONIC``). The report gives per phase its time, the main process's RSS
when it starts and ends, and the highest sample taken while it was the innermost
step; and the main process's high-water mark (``VmHWM``, from the kernel, not
sampled). To compare with another commit, run with ``PYTHONPATH`` at a worktree of it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# (module, attribute path, phase label): what the child wraps, outermost first.
PHASES = (
    ("bot.core.index.saved", "open_engine", "build"),
    ("bot.core.index.saved", "hash_files", "hash files"),
    ("bot.core.ingest.prepare", "train_splitter", "train punkt"),
    ("bot.core.ingest.prepare", "start_training", "start punkt"),
    ("bot.core.ingest.prepare", "Training.result", "wait for punkt"),
    ("bot.core.ingest.sentences", "SentenceSplitter.train", "punkt training"),
    ("bot.core.ingest.prepare", "prepare_files", "prepare (workers)"),
    ("bot.core.index.table", "CorpusTable.join", "join tables"),
    ("bot.core.answer.indexed", "IndexedCorpus.__init__", "derive arrays"),
    ("bot.core.index.bm25", "SparseBM25.from_ids", "bm25"),
    ("bot.core.index.saved", "settle", "settle stamps"),
    ("bot.core.index.saved", "save_quietly", "save"),
    ("bot.core.index.encoding", "CorpusTable.to_arrays", "table arrays"),
    ("bot.core.index.bundle", "save", "write bundle"),
)


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    """``pid``'s descendants (Linux ``/proc``)."""
    found, i = [pid], 0
    while i < len(found):
        try:
            tasks = os.listdir(f"/proc/{found[i]}/task")
        except OSError:
            tasks = []
        for task in tasks:
            try:
                with open(f"/proc/{found[i]}/task/{task}/children", encoding="ascii") as handle:
                    found += [int(c) for c in handle.read().split()]
            except OSError:
                pass
        i += 1
    return found[1:]


# ------------------------------------------------------------------ child: the build


def child(folder: Path, marks: Path, workers: int) -> None:
    import importlib

    out = marks.open("w", encoding="utf-8")

    def wrap(function: Any, label: str) -> Any:
        @functools.wraps(function)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            out.write(f"{time.monotonic()}\t+\t{label}\n")
            out.flush()
            try:
                return function(*args, **kwargs)
            finally:
                out.write(f"{time.monotonic()}\t-\t{label}\n")
                out.flush()

        return wrapped

    for module_name, path, label in PHASES:
        module = importlib.import_module(module_name)
        *owners, name = path.split(".")
        owner: Any = module
        for part in owners:
            owner = getattr(owner, part, None)
        if owner is None:
            continue
        raw = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if raw is None:  # a step another commit does not have (or names otherwise)
            continue
        if isinstance(raw, classmethod):
            setattr(owner, name, classmethod(wrap(raw.__func__, label)))
        elif isinstance(raw, staticmethod):
            setattr(owner, name, staticmethod(wrap(raw.__func__, label)))
        else:
            setattr(owner, name, wrap(raw, label))

    from bot.core.index.saved import open_engine
    from bot.settings import Settings

    with tempfile.TemporaryDirectory(prefix="newsquote-build-memory-") as data:
        options = Settings(
            _env_file=None, data_dir=Path(data), use_saved_index=True, ingest_workers=workers
        ).core_options()
        opened = open_engine(folder, options, rebuild=True)
        size = sum(p.stat().st_size for p in Path(data).glob("*.nqi"))
    out.write(
        json.dumps(
            {
                "sentences": opened.engine.sentence_count,
                "hwm_kb": _status_kb(os.getpid(), "VmHWM:"),
                "bundle_bytes": size,
            }
        )
        + "\n"
    )
    out.close()


# ------------------------------------------------------------------ driver: the sampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--workers", type=int, default=0, help="ingest processes (0: per core)")
    parser.add_argument("--timeline", type=Path, help="write every sample here (TSV)")
    parser.add_argument("--label", default="build")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--marks", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.folder, args.marks, args.workers)
        return
    with tempfile.NamedTemporaryFile(suffix=".marks", delete=False) as handle:
        marks = Path(handle.name)
    command = [sys.executable, __file__, str(args.folder), "--child", "--marks", str(marks)]
    command += ["--workers", str(args.workers)]
    process = subprocess.Popen(command)
    samples: list[tuple[float, int, int]] = []  # time, main RSS kB, children's RSS kB
    while process.poll() is None:
        main_kb = _status_kb(process.pid, "VmRSS:")
        kids = sum(_status_kb(pid, "VmRSS:") for pid in _children(process.pid))
        samples.append((time.monotonic(), main_kb, kids))
        time.sleep(args.interval)
    if process.returncode:
        sys.exit(f"the build failed ({process.returncode})")
    lines = marks.read_text("utf-8").splitlines()
    marks.unlink()
    summary = json.loads(lines[-1])
    report(args.label, samples, [line.split("\t") for line in lines[:-1]], summary, args.timeline)


def report(
    label: str,
    samples: list[tuple[float, int, int]],
    marks: list[list[str]],
    summary: dict[str, Any],
    timeline: Path | None,
) -> None:
    """Per phase: seconds, RSS at its start and end, the highest sample while innermost."""
    events = sorted((float(t), sign, name) for t, sign, name in marks)
    spans: list[tuple[str, float, float]] = []
    stack: list[tuple[str, float]] = []
    for t, sign, name in events:
        if sign == "+":
            stack.append((name, t))
        else:
            opened_name, start = stack.pop()
            assert opened_name == name, (opened_name, name)
            spans.append((name, start, t))

    def innermost(t: float) -> str:
        best = ("(outside)", -1.0, 0.0)
        for span in spans:
            if span[1] <= t <= span[2] and span[1] >= best[1]:
                best = span
        return best[0]

    def rss_at(t: float) -> int:
        earlier = [kb for s, kb, _ in samples if s <= t]
        return earlier[-1] if earlier else 0

    labelled = [(innermost(t), t, kb, kids) for t, kb, kids in samples]
    print(f"{label}: {summary['sentences']:,} sentences, bundle {summary['bundle_bytes']:,} bytes")
    print(f"{'phase':<20} {'start s':>8} {'secs':>7} {'RSS in':>7} {'RSS out':>7} {'peak':>7}")
    origin = min((start for _, start, _ in spans), default=0.0)
    for name, start, end in sorted(spans, key=lambda s: s[1]):
        inside = [kb for phase, _, kb, _ in labelled if phase == name]
        print(
            f"{name:<20} {start - origin:8.2f} {end - start:7.2f} {rss_at(start) / 1024:7.0f} "
            f"{rss_at(end) / 1024:7.0f} {max(inside, default=0) / 1024:7.0f}"
        )
    peak = max(labelled, key=lambda row: row[2])
    kids = max(labelled, key=lambda row: row[3])
    print(
        f"main process: sampled peak {peak[2] / 1024:.0f} MB in '{peak[0]}' at "
        f"{peak[1] - origin:.2f} s; VmHWM {summary['hwm_kb'] / 1024:.0f} MB"
    )
    print(f"workers (sum of RSS): peak {kids[3] / 1024:.0f} MB in '{kids[0]}'")
    if timeline is not None:
        with timeline.open("w", encoding="utf-8") as handle:
            handle.write("seconds\tphase\tmain_mb\tworkers_mb\n")
            for phase, t, kb, kids_kb in labelled:
                handle.write(f"{t - origin:.3f}\t{phase}\t{kb / 1024:.1f}\t{kids_kb / 1024:.1f}\n")


if __name__ == "__main__":
    main()
