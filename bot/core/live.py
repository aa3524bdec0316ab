"""A corpus folder kept in step with the engine that answers from it.

The folder is polled (a stat per file, no extra dependency, works the same on
every file system and in containers): a file counts as changed once its size
and modification time have stopped moving for one settle period, so a file
still being written is never read half-way. Changed files are reprocessed
alone (``Engine.with_changes``) and the new engine replaces the old one in a
single reference swap; questions already running finish on the old engine.

With ``settings.use_saved_index`` the engine comes from the saved index
(``bot.core.index``), brought up to date by content hash at start-up, and
every applied change is saved again, so the next start loads rather than builds.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.core import index
from bot.core.corpus import (
    FileStamp,
    LoadError,
    RawArticle,
    read_one,
    require_folder,
    scan_folder,
)
from bot.core.document import digest_of
from bot.core.engine import Engine, Progress
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CorpusChange:
    """What one rescan changed, by article id, and the files it could not read."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    failed: tuple[LoadError, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.failed)

    def summary(self) -> str:
        """One line for a person: "2 added, 1 changed, 0 removed, 1 unreadable"."""
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {len(self.failed)} unreadable"
        )


@dataclass
class _Pending:
    stat: FileStamp
    since: float


@dataclass
class LiveCorpus:
    """Owns the engine for a folder and updates it when the folder changes."""

    folder: Path
    settings: Settings
    settle_seconds: float = 1.0
    _engine: Engine = field(init=False)
    _seen: dict[str, FileStamp] = field(init=False, default_factory=dict)
    _errors: dict[str, LoadError] = field(init=False, default_factory=dict)
    _pending: dict[str, _Pending] = field(init=False, default_factory=dict)
    _files: index.FolderFiles = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    @classmethod
    def load(
        cls,
        folder: Path,
        settings: Settings,
        progress: Progress | None = None,
        settle_seconds: float = 1.0,
    ) -> LiveCorpus:
        """Load the folder's saved index (updated to the files as they are) or build it."""
        live = cls(folder, settings, settle_seconds)
        stats = live._stats()  # before hashing: a later edit is seen as a change
        opened = index.open_engine(folder, settings, progress)
        live._engine = opened.engine
        live._files = index.FolderFiles(dict(opened.files.hashes), dict(opened.files.stamps))
        live._errors = {error.path: error for error in opened.engine.errors}
        live._seen = {key: stat for key, stat in stats.items() if key in opened.files.hashes}
        return live

    @property
    def engine(self) -> Engine:
        """The engine answering now (read it once per question)."""
        return self._engine

    @property
    def errors(self) -> tuple[LoadError, ...]:
        """Files that could not be read as they stand now, and why."""
        return tuple(self._errors[key] for key in sorted(self._errors))

    def rescan(self) -> CorpusChange:
        """Apply every change now, settled or not (an explicit reload)."""
        with self._lock:
            stats = self._stats()
            self._forget_vanished(stats)
            ready = {key for key, stat in stats.items() if self._seen.get(key) != stat}
            return self._apply(stats, ready)

    def poll(self, now: float | None = None) -> CorpusChange:
        """Apply the changes that have settled; remember the ones still moving."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stats = self._stats()
            self._forget_vanished(stats)
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

    def _forget_vanished(self, stats: dict[str, FileStamp]) -> None:
        """Drop pending files deleted before they settled, or each would be kept forever."""
        for key in self._pending.keys() - stats.keys():
            del self._pending[key]

    def _apply(self, stats: dict[str, FileStamp], ready: set[str]) -> CorpusChange:
        """Apply the ``ready`` files and the deleted ones, all or nothing.

        The folder state (seen stamps, hashes, errors) is committed only once the new
        engine exists: if anything fails on the way, every file stays pending and the
        next poll tries again, so no file is ever marked seen without being applied.
        """
        removed = sorted(key for key in self._seen if key not in stats)
        if not ready and not removed:
            return CorpusChange()
        known = self._engine.digests()
        files = index.FolderFiles(dict(self._files.hashes), dict(self._files.stamps))
        errors = dict(self._errors)
        upserts: list[RawArticle] = []
        added, changed, failed = [], [], []
        now = time.time_ns()
        for key in sorted(ready):
            # Hashed before it is read, as hash_files explains.
            index.record_file(files, self.folder, key, stats[key], now)
            item = read_one(self.folder, key, self.settings.max_article_bytes)
            if isinstance(item, LoadError):
                if errors.get(key) != item:  # once per version of the file
                    log.warning("skipped %s: %s", key, item.reason, extra={"file": key})
                errors[key] = item
                failed.append(item)
                if key in known:
                    removed.append(key)
                continue
            errors.pop(key, None)
            if known.get(key) == digest_of(item):
                continue
            (changed if key in known else added).append(key)
            upserts.append(item)
        for key in removed:
            errors.pop(key, None)
            files.hashes.pop(key, None)
            files.stamps.pop(key, None)
        gone = [key for key in removed if key in known]
        change = CorpusChange(tuple(added), tuple(changed), tuple(gone), tuple(failed))
        engine = self._engine
        if upserts or gone or failed:
            engine = engine.with_changes(upserts, gone, [errors[key] for key in sorted(errors)])
            errors.update((error.path, error) for error in engine.errors)  # failed to prepare
        # Commit: the engine, then what it reflects.
        self._engine, self._files, self._errors = engine, files, errors
        for key in ready:
            self._pending.pop(key, None)
            self._seen[key] = stats[key]
        for key in removed:
            self._seen.pop(key, None)
        if change and self.settings.use_saved_index:
            index.save_quietly(self.folder, self.settings, self._engine, self._files)
        if change:
            log.info("corpus updated", extra={"change": change.summary()})
        return change

    def _stats(self) -> dict[str, FileStamp]:
        return scan_folder(require_folder(self.folder))


class Watcher:
    """Polls a live corpus on a background thread until stopped."""

    def __init__(self, corpus: LiveCorpus, interval: float = 1.0) -> None:
        self.corpus = corpus
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="corpus-watcher", daemon=True)

    def start(self) -> Watcher:
        """Begin polling; returns itself so it can be used in a ``with`` block."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling and wait for the thread to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.corpus.poll()
            except Exception:  # keep serving the last good engine whatever went wrong
                log.exception("corpus watch failed; will try again")
