"""The one corpus service every door asks: a folder opened once, or watched, or an engine.

The terminal's one-shot commands open the folder for a single question or listing;
the REPL and the Discord worker watch it, so added, edited and deleted files are
answered from as they settle; tests and tools that built an engine wrap it as it is.
Whichever it is, a door asks it alike: ``ask``, ``context``, ``listing``, ``reload``.
A watched folder also follows its feeds (``bot.core.feeds``): what a poll fetches
lands in the folder and is rescanned at once.

Every method reads the current engine once, so a question that starts before the
watcher swaps engines finishes on the one it began with. Results are small frozen
dataclasses, cheap to send back from the Discord worker's scoring process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.answer.engine import ArticleInfo, Engine, Progress
from bot.core.corpus.live import LiveCorpus, Watcher
from bot.core.index.changes import CorpusChange
from bot.core.index.saved import open_engine
from bot.core.ingest.raw import LoadError
from bot.core.models import Answer, Reply
from bot.core.options import CoreOptions

if TYPE_CHECKING:  # the OpenSearch client is imported only on that backend (0.5 s)
    from bot.core.feeds.poller import FeedPoller
    from bot.core.search.searcher import ClusterEngine
    from bot.core.search.watched import ClusterCorpus

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Listed:
    """A loaded article, with its file's modification time (epoch seconds) when it has a file."""

    info: ArticleInfo
    modified: float | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """The loaded articles, newest first, and the files that could not be read."""

    articles: tuple[Listed, ...]
    unreadable: tuple[LoadError, ...] = ()


@dataclass(frozen=True, slots=True)
class Reloaded:
    """What a forced rescan changed, every file unreadable after it, and the article count."""

    change: CorpusChange
    unreadable: tuple[LoadError, ...]
    articles: int
    watching: bool


