"""A bounded load test: 200 interactions at once over the gateway to a real worker process.

The worker (``python -m bot run``) runs in its own process, so the loop lag it reports
on shutdown is its own, not the stand-in's. The limit applies to the lag the worker
causes itself: wall-clock lag minus the time its loop thread waited for a CPU while the
operating system ran other processes (the stand-in among them, on a small shared host).
Both figures are printed; on a quiet host they are the same. Slow, so kept out of the
default run: ``pytest -m slow -s tests/discord`` runs it and prints the figures.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from tests.discord.worker_process import WorkerProcess

CONCURRENT = 200
MAX_LOOP_LAG_MS = 100
QUESTIONS = [
    "what did China say?",
    "what did the harbour master say?",
    "what did Morag Ferguson say?",
    "who met Qin Gang?",
    "what did Obama say?",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


@pytest.mark.slow
async def test_200_concurrent_interactions_are_all_answered_and_the_loop_stays_responsive(
    fake, tmp_path
):
    users = [fake.user(f"reader{i}") for i in range(CONCURRENT)]
    async with WorkerProcess(fake, tmp_path) as worker:
        await worker.log_line("discord ready")
        started = time.perf_counter()
        interactions = await asyncio.gather(
            *(
                fake.slash("ask", {"question": QUESTIONS[i % len(QUESTIONS)]}, user)
                for i, user in enumerate(users)
            )
        )
        calls = await asyncio.gather(*(fake.response_to(i, timeout=30) for i in interactions))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.2)  # a duplicate or late answer would show up now
        code, output = await worker.terminate()
        stopped = await worker.log_line("stopped")
    assert code == 0, output

    answered = {call.path.split("/")[2] for call in calls}
    assert answered == {i["id"] for i in interactions}, "an interaction was lost"
    for call in calls:
        data = call.body["data"]
        assert call.body["type"] == 4 and (data.get("embeds") or data.get("content"))
        assert not data.get("flags"), data.get("content")  # none refused or failed
    latencies = [
        (call.at - fake.pushed_at[i["id"]]) * 1000
        for call, i in zip(calls, interactions, strict=True)
    ]
    print(
        f"\nload: {CONCURRENT} interactions answered in {elapsed:.3f} s "
        f"({CONCURRENT / elapsed:.0f}/s); latency p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms; "
        f"worker loop lag max {stopped['loop_lag_max_ms']} ms wall-clock, "
        f"{stopped['loop_lag_own_max_ms']} ms its own "
        f"({stopped['loop_lag_samples']} samples of 10 ms)"
    )
    assert stopped["loop_lag_own_max_ms"] < MAX_LOOP_LAG_MS
