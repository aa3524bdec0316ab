"""The real two-node OpenSearch cluster the OpenSearch backend (#16) will be tested against.

What is checked here is the cluster itself, with the index layout the backend will use:
2 primary shards with 1 replica each, a whitespace-analysed token field scored by BM25 with
the project's k1/b, and answers that keep coming while one node is stopped and restarted.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from opensearchpy import OpenSearch, TransportError, helpers

from tests.cluster.launcher import REPO, OpenSearchCluster

pytestmark = pytest.mark.cluster

INDEX = "newsquote-cluster-test"
DOCS = 400
NEEDLE_ID = "article-0027:3"  # the one sentence with the rare words the searches look for
QUERY = "doyle harbour"
K1, B = 1.35, 0.62  # deliberately not Lucene's defaults (1.2, 0.75), so their use is visible


def _tokens(rng: random.Random) -> str:
    vocabulary = [f"w{i}" for i in range(60)] + ["said", "minist", "harbour"]
    return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(5, 25)))


def _documents() -> list[dict]:
    """Sentences as the backend will store them: the token stream, ids, offsets."""
    rng = random.Random(16)
    docs = []
    for n in range(DOCS):  # 80 articles of 5 sentences
        article, sentence = divmod(n, 5)
        doc_id = f"article-{article:04d}:{sentence}"
        tokens = _tokens(rng)
        if doc_id == NEEDLE_ID:
            tokens = "harbour master jane doyle said we cannot risk it"
        docs.append(
            {
                "_id": doc_id,
                "article_id": f"article-{article:04d}",
                "sentence": sentence,
                "start": 100 * sentence,
                "end": 100 * sentence + 80,
                "tokens": tokens,
            }
        )
    assert any(doc["_id"] == NEEDLE_ID for doc in docs)
    return docs


def _expected_hits(docs: list[dict]) -> int:
    words = set(QUERY.split())
    return sum(1 for doc in docs if words & set(doc["tokens"].split()))


@pytest.fixture(scope="module")
def client(opensearch_urls: list[str]) -> Iterator[OpenSearch]:
    """A client that knows every node, as the backend's will: a dead node is retried elsewhere."""
    es = OpenSearch(hosts=opensearch_urls, timeout=30, max_retries=3, retry_on_timeout=True)
    yield es
    es.close()


@pytest.fixture(scope="module")
def corpus_index(client: OpenSearch) -> Iterator[list[dict]]:
    """The test index, created and bulk-loaded once for this module, deleted after it."""
    client.indices.delete(index=INDEX, ignore_unavailable=True)
    client.indices.create(
        index=INDEX,
        body={
            "settings": {
                "number_of_shards": 2,
                "number_of_replicas": 1,
                "similarity": {"newsquote_bm25": {"type": "BM25", "k1": K1, "b": B}},
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "article_id": {"type": "keyword"},
                    "sentence": {"type": "integer"},
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                    "tokens": {
                        "type": "text",
                        "analyzer": "whitespace",
                        "similarity": "newsquote_bm25",
                    },
                },
            },
        },
    )
    docs = _documents()
    actions = ({"_index": INDEX, **doc} for doc in docs)
    indexed, errors = helpers.bulk(client, actions, chunk_size=100, refresh=True)
    assert (indexed, errors) == (DOCS, [])
    yield docs
    client.indices.delete(index=INDEX, ignore_unavailable=True)


def _search(client: OpenSearch) -> dict:
    return client.search(
        index=INDEX,
        body={"query": {"match": {"tokens": QUERY}}, "size": 3, "track_total_hits": True},
    )


