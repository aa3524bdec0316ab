"""The OpenSearch backend beside the embedded one, in one run: agreement, latency, ingest rate.

Usage (from the repository root)::

    python bench/opensearch_compare.py [--sets seeds polnear squad] [--squad-limit N]
                                       [--scale 100000 1000000] [--questions 1000]
                                       [--hosts URL,URL] [--keep]

Without ``--hosts`` it starts its own two-node cluster with ``tests/cluster/launcher.py``
(JVM options from ``NEWSQUOTE_OPENSEARCH_JAVA_OPTS``; this script defaults them to the
full JIT and a 1 GB heap per node, which a benchmark wants and the tests do not).

For each question set the same corpus is answered by both backends in this process,
each question timed over the whole answer path (``ask`` and the reply as ``ask --json``
prints it). Questions are made as ``bench/eval_*.py`` make them (same data, same
seeds). Agreement, per question:

* top-1: both decline, or both give the same first answer (article, start, end);
* top-3: both decline, or the first three answers are the same, in the same order;
* top-3 as sets: the same three answers in any order;
* Lucene=Okapi top-1 and top-10 overlap: the candidate searches alone, Lucene's BM25
  against the embedded BM25Okapi on the same terms (``lucene_agreement``).

``--scale`` writes BBC News corpora (``bench/scale.py``'s, 20 sentences per article)
and measures, per size: preparing (read, clean, Punkt, attribute, tokenize; shared by
both backends), the bulk write into a new index (documents built, sent, refreshed and
counted: sentences/s), and both backends' latency and agreement on SQuAD questions.

With ``NEWSQUOTE_EVAL_REPLIES=FILE`` every reply of both backends is appended to FILE
as one JSON line (with ``backend`` and ``set`` keys).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
# ``--code PATH``: the backend of another checkout (e.g. main) under the same benchmark.
CODE = sys.argv[sys.argv.index("--code") + 1] if "--code" in sys.argv[:-1] else str(ROOT)
sys.path[:0] = [CODE, str(ROOT), str(ROOT / "bench")]

import eval_common as ec  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

from bot.core.answer.chatter import without_chatter  # noqa: E402
from bot.core.answer.engine import Engine  # noqa: E402
from bot.core.errors import UserError  # noqa: E402
from bot.core.index.tokenize import Tokenizer, load_aliases  # noqa: E402
from bot.core.ingest.files import read_files, scan_folder  # noqa: E402
from bot.core.ingest.prepare import prepare_table, workers_for  # noqa: E402
from bot.core.ingest.sentences import SentenceSplitter  # noqa: E402
from bot.core.search.client import make_client  # noqa: E402
from bot.core.search.documents import field_term  # noqa: E402
from bot.core.search.ingest import punkt_json, rebuild  # noqa: E402
from bot.core.search.live import file_hashes, fingerprint  # noqa: E402
from bot.core.search.searcher import ClusterEngine  # noqa: E402
from bot.settings import Settings  # noqa: E402

if TYPE_CHECKING:
    from opensearch_floor import NodeCpu

    from tests.cluster.launcher import OpenSearchCluster

# Lucene's candidates with ties in article id order, as the embedded index breaks them.
PERCENT_KEYS = ("top1", "top3", "top3_set", "declines", "lucene_top1", "lucene_overlap10")
BENCH_JAVA_OPTS = "-XX:TieredStopAtLevel=4 -Xms1g -Xmx1g"


@dataclass
class Side:
    """One backend's replies and per-question times."""

    replies: list[dict] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    python_cpu_ms: float = 0.0  # per question, this process
    node_cpu_ms: float = 0.0  # per question, both nodes (the cluster's side only)


@dataclass
class Corpus:
    """A corpus prepared once and answered by both backends."""

    name: str
    folder: Path
    embedded: Engine
    cluster: ClusterEngine
    prepare_seconds: float
    write_seconds: float
    sentences: int
    resent: int
    bodies: dict[str, str] | None = None  # by article id, when not read from ``folder``


def settings_for(hosts: Sequence[str], index: str) -> Settings:
    return Settings(
        _env_file=None,
        use_saved_index=False,
        backend="opensearch",
        opensearch_hosts=list(hosts),
        opensearch_index=index,
        opensearch_timeout_seconds=60,
        log_level="WARNING",
    )


