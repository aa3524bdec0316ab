"""Where questions are scored: never on the event loop that carries the gateway heartbeat.

Scoring is pure Python, so in a thread it still holds the GIL the event loop needs:
under a burst of questions the loop would wait its turn on every socket call. The
worker therefore loads the corpus in one child process and scores there
(``ProcessScorer``); the loop only sends questions and receives replies, which are
small immutable dataclasses. ``ThreadScorer`` does the same job in-process for tests
and tools that already hold an ``Engine``.

Both answer with exactly what ``Engine`` returns, errors included: a ``QuestionError``
raised while scoring reaches the caller as the same exception.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

from bot.core.engine import ArticleInfo, Engine
from bot.core.models import Answer, Reply
from bot.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class Scorer:
    """Asks an ``Engine`` somewhere off the event loop; ``sources`` is read once at start."""

    def __init__(self, executor: Executor, sources: list[ArticleInfo]) -> None:
        self._executor = executor
        self.sources = sources

    def _run(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def ask(self, question: str, top_k: int, offset: int = 0) -> Reply:
        """``Engine.ask``: excerpts or a no-answer reason; raises ``QuestionError``."""
        raise NotImplementedError

    async def context(self, answer: Answer) -> tuple[str, ...]:
        """``Engine.context``: the sentences around ``answer`` in its article."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop scoring: queued questions are dropped and the thread or process ends."""
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)


class ThreadScorer(Scorer):
    """An engine in this process, asked on one thread (one: more would only queue on the GIL)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(
            ThreadPoolExecutor(1, thread_name_prefix="newsquote-scoring"), engine.sources()
        )
        self.engine = engine

    async def ask(self, question: str, top_k: int, offset: int = 0) -> Reply:
        """``Engine.ask`` on the scoring thread."""
        return await self._run(self.engine.ask, question, top_k, offset)

    async def context(self, answer: Answer) -> tuple[str, ...]:
        """``Engine.context`` on the scoring thread."""
        return await self._run(self.engine.context, answer)


class ProcessScorer(Scorer):
    """The corpus loaded and scored in one child process, so scoring never holds our GIL."""

    @classmethod
    async def start(cls, settings: Settings) -> ProcessScorer:
        """Start the child and load the corpus there (``CorpusError`` if it cannot be read)."""
        executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_setup,
            initargs=(settings.log_level, settings.log_format),
        )
        child_settings = settings.model_copy(update={"discord_token": None})
        try:
            future = asyncio.get_running_loop().run_in_executor(executor, _load, child_settings)
            sources = await future
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return cls(executor, sources)

    async def ask(self, question: str, top_k: int, offset: int = 0) -> Reply:
        """``Engine.ask`` in the child process."""
        return await self._run(_ask, question, top_k, offset)

    async def context(self, answer: Answer) -> tuple[str, ...]:
        """``Engine.context`` in the child process."""
        return await self._run(_context, answer)


# ---------------------------------------------------------------- child process

_engine: Engine | None = None


def _child_setup(level: str, fmt: str) -> None:
    """Log like the parent; leave SIGINT/SIGTERM to the parent, which shuts the child down."""
    from bot.logs import configure

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure(level, fmt)


def _load(settings: Settings) -> list[ArticleInfo]:
    global _engine
    _engine = Engine.from_folder(settings.corpus_dir, settings)
    return _engine.sources()


def _loaded() -> Engine:
    if _engine is None:
        raise RuntimeError("the scoring process has no corpus loaded")
    return _engine


def _ask(question: str, top_k: int, offset: int) -> Reply:
    return _loaded().ask(question, top_k, offset)


def _context(answer: Answer) -> tuple[str, ...]:
    return _loaded().context(answer)
