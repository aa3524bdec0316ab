"""The loop-lag monitor the worker reports on shutdown."""

from __future__ import annotations

import asyncio
import time

from bot.discord.health import LoopLag


async def test_a_blocked_loop_shows_as_lag_of_our_own():
    lag = LoopLag(interval=0.005)
    lag.start()
    await asyncio.sleep(0.02)
    time.sleep(0.08)  # a blocking call on the loop: exactly what must never happen
    await asyncio.sleep(0.02)
    await lag.stop()
    summary = lag.summary()
    assert summary["loop_lag_max_ms"] >= 70
    assert summary["loop_lag_own_max_ms"] >= 70  # sleeping is not waiting for a CPU
    assert summary["loop_lag_samples"] >= 3


async def test_an_idle_loop_has_little_lag():
    lag = LoopLag(interval=0.005)
    lag.start()
    await asyncio.sleep(0.1)
    await lag.stop()
    assert lag.summary()["loop_lag_max_ms"] < 50