def build(name: str, folder: Path, settings: Settings) -> Corpus:
    """Prepare ``folder`` once; the embedded engine from the table, the cluster from a bulk."""
    core = settings.core_options()
    engine, options = core.engine, settings.cluster_options()
    started = time.perf_counter()
    hashes = file_hashes(folder, scan_folder(folder))
    raw, failed = read_files(folder, sorted(hashes), engine.ingest.max_article_bytes)
    tokenizer = Tokenizer(aliases=load_aliases(engine.ingest.aliases_file))
    splitter = SentenceSplitter.train(a.text for a in raw)
    prepared = prepare_table(raw, splitter, tokenizer, None, workers_for(engine.ingest.workers))
    prepare_seconds = time.perf_counter() - started
    embedded = Engine(prepared.table, engine, tokenizer, splitter, [*failed, *prepared.failed])
    client = make_client(options)
    started = time.perf_counter()
    written = rebuild(
        client,
        options,
        prepared.table,
        {"fingerprint": fingerprint(tokenizer, engine), "punkt": punkt_json(splitter.params)},
        hashes,
        engine.bm25.k1,
        engine.bm25.b,
        threads=2,
    )
    write_seconds = time.perf_counter() - started
    cluster = ClusterEngine(client, options, engine, tokenizer, written.meta)
    return Corpus(
        name, folder, embedded, cluster, prepare_seconds, write_seconds, prepared.table.sentences,
        written.bulk.resent,
    )  # fmt: skip


def build_cached(name: str, n: int, settings: Settings, cache: Path, reuse: bool) -> Corpus:
    """The ``n``-sentence BBC corpus from ``opensearch_bulk``'s pickled table (made once).

    ``reuse``: keep the index under the alias when it holds this layout and this many
    sentences (``write_s`` is then 0).
    """
    from opensearch_bulk import prepared

    from bot.core.search.client import NoIndexError
    from bot.core.search.ingest import punkt_of, read_meta

    core = settings.core_options()
    engine, options = core.engine, settings.cluster_options()
    started = time.perf_counter()
    table, hashes, meta = prepared(n, cache)
    prepare_seconds = time.perf_counter() - started
    tokenizer = Tokenizer(aliases=load_aliases(engine.ingest.aliases_file))
    splitter = SentenceSplitter(punkt_of(meta["punkt"]))
    embedded = Engine(table, engine, tokenizer, splitter)
    client = make_client(options)
    live = None
    if reuse:
        try:
            live = read_meta(client, options)
        except NoIndexError:
            live = None
    started = time.perf_counter()
    resent = 0
    if live is None or live.stats.sentences != table.sentences:
        written = rebuild(
            client, options, table, meta, hashes, engine.bm25.k1, engine.bm25.b, threads=2
        )
        live, resent = written.meta, written.bulk.resent
    write_seconds = time.perf_counter() - started
    cluster = ClusterEngine(client, options, engine, tokenizer, live)
    bodies = {source.id: table.text(i) for i, source in enumerate(table.sources)}
    return Corpus(
        name, Path(cache), embedded, cluster, prepare_seconds, write_seconds, table.sentences,
        resent, bodies,
    )  # fmt: skip


def ask_all(
    engine: Engine | ClusterEngine,
    questions: Sequence[str],
    top_k: int,
    nodes: NodeCpu | None = None,
) -> Side:
    side = Side()
    node0, cpu0 = (nodes.seconds() if nodes else 0.0), time.process_time()
    for question in questions:
        before = getattr(engine, "requests", 0)
        started = time.perf_counter()
        try:
            reply = engine.ask(question, top_k).to_json()
        except UserError as exc:
            reply = {"question": question, "answers": [], "no_answer_reason": str(exc)}
        json.dumps(reply, ensure_ascii=False)
        side.seconds.append(time.perf_counter() - started)
        side.requests.append(getattr(engine, "requests", 0) - before)
        side.replies.append(reply)
    n = max(len(questions), 1)
    side.python_cpu_ms = 1000 * (time.process_time() - cpu0) / n
    side.node_cpu_ms = 1000 * ((nodes.seconds() if nodes else 0.0) - node0) / n
    return side


