"""Scale benchmark: this project's sparse BM25 beside rank-bm25 and bm25s, 10k to 1M sentences.

Usage (from the repository root)::

    python bench/scale.py --sentences 10000 100000 1000000 [--questions 1000] [--budget 120]

Corpus: sentences of ``../shared/data/news/bbc-news.jsonl`` (split per paragraph
with ``SentenceSplitter.untrained()``), replicated to each size with distinct
ids; generated news-like text when the file is absent. Questions: a seeded
sample of real SQuAD v1.1 dev questions when ``../shared/data/squad`` is there,
else questions drawn from corpus sentences.

Systems, each built and then served in its own subprocess so peak RSS is its own:

* ``newsquote``: ``bot.core.index.bm25.SparseBM25`` saved with ``bot.core.index.bundle``;
* ``rank-bm25``: ``BM25Okapi`` with the project's IDF floor (what the engine used
  before its sparse scorer), saved with pickle, the only way it can be;
* ``bm25s``: ``bm25s.BM25()`` (defaults: lucene IDF, float32), its own save/load;
* ``bm25s-native``: the same with bm25s's own tokenizer (English stopwords, no
  stemmer), i.e. bm25s as its users run it;
* ``newsquote-engine``: the bot's whole answer path. The sentences are written as
  article files (20 per article, 2 per paragraph; untimed), built and saved with
  ``bot.core.index.saved.open_engine`` (read, clean, Punkt, attribution, tokenize, index,
  save: all timed, on both cores), loaded from the saved index, asked with
  ``Engine.ask`` (top 10) and the reply serialised as ``ask --json`` prints it.

The first three index the same tokens (our ``Tokenizer``). Those are computed
once on the distinct base sentences and replicated with the corpus; the
tokenizer's cost is reported on its own line per size (measured rate x size).
For the first four, a query is timed from question text to the top-10 sentence
texts: tokenize, score, select; cold start = load the saved index and the
sentence texts, tokenizer ready, first question answered. For the engine, cold
start = scan the corpus folder for changes, load the saved index, first answer.
Imports are reported separately.

Writes ``bench/results/scale.md``, ``scale.png`` (log scales) and ``scale.json``,
which the README shows.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import pickle
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
BBC = DATA / "news" / "bbc-news.jsonl"
SQUAD = DATA / "squad" / "dev-v1.1.json"
OUT = ROOT / "bench" / "results"  # tracked: the README shows the table and chart
SEED = 20240601
SYSTEMS = ("newsquote", "rank-bm25", "bm25s", "bm25s-native", "newsquote-engine")
PER_ARTICLE, PER_PARAGRAPH = 20, 2
TOP_K = 10
CHECKED = 50  # questions whose top-10 scores are compared between newsquote and rank-bm25


# ------------------------------------------------------------------ corpus and questions


def base_sentences() -> tuple[list[str], str]:
    """The distinct sentences the corpus is replicated from, and where they came from."""
    if not BBC.exists():
        return generated_sentences(40_000), "generated news-like text (BBC file absent)"
    from bot.core.ingest.sentences import SentenceSplitter

    splitter = SentenceSplitter.untrained()
    out = []
    with BBC.open(encoding="utf-8") as handle:
        for line in handle:
            for paragraph in json.loads(line)["text"].split("\n\n"):
                out.extend(" ".join(paragraph[a:b].split()) for a, b in splitter.spans(paragraph))
    return [s for s in out if s], f"BBC News, {len(out):,} sentences of 2,225 articles"


def generated_sentences(n: int) -> list[str]:
    """Zipf-distributed pseudo-words in reported-speech frames: a stand-in with news statistics."""
    rng = random.Random(SEED)
    syllables = ["ka", "ro", "mi", "ten", "sol", "var", "en", "bri", "dus", "lo", "ne", "tar"]
    words = list(
        dict.fromkeys("".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(60_000))
    )
    weights = 1 / np.arange(1, len(words) + 1)
    out = []
    for _ in range(n):
        body = " ".join(rng.choices(words, weights=weights, k=rng.randint(6, 30)))
        frame = rng.random()
        out.append(f"“{body},” the minister said." if frame < 0.3 else f"{body.capitalize()}.")
    return out


def questions(sentences: Sequence[str], n: int) -> tuple[list[str], str]:
    """``n`` real questions (SQuAD dev) when available, else questions made from sentences."""
    rng = random.Random(SEED)
    if SQUAD.exists():
        data = json.loads(SQUAD.read_text("utf-8"))["data"]
        pool = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
        return rng.sample(pool, min(n, len(pool))), "SQuAD v1.1 dev questions (seeded sample)"
    out = []
    for _ in range(n):
        words = rng.choice(sentences).split()
        out.append(
            "What did they say about " + " ".join(rng.sample(words, min(4, len(words)))) + "?"
        )
    return out, "questions made from corpus sentences (SQuAD absent)"


def write_corpus(path: Path, base: Sequence[str], n: int) -> None:
    """``n`` lines ``id<TAB>text``: the base sentences repeated, every copy with its own id."""
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(f"s{i // len(base)}-{i % len(base)}\t{base[i % len(base)]}\n")


def read_texts(path: Path) -> list[str]:
    """The sentence texts of a corpus file, each its own string object (as a real corpus)."""
    with path.open(encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t", 1)[1] for line in handle]


# ------------------------------------------------------------------ worker: one system, one phase


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ``ru_maxrss``: Linux carries that over ``execve``, so a
    worker would report its parent's peak; ``VmHWM`` belongs to the address space."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: ru_maxrss (bytes on macOS) is the best there is
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


class TreeMemory:
    """Peak PSS of this process and its children (ingest workers), sampled every 0.2 s.

    ``VmHWM`` counts one process; a build on both cores has worker processes too.
    PSS shares pages the processes have in common (a fork's copy-on-write pages)
    among them, so the sum is what the build as a whole holds.
    """

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_mb = max(self.peak_mb, sum(_pss_kb(pid) for pid in _tree(os.getpid())) / 1024)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``)."""
    pids, i = [pid], 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(c) for c in task.read_text().split()]
        i += 1
    return pids


