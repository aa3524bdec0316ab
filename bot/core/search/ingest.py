"""Writing a whole corpus into the cluster: a new index behind an atomic alias swap.

All documents go through ``bulk.BulkWriter`` (retried, idempotent ids).

A full rebuild (``rebuild``) writes a new index, ``<alias>--gen-<time>``, with refreshes
off and, while it is loaded, no replicas (``fresh``), writes the meta document last, checks the counts, and only then moves the alias
to it in one atomic ``_aliases`` request: searches see the old index or the new one,
never half of one. Older generations are deleted after the swap, unfinished ones (a
crashed rebuild) with them. An index of another layout or rule set is never written to;
it is replaced this way.

Incremental changes by article id are in ``update``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from nltk.tokenize.punkt import PunktParameters
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from bot.core.index.table import CorpusTable
from bot.core.search import documents as docs
from bot.core.search import fresh, paragraphs, totals
from bot.core.search.bulk import BulkStats, BulkWriter, IngestError, WriteProgress
from bot.core.search.client import ClusterError, ClusterOptions, guarded

log = logging.getLogger(__name__)

GENERATION_MARK = "--gen-"
# Articles whose paragraph records are built together: numpy's cost per call, not the
# work, dominated one article at a time (about 20 sentences in 10 paragraphs).
RECORD_BATCH = 64
REPLICA_WAIT_SECONDS = 60  # for a new index's shard copies to become active before a load


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
    stats: totals.CorpusStats
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
                stats=totals.CorpusStats.from_json(data["stats"]),
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


def punkt_json(params: PunktParameters) -> dict[str, Any]:
    """Punkt's learnt parameters as JSON (for the meta document)."""
    return {
        "abbrev_types": sorted(params.abbrev_types),
        "collocations": sorted([a, b] for a, b in params.collocations),
        "sent_starters": sorted(params.sent_starters),
        "ortho_context": dict(sorted(params.ortho_context.items())),
    }


def punkt_of(saved: Mapping[str, Any]) -> PunktParameters:
    """Punkt parameters from ``punkt_json``'s output."""
    params = PunktParameters()
    params.abbrev_types = set(saved["abbrev_types"])
    params.collocations = {(a, b) for a, b in saved["collocations"]}
    params.sent_starters = set(saved["sent_starters"])
    for word, flags in saved["ortho_context"].items():
        params.ortho_context[word] = int(flags)
    return params


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
    _check_alias_name(client, options)
    load = _Load(client, options, table, meta_fields, file_hashes, k1, b, progress, threads)
    return load.run()


@dataclass
class _Load:
    """One rebuild: the corpus into a new index, checked, then the alias moved to it.

    The index is first loaded without replicas (``fresh``); should a node leave with a
    shard's only copy, that index is deleted and the corpus loaded again into a new one
    with its replicas from the start, as the cluster then is.
    """

    client: OpenSearch
    options: ClusterOptions
    table: CorpusTable
    meta_fields: Mapping[str, Any]
    file_hashes: Mapping[str, str]
    k1: float
    b: float
    progress: WriteProgress | None
    threads: int

    def run(self) -> Written:
        """Load, check, swap; a fresh load that lost a shard is loaded again with replicas."""
        stats, sdf, pdf = totals.table_stats(self.table)
        fast = self.options.replicas > 0
        name = generation_name(self.options.index)
        try:
            writer, meta = self._load(name, stats, sdf, pdf, fast=fast)
        except fresh.CopiesLost as exc:
            log.warning("%s; loading the corpus again, with replicas", exc)
            _delete_quietly(self.client, name)
            name = generation_name(self.options.index)
            writer, meta = self._load(name, stats, sdf, pdf, fast=False)
        guarded(
            self.options,
            f"opening index {name} to searches",
            lambda: self.client.indices.put_settings(
                index=name,
                body={"index": {"refresh_interval": None, "translog.durability": "request"}},
            ),
        )
        guarded(
            self.options,
            f"refreshing index {name}",
            lambda: self.client.indices.refresh(index=name),
        )
        _check_counts(self.client, self.options, name, stats)
        replaced = swap_alias(self.client, self.options, name)
        return Written(name, meta, writer.stats, replaced)

    def _load(
        self, name: str, stats: totals.CorpusStats, sdf: np.ndarray, pdf: np.ndarray, fast: bool
    ) -> tuple[BulkWriter, Meta]:
        """Every document into a new index ``name``, the meta documents last.

        ``fast``: without replicas until loaded (``fresh``); ``fresh.CopiesLost`` when a
        shard is lost meanwhile.
        """
        options, client = self.options, self.client
        body = docs.index_body(options.shards, options.replicas, self.k1, self.b)
        _create_index(client, options, name, fresh.load_body(body) if fast else body)
        _wait_for_replicas(client, options, name)
        log.info("writing a new index", extra={"index": name, "sentences": self.table.sentences})
        writer = BulkWriter(client, options, name, progress=self.progress)
        writer.expected_sentences = self.table.sentences
        if fast:
            writer.check = fresh.lost_check(client, name)
            writer.shard_wait = fresh.LOAD_SHARD_WAIT
        writer.write(_corpus_actions(self.table, self.file_hashes, sdf, pdf), threads=self.threads)
        built = now_text()
        meta = Meta(
            index=name,
            layout=docs.LAYOUT,
            fingerprint=self.meta_fields["fingerprint"],
            punkt=self.meta_fields["punkt"],
            stats=stats,
            errors=tuple(self.meta_fields.get("errors", ())),
            built=built,
            updated=built,
        )
        writer.write(meta.to_docs())
        if fast:
            fresh.finish(client, options, name, options.replicas)
        return writer, meta


