"""The OpenSearch backend's parts that need no cluster: documents, scoring, settings, errors.

The cluster itself is exercised in tests/cluster/test_backend.py; here the pieces are
checked against the embedded backend they must reproduce.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import AuthenticationException, ConnectionError
from pydantic import SecretStr

from bot.core.answer.engine import Engine
from bot.core.index.bm25 import Parameters
from bot.core.search import bulk, fresh, tables, totals, wire
from bot.core.search import documents as docs
from bot.core.search.bulk import BulkWriter
from bot.core.search.client import ClusterOptions, ClusterUnavailable, describe_failure, scrub
from bot.core.search.ingest import punkt_json, punkt_of
from bot.core.search.scoring import ClusterBM25
from bot.settings import Settings
from tests.conftest import make_settings


def _through_json(engine: Engine) -> list[tables.StoredArticle]:
    """Every article of ``engine`` as the cluster stores and returns it."""
    table = engine.table
    return [
        tables.stored_article(json.loads(json.dumps(docs.article_docs(table, i, "f" * 64).article)))
        for i in range(table.articles)
    ]


def test_articles_survive_the_round_trip_through_their_documents(seed_engine: Engine) -> None:
    """What an answer's context reads of an article document: its body and sentence bounds."""
    stored = _through_json(seed_engine)
    table = seed_engine.table
    bounds = table.columns["article_sentences"]
    for i, article in enumerate(stored):
        assert article.source == table.sources[i] and article.digest == table.digests[i]
        assert article.body == table.text(i)
        rows = slice(int(bounds[i]), int(bounds[i + 1]))
        for name in ("sent_start", "sent_end"):
            assert np.array_equal(article.arrays[name], table.columns[name][rows]), name
    # A sentence is a slice of its body, so a quote is body[start:end] on this backend too.
    first = docs.article_docs(table, 0, None)
    body = first.article["data"]["body"]
    for doc in first.sentences:
        assert body[doc["start"] : doc["end"]] == seed_engine.sentence_text(doc["sentence"])


def test_local_terms_map_a_joined_vocabulary_as_its_own_dict_would(seed_engine: Engine) -> None:
    from bot.core.search import paragraphs

    numbers = tables.TermNumbers()
    numbers.of(["a-term-no-article-of-this-join-has"])  # numbered, but not in the join
    made = docs.article_docs(seed_engine.table, 1, None)
    found = [paragraphs.decode(made.key, d["data"]["p"]) for d in made.sentences[:3]]
    joined = paragraphs.join(paragraphs.distinct_paragraphs(found), numbers)
    terms = joined.terms
    expected = {term: number for number, term in enumerate(joined.table.vocabulary)}
    assert dict(terms) == expected and len(terms) == len(expected)
    for term in [*expected, "a-term-no-article-of-this-join-has", "never-seen"]:
        assert terms.get(term) == expected.get(term) and (term in terms) == (term in expected)
    left_out = set(seed_engine.table.vocabulary) - set(expected)
    numbers.of(sorted(left_out))
    assert left_out and not any(term in terms for term in left_out)
    with pytest.raises(KeyError):
        terms["never-seen"]


def test_sentence_documents_carry_the_projects_own_terms(seed_engine: Engine) -> None:
    table = seed_engine.table
    made = docs.article_docs(table, 1, None)
    first = int(table.columns["article_sentences"][1])
    for doc in made.sentences:
        terms = [table.vocabulary[t] for t in table.terms_of(first + doc["sentence"])]
        assert doc["tokens"].split() == terms
        assert doc["_id"] == f"{made.key}:{doc['sentence']}"
    assert made.key == seed_engine.table.digests[1][: docs.KEY_CHARS]
    # A paragraph's terms, in order, on its first sentence's document.
    firsts = [d for d in made.sentences if "ptokens" in d]
    assert [d["paragraph"] for d in firsts] == sorted({d["paragraph"] for d in made.sentences})
    for first in firsts:
        inside = [d["tokens"] for d in made.sentences if d["paragraph"] == first["paragraph"]]
        assert first["ptokens"].split() == " ".join(inside).split()


def test_whitespace_in_a_term_never_splits_it() -> None:
    assert docs.field_term("new york") == "new\u2423york"
    assert docs.field_term("china") == "china"
    assert docs.term_id("x" * 600).startswith("t#")


def test_published_is_a_date_only_when_it_is_one() -> None:
    assert docs.iso_date("2023-06-25") == "2023-06-25"
    assert docs.iso_date("2023-06-25T10:00:00+02:00") == "2023-06-25T10:00:00+02:00"
    assert docs.iso_date("June 25, 2023") is None
    assert docs.iso_date(None) is None


