"""The one error handler: a user's mistake gets one line only they see; anything else is logged.

Commands, mentions, buttons and the app-command tree all come here, so the mapping
from exception to reply lives in one place.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.errors import UserError
from bot.discord.formatting import one_line

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
APOLOGY = "Sorry, something went wrong while answering. It has been logged; please try again."
EXAMPLE = "what did China say?"
# Discord's names for the permissions our checks ask for, as its settings screens show them.
_PERMISSION_NAMES = {"manage_guild": "Manage Server"}
_WRAPPERS = (
    commands.CommandInvokeError,
    commands.HybridCommandError,
    app_commands.CommandInvokeError,
)


class NotHere(UserError):
    """Asked in a channel or DM the bot is configured not to answer in."""


class OnCooldown(UserError):
    """The user asked more often than the cooldown allows."""


class Restarting(UserError):
    """Asked while the worker is stopping, or not answered within the shutdown's grace period."""

    def __init__(self) -> None:
        super().__init__("I'm restarting and could not answer that; ask again in a minute.")


class Expired(UserError):
    """A button whose answer is no longer live (timed out or from before a restart)."""


def unwrap(error: BaseException) -> BaseException:
    """The exception that actually happened, from inside discord.py's wrappers."""
    while isinstance(error, _WRAPPERS):
        error = error.original
    return error


def explain(error: BaseException) -> str | None:
    """The one line to show for a user's mistake, or None when it is a bug to log."""
    error = unwrap(error)
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, commands.MissingRequiredArgument):
        return f"Ask a question after the command, for example: {EXAMPLE}"
    if isinstance(error, commands.UserInputError):
        return f"I could not read that as a question; try for example: {EXAMPLE}"
    if isinstance(error, commands.MissingPermissions | app_commands.MissingPermissions):
        needed = " and ".join(_PERMISSION_NAMES.get(p, p) for p in error.missing_permissions)
        return f"Only members with the {needed} permission can do that."
    if isinstance(error, commands.CheckFailure | app_commands.CheckFailure):
        return "That command is not available here."
    return None


async def report(
    target: commands.Context[commands.Bot] | discord.Interaction, error: BaseException
) -> None:
    """Answer ``error`` to whoever caused it: one ephemeral line, or a logged apology."""
    message = explain(error)
    if message is None:
        cause = unwrap(error)
        log.error(
            "unexpected error while answering",
            exc_info=(type(cause), cause, cause.__traceback__),
            extra={"error": type(cause).__name__},
        )
        message = APOLOGY
    try:
        await send_private(target, one_line(message))
    except discord.HTTPException as exc:
        log.warning("could not send an error reply: %s", exc, extra={"status": exc.status})


async def send_private(
    target: commands.Context[commands.Bot] | discord.Interaction, text: str
) -> None:
    """An ephemeral line for interactions; a plain reply for prefix commands and mentions.

    Discord has no ephemeral messages outside interactions, so ``!ask`` and mentions get
    a normal one-line reply to the user's message.
    """
    if isinstance(target, discord.Interaction):
        if target.response.is_done():
            await target.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await target.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return
    await target.reply(text, ephemeral=True, mention_author=False, allowed_mentions=NO_MENTIONS)
