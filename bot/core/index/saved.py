"""The saved index of a corpus folder: open it (loaded, brought up to date, or built), save it.

Layout: one ``bundle`` (numpy arrays and a JSON header, never pickle) per corpus
folder, at ``<data_dir>/<folder name>-<hash of its resolved path>.nqi``; what its
arrays mean is ``encoding``'s, how a folder's changes are found is ``changes``'.

Opening loads the bundle while a child process lists the folder (``stamp_lister``);
when every file's stamp is the one saved with its hash, that is all. Otherwise it
hashes the files the stamps do not vouch for, and applies the added, changed and removed files with
``apply_changes`` (``Engine.with_changes``: only those files are processed again).
A different format version, tokenizer rule version or any setting that shapes the
stored data means a full rebuild. A live corpus applies what its watcher finds
with the same ``apply_changes``, and saves after each change.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bot.core.answer.engine import Engine, Progress
from bot.core.index import bundle as store
from bot.core.index.bundle import Bundle
from bot.core.index.changes import (
    ArticleChanges,
    CorpusChange,
    FolderFiles,
    article_changes,
    hash_files,
    settle,
    stamps_worth_saving,
)
from bot.core.index.encoding import (
    fingerprint,
    from_bundle,
    saved_files,
    to_bundle,
    vouched_listing,
)
from bot.core.index.tokenize import Tokenizer, load_aliases
from bot.core.ingest import stamp_lister
from bot.core.ingest.files import (
    SCANNED_SUFFIXES,
    FileStamp,
    read_one,
    require_folder,
    stamps_of,
)
from bot.core.ingest.raw import LoadError, RawArticle
from bot.core.options import CoreOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    """An engine for a folder, the files it reflects, and how it was obtained.

    ``known`` gives those files (made when first asked: a one-shot ``ask`` never
    needs the per-file hashes and stamps of an unchanged folder, only to know that
    it is unchanged).
    """

    engine: Engine
    known: Callable[[], FolderFiles]
    status: str  # "built", "loaded" or "updated"
    changes: ArticleChanges
    # Why the index could not be saved (the old one, if any, stays); None when saved or unneeded.
    save_error: str | None = None

    @cached_property
    def files(self) -> FolderFiles:
        """The files the engine reflects: content hashes, and the stamps that vouch for them."""
        return self.known()


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
    require_folder(folder)
    # Checking the stamps means a stat of every file, as long as the index load at 50,000
    # files: a child process lists the folder on the other core while the index loads.
    listing = stamp_lister.start(folder, SCANNED_SUFFIXES)
    tokenizer = Tokenizer(aliases=load_aliases(options.engine.ingest.aliases_file))
    use = options.store.use_saved_index
    loaded: tuple[Engine, Bundle] | None = None
    if use and not rebuild:
        loaded = _load(folder, options, tokenizer)
    ids, raw_stamps = listing()
    saved: FolderFiles | None = None
    if loaded is not None:
        engine, bundle = loaded
        if vouched_listing(bundle, ids, raw_stamps):  # the usual start: nothing changed
            log.info("loaded index", extra={"file": str(index_file(folder, options))})
            return Opened(engine, lambda: saved_files(bundle), "loaded", ArticleChanges((), (), ()))
        saved = _saved_files(folder, bundle)
    scanned = stamps_of(ids, raw_stamps)
    if loaded is None or saved is None:
        files = FolderFiles({}, {})

        def hashed() -> list[str]:  # while Punkt learns: the files to index are those hashed
            nonlocal files
            files = hash_files(folder, None, scanned)
            return sorted(files.hashes)

        engine = Engine.from_files(folder, sorted(scanned), options.engine, progress, hashed)
        failed = None
        if use:
            settle(folder, files, scanned)
            failed = save_quietly(folder, options, engine, files)
        return Opened(engine, lambda: files, "built", ArticleChanges((), (), ()), failed)
    files = hash_files(folder, saved, scanned)
    log.info("loaded index", extra={"file": str(index_file(folder, options))})
    return _brought_up_to_date(folder, options, loaded[0], saved, files, scanned, progress)


def _load(folder: Path, options: CoreOptions, tokenizer: Tokenizer) -> tuple[Engine, Bundle] | None:
    """The saved engine of ``folder`` and its bundle; None when there is none to use.

    The engine is made from the arrays while their CRCs are checked (``load_using``).
    """
    printed, name = fingerprint(tokenizer, options.engine), index_name(folder)
    try:
        return store.load_using(
            options.store.data_dir,
            printed,
            name,
            lambda bundle: from_bundle(bundle, options.engine, tokenizer),
        )
    except Exception as exc:  # a file that passed the bundle's checks but does not fit
        _damaged(folder, exc)
        return None


def _saved_files(folder: Path, bundle: Bundle) -> FolderFiles | None:
    """The hashes and stamps a bundle was saved with; None when they do not fit (rebuild)."""
    try:
        return saved_files(bundle)
    except Exception as exc:
        _damaged(folder, exc)
        return None


def _damaged(folder: Path, exc: Exception) -> None:
    reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
    log.warning("saved index for %s is damaged (%s); rebuilding", folder, reason)


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
        return Opened(engine, lambda: files, "loaded", changes, failed)
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
    return Opened(applied.engine, lambda: files, "updated", changes, failed)


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
    from bot.core.ingest.document import digest_of  # applying only: an unchanged start has none

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
