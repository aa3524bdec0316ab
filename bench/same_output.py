"""Same output as another commit: the saved index's bytes and ``ask --json`` replies.

Usage (from the repository root)::

    git worktree add --detach ../wt-base main
    python bench/same_output.py --base ../wt-base [--corpus DIR] [--questions 500]

A change to *how* ingest works (parallelism, caching, imports, data layout) must
not change *what* it makes. This indexes one corpus with this tree's code and with
the ``--base`` tree's (each ``python -m bot index`` run from its own tree, with its
own empty ``data_dir``), then compares the saved index files byte for byte and the
``ask --json`` replies to the same questions line for line. Both use this Python
(``-m bot`` from a tree's root imports that tree's package first).

Corpus: ``--corpus DIR`` as given, or the BBC News articles of
``../shared/data/news/bbc-news.jsonl`` written as files (title and publisher as
front matter) and left to age past the stamp rule so both trees record the same
stamps. Questions: SQuAD v1.1 dev questions (seeded sample), the seed questions, and
"What did X say?" for names that occur in the corpus.
Exit status 0 when everything is the same, 1 otherwise (the first differences printed).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
BBC = DATA / "news" / "bbc-news.jsonl"
SQUAD = DATA / "squad" / "dev-v1.1.json"
SEED = 20240601
_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Dr) [A-Z][a-z]+\b")


def bbc_corpus(folder: Path) -> Path:
    """The BBC articles as files under ``folder`` (written once, then aged past 2 s)."""
    if folder.is_dir() and any(folder.iterdir()):
        return folder
    folder.mkdir(parents=True)
    with BBC.open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            name = item["id"].replace("/", "-") + ".txt"
            header = f"---\ntitle: {json.dumps(item['title'])}\npublisher: BBC News\n---\n"
            (folder / name).write_text(header + item["text"].strip() + "\n", "utf-8")
    time.sleep(2.5)
    return folder


def questions(corpus: Path, n: int) -> list[str]:
    """SQuAD questions, seed questions and "What did X say?" for names in the corpus."""
    rng = random.Random(SEED)
    asked: list[str] = []
    if SQUAD.is_file():
        data = json.loads(SQUAD.read_text("utf-8"))["data"]
        pool = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
        asked += rng.sample(pool, min(n, len(pool)))
    seeds = ROOT / "bench" / "seed_questions.yaml"
    if seeds.is_file():
        asked += re.findall(r"^\s*-?\s*question:\s*(.+)$", seeds.read_text("utf-8"), re.M)
    names: set[str] = set()
    for path in sorted(corpus.rglob("*.txt"))[:400]:
        names.update(_NAME.findall(path.read_text("utf-8", errors="replace")))
    asked += [f"What did {name} say?" for name in sorted(names)[: n // 2]]
    return [q.strip().strip("\"'") for q in asked if q.strip()]


def run_tree(tree: Path, corpus: Path, data_dir: Path, asked: list[str]) -> tuple[bytes, str]:
    """Index ``corpus`` with ``tree``'s code, ask every question; (index bytes, replies)."""
    env = {**os.environ, "NEWSQUOTE_DATA_DIR": str(data_dir), "NEWSQUOTE_USE_SAVED_INDEX": "1"}
    command = [sys.executable, "-m", "bot"]
    started = time.perf_counter()
    subprocess.run(
        [*command, "index", "--quiet", "--corpus", str(corpus)], cwd=tree, env=env, check=True
    )
    built = time.perf_counter() - started
    (index,) = [p for p in data_dir.iterdir() if p.suffix == ".nqi"]
    data = index.read_bytes()
    replies = subprocess.run(
        [*command, "ask", "--json", "--corpus", str(corpus)],
        cwd=tree, env=env, input="\n".join(asked) + "\n", capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    print(f"{tree}: index {built:.1f} s, {len(data):,} bytes, {len(replies.splitlines())} replies")
    return data, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the other tree (e.g. a worktree of main)")
    parser.add_argument("--corpus", help="articles folder; default: the BBC articles as files")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument(
        "--work", default=None, help="where to keep the indexes (kept); default: a temporary one"
    )
    args = parser.parse_args()
    if args.work:
        raise SystemExit(compare(args, Path(args.work)))
    # Each run writes two indexes and, by default, a corpus of some 40 MB: without --work
    # they go to a folder removed afterwards, so repeated runs do not fill /tmp.
    with tempfile.TemporaryDirectory(prefix="same-output-") as work:
        raise SystemExit(compare(args, Path(work)))


def compare(args: argparse.Namespace, work: Path) -> int:
    """Index and ask with both trees in ``work``; 0 when everything is the same."""
    corpus = Path(args.corpus) if args.corpus else bbc_corpus(work / "bbc")
    asked = questions(corpus, args.questions)
    mine = run_tree(ROOT, corpus, work / "data-this", asked)
    base = run_tree(Path(args.base).resolve(), corpus, work / "data-base", asked)
    same = True
    if mine[0] != base[0]:
        same = False
        at = next(i for i, (a, b) in enumerate(zip(mine[0], base[0], strict=False)) if a != b)
        print(f"index files differ (sizes {len(mine[0]):,} / {len(base[0]):,}; first at byte {at})")
    lines = list(zip(mine[1].splitlines(), base[1].splitlines(), strict=False))
    differing = [(a, b) for a, b in lines if a != b]
    if differing or len(mine[1].splitlines()) != len(base[1].splitlines()):
        same = False
        print(f"{len(differing)} of {len(asked)} replies differ; first:\n  {differing[:1]}")
    print(f"{len(asked)} questions; " + ("same index bytes, same replies" if same else "DIFFERENT"))
    return 0 if same else 1


if __name__ == "__main__":
    main()
