"""The saved index of a corpus folder: open it (loaded, brought up to date, or built), save it.

Layout: one ``bundle`` (numpy arrays and a JSON header, never pickle) per corpus
folder, at ``<data_dir>/<folder name>-<hash of its resolved path>.nqi``; what its
arrays mean is ``encoding``'s, how a folder's changes are found is ``changes``'.

Opening loads the bundle while the folder is scanned, hashes the files its stamps
do not vouch for, and applies the added, changed and removed files with
``apply_changes`` (``Engine.with_changes``: only those files are processed again).
A different format version, tokenizer rule version or any setting that shapes the
stored data means a full rebuild. A live corpus applies what its watcher finds
with the same ``apply_changes``, and saves after each change.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from bot.core.answer.engine import Engine, Progress
from bot.core.index import bundle as store
from bot.core.index.changes import (
    ArticleChanges,
    CorpusChange,
    FolderFiles,
    article_changes,
    hash_files,
    settle,
    stamps_worth_saving,
)
from bot.core.index.encoding import fingerprint, from_bundle, saved_files, to_bundle
from bot.core.index.tokenize import Tokenizer, load_aliases
from bot.core.ingest.document import digest_of
from bot.core.ingest.files import FileStamp, read_one, require_folder, scan_folder
from bot.core.ingest.raw import LoadError, RawArticle
from bot.core.options import CoreOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Opened:
    """An engine for a folder, the files it reflects, and how it was obtained."""

    engine: Engine
    files: FolderFiles
    status: str  # "built", "loaded" or "updated"
    changes: ArticleChanges
    # Why the index could not be saved (the old one, if any, stays); None when saved or unneeded.
    save_error: str | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """An engine with files applied, what that changed, and every file unreadable after it."""

    engine: Engine
    change: CorpusChange
    errors: dict[str, LoadError]


# --------------------------------------------------------------------- where


def index_name(folder: Path) -> str:
    """The bundle name for a corpus folder: readable, and unique per resolved path."""
    resolved = folder.resolve()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", resolved.name).strip("-")[:40] or "corpus"
    return f"{slug}-{hashlib.sha256(str(resolved).encode('utf-8')).hexdigest()[:12]}"


def index_file(folder: Path, options: CoreOptions) -> Path:
    """Where the saved index of ``folder`` lives."""
    return store.bundle_path(options.store.data_dir, index_name(folder))


# --------------------------------------------------------------------- open


def open_engine(
    folder: Path,
    options: CoreOptions,
    progress: Progress | None = None,
    rebuild: bool = False,
) -> Opened:
    """The engine for ``folder``: the saved index, brought up to date, or a fresh build.

    Without ``options.store.use_saved_index`` nothing is read or written: a fresh build.
    """
    tokenizer = Tokenizer(aliases=load_aliases(options.engine.ingest.aliases_file))
    use = options.store.use_saved_index
    require_folder(folder)
    loaded: tuple[Engine, FolderFiles] | None = None
    # The folder scan mostly waits on the file system; the index loads meanwhile.
    with ThreadPoolExecutor(1, thread_name_prefix="folder-scan") as pool:
        scanning = pool.submit(scan_folder, folder)
        if use and not rebuild:
            loaded = _load(folder, options, tokenizer)
        scanned = scanning.result()
    files = hash_files(folder, loaded[1] if loaded else None, scanned)
    if loaded is None:
        engine = Engine.from_files(folder, sorted(files.hashes), options.engine, progress)
        failed = None
        if use:
            settle(folder, files, scanned)
            failed = save_quietly(folder, options, engine, files)
        return Opened(engine, files, "built", ArticleChanges((), (), ()), failed)
    log.info("loaded index", extra={"file": str(index_file(folder, options))})
    return _brought_up_to_date(folder, options, *loaded, files, scanned, progress)


def _load(
    folder: Path, options: CoreOptions, tokenizer: Tokenizer
) -> tuple[Engine, FolderFiles] | None:
    """The saved engine of ``folder`` and the files it reflects; None when there is none to use."""
    bundle = store.load(
        options.store.data_dir, fingerprint(tokenizer, options.engine), index_name(folder)
    )
    if bundle is None:
        return None
    try:
        saved = saved_files(bundle)
        return from_bundle(bundle, options.engine, tokenizer), saved
    except Exception as exc:  # a file that passed the bundle's checks but does not fit
        reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        log.warning("saved index for %s is damaged (%s); rebuilding", folder, reason)
        return None


def _brought_up_to_date(
    folder: Path,
    options: CoreOptions,
    engine: Engine,
    saved: FolderFiles,
    files: FolderFiles,
    scanned: Mapping[str, FileStamp],
    progress: Progress | None,
) -> Opened:
    """A loaded engine with the folder's changes since it was saved applied, and saved."""
    changes = article_changes(saved.hashes, files.hashes)
    if not changes:
        failed = None
        if stamps_worth_saving(files, saved):
            failed = save_quietly(folder, options, engine, files)  # the next start reads less
        return Opened(engine, files, "loaded", changes, failed)
    known = {error.path: error for error in engine.errors}
    applied = apply_changes(
        folder,
        engine,
        changes.added + changes.changed,
        changes.removed,
        known,
        options.engine.ingest.max_article_bytes,
        progress=progress,
    )
    settle(folder, files, scanned)
    failed = save_quietly(folder, options, applied.engine, files)
    log.info(
        "index updated",
        extra={
            "added": len(changes.added),
            "changed": len(changes.changed),
            "removed": len(changes.removed),
        },
    )
    return Opened(applied.engine, files, "updated", changes, failed)


