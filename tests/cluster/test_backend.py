"""The OpenSearch backend against the real two-node cluster: answers, updates and faults.

Every test uses its own index alias, so none depends on another's leftovers; each is
bounded (a few small corpora, questions and bulk runs with deadlines). The faults the
cluster itself cannot produce (429s, refused credentials, no answer) come from the
stand-in in ``proxy.py``, in front of a real node.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from opensearchpy import OpenSearch

from bot.cli.main import main
from bot.cli.repl import run_repl
from bot.core.answer.engine import Engine
from bot.core.corpus.service import Articles
from bot.core.errors import UserError
from bot.core.ingest.files import read_files, scan_folder
from bot.core.ingest.prepare import prepare_table
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.search import bulk, fresh, ingest, totals
from bot.core.search import documents as docs
from bot.core.search.bulk import BulkWriter
from bot.core.search.client import ClusterError, make_client
from bot.core.search.ingest import punkt_of, read_meta
from bot.core.search.live import sync_folder
from bot.core.search.options import ClusterOptions
from bot.core.search.searcher import ClusterEngine
from bot.core.search.update import list_articles
from bot.core.search.watched import ClusterCorpus
from bot.settings import Settings
from tests.cluster.launcher import OpenSearchCluster
from tests.cluster.proxy import Faults, Proxy
from tests.conftest import REPO, SEEDS, make_settings

pytestmark = pytest.mark.cluster

QUESTIONS = [
    q["question"]
    for q in yaml.safe_load((REPO / "bench" / "seed_questions.yaml").read_text("utf-8"))[
        "questions"
    ]
]
NEW_ARTICLE = """---
title: Lighthouse keeper retires
publisher: Coast Courier
published: 2024-03-01
---
After forty years the lighthouse keeper Maren Holt has retired.