def _explanations(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("details", []):
        yield from _explanations(child)


def test_two_nodes_hold_the_index_and_bm25_finds_the_sentence(
    opensearch_cluster: OpenSearchCluster, client: OpenSearch, corpus_index: list[dict]
) -> None:
    # opensearch-py takes a lone `timeout` as its own socket timeout (a number): with
    # request_timeout given, `timeout` goes to the server as the health wait.
    health = client.cluster.health(
        index=INDEX, wait_for_status="green", timeout="60s", request_timeout=70
    )
    assert health["status"] == "green"
    assert health["number_of_nodes"] == 2
    assert (health["active_primary_shards"], health["active_shards"]) == (2, 4)

    # Each node holds one copy of each shard: the replicas are real, on the other node.
    shards = client.cat.shards(index=INDEX, format="json")
    assert {row["state"] for row in shards} == {"STARTED"}
    for shard in ("0", "1"):
        holders = {row["node"] for row in shards if row["shard"] == shard}
        assert holders == {node.name for node in opensearch_cluster.nodes}

    # The whitespace analyser keeps the project's tokens as they are: no lower-casing, no split.
    analysed = client.indices.analyze(
        index=INDEX, body={"field": "tokens", "text": "Storm-closes HARBOUR said"}
    )
    assert [t["token"] for t in analysed["tokens"]] == ["Storm-closes", "HARBOUR", "said"]

    assert client.count(index=INDEX)["count"] == DOCS
    result = _search(client)
    assert result["hits"]["hits"][0]["_id"] == NEEDLE_ID
    assert result["hits"]["total"]["value"] == _expected_hits(corpus_index)
    assert result["_shards"] == {"total": 2, "successful": 2, "skipped": 0, "failed": 0}

    # The field is scored with the index's own BM25 parameters, not Lucene's defaults.
    explained = client.search(
        index=INDEX,
        body={"query": {"match": {"tokens": "doyle"}}, "size": 1, "explain": True},
    )
    top = explained["hits"]["hits"][0]
    parts = {e["description"].split(",")[0]: e["value"] for e in _explanations(top["_explanation"])}
    assert parts["k1"] == pytest.approx(K1)
    assert parts["b"] == pytest.approx(B)


@dataclass
class _SearchLoop:
    """Searches in a thread until told to stop (bounded in count and time).

    A short pause between searches (still ~50 a second) keeps the loop from taking a whole
    core of two away from the node that is restarting. A search that comes back with a failed
    shard, or failing outright, is sent again (twice at most), as a client must and the backend
    does: OpenSearch does not retry the fetch phase itself.
    """

    client: OpenSearch
    expected_hits: int
    max_searches: int = 20_000
    max_seconds: float = 150.0
    pause: float = 0.01
    done: int = 0
    retried: int = 0
    failures: list[str] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while (
            not self.stop_event.is_set()
            and self.done < self.max_searches
            and time.monotonic() < deadline
        ):
            try:
                result = self._answered()
                top = result["hits"]["hits"][0]["_id"] if result["hits"]["hits"] else None
                total = result["hits"]["total"]["value"]
                if top != NEEDLE_ID or total != self.expected_hits or result["_shards"]["failed"]:
                    self.failures.append(
                        f"search {self.done}: top={top} total={total} {result['_shards']}"
                    )
            except Exception as exc:  # every failure is a finding, whatever its type
                self.failures.append(f"search {self.done}: {exc!r}")
            self.done += 1
            time.sleep(self.pause)

    def _answered(self) -> dict:
        """One search, sent again (twice at most, as the backend does) if it was cut.

        A node that stops between a search's query and fetch phases takes the search
        context with it: the search comes back with a failed shard, or as an error when
        every shard it had reached was there. Sent again, it reaches the promoted copies.
        """
        for pause in (0.1, 0.5):
            try:
                result = _search(self.client)
                if not result["_shards"]["failed"]:
                    return result
            except TransportError:
                pass
            self.retried += 1
            time.sleep(pause)
        return _search(self.client)  # the last try: what fails now is a finding

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``count`` more searches have run."""
        target = self.done + count
        deadline = time.monotonic() + timeout
        while self.done < target and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.done >= target, f"only {self.done} of {target} searches in {timeout} s"


def test_searches_are_answered_while_a_node_stops_and_returns(
    opensearch_cluster: OpenSearchCluster, client: OpenSearch, corpus_index: list[dict]
) -> None:
    # Stop the node that is not the elected cluster manager. With two manager-eligible nodes
    # only one of them is in the voting configuration (it must be odd-sized), so losing the
    # manager leaves no quorum: searches would still be served, but nothing could be
    # reallocated until it returned. Surviving the loss of any node takes three nodes.
    manager = client.cat.cluster_manager(format="json")[0]["node"]
    victim = next(node for node in opensearch_cluster.nodes if node.name != manager)
    survivor = opensearch_cluster.node(manager)

    survivor_client = OpenSearch(hosts=[survivor.url], timeout=30)
    loop = _SearchLoop(client, expected_hits=_expected_hits(corpus_index))
    thread = threading.Thread(target=loop.run, name="search-loop", daemon=True)
    thread.start()
    try:
        loop.wait_for(20)
        before_stop = loop.done
        # A clean exit on SIGTERM: the JVM's code for it is 143, and the node said it closed.
        assert victim.stop(timeout=30) == 143
        assert f"NEWSQUOTE-OPENSEARCH STOPPED {victim.name}" in victim.log_tail(500)
        stopped_at = loop.done

        # The survivor notices and promotes the replicas: every shard still has a copy.
        health = survivor_client.cluster.health(
            index=INDEX,
            wait_for_nodes="1",
            wait_for_active_shards="2",
            timeout="60s",
            request_timeout=70,
        )
        assert health["number_of_nodes"] == 1
        assert health["status"] == "yellow"  # primaries all active, replicas unassigned
        loop.wait_for(20)
        assert survivor_client.count(index=INDEX)["count"] == DOCS

        victim.start()
        victim.wait_ready(timeout=120)
        opensearch_cluster.wait_health("green", timeout=120)
        during_outage = loop.done - stopped_at  # stopped, restarting, recovering its copies
        loop.wait_for(20)
    finally:
        loop.stop_event.set()
        thread.join(timeout=60)
        survivor_client.close()
        # Leave the cluster as this test found it, for the tests after it, even on failure.
        if not victim.running:
            victim.start()
            victim.wait_ready(timeout=120)
            opensearch_cluster.wait_health("green", timeout=120)

    assert not thread.is_alive()
    assert loop.failures == [], f"{len(loop.failures)} of {loop.done}: {loop.failures[:5]}"
    assert before_stop >= 20 and during_outage >= 20
    print(
        f"{loop.done} searches, {during_outage} of them from {victim.name}'s stop to green,"
        f" {loop.retried} sent again after a shard or the search failed"
    )

    # Nothing lost, nothing doubled: the count is the corpus, on the cluster and on the
    # copies held by the node that came back.
    assert client.count(index=INDEX)["count"] == DOCS
    back = client.count(index=INDEX, params={"preference": f"_only_nodes:{victim.name}"})
    assert back["count"] == DOCS
    assert _search(client)["hits"]["hits"][0]["_id"] == NEEDLE_ID


ORPHAN_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.cluster.launcher import ClusterNode, free_ports

    classpath, home = sys.argv[1], Path(sys.argv[2])
    http, transport = free_ports(2)
    node = ClusterNode(
        name="orphan", cluster_name="orphan-test", home=home, http_port=http,
        transport_port=transport, classpath=classpath,
        seed_hosts=[f"127.0.0.1:{transport}"], initial_cluster_managers=["orphan"],
    )
    node.start()
    node.wait_ready(120)
    (home / "jvm.pid").write_text(str(node.process.pid))
    time.sleep(300)
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_node_stops_when_its_parent_dies(opensearch_classpath: str, tmp_path: Path) -> None:
    """A test run killed outright (no clean-up at all) leaves no JVM behind."""
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, opensearch_classpath, str(tmp_path)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    pid_file = tmp_path / "jvm.pid"
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() and parent.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pid_file.exists(), (tmp_path / "node.log").read_text(errors="replace")[-3000:]
        pid = int(pid_file.read_text())
        assert _alive(pid)
    finally:
        parent.kill()  # SIGKILL: the parent runs no clean-up of its own
        parent.wait(timeout=10)

    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, 9)
        pytest.fail(f"JVM {pid} outlived its parent by 30 s")
    assert "stdin closed, stopping" in (tmp_path / "node.log").read_text(errors="replace")
