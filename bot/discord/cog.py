"""The commands people use: /ask, !ask and @mentions, /sources and /help; /reload for managers.

Thin on purpose: each command checks where and how often it is asked, calls the same
``Engine.ask`` as the CLI (through a ``Scorer``, off the event loop, so the gateway
heartbeat never waits on scoring), and hands the reply to ``formatting`` to lay out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.models import Answer, Reply
from bot.discord.errors import NO_MENTIONS, NotHere, OnCooldown, Restarting, report, send_private
from bot.discord.formatting import (
    MAX_EMBEDS,
    help_embed,
    reload_embed,
    reply_page,
    sources_embed,
)
from bot.discord.limits import Cooldowns
from bot.discord.scoring import Scorer
from bot.discord.views import AnswerView, embeds_of, parse_custom_id
from bot.settings import Settings

log = logging.getLogger(__name__)

# An answer slower than this is acknowledged first ("thinking…"): Discord drops an
# interaction that gets no response within 3 seconds.
DEFER_AFTER_SECONDS = 2.0
EXPIRED = "These buttons have expired; ask again with /ask."
# After the shutdown's grace period, how long the "restarting" replies get to go out.
GIVE_UP_SECONDS = 2.0
_LEADING_MENTION = re.compile(r"\s*<@!?(\d+)>\s*(.*)", re.DOTALL)

Context = commands.Context[commands.Bot]
T = TypeVar("T")


async def in_time(work: Awaitable[T], defer: Callable[[], Awaitable[None]] | None) -> T:
    """``work``'s result; if it takes longer than ``DEFER_AFTER_SECONDS``, ``defer`` first."""
    task = asyncio.ensure_future(work)
    if defer is not None:
        done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER_SECONDS)
        if not done:
            await defer()
    return await task


def mentioned_question(content: str, bot_id: int) -> str | None:
    """The question in ``@Bot what did China say?``; None unless the message opens with us."""
    match = _LEADING_MENTION.fullmatch(content)
    if match is None or int(match[1]) != bot_id:
        return None
    return match[2]


