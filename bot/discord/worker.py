"""The long-running worker (``python -m bot run``) and the one-off command sync.

The corpus is loaded once, before connecting, in the scoring process (see
``scoring``), which then watches the folder and applies added, edited and deleted
files as they settle. SIGTERM (what Heroku and systemd send) and SIGINT first give the
questions being answered ``shutdown_grace_seconds`` to finish (the rest are told the bot
is restarting), then close the gateway connection within ``STOP_TIMEOUT_SECONDS``, then
stop the watcher and the scoring process (killed if a question keeps it busy).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import signal
from pathlib import Path

import discord
from discord.ext import commands

from bot.core.errors import UserError
from bot.discord.client import create_bot, use_endpoints
from bot.discord.cog import Ask
from bot.discord.health import LoopLag, health_lines
from bot.discord.scoring import ProcessScorer, Scorer
from bot.settings import Settings

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0
TOKEN_REJECTED = (
    "Discord rejected DISCORD_TOKEN; copy it again from the Developer Portal (Bot page)."
)


class StartupError(UserError):
    """Discord refused to let the worker in, for a reason the operator can fix."""


def run(settings: Settings, token: str, folder: Path | None = None) -> int:
    """Load ``folder`` (default ``settings.corpus_dir``), connect, and answer until stopped.

    0 after a clean stop.
    """
    _quiet_expected_warnings(settings)
    if not settings.message_content_intent:
        log.info("prefix commands are off: message_content_intent is false (/ask and @ work)")
    use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    return asyncio.run(_run(settings, token, folder))


async def _run(settings: Settings, token: str, folder: Path | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    scorer = await ProcessScorer.start(settings, folder)
    try:
        if stop.is_set():  # told to stop while the corpus was loading
            return 0
        # Everything imported so far lives as long as the process. Freezing it keeps the
        # collector's full passes (which scan every tracked object) from pausing the
        # event loop for tens of milliseconds in the middle of a burst of questions.
        gc.collect()
        gc.freeze()
        return await serve(scorer, settings, token, stop)
    finally:
        await scorer.close()


def _quiet_expected_warnings(settings: Settings) -> None:
    """Drop discord.py start-up warnings that are wrong for this bot, so real ones stand out.

    We never join voice, and without the Message Content intent slash commands and
    mentions still work: only ``!ask`` is off, which ``run`` says in its own words.
    """
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    if not settings.message_content_intent:
        logging.getLogger("discord.ext.commands.bot").addFilter(_NotIntentWarning())


class _NotIntentWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "message content intent is missing" not in record.getMessage()


async def serve(scorer: Scorer, settings: Settings, token: str, stop: asyncio.Event) -> int:
    """Run the bot until ``stop`` is set, then close the gateway within 10 s."""
    bot = create_bot(scorer, settings)
    lag = LoopLag()
    lag.start()
    try:
        gauges = functools.partial(_gauges, bot)
        async with bot, health_lines(settings.health_log_seconds, lag, gauges):
            runner = asyncio.create_task(bot.start(token), name="discord-gateway")
            stopper = asyncio.create_task(stop.wait(), name="stop-signal")
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not runner.done():
                return await _stop(bot, runner, lag, settings.shutdown_grace_seconds)
            _raise_startup_error(runner)
            return 0
    finally:
        await lag.stop()


def _gauges(bot: commands.Bot) -> dict[str, int]:
    """For the health line: answers whose buttons are live (each waits on a timeout task)."""
    cog = bot.get_cog("Questions")
    return {"answer_views": len(cog.views) if isinstance(cog, Ask) else 0}


async def _stop(bot: commands.Bot, runner: asyncio.Task[None], lag: LoopLag, grace: float) -> int:
    """Answer what is in flight (within ``grace``), then close the gateway."""
    cog = bot.get_cog(Ask.__cog_name__)
    if isinstance(cog, Ask):
        owed = await cog.drain(grace)
        log.info("stopping: questions in flight settled", extra={"questions": owed})
    log.info("stopping: closing the gateway connection")
    try:
        async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
            await bot.close()
            await runner
    except TimeoutError:
        log.warning("gateway did not close within %.0f s", STOP_TIMEOUT_SECONDS)
        runner.cancel()
        return 1
    log.info("stopped", extra=lag.summary())
    return 0


def _raise_startup_error(runner: asyncio.Task[None]) -> None:
    """Turn discord.py's start-up failures into one line the operator can act on."""
    error = runner.exception()
    if error is None:
        return
    if isinstance(error, discord.LoginFailure):
        raise StartupError(TOKEN_REJECTED) from error
    if isinstance(error, discord.PrivilegedIntentsRequired):
        raise StartupError(
            "Discord refused the Message Content intent: enable it in the Developer Portal "
            "(Bot > Privileged Gateway Intents) or set NEWSQUOTE_MESSAGE_CONTENT_INTENT=false."
        ) from error
    raise error


async def sync(settings: Settings, token: str, guild_id: int | None) -> list[str]:
    """Register the slash commands, with one guild (instant) or globally; returns their names."""
    _quiet_expected_warnings(settings)
    use_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    bot = create_bot(None, settings)
    async with bot:
        try:
            await bot.login(token)
        except discord.LoginFailure as exc:
            raise StartupError(TOKEN_REJECTED) from exc
        if guild_id is None:
            synced = await bot.tree.sync()
        else:
            guild = discord.Object(guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
    return [command.name for command in synced]
