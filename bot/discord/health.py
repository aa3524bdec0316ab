"""How responsive the event loop is: the figure that says whether the heartbeat is safe.

discord.py sends gateway heartbeats from the event loop; if scoring (or anything else)
held the loop, Discord would drop the connection. The worker samples the loop's lag
all the time, warns about a stall as it happens, and reports the figures when it stops.

On Linux each sample also reads how long the loop's thread sat waiting for a CPU
(``/proc/thread-self/schedstat``). Lag beyond that wait is the bot's own doing (work
on the loop, the GIL, blocking calls) and is ours to fix; the wait itself is time the
operating system gave to other processes, a sign of an overloaded host. Both are
reported; where the figure is unavailable all lag counts as our own.

With ``health_log_seconds`` set, the worker also logs a ``health`` line at that
interval while it runs: the loop's lag so far and how many asyncio tasks are alive.
A count that climbs with traffic and never comes back down is a task leak, which no
single request shows; ``bench/soak.py`` watches it over ten minutes of traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping

log = logging.getLogger(__name__)

STALL_WARNING_SECONDS = 1.0
_SCHEDSTAT = "/proc/thread-self/schedstat"


class LoopLag:
    """Samples how late the loop wakes a short sleeper: max, recent p99, and our own share."""

    def __init__(self, interval: float = 0.01, keep: int = 10_000) -> None:
        self.interval = interval
        self.samples: deque[float] = deque(maxlen=keep)
        self.worst = 0.0
        self.worst_own = 0.0
        self._task: asyncio.Task[None] | None = None
        self._schedstat: int | None = None

    def start(self) -> None:
        """Begin sampling on the running loop (call it from the loop's thread)."""
        with contextlib.suppress(OSError):
            self._schedstat = os.open(_SCHEDSTAT, os.O_RDONLY)
        self._task = asyncio.get_running_loop().create_task(self._sample(), name="loop-lag")

    async def stop(self) -> None:
        """Stop sampling (the figures stay available)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._schedstat is not None:
            os.close(self._schedstat)
            self._schedstat = None

    def _waited_for_cpu(self) -> float:
        """Seconds this thread has spent runnable but not running, since it started."""
        if self._schedstat is None:
            return 0.0
        try:
            return int(os.pread(self._schedstat, 128, 0).split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before, waited_before = loop.time(), self._waited_for_cpu()
            await asyncio.sleep(self.interval)
            lag = max(loop.time() - before - self.interval, 0.0)
            waited = self._waited_for_cpu() - waited_before
            self.samples.append(lag)
            self.worst = max(self.worst, lag)
            self.worst_own = max(self.worst_own, lag - waited)
            if lag >= STALL_WARNING_SECONDS:
                log.warning("event loop stalled for %.2f s", lag, extra={"loop_lag_s": lag})

    def summary(self) -> dict[str, float | int]:
        """Lag in milliseconds for a log line: max, 99th percentile, and max of our own."""
        ordered = sorted(self.samples)
        p99 = ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)] if ordered else 0.0
        return {
            "loop_lag_max_ms": round(self.worst * 1000, 1),
            "loop_lag_p99_ms": round(p99 * 1000, 1),
            "loop_lag_own_max_ms": round(self.worst_own * 1000, 1),
            "loop_lag_samples": len(ordered),
        }


def task_count() -> int:
    """Tasks alive on the running loop, this caller's included."""
    return len(asyncio.all_tasks())


async def log_health(
    every: float, lag: LoopLag, gauges: Callable[[], Mapping[str, int]] = dict
) -> None:
    """Every ``every`` seconds, log one ``health`` line: live tasks, ``gauges()``, loop lag.

    ``gauges`` adds the counts that explain the tasks (the worker's live answer views,
    each holding one timeout task), so a reader can tell a backlog that drains from a leak.
    Runs until cancelled.
    """
    while True:
        await asyncio.sleep(every)
        log.info("health", extra={"tasks": task_count(), **gauges(), **lag.summary()})


@contextlib.asynccontextmanager
async def health_lines(
    every: float, lag: LoopLag, gauges: Callable[[], Mapping[str, int]] = dict
) -> AsyncIterator[None]:
    """``log_health`` in the background while the block runs; nothing when ``every`` is 0."""
    if every <= 0:
        yield
        return
    task = asyncio.get_running_loop().create_task(log_health(every, lag, gauges), name="health")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