def published_at(published: str | None) -> float | None:
    """An ISO date or timestamp as epoch seconds (naive ones taken as UTC); None if not ISO."""
    if not published:
        return None
    try:
        moment = datetime.fromisoformat(published.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def newest_first(articles: Sequence[Listed]) -> tuple[Listed, ...]:
    """Newest first: by publication date where it is ISO, else by the file's date.

    Articles with neither (an engine built in memory, an odd date format and no file)
    come last, in id order.
    """

    def key(item: Listed) -> tuple[bool, float, str]:
        when = published_at(item.info.source.published)
        if when is None:
            when = item.modified
        return (when is None, -(when or 0.0), item.info.source.id)

    return tuple(sorted(articles, key=key))


class Articles:
    """A folder kept in step (``LiveCorpus``, watched unless told not to) or a fixed engine.

    Asked alike either way, so no door needs to know which it has; on the OpenSearch
    backend (``options.cluster`` set) the folder is kept in step with the cluster
    (``ClusterCorpus``) and the engine is a ``ClusterEngine``, asked the same way.
    """

    def __init__(
        self,
        source: Engine | LiveCorpus | ClusterEngine | ClusterCorpus,
        watcher: Watcher | None = None,
        poller: FeedPoller | None = None,
    ) -> None:
        self._source = source
        self._watcher = watcher
        self._poller = poller

    @classmethod
    def fixed(cls, engine: Engine) -> Articles:
        """An engine that never changes (tests and tools that built one); reload is a no-op."""
        return cls(engine)

    @classmethod
    def open(
        cls,
        options: CoreOptions,
        folder: Path | None = None,
        progress: Progress | None = None,
    ) -> Articles:
        """``folder`` (``options.corpus_dir`` by default) as it is now, for one command.

        Its saved index is brought up to date (or built) once; it is not watched, so
        ``reload`` is a no-op: a one-shot command ends before a change could matter.
        On the OpenSearch backend the cluster's index is read as it stands: asking never
        writes to a cluster others may share (``index``, ``add``, ``remove`` do).
        """
        if options.cluster is not None:
            from bot.core.search.searcher import ClusterEngine

            return cls(ClusterEngine.open(options.cluster, options.engine))
        folder = options.corpus_dir if folder is None else folder
        return cls(open_engine(folder, options, progress).engine)

    @classmethod
    def watch(
        cls,
        options: CoreOptions,
        folder: Path | None = None,
        progress: Progress | None = None,
        wait_for_cluster: bool = False,
    ) -> Articles:
        """Load ``folder`` (``options.corpus_dir`` by default) and watch it.

        A changed file is applied once it has kept still for one interval, so with the
        default ``watch_interval_seconds`` of 1 s an edit is answered from within about
        two seconds. An interval of 0 does not watch: only ``reload`` rescans. The
        feeds are followed every ``options.feeds.interval_seconds`` (0: not at all). On the
        OpenSearch backend, with ``wait_for_cluster`` (the Discord worker), a cluster that
        cannot be used at start is waited for: questions get a one-line reason, and each
        poll of the folder tries the cluster again; without it, ``ClusterError`` says why.
        """
        folder = options.corpus_dir if folder is None else folder
        interval = options.watch_interval_seconds
        settle = interval if interval > 0 else 1.0
        corpus: LiveCorpus | ClusterCorpus
        if options.cluster is not None:
            from bot.core.search.watched import ClusterCorpus

            corpus = ClusterCorpus.load(folder, options, progress, settle, wait=wait_for_cluster)
        else:
            corpus = LiveCorpus.load(folder, options, progress, settle_seconds=settle)
        watcher = Watcher(corpus, interval).start() if interval > 0 else None
        log.info(
            "corpus loaded",
            extra={"folder": str(folder), "watch_interval_seconds": interval},
        )
        # The feeds are followed here, beside the corpus, so what a poll fetches is
        # rescanned at once (and the worker's event loop never does the fetching).
        # Imported here: a one-shot command never fetches, and the HTTP, HTML and feed
        # readers take half a second to import.
        from bot.core.feeds.service import start_polling

        poller = start_polling(options, corpus.folder, lambda report: corpus.rescan())
        return cls(corpus, watcher, poller)

    def folder(self) -> Path | None:
        """The corpus folder answered from; None for an engine built in memory."""
        source = self._source
        return source.folder if _is_folder(source) else None  # type: ignore[union-attr]

    @property
    def engine(self) -> Engine | ClusterEngine:
        """The engine answering now."""
        source = self._source
        return source.engine if _is_folder(source) else source  # type: ignore[union-attr,return-value]

    @property
    def unreadable(self) -> tuple[LoadError, ...]:
        """Files that cannot be read as they stand now, and why."""
        return self._source.errors

    def ask(self, question: str, top_k: int, offset: int = 0) -> Reply:
        """``Engine.ask`` on the current engine."""
        return self.engine.ask(question, top_k, offset)

    def context(self, answer: Answer) -> tuple[str, ...]:
        """``Engine.context`` on the current engine."""
        return self.engine.context(answer)

    def sources(self) -> list[ArticleInfo]:
        """The loaded articles in id order, as the terminal lists them."""
        return self.engine.sources()

    def listing(self) -> Listing:
        """The loaded articles, newest first, and the unreadable files."""
        folder = self.folder()
        listed = [Listed(info, _modified(folder, info.source.id)) for info in self.engine.sources()]
        return Listing(newest_first(listed), self.unreadable)

    def reload(self) -> Reloaded:
        """Rescan the folder now, settled or not, and say what changed."""
        source = self._source
        change = source.rescan() if _is_folder(source) else CorpusChange()  # type: ignore[union-attr]
        articles = self.engine.article_count
        return Reloaded(change, self.unreadable, articles, self._watcher is not None)

    def close(self) -> None:
        """Stop following feeds and watching the folder (a scan in progress finishes first)."""
        if self._poller is not None:
            self._poller.stop(timeout=2.0)
            self._poller = None
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None


def _is_folder(source: object) -> bool:
    """A watched folder (``LiveCorpus`` or ``ClusterCorpus``), not a fixed engine."""
    return hasattr(source, "rescan")


def _modified(folder: Path | None, source_id: str) -> float | None:
    """The modification time of an article's file (its id is its path in the folder)."""
    if folder is None:
        return None
    try:
        return (folder / source_id).stat().st_mtime
    except OSError:  # removed since it was loaded; the watcher will drop it
        return None
