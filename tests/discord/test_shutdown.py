"""Stopping the worker with questions in flight: each one is answered, or told why not.

SIGTERM must never leave a user with "thinking…" forever, and a scoring process stuck
on a question must never keep the worker from exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator

import pytest

from bot.core.corpus.service import Articles
from bot.discord import cog, scoring, worker
from bot.discord.client import restore_endpoints, use_endpoints
from bot.discord.scoring import ProcessScorer, ThreadScorer
from tests.discord.conftest import TOKEN, make_settings
from tests.discord.worker_process import WorkerProcess, write_corpus
from tests.process_tree import alive, children_of, wait_gone

QUESTION = "what did China say?"
RESTARTING = "I'm restarting and could not answer that; ask again in a minute."


@contextlib.asynccontextmanager
async def serving(fake, engine, grace: float) -> AsyncIterator[tuple[asyncio.Event, asyncio.Task]]:
    """The worker's ``serve`` on the in-memory engine; yields its stop event and task."""
    old = use_endpoints(fake.api_base, fake.gateway_url)
    scorer = ThreadScorer(Articles.fixed(engine))
    stop = asyncio.Event()
    settings = make_settings(shutdown_grace_seconds=grace)
    task = asyncio.create_task(worker.serve(scorer, settings, TOKEN, stop))
    try:
        await fake.wait_until_identified()
        yield stop, task
    finally:
        stop.set()
        async with asyncio.timeout(20):
            await asyncio.wait({task})
            await scorer.close()
        restore_endpoints(old)


async def _follow_up(fake, interaction) -> dict:
    """The message sent after a "thinking…" acknowledgement of ``interaction``."""
    path = f"/webhooks/{fake.app_id}/{interaction['token']}"
    return (await fake.wait_for(lambda c: c.path == path, timeout=15)).body


async def test_a_question_in_flight_at_sigterm_is_still_answered(fake, engine, monkeypatch):
    real_ask = engine.ask

    def slow_ask(*args, **kwargs):
        time.sleep(0.5)
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(cog, "DEFER_AFTER_SECONDS", 0.05)
    monkeypatch.setattr(engine, "ask", slow_ask)
    async with serving(fake, engine, grace=10) as (stop, task):
        interaction = await fake.slash("ask", {"question": QUESTION})
        assert (await fake.response_to(interaction)).body == {"type": 5}  # "thinking…"
        stop.set()
        body = await _follow_up(fake, interaction)
        assert "China supports Russia" in body["embeds"][0]["description"]
        async with asyncio.timeout(15):
            assert await task == 0


async def test_a_stuck_question_is_told_the_bot_is_restarting_and_new_ones_are_refused(
    fake, engine, monkeypatch
):
    release = threading.Event()

    def stuck_ask(*args, **kwargs):
        release.wait(30)
        raise AssertionError("should have been abandoned")

    monkeypatch.setattr(cog, "DEFER_AFTER_SECONDS", 0.05)
    monkeypatch.setattr(engine, "ask", stuck_ask)
    try:
        async with serving(fake, engine, grace=1.0) as (stop, task):
            stuck = await fake.slash("ask", {"question": QUESTION})
            assert (await fake.response_to(stuck)).body == {"type": 5}
            stop.set()
            await asyncio.sleep(0.2)  # stopping has begun; the gateway is still open
            late = await fake.slash("ask", {"question": QUESTION})
            refused = (await fake.response_to(late)).body
            assert refused["data"]["content"] == RESTARTING
            assert refused["data"]["flags"] & 64  # ephemeral

            body = await _follow_up(fake, stuck)
            assert body["content"] == RESTARTING and body["flags"] & 64
            async with asyncio.timeout(15):
                assert await task == 0
    finally:
        release.set()


async def test_closing_kills_a_scoring_process_stuck_on_a_question(tmp_path, monkeypatch):
    monkeypatch.setattr(scoring, "CLOSE_TIMEOUT_SECONDS", 1.0)
    settings = make_settings(
        corpus_dir=write_corpus(tmp_path / "articles"), watch_interval_seconds=0
    )
    scorer = await ProcessScorer.start(settings)
    assert alive(scorer.child_pid)
    stuck = scorer._run(time.sleep, 120)  # as a question that never ends would
    async with asyncio.timeout(20):
        await scorer.close()
    assert not alive(scorer.child_pid)
    with pytest.raises(Exception):  # noqa: B017 - the abandoned question fails, whatever way
        await stuck


async def test_killing_the_worker_outright_takes_its_scoring_process_with_it(fake, tmp_path):
    async with WorkerProcess(fake, tmp_path) as process:
        await process.log_line("discord ready")
        assert process.process is not None
        children = children_of(process.process.pid)
        assert children, "the worker scores in a child process"
        process.process.send_signal(signal.SIGKILL)
        await process.process.wait()
        assert await asyncio.to_thread(wait_gone, children, 10), "orphaned scoring process"


def test_killing_index_outright_takes_its_ingest_workers_with_it(tmp_path):
    import subprocess
    import sys

    corpus = tmp_path / "articles"
    corpus.mkdir()
    body = "The harbour authority said on Monday that the port would stay closed. " * 40
    for n in range(600):
        (corpus / f"a{n:04d}.txt").write_text(f"Article {n}\n\n{body}\n", encoding="utf-8")
    env = {
        **os.environ,
        "NEWSQUOTE_DATA_DIR": str(tmp_path / "data"),
        "NEWSQUOTE_INGEST_WORKERS": "2",
    }
    index = subprocess.Popen(
        [sys.executable, "-m", "bot", "index", "--corpus", str(corpus), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        children: list[int] = []
        while len(children) < 2 and time.monotonic() < deadline and index.poll() is None:
            time.sleep(0.05)
            children = children_of(index.pid)
        assert len(children) >= 2, "index did not start its workers"
        index.send_signal(signal.SIGKILL)
        index.wait(10)
        assert wait_gone(children, 10), "ingest workers outlived a killed index"
    finally:
        if index.poll() is None:
            index.kill()
