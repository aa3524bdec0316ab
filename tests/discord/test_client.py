"""Building the bot from settings: intents, sharding, endpoints."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest
from discord.ext import commands

from bot.core.corpus.service import Articles
from bot.core.errors import UserError
from bot.discord.client import (
    NewsquoteBot,
    ShardedNewsquoteBot,
    create_bot,
    intents_for,
    restore_endpoints,
    use_endpoints,
)
from bot.discord.scoring import ThreadScorer
from tests.discord.conftest import make_settings
from tests.discord.fake_discord import FakeDiscord


def test_intents_ask_for_message_content_only_when_set():
    without = intents_for(make_settings())
    assert without.guilds and without.guild_messages and without.dm_messages
    assert not without.message_content and not without.members and not without.presences
    assert intents_for(make_settings(message_content_intent=True)).message_content


def test_one_connection_unless_sharding_is_set():
    assert type(create_bot(None, make_settings())) is NewsquoteBot
    sharded = create_bot(None, make_settings(shard_count=4, shard_ids=[2, 3]))
    assert isinstance(sharded, ShardedNewsquoteBot)
    assert isinstance(sharded, commands.AutoShardedBot)
    assert sharded.shard_count == 4 and sharded.shard_ids == [2, 3]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"shard_ids": [0]}, "needs shard_count"),
        ({"shard_count": 2, "shard_ids": [2]}, "outside 0..1"),
    ],
)
def test_bad_shard_settings_are_one_line_errors(overrides, message):
    with pytest.raises(UserError, match=message):
        create_bot(None, make_settings(**overrides))


def test_endpoints_are_redirected_and_restored():
    old = use_endpoints("http://127.0.0.1:1/api/v10/", "ws://127.0.0.1:1/gateway")
    try:
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:1/api/v10/users/@me"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:1/gateway"
    finally:
        restore_endpoints(old)
    assert discord.http.Route.BASE == "https://discord.com/api/v10"


async def test_two_shards_each_answer_their_own_guilds(engine, caplog):
    caplog.set_level(logging.INFO, logger="bot.discord")
    async with FakeDiscord(guilds=2) as fake:
        old = use_endpoints(fake.api_base, fake.gateway_url)
        scorer = ThreadScorer(Articles.fixed(engine))
        bot = create_bot(scorer, make_settings(shard_count=2))

        async def no_identify_pause(shard_id, *, initial=False):
            """Discord allows one IDENTIFY per 5 s; the stand-in does not need the wait."""

        bot.before_identify_hook = no_identify_pause
        task = asyncio.create_task(bot.start("test-token"))
        try:
            await fake.wait_until_identified(shards=2)
            async with asyncio.timeout(10):
                await bot.wait_until_ready()
            assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
            for guild in fake.guild_ids:
                interaction = await fake.slash(
                    "ask", {"question": "what did China say?"}, guild_id=guild
                )
                assert (await fake.response_to(interaction)).body["data"]["embeds"]
            ready = next(r for r in caplog.records if r.getMessage() == "discord ready")
            assert (ready.guilds, ready.shards, ready.articles) == (2, 2, 3)
        finally:
            await bot.close()
            await task
            await scorer.close()
            restore_endpoints(old)
        assert not fake.problems()
