"""Bulk ingest into OpenSearch alone: sentences/s of a full rebuild, and the CPU it costs.

Usage (from the repository root)::

    python bench/opensearch_bulk.py [--scale 100000 [1000000]] [--repeat 3] [--threads 2]
                                    [--hosts URL,URL] [--code PATH] [--cache DIR]
                                    [--alias NAME]

Without ``--hosts`` it starts its own two-node cluster with ``tests/cluster/launcher.py``
(the full JIT and a 1 GB heap per node, as ``opensearch_compare.py`` does). The corpus is
``bench/scale.py``'s BBC News corpus (20 sentences per article), prepared once (read,
Punkt, attribute, tokenize) and kept as a pickled table in ``--cache``, so runs of two
versions of the code see the same table and only the write is timed.

``--code PATH`` imports ``bot`` from another checkout (say, main's) with this script, so
two versions are measured back to back against one cluster: the table must be the same
shape in both. ``--alias`` names the index (``bulkbench-N`` by default): two runs at once on
one cluster need different ones, as each rebuild deletes its alias's older generations.

Each repeat is one ``rebuild`` (new index, documents built and sent, refresh, counts
checked, alias moved); it prints sentences/s over the whole call, this process's CPU
seconds (``process_time``: building and encoding the documents, the client) and the
nodes' CPU seconds (``_nodes/stats`` ``process.cpu``), each per 100k sentences.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _paths(code: Path | None) -> None:
    sys.path[:0] = [str(code or ROOT), str(ROOT), str(ROOT / "bench")]


BENCH_JAVA_OPTS = "-XX:TieredStopAtLevel=4 -Xms1g -Xmx1g"


def prepared(n: int, cache: Path) -> tuple[object, dict, dict]:
    """The table of the ``n``-sentence corpus, its file hashes and meta fields (cached)."""
    path = cache / f"table-{n}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    import scale

    from bot.core.index.tokenize import Tokenizer, load_aliases
    from bot.core.ingest.files import read_files, scan_folder
    from bot.core.ingest.prepare import prepare_table, workers_for
    from bot.core.ingest.sentences import SentenceSplitter
    from bot.core.search.ingest import punkt_json
    from bot.core.search.live import file_hashes, fingerprint
    from bot.settings import Settings

    folder = scale.shared_articles(n)
    engine = Settings(_env_file=None, use_saved_index=False).core_options().engine
    hashes = file_hashes(folder, scan_folder(folder))
    raw, _ = read_files(folder, sorted(hashes), engine.ingest.max_article_bytes)
    tokenizer = Tokenizer(aliases=load_aliases(engine.ingest.aliases_file))
    splitter = SentenceSplitter.train(a.text for a in raw)
    table = prepare_table(raw, splitter, tokenizer, None, workers_for(engine.ingest.workers)).table
    meta = {"fingerprint": fingerprint(tokenizer, engine), "punkt": punkt_json(splitter.params)}
    result = (table, dict(hashes), meta)
    cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return result


def jvm_cpu_seconds(client: object) -> float:
    """CPU seconds every node's process has used so far."""
    stats = client.nodes.stats(metric="process")
    return sum(node["process"]["cpu"]["total_in_millis"] for node in stats["nodes"].values()) / 1e3


def run(
    hosts: list[str], n: int, repeat: int, threads: int, cache: Path, alias: str = "bulkbench"
) -> list[dict]:
    from bot.core.search.client import make_client
    from bot.core.search.ingest import rebuild
    from bot.settings import Settings

    table, hashes, meta = prepared(n, cache)
    settings = Settings(
        _env_file=None,
        use_saved_index=False,
        backend="opensearch",
        opensearch_hosts=hosts,
        opensearch_index=f"{alias}-{n}",
        opensearch_timeout_seconds=60,
        log_level="WARNING",
    )
    engine, options = settings.core_options().engine, settings.cluster_options()
    client = make_client(options)
    rows = []
    for attempt in range(1, repeat + 1):
        jvm0, cpu0, wall0 = jvm_cpu_seconds(client), time.process_time(), time.perf_counter()
        written = rebuild(
            client, options, table, meta, hashes, engine.bm25.k1, engine.bm25.b, threads=threads
        )
        wall = time.perf_counter() - wall0
        cpu, jvm = time.process_time() - cpu0, jvm_cpu_seconds(client) - jvm0
        per = 100_000 / table.sentences
        row = {
            "sentences": table.sentences,
            "repeat": attempt,
            "seconds": round(wall, 2),
            "sentences_per_s": round(table.sentences / wall),
            "python_cpu_s_per_100k": round(cpu * per, 2),
            "jvm_cpu_s_per_100k": round(jvm * per, 2),
            "resent": written.bulk.resent,
            "load": os.getloadavg()[0],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    client.indices.delete(index=f"{alias}-{n}--gen-*", ignore=[404])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", nargs="*", type=int, default=[100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="rebuild's sending threads")
    parser.add_argument("--hosts", help="an existing cluster's URLs, comma-separated")
    parser.add_argument("--code", type=Path, help="import bot from this checkout")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "newsquote-bulkbench"
    )
    parser.add_argument("--alias", default="bulkbench", help="index alias prefix (-N is added)")
    args = parser.parse_args(argv)
    _paths(args.code)
    import bot

    print(f"bot from {Path(bot.__file__).parent}", flush=True)
    cluster = None
    if args.hosts:
        hosts = [h.strip() for h in args.hosts.split(",") if h.strip()]
    else:
        from tests.cluster.launcher import OpenSearchCluster, build_launcher

        os.environ.setdefault("NEWSQUOTE_OPENSEARCH_JAVA_OPTS", BENCH_JAVA_OPTS)
        cluster = OpenSearchCluster(
            build_launcher(), Path(tempfile.mkdtemp(prefix="newsquote-bulkbench-"))
        )
        cluster.start(timeout=180)
        hosts = cluster.urls
        print(f"cluster: 2 nodes at {', '.join(hosts)}", flush=True)
    try:
        for n in args.scale:
            rows = run(hosts, n, args.repeat, args.threads, args.cache, args.alias)
            rates = [row["sentences_per_s"] for row in rows]
            print(
                f"{n} sentences: median {statistics.median(rates):.0f} sentences/s "
                f"(runs {rates}), Python CPU {statistics.median(r['python_cpu_s_per_100k'] for r in rows):.2f} s"
                f" and JVM CPU {statistics.median(r['jvm_cpu_s_per_100k'] for r in rows):.2f} s "
                "per 100k",
                flush=True,
            )
    finally:
        if cluster is not None:
            cluster.discard()
    return 0


if __name__ == "__main__":
    sys.exit(main())
