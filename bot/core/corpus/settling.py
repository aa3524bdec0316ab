"""The watch a corpus folder is kept in step by: a changed file is applied once it keeps still.

A file counts as changed once its size and modification time have stopped moving for
one settle period, so a file still being written is never read half-way. The embedded
corpus (``LiveCorpus``) and the cluster's (``ClusterCorpus``) share this bookkeeping
and differ only in how a set of settled and deleted files is applied (``_apply``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.index.changes import CorpusChange
from bot.core.ingest.files import FileStamp, require_folder, scan_folder
from bot.core.options import CoreOptions


@dataclass
class _Pending:
    stat: FileStamp
    since: float


@dataclass
class SettlingFolder:
    """Seen stamps and changes still moving; ``rescan`` and ``poll`` call ``_apply``."""

    folder: Path
    options: CoreOptions
    settle_seconds: float = 1.0
    _seen: dict[str, FileStamp] = field(init=False, default_factory=dict)
    _pending: dict[str, _Pending] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

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

    def _stats(self) -> dict[str, FileStamp]:
        return scan_folder(require_folder(self.folder))

    def _apply(self, stats: dict[str, FileStamp], ready: set[str]) -> CorpusChange:
        """Apply the ``ready`` files and the deleted ones (a stamp in ``_seen`` not in ``stats``)."""
        raise NotImplementedError