def _key(answer: dict) -> tuple[str, int, int]:
    return (answer["source"]["id"], answer["start"], answer["end"])


def agreement(a: Side, b: Side) -> dict[str, float]:
    top1 = top3 = sets = declines = 0
    for x, y in zip(a.replies, b.replies, strict=True):
        ax, ay = [_key(v) for v in x["answers"][:3]], [_key(v) for v in y["answers"][:3]]
        top1 += ax[:1] == ay[:1]
        top3 += ax == ay
        sets += set(ax) == set(ay)
        declines += (not ax) == (not ay)
    n = max(len(a.replies), 1)
    return {"top1": top1 / n, "top3": top3 / n, "top3_set": sets / n, "declines": declines / n}


def lucene_agreement(corpus: Corpus, questions: Sequence[str], k: int = 10) -> dict[str, float]:
    """Lucene's BM25 beside the embedded BM25Okapi, on the same terms of each question.

    Per question: the embedded index's ``k`` best sentences (``SparseBM25.top``: BM25Okapi
    with the epsilon rule) and the cluster's ``k`` best by a plain ``match`` on the same
    terms (Lucene's BM25, same k1 and b, both shards scored alike), as (article id,
    sentence in its article). top-1: the same best sentence; overlap: the share of the
    ``k`` in both. Ties go to the lower article id on both sides.
    """
    engine, cluster = corpus.embedded, corpus.cluster
    starts = engine.table.columns["article_sentences"]
    ids = [source.id for source in engine.table.sources]
    same_first = overlap = asked = 0
    for question in questions:
        terms = list(engine.tokenizer(without_chatter(" ".join(question.split()))))
        rows, _ = engine.index.top(terms, k)
        articles = np.searchsorted(starts, rows, side="right") - 1
        mine = [(ids[a], int(r - starts[a])) for a, r in zip(articles, rows, strict=True)]
        if not terms:
            continue
        # A sentence document has no article id to sort by (layout 4: its record has it), so
        # twice ``k`` come back by score and ties go to the lower article id here.
        found = cluster.client.search(
            index=cluster.options.index,
            body={
                "size": 2 * k,
                "_source": ["sentence", "data.p.src.id"],
                "track_total_hits": False,
                "query": {"match": {"tokens": " ".join(field_term(t) for t in terms)}},
            },
            search_type="dfs_query_then_fetch",
        )["hits"]["hits"]
        ranked = sorted(found, key=lambda h: (-h["_score"], h["_source"]["data"]["p"]["src"]["id"]))
        theirs = [
            (h["_source"]["data"]["p"]["src"]["id"], int(h["_source"]["sentence"]))
            for h in ranked[:k]
        ]
        if not mine and not theirs:
            continue
        asked += 1
        same_first += mine[:1] == theirs[:1]
        overlap += len(set(mine) & set(theirs)) / max(len(mine), len(theirs))
    n = max(asked, 1)
    return {"lucene_top1": same_first / n, f"lucene_overlap{k}": overlap / n, "lucene_asked": asked}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def compare(
    corpus: Corpus,
    questions: Sequence[str],
    top_k: int,
    label: str,
    candidates: Sequence[int] = (),
) -> list[dict]:
    """One row per candidate count (``opensearch_candidates``; none given: the setting's)."""
    from opensearch_floor import NodeCpu  # it imports this module

    # A first pass warms both (the cluster's caches, the JIT): the second is measured.
    warm = questions[: min(50, len(questions))]
    ask_all(corpus.embedded, warm, top_k)
    embedded = ask_all(corpus.embedded, questions, top_k)
    keep_replies(label, "embedded", embedded.replies)
    lucene = lucene_agreement(corpus, questions)
    rows = []
    base = corpus.cluster.options
    for size in candidates or [base.candidates]:
        corpus.cluster.options = dataclasses.replace(base, candidates=size)
        ask_all(corpus.cluster, warm, top_k)
        load = os.getloadavg()[0]
        cluster = ask_all(corpus.cluster, questions, top_k, NodeCpu(corpus.cluster.client))
        keep_replies(label, "opensearch", cluster.replies)
        agree = agreement(embedded, cluster)
        rows.append(
            {
                "set": label,
                "questions": len(questions),
                "sentences": corpus.sentences,
                "candidates": size,
                **{k: round(v, 4) for k, v in agree.items()},
                **{k: round(v, 4) for k, v in lucene.items()},
                "embedded_p50_ms": 1000 * statistics.median(embedded.seconds),
                "embedded_p95_ms": 1000 * percentile(embedded.seconds, 0.95),
                "opensearch_p50_ms": 1000 * statistics.median(cluster.seconds),
                "opensearch_p95_ms": 1000 * percentile(cluster.seconds, 0.95),
                "requests_max": max(cluster.requests, default=0),
                "python_cpu_ms": round(cluster.python_cpu_ms, 2),
                "node_cpu_ms": round(cluster.node_cpu_ms, 2),
                "load": round(load, 2),
                "code": CODE,
                "prepare_s": corpus.prepare_seconds,
                "write_s": corpus.write_seconds,
                "write_sentences_per_s": corpus.sentences / max(corpus.write_seconds, 1e-9),
                "resent": corpus.resent,
                "offset_errors": ec.offset_errors(
                    cluster.replies, corpus.bodies or ec.read_bodies(corpus.folder)
                ),
            }
        )
    corpus.cluster.options = base
    return rows


