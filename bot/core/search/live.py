"""A corpus folder kept in step with the cluster, by article id.

``sync_folder`` is what ``index``, ``index --update``, ``add`` and ``remove`` run on this
backend: the folder is the truth, as for the embedded index. Each file's sha256 is
compared with the one its article document (or, for an unreadable file, the meta
document) records; added and changed files are read, prepared with the index's own
Punkt parameters and written, removed ones deleted. Anything that makes the live index
unusable as it is (none yet, unfinished, another layout or rule set, a mapping of an
older version) means a full rebuild into a new index, and so does ``rebuild=True``
(``index``, which also retrains Punkt): the live index is never written to then.

``watched.ClusterCorpus`` runs it for the REPL and the Discord worker as the folder changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from bot.core.answer.engine import EngineOptions
from bot.core.index.changes import ArticleChanges, article_changes, file_digest
from bot.core.index.encoding import article_fingerprint
from bot.core.index.tokenize import Tokenizer, load_aliases
from bot.core.ingest.files import FileStamp, read_files, require_folder, scan_folder
from bot.core.ingest.options import Progress
from bot.core.ingest.prepare import prepare_table, workers_for
from bot.core.ingest.raw import LoadError
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.options import CoreOptions
from bot.core.search import documents as docs
from bot.core.search.bulk import BulkStats, WriteProgress
from bot.core.search.client import NoIndexError, guarded, make_client
from bot.core.search.ingest import Meta, mapping_layout, punkt_json, punkt_of, read_meta, rebuild
from bot.core.search.options import ClusterOptions
from bot.core.search.searcher import ClusterEngine
from bot.core.search.update import IndexedArticle, apply, list_articles

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Synced:
    """The engine after a sync, and what the sync did (``saved.Opened``'s counterpart)."""

    engine: ClusterEngine
    status: str  # "built", "loaded" or "updated"
    changes: ArticleChanges
    index: str
    bulk: BulkStats | None = None
    reason: str = ""  # why a rebuild happened, when it was not asked for


def fingerprint(tokenizer: Tokenizer, engine: EngineOptions) -> dict[str, Any]:
    """Every rule version and setting that shapes the documents; any change means a rebuild.

    k1 and b are the index's similarity; epsilon only enters when a question is scored,
    so it is not part of it.
    """
    return article_fingerprint(
        tokenizer, engine.ingest, layout=docs.LAYOUT, bm25_k1=engine.bm25.k1, bm25_b=engine.bm25.b
    )


def cluster_of(options: CoreOptions) -> ClusterOptions:
    """The cluster options of ``options``; a door only calls this backend when they are set."""
    if options.cluster is None:
        raise ValueError("the OpenSearch backend needs CoreOptions.cluster (backend = opensearch)")
    return options.cluster


def describe(synced: Synced) -> str:
    """One line for a person: what the sync did and what the index holds."""
    engine = synced.engine
    size = f"{engine.article_count} articles, {engine.sentence_count} sentences"
    if synced.status == "updated":
        what = f"index updated ({synced.changes.counted()})"
    elif synced.status == "built":
        what = "index built" + (f" ({synced.reason})" if synced.reason else "")
    else:
        what = "index up to date"
    rate = ""
    bulk = synced.bulk
    if bulk is not None and bulk.sentences and bulk.seconds > 0:
        rate = f", {bulk.sentences / bulk.seconds:,.0f} sentences/s written"
    return f"{what}: {size} in OpenSearch index {synced.index}{rate}"


def sync_folder(
    folder: Path,
    options: CoreOptions,
    progress: Progress | None = None,
    rebuild_all: bool = False,
    client: OpenSearch | None = None,
    only: Iterable[str] | None = None,
    write_progress: WriteProgress | None = None,
) -> Synced:
    """Bring the cluster's index in step with ``folder`` (see the module's docs).

    ``only``: look at these article ids alone (the watcher's settled files), not the
    whole folder. ``ClusterError`` (one line) when the cluster cannot be used.
    """
    require_folder(folder)
    engine = options.engine
    cluster = cluster_of(options)
    client = client or make_client(cluster)
    tokenizer = Tokenizer(aliases=load_aliases(engine.ingest.aliases_file))
    printed = fingerprint(tokenizer, engine)
    why = "asked for" if rebuild_all else ""
    meta: Meta | None = None
    if not rebuild_all:
        try:
            meta = read_meta(client, cluster)
        except NoIndexError:
            why = "there was none"
        else:
            why = _unusable(client, cluster, meta, printed)
    if why:
        return _rebuild(folder, engine, client, cluster, tokenizer, printed, why, progress,
                        write_progress)  # fmt: skip
    assert meta is not None
    return _update(folder, engine, client, cluster, tokenizer, meta, progress, only,
                   write_progress)  # fmt: skip


def _unusable(
    client: OpenSearch, options: ClusterOptions, meta: Meta | None, printed: Mapping[str, Any]
) -> str:
    """Why the live index cannot take an update (empty: it can)."""
    if meta is None:
        return "the live index is unfinished or of another layout"
    if mapping_layout(client, options, meta.index) != docs.LAYOUT:
        return f"index {meta.index} has the mapping of another version"
    if dict(meta.fingerprint) != dict(printed):
        changed = sorted(
            key
            for key in {*meta.fingerprint, *printed}
            if meta.fingerprint.get(key) != printed.get(key)
        )
        return f"made under other rules or settings: {', '.join(changed)}"
    return ""


def _rebuild(
    folder: Path,
    engine: EngineOptions,
    client: OpenSearch,
    options: ClusterOptions,
    tokenizer: Tokenizer,
    printed: Mapping[str, Any],
    why: str,
    progress: Progress | None,
    write_progress: WriteProgress | None,
) -> Synced:
    """Read, prepare and write the whole folder into a new index, then swap the alias."""
    scanned = scan_folder(folder)
    hashes = file_hashes(folder, scanned)
    raw, failed = read_files(folder, sorted(hashes), engine.ingest.max_article_bytes)
    splitter = SentenceSplitter.train(a.text for a in raw)
    workers = workers_for(engine.ingest.workers)
    prepared = prepare_table(raw, splitter, tokenizer, progress, workers)
    errors = [*failed, *prepared.failed]
    log.info("rebuilding the OpenSearch index", extra={"reason": why})
    written = rebuild(
        client,
        options,
        prepared.table,
        {
            "fingerprint": dict(printed),
            "punkt": punkt_json(splitter.params),
            "errors": _error_records(errors, hashes),
        },
        hashes,
        engine.bm25.k1,
        engine.bm25.b,
        progress=write_progress,
        threads=min(2, workers),
    )
    answers = ClusterEngine(client, options, engine, tokenizer, written.meta)
    reason = "" if why == "asked for" else why
    return Synced(answers, "built", ArticleChanges((), (), ()), written.index,
                  written.bulk, reason)  # fmt: skip


def _update(
    folder: Path,
    engine: EngineOptions,
    client: OpenSearch,
    options: ClusterOptions,
    tokenizer: Tokenizer,
    meta: Meta,
    progress: Progress | None,
    only: Iterable[str] | None,
    write_progress: WriteProgress | None,
) -> Synced:
    """Apply the folder's changes (or those of ``only``) to the live index."""
    scanned = scan_folder(folder)
    wanted = None if only is None else set(only) | set(meta.pending)
    if wanted is not None:
        scanned = {key: stamp for key, stamp in scanned.items() if key in wanted}
    hashes = file_hashes(folder, scanned)
    listing = _listing(client, options, meta.index, wanted)
    known = {
        source_id: items[0].file_sha256 or ""
        for source_id, items in listing.items()
        if len(items) == 1
    }
    known.update({e["path"]: e.get("sha256", "") for e in meta.errors if "path" in e})
    if wanted is not None:
        known = {key: value for key, value in known.items() if key in wanted}
    changes = article_changes(known, hashes)
    # An update that died half-way, or an article written twice: do it again.
    again = {*meta.pending, *(key for key, items in listing.items() if len(items) > 1)}
    again &= set(hashes)
    changed = tuple(sorted({*changes.changed, *(again - set(changes.added))}))
    changes = ArticleChanges(changes.added, changes.removed, changed)
    answers = ClusterEngine(client, options, engine, tokenizer, meta)
    if not changes and not meta.pending:
        return Synced(answers, "loaded", changes, meta.index)
    ids = sorted({*changes.added, *changes.changed})
    raw, failed = read_files(folder, ids, engine.ingest.max_article_bytes)
    splitter = SentenceSplitter(punkt_of(meta.punkt))
    prepared = prepare_table(raw, splitter, tokenizer, progress, workers_for(engine.ingest.workers))
    new_errors = [*failed, *prepared.failed]
    unreadable = {error.path for error in new_errors}
    errors = _errors_after(
        meta, new_errors, hashes, {*ids, *changes.removed}, known.keys() | hashes.keys(), wanted
    )
    removed = [*changes.removed, *(key for key in unreadable if key in listing)]
    written = apply(
        client, options, meta, prepared.table, removed, listing, hashes, errors, write_progress
    )
    answers = ClusterEngine(client, options, engine, tokenizer, written.meta)
    log.info(
        "OpenSearch index updated",
        extra={
            "added": len(changes.added),
            "changed": len(changes.changed),
            "removed": len(changes.removed),
        },
    )
    return Synced(answers, "updated", changes, written.index, written.bulk)


def _errors_after(
    meta: Meta,
    new_errors: Iterable[LoadError],
    hashes: Mapping[str, str],
    touched: set[str],
    present: set[str],
    wanted: set[str] | None,
) -> list[dict[str, str]]:
    """The unreadable files after an update: the new ones, and each earlier one still so.

    An earlier one stays if this update did not look at it (not ``wanted``), or looked
    and found it unchanged (still ``present``, not ``touched``).
    """

    def still_unreadable(error: Mapping[str, str]) -> bool:
        path = error.get("path")
        if path in touched:
            return False
        return path in present or (wanted is not None and path not in wanted)

    kept = [e for e in meta.errors if still_unreadable(e)]
    return sorted([*kept, *_error_records(new_errors, hashes)], key=lambda e: str(e.get("path")))


def file_hashes(folder: Path, scanned: Mapping[str, FileStamp]) -> dict[str, str]:
    """The sha256 of each scanned file that still exists."""
    hashes: dict[str, str] = {}
    for source_id in scanned:
        try:
            hashes[source_id] = file_digest(folder / source_id)
        except OSError:
            continue  # deleted meanwhile: it is simply not there
    return hashes


def _listing(
    client: OpenSearch, options: ClusterOptions, index: str, wanted: set[str] | None
) -> dict[str, list[IndexedArticle]]:
    """The index's articles, all of them or those of ``wanted`` ids."""
    if wanted is None:
        return list_articles(client, options, index)
    found: dict[str, list[IndexedArticle]] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        result = guarded(
            options,
            "listing articles",
            lambda part=part: client.search(
                index=index,
                body={
                    "size": 10 * len(part),
                    "query": {
                        "bool": {
                            "filter": [{"term": {"kind": "a"}}, {"terms": {"article_id": part}}]
                        }
                    },
                    "_source": ["article_id", "article", "digest", "file_sha256", "sentences"],
                },
            ),
        )  # fmt: skip
        for hit in result["hits"]["hits"]:
            s = hit["_source"]
            item = IndexedArticle(
                s["article_id"], s["article"], s["digest"], s.get("file_sha256"),
                int(s["sentences"]),
            )  # fmt: skip
            found.setdefault(item.article_id, []).append(item)
    return found


def _error_records(errors: Iterable[LoadError], hashes: Mapping[str, str]) -> list[dict[str, str]]:
    return [
        {"path": e.path, "reason": e.reason, "sha256": hashes.get(e.path, "")}
        for e in sorted(errors, key=lambda e: e.path)
    ]
