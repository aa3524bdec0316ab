"""The floor under the cluster's answer path (#16): what any design must spend per question.

Usage (from the repository root)::

    python bench/opensearch_floor.py [--scale 100000 [1000000]] [--questions 300]
                                     [--repeat 5] [--hosts URL,URL] [--reuse-index]
                                     [--shards N] [--force-merge] [--json PATH]
                                     [--markdown PATH]

#16 asks for p50 <= 20 ms per question through the two-node cluster at 1M sentences on
this machine's 2 cores; the whole answer path (``bench/opensearch_compare.py``) measures
several times that. This script asks whether 20 ms is reachable at all with Python and
two JVMs on 2 cores, by timing the requests alone, from the cheapest any design must
send up to the ones ``ClusterEngine`` sends, each question in turn (one at a time, as
the compare bench asks them):

* ``ping``: ``GET /`` (the client, HTTP and the node's REST layer; no shard touched);
* ``bare``: the bare minimum, one ``_search`` of the question's terms against the
  sentence documents: a ``match`` on ``tokens``, size 10, no ``_source``, no total hits
  counted, ``query_then_fetch``;
* ``bare200``: the same with size 200 (``opensearch_candidates``), as the candidate
  search asks;
* ``bare-dfs200``: that with ``dfs_query_then_fetch`` too, as the candidate search runs;
* ``candidates``: the candidate search's own body (``candidates.sentence_search``: doc
  values, sort by score then article id), dfs, ``opensearch_candidates`` hits;
* ``msearch``: the ``msearch`` bodies ``ClusterEngine`` sent for each question in the
  ``answer`` pass, replayed as they were (statistics, sentence and paragraph searches);
* ``mget``: the ``mget`` of every article that question's answer wanted (none cached:
  the cost of a question whose articles are new to the process);
* ``answer``: the whole answer path, ``ClusterEngine.ask`` to the JSON of ``ask --json``,
  after 50 warm-up questions on a new engine (as ``opensearch_compare.py`` times it).

Every request reads ``preference=_local`` as the backend's do. Per pass: p50 and p95
wall time, the nodes' own ``took`` (median, where the response has one), the nodes' CPU
per question (both JVMs' user and system time before and after the pass, from
``/proc/<pid>/stat`` when the nodes run here: ``_nodes/stats`` refreshes it once a second)
and this process's CPU per question (``process_time``: the client, JSON, and for
``answer`` the ranking). The nodes' idle CPU rate is measured once and printed, so it
can be told apart from the questions' cost. The passes are interleaved over
``--repeat`` rounds, so a change in the machine's load hits every kind alike; the table
gives the median and the minimum over the rounds (on a shared machine the minimum is
the fairer floor), and the load average at each pass is kept in the JSON.

``--shards 1`` measures an index of one primary (and its replica) instead of the
backend's two: a design where one node answers a search alone, with no ``dfs`` needed.

The index is the project's own (layout 2), written by the backend's ``rebuild`` from
the corpus ``bench/opensearch_bulk.py`` prepares and caches (``bench/scale.py``'s BBC
corpus, 20 sentences per article), so the terms are the project's terms. Questions are
``bench/scale.py``'s seeded SQuAD dev sample, the generator ``opensearch_compare.py``
uses at scale. Without ``--hosts`` a two-node cluster is started as the compare bench
starts it (full JIT, 1 GB heap per node).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import eval_common as ec  # noqa: E402
import scale  # noqa: E402
from opensearch_bulk import jvm_cpu_seconds, prepared  # noqa: E402
from opensearch_compare import cluster_for, percentile, settings_for  # noqa: E402
from opensearchpy import OpenSearch  # noqa: E402

from bot.core.answer.chatter import without_chatter  # noqa: E402
from bot.core.errors import UserError  # noqa: E402
from bot.core.index.tokenize import Tokenizer, load_aliases  # noqa: E402
from bot.core.search import candidates  # noqa: E402
from bot.core.search.client import NoIndexError, make_client  # noqa: E402
from bot.core.search.documents import field_term  # noqa: E402
from bot.core.search.ingest import read_meta, rebuild  # noqa: E402
from bot.core.search.reads import LOCAL  # noqa: E402
from bot.core.search.searcher import ClusterEngine  # noqa: E402
from bot.settings import Settings  # noqa: E402

KINDS = ("ping", "bare", "bare200", "bare-dfs200", "candidates", "msearch", "mget", "answer")
WARM = 50  # questions asked before any timing, per kind (the JIT, the nodes' caches)
IDLE_SECONDS = 5.0
DFS = "dfs_query_then_fetch"


class Recorder:
    """Installed in a ``ClusterEngine``'s reads: keeps what each question sends.

    Per question (opened by ``question()``): the ``msearch`` bodies as sent, and the keys
    of the articles the ranking asked for (cached or not). Before the first ``question()``
    nothing is kept (the warm-up).
    """

    def __init__(self, engine: ClusterEngine) -> None:
        self._client = engine.reads.client
        engine.reads.client = self  # type: ignore[assignment]
        # A backend that fetches articles after its search (before layout 3) is recorded too.
        self._articles = getattr(engine.reads, "articles", None)
        if self._articles is not None:
            engine.reads.articles = self.articles  # type: ignore[method-assign]
        self.bodies: list[list[list[dict[str, Any]]]] = []
        self.keys: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def question(self) -> None:
        self.bodies.append([])
        self.keys.append([])

    def msearch(self, **kwargs: Any) -> Any:
        if self.bodies:
            self.bodies[-1].append(kwargs["body"])
        return self._client.msearch(**kwargs)

    def articles(self, index: str, keys: Sequence[str]) -> Any:
        if self.keys:
            self.keys[-1].extend(keys)
        return self._articles(index, keys)  # type: ignore[misc]


def ready_index(client: OpenSearch, settings: Settings, n: int, cache: Path, reuse: bool) -> dict:
    """The ``n``-sentence corpus in the index ``settings`` names; rebuilt unless reusable."""
    options, engine = settings.cluster_options(), settings.core_options().engine
    table, hashes, meta = prepared(n, cache)
    if reuse:
        try:
            live = read_meta(client, options)
        except NoIndexError:
            live = None
        if live is not None and live.stats.sentences == table.sentences:
            return {"sentences": table.sentences, "write_s": None}
    started = time.perf_counter()
    rebuild(client, options, table, meta, hashes, engine.bm25.k1, engine.bm25.b, threads=2)
    return {"sentences": table.sentences, "write_s": round(time.perf_counter() - started, 1)}


def question_terms(questions: Sequence[str], settings: Settings) -> list[tuple[str, str]]:
    """(question, its terms as the ``tokens`` field holds them) for questions with terms."""
    engine = settings.core_options().engine
    tok = Tokenizer(aliases=load_aliases(engine.ingest.aliases_file))
    out = []
    for question in questions:
        terms = list(tok(without_chatter(" ".join(question.split()))))
        if terms:
            out.append((question, " ".join(field_term(t) for t in terms)))
    return out


def answer_calls(
    engine: ClusterEngine, questions: Sequence[str], recorder: Recorder | None = None
) -> list[Callable[[], Any]]:
    """The whole answer path per question, as ``opensearch_compare.ask_all`` times it."""

    def ask(question: str) -> None:
        if recorder is not None:
            recorder.question()
        try:
            reply = engine.ask(question, 3).to_json()
        except UserError as exc:
            reply = {"question": question, "answers": [], "no_answer_reason": str(exc)}
        json.dumps(reply, ensure_ascii=False)

    return [lambda q=q: ask(q) for q in questions]


def request_calls(
    client: OpenSearch, index: str, asked: Sequence[tuple[str, str]], size: int
) -> dict[str, list[Callable[[], Any]]]:
    """The single-request kinds, one call per question."""

    def search(body: dict[str, Any], search_type: str) -> Callable[[], Any]:
        return lambda: client.search(
            index=index, body=body, search_type=search_type, preference=LOCAL
        )

    def bare(text: str, size: int) -> dict[str, Any]:
        # No total counted either: no design needs it, and counting defeats skipping.
        return {
            "size": size,
            "_source": False,
            "track_total_hits": False,
            "query": {"match": {"tokens": text}},
        }

    return {
        "ping": [client.info for _ in asked],
        "bare": [search(bare(text, 10), "query_then_fetch") for _, text in asked],
        "bare200": [search(bare(text, size), "query_then_fetch") for _, text in asked],
        "bare-dfs200": [search(bare(text, size), DFS) for _, text in asked],
        "candidates": [
            search(candidates.sentence_search(text.split(), size), DFS) for _, text in asked
        ],
    }


def replay_calls(
    client: OpenSearch, index: str, bodies: Sequence[Sequence[list]], keys: Sequence[Sequence]
) -> dict[str, list[Callable[[], Any]]]:
    """The ``msearch`` bodies and the ``mget`` of the articles, as recorded per question."""

    def msearch(sent: Sequence[list]) -> Callable[[], Any]:
        return lambda: [client.msearch(body=body) for body in sent][-1]

    def mget(wanted: Sequence[str]) -> Callable[[], Any]:
        ids = [f"a:{key}" for key in wanted]
        return lambda: client.mget(index=index, body={"ids": ids}, preference=LOCAL)

    return {
        "msearch": [msearch(sent) for sent in bodies],
        "mget": [mget(wanted) for wanted in keys if wanted],
    }


class NodeCpu:
    """Both nodes' CPU seconds so far, exact when the nodes run on this machine.

    ``_nodes/stats`` refreshes ``process.cpu`` at most once a second (a node setting whose
    floor is 1 s), too coarse for a pass of a few seconds; a local node's
    ``/proc/<pid>/stat`` (user + system time of every thread: search, GC, JIT) is read
    instead. Remote nodes fall back to the stats API.
    """

    def __init__(self, client: OpenSearch) -> None:
        self.client = client
        info = client.nodes.info(metric="process")["nodes"].values()
        paths = [Path(f"/proc/{node['process']['id']}/stat") for node in info]
        self.paths = paths if all(_is_java(path) for path in paths) else []
        self.tick = os.sysconf("SC_CLK_TCK")

    @property
    def source(self) -> str:
        return "/proc" if self.paths else "_nodes/stats (1 s resolution)"

    def seconds(self) -> float:
        if not self.paths:
            return jvm_cpu_seconds(self.client)
        total = 0
        for path in self.paths:
            fields = path.read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return total / self.tick


def _is_java(stat: Path) -> bool:
    try:
        return "java" in (stat.parent / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def timed_pass(nodes: NodeCpu, calls: Sequence[Callable[[], Any]]) -> dict[str, Any]:
    """Each call in turn: wall times, the nodes' ``took``, and both sides' CPU per call."""
    load = os.getloadavg()[0]
    seconds, took = [], []
    node0, cpu0 = nodes.seconds(), time.process_time()
    for call in calls:
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
        if isinstance(result, dict) and "took" in result:
            took.append(result["took"])
    cpu, node = time.process_time() - cpu0, nodes.seconds() - node0
    n = max(len(calls), 1)
    return {
        "n": len(calls),
        "p50_ms": round(1000 * statistics.median(seconds), 2),
        "p95_ms": round(1000 * percentile(seconds, 0.95), 2),
        "took_p50_ms": statistics.median(took) if took else None,
        "node_cpu_ms": round(1000 * node / n, 2),
        "python_cpu_ms": round(1000 * cpu / n, 2),
        "load": load,
    }


def idle_node_cpu(nodes: NodeCpu) -> float:
    """The nodes' CPU milliseconds per second with no question asked."""
    before = nodes.seconds()
    time.sleep(IDLE_SECONDS)
    return round(1000 * (nodes.seconds() - before) / IDLE_SECONDS, 2)


