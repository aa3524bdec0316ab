"""``python -m bot``: argument parsing and the one-shot commands.

The ``ask --json`` output is a contract for scripts: one JSON object per
question, ``{"question", "answers": [{"quote", "source", "score", ...}],
"no_answer_reason"}``, extended but never broken.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from bot import __version__
from bot.cli.render import reply_text, sources_text
from bot.cli.repl import run_repl
from bot.core.engine import Engine
from bot.core.errors import UserError
from bot.core.live import LiveCorpus, Watcher
from bot.core.models import Reply
from bot.discord.commands import add_discord_commands
from bot.logs import configure
from bot.settings import Settings

log = logging.getLogger(__name__)

EXIT_USAGE = 2


def _progress(stream: TextIO) -> Callable[[int, int], None] | None:
    """A one-line progress counter on a terminal; nothing when output is piped."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            end = "\n" if done == total else ""
            print(f"\rindexing articles: {done}/{total}", end=end, file=stream, flush=True)

    return show


def _engine(args: argparse.Namespace, settings: Settings, quiet: bool = False) -> Engine:
    folder = Path(args.corpus) if getattr(args, "corpus", None) else settings.corpus_dir
    return Engine.from_folder(folder, settings, None if quiet else _progress(sys.stderr))


def _top_k(args: argparse.Namespace, settings: Settings) -> int:
    return args.top_k or settings.top_k


def _reply_json(reply: Reply) -> str:
    return json.dumps(reply.to_json(), ensure_ascii=False)


def _error_json(question: str, message: str) -> str:
    return json.dumps(
        {"question": question, "answers": [], "no_answer_reason": message, "error": message},
        ensure_ascii=False,
    )


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """One question from the command line, or (with --json and no question) many from stdin."""
    engine = _engine(args, settings, quiet=args.json)
    k = _top_k(args, settings)
    if args.question is not None:
        question = " ".join(args.question)
        try:
            reply = engine.ask(question, k)
        except UserError as exc:
            if args.json:
                print(_error_json(question, str(exc)))
            else:
                print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(_reply_json(reply) if args.json else reply_text(reply))
        return 0
    if not args.json:
        print("error: give a QUESTION, or use --json to read questions from stdin", file=sys.stderr)
        return EXIT_USAGE
    for line in sys.stdin:
        question = line.rstrip("\r\n")
        try:
            print(_reply_json(engine.ask(question, k)), flush=True)
        except UserError as exc:
            print(_error_json(question, str(exc)), flush=True)
    return 0


def cmd_repl(args: argparse.Namespace, settings: Settings) -> int:
    """The interactive loop over the corpus, which is watched for changes while it runs."""
    folder = Path(args.corpus) if args.corpus else settings.corpus_dir
    corpus = LiveCorpus.load(folder, settings, _progress(sys.stderr))
    if settings.watch_interval_seconds <= 0:
        return run_repl(corpus, _top_k(args, settings))
    with Watcher(corpus, settings.watch_interval_seconds):
        return run_repl(corpus, _top_k(args, settings))


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    """List the loaded articles (and, with --errors, the files that could not be read)."""
    engine = _engine(args, settings, quiet=args.json)
    if args.json:
        payload = {
            "articles": [
                {**info.source.to_json(), "sentences": info.sentences} for info in engine.sources()
            ],
            "errors": [{"id": e.path, "reason": e.reason} for e in engine.errors],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(sources_text(engine.sources()))
    if args.errors:
        if engine.errors:
            print(f"\n{len(engine.errors)} file(s) could not be read:")
            for error in engine.errors:
                print(f"- {error.path}: {error.reason}")
        else:
            print("\nEvery file was read.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m bot`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions about news articles with verbatim, attributed quotes.",
    )
    parser.add_argument("--version", action="version", version=f"newsquote {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    corpus = argparse.ArgumentParser(add_help=False)
    corpus.add_argument("--corpus", metavar="DIR", help="folder of articles (default: setting)")
    top_k = argparse.ArgumentParser(add_help=False)
    top_k.add_argument("--top-k", type=_positive, metavar="K", help="answers per question")

    ask = commands.add_parser(
        "ask",
        parents=[corpus, top_k],
        help="answer one question (or, with --json, questions from stdin)",
        description="Answer a question with verbatim quotes from the articles.",
    )
    ask.add_argument("question", nargs="*", default=None, help="the question (quotes optional)")
    ask.add_argument("--json", action="store_true", help="print the machine-readable contract")
    ask.set_defaults(func=cmd_ask)

    repl = commands.add_parser(
        "repl",
        parents=[corpus, top_k],
        help="ask questions interactively",
        description="Interactive questions: :more, :sources, :reload, :help, :quit (or Ctrl-D). "
        "The corpus folder is watched: added, edited and deleted files are picked up.",
    )
    repl.set_defaults(func=cmd_repl)

    sources = commands.add_parser(
        "sources",
        parents=[corpus],
        help="list the loaded articles",
        description="List the loaded articles with their metadata and sentence counts.",
    )
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    sources.add_argument("--errors", action="store_true", help="also list unreadable files")
    sources.set_defaults(func=cmd_sources)
    add_discord_commands(commands)
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build settings once, run the command; user errors become one line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "question", None) == []:
        args.question = None
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"error: setting {where}: {first['msg']}", file=sys.stderr)
        return EXIT_USAGE
    configure(settings.log_level, settings.log_format)
    try:
        return args.func(args, settings)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as a pipeline expects.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