def _pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError, StopIteration):
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        return int(next(line for line in rollup.splitlines() if line.startswith("Pss:")).split()[1])
    return 0


def cached_tokens(work: Path, n: int) -> Iterator[list[str]]:
    """Our tokens for corpus sentence ``i``, ``i`` < ``n``, from the base-sentence cache."""
    cache = np.load(work / "tokens.npz")
    terms = np.array(json.loads((work / "vocab.json").read_text("utf-8")), dtype=object)
    ids, offsets = cache["ids"], cache["offsets"]
    base = len(offsets) - 1
    for i in range(n):
        j = i % base
        yield terms[ids[offsets[j] : offsets[j + 1]]].tolist()


def floor_idf(bm25: object) -> None:
    """Apply the project's IDF floor (``bot.core.index.bm25``) to a BM25Okapi."""
    from bot.core.index.bm25 import IDF_FLOOR

    floor = max(IDF_FLOOR, bm25.epsilon * max(bm25.average_idf, 0.0))
    for term, value in bm25.idf.items():
        if value <= floor:
            bm25.idf[term] = floor


def write_articles(work: Path, n: int) -> Path:
    """The corpus as article files, ``PER_ARTICLE`` sentences each, for the engine path.

    Written afresh before every build (untimed), as a folder filled just before
    ``index`` is: files younger than the stamp rule's two seconds when hashed are the
    case that once made the first start after the build hash every file again and
    rewrite the index (``first_ask_s`` measures it).
    """
    folder = work / f"articles-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    texts = read_texts(work / f"corpus-{n}.txt")
    for number, first in enumerate(range(0, n, PER_ARTICLE)):
        chunk = texts[first : first + PER_ARTICLE]
        paragraphs = [
            " ".join(chunk[i : i + PER_PARAGRAPH]) for i in range(0, len(chunk), PER_PARAGRAPH)
        ]
        (folder / f"a{number:06d}.txt").write_text("\n\n".join(paragraphs) + "\n", "utf-8")
    return folder


def shared_articles(n: int) -> Path:
    """The ``n``-sentence article folder in the temporary folder the benches share.

    The sentences are written once per size; the article files afresh each time
    (``write_articles``), as before every build here.
    """
    work = Path(tempfile.gettempdir()) / "newsquote-scale"
    work.mkdir(exist_ok=True)
    corpus = work / f"corpus-{n}.txt"
    if not corpus.exists():
        base, _ = base_sentences()
        write_corpus(corpus, base, n)
    return write_articles(work, n)