“The lamp never went out on my watch,” Holt said on Friday.
"""


def cluster_settings(urls: list[str], index: str, corpus: Path = SEEDS, **more: object) -> Settings:
    more.setdefault("opensearch_timeout_seconds", 30)
    return make_settings(
        backend="opensearch",
        opensearch_hosts=list(urls),
        opensearch_index=index,
        corpus_dir=corpus,
        **more,
    )


def _cluster_engine(settings: Settings) -> ClusterEngine:
    options = settings.core_options()
    assert options.cluster is not None
    return ClusterEngine.open(options.cluster, options.engine)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment ``python -m bot`` reads: opensearch backend, no .env, own data dir."""
    for name in list(__import__("os").environ):
        if name.startswith("NEWSQUOTE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    env = {"NEWSQUOTE_BACKEND": "opensearch", "NEWSQUOTE_DATA_DIR": str(tmp_path / "data")}

    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    set_env(**{k: v for k, v in env.items()})
    yield set_env  # type: ignore[misc]


def _use(set_env, urls: list[str], index: str) -> None:
    set_env(NEWSQUOTE_OPENSEARCH_HOSTS=",".join(urls), NEWSQUOTE_OPENSEARCH_INDEX=index)


def _answers(reply: dict) -> tuple:
    """What must agree between the backends: every answer's field but ``sentence_ids``."""
    return (
        reply["no_answer_reason"],
        [{k: v for k, v in a.items() if k != "sentence_ids"} for a in reply["answers"]],
        reply["more"],
        reply["terms"],
    )


def _client(urls: list[str]) -> OpenSearch:
    return OpenSearch(hosts=urls, timeout=30)


def _alias_targets(client: OpenSearch, alias: str) -> list[str]:
    return sorted(client.indices.get_alias(name=alias))


def _copy_seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


def _reference(folder: Path, punkt: dict) -> Engine:
    """The embedded engine over ``folder``, split with the cluster index's own Punkt."""
    settings = make_settings().core_options().engine
    raw, errors = read_files(folder, scan_folder(folder))
    splitter = SentenceSplitter(punkt_of(punkt))
    engine = Engine.from_articles([], settings)
    prepared = prepare_table(raw, splitter, engine.tokenizer)
    return Engine(prepared.table, settings, engine.tokenizer, splitter, errors)


def _check_statistics(client: OpenSearch, options: ClusterOptions, folder: Path) -> Engine:
    """The cluster's totals and term frequencies are those of the folder, counted afresh."""
    meta = read_meta(client, options)
    assert meta is not None and not meta.pending
    reference = _reference(folder, dict(meta.punkt))
    stats, sdf, pdf = totals.table_stats(reference.table)
    assert (meta.stats.articles, meta.stats.sentences, meta.stats.paragraphs) == (
        stats.articles,
        stats.sentences,
        stats.paragraphs,
    )
    assert (meta.stats.terms, meta.stats.vocabulary) == (stats.terms, stats.vocabulary)
    assert meta.stats.mean_idf_sentences == pytest.approx(stats.mean_idf_sentences, abs=1e-9)
    assert meta.stats.mean_idf_paragraphs == pytest.approx(stats.mean_idf_paragraphs, abs=1e-9)
    terms = client.search(
        index=options.index,
        body={"size": 10_000, "query": {"term": {"kind": "t"}}, "_source": ["term", "sdf", "pdf"]},
    )["hits"]["hits"]
    found = {h["_source"]["term"]: (h["_source"]["sdf"], h["_source"]["pdf"]) for h in terms}
    expected = {
        term: (int(s), int(p))
        for term, s, p in zip(reference.table.vocabulary, sdf, pdf, strict=True)
        if s
    }
    assert found == expected
    listing = list_articles(client, options, options.index)
    assert all(len(items) == 1 for items in listing.values())  # nothing doubled
    assert sorted(listing) == [source.id for source in reference.table.sources]
    return reference


# --------------------------------------------------------------------- answers


def test_index_then_ask_gives_the_embedded_backends_answers(
    opensearch_urls: list[str],
    cli_env,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _use(cli_env, opensearch_urls, "t-answers")
    assert main(["index", "--corpus", str(SEEDS)]) == 0
    built = capsys.readouterr().out
    assert built.startswith(
        "index built: 2 articles, 35 sentences in OpenSearch index t-answers--gen-"
    )

    client = _client(opensearch_urls)
    (index,) = _alias_targets(client, "t-answers")
    settings = client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == ("2", "1")
    similarity = settings["similarity"][docs.SIMILARITY]
    assert (float(similarity["k1"]), float(similarity["b"])) == (1.0, 0.75)  # bm25_k1, bm25_b
    # The replicas, restored after the load, copied the primaries' files: none indexed
    # the documents a second time by replaying them from the translog.
    copies = [r for r in client.indices.recovery(index=index)[index]["shards"] if not r["primary"]]
    assert len(copies) == 2 and all(r["type"] == "PEER" for r in copies)
    assert [r["translog"]["recovered"] for r in copies] == [0, 0]

    embedded = Engine.from_folder(SEEDS, make_settings().core_options().engine)
    cluster = _cluster_engine(cluster_settings(opensearch_urls, "t-answers"))
    bodies = {info.source.id: embedded.table.text(i) for i, info in enumerate(embedded.sources())}
    caplog.set_level(logging.WARNING, logger="bot.core.search")
    for question in QUESTIONS:
        for offset in (0, 3):
            mine = cluster.ask(question, 3, offset).to_json()
            theirs = embedded.ask(question, 3, offset).to_json()
            assert mine.keys() == theirs.keys()
            assert _answers(mine) == _answers(theirs), question
            for answer in mine["answers"]:
                assert answer.keys() == theirs["answers"][0].keys()
                assert (
                    bodies[answer["source"]["id"]][answer["start"] : answer["end"]]
                    == (answer["quote"])
                )
    assert max(cluster.requests, 1) <= 2 * 2 * len(QUESTIONS)  # 2 only when nothing matched
    # A question is one request: its hits carry their paragraphs, no article is fetched.
    before = cluster.requests
    assert cluster.ask("what did China say?", 3).answers
    assert cluster.requests == before + 1
    # Every term the ranking weighs (WordNet relatives too) came with its corpus frequency.
    assert not [r.message for r in caplog.records if "corpus frequenc" in r.message]

    # ask --json through the CLI: the same contract, one line per question.
    assert main(["ask", "--json", "what did China say?"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert _answers(line) == _answers(embedded.ask("what did China say?").to_json())
    assert main(["sources", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in listed["articles"]] == [s.id for s in embedded.table.sources]
    assert [a["sentences"] for a in listed["articles"]] == [i.sentences for i in embedded.sources()]

    answer = cluster.ask("what did China say?").answers[0]
    context = cluster.context(answer)
    assert answer.quote in " ".join(context) or context[0] in answer.quote


def test_a_rebuild_swaps_the_alias_without_a_gap(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    """Questions asked all through two rebuilds are answered in full every time."""
    settings = cluster_settings(opensearch_urls, "t-swap")
    first = sync_folder(SEEDS, settings.core_options(), rebuild_all=True)
    engine = first.engine
    expected = engine.ask("what did China say?").to_json()
    failures: list[str] = []
    stop = threading.Event()
    asked = 0

    def ask_loop() -> None:
        nonlocal asked
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            reply = engine.ask("what did China say?").to_json()
            if _answers(reply) != _answers(expected):
                failures.append(str(reply.get("no_answer_reason")))
            asked += 1

    thread = threading.Thread(target=ask_loop)
    thread.start()
    try:
        for _ in range(2):
            synced = sync_folder(SEEDS, settings.core_options(), rebuild_all=True)
            assert synced.status == "built"
    finally:
        stop.set()
        thread.join(timeout=60)
    assert asked > 0 and failures == [], failures[:3]
    client = _client(opensearch_urls)
    assert _alias_targets(client, "t-swap") == [synced.index]  # older generations deleted
    assert client.indices.get(index="t-swap--gen-*").keys() == {synced.index}


# --------------------------------------------------------------------- updates by article id


def test_add_edit_remove_by_article_id_keep_the_statistics_exact(
    opensearch_urls: list[str], cli_env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy_seeds(tmp_path)
    _use(cli_env, opensearch_urls, "t-updates")
    assert main(["index", "--corpus", str(folder)]) == 0
    options = cluster_settings(opensearch_urls, "t-updates").cluster_options()
    client = make_client(options)
    generation = read_meta(client, options).index

    new = tmp_path / "lighthouse.txt"
    new.write_text(NEW_ARTICLE, "utf-8")
    capsys.readouterr()
    assert main(["add", "--corpus", str(folder), str(new)]) == 0
    out = capsys.readouterr().out
    assert "added: lighthouse.txt" in out and "index updated (1 added" in out
    reference = _check_statistics(client, options, folder)
    engine = _cluster_engine(cluster_settings(opensearch_urls, "t-updates"))
    reply = engine.ask("What did Maren Holt say?")
    assert reply.answers and "lamp never went out" in reply.answers[0].quote
    assert _answers(reply.to_json()) == _answers(
        reference.ask("What did Maren Holt say?").to_json()
    )

    (folder / "lighthouse.txt").write_text(NEW_ARTICLE.replace("forty", "fifty"), "utf-8")
    assert main(["index", "--update", "--corpus", str(folder)]) == 0
    assert "index updated (0 added, 1 changed, 0 removed)" in capsys.readouterr().out
    _check_statistics(client, options, folder)
    assert "fifty years" in engine.ask("How long did the lighthouse keeper work?").answers[0].quote

    assert main(["remove", "--corpus", str(folder), "lighthouse.txt"]) == 0
    assert "removed: lighthouse.txt" in capsys.readouterr().out
    _check_statistics(client, options, folder)
    assert engine.ask("What did Maren Holt say?").no_answer_reason == (
        "No article mentions Maren Holt."
    )
    assert read_meta(client, options).index == generation  # all of it in place, no rebuild


def test_an_update_that_dies_half_way_is_finished_by_the_next_one(
    opensearch_urls: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy_seeds(tmp_path)
    settings = cluster_settings(opensearch_urls, "t-crash", folder)
    sync_folder(folder, settings.core_options(), rebuild_all=True)
    (folder / "lighthouse.txt").write_text(NEW_ARTICLE, "utf-8")
    (folder / "000_9773075bcaa93018.txt").unlink()
    sent = BulkWriter._send
    calls = 0

    def dies_after_the_first_batch(self: BulkWriter, batch: list) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ClusterError("the process died here")
        sent(self, batch)

    monkeypatch.setattr(BulkWriter, "_send", dies_after_the_first_batch)
    with pytest.raises(ClusterError, match="died here"):
        sync_folder(folder, settings.core_options())
    monkeypatch.setattr(BulkWriter, "_send", sent)
    options = settings.cluster_options()
    client = make_client(options)
    assert sorted(read_meta(client, options).pending) == [
        "000_9773075bcaa93018.txt",
        "lighthouse.txt",
    ]
    again = sync_folder(folder, settings.core_options())
    assert again.status == "updated"
    reference = _check_statistics(client, options, folder)
    assert _answers(again.engine.ask("what did China say?").to_json()) == _answers(
        reference.ask("what did China say?").to_json()
    )


def test_a_mapping_from_an_older_version_is_rebuilt_into_a_new_index(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    client = _client(opensearch_urls)
    old = "t-old-v0"
    client.indices.delete(index=old, ignore_unavailable=True)
    client.indices.create(
        index=old,
        body={
            "settings": {"number_of_shards": 1, "number_of_replicas": 1},
            "mappings": {"properties": {"tokens": {"type": "keyword"}, "kind": {"type": "long"}}},
            "aliases": {"t-legacy": {}},
        },
    )
    client.index(index=old, id="x", body={"tokens": "legacy", "kind": 7}, refresh=True)
    synced = sync_folder(SEEDS, cluster_settings(opensearch_urls, "t-legacy").core_options())
    assert synced.status == "built" and "unfinished or of another layout" in synced.reason
    assert _alias_targets(client, "t-legacy") == [synced.index]
    # The old index was never written to, and is kept: it was not named by this bot.
    assert client.count(index=old)["count"] == 1
    assert client.get(index=old, id="x")["_source"] == {"tokens": "legacy", "kind": 7}
    assert synced.engine.ask("what did China say?").answers
    client.indices.delete(index=old)


# --------------------------------------------------------------------- the watched folder


def test_the_repl_and_its_watcher_write_folder_changes_to_the_cluster(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    folder = _copy_seeds(tmp_path)
    settings = cluster_settings(opensearch_urls, "t-watch", folder)
    corpus = ClusterCorpus.load(folder, settings.core_options(), settle_seconds=1.0)
    (folder / "lighthouse.txt").write_text(NEW_ARTICLE, "utf-8")
    assert not corpus.poll(now=100.0)  # seen, not settled yet
    change = corpus.poll(now=102.0)
    assert change.added == ("lighthouse.txt",)
    (folder / "broken.txt").write_bytes(b"\xff\xfe not utf-8")
    corpus.rescan()
    assert [e.path for e in corpus.errors] == ["broken.txt"]
    # A later change to another file keeps the unreadable one listed.
    (folder / "more.txt").write_text("The harbour reopened on Monday, officials said.\n", "utf-8")
    corpus.rescan()
    assert [e.path for e in corpus.errors] == ["broken.txt"]
    (folder / "more.txt").unlink()
    corpus.rescan()
    assert [e.path for e in corpus.errors] == ["broken.txt"]
    import io

    out = io.StringIO()
    assert (
        run_repl(
            Articles(corpus), 3, stdin=io.StringIO("What did Maren Holt say?\n:sources\n"), out=out
        )
        == 0
    )
    text = out.getvalue()
    assert "newsquote: 3 articles" in text and "lamp never went out" in text
    assert "lighthouse.txt" in text or "Lighthouse keeper retires" in text


# --------------------------------------------------------------------- faults


def test_an_unreachable_cluster_is_one_line_and_a_failed_index(
    cli_env, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(cli_env, ["http://127.0.0.1:9"], "t-nowhere")
    cli_env(NEWSQUOTE_OPENSEARCH_TIMEOUT_SECONDS="2")
    for command in (["index", "--corpus", str(SEEDS)], ["ask", "what did China say?"]):
        assert main(command) != 0
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot reach OpenSearch at "), lines
        assert "Traceback" not in captured.err


def test_wrong_credentials_are_one_line_and_the_password_is_never_printed(
    opensearch_urls: list[str], cli_env, capsys: pytest.CaptureFixture[str], caplog
) -> None:
    caplog.set_level("DEBUG")
    with Proxy(opensearch_urls[0], Faults(credentials=("admin", "right-horse"))) as proxy:
        _use(cli_env, [proxy.url], "t-auth")
        cli_env(
            NEWSQUOTE_OPENSEARCH_USERNAME="admin", NEWSQUOTE_OPENSEARCH_PASSWORD="wrong-battery"
        )
        assert main(["index", "--corpus", str(SEEDS)]) != 0
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and "refused the credentials" in lines[0], lines
        everything = captured.out + captured.err + caplog.text
        assert "wrong-battery" not in everything and "right-horse" not in everything
        assert proxy.faults.seen.get("401")
        cli_env(NEWSQUOTE_OPENSEARCH_PASSWORD="right-horse")  # the credentials do get through
        assert main(["index", "--quiet", "--corpus", str(SEEDS)]) == 0


def test_429_rejections_are_sent_again_until_every_document_is_in(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    # Five whole-request rejections in a row outlast streaming_bulk's own three retries: the
    # rest are resent by the backend's writer. Item rejections are retried by the helper.
    faults = Faults(reject_bulks=5, reject_items=3, items_per_reject=7)
    with Proxy(opensearch_urls[0], faults) as proxy:
        settings = cluster_settings([proxy.url], "t-busy")
        synced = sync_folder(SEEDS, settings.core_options(), rebuild_all=True)
    assert faults.seen["rejected"] == 5 and faults.seen["items"] == 21
    assert synced.bulk.resent > 0  # the writer's own resend, after the helper gave up
    client = _client(opensearch_urls)
    options = cluster_settings(opensearch_urls, "t-busy").cluster_options()
    _check_statistics(client, options, SEEDS)
    assert synced.engine.article_count == 2


def test_an_index_creation_answered_too_late_and_sent_again_still_builds_the_index(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    """A busy cluster creates the index after the client gave up; the resend meets it."""
    with Proxy(opensearch_urls[0], Faults(slow_creates=1, slow_seconds=6)) as proxy:
        settings = cluster_settings([proxy.url], "t-slow-create", opensearch_timeout_seconds=2)
        synced = sync_folder(SEEDS, settings.core_options(), rebuild_all=True)
    assert proxy.faults.seen["slow create"] == 1
    assert synced.status == "built" and synced.engine.ask("what did China say?").answers
    client = _client(opensearch_urls)
    assert client.indices.get(index="t-slow-create--gen-*").keys() == {synced.index}


def test_the_worker_waits_for_a_cluster_that_is_down_and_answers_once_it_is_back(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    folder = _copy_seeds(tmp_path)
    with Proxy(opensearch_urls[0], Faults(down=True)) as proxy:
        settings = cluster_settings([proxy.url], "t-wait", folder, opensearch_timeout_seconds=2)
        corpus = ClusterCorpus.load(
            folder, settings.core_options(), wait=True
        )  # no error: it waits
        reply = corpus.engine.ask("what did China say?")
        assert not reply.answers
        assert reply.no_answer_reason.startswith("The article index cannot be reached just now")
        with pytest.raises(UserError):
            corpus.poll(now=1.0)  # the watcher logs this and tries again at the next poll
        proxy.faults.down = False
        corpus.poll(now=2.0)  # the first poll that reaches the cluster syncs the folder
        assert corpus.engine.ask("what did China say?").answers


def _synthetic_corpus(folder: Path, articles: int, sentences: int) -> None:
    """Distinct articles of news-like sentences (some quoting a named speaker)."""
    rng = random.Random(16)
    words = [
        "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(3))
        for _ in range(600)
    ]
    names = ["Ada Brook", "Tom Reilly", "Jane Doyle", "Omar Haddad", "Lena Park"]
    folder.mkdir(parents=True)
    for a in range(articles):
        paragraphs = []
        for _ in range(sentences // 2):
            first = " ".join(rng.choices(words, k=rng.randint(6, 18))).capitalize() + "."
            said = " ".join(rng.choices(words, k=rng.randint(5, 12)))
            paragraphs.append(f"{first} “{said.capitalize()},” {rng.choice(names)} said.")
        body = "\n\n".join(paragraphs)
        (folder / f"a{a:04d}.txt").write_text(f"---\ntitle: Story {a}\n---\n{body}\n", "utf-8")


def test_a_node_dying_mid_bulk_and_mid_questions_loses_nothing(
    opensearch_cluster: OpenSearchCluster,
    opensearch_urls: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One node is killed (SIGKILL) while a rebuild writes and questions are asked.

    The rebuild finishes with every document once; every question is answered as before,
    from the replicas; after the node returns, its copies hold the whole corpus too.
    The node killed is not the elected cluster manager (see test_cluster.py for why).
    """
    asked = cluster_settings(opensearch_urls, "t-node-q")
    engine = sync_folder(SEEDS, asked.core_options(), rebuild_all=True).engine
    expected = {q: _answers(engine.ask(q).to_json()) for q in QUESTIONS[:12]}
    folder = tmp_path / "big"
    _synthetic_corpus(folder, articles=120, sentences=20)
    monkeypatch.setattr(bulk, "BULK_BATCH", 400)  # many batches: the kill lands mid-bulk
    monkeypatch.setattr(bulk, "RETRY_SECONDS", 120.0)  # a failure fails in bounded time
    # The load that follows the lost one waits for replicas the dead node cannot hold: a
    # minute by default, spent idle here (it times out either way and the load goes on).
    monkeypatch.setattr(ingest, "REPLICA_WAIT_SECONDS", 5)
    # A bulk waits this long for the lost primaries before the load learns they are gone.
    monkeypatch.setattr(fresh, "LOAD_SHARD_WAIT", "3s")

    client = _client(opensearch_urls)
    manager = client.cat.cluster_manager(format="json")[0]["node"]
    victim = next(node for node in opensearch_cluster.nodes if node.name != manager)
    killed = threading.Event()
    written_at_kill: list[int] = []

    def progress(done: int, total: int) -> None:
        if not killed.is_set() and done >= total // 4:
            killed.set()
            written_at_kill.append(done)
            threading.Timer(0.2, victim.process.kill).start()  # while the next batch is sent

    failures: list[str] = []
    stop = threading.Event()
    count = 0

    def ask_loop() -> None:
        nonlocal count
        deadline = time.monotonic() + 240
        while not stop.is_set() and time.monotonic() < deadline:
            question = QUESTIONS[count % len(expected)]
            got = _answers(engine.ask(question).to_json())
            if got != expected[question]:
                failures.append(f"{question}: {got[0]}")
            count += 1

    thread = threading.Thread(target=ask_loop)
    thread.start()
    try:
        synced = sync_folder(folder, cluster_settings(opensearch_urls, "t-node-bulk", folder).core_options(),
                             rebuild_all=True, write_progress=progress)  # fmt: skip
        asked_while_down = count
        time.sleep(1.0)  # a few more questions with the node still gone
    finally:
        stop.set()
        thread.join(timeout=120)
        if not victim.running:
            victim.start()
            victim.wait_ready(timeout=120)
            opensearch_cluster.wait_health("green", timeout=180)
    print(
        f"{victim.name} killed at {written_at_kill[0]} of 2400 sentences written; "
        f"{synced.bulk.resent} documents resent; {count} questions, {asked_while_down} of them "
        "before the rebuild ended"
    )
    assert killed.is_set() and written_at_kill
    assert failures == [], failures[:3]
    assert asked_while_down > 0
    options = cluster_settings(opensearch_urls, "t-node-bulk", folder).cluster_options()
    reference = _check_statistics(client, options, folder)
    assert synced.engine.sentence_count == reference.sentence_count == 120 * 20
    for index in ("t-node-bulk", "t-node-q"):
        everywhere = client.count(index=index)["count"]
        back = client.count(index=index, params={"preference": f"_only_nodes:{victim.name}"})
        assert back["count"] == everywhere


def test_the_discord_workers_articles_answer_list_reload_and_give_context(
    opensearch_urls: list[str], tmp_path: Path
) -> None:
    """What the worker's scoring process calls, on this backend (the gateway side is unchanged)."""
    folder = _copy_seeds(tmp_path)
    settings = cluster_settings(opensearch_urls, "t-worker", folder, watch_interval_seconds=0)
    articles = Articles.watch(settings.core_options(), wait_for_cluster=True)
    try:
        reply = articles.ask("what did China say?", 3)
        assert len(reply.answers) == 3
        context = articles.context(reply.answers[0])
        assert any(reply.answers[0].quote.startswith(sentence) for sentence in context)
        listed = {item.info.source.id for item in articles.listing().articles}
        assert listed == {p.name for p in folder.iterdir()}
        (folder / "lighthouse.txt").write_text(NEW_ARTICLE, "utf-8")
        reloaded = articles.reload()
        assert reloaded.change.added == ("lighthouse.txt",) and reloaded.articles == 3
        assert articles.ask("What did Maren Holt say?", 3).answers
    finally:
        articles.close()
