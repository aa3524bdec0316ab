"""A corpus folder kept in step with the engine that answers from it.

The folder is polled (a stat per file, no extra dependency, works the same on
every file system and in containers): a file counts as changed once its size
and modification time have stopped moving for one settle period, so a file
still being written is never read half-way. Changed files are reprocessed
alone (``saved.apply_changes``, the same update a start applies) and the new
engine replaces the old one in a single reference swap; questions already
running finish on the old engine.

With ``options.store.use_saved_index`` the engine comes from the saved index
(``bot.core.index.saved``), brought up to date by content hash at start-up, and
every applied change is saved again, so the next start loads rather than builds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.answer.engine import Engine, Progress
from bot.core.background import Repeating
from bot.core.corpus.settling import SettlingFolder
from bot.core.index import saved as index
from bot.core.index.changes import CorpusChange, FolderFiles, record_file
from bot.core.ingest.files import FileStamp
from bot.core.ingest.raw import LoadError
from bot.core.options import CoreOptions

log = logging.getLogger(__name__)


@dataclass
class LiveCorpus(SettlingFolder):
    """Owns the engine for a folder and updates it when the folder changes."""

    _engine: Engine = field(init=False)
    _errors: dict[str, LoadError] = field(init=False, default_factory=dict)
    _files: FolderFiles = field(init=False)

    @classmethod
    def load(
        cls,
        folder: Path,
        options: CoreOptions,
        progress: Progress | None = None,
        settle_seconds: float = 1.0,
    ) -> LiveCorpus:
        """Load the folder's saved index (updated to the files as they are) or build it."""
        live = cls(folder, options, settle_seconds)
        stats = live._stats()  # before hashing: a later edit is seen as a change
        opened = index.open_engine(folder, options, progress)
        live._engine = opened.engine
        live._files = opened.files.copy()
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

    def _apply(self, stats: dict[str, FileStamp], ready: set[str]) -> CorpusChange:
        """Apply the ``ready`` files and the deleted ones, all or nothing.

        The folder state (seen stamps, hashes, errors) is committed only once the new
        engine exists: if anything fails on the way, every file stays pending and the
        next poll tries again, so no file is ever marked seen without being applied.
        """
        removed = sorted(key for key in self._seen if key not in stats)
        if not ready and not removed:
            return CorpusChange()
        files = self._files.copy()
        now = time.time_ns()
        for key in sorted(ready):
            # Hashed before it is read, as ``hash_files`` explains.
            record_file(files, self.folder, key, stats[key], now)
        for key in removed:
            files.forget(key)
        applied = index.apply_changes(
            self.folder,
            self._engine,
            ready,
            removed,
            self._errors,
            self.options.engine.ingest.max_article_bytes,
            reported=self._errors,  # each told once per version of the file
        )
        # Commit: the engine, then what it reflects.
        self._engine, self._files, self._errors = applied.engine, files, applied.errors
        for key in ready:
            self._pending.pop(key, None)
            self._seen[key] = stats[key]
        for key in removed:
            self._seen.pop(key, None)
        change = applied.change
        if change and self.options.store.use_saved_index:
            index.save_quietly(self.folder, self.options, self._engine, self._files)
        if change:
            log.info("corpus updated", extra={"change": change.summary()})
        return change


class Watcher(Repeating):
    """Polls a live corpus on a background thread until stopped."""

    name = "corpus-watcher"
    failure = "corpus watch failed; will try again"  # the last good engine keeps serving

    def __init__(self, corpus: SettlingFolder, interval: float = 1.0) -> None:
        super().__init__(interval)
        self.corpus = corpus
        self.interval = interval

    def step(self) -> None:
        """Apply the folder's settled changes."""
        self.corpus.poll()
