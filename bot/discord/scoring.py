"""Where questions are scored: never on the event loop that carries the gateway heartbeat.

Scoring is pure Python, so in a thread it still holds the GIL the event loop needs:
under a burst of questions the loop would wait its turn on every socket call. The
worker therefore loads the corpus in one child process and scores there
(``ProcessScorer``); the loop only sends questions and receives replies, which are
small immutable dataclasses. ``ThreadScorer`` does the same job in-process for tests
and tools.

Wherever it runs, the corpus is an ``Articles``: a folder watched for added, edited and
deleted files (``watch_interval_seconds``; 0 turns watching off), or an engine built in
memory. Both scorers answer with exactly what it returns, errors included: a
``QuestionError`` raised while scoring reaches the caller as the same exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from bot.core.corpus.service import Articles, Listing, Reloaded
from bot.core.models import Answer, Reply
from bot.core.processes import die_with_parent
from bot.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
Method = Callable[Concatenate[Articles, P], T]

# How long closing waits for the corpus watcher to stop before shutting scoring down.
CLOSE_TIMEOUT_SECONDS = 5.0


class Scorer:
    """Asks an ``Articles`` somewhere off the event loop."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def _run(self, function: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _call(self, method: Method[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``method(articles, *args)`` where the articles live."""
        raise NotImplementedError

    async def ask(self, question: str, top_k: int, offset: int = 0) -> Reply:
        """``Engine.ask``: excerpts or a no-answer reason; raises ``QuestionError``."""
        return await self._call(Articles.ask, question, top_k, offset)

    async def context(self, answer: Answer) -> tuple[str, ...]:
        """``Engine.context``: the sentences around ``answer`` in its article."""
        return await self._call(Articles.context, answer)

    async def listing(self) -> Listing:
        """The articles answering now, newest first, and the files that could not be read."""
        return await self._call(Articles.listing)

    async def reload(self) -> Reloaded:
        """Rescan the corpus folder now and say what changed."""
        return await self._call(Articles.reload)

    async def folder(self) -> Path | None:
        """The corpus folder answered from (where /add saves pages); None if built in memory."""
        return await self._call(Articles.folder)

    async def close(self) -> None:
        """Stop watching, then stop scoring, in bounded time: queued questions are dropped.

        A question still being scored is waited for at most ``CLOSE_TIMEOUT_SECONDS``;
        after that the scoring is abandoned (``_abandon``), never waited on forever.
        """
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await self._call(Articles.close)
        except Exception as exc:  # a broken child or a stuck scan must not block shutdown
            log.warning("could not stop the corpus watcher: %r", exc)
        stopped = asyncio.create_task(
            asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        )
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await asyncio.shield(stopped)
            return
        except TimeoutError:
            log.warning("scoring did not stop within %.0f s; abandoning it", CLOSE_TIMEOUT_SECONDS)
        if self._abandon():
            await stopped

    def _abandon(self) -> bool:
        """End scoring that will not stop by itself; True when shutting down can now finish."""
        return False  # a thread cannot be killed: the process exit ends it


class ThreadScorer(Scorer):
    """Articles in this process, asked on one thread (one: more would only queue on the GIL)."""

    def __init__(self, articles: Articles) -> None:
        super().__init__(ThreadPoolExecutor(1, thread_name_prefix="newsquote-scoring"))
        self.articles = articles

    @classmethod
    async def load(cls, settings: Settings, folder: Path | None = None) -> ThreadScorer:
        """Load and watch ``folder`` (default ``settings.corpus_dir``).

        ``CorpusError`` if it cannot be read.
        """
        return cls(await asyncio.to_thread(Articles.watch, settings.core_options(), folder))

    async def _call(self, method: Method[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(lambda: method(self.articles, *args, **kwargs))


class ProcessScorer(Scorer):
    """The corpus loaded, watched and scored in one child process, off our GIL."""

    def __init__(self, executor: Executor, child_pid: int) -> None:
        super().__init__(executor)
        self.child_pid = child_pid

    @classmethod
    async def start(cls, settings: Settings, folder: Path | None = None) -> ProcessScorer:
        """Start the child and load ``folder`` there (default ``settings.corpus_dir``).

        ``CorpusError`` if it cannot be read.
        """
        executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_setup,
            initargs=(os.getpid(), settings.log_level, settings.log_format),
        )
        child_settings = settings.model_copy(update={"discord_token": None})
        try:
            pid = await asyncio.get_running_loop().run_in_executor(
                executor, _load, child_settings, folder
            )
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        return cls(executor, pid)

    def _abandon(self) -> bool:
        """Kill the scoring process (stuck in a question); the executor then finishes."""
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.kill(self.child_pid, signal.SIGKILL)
        return True

    async def _call(self, method: Method[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(_call_loaded, method, args, kwargs)


# ---------------------------------------------------------------- child process

_articles: Articles | None = None


def _child_setup(parent: int, level: str, fmt: str) -> None:
    """Log like the parent; leave SIGINT/SIGTERM to the parent, which shuts the child down.

    If the parent is killed outright (SIGKILL, the OOM killer) the child ends with it.
    """
    from bot.logs import configure

    die_with_parent(parent)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure(level, fmt)


def _load(settings: Settings, folder: Path | None) -> int:
    """Load the corpus here; returns this process's id, for killing it if it ever hangs."""
    global _articles
    _articles = Articles.watch(settings.core_options(), folder, wait_for_cluster=True)
    return os.getpid()


def _call_loaded(method: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    if _articles is None:
        raise RuntimeError("the scoring process has no corpus loaded")
    return method(_articles, *args, **kwargs)
