"""``python -m bot run`` and ``python -m bot sync``: the Discord subcommands of the CLI.

discord.py is imported only when one of these runs, so ``ask``/``repl``/``sources``
work without the ``discord`` extra installed. Errors are ``UserError``s: the CLI's
``main`` prints them as one line and exits non-zero.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from bot.core.errors import UserError
from bot.settings import Settings


def add_discord_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    corpus: argparse.ArgumentParser,
) -> None:
    """Register ``run [--corpus DIR]`` and ``sync [--guild ID]`` on the CLI's subcommands.

    ``corpus``: the parent parser giving ``--corpus``, shared with the other commands.
    """
    run = subparsers.add_parser(
        "run",
        parents=[corpus],
        help="start the Discord worker (needs DISCORD_TOKEN)",
        description=(
            "Connect to Discord and answer /ask, !ask and mentions until SIGTERM or Ctrl-C. "
            "The token comes from DISCORD_TOKEN in the environment or .env."
        ),
    )
    run.set_defaults(func=cmd_run)
    sync = subparsers.add_parser(
        "sync",
        help="register the slash commands with Discord",
        description=(
            "Register /ask, /sources, /help and /reload with Discord. Run it once after "
            "install and after the commands change; --guild makes them appear at once in "
            "that server."
        ),
    )
    sync.add_argument("--guild", type=int, metavar="ID", help="a server (guild) id to sync to")
    sync.set_defaults(func=cmd_sync)


def token_of(settings: Settings) -> str:
    """The bot token, or a one-line error saying where to put it (the token is never shown)."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise UserError(
            "DISCORD_TOKEN is not set: put it in the environment or in .env "
            "(see the README, 'Run it on Discord')."
        )
    return token


def _require_discord() -> None:
    if importlib.util.find_spec("discord") is None:
        raise UserError("discord.py is not installed: pip install 'newsquote-bot[discord]'")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the worker until stopped; 0 after a clean shutdown."""
    token = token_of(settings)  # no token: fail at once, before loading anything
    _require_discord()
    from bot.discord.worker import run

    return run(settings, token, Path(args.corpus) if args.corpus else None)


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Sync the slash commands and say where they went."""
    import asyncio

    token = token_of(settings)
    _require_discord()
    from bot.discord.worker import sync

    names = asyncio.run(sync(settings, token, args.guild))
    where = f"to server {args.guild}" if args.guild else "globally"
    listed = ", ".join(f"/{name}" for name in names)
    print(f"Synced {len(names)} command(s) {where}: {listed}")  # noqa: T201 (CLI output)
    return 0