def _delete_quietly(client: OpenSearch, name: str) -> None:
    """Delete an unfinished index of ours; one left behind goes with the next swap."""
    try:
        client.indices.delete(index=name, ignore=[404])
    except TransportError as exc:
        log.warning("could not delete the unfinished index %s (%s)", name, exc)


def _create_index(
    client: OpenSearch, options: ClusterOptions, name: str, body: Mapping[str, Any]
) -> None:
    """Create ``name``; "already exists" is success, since no one else uses that name.

    A create that outlives the client's timeout is sent again by the client, and the
    first one has usually gone through by then: its "already exists" must not fail the
    rebuild (a slow cluster would otherwise never get a new index, one name after another).
    """

    def create() -> None:
        try:
            client.indices.create(index=name, body=body)
        except TransportError as exc:
            if exc.status_code != 400 or exc.error != "resource_already_exists_exception":
                raise

    guarded(options, f"creating index {name}", create)


def _wait_for_replicas(client: OpenSearch, options: ClusterOptions, index: str) -> None:
    """Wait until every copy of every shard of the new index is active.

    A replica still starting is not in sync with its primary, so it cannot take over:
    a node lost while the load runs would leave that shard without a primary until the
    node came back. A cluster too small for the replicas (one node) never gets there;
    the load then goes ahead, with a warning.
    """
    fresh.wait_for_copies(
        client, options, index, REPLICA_WAIT_SECONDS, "a node lost during the load"
    )


def _corpus_actions(
    table: CorpusTable,
    file_hashes: Mapping[str, str],
    sdf: np.ndarray,
    pdf: np.ndarray,
) -> Iterator[dict[str, Any]]:
    for made in article_documents(table, file_hashes, range(table.articles)):
        yield from made.all()
    for term, s, p in zip(table.vocabulary, sdf.tolist(), pdf.tolist(), strict=True):
        if s:
            yield docs.term_doc(term, s, p)


def article_documents(
    table: CorpusTable, file_hashes: Mapping[str, str], numbers: Iterable[int]
) -> Iterator[docs.ArticleDocs]:
    """The documents of articles ``numbers`` (increasing) of ``table``, in that order.

    Their paragraph records are built ``RECORD_BATCH`` articles at a time (the articles
    between two wanted ones within a batch are built too, and not used), the index
    terms as field terms once for them all.
    """
    words = docs.field_terms(table.vocabulary)
    wanted = list(numbers)
    at = 0
    while at < len(wanted):
        first = wanted[at]
        batch = [n for n in wanted[at : at + RECORD_BATCH] if n < first + RECORD_BATCH]
        made = paragraphs.records_of(table, first, batch[-1] + 1)
        for number in batch:
            sha = file_hashes.get(table.sources[number].id)
            yield docs.article_docs(table, number, sha, made[number - first], words)
        at += len(batch)


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
    client: OpenSearch, options: ClusterOptions, index: str, stats: totals.CorpusStats
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


# Documents by kind, and how many carry a paragraph's terms (one per paragraph).
KIND_AGGS: dict[str, Any] = {
    "kinds": {"terms": {"field": "kind", "size": 10}},
    "p": {"filter": {"exists": {"field": "ptokens"}}},
}


def count_kinds(client: OpenSearch, options: ClusterOptions, index: str) -> dict[str, int]:
    """How many documents of each kind ``index`` holds, and paragraphs (``p``)."""
    found = guarded(
        options,
        "counting documents",
        lambda: client.search(
            index=index,
            body={
                "size": 0,
                "aggs": KIND_AGGS,
            },
        ),
    )
    return kinds_of(found["aggregations"])


def kinds_of(aggs: dict[str, Any]) -> dict[str, int]:
    """The counts ``KIND_AGGS`` asked for: documents by kind, and ``p``."""
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
