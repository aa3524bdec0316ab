"""The buttons under an answer: More (next page, asker only), Context (around a quote), Sources.

A view lives for ``button_timeout_seconds``; then its buttons are disabled on the
message and clicks on them get a one-line "expired" reply (see ``Ask.on_interaction``).
The view knows the commands that showed it only as an ``AnswerHost``: what a click
needs (a page, a context, the listing, the user's cooldown, a shutdown's bookkeeping).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import discord

from bot.core.models import Answer, Reply
from bot.discord.errors import NO_MENTIONS, Expired, report
from bot.discord.formatting import Page, context_embed, reply_page

log = logging.getLogger(__name__)

CUSTOM_ID_PREFIX = "newsquote"
BUTTONS_PER_ROW = 5
NOT_YOURS = "Only the person who asked can page through these answers; ask your own with /ask."
GONE = "That article has been removed or no longer has this quote; ask again with /ask."

Callback = Callable[[discord.Interaction], Awaitable[None]]


class AnswerHost(Protocol):
    """What the buttons ask of the commands that showed them (the ``Ask`` cog)."""

    views: dict[str, AnswerView]  # live views by token; a click on any other has expired

    def owed(self, target: discord.Interaction) -> AbstractAsyncContextManager[None]:
        """Around a click's work, so a shutdown lets it finish (or tells the user)."""
        ...

    def check_rate(self, user_id: int) -> None:
        """Count a click that asks again against the user's cooldown."""
        ...

    async def fetch(self, question: str, offset: int = 0) -> Reply:
        """The reply to ``question`` from answer ``offset`` on."""
        ...

    async def context(self, answer: Answer) -> tuple[str, ...]:
        """The sentences around ``answer`` in its article."""
        ...

    async def listing_embed(self) -> discord.Embed:
        """The loaded articles, as /sources shows them."""
        ...


def embeds_of(page: Page) -> list[discord.Embed]:
    """The page's embed dicts as discord.py objects."""
    return [discord.Embed.from_dict(embed) for embed in page.embeds]


def parse_custom_id(custom_id: str) -> tuple[str, str, int] | None:
    """``(view token, action, index)`` from one of our button ids; None for anyone else's."""
    parts = custom_id.split(":")
    if len(parts) != 4 or parts[0] != CUSTOM_ID_PREFIX or not parts[3].isdigit():
        return None
    return parts[1], parts[2], int(parts[3])


class AnswerView(discord.ui.View):
    """Buttons for one answered question; holds the page shown so More and Context know it."""

    def __init__(self, host: AnswerHost, reply: Reply, asker_id: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.host = host
        self.reply = reply
        self.asker_id = asker_id
        self.token = secrets.token_hex(8)
        self.message: discord.Message | None = None
        self._paging = asyncio.Lock()
        self._layout()
        host.views[self.token] = self

    def _layout(self) -> None:
        """Rebuild the buttons for the page in ``self.reply``."""
        self.clear_items()
        self._button(
            "More", "more", 0, self._more, discord.ButtonStyle.primary, not self.reply.more
        )
        self._button("Sources", "sources", 0, self._sources)
        for index in range(len(self.reply.answers)):
            number = self.reply.offset + index + 1
            row = 1 + index // BUTTONS_PER_ROW

            async def show(interaction: discord.Interaction, index: int = index) -> None:
                await self._context(interaction, index)

            self._button(f"Context {number}", "context", row, show, index=index)

    def _button(
        self,
        label: str,
        action: str,
        row: int,
        callback: Callback,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        disabled: bool = False,
        index: int = 0,
    ) -> None:
        button: discord.ui.Button[AnswerView] = discord.ui.Button(
            label=label,
            style=style,
            disabled=disabled,
            row=row,
            custom_id=f"{CUSTOM_ID_PREFIX}:{self.token}:{action}:{index}",
        )
        button.callback = callback  # type: ignore[method-assign]
        self.add_item(button)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Anyone may read Context and Sources; only the asker may page with More."""
        parsed = parse_custom_id(str((interaction.data or {}).get("custom_id", "")))
        if parsed is None or parsed[1] != "more" or interaction.user.id == self.asker_id:
            return True
        await interaction.response.send_message(
            NOT_YOURS, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        return False

    async def _more(self, interaction: discord.Interaction) -> None:
        """Replace the shown answers with the next page for the same question."""
        async with self._paging, self.host.owed(interaction):
            self.host.check_rate(interaction.user.id)
            offset = self.reply.offset + len(self.reply.answers)
            reply = await self.host.fetch(self.reply.question, offset)
            if not reply.answers:
                self.reply = dataclasses.replace(self.reply, more=False)
                self._layout()
                await interaction.response.edit_message(view=self)
                return
            self.reply = reply
            self._layout()
            page = reply_page(reply)
            await interaction.response.edit_message(
                content=page.content,
                embeds=embeds_of(page),
                view=self,
                allowed_mentions=NO_MENTIONS,
            )

    async def _context(self, interaction: discord.Interaction, index: int) -> None:
        """The sentences around answer ``index`` of the shown page, to the clicker only."""
        if index >= len(self.reply.answers):
            raise Expired("That answer is no longer shown; use the buttons under the new page.")
        answer = self.reply.answers[index]
        sentences = await self.host.context(answer)
        if not sentences:  # the folder changed since the answer was given
            raise Expired(GONE)
        embed = context_embed(answer, sentences, self.reply.offset + index + 1)
        await interaction.response.send_message(
            embed=discord.Embed.from_dict(embed), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def _sources(self, interaction: discord.Interaction) -> None:
        """The loaded articles, to the clicker only."""
        embed = await self.host.listing_embed()
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def on_timeout(self) -> None:
        """Disable the buttons on the message so nobody clicks a dead one."""
        self.host.views.pop(self.token, None)
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is None:
            return
        try:
            await self.message.edit(view=self)
        except discord.HTTPException as exc:  # deleted message, expired interaction token
            log.debug("could not disable buttons: %s", exc, extra={"status": exc.status})

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Buttons share the commands' error handling."""
        await report(interaction, error)