def test_corpus_statistics_are_the_embedded_indexes(seed_engine: Engine) -> None:
    stats, sdf, pdf = totals.table_stats(seed_engine.table)
    assert stats.sentences == seed_engine.index.size
    assert stats.paragraphs == seed_engine.paragraphs.size
    assert stats.vocabulary == seed_engine.index.terms
    for number, term in enumerate(seed_engine.table.vocabulary):
        assert (sdf[number] > 0) == seed_engine.index.contains(term)
        assert seed_engine.index.postings(term).size == sdf[number]
        assert seed_engine.paragraphs.postings(term).size == pdf[number]


@pytest.mark.parametrize("which", ["sentences", "paragraphs"])
def test_cluster_scores_equal_the_embedded_bm25(seed_engine: Engine, which: str) -> None:
    """With the whole corpus's statistics, a fetched sentence scores what it scores embedded."""
    table, settings = seed_engine.table, make_settings()
    stats, sdf, pdf = totals.table_stats(table)
    lengths = np.diff(table.columns["sentence_terms"])
    params = Parameters(settings.bm25_k1, settings.bm25_b, settings.bm25_epsilon)
    if which == "sentences":
        reference, frequency = seed_engine.index, sdf
        documents, mean, doc_lengths = stats.sentences, stats.mean_idf_sentences, lengths
    else:
        reference, frequency = seed_engine.paragraphs, pdf
        first = np.flatnonzero(np.diff(totals.paragraph_numbers(table), prepend=-1))
        documents, mean = stats.paragraphs, stats.mean_idf_paragraphs
        doc_lengths = np.add.reduceat(lengths, first)
    known = {t: int(frequency[i]) for i, t in enumerate(table.vocabulary)} | {"zzzunknown": 0}
    scorer = ClusterBM25(
        table.columns["terms"], doc_lengths, table.vocabulary, params, documents,
        stats.terms, mean, known,
    )  # fmt: skip
    vocabulary = [t for t in table.vocabulary if reference.contains(t)]
    for term in vocabulary:
        assert scorer.idf(term) == pytest.approx(reference.idf(term), abs=1e-12)
    assert scorer.idf("zzzunknown") == reference.idf("zzzunknown")
    rng = random.Random(16)
    for _ in range(100):
        query = [*rng.sample(vocabulary, 3), "say", "say"]
        rows, values = scorer.matching(query)
        expected_rows, expected = reference.matching(query)
        assert np.array_equal(rows, expected_rows)
        assert np.allclose(values, expected, rtol=0, atol=1e-12)
        docs_ = np.array(sorted(rng.sample(range(reference.size), 5)))
        assert np.allclose(scorer.scores_of(query, docs_), reference.scores_of(query, docs_))
        assert np.allclose(scorer.scores_at(query, docs_), reference.scores_at(query, docs_))
    assert not scorer.unknown_terms


def test_punkt_parameters_survive_json(seed_engine: Engine) -> None:
    params = seed_engine.splitter.params
    again = punkt_of(json.loads(json.dumps(punkt_json(params))))
    assert again.abbrev_types == params.abbrev_types
    assert again.collocations == params.collocations
    assert again.sent_starters == params.sent_starters
    assert dict(again.ortho_context) == dict(params.ortho_context)


def test_hosts_are_a_list_or_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSQUOTE_OPENSEARCH_HOSTS", "http://a:9200, https://b:9200")
    assert Settings(_env_file=None).opensearch_hosts == ["http://a:9200", "https://b:9200"]
    monkeypatch.setenv("NEWSQUOTE_OPENSEARCH_HOSTS", '["http://c:9200"]')
    assert Settings(_env_file=None).opensearch_hosts == ["http://c:9200"]


def test_the_password_is_never_shown() -> None:
    options = ClusterOptions(
        hosts=("https://admin:hunter2@search.example:9200",),
        index="news",
        username="admin",
        password=SecretStr("hunter2"),
    )
    assert "hunter2" not in repr(options)
    core = make_settings(backend="opensearch", opensearch_password="hunter2").core_options()
    assert core.cluster is not None and "hunter2" not in repr(core)
    assert "hunter2" not in options.shown_hosts
    refused = AuthenticationException(401, "security_exception", {"error": "hunter2 is wrong"})
    message = str(describe_failure(refused, options, "reading"))
    assert "hunter2" not in message and "401" in message and "\n" not in message
    assert scrub("token hunter2 at https://u:hunter2@h", options) == "token *** at https://h"