def engine_settings(index_dir: Path) -> object:
    from bot.settings import Settings

    return Settings(_env_file=None, data_dir=index_dir, use_saved_index=True).core_options()


def build(system: str, work: Path, n: int, index_dir: Path) -> dict[str, float]:
    """Index ``n`` sentences and save; returns seconds (tokens prepared beforehand, untimed)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    if system == "newsquote-engine":
        from bot.core.index.saved import open_engine

        folder = write_articles(work, n)
        memory = TreeMemory()
        started = time.perf_counter()
        opened = open_engine(folder, engine_settings(index_dir), rebuild=True)
        return {
            "build_s": time.perf_counter() - started,
            "engine_sentences": opened.engine.sentence_count,
            "build_tree_mb": memory.stop(),
        }
    if system == "newsquote":
        from bot.core.index.bm25 import SparseBM25
        from bot.core.index.bundle import Bundle, save

        started = time.perf_counter()
        index = SparseBM25(cached_tokens(work, n))  # streamed: no list of token lists
        arrays, meta = index.to_arrays()
        save(index_dir, Bundle(arrays, meta, {"bench": True}))
        return {"build_s": time.perf_counter() - started}
    if system == "bm25s-native":
        import bm25s

        texts = read_texts(work / f"corpus-{n}.txt")
        started = time.perf_counter()
        tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
        tokenized = time.perf_counter()
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        retriever.save(index_dir)
        done = time.perf_counter()
        return {"build_s": done - tokenized, "tokenize_s": tokenized - started}
    docs = list(cached_tokens(work, n))
    started = time.perf_counter()
    if system == "rank-bm25":
        from rank_bm25 import BM25Okapi

        bm25 = BM25Okapi(docs)
        floor_idf(bm25)
        with (index_dir / "bm25.pickle").open("wb") as handle:
            pickle.dump(bm25, handle, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        import bm25s

        retriever = bm25s.BM25()
        retriever.index(docs, show_progress=False)
        retriever.save(index_dir)
    return {"build_s": time.perf_counter() - started}


Answer = Callable[[str], tuple[list[int], list[float]]]


def open_system(system: str, index_dir: Path) -> Answer:
    """Load a saved index; returns question -> (top-10 ids, scores)."""
    if system == "bm25s-native":
        import bm25s

        retriever = bm25s.BM25.load(index_dir)

        def native(question: str) -> tuple[list[int], list[float]]:
            tokens = bm25s.tokenize(
                [question], stopwords="en", show_progress=False, return_ids=False
            )
            found = retriever.retrieve(tokens, k=TOP_K, show_progress=False)
            return found.documents[0].tolist(), found.scores[0].tolist()

        return native
    from bot.core.index.tokenize import Tokenizer

    tokenizer = Tokenizer()
    if system == "newsquote":
        from bot.core.index.bm25 import SparseBM25
        from bot.core.index.bundle import load

        bundle = load(index_dir, {"bench": True})
        if bundle is None:
            raise SystemExit("saved index did not load")
        index = SparseBM25.from_arrays(bundle.arrays, bundle.meta)

        def ours(question: str) -> tuple[list[int], list[float]]:
            ids, scores = index.top(tokenizer(question), TOP_K)
            return ids.tolist(), scores.tolist()

        return ours
    if system == "rank-bm25":
        with (index_dir / "bm25.pickle").open("rb") as handle:
            bm25 = pickle.load(handle)  # our own file, written by build() above

        def reference(question: str) -> tuple[list[int], list[float]]:
            scores = bm25.get_scores(tokenizer(question))
            top = np.argpartition(-scores, TOP_K)[:TOP_K]
            top = top[np.argsort(-scores[top], kind="stable")]
            return top.tolist(), scores[top].tolist()

        return reference
    import bm25s

    retriever = bm25s.BM25.load(index_dir)

    def peer(question: str) -> tuple[list[int], list[float]]:
        found = retriever.retrieve([tokenizer(question)], k=TOP_K, show_progress=False)
        return found.documents[0].tolist(), found.scores[0].tolist()

    return peer


def serve_engine(work: Path, n: int, index_dir: Path, budget: float) -> dict[str, object]:
    """The engine path: load the saved index (hashing the files), first answer; then latency."""
    from bot.core.errors import UserError
    from bot.core.index.saved import open_engine

    asked = json.loads((work / "questions.json").read_text("utf-8"))
    started = time.perf_counter()
    opened = open_engine(work / f"articles-{n}", engine_settings(index_dir))
    if opened.status != "loaded":
        raise SystemExit(f"saved index was {opened.status}, not loaded")
    loaded = time.perf_counter() - started

    def answer(question: str) -> None:
        with contextlib.suppress(UserError):
            # formatted as `ask --json` prints it: the contract scripts read
            json.dumps(opened.engine.ask(question, TOP_K).to_json(), ensure_ascii=False)

    answer(asked[0])
    cold = time.perf_counter() - started
    latencies = []
    deadline = time.perf_counter() + budget
    for i, question in enumerate(asked):
        if i >= 30 and time.perf_counter() > deadline:
            break
        began = time.perf_counter()
        answer(question)
        latencies.append(time.perf_counter() - began)
    ms = np.array(latencies) * 1000
    return {
        "cold_s": cold,
        "load_s": loaded,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "questions": len(ms),
    }


def serve(system: str, work: Path, n: int, index_dir: Path, budget: float) -> dict[str, object]:
    """Cold start, then latency over the questions until they or the time budget run out."""
    if system == "newsquote-engine":
        return serve_engine(work, n, index_dir, budget)
    asked = json.loads((work / "questions.json").read_text("utf-8"))
    started = time.perf_counter()
    answer = open_system(system, index_dir)
    texts = read_texts(work / f"corpus-{n}.txt")
    ids, _ = answer(asked[0])
    _ = [texts[i] for i in ids]
    cold = time.perf_counter() - started
    latencies, tops = [], []
    deadline = time.perf_counter() + budget
    for i, question in enumerate(asked):
        if i >= 30 and time.perf_counter() > deadline:
            break
        began = time.perf_counter()
        ids, scores = answer(question)
        _ = [texts[j] for j in ids]
        latencies.append(time.perf_counter() - began)
        if i < CHECKED:
            tops.append(scores)
    ms = np.array(latencies) * 1000
    return {
        "cold_s": cold,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "questions": len(ms),
        "top_scores": tops,
    }


IMPORTS = {
    "newsquote": (
        "scipy.sparse",
        "bot.core.index.bm25",
        "bot.core.index.bundle",
        "bot.core.index.tokenize",
    ),
    "rank-bm25": ("rank_bm25", "bot.core.index.bm25", "bot.core.index.tokenize"),
    "bm25s": ("bm25s", "bot.core.index.tokenize"),
    "bm25s-native": ("bm25s",),
    "newsquote-engine": ("bot.core.index.saved",),
}


def worker(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    for module in IMPORTS[args.system]:  # only what this system needs, so RSS stays its own
        importlib.import_module(module)
    imports = time.perf_counter() - began
    work, index_dir = Path(args.work), Path(args.index_dir)
    if args.phase == "build":
        result: dict[str, object] = dict(build(args.system, work, args.n, index_dir))
        result["index_mb"] = (
            sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file()) / 2**20
        )
    else:
        result = dict(serve(args.system, work, args.n, index_dir, args.budget))
    result["imports_s"] = imports
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


# ------------------------------------------------------------------ driver


def whole_ask(work: Path, n: int, index_dir: Path, question: str) -> float:
    """Seconds for one ``python -m bot ask --json`` process on the engine's saved index.

    Run from the root of the tree whose ``bot`` this process imports (``PYTHONPATH``
    may point at another commit's tree to measure it with this script).
    """
    import compileall

    import bot

    # Compiled as an installed package is (pip compiles at install): where
    # PYTHONDONTWRITEBYTECODE is set, as on these machines, every process would
    # otherwise compile the package from source, about 0.1 s of each start.
    package = Path(bot.__file__).resolve().parent
    compileall.compile_dir(package, quiet=1)
    env = {**os.environ, "NEWSQUOTE_DATA_DIR": str(index_dir), "NEWSQUOTE_USE_SAVED_INDEX": "1"}
    command = [
        sys.executable,
        "-m",
        "bot",
        "ask",
        "--json",
        "--corpus",
        str(work / f"articles-{n}"),
    ]
    started = time.perf_counter()
    subprocess.run(
        [*command, question], cwd=package.parent, env=env,
        capture_output=True, check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def run_phase(
    phase: str, system: str, work: Path, n: int, budget: float, timeout: float
) -> dict[str, object]:
    """One worker subprocess; its JSON result, or the reason it has none."""
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", phase, "--system", system,
        "--work", str(work), "--n", str(n), "--index-dir", str(work / f"index-{system}-{n}"),
        "--budget", str(budget),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(work: Path, base: Sequence[str], asked: Sequence[str]) -> float:
    """Token cache of the base sentences; returns our tokenizer's seconds per sentence."""
    from bot.core.index.tokenize import Tokenizer

    tokenizer = Tokenizer()
    started = time.perf_counter()
    docs = [tokenizer(text) for text in base]
    per_sentence = (time.perf_counter() - started) / len(base)
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(t, len(vocab)) for doc in docs for t in doc]
    offsets = np.concatenate([[0], np.cumsum([len(doc) for doc in docs])])
    np.savez(work / "tokens.npz", ids=np.array(ids, dtype=np.int32), offsets=offsets)
    (work / "vocab.json").write_text(json.dumps(list(vocab)), "utf-8")
    (work / "questions.json").write_text(json.dumps(list(asked)), "utf-8")
    return per_sentence


