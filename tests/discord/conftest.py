"""Fixtures: a stand-in Discord on 127.0.0.1 and the real discord.py bot pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from discord.ext import commands
from pydantic import SecretStr

from bot.core.answer.engine import Engine
from bot.core.corpus.service import Articles
from bot.core.ingest.raw import RawArticle
from bot.core.models import Source
from bot.discord.client import create_bot, restore_endpoints, use_endpoints
from bot.discord.scoring import Scorer, ThreadScorer
from bot.settings import Settings
from tests.discord.fake_discord import FakeDiscord

TOKEN = "test-token-never-shown"

CHINA = """China backs Russia after mutiny

China said on Sunday that it supported Russia's efforts to restore stability after the weekend mutiny.

“As a friendly neighbour and comprehensive strategic partner, China supports Russia in maintaining national stability,” the Chinese Foreign Ministry said in a statement.

The ministry called the uprising “Russia's internal affair” and declined to comment further.

Russian Deputy Foreign Minister Andrei Rudenko met Chinese Foreign Minister Qin Gang in Beijing.

The two sides pledged to strengthen co-operation in the region, according to a readout of the talks.

Analysts in Moscow said the visit was meant to reassure allies.

Wagner fighters withdrew from Rostov-on-Don late on Saturday.

Markets in Asia were calm on Monday morning.
"""

HARBOUR = """Harbour closed by storm

The harbour authority said on Monday that the port would stay closed until Friday.

“Tell @everyone and <@&123> that the *harbour* is closed until Friday, no exceptions,” harbour master Jane Doyle said.

Fishing crews protested outside the town hall, demanding compensation for lost catches.

Mayor Tom Reilly told reporters the council would meet the crews on Wednesday.

The storm has already flooded twelve homes near the river.

Volunteers filled sandbags along the quay through the night.
"""

_LONG_CLAUSES = [
    "we rebuilt the north quay after the winter floods",
    "we trained forty new pilots for the lower channel",
    "we replaced every mooring chain along the eastern pier",
    "we dredged the approach so that the ferries could run at low tide",
    "we opened the fish market to traders from the three valleys",
    "we paid every contractor within thirty days of the invoice",
    "we kept the lighthouse lit through the longest storm in memory",
    "we welcomed the tall ships for the first festival in a decade",
]
SPEECH = f"""Lighthouse keeper retires

The lighthouse keeper gave a farewell speech on the quay on Tuesday.

“In thirty years, {", ".join(c for c in _LONG_CLAUSES * 3)}, and I would do all of it again,” lighthouse keeper Morag Ferguson said.

The town council presented her with a brass lantern.

Her successor takes over the light next month.

Children from the harbour school sang for her.

The ferry company offered free crossings for the day.
"""


def make_settings(**overrides: object) -> Settings:
    """Settings from code and config defaults only, quick to get ready, with a test token."""
    values: dict[str, object] = {
        "discord_token": SecretStr(TOKEN),
        "guild_ready_timeout": 0.05,
        "cooldown_rate": 50,
        "cooldown_seconds": 5.0,
        "use_saved_index": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(autouse=True)
def _no_operator_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NEWSQUOTE_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def engine() -> Engine:
    articles = [
        RawArticle(
            Source(
                "world/china.md",
                "China backs Russia after mutiny",
                "The Daily Wire Service",
                "https://news.example/world/china-backs-russia_(analysis)",
                "2023-06-25T18:30:00+00:00",
            ),
            CHINA,
        ),
        RawArticle(Source("local/harbour.md", "Harbour closed by storm", "Coast Courier"), HARBOUR),
        RawArticle(Source("local/keeper.md", "Lighthouse keeper retires", None), SPEECH),
    ]
    return Engine.from_articles(articles, Settings(_env_file=None).core_options().engine)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server
        assert not server.problems(), "\n".join(server.problems())


StartBot = Callable[..., Awaitable[commands.Bot]]


@contextlib.asynccontextmanager
async def running_bot(
    api_base: str, gateway_url: str, scorer: Scorer, settings: Settings
) -> AsyncIterator[commands.Bot]:
    """The real bot, logged in and ready against a stand-in; closed (gateway first) on exit."""
    old = use_endpoints(api_base, gateway_url)
    bot = create_bot(scorer, settings)
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=10, return_when="FIRST_COMPLETED")
        if task in done:
            ready.cancel()
            task.result()
        assert ready in done, "the bot did not become ready within 10 s"
        yield bot
    finally:
        async with asyncio.timeout(10):
            await bot.close()
            await task
            await scorer.close()
        restore_endpoints(old)


@pytest.fixture
async def start_bot(fake: FakeDiscord, engine: Engine) -> AsyncIterator[StartBot]:
    """Start the real bot against ``fake`` with setting overrides; stopped before the fake.

    It answers from the in-memory ``engine``, or with ``corpus=folder`` from a live
    corpus loaded from that folder (watched unless ``watch_interval_seconds=0``).
    """
    async with contextlib.AsyncExitStack() as stack:

        async def start(*, corpus: Path | None = None, **overrides: object) -> commands.Bot:
            if corpus is None:
                settings = make_settings(**overrides)
                scorer: Scorer = ThreadScorer(Articles.fixed(engine))
            else:
                settings = make_settings(corpus_dir=corpus, **overrides)
                scorer = await ThreadScorer.load(settings)
            running = running_bot(fake.api_base, fake.gateway_url, scorer, settings)
            return await stack.enter_async_context(running)

        yield start


@pytest.fixture
async def bot(start_bot: StartBot) -> commands.Bot:
    return await start_bot()