def test_an_unreachable_cluster_is_one_retryable_line() -> None:
    options = ClusterOptions(hosts=("http://127.0.0.1:9",), index="news")
    error = describe_failure(ConnectionError("N/A", "refused", None), options, "searching")
    assert isinstance(error, ClusterUnavailable)
    assert str(error).startswith("cannot reach OpenSearch at http://127.0.0.1:9 while searching")


def test_a_rule_that_rebuilds_the_saved_index_rebuilds_the_cluster_index_too(monkeypatch):
    from bot.core.index import encoding
    from bot.core.index.tokenize import Tokenizer
    from bot.core.search import live

    options = make_settings().core_options().engine
    saved, cluster = (
        encoding.fingerprint(Tokenizer(), options),
        live.fingerprint(Tokenizer(), options),
    )
    # Epsilon enters only when a question is scored (the cluster scores locally).
    assert saved.keys() - cluster.keys() == {"bm25_epsilon"}
    monkeypatch.setattr(encoding, "furniture_digest", lambda: "another model")
    assert live.fingerprint(Tokenizer(), options)["furniture_model"] != cluster["furniture_model"]


def test_a_fresh_load_has_no_replicas_and_keeps_the_mapping() -> None:
    body = docs.index_body(2, 1, 1.2, 0.75)
    loading = fresh.load_body(body)
    assert loading["settings"]["number_of_replicas"] == 0
    assert loading["settings"]["refresh_interval"] == "-1"
    assert loading["mappings"] == body["mappings"]
    assert body["settings"]["number_of_replicas"] == 1  # the index's own body is untouched


def test_a_bulk_action_is_encoded_once_with_its_id_outside_the_source() -> None:
    client = OpenSearch(hosts=["http://127.0.0.1:9"])
    writer = BulkWriter(client, ClusterOptions(hosts=("http://127.0.0.1:9",), index="x"), "x-gen")
    (head, source), sentence = writer._encoded({"_id": "k:3", "kind": "s", "tokens": "a b", "n": 3})
    assert sentence
    assert json.loads(head) == {"index": {"_id": "k:3"}}
    assert json.loads(source) == {"kind": "s", "tokens": "a b", "n": 3}
    (head, source), sentence = writer._encoded({"_id": "a:k", "_op_type": "delete"})
    assert not sentence and source is None and json.loads(head) == {"delete": {"_id": "a:k"}}
    (head, source), _ = writer._encoded({"_op_type": "update", "_id": 'a:"q"', "doc": {"f": 1}})
    assert json.loads(head) == {"update": {"_id": 'a:"q"'}} and json.loads(source) == {
        "doc": {"f": 1}
    }
    # The helper sends the lines as they are: its callback and the client's serializer
    # pass text through.
    assert bulk._ready((head, source)) == (head, source)
    assert client.transport.serializer.dumps(head) is head


class _Reads:
    """``ClusterReads.msearch`` answering the statistics search from ``frequencies``."""

    def __init__(self, frequencies: dict[str, tuple[int, int]], version: int) -> None:
        self.frequencies, self.version, self.asked = frequencies, version, []

    def msearch(self, searches):
        ids = searches[0][1]["query"]["ids"]["values"]
        self.asked.append(ids)
        return {"responses": [self.answer(ids)]}

    def answer(self, ids):
        hits = [_meta_hit(self.version)]
        for term, (sdf, pdf) in self.frequencies.items():
            if docs.term_id(term) in ids:
                hits.append({"_id": docs.term_id(term), "_source": {"sdf": sdf, "pdf": pdf}})
        return {"_shards": {"failed": 0}, "hits": {"hits": hits}}


def _meta_hit(version: int) -> dict:
    stats = totals.CorpusStats(3, 10, 5, 40, 20, 1.0, 0.5)
    data = {"layout": docs.LAYOUT, "stats": stats.to_json()}
    return {
        "_id": docs.META_ID,
        "_index": "idx--gen-1",
        "_version": version,
        "_source": {"data": data},
    }


