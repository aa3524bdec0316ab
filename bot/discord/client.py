"""The bot itself: discord.py's Bot (or AutoShardedBot) with the engine and settings injected.

Nothing here reads the environment: the worker builds ``Settings`` and the scorer (the
loaded corpus) once and passes them in, so tests can build as many bots as they like.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
import yarl
from discord.ext import commands

from bot.core.errors import UserError
from bot.discord.cog import Ask
from bot.discord.errors import NO_MENTIONS, report
from bot.discord.news import NewsCommands
from bot.discord.scoring import Scorer
from bot.settings import Settings

log = logging.getLogger(__name__)


def intents_for(settings: Settings) -> discord.Intents:
    """The gateway intents we need; Message Content (privileged) only when the setting asks.

    Without it Discord still sends the text of messages that mention the bot, and slash
    commands never need it; only ``!ask`` does.
    """
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.message_content_intent
    return intents


class _Newsquote:
    """What our bot adds to discord.py's, whichever of Bot or AutoShardedBot it is mixed into."""

    scorer: Scorer | None
    settings: Settings

    def __init__(self, scorer: Scorer | None, settings: Settings, **options: Any) -> None:
        super().__init__(  # type: ignore[call-arg]
            command_prefix=settings.command_prefix,
            intents=intents_for(settings),
            help_command=None,
            allowed_mentions=NO_MENTIONS,
            case_insensitive=True,
            guild_ready_timeout=settings.guild_ready_timeout,
            **options,
        )
        self.scorer = scorer
        self.settings = settings

    async def setup_hook(self) -> None:
        """Add the commands; syncing them with Discord is a separate, explicit step."""
        bot: commands.Bot = self  # type: ignore[assignment]
        questions = Ask(bot, self.scorer, self.settings)
        await bot.add_cog(questions)
        await bot.add_cog(NewsCommands(bot, self.scorer, self.settings, questions))
        bot.tree.on_error = report  # type: ignore[assignment]

    async def on_ready(self) -> None:
        """One structured line an operator (or a health check) can wait for.

        The gateway is up whatever the index says: an index that cannot be counted just
        now (a cluster that is down) is named in the line instead of the counts.
        """
        bot: commands.Bot = self  # type: ignore[assignment]
        counts: dict[str, object] = {}
        try:
            listing = await self.scorer.listing() if self.scorer else None
        except UserError as error:
            counts["index"] = str(error)
        else:
            articles = [item.info for item in listing.articles] if listing else []
            counts["articles"] = len(articles)
            counts["sentences"] = sum(info.sentences for info in articles)
            counts["unreadable"] = len(listing.unreadable) if listing else 0
        log.info(
            "discord ready",
            extra={
                "user": str(bot.user),
                "user_id": bot.user.id if bot.user else None,
                "guilds": len(bot.guilds),
                **counts,
                "shards": bot.shard_count or 1,
            },
        )

    async def on_command_error(self, ctx: commands.Context[Any], error: Exception) -> None:
        """Every command's errors go to the one handler; unknown commands stay silent."""
        if isinstance(error, commands.CommandNotFound):
            return  # another bot's command, or a typo: not ours to answer
        await report(ctx, error)


class NewsquoteBot(_Newsquote, commands.Bot):
    """One gateway connection: the usual deployment."""


class ShardedNewsquoteBot(_Newsquote, commands.AutoShardedBot):
    """Several shards in one process; several workers can each take some ``shard_ids``."""


def create_bot(scorer: Scorer | None, settings: Settings) -> commands.Bot:
    """The bot the settings describe: sharded when ``shard_count`` or ``shard_ids`` is set."""
    if settings.shard_count is None and settings.shard_ids is None:
        return NewsquoteBot(scorer, settings)
    if settings.shard_ids is not None:
        if settings.shard_count is None:
            raise UserError("shard_ids needs shard_count too (the total across all workers).")
        bad = [i for i in settings.shard_ids if not 0 <= i < settings.shard_count]
        if bad:
            raise UserError(f"shard_ids {bad} are outside 0..{settings.shard_count - 1}.")
    return ShardedNewsquoteBot(
        scorer, settings, shard_count=settings.shard_count, shard_ids=settings.shard_ids
    )


def use_endpoints(api_base: str | None, gateway_url: str | None) -> tuple[str, yarl.URL]:
    """Send REST and gateway traffic elsewhere (tests' stand-in); returns the old pair.

    discord.py reads both class attributes at call time, webhooks and interaction
    callbacks included, so setting them before ``login`` redirects everything.
    """
    old = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return old


def restore_endpoints(old: tuple[str, yarl.URL]) -> None:
    """Undo ``use_endpoints``."""
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old
