"""The loop-lag monitor the worker reports on shutdown."""

from __future__ import annotations

import asyncio
import time

from bot.discord.health import LoopLag, health_lines, task_count


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


async def test_health_lines_count_the_live_tasks_and_add_the_gauges(caplog):
    caplog.set_level("INFO", logger="bot.discord.health")
    before = task_count()
    lag = LoopLag(interval=0.005)
    lag.start()
    idle = asyncio.Event()
    sleepers = [asyncio.create_task(idle.wait()) for _ in range(5)]
    async with health_lines(0.01, lag, lambda: {"answer_views": 7}):
        await asyncio.sleep(0.05)
    idle.set()
    await asyncio.gather(*sleepers)
    await lag.stop()
    lines = [r for r in caplog.records if r.getMessage() == "health"]
    assert lines, "no health line was logged"
    # what ran before, plus the lag sampler, the health task itself and the five sleepers
    assert lines[-1].tasks == before + 7
    assert lines[-1].answer_views == 7 and lines[-1].loop_lag_samples >= 1


async def test_no_health_lines_when_the_interval_is_zero(caplog):
    caplog.set_level("INFO", logger="bot.discord.health")
    lag = LoopLag()
    before = task_count()
    async with health_lines(0, lag):
        assert task_count() == before
        await asyncio.sleep(0.02)
    assert not [r for r in caplog.records if r.getMessage() == "health"]
