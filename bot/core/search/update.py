"""Changes by article id, written into the live index (``index --update``, ``add``, the watcher).

``apply`` writes into the live index: an upserted article's new
documents first (its article document last), then the deletion of its old ones, then
the frequencies of every term it touched, counted again from the documents themselves
(so a repeated or interrupted run converges), then the corpus totals. The meta document
names the articles being applied (``pending``) before anything is written and is
cleared after: a run that dies half-way leaves them pending, and the next one applies
them again. Searches during an update may see an article's old and new sentences
for a moment; only a rebuild is atomic.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from opensearchpy import OpenSearch

from bot.core.index.table import CorpusTable
from bot.core.search import documents as docs
from bot.core.search import totals
from bot.core.search.bulk import BulkWriter, WriteProgress
from bot.core.search.client import ClusterOptions, guarded
from bot.core.search.ingest import (
    KIND_AGGS,
    Meta,
    Written,
    article_documents,
    kinds_of,
    now_text,
)

log = logging.getLogger(__name__)

FREQUENCY_BATCH = 500  # terms counted per request


@dataclass(frozen=True, slots=True)
class IndexedArticle:
    """An article document as the listing reads it."""

    article_id: str
    key: str
    digest: str
    file_sha256: str | None
    sentences: int


def list_articles(
    client: OpenSearch, options: ClusterOptions, index: str
) -> dict[str, list[IndexedArticle]]:
    """Every article document, by article id (more than one: an update that died half-way)."""
    found: dict[str, list[IndexedArticle]] = {}
    for hit in scan_kind(
        client,
        options,
        index,
        "a",
        ["article_id", "article", "digest", "file_sha256", "sentences"],
    ):
        s = hit["_source"]
        item = IndexedArticle(
            s["article_id"],
            s["article"],
            s["digest"],
            s.get("file_sha256"),
            int(s["sentences"]),
        )
        found.setdefault(item.article_id, []).append(item)
    return found


def scan_kind(
    client: OpenSearch,
    options: ClusterOptions,
    index: str,
    kind: str,
    fields: Sequence[str],
    page: int = 2000,
) -> Iterator[dict[str, Any]]:
    """Every document of ``kind``, in id order of ``article_id``/``_id``, a page per request."""
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {
            "size": page,
            "query": {"term": {"kind": kind}},
            "_source": list(fields),
            "sort": [{"article_id": "asc"}, {"article": "asc"}],
        }
        if after is not None:
            body["search_after"] = after
        result = guarded(
            options, "listing articles", lambda body=body: client.search(index=index, body=body)
        )
        hits = result["hits"]["hits"]
        yield from hits
        if len(hits) < page:
            return
        after = hits[-1]["sort"]


def apply(
    client: OpenSearch,
    options: ClusterOptions,
    meta: Meta,
    upserts: CorpusTable,
    removed: Iterable[str],
    listing: Mapping[str, Sequence[IndexedArticle]],
    file_hashes: Mapping[str, str],
    errors: Sequence[Mapping[str, str]],
    progress: WriteProgress | None = None,
) -> Written:
    """Upsert the articles of ``upserts`` and delete the ``removed`` ids, in the live index.

    ``listing``: the index's articles now (``list_articles``); ``errors``: every
    unreadable file after this change. Articles whose content is unchanged are left
    alone (their file hash is corrected if it differs).
    """
    index = meta.index
    removed = sorted(set(removed))
    touched = sorted({*removed, *(source.id for source in upserts.sources)})
    _write_meta(client, options, meta, pending=tuple(touched))
    writer = BulkWriter(client, options, index, progress=progress)
    writer.expected_sentences = upserts.sentences
    affected: set[str] = set()
    stale: list[IndexedArticle] = []
    actions: list[dict[str, Any]] = []
    changed: list[int] = []
    for number, source in enumerate(upserts.sources):
        key = docs.article_key(upserts.digests[number])
        have = listing.get(source.id, [])
        sha = file_hashes.get(source.id)
        if len(have) == 1 and have[0].key == key and source.id not in meta.pending:
            if have[0].file_sha256 != sha:
                actions.append(
                    {"_op_type": "update", "_id": f"a:{key}", "doc": {"file_sha256": sha}}
                )
            continue
        changed.append(number)
        stale.extend(item for item in have if item.key != key)
    for made in article_documents(upserts, file_hashes, changed):
        actions.extend(made.all())
        affected.update(made.vocabulary)
    for source_id in removed:
        stale.extend(listing.get(source_id, []))
    writer.write(actions)
    affected.update(_vocabulary_of(client, options, index, stale))
    writer.write(_deletions(stale))
    guarded(options, f"refreshing index {index}", lambda: client.indices.refresh(index=index))
    _update_terms(client, options, index, writer, sorted(affected))
    guarded(options, f"refreshing index {index}", lambda: client.indices.refresh(index=index))
    stats = corpus_stats(client, options, index)
    updated = replace(meta, stats=stats, errors=tuple(errors), pending=(), updated=now_text())
    _write_meta(client, options, updated, everything=True)
    return Written(index, updated, writer.stats)


def _write_meta(
    client: OpenSearch,
    options: ClusterOptions,
    meta: Meta,
    pending: tuple[str, ...] | None = None,
    everything: bool = False,
) -> None:
    """Write the ``meta`` document (after the other two, with ``everything``), refreshed."""
    written = meta.to_docs() if everything else [meta.main_doc()]
    if pending is not None:
        written[-1]["data"]["pending"] = sorted({*meta.pending, *pending})
    for doc in written:
        body = {key: value for key, value in doc.items() if key != "_id"}
        guarded(
            options,
            "writing the meta document",
            lambda doc=doc, body=body: client.index(
                index=meta.index, id=doc["_id"], body=body, refresh="true"
            ),
        )


def _deletions(stale: Sequence[IndexedArticle]) -> Iterator[dict[str, Any]]:
    for item in stale:
        yield {"_op_type": "delete", "_id": f"a:{item.key}"}  # first: it says the rest exist
        for n in range(item.sentences):
            yield {"_op_type": "delete", "_id": f"{item.key}:{n}"}


def _vocabulary_of(
    client: OpenSearch, options: ClusterOptions, index: str, articles: Sequence[IndexedArticle]
) -> set[str]:
    """The index terms of articles about to be deleted (their frequencies will fall)."""
    words: set[str] = set()
    ids = [f"a:{item.key}" for item in articles]
    for start in range(0, len(ids), 200):
        found = guarded(
            options,
            "reading old articles",
            lambda part=ids[start : start + 200]: client.mget(
                index=index, body={"ids": part}, _source_includes=["data.table.vocabulary"]
            ),
        )
        for doc in found["docs"]:
            if doc.get("found"):
                words.update(doc["_source"]["data"]["table"]["vocabulary"])
    return words


def _update_terms(
    client: OpenSearch,
    options: ClusterOptions,
    index: str,
    writer: BulkWriter,
    terms: Sequence[str],
) -> None:
    """Count each term's sentences and paragraphs again, and write (or drop) its document."""
    for start in range(0, len(terms), FREQUENCY_BATCH):
        part = terms[start : start + FREQUENCY_BATCH]
        counts = term_frequencies(client, options, index, part)
        actions = []
        for term in part:
            sentences, paragraphs = counts[term]
            if sentences:
                actions.append(docs.term_doc(term, sentences, paragraphs))
            else:
                actions.append({"_op_type": "delete", "_id": docs.term_id(term)})
        writer.write(actions)


