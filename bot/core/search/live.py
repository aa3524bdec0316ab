"""A corpus folder kept in step with the cluster, by article id.

``sync_folder`` is what ``index``, ``index --update``, ``add`` and ``remove`` run on this
backend: the folder is the truth, as for the embedded index. Each file's sha256 is
compared with the one its article document (or, for an unreadable file, the meta
document) records; added and changed files are read, prepared with the index's own
Punkt parameters and written, removed ones deleted. Anything that makes the live index
unusable as it is (none yet, unfinished, another layout or rule set, a mapping of an
older version) means a full rebuild into a new index, and so does ``rebuild=True``
(``index``, which also retrains Punkt): the live index is never written to then.

``ClusterCorpus`` is ``LiveCorpus``'s counterpart for the REPL and the Discord worker:
it polls the folder the same way (a change counts once a file has kept still for the
settle period) and applies settled changes to the cluster. When the cluster cannot be
reached it keeps the changes pending and tries again at the next poll; questions are
answered meanwhile with a one-line reason, and normally again once the cluster is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opensearchpy import OpenSearch

from bot.core.index import bundle as store
from bot.core.index.tokenize import TOKENIZER_VERSION, Tokenizer, load_aliases
from bot.core.ingest.files import FileStamp, LoadError, read_files, require_folder, scan_folder
from bot.core.ingest.prepare import Progress, prepare_table, workers_for
from bot.core.ingest.sentences import TRAINING_CHARS, SentenceSplitter, curated_abbreviations
from bot.core.live import CorpusChange
from bot.core.search import documents as docs
from bot.core.search.client import (
    ClusterError,
    ClusterOptions,
    NoIndexError,
    guarded,
    make_client,
)
from bot.core.search.ingest import (
    BulkStats,
    IndexedArticle,
    Meta,
    WriteProgress,
    apply,
    list_articles,
    mapping_layout,
    read_meta,
    rebuild,
)
from bot.core.search.searcher import ClusterEngine, punkt_json, punkt_of
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Synced:
    """The engine after a sync, and what the sync did (``saved.Opened``'s counterpart)."""

    engine: ClusterEngine
    status: str  # "built", "loaded" or "updated"
    changes: store.ArticleChanges
    index: str
    bulk: BulkStats | None = None
    reason: str = ""  # why a rebuild happened, when it was not asked for


def fingerprint(tokenizer: Tokenizer, settings: Settings) -> dict[str, Any]:
    """Every rule version and setting that shapes the documents; any change means a rebuild.

    k1 and b are the index's similarity; epsilon only enters when a question is scored,
    so it is not part of it.
    """
    return store.tokenizer_fingerprint(
        tokenizer,
        curated_abbreviations(),
        tokenizer_version=TOKENIZER_VERSION,
        layout=docs.LAYOUT,
        punkt_training_chars=TRAINING_CHARS,
        bm25_k1=settings.bm25_k1,
        bm25_b=settings.bm25_b,
        max_article_bytes=settings.max_article_bytes,
    )


def describe(synced: Synced) -> str:
    """One line for a person: what the sync did and what the index holds."""
    engine = synced.engine
    size = f"{engine.article_count} articles, {engine.sentence_count} sentences"
    if synced.status == "updated":
        c = synced.changes
        what = (
            f"index updated ({len(c.added)} added, {len(c.changed)} changed, "
            f"{len(c.removed)} removed)"
        )
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
    settings: Settings,
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
    options = ClusterOptions.of(settings)
    client = client or make_client(options)
    tokenizer = Tokenizer(aliases=load_aliases(settings.aliases_file))
    printed = fingerprint(tokenizer, settings)
    why = "asked for" if rebuild_all else ""
    meta: Meta | None = None
    if not rebuild_all:
        try:
            meta = read_meta(client, options)
        except NoIndexError:
            why = "there was none"
        else:
            why = _unusable(client, options, meta, printed)
    if why:
        return _rebuild(folder, settings, client, options, tokenizer, printed, why, progress,
                        write_progress)  # fmt: skip
    assert meta is not None
    return _update(folder, settings, client, options, tokenizer, meta, progress, only,
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
    settings: Settings,
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
    raw, failed = read_files(folder, sorted(hashes), settings.max_article_bytes)
    splitter = SentenceSplitter.train(a.text for a in raw)
    workers = workers_for(settings.ingest_workers)
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
        settings.bm25_k1,
        settings.bm25_b,
        progress=write_progress,
        threads=min(2, workers),
    )
    engine = ClusterEngine(client, options, settings, tokenizer, written.meta)
    reason = "" if why == "asked for" else why
    return Synced(engine, "built", store.ArticleChanges((), (), ()), written.index,
                  written.bulk, reason)  # fmt: skip


def _update(
    folder: Path,
    settings: Settings,
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
    changes = store.article_changes(known, hashes)
    # An update that died half-way, or an article written twice: do it again.
    again = {*meta.pending, *(key for key, items in listing.items() if len(items) > 1)}
    again &= set(hashes)
    changed = tuple(sorted({*changes.changed, *(again - set(changes.added))}))
    changes = store.ArticleChanges(changes.added, changes.removed, changed)
    engine = ClusterEngine(client, options, settings, tokenizer, meta)
    if not changes and not meta.pending:
        return Synced(engine, "loaded", changes, meta.index)
    ids = sorted({*changes.added, *changes.changed})
    raw, failed = read_files(folder, ids, settings.max_article_bytes)
    splitter = SentenceSplitter(punkt_of(meta.punkt))
    prepared = prepare_table(
        raw, splitter, tokenizer, progress, workers_for(settings.ingest_workers)
    )
    new_errors = [*failed, *prepared.failed]
    unreadable = {error.path for error in new_errors}
    touched = {*ids, *changes.removed}
    present = known.keys() | hashes.keys()

    def still_unreadable(error: Mapping[str, str]) -> bool:
        """An unreadable file this update did not look at, or looked at and found unchanged."""
        path = error.get("path")
        if path in touched:
            return False
        return path in present or (wanted is not None and path not in wanted)

    kept = [e for e in meta.errors if still_unreadable(e)]
    errors = sorted([*kept, *_error_records(new_errors, hashes)], key=lambda e: str(e.get("path")))
    removed = [*changes.removed, *(key for key in unreadable if key in listing)]
    written = apply(
        client, options, meta, prepared.table, removed, listing, hashes, errors, write_progress
    )
    engine = ClusterEngine(client, options, settings, tokenizer, written.meta)
    log.info(
        "OpenSearch index updated",
        extra={
            "added": len(changes.added),
            "changed": len(changes.changed),
            "removed": len(changes.removed),
        },
    )
    return Synced(engine, "updated", changes, written.index, written.bulk)


def file_hashes(folder: Path, scanned: Mapping[str, FileStamp]) -> dict[str, str]:
    """The sha256 of each scanned file that still exists."""
    hashes: dict[str, str] = {}
    for source_id in scanned:
        try:
            hashes[source_id] = store.file_digest(folder / source_id)
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


# --------------------------------------------------------------------- the watched corpus


@dataclass
class _Pending:
    stat: FileStamp
    since: float


@dataclass
class ClusterCorpus:
    """A folder whose settled changes are written to the cluster (``LiveCorpus``'s counterpart)."""

    folder: Path
    settings: Settings
    settle_seconds: float = 1.0
    _engine: ClusterEngine = field(init=False)
    _seen: dict[str, FileStamp] = field(init=False, default_factory=dict)
    _pending: dict[str, _Pending] = field(init=False, default_factory=dict)
    _synced: bool = field(init=False, default=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _client: OpenSearch = field(init=False)

    @classmethod
    def load(
        cls,
        folder: Path,
        settings: Settings,
        progress: Progress | None = None,
        settle_seconds: float = 1.0,
        wait: bool = False,
    ) -> ClusterCorpus:
        """Sync the folder into the cluster and start from there.

        With ``wait`` (the Discord worker) a cluster that cannot be reached is not an
        error: questions get a one-line reason, and each poll tries the sync again.
        Without it, ``ClusterError`` says in one line what is wrong.
        """
        corpus = cls(folder, settings, settle_seconds)
        options = ClusterOptions.of(settings)
        corpus._client = make_client(options)
        stats = scan_folder(require_folder(folder))
        try:
            synced = sync_folder(folder, settings, progress, client=corpus._client)
        except ClusterError as exc:
            if not wait:
                raise
            log.warning("OpenSearch is not usable yet (%s); will keep trying", exc)
            tokenizer = Tokenizer(aliases=load_aliases(settings.aliases_file))
            corpus._engine = ClusterEngine(corpus._client, options, settings, tokenizer, None)
            return corpus
        corpus._engine = synced.engine
        corpus._seen = dict(stats)
        corpus._synced = True
        return corpus

    @property
    def engine(self) -> ClusterEngine:
        """The engine answering now."""
        return self._engine

    @property
    def errors(self) -> tuple[LoadError, ...]:
        """Files that could not be read, as the index records them."""
        return self._engine.errors

    def rescan(self) -> CorpusChange:
        """Apply every change now, settled or not."""
        with self._lock:
            stats = scan_folder(require_folder(self.folder))
            ready = {key for key, stat in stats.items() if self._seen.get(key) != stat}
            return self._apply(stats, ready)

    def poll(self, now: float | None = None) -> CorpusChange:
        """Apply the changes that have settled; remember the ones still moving."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stats = scan_folder(require_folder(self.folder))
            ready: set[str] = set()
            for key, stat in stats.items():
                if self._seen.get(key) == stat:
                    self._pending.pop(key, None)
                    continue
                pending = self._pending.get(key)
                if pending is None or pending.stat != stat:
                    self._pending[key] = _Pending(stat, now)
                elif now - pending.since >= self.settle_seconds:
                    ready.add(key)
            return self._apply(stats, ready)

    def _apply(self, stats: dict[str, FileStamp], ready: set[str]) -> CorpusChange:
        """Write the ready and deleted files to the cluster; on failure all stays pending."""
        removed = {key for key in self._seen if key not in stats}
        if self._synced and not ready and not removed:
            return CorpusChange()
        only = None if not self._synced else ready | removed
        synced = sync_folder(self.folder, self.settings, client=self._client, only=only)
        self._engine = synced.engine
        for key in ready if self._synced else stats:
            self._pending.pop(key, None)
            self._seen[key] = stats[key]
        for key in removed:
            self._seen.pop(key, None)
        self._synced = True
        c = synced.changes
        unreadable = tuple(e for e in synced.engine.errors if e.path in ready)
        change = CorpusChange(c.added, c.changed, c.removed, unreadable)
        if change:
            log.info("corpus updated", extra={"change": change.summary()})
        return change
