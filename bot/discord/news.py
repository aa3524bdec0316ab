"""/add and /feeds: server managers bring news in from Discord.

Both are for members with Manage Server, checked on every use (as /reload is):
``default_permissions`` only hides a command, and a server may change that.

The fetching runs in a thread of this process (it is network-bound; the page text is
extracted once, briefly), and the files land in the corpus folder of the scoring
process, which is then told to rescan: an added page is answerable as soon as the
reply says so. Feeds themselves are polled in the scoring process (``Articles``);
/feeds only changes which feeds the shared state file lists.

/add and /feeds add fetch, and someone waits for their reply: like a question, each is
owed an answer (``Ask.owed``), so a shutdown lets it finish within the grace period and
otherwise tells its user the bot is restarting.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import UserError
from bot.core.feeds.news import News
from bot.core.feeds.results import Added, FeedView
from bot.core.feeds.service import open_news
from bot.discord.cog import Ask
from bot.discord.errors import NO_MENTIONS
from bot.discord.formatting import SOURCES_COLOUR, clip, escape, one_line
from bot.discord.scoring import Scorer
from bot.settings import Settings

log = logging.getLogger(__name__)

Context = commands.Context[commands.Bot]
NO_FOLDER = "I answer from a fixed set of articles here, with no folder to add pages to."
_MAX_LISTED = 20


def added_line(added: Added) -> str:
    """What /add did, in one line: the article's title and publisher, or why not."""
    if len(added.taken) == 1 and not added.failed:
        taken = added.taken[0]
        name = f"“{taken.title}”" if taken.title else taken.id
        by = f" — {taken.publisher}" if taken.publisher else ""
        verb = {
            "added": "Added",
            "replaced": "Updated",
            "unchanged": "Already up to date:",
            "duplicate": "Already there:",
        }.get(taken.change, "Added")
        return f"{verb} {name}{by}."
    if not added.taken and len(added.failed) == 1:
        return f"Not added: {added.failed[0].url}: {added.failed[0].reason}"
    new = sum(1 for item in added.taken if item.change in ("added", "replaced"))
    line = f"Added {new} article(s) from that sitemap or feed"
    if len(added.taken) > new:
        line += f", {len(added.taken) - new} already there"
    if added.failed:
        line += f"; {len(added.failed)} failed (first: {added.failed[0].reason})"
    if added.skipped:
        line += f"; {added.skipped} more left out"
    return line + "."


def feeds_embed(views: list[FeedView]) -> dict[str, object]:
    """The followed feeds: name and link, last fetch, status and article count."""
    if not views:
        lines = ["No feeds are followed. Add one with /feeds add url:…"]
    else:
        lines = []
        for view in views[:_MAX_LISTED]:
            name = escape(clip(view.title or view.url, 100, markdown=False))
            when = f"<t:{int(view.last_attempt)}:R>" if view.last_attempt else "never fetched"
            origin = "" if view.origin == "added" else " (settings)"
            lines.append(
                f"• [{name}]({view.url}){origin}: {when}; {escape(clip(view.status, 200, markdown=False))}; "
                f"{view.articles} article(s)"
            )
        if len(views) > _MAX_LISTED:
            lines.append(f"…and {len(views) - _MAX_LISTED} more (python -m bot feeds lists all)")
    return {
        "title": f"Feeds followed ({len(views)})",
        "description": "\n".join(lines)[:4000],
        "color": SOURCES_COLOUR,
    }


class NewsCommands(commands.Cog, name="News"):
    """Adding pages and following feeds (server managers only)."""

    def __init__(
        self, bot: commands.Bot, scorer: Scorer | None, settings: Settings, questions: Ask
    ) -> None:
        self.bot = bot
        self.scorer = scorer
        self.settings = settings
        self.questions = questions  # whose shutdown drain counts /add and /feeds add too
        self._news: dict[Path, News] = {}

    async def cog_unload(self) -> None:
        """Close the HTTP connections of the fetchers made."""
        for news in self._news.values():
            news.fetcher.close()

    async def news(self) -> News:
        """The fetch service for the corpus folder being answered from."""
        folder = await self.scorer.folder() if self.scorer is not None else None
        if folder is None:
            raise UserError(NO_FOLDER)
        if folder not in self._news:
            self._news[folder] = open_news(self.settings.core_options(), folder)
        return self._news[folder]

    async def _say(self, ctx: Context, text: str) -> None:
        await ctx.reply(
            one_line(text), ephemeral=True, mention_author=False, allowed_mentions=NO_MENTIONS
        )

    @commands.hybrid_command(name="add")
    @commands.guild_only()
    @commands.has_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(url="The address of a news article (or of a sitemap or feed)")
    async def add(self, ctx: Context, url: str) -> None:
        """Fetch a news article into the corpus, so I can quote it (server managers only)."""
        async with self.questions.owed(ctx):
            await self._add(ctx, url)

    async def _add(self, ctx: Context, url: str) -> None:
        await ctx.defer(ephemeral=True)  # a fetch can take longer than Discord's 3 seconds
        news = await self.news()
        added = await self.questions.unless_stopping(asyncio.to_thread(news.add, [url]))
        if added.changed and self.scorer is not None:
            await self.scorer.reload()
        log.info(
            "added by command",
            extra={"url": url, "user_id": ctx.author.id, "taken": len(added.taken)},
        )
        await self._say(ctx, added_line(added))

    @commands.hybrid_group(name="feeds", fallback="list")
    @commands.guild_only()
    @commands.has_permissions(manage_guild=True)
    @app_commands.default_permissions(manage_guild=True)
    async def feeds(self, ctx: Context) -> None:
        """The feeds I follow, with their last fetch and article counts (managers only)."""
        news = await self.news()
        views = await asyncio.to_thread(news.feeds)
        await ctx.reply(
            embed=discord.Embed.from_dict(feeds_embed(views)),
            ephemeral=True,
            mention_author=False,
            allowed_mentions=NO_MENTIONS,
        )

    @feeds.command(name="add")
    @commands.guild_only()
    @commands.has_permissions(manage_guild=True)
    @app_commands.describe(url="The address of an RSS or Atom feed, or of a sitemap")
    async def feeds_add(self, ctx: Context, url: str) -> None:
        """Follow a feed or sitemap: its new articles are fetched at every poll."""
        async with self.questions.owed(ctx):
            await self._follow(ctx, url)

    async def _follow(self, ctx: Context, url: str) -> None:
        await ctx.defer(ephemeral=True)
        news = await self.news()
        view = await self.questions.unless_stopping(asyncio.to_thread(news.follow, url))
        minutes = self.settings.feed_interval_minutes
        when = f"every {minutes:g} min" if minutes > 0 else "when python -m bot feeds --poll runs"
        name = f"“{view.title}”" if view.title else view.url
        await self._say(ctx, f"Following {name} ({view.kind}); new articles are fetched {when}.")

    @feeds.command(name="remove")
    @commands.guild_only()
    @commands.has_permissions(manage_guild=True)
    @app_commands.describe(url="The address of a feed added with /feeds add")
    async def feeds_remove(self, ctx: Context, url: str) -> None:
        """Stop following a feed added with /feeds add; its articles stay until pruned."""
        news = await self.news()
        kept = await asyncio.to_thread(news.unfollow, url)
        await self._say(ctx, f"No longer following {url}; its {kept} article(s) stay.")
