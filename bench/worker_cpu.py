"""CPU per sentence of what an ingest worker does with a folder's articles, nothing else.

    python bench/worker_cpu.py FOLDER [--repeat 3]

Reads the folder's article files and trains Punkt on them (not timed), then prepares
them in batches of 100 exactly as a worker process does (``prepare._prepare``: clean,
split, furniture model, attribution rules and tagger, tokenize, the batch's table) and
prints the CPU time per sentence of each pass, with the least and the median. Punkt
training, hashing, BM25 and saving, which ``bench/build_cpu.py`` counts as well, are
left out: this is the part of a build that grows with the corpus and runs on every core.
To compare with another commit, run it with ``PYTHONPATH`` at a worktree of that commit,
one after the other, and report ``uptime``'s load beside the figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from bot.core.index.tokenize import Tokenizer
    from bot.core.ingest import prepare
    from bot.core.ingest.files import read_quietly
    from bot.core.ingest.raw import RawArticle
    from bot.core.ingest.sentences import SentenceSplitter

    ids = sorted(path.name for path in args.folder.iterdir() if path.is_file())
    read = [read_quietly(args.folder, name, 1 << 30) for name in ids]
    raws = [item for item in read if isinstance(item, RawArticle)]
    splitter = SentenceSplitter.train(raw.text for raw in raws)
    tokenizer = Tokenizer()
    batches = [raws[i : i + 100] for i in range(0, len(raws), 100)]
    seconds, sentences = [], 0
    for _ in range(args.repeat):
        started = time.process_time()
        sentences = sum(prepare._prepare(b, splitter, tokenizer).table.sentences for b in batches)
        seconds.append(time.process_time() - started)
    per = [s / sentences * 1e6 for s in seconds]
    print(
        f"{prepare.__file__.rsplit('/bot/', 1)[0]}: {len(raws):,} articles, {sentences:,} "
        f"sentences; worker CPU per sentence: least {min(per):.0f} us, median "
        f"{statistics.median(per):.0f} us ({' '.join(f'{s:.2f}' for s in seconds)} s)"
    )


if __name__ == "__main__":
    main()
