"""The soak of ``bench/soak.py``, short: 20 s of mixed traffic against a real worker process.

Questions of every kind by every door, button clicks, /reload, channel chatter the bot must
ignore, and article files added, edited, deleted, made unreadable and deleted before they
settle, all at once. Each request
must get its reply, nothing may be logged as an error, and once the traffic stops and the
answer buttons time out, the worker's asyncio tasks must be back to their count before
traffic (a leaked task per request would keep it up). Memory is left to the 10-minute
bench: 20 seconds cannot tell a leak from a cache filling up.
"""

from __future__ import annotations

from bench.soak import CATEGORIES, CHANGES, KINDS, Plan, run_soak


async def test_twenty_seconds_of_mixed_traffic_lose_no_reply_and_leak_no_task(fake, tmp_path):
    plan = Plan(
        seconds=20,
        rate=4,
        edit_every=1,
        sample_every=2,
        reply_timeout=20,
        button_timeout=3,
        drain_timeout=30,
    )
    figures = await run_soak(plan, fake, tmp_path)
    report = figures.report(plan)
    print(report)

    assert figures.requests == plan.requests == 80, report
    assert set(figures.sent) == set(KINDS), report
    assert set(figures.categories) == set(CATEGORIES), report
    assert set(figures.folder_changes) == set(CHANGES), report
    assert sum(figures.folder_changes.values()) == plan.edits, report
    assert figures.chatter == plan.chatter == 60, report  # not one of them answered (errors)

    assert figures.lost == [], report
    assert figures.replies == figures.requests, report
    assert figures.errors == [], report
    assert figures.exit_code == 0, report

    assert figures.tasks_baseline > 0, report
    assert max(s.tasks for s in figures.samples) > figures.tasks_baseline, report  # views lived
    assert figures.views_after == 0, report
    assert figures.tasks_after is not None and figures.tasks_after <= figures.tasks_baseline, report