def test_term_frequencies_are_kept_until_meta_changes(seed_engine: Engine) -> None:
    from bot.core.search.ingest import Meta
    from bot.core.search.searcher import ClusterEngine, _statistics_search

    options = ClusterOptions(hosts=("http://127.0.0.1:9",), index="idx")
    stats = totals.CorpusStats(3, 10, 5, 40, 20, 1.0, 0.5)
    meta = Meta("idx--gen-1", docs.LAYOUT, {}, {}, stats, ())
    engine = ClusterEngine(None, options, seed_engine.options, seed_engine.tokenizer, meta)
    reads = _Reads({"court": (4, 2), "judge": (1, 1)}, version=1)
    engine.reads = reads

    def ask(terms: list[str]):
        known = {t: engine._frequencies[t] for t in terms if t in engine._frequencies}
        unknown = [t for t in terms if t not in known]
        response = reads.answer(_statistics_search(unknown)["query"]["ids"]["values"])
        return engine._statistics(response, terms, engine._generation, known), unknown

    first, asked = ask(["court", "judge"])
    assert asked == ["court", "judge"] and first.sentences == {"court": 4, "judge": 1}
    second, asked = ask(["court", "judge"])
    assert asked == [] and second.sentences == first.sentences and not reads.asked
    # An update: new frequencies, meta rewritten (a new version): read again, not the kept.
    reads.frequencies, reads.version = {"court": (6, 3), "judge": (1, 1)}, 2
    third, asked = ask(["court", "judge"])
    assert asked == [] and len(reads.asked) == 1  # the one extra request
    assert third.sentences == {"court": 6, "judge": 1} and third.paragraphs["court"] == 3
    fourth, asked = ask(["court", "unheard"])
    assert asked == ["unheard"] and fourth.sentences == {"court": 6, "unheard": 0}


def test_the_wire_json_is_the_clients_own_json() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from opensearchpy.serializer import JSONSerializer

    plain = JSONSerializer()
    values = [
        {"a": 'Zoë said "hi" \u2014 ok', "n": [1, -2, 3.5, None, True], "e": {}},
        {"when": datetime(2026, 12, 3, 12, 0, 1, 250, tzinfo=UTC), "day": date(2026, 1, 2)},
        {"np": np.int32(7), "arr": np.arange(3), "f": np.float64(0.25), "d": Decimal("1.5")},
        {"big": 2**70},  # beyond 64 bits: orjson refuses, the standard library writes it
        {1: "a key that is not a string"},
        {"path": "caf\udce9.txt"},  # a Latin-1 file name as the file system hands it over
    ]
    for value in values:
        text = wire.dumps(value)
        assert json.loads(text) == json.loads(plain.dumps(value)), value
        assert wire.loads(text) == plain.loads(text) == json.loads(plain.dumps(value))
        text.encode("utf-8")  # a request body can be made of it
    # Read back exactly up to 64 bits (unsigned too); the module says what happens beyond.
    for number in (2**64 - 1, -(2**63), 2**53 + 1):
        assert wire.loads(f'{{"n": {number}}}')["n"] == number
    assert wire.loads('{"x": NaN}')["x"] != wire.loads('{"x": NaN}')["x"]  # the stdlib's NaN
    serializer = wire.WireSerializer()
    assert serializer.dumps("already text") == "already text"
    assert serializer.loads(b'{"x": [1]}') == {"x": [1]}


def test_mapping_indexes_what_is_searched_and_only_that() -> None:
    """Fields a query reads stay searchable; numbers only read back build no points.

    The searches: ``kind``, ``article``, ``article_id`` as terms; ``tokens`` and ``ptokens``
    by BM25 (frequencies and norms, no positions); ``names`` by a span query (positions).
    Sums and histograms read the doc values of ``length``, ``sdf``, ``pdf``; ``sentence``,
    ``paragraph``, ``start``, ``end`` and ``sentences`` are read from ``_source`` alone.
    ``_source`` is whole: a filtered one is stored twice.
    """
    body = docs.index_body(2, 1, 1.2, 0.75)
    mapping = body["mappings"]
    fields = mapping["properties"]
    assert "_source" not in mapping
    for name in ("kind", "article", "article_id", "tokens", "ptokens", "names", "term"):
        assert fields[name].get("index", True), name
    assert fields["tokens"]["index_options"] == fields["ptokens"]["index_options"] == "freqs"
    assert "index_options" not in fields["names"]  # positions, for span_near
    for name in ("length", "sdf", "pdf"):
        assert fields[name] == {"type": "integer", "index": False}, name
    for name in ("sentence", "paragraph", "start", "end", "sentences"):
        assert fields[name] == {"type": "integer", "index": False, "doc_values": False}, name
    assert fields["kind"].get("doc_values", True) and fields["article_id"].get("doc_values", True)


def test_a_sentence_document_has_only_the_fields_a_sentence_needs(seed_engine: Engine) -> None:
    """Every field on every sentence costs indexing work: the article's metadata is in the record."""
    made = docs.article_docs(seed_engine.table, 0, None)
    for doc in made.sentences:
        assert doc.keys() - {"ptokens", "names"} == {
            "_id", "kind", "article", "sentence", "paragraph", "start", "end", "length", "tokens",
            "data",
        }  # fmt: skip
        assert doc["data"]["p"]["src"]["id"] == seed_engine.table.sources[0].id
    assert made.article["article_id"] == seed_engine.table.sources[0].id
    assert made.article["sentences"] == len(made.sentences)
