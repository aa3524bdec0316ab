"""The folder the REPL and the Discord worker watch, kept in step with the cluster.

``ClusterCorpus`` is ``LiveCorpus``'s counterpart on the OpenSearch backend: it polls
the folder the same way (a change counts once a file has kept still for the settle
period) and writes settled changes to the cluster with ``sync_folder``. When the cluster
cannot be reached it keeps the changes pending and tries again at the next poll;
questions are answered meanwhile with a one-line reason, and again once it is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from opensearchpy import OpenSearch

from bot.core.corpus.settling import SettlingFolder
from bot.core.index.changes import CorpusChange
from bot.core.index.tokenize import Tokenizer, load_aliases
from bot.core.ingest.files import FileStamp, require_folder, scan_folder
from bot.core.ingest.options import Progress
from bot.core.ingest.raw import LoadError
from bot.core.options import CoreOptions
from bot.core.search.client import ClusterError, make_client
from bot.core.search.live import Synced, cluster_of, sync_folder
from bot.core.search.searcher import ClusterEngine

log = logging.getLogger(__name__)


@dataclass
class ClusterCorpus(SettlingFolder):
    """A folder whose settled changes are written to the cluster (see the module's docs)."""

    _engine: ClusterEngine = field(init=False)
    _synced: bool = field(init=False, default=False)
    _client: OpenSearch = field(init=False)

    @classmethod
    def load(
        cls,
        folder: Path,
        options: CoreOptions,
        progress: Progress | None = None,
        settle_seconds: float = 1.0,
        wait: bool = False,
    ) -> ClusterCorpus:
        """Sync the folder into the cluster and start from there.

        With ``wait`` (the Discord worker) a cluster that cannot be reached is not an
        error: questions get a one-line reason, and each poll tries the sync again.
        Without it, ``ClusterError`` says in one line what is wrong.
        """
        corpus = cls(folder, options, settle_seconds)
        cluster = cluster_of(options)
        corpus._client = make_client(cluster)
        stats = scan_folder(require_folder(folder))
        try:
            synced = corpus._sync(None, progress)
        except ClusterError as exc:
            if not wait:
                raise
            log.warning("OpenSearch is not usable yet (%s); will keep trying", exc)
            engine = options.engine
            tokenizer = Tokenizer(aliases=load_aliases(engine.ingest.aliases_file))
            corpus._engine = ClusterEngine(corpus._client, cluster, engine, tokenizer, None)
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

    def _sync(self, only: set[str] | None, progress: Progress | None = None) -> Synced:
        return sync_folder(self.folder, self.options, progress, client=self._client, only=only)

    def _apply(self, stats: dict[str, FileStamp], ready: set[str]) -> CorpusChange:
        """Write the ready and deleted files to the cluster; on failure all stays pending."""
        removed = {key for key in self._seen if key not in stats}
        if self._synced and not ready and not removed:
            return CorpusChange()
        synced = self._sync(None if not self._synced else ready | removed)
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