def term_frequencies(
    client: OpenSearch, options: ClusterOptions, index: str, terms: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """In how many sentences and paragraphs each term occurs now (one search for all)."""
    numbered = {str(i): term for i, term in enumerate(terms)}

    def filters(field_name: str) -> dict[str, Any]:
        return {
            "filters": {
                "filters": {
                    i: {"term": {field_name: docs.field_term(term)}} for i, term in numbered.items()
                }
            }
        }

    found = guarded(
        options,
        "counting term frequencies",
        lambda: client.search(
            index=index,
            body={"size": 0, "aggs": {"s": filters("tokens"), "p": filters("ptokens")}},
        ),
    )
    sentences = found["aggregations"]["s"]["buckets"]
    paragraphs = found["aggregations"]["p"]["buckets"]
    return {
        term: (int(sentences[i]["doc_count"]), int(paragraphs[i]["doc_count"]))
        for i, term in numbered.items()
    }


def corpus_stats(client: OpenSearch, options: ClusterOptions, index: str) -> totals.CorpusStats:
    """The corpus totals counted from the documents: kinds, term total, frequency histograms."""
    found = guarded(
        options,
        "counting the corpus",
        lambda: client.search(
            index=index,
            body={
                "size": 0,
                "aggs": {
                    **KIND_AGGS,
                    "sentences": {
                        "filter": {"term": {"kind": "s"}},
                        "aggs": {"length": {"sum": {"field": "length"}}},
                    },
                    "sdf": {"histogram": {"field": "sdf", "interval": 1, "min_doc_count": 1}},
                    "pdf": {"histogram": {"field": "pdf", "interval": 1, "min_doc_count": 1}},
                },
            },
        ),
    )
    aggs = found["aggregations"]
    kinds = kinds_of(aggs)

    def histogram(name: str) -> dict[int, int]:
        return {int(b["key"]): int(b["doc_count"]) for b in aggs[name]["buckets"]}

    sentences, paragraphs = kinds.get("s", 0), kinds["p"]
    return totals.CorpusStats(
        articles=kinds.get("a", 0),
        sentences=sentences,
        paragraphs=paragraphs,
        terms=round(aggs["sentences"]["length"]["value"]),
        vocabulary=kinds.get("t", 0),
        mean_idf_sentences=totals.mean_raw_idf(sentences, histogram("sdf")),
        mean_idf_paragraphs=totals.mean_raw_idf(paragraphs, histogram("pdf")),
    )