def agreement(records: list[dict[str, object]], n: int) -> str:
    """Whether newsquote's top-10 scores equal the floored rank-bm25's on the checked questions."""
    found = {r["system"]: r for r in records if r["n"] == n and "top_scores" in r}
    if "newsquote" not in found or "rank-bm25" not in found:
        return "n/a"
    ours, theirs = found["newsquote"]["top_scores"], found["rank-bm25"]["top_scores"]
    same = 0
    for a, b in zip(ours, theirs, strict=False):
        b = [s for s in b if s > 0]
        same += len(a) == len(b) and bool(np.allclose(a, b, rtol=0, atol=1e-6))
    return f"{same}/{min(len(ours), len(theirs))}"


def fmt(value: object, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(records: list[dict[str, object]], tokenize_rate: float) -> str:
    """The markdown table: one row per (size, system), plus our tokenizer's cost per size."""
    head = (
        "| sentences | system | build s | index MB | cold start s | p50 ms | p95 ms | questions "
        "| peak RSS build MB | peak RSS serve MB | imports s |\n"
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for n in sorted({int(r["n"]) for r in records}):
        rows.append(
            f"| {n:,} | *our Tokenizer, shared by the first three* | {n * tokenize_rate:,.1f} "
            "| | | | | | | | |"
        )
        for r in (r for r in records if r["n"] == n):
            if "error" in r:
                rows.append(f"| {n:,} | {r['system']} | {r['error']} | | | | | | | | |")
                continue
            build_s = fmt(r.get("build_s"))
            if r.get("tokenize_s") is not None:
                build_s += f" (+{r['tokenize_s']:,.1f} tokenize)"
            rows.append(
                f"| {n:,} | {r['system']} | {build_s} | {fmt(r.get('index_mb'))} "
                f"| {fmt(r.get('cold_s'), 2)} | {fmt(r.get('p50_ms'), 2)} | {fmt(r.get('p95_ms'), 2)} "
                f"| {fmt(r.get('questions'))} | {fmt(r.get('build_rss_mb'), 0)} "
                f"| {fmt(r.get('serve_rss_mb'), 0)} | {fmt(r.get('imports_s'), 2)} |"
            )
    return head + "\n".join(rows) + "\n"


def chart(records: list[dict[str, object]], path: Path) -> None:
    """Latency (p50 solid, p95 dashed) and peak serve RSS against corpus size, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency, memory) = plt.subplots(1, 2, figsize=(12, 4.8))
    for system in SYSTEMS:
        mine = sorted(
            (r for r in records if r["system"] == system and "p50_ms" in r), key=lambda r: r["n"]
        )
        if not mine:
            continue
        sizes = [r["n"] for r in mine]
        line = latency.plot(sizes, [r["p50_ms"] for r in mine], "o-", label=f"{system} p50")[0]
        latency.plot(
            sizes, [r["p95_ms"] for r in mine], "s--", color=line.get_color(), label=f"{system} p95"
        )
        memory.plot(
            sizes, [r["serve_rss_mb"] for r in mine], "o-", color=line.get_color(), label=system
        )
    latency.axhline(5, color="grey", lw=0.8, ls=":", label="target p50 5 ms (1M)")
    memory.axhline(800, color="grey", lw=0.8, ls=":", label="target 800 MB (1M)")
    for axis, title, unit in ((latency, "query latency", "ms"), (memory, "peak RSS serving", "MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("sentences")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def driver(args: argparse.Namespace) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    base, corpus_note = base_sentences()
    asked, question_note = questions(base, args.questions)
    rate = prepare(work, base, asked)
    print(f"corpus: {corpus_note}; questions: {question_note} ({len(asked)})")
    print(f"our Tokenizer: {rate * 1e6:.0f} µs per sentence (single core)")
    results_path = OUT / "scale.json"
    records: list[dict[str, object]] = []
    if args.merge and results_path.exists():
        records = [
            r
            for r in json.loads(results_path.read_text())["records"]
            if r["n"] not in args.sentences or r["system"] not in args.systems
        ]
    for n in args.sentences:
        write_corpus(work / f"corpus-{n}.txt", base, n)
        for system in args.systems:
            record: dict[str, object] = {"n": n, "system": system}
            built = run_phase("build", system, work, n, args.budget, args.timeout)
            record.update(built)
            record["build_rss_mb"] = built.get("peak_rss_mb")
            if "error" not in built and system == "newsquote-engine":
                # The whole `ask` process right after the build, imports included, then again.
                index_dir, first = work / f"index-{system}-{n}", asked[0]
                record["first_ask_s"] = whole_ask(work, n, index_dir, first)
                record["next_ask_s"] = whole_ask(work, n, index_dir, first)
            if "error" not in built:
                # The build's files are still being written back to disk; a flush there
                # would take CPU from the latency measurement of whichever system serves.
                os.sync()
                served = run_phase("serve", system, work, n, args.budget, args.timeout)
                record.update({k: v for k, v in served.items() if k != "imports_s"})
                record["serve_rss_mb"] = served.get("peak_rss_mb")
            record.pop("peak_rss_mb", None)
            records.append(record)
            summary = {k: v for k, v in record.items() if k != "top_scores"}
            print(json.dumps(summary), flush=True)
        for path in work.glob(f"index-*-{n}"):
            for file in sorted(path.rglob("*"), reverse=True):
                file.unlink() if file.is_file() else file.rmdir()
            path.rmdir()
    records.sort(key=lambda r: (r["n"], SYSTEMS.index(r["system"])))
    notes = {"corpus_note": corpus_note, "question_note": question_note}
    results_path.write_text(
        json.dumps({"tokenize_s_per_sentence": rate, **notes, "records": records})
    )
    write_report(records, rate, f"--sentences {' '.join(map(str, args.sentences))}", notes)
    print(f"wrote {OUT / 'scale.md'}, {OUT / 'scale.png'}, {results_path}")


def ingest_table(records: list[dict[str, object]]) -> str:
    """Getting articles in: the engine's whole build beside bm25s's, and the starts after it."""
    head = (
        "| sentences | newsquote-engine build s | bm25s-native tokenize + index s | ratio "
        "| first `ask` process s | next `ask` process s | peak RSS build, main process MB "
        "| peak PSS build, all processes MB |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for n in sorted({int(r["n"]) for r in records}):
        ours = next((r for r in records if r["n"] == n and r["system"] == "newsquote-engine"), {})
        peer = next((r for r in records if r["n"] == n and r["system"] == "bm25s-native"), {})
        if "build_s" not in ours:
            continue
        theirs = (
            float(peer["build_s"]) + float(peer.get("tokenize_s") or 0.0)
            if "build_s" in peer
            else None
        )
        ratio = f"{float(ours['build_s']) / theirs:.1f}x" if theirs else "–"
        rows.append(
            f"| {n:,} | {fmt(ours.get('build_s'))} | {fmt(theirs)} | {ratio} "
            f"| {fmt(ours.get('first_ask_s'), 2)} | {fmt(ours.get('next_ask_s'), 2)} "
            f"| {fmt(ours.get('build_rss_mb'), 0)} | {fmt(ours.get('build_tree_mb'), 0)} |"
        )
    return head + "\n".join(rows) + "\n"


def write_report(
    records: list[dict[str, object]], rate: float, command: str, notes: dict[str, str]
) -> None:
    """``scale.md`` and ``scale.png`` from the records; ``notes`` say what corpus and questions."""
    text = table(records, rate)
    checks = ", ".join(f"{n:,}: {agreement(records, n)}" for n in sorted({r["n"] for r in records}))
    base, question_note = notes["corpus_note"], notes["question_note"]
    markdown = (
        "# Scale benchmark\n\n"
        f"`python bench/scale.py {command}` on "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {_versions()}.\n\n"
        f"Corpus: {base}, replicated with distinct ids. Questions: {question_note}.\n\n"
        + text
        + "\nbuild s: for newsquote, rank-bm25 and bm25s, index + save from prepared tokens (our "
        "tokenizer's share is on its own row); bm25s-native tokenizes with bm25s's own tokenizer "
        "(shown in brackets). Latency for those four: question text to top-10 sentence texts "
        "(tokenize, score, select). **newsquote-engine is the bot's whole answer path**: build = "
        "read, clean, Punkt-split, attribute, tokenize, index and save the article files (both "
        "cores); latency = `Engine.ask` (top 10, speaker-aware ranking, coverage check, quotes "
        "and sources) and the reply serialised as `ask --json` prints it; cold start = scan the folder, "
        "load the saved index, answer the first question (after imports, reported apart). "
        "rank-bm25 is BM25Okapi with the project's IDF floor (the engine's scorer before the "
        "sparse one), queried for as many questions as fit the time budget.\n\n"
        f"Top-10 scores of newsquote equal floored rank-bm25's (within 1e-6) on {checks} "
        "checked questions.\n\n"
        "## Getting the articles in\n\n"
        + ingest_table(records)
        + "\nThe article files are written afresh just before each build, as a folder filled "
        "right before `index` is. First / next `ask` process: the whole `python -m bot ask "
        "--json` process (imports, folder scan, index load, one answer) right after the build, "
        "then again. Peak PSS: this process and its ingest workers together, sampled every "
        "0.2 s (pages shared after a fork counted once).\n"
    )
    (OUT / "scale.md").write_text(markdown, "utf-8")
    chart(records, OUT / "scale.png")
    print(text)
    print(ingest_table(records))


def render() -> None:
    """Write ``scale.md`` and ``scale.png`` again from ``scale.json`` (no measuring)."""
    saved = json.loads((OUT / "scale.json").read_text())
    if "corpus_note" not in saved:  # written before the notes were kept
        base, saved["corpus_note"] = base_sentences()
        saved["question_note"] = questions(base, 1)[1]
    sizes = " ".join(map(str, sorted({int(r["n"]) for r in saved["records"]})))
    write_report(saved["records"], saved["tokenize_s_per_sentence"], f"--sentences {sizes}", saved)


def _versions() -> str:
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:  # a peer left out (--systems): still a report
            return "not installed"

    names = ("numpy", "scipy", "rank-bm25", "bm25s")
    return ", ".join(f"{name} {version(name)}" for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument(
        "--budget", type=float, default=120.0, help="query seconds per system and size"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per subprocess")
    parser.add_argument("--work", default="/tmp/newsquote-scale", help="corpora and indexes")
    parser.add_argument(
        "--merge", action="store_true", help="keep other sizes and systems from scale.json"
    )
    parser.add_argument(
        "--render", action="store_true", help="only write scale.md and scale.png from scale.json"
    )
    parser.add_argument("--worker", choices=("build", "serve"), help=argparse.SUPPRESS)
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--index-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.phase = args.worker
        worker(args)
    elif args.render:
        render()
    else:
        driver(args)


if __name__ == "__main__":
    main()
