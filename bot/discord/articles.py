"""What the scorer answers from: a watched corpus folder, or an engine built in memory.

Discord-free, and the same object wherever scoring runs (the worker's child process,
or the thread of a ``ThreadScorer``). Every method reads the current engine once, so
a question that starts before the watcher swaps engines finishes on the one it began
with. Results are small frozen dataclasses, cheap to send back from a child process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.answer.engine import ArticleInfo, Engine
from bot.core.ingest.files import LoadError
from bot.core.live import CorpusChange, LiveCorpus, Watcher
from bot.core.models import Answer, Reply
from bot.settings import Settings

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
    """A ``LiveCorpus`` (watched when the settings ask) or a fixed ``Engine``, asked alike."""

    def __init__(self, source: Engine | LiveCorpus | Any, watcher: Watcher | None = None) -> None:
        self._source = source
        self._watcher = watcher

    @classmethod
    def fixed(cls, engine: Engine) -> Articles:
        """An engine that never changes (tests and tools that built one); reload is a no-op."""
        return cls(engine)

    @classmethod
    def watch(cls, settings: Settings) -> Articles:
        """Load ``settings.corpus_dir`` and, unless ``watch_interval_seconds`` is 0, watch it.

        A changed file is applied once it has kept still for one interval, so with the
        default of 1 s an edit is answered from within about two seconds.
        """
        interval = settings.watch_interval_seconds
        settle = interval if interval > 0 else 1.0
        corpus: LiveCorpus | Any
        if settings.backend == "opensearch":
            from bot.core.search.live import ClusterCorpus

            # A cluster that is down at start is waited for: the gateway stays up, questions
            # get a one-line reason, and each poll of the folder tries the cluster again.
            corpus = ClusterCorpus.load(
                settings.corpus_dir, settings, settle_seconds=settle, wait=True
            )
        else:
            corpus = LiveCorpus.load(settings.corpus_dir, settings, settle_seconds=settle)
        watcher = Watcher(corpus, interval).start() if interval > 0 else None
        log.info(
            "corpus loaded",
            extra={"folder": str(settings.corpus_dir), "watch_interval_seconds": interval},
        )
        return cls(corpus, watcher)

    @property
    def engine(self) -> Engine:
        """The engine answering now."""
        source = self._source
        return source.engine if _is_live(source) else source

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

    def listing(self) -> Listing:
        """The loaded articles, newest first, and the unreadable files."""
        folder = self._source.folder if _is_live(self._source) else None
        listed = [Listed(info, _modified(folder, info.source.id)) for info in self.engine.sources()]
        return Listing(newest_first(listed), self.unreadable)

    def reload(self) -> Reloaded:
        """Rescan the folder now, settled or not, and say what changed."""
        source = self._source
        change = source.rescan() if _is_live(source) else CorpusChange()
        articles = self.engine.article_count
        return Reloaded(change, self.unreadable, articles, self._watcher is not None)

    def close(self) -> None:
        """Stop watching the folder (waits for a scan in progress to finish)."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None


def _is_live(source: object) -> bool:
    """A watched folder (``LiveCorpus``, or the cluster's ``ClusterCorpus``), not a fixed engine."""
    return hasattr(source, "rescan")


def _modified(folder: Path | None, source_id: str) -> float | None:
    """The modification time of an article's file (its id is its path in the folder)."""
    if folder is None:
        return None
    try:
        return (folder / source_id).stat().st_mtime
    except OSError:  # removed since it was loaded; the watcher will drop it
        return None
