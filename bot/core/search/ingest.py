"""Writing a corpus into the cluster: a full rebuild behind an alias, or changes in place.

All documents go through ``bulk.BulkWriter`` (retried, idempotent ids).

A full rebuild (``rebuild``) writes a new index, ``<alias>--gen-<time>``, with refreshes
off, writes the meta document last, checks the counts, and only then moves the alias
to it in one atomic ``_aliases`` request: searches see the old index or the new one,
never half of one. Older generations are deleted after the swap, unfinished ones (a
crashed rebuild) with them. An index of another layout or rule set is never written to;
it is replaced this way.

Incremental changes (``apply``) write into the live index: an upserted article's new
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
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from bot.core.index.table import CorpusTable
from bot.core.search import documents as docs
from bot.core.search.bulk import BulkStats, BulkWriter, IngestError, WriteProgress
from bot.core.search.client import ClusterError, ClusterOptions, guarded

log = logging.getLogger(__name__)

GENERATION_MARK = "--gen-"
REPLICA_WAIT_SECONDS = 60  # for a new index's shard copies to become active before a load
FREQUENCY_BATCH = 500  # terms counted per request


# --------------------------------------------------------------------- the meta document


@dataclass(frozen=True, slots=True)
class Meta:
    """The meta documents of an index: what it holds and how it was made.

    Three documents: ``meta`` (small: totals, layout, rule fingerprint, pending
    articles), read with every question, and ``meta:punkt`` and ``meta:errors``, which
    can be large (Punkt's parameters, unreadable files) and are read only by a sync or
    a listing. ``meta`` is written last: without it an index is unfinished.
    """

    index: str  # the concrete index they are in
    layout: int
    fingerprint: Mapping[str, Any]
    punkt: Mapping[str, Any]
    stats: docs.CorpusStats
    errors: tuple[Mapping[str, str], ...]  # unreadable files: path, reason, sha256
    pending: tuple[str, ...] = ()
    built: str = ""
    updated: str = ""

    def to_docs(self) -> list[dict[str, Any]]:
        """The documents to write, ``meta`` last."""
        return [
            {"_id": docs.PUNKT_ID, "kind": "m", "data": {"punkt": dict(self.punkt)}},
            {
                "_id": docs.ERRORS_ID,
                "kind": "m",
                "data": {"errors": [dict(error) for error in self.errors]},
            },
            self.main_doc(),
        ]

    def main_doc(self) -> dict[str, Any]:
        """The small ``meta`` document."""
        return {
            "_id": docs.META_ID,
            "kind": "m",
            "data": {
                "layout": self.layout,
                "fingerprint": dict(self.fingerprint),
                "stats": self.stats.to_json(),
                "pending": list(self.pending),
                "built": self.built,
                "updated": self.updated,
            },
        }

    @classmethod
    def from_sources(
        cls,
        index: str,
        main: Mapping[str, Any],
        punkt: Mapping[str, Any] | None,
        errors: Mapping[str, Any] | None,
    ) -> Meta:
        """From the fetched ``_source``s; ValueError if they are not this layout's."""
        try:
            data = main["data"]
            return cls(
                index=index,
                layout=int(data["layout"]),
                fingerprint=dict(data["fingerprint"]),
                punkt=dict((punkt or {"data": {"punkt": {}}})["data"]["punkt"]),
                stats=docs.CorpusStats.from_json(data["stats"]),
                errors=tuple(dict(e) for e in (errors or {"data": {}})["data"].get("errors", [])),
                pending=tuple(data.get("pending", [])),
                built=str(data.get("built", "")),
                updated=str(data.get("updated", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a meta document of this layout ({exc})") from exc


def now_text() -> str:
    """The time, for the meta document."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_meta(client: OpenSearch, options: ClusterOptions) -> Meta | None:
    """The live index's meta documents, None when the index is unfinished or of another layout.

    ``NoIndexError`` when the alias (or an index of that name) does not exist.
    """
    ids = [docs.META_ID, docs.PUNKT_ID, docs.ERRORS_ID]
    found = guarded(
        options,
        "reading the index's meta document",
        lambda: client.mget(index=options.index, body={"ids": ids}),
    )
    main, punkt, errors = (doc if doc.get("found") else None for doc in found["docs"])
    if main is None:
        return None  # the index exists, its meta document does not: unfinished
    try:
        meta = Meta.from_sources(
            main["_index"],
            main["_source"],
            punkt and punkt["_source"],
            errors and errors["_source"],
        )
    except ValueError as exc:
        log.warning("index %s has an unusable meta document: %s", main["_index"], exc)
        return None
    return meta if meta.layout == docs.LAYOUT else None


def mapping_layout(client: OpenSearch, options: ClusterOptions, index: str) -> int | None:
    """The layout the index's mapping was made for (None: not one of ours)."""
    mapping = guarded(
        options, "reading the index mapping", lambda: client.indices.get_mapping(index=index)
    )
    meta = mapping.get(index, {}).get("mappings", {}).get("_meta", {})
    layout = meta.get("newsquote_layout")
    return layout if isinstance(layout, int) else None


# --------------------------------------------------------------------- full rebuild


@dataclass(frozen=True, slots=True)
class Written:
    """What a rebuild or an update left in the cluster."""

    index: str
    meta: Meta
    bulk: BulkStats
    replaced: tuple[str, ...] = ()  # indices the alias left (deleted when they were ours)


def generation_name(alias: str) -> str:
    """A new index name for a rebuild behind ``alias``: sortable by time, never reused."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{alias}{GENERATION_MARK}{stamp}-{secrets.token_hex(3)}"


def rebuild(
    client: OpenSearch,
    options: ClusterOptions,
    table: CorpusTable,
    meta_fields: Mapping[str, Any],
    file_hashes: Mapping[str, str],
    k1: float,
    b: float,
    progress: WriteProgress | None = None,
    threads: int = 1,
) -> Written:
    """Write the whole corpus in ``table`` into a new index and swap the alias to it.

    ``meta_fields``: fingerprint, punkt and errors for the meta document.
    """
    name = generation_name(options.index)
    _check_alias_name(client, options)
    guarded(
        options,
        f"creating index {name}",
        lambda: client.indices.create(
            index=name, body=docs.index_body(options.shards, options.replicas, k1, b)
        ),
    )
    _wait_for_replicas(client, options, name)
    log.info("writing a new index", extra={"index": name, "sentences": table.sentences})
    stats, sdf, pdf = docs.table_stats(table)
    writer = BulkWriter(client, options, name, progress=progress)
    writer.expected_sentences = table.sentences
    writer.write(_corpus_actions(table, file_hashes, sdf, pdf), threads=threads)
    built = now_text()
    meta = Meta(
        index=name,
        layout=docs.LAYOUT,
        fingerprint=meta_fields["fingerprint"],
        punkt=meta_fields["punkt"],
        stats=stats,
        errors=tuple(meta_fields.get("errors", ())),
        built=built,
        updated=built,
    )
    writer.write(meta.to_docs())
    guarded(
        options,
        f"opening index {name} to searches",
        lambda: client.indices.put_settings(
            index=name,
            body={"index": {"refresh_interval": None, "translog.durability": "request"}},
        ),
    )
    guarded(options, f"refreshing index {name}", lambda: client.indices.refresh(index=name))
    _check_counts(client, options, name, stats)
    replaced = swap_alias(client, options, name)
    return Written(name, meta, writer.stats, replaced)


def _wait_for_replicas(client: OpenSearch, options: ClusterOptions, index: str) -> None:
    """Wait until every copy of every shard of the new index is active.

    A replica still starting is not in sync with its primary, so it cannot take over:
    a node lost while the load runs would leave that shard without a primary until the
    node came back. A cluster too small for the replicas (one node) never gets there;
    the load then goes ahead, with a warning.
    """
    health = guarded(
        options,
        f"waiting for the shards of {index}",
        lambda: client.cluster.health(
            index=index,
            wait_for_status="green",
            timeout=f"{REPLICA_WAIT_SECONDS}s",
            request_timeout=REPLICA_WAIT_SECONDS + 10,
        ),
    )
    if health.get("timed_out") or health.get("status") != "green":
        log.warning(
            "the replicas of %s are not all active (%s unassigned): a node lost during the "
            "load will lose documents until it returns",
            index,
            health.get("unassigned_shards"),
        )


def _corpus_actions(
    table: CorpusTable,
    file_hashes: Mapping[str, str],
    sdf: np.ndarray,
    pdf: np.ndarray,
) -> Iterator[dict[str, Any]]:
    for number in range(table.articles):
        source_id = table.sources[number].id
        yield from docs.article_docs(table, number, file_hashes.get(source_id)).all()
    for term, s, p in zip(table.vocabulary, sdf.tolist(), pdf.tolist(), strict=True):
        if s:
            yield _term_doc(term, s, p)


def _term_doc(term: str, sentences: int, paragraphs: int) -> dict[str, Any]:
    return {
        "_id": docs.term_id(term),
        "kind": "t",
        "term": term,
        "sdf": sentences,
        "pdf": paragraphs,
    }


def _check_alias_name(client: OpenSearch, options: ClusterOptions) -> None:
    """A concrete index already called like the alias would block the swap: say so first."""
    alias = options.index
    exists = guarded(options, "looking for the index", lambda: client.indices.exists(index=alias))
    if not exists:
        return
    is_alias = guarded(
        options, "looking for the alias", lambda: client.indices.exists_alias(name=alias)
    )
    if not is_alias:
        raise ClusterError(
            f"OpenSearch has an index named {alias!r} that is not an alias; the bot keeps its "
            "index behind an alias of that name: delete or rename that index, or set "
            "opensearch_index to another name"
        )


def _check_counts(
    client: OpenSearch, options: ClusterOptions, index: str, stats: docs.CorpusStats
) -> None:
    """Every sentence, paragraph and article is searchable in ``index``, none twice."""
    counts = count_kinds(client, options, index)
    want = {"s": stats.sentences, "p": stats.paragraphs, "a": stats.articles}
    got = {kind: counts.get(kind, 0) for kind in want}
    if got != want:
        raise IngestError(
            f"index {index} holds {got['s']} sentences, {got['p']} paragraphs and {got['a']} "
            f"articles after the load, not {want['s']}, {want['p']} and {want['a']}; "
            "the alias was not moved"
        )


def count_kinds(client: OpenSearch, options: ClusterOptions, index: str) -> dict[str, int]:
    """How many documents of each kind ``index`` holds, and paragraphs (``p``)."""
    found = guarded(
        options,
        "counting documents",
        lambda: client.search(
            index=index,
            body={
                "size": 0,
                "aggs": {
                    "kinds": {"terms": {"field": "kind", "size": 10}},
                    "p": {"filter": {"exists": {"field": "ptokens"}}},
                },
            },
        ),
    )
    aggs = found["aggregations"]
    counts = {b["key"]: int(b["doc_count"]) for b in aggs["kinds"]["buckets"]}
    counts["p"] = int(aggs["p"]["doc_count"])
    return counts


def swap_alias(client: OpenSearch, options: ClusterOptions, index: str) -> tuple[str, ...]:
    """Point the alias at ``index`` alone, atomically; delete the generations it replaces.

    Returns the indices the alias left. One this project did not name (no generation
    mark: say, an older version's) is kept, with a warning: it may be someone's.
    """
    alias = options.index
    current = guarded(
        options, "reading the alias", lambda: client.indices.get_alias(name=alias, ignore=[404])
    )
    missing = current.get("status") == 404 and "error" in current
    holders = [] if missing else sorted(name for name in current if name != index)
    actions: list[dict[str, Any]] = [{"remove": {"index": n, "alias": alias}} for n in holders]
    actions.append({"add": {"index": index, "alias": alias}})
    guarded(
        options,
        f"moving the alias {alias} to {index}",
        lambda: client.indices.update_aliases(body={"actions": actions}),
    )
    log.info("alias moved", extra={"alias": alias, "index": index, "replaced": holders})
    ours = f"{alias}{GENERATION_MARK}"
    found = guarded(
        options,
        "listing old generations",
        lambda: client.indices.get(index=f"{ours}*", ignore=[404]),
    )
    doomed = sorted(name for name in found if name.startswith(ours) and name != index)
    for name in doomed:
        try:
            client.indices.delete(index=name)
        except TransportError as exc:
            log.warning("could not delete the old index %s (%s)", name, exc)
    for name in holders:
        if not name.startswith(ours):
            log.warning("the alias left index %s, which is kept (not named by this bot)", name)
    return tuple(holders)


# --------------------------------------------------------------------- incremental changes


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
        made = docs.article_docs(upserts, number, sha)
        actions.extend(made.all())
        affected.update(made.vocabulary)
        stale.extend(item for item in have if item.key != key)
    for source_id in removed:
        stale.extend(listing.get(source_id, []))
    writer.write(actions)
    affected.update(_vocabulary_of(client, options, index, stale))
    writer.write(_deletions(stale))
    guarded(options, f"refreshing index {index}", lambda: client.indices.refresh(index=index))
    _update_terms(client, options, index, writer, sorted(affected))
    guarded(options, f"refreshing index {index}", lambda: client.indices.refresh(index=index))
    stats = corpus_stats(client, options, index)
    updated = Meta(
        index=index,
        layout=meta.layout,
        fingerprint=meta.fingerprint,
        punkt=meta.punkt,
        stats=stats,
        errors=tuple(errors),
        pending=(),
        built=meta.built,
        updated=now_text(),
    )
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
                actions.append(_term_doc(term, sentences, paragraphs))
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


def corpus_stats(client: OpenSearch, options: ClusterOptions, index: str) -> docs.CorpusStats:
    """The corpus totals counted from the documents: kinds, term total, frequency histograms."""
    found = guarded(
        options,
        "counting the corpus",
        lambda: client.search(
            index=index,
            body={
                "size": 0,
                "aggs": {
                    "kinds": {"terms": {"field": "kind", "size": 10}},
                    "p": {"filter": {"exists": {"field": "ptokens"}}},
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
    kinds = {b["key"]: int(b["doc_count"]) for b in aggs["kinds"]["buckets"]}

    def histogram(name: str) -> dict[int, int]:
        return {int(b["key"]): int(b["doc_count"]) for b in aggs[name]["buckets"]}

    sentences, paragraphs = kinds.get("s", 0), int(aggs["p"]["doc_count"])
    return docs.CorpusStats(
        articles=kinds.get("a", 0),
        sentences=sentences,
        paragraphs=paragraphs,
        terms=round(aggs["sentences"]["length"]["value"]),
        vocabulary=kinds.get("t", 0),
        mean_idf_sentences=docs.mean_raw_idf(sentences, histogram("sdf")),
        mean_idf_paragraphs=docs.mean_raw_idf(paragraphs, histogram("pdf")),
    )