class Ask(commands.Cog, name="Questions"):
    """Questions about the loaded news articles, answered with verbatim, attributed quotes."""

    def __init__(self, bot: commands.Bot, scorer: Scorer | None, settings: Settings) -> None:
        self.bot = bot
        self._scorer = scorer
        self.settings = settings
        self.page_size = min(settings.top_k, MAX_EMBEDS)
        self.cooldowns = Cooldowns(settings.cooldown_rate, settings.cooldown_seconds)
        self.views: dict[str, AnswerView] = {}
        self.closing = False
        self._owed = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._give_up = asyncio.Event()

    @property
    def scorer(self) -> Scorer:
        """The corpus; absent only in a bot built to sync commands, which never answers."""
        if self._scorer is None:
            raise RuntimeError("this bot was built without a corpus (command sync only)")
        return self._scorer

    # ------------------------------------------------------------------ checks

    def check_place(self, channel: discord.abc.Messageable | None, in_guild: bool) -> None:
        """Refuse DMs when they are off, and channels outside a non-empty allowlist."""
        settings = self.settings
        if not in_guild:
            if not settings.allow_dms:
                raise NotHere("I don't answer in direct messages; ask me in a server channel.")
            return
        allowed = settings.allowed_channels
        if not allowed:
            return
        ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        if ids.isdisjoint(allowed):
            names = [self._channel_name(channel_id) for channel_id in allowed[:5]]
            raise NotHere(f"I only answer in {', '.join(names)}.")

    def _channel_name(self, channel_id: int) -> str:
        """``#name`` for a channel the bot can see, ``#id`` otherwise (errors are plain text)."""
        channel = self.bot.get_channel(channel_id)
        return f"#{getattr(channel, 'name', channel_id)}"

    def check_rate(self, user_id: int) -> None:
        """Count a question against the user's cooldown, refusing it when they ask too fast."""
        wait = self.cooldowns.hit(user_id)
        if wait > 0:
            raise OnCooldown(f"You're asking quickly; try again in {math.ceil(wait)} s.")

    # ---------------------------------------------------------------- shutdown

    @contextlib.asynccontextmanager
    async def owed(self, target: Context | discord.Interaction) -> AsyncIterator[None]:
        """Around work someone waits for, reply included: a shutdown lets it finish first.

        Refused once the worker is stopping; if the shutdown gives up on it, the user
        is told so (``Restarting``) instead of being left with "thinking…" forever.
        """
        if self.closing:
            raise Restarting()
        self._owed += 1
        self._settled.clear()
        try:
            yield
        except Restarting as exc:
            await report(target, exc)
        finally:
            self._owed -= 1
            if not self._owed:
                self._settled.set()

    async def drain(self, grace: float) -> int:
        """Take no more questions; give those in flight ``grace`` seconds, then give up on them.

        Returns how many were still in flight when stopping began.
        """
        self.closing = True
        owed = self._owed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._settled.wait()
        if not self._settled.is_set():
            log.warning("%d question(s) not answered within %.0f s", self._owed, grace)
            self._give_up.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(GIVE_UP_SECONDS):
                    await self._settled.wait()
        return owed

    async def _unless_stopping(self, work: Awaitable[T]) -> T:
        """``work``'s result, or ``Restarting`` if the shutdown gives up on it first."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self._give_up.wait())
        finished = False
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            finished = task.done()
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()  # abandoned: its result would have nobody to go to
        if not finished:
            raise Restarting()
        return task.result()

    # --------------------------------------------------------------- answering

    async def fetch(
        self,
        question: str,
        offset: int = 0,
        defer: Callable[[], Awaitable[None]] | None = None,
    ) -> Reply:
        """The engine's reply, scored off the loop; calls ``defer`` first if it is slow."""
        scoring = self.scorer.ask(question, self.page_size, offset)
        return await in_time(self._unless_stopping(scoring), defer)

    async def context(self, answer: Answer) -> tuple[str, ...]:
        """The sentences around ``answer`` in its article, scored off the loop."""
        return await self.scorer.context(answer)

    async def listing_embed(self) -> discord.Embed:
        """What /sources and the Sources button show: the articles answering now."""
        return discord.Embed.from_dict(sources_embed(await self.scorer.listing()))

    async def answer(self, ctx: Context, question: str) -> None:
        """Check, ask, and reply with the answers and their buttons (or the no-answer reason)."""
        self.check_place(ctx.channel, ctx.guild is not None)
        self.check_rate(ctx.author.id)
        async with self.owed(ctx):
            await self._answer(ctx, question)

    async def _answer(self, ctx: Context, question: str) -> None:
        reply = await self.fetch(question, defer=ctx.defer)
        page = reply_page(reply)
        if not reply.answers:
            await ctx.reply(page.content, mention_author=False, allowed_mentions=NO_MENTIONS)
            return
        view = AnswerView(self, reply, ctx.author.id, self.settings.button_timeout_seconds)
        view.message = await ctx.reply(
            page.content,
            embeds=embeds_of(page),
            view=view,
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
        )
        log.debug(
            "answered",
            extra={"answers": len(reply.answers), "guild": ctx.guild and ctx.guild.id},
        )

    # ---------------------------------------------------------------- commands

    @commands.hybrid_command(name="ask")
    @app_commands.describe(question="What you want to know, e.g. what did China say?")
    async def ask(self, ctx: Context, *, question: str) -> None:
        """Ask about the news articles: I reply with verbatim quotes and their sources."""
        await self.answer(ctx, question)

    @commands.hybrid_command(name="sources")
    async def sources(self, ctx: Context) -> None:
        """List the news articles I can quote from."""
        self.check_place(ctx.channel, ctx.guild is not None)
        await ctx.reply(
            embed=await self.listing_embed(),
            ephemeral=True,
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
        )

    @commands.hybrid_command(name="reload")
    @commands.guild_only()
    @commands.has_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    async def reload(self, ctx: Context) -> None:
        """Re-read the articles folder now and say what changed (server managers only)."""
        # default_permissions only hides /reload from members without Manage Server, and
        # a server may change that in its Integrations settings; has_permissions refuses
        # them on every use whatever the server chose.
        self.check_place(ctx.channel, ctx.guild is not None)
        async with self.owed(ctx):
            await self._reload(ctx)

    async def _reload(self, ctx: Context) -> None:
        reloaded = await in_time(self.scorer.reload(), lambda: ctx.defer(ephemeral=True))
        log.info(
            "corpus reloaded",
            extra={
                "change": reloaded.change.summary(),
                "user_id": ctx.author.id,
                "guild": ctx.guild and ctx.guild.id,
            },
        )
        await ctx.reply(
            embed=discord.Embed.from_dict(reload_embed(reloaded)),
            ephemeral=True,
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
        )

    @commands.hybrid_command(name="help")
    async def help(self, ctx: Context) -> None:
        """How to ask me questions and what the buttons under an answer do."""
        await self._send_help(ctx)

    async def _send_help(self, ctx: Context) -> None:
        embed = help_embed(self.settings.command_prefix, self.settings.message_content_intent)
        await ctx.reply(
            embed=discord.Embed.from_dict(embed),
            ephemeral=True,
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
        )

    # --------------------------------------------------------------- listeners

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """``@Bot what did China say?``: Discord sends mention text even without the intent."""
        if message.author.bot or self.bot.user is None:
            return
        question = mentioned_question(message.content, self.bot.user.id)
        if question is None:
            return
        ctx: Context = await self.bot.get_context(message)
        try:
            if question.strip().lower() in ("help", "/help"):
                await self._send_help(ctx)
            else:
                await self.answer(ctx, question)
        except Exception as exc:  # the commands' handler does not see listeners
            await report(ctx, exc)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A click on buttons that are no longer live gets a clear line, not "failed"."""
        if interaction.type is not discord.InteractionType.component:
            return
        parsed = parse_custom_id(str((interaction.data or {}).get("custom_id", "")))
        if parsed is None or parsed[0] in self.views:
            return
        await send_private(interaction, EXPIRED)