def measure(hosts: Sequence[str], n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Every kind at one corpus size, ``args.repeat`` interleaved rounds."""
    name = f"floor-{n}" if args.shards is None else f"floor-{n}-s{args.shards}"
    settings = settings_for(hosts, name)
    if args.shards is not None:
        settings = settings.model_copy(update={"opensearch_shards": args.shards})
    client = make_client(settings.cluster_options())
    built = ready_index(client, settings, n, args.cache, args.reuse_index)
    index = settings.cluster_options().index
    size = settings.cluster_options().candidates
    questions, _ = scale.questions([], args.questions)
    asked = question_terms(questions, settings)
    if args.force_merge:
        client.indices.forcemerge(index=index, max_num_segments=1, request_timeout=3600)
    segments = len(client.cat.segments(index=index, format="json"))
    nodes = NodeCpu(client)
    idle = idle_node_cpu(nodes)
    print(
        f"{n}: {built['sentences']} sentences, bulk write {built['write_s']} s, {segments} "
        f"segments, {len(asked)} of {len(questions)} questions with terms, nodes idle {idle} "
        f"CPU ms/s (node CPU from {nodes.source})",
        flush=True,
    )
    singles = request_calls(client, index, asked, size)
    for calls in singles.values():  # warm the nodes' JIT and caches for each kind
        for call in calls[:WARM]:
            call()
    rounds: list[dict[str, dict[str, Any]]] = []
    replays: dict[str, list[Callable[[], Any]]] = {}
    for attempt in range(1, args.repeat + 1):
        engine = ClusterEngine.open(settings.cluster_options(), settings.core_options().engine)
        recorder = Recorder(engine)
        for call in answer_calls(engine, questions[:WARM]):
            call()
        row = {"answer": timed_pass(nodes, answer_calls(engine, questions, recorder))}
        if not replays:  # the first round's requests, replayed in every round
            replays = replay_calls(client, index, recorder.bodies, recorder.keys)
            for replay in replays.values():
                for call in replay[:WARM]:
                    call()
        for kind, kind_calls in {**singles, **replays}.items():
            row[kind] = timed_pass(nodes, kind_calls)
        rounds.append(row)
        print(f"round {attempt}: " + json.dumps(row), flush=True)
    return {
        "sentences": built["sentences"],
        "write_s": built["write_s"],
        "segments": segments,
        "shards": settings.cluster_options().shards,
        "questions": len(questions),
        "with_terms": len(asked),
        "idle_node_cpu_ms_per_s": idle,
        "node_cpu_from": nodes.source,
        "rounds": rounds,
        "summary": summary(rounds),
    }


def summary(rounds: Sequence[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per kind: median and minimum over rounds of p50, p95, took and both CPUs."""
    out = {}
    for kind in KINDS:
        rows = [r[kind] for r in rounds if kind in r]
        if not rows:
            continue
        entry: dict[str, Any] = {"n": rows[0]["n"]}
        for key in ("p50_ms", "p95_ms", "took_p50_ms", "node_cpu_ms", "python_cpu_ms", "load"):
            values = [r[key] for r in rows if r[key] is not None]
            if values:
                entry[f"{key}_median"] = round(statistics.median(values), 2)
                entry[f"{key}_min"] = round(min(values), 2)
        out[kind] = entry
    return out


HEADERS = (
    "kind", "n", "p50 ms (median)", "p50 ms (min)", "p95 ms (median)", "took p50 ms",
    "node CPU ms/q (median)", "node CPU ms/q (min)", "Python CPU ms/q", "load 1-min",
)  # fmt: skip


def summary_table(label: str, result: dict[str, Any]) -> tuple[str, list[list[object]]]:
    """The title and rows (``HEADERS``) of one corpus size's summary."""
    rows: list[list[object]] = []
    for kind, s in result["summary"].items():
        loads = [r[kind]["load"] for r in result["rounds"]]
        rows.append(
            [
                kind,
                s["n"],
                s["p50_ms_median"],
                s["p50_ms_min"],
                s["p95_ms_median"],
                s.get("took_p50_ms_median", "-"),
                s["node_cpu_ms_median"],
                s["node_cpu_ms_min"],
                s["python_cpu_ms_median"],
                f"{min(loads):.1f}-{max(loads):.1f}",
            ]
        )
    title = (
        f"{label}: {result['sentences']:,} sentences, {result['shards']} shards, "
        f"{result['segments']} segments, {len(result['rounds'])} rounds; "
        f"nodes idle {result['idle_node_cpu_ms_per_s']} CPU ms/s"
    )
    return title, rows


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The summaries as Markdown tables, one per corpus size."""
    out = []
    for n, result in results.items():
        title, rows = summary_table(n, result)
        out += [f"**{title}**", "", "| " + " | ".join(HEADERS) + " |"]
        out.append("| " + " | ".join("---" for _ in HEADERS) + " |")
        out += ["| " + " | ".join(ec.fmt(c) for c in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", nargs="*", type=int, default=[100_000])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--hosts", help="an existing cluster's URLs, comma-separated")
    parser.add_argument("--reuse-index", action="store_true", help="keep a full floor-N index")
    parser.add_argument("--shards", type=int, help="primary shards (the backend's default: 2)")
    parser.add_argument("--force-merge", action="store_true", help="one segment per shard first")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsquote-bulkbench"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--markdown", type=Path, help="and the summary tables here")
    args = parser.parse_args(argv)

    hosts, cluster = cluster_for(args.hosts, "newsquote-floor-cluster-")
    results = {}
    try:
        for n in args.scale:
            label = str(n) if args.shards is None else f"{n}-s{args.shards}"
            results[label] = measure(hosts, n, args)
    finally:
        if cluster is not None:
            cluster.discard()
    for n, result in results.items():
        title, rows = summary_table(n, result)
        ec.print_table(title, HEADERS, rows)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(markdown(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