def keep_replies(label: str, backend: str, replies: Sequence[dict]) -> None:
    path = os.environ.get(ec.REPLIES_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for reply in replies:
            line = {**reply, "backend": backend, "set": label}
            out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------ question sets


def seeds(tmp: Path) -> tuple[Path, list[str]]:
    spec = yaml.safe_load((ROOT / "bench" / "seed_questions.yaml").read_text("utf-8"))
    return ROOT / "seeds", [q["question"] for q in spec["questions"]]


def polnear(tmp: Path) -> tuple[Path, list[str]] | None:
    import eval_polnear

    path = ec.DATA_DIR / "polnear" / "polnear.jsonl"
    if ec.missing(path):
        return None
    records, _, stats = eval_polnear.load(path, "dev")
    entities = stats["entities"]
    keys = sorted(entities, key=lambda k: (-stats["counts"][k], k))
    folder = tmp / "polnear"
    folder.mkdir()
    for record in records:
        meta = {
            "title": record["title"],
            "publisher": record["publisher"],
            "published": record["publication_date"],
            "author": None if record["author"] in ("", "None") else record["author"],
        }
        ec.write_article(folder / f"{record['id']}.txt", meta, record["text"])
    return folder, [f"What did {entities[k]} say?" for k in keys]


def squad(tmp: Path, limit: int) -> tuple[Path, list[str]] | None:
    import eval_squad

    path = ec.DATA_DIR / "squad" / "dev-v1.1.json"
    if ec.missing(path):
        return None
    bodies, inside, outside = eval_squad.load(path)
    if limit:
        rng = random.Random(ec.SEED)
        inside = rng.sample(inside, min(limit, len(inside)))
        outside = rng.sample(outside, min(limit, len(outside)))
    folder = tmp / "squad"
    folder.mkdir()
    for name, body in bodies.items():
        title = name[3:-4].replace("_", " ")
        ec.write_article(folder / name, {"title": title, "publisher": "Wikipedia"}, body)
    return folder, [q for q, _ in inside] + outside


def scale_set(tmp: Path, n: int, questions: int) -> tuple[Path, list[str]]:
    import scale

    folder = scale.shared_articles(n)
    asked, _ = scale.questions([], questions)
    return folder, asked


# ------------------------------------------------------------------ driver


def print_rows(rows: Sequence[dict]) -> None:
    headers = [
        ("set", "set"), ("questions", "questions"), ("sentences", "sentences"),
        ("candidates", "candidates"),
        ("top1", "top-1 agree"), ("top3", "top-3 agree"), ("top3_set", "top-3 as set"),
        ("declines", "declines agree"), ("lucene_top1", "Lucene=Okapi top-1"),
        ("lucene_overlap10", "Lucene/Okapi top-10 overlap"), ("embedded_p50_ms", "embedded p50 ms"),
        ("embedded_p95_ms", "p95 ms"), ("opensearch_p50_ms", "opensearch p50 ms"),
        ("opensearch_p95_ms", "p95 ms"), ("requests_max", "requests/question max"),
        ("python_cpu_ms", "Python CPU ms/q"), ("node_cpu_ms", "node CPU ms/q"), ("load", "load"),
        ("prepare_s", "prepare s"), ("write_s", "bulk write s"),
        ("write_sentences_per_s", "bulk sentences/s"), ("resent", "resent docs"),
        ("offset_errors", "quote != body[start:end]"),
    ]  # fmt: skip
    ec.print_table(
        "OpenSearch backend beside the embedded one",
        [title for _, title in headers],
        [
            [ec.pct(row[key]) if key in PERCENT_KEYS else row[key] for key, _ in headers]
            for row in rows
        ],
    )


def cluster_for(hosts: str | None, prefix: str) -> tuple[list[str], OpenSearchCluster | None]:
    """The URLs of the cluster to measure, and the one started here (to stop) if none was named.

    ``hosts`` is an existing cluster's comma-separated URLs; without it, the tests' two-node
    cluster is started in a new folder named by ``prefix``, with the benchmarks' JVM options.
    """
    if hosts:
        return [h.strip() for h in hosts.split(",") if h.strip()], None
    from tests.cluster.launcher import OpenSearchCluster, build_launcher

    os.environ.setdefault("NEWSQUOTE_OPENSEARCH_JAVA_OPTS", BENCH_JAVA_OPTS)
    cluster = OpenSearchCluster(build_launcher(), Path(tempfile.mkdtemp(prefix=prefix)))
    cluster.start(timeout=180)
    print(
        f"cluster: 2 nodes at {', '.join(cluster.urls)} "
        f"({os.environ['NEWSQUOTE_OPENSEARCH_JAVA_OPTS']})"
    )
    return cluster.urls, cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="*", default=["seeds", "polnear", "squad"])
    parser.add_argument("--squad-limit", type=int, default=0, help="N in- and N out-of-corpus")
    parser.add_argument("--scale", nargs="*", type=int, default=[], help="BBC corpus sizes")
    parser.add_argument("--questions", type=int, default=1000, help="SQuAD questions at scale")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--hosts", help="an existing cluster's URLs, comma-separated")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--cache", type=Path, help="--scale corpora from opensearch_bulk's pickled tables here"
    )
    parser.add_argument(
        "--reuse-index", action="store_true", help="with --cache: keep a full index of the layout"
    )
    parser.add_argument("--index-prefix", default="bench", help="aliases are PREFIX-SET")
    parser.add_argument(
        "--candidates", nargs="*", type=int, default=[], help="opensearch_candidates values to run"
    )
    parser.add_argument("--code", help="a checkout whose bot/ is measured (default: this one)")
    args = parser.parse_args(argv)

    hosts, cluster = cluster_for(args.hosts, "newsquote-bench-cluster-")
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="newsquote-compare-") as tmp_name:
            tmp = Path(tmp_name)
            plans: list[tuple[str, tuple[Path, list[str]] | None]] = []
            for name in args.sets:
                if name == "seeds":
                    plans.append((name, seeds(tmp)))
                elif name == "polnear":
                    plans.append((name, polnear(tmp)))
                elif name == "squad":
                    plans.append((name, squad(tmp, args.squad_limit)))
                else:
                    parser.error(f"unknown set {name!r}")
            for n in args.scale:
                if args.cache:
                    import scale

                    plans.append((f"bbc-{n}", (n, scale.questions([], args.questions)[0])))
                else:
                    plans.append((f"bbc-{n}", scale_set(tmp, n, args.questions)))
            for label, plan in plans:
                if plan is None:
                    continue
                folder, questions = plan
                settings = settings_for(hosts, f"{args.index_prefix}-{label}")
                if isinstance(folder, int):
                    corpus = build_cached(label, folder, settings, args.cache, args.reuse_index)
                else:
                    corpus = build(label, folder, settings)
                for row in compare(corpus, questions, args.top_k, label, args.candidates):
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        if cluster is not None:
            cluster.discard()
    print_rows(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