# --------------------------------------------------------------------- update


def apply_changes(
    folder: Path,
    engine: Engine,
    reread: Iterable[str],
    removed: Iterable[str],
    errors: Mapping[str, LoadError],
    max_bytes: int,
    reported: Mapping[str, LoadError] | None = None,
    progress: Progress | None = None,
) -> Applied:
    """``engine`` with the ``reread`` files read again and the ``removed`` ones dropped.

    ``errors``: every file unreadable before (by id). A file that now fails leaves the
    engine, and one whose content is what the engine holds already is not processed
    again, so touching a file changes nothing. ``reported``: failures the operator has
    been told already (not logged again). A new engine is made only when the articles or
    the unreadable files differ; otherwise ``engine`` itself comes back.
    """
    known = engine.digests()
    errors = dict(errors)
    upserts: list[RawArticle] = []
    added, changed, failed, broken = [], [], [], []
    told = reported or {}
    for key in sorted(reread):
        item = read_one(folder, key, max_bytes, told.get(key))
        if isinstance(item, LoadError):
            errors[key] = item
            failed.append(item)
            if key in known:
                broken.append(key)
        else:
            errors.pop(key, None)
            if known.get(key) != digest_of(item):
                (changed if key in known else added).append(key)
                upserts.append(item)
    deleted = sorted(removed)
    for key in deleted:
        errors.pop(key, None)
    gone = [key for key in deleted if key in known] + broken
    change = CorpusChange(tuple(added), tuple(changed), tuple(gone), tuple(failed))
    listed = [errors[key] for key in sorted(errors)]
    if not (upserts or gone or failed) and listed == list(engine.errors):
        return Applied(engine, change, errors)
    engine = engine.with_changes(upserts, gone, listed, progress)
    errors.update((error.path, error) for error in engine.errors)  # failed to prepare
    return Applied(engine, change, errors)


# --------------------------------------------------------------------- save


def save_engine(folder: Path, options: CoreOptions, engine: Engine, files: FolderFiles) -> Path:
    """Save ``engine`` as the index of ``folder`` (atomically); returns the file.

    Then drops the saved indexes of folders that no longer exist, and the least
    recently used beyond ``max_saved_indexes``: every ``--corpus`` folder ever asked
    would otherwise leave its index behind for good.
    """
    bundle = to_bundle(engine, files, fingerprint(engine.tokenizer, options.engine), folder)
    path = store.save(options.store.data_dir, bundle, index_name(folder))
    prune_indexes(
        options.store.data_dir, keep=index_name(folder), limit=options.store.max_saved_indexes
    )
    return path


def save_quietly(
    folder: Path, options: CoreOptions, engine: Engine, files: FolderFiles
) -> str | None:
    """Save, or say in one line why not (the engine in hand still answers); the reason, if any."""
    try:
        save_engine(folder, options, engine, files)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        log.warning(
            "could not save the index of %s to %s (%s); the previous one, if any, is kept",
            folder,
            options.store.data_dir,
            reason,
        )
        return reason
    return None


def prune_indexes(data_dir: Path, keep: str, limit: int) -> list[str]:
    """Delete saved indexes whose corpus folder is gone, then the oldest past ``limit``.

    "Oldest" is by last use (``store.last_used``). Only bundles that record
    their folder (this layout's) are considered; ``keep`` is never deleted.
    Returns the names deleted.
    """
    gone, alive = [], []
    for name, meta in store.saved_meta(data_dir).items():
        folder = meta.get("folder")
        if name == keep or not isinstance(folder, str):
            continue
        if not Path(folder).is_dir():
            gone.append(name)
            continue
        with suppress(OSError):  # deleted meanwhile
            alive.append((store.last_used(data_dir, name), name))
    alive.sort()  # least recently used first; ``keep`` counts towards the limit
    doomed = gone + [name for _, name in alive[: max(0, len(alive) + 1 - limit)]]
    for name in doomed:
        try:
            store.remove(data_dir, name)
        except OSError as exc:
            log.warning("could not delete the unused index %s (%s)", name, exc.strerror or exc)
            continue
        log.info("deleted an unused saved index", extra={"file": name})
    return doomed


def describe(opened: Opened) -> str:
    """One line for a person: what ``open_engine`` did, and whether it could save."""
    engine = opened.engine
    size = f"{engine.article_count} articles, {engine.sentence_count} sentences"
    if opened.status == "updated":
        what = f"index updated ({opened.changes.counted()})"
    else:
        what = "index up to date" if opened.status == "loaded" else f"index {opened.status}"
    unsaved = "" if opened.save_error is None else f" (not saved: {opened.save_error})"
    return f"{what}: {size}{unsaved}"
