"""``python -m bot``: argument parsing, and the commands that ask the corpus.

Every command that answers or lists asks the one corpus service
(``bot.core.corpus.service.Articles``), as the Discord worker does; ``index``,
``add`` and ``remove`` (``bot.cli.manage``) change the folder and its saved index.

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
from collections.abc import Sequence

from bot import __version__
from bot.cli.fetching import add_feed_commands, fetch_failures, print_fetch_failures
from bot.cli.manage import add_index_commands
from bot.cli.options import EXIT_USAGE, corpus_folder, parent_parsers, progress_bar, top_k
from bot.cli.render import reply_text, sources_text
from bot.cli.repl import run_repl
from bot.core.corpus.service import Articles
from bot.core.errors import UserError, echoed
from bot.core.models import Reply
from bot.discord.commands import add_discord_commands
from bot.logs import configure
from bot.settings import SETTINGS_ERRORS, Settings, settings_problem

log = logging.getLogger(__name__)


def _reply_json(reply: Reply) -> str:
    return json.dumps(reply.to_json(), ensure_ascii=False)


def _error_json(question: str, message: str, limit: int) -> str:
    """The contract's object for a refused question; a too-long one is echoed as a prefix."""
    return json.dumps(
        {
            "question": echoed(question, limit),
            "answers": [],
            "no_answer_reason": message,
            "error": message,
        },
        ensure_ascii=False,
    )


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """One question from the command line, or (with --json and no question) many from stdin."""
    folder = corpus_folder(args, settings)
    articles = Articles.open(settings.core_options(), folder, progress_bar(sys.stderr, args.json))
    k = top_k(args, settings)
    if args.question is not None:
        question = " ".join(args.question)
        try:
            reply = articles.ask(question, k)
        except UserError as exc:
            if args.json:
                print(_error_json(question, str(exc), settings.max_question_chars))
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
            print(_reply_json(articles.ask(question, k)), flush=True)
        except UserError as exc:
            print(_error_json(question, str(exc), settings.max_question_chars), flush=True)
    return 0


def cmd_repl(args: argparse.Namespace, settings: Settings) -> int:
    """The interactive loop over the corpus, which is watched for changes while it runs."""
    folder = corpus_folder(args, settings)
    articles = Articles.watch(settings.core_options(), folder, progress_bar(sys.stderr))
    try:
        return run_repl(articles, top_k(args, settings))
    finally:
        articles.close()


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    """List the loaded articles (and, with --errors, the files that could not be read)."""
    folder = corpus_folder(args, settings)
    articles = Articles.open(settings.core_options(), folder, progress_bar(sys.stderr, args.json))
    listed, errors = articles.sources(), articles.unreadable
    fetching = fetch_failures(folder, settings)
    if args.json:
        payload = {
            "articles": [{**info.source.to_json(), "sentences": info.sentences} for info in listed],
            "errors": [{"id": e.shown_path, "reason": e.reason} for e in errors],
            "fetch_errors": [{"url": f.url, "reason": f.reason} for f in fetching],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(sources_text(listed))
    if errors and not args.errors:
        print(f"\n{len(errors)} file(s) could not be read: see sources --errors")
    if args.errors:
        if errors:
            print(f"\n{len(errors)} file(s) could not be read:")
            for error in errors:
                print(f"- {error.shown_path}: {error.reason}")
        else:
            print("\nEvery file was read.")
    print_fetch_failures(fetching, args.errors)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m bot`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Answer questions about news articles with verbatim, attributed quotes.",
    )
    parser.add_argument("--version", action="version", version=f"newsquote {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    corpus, quiet = parent_parsers()
    _add_question_commands(commands, corpus)
    add_index_commands(commands, corpus, quiet)
    add_feed_commands(commands, [corpus, quiet])
    add_discord_commands(commands, corpus)
    return parser


def _add_question_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    corpus: argparse.ArgumentParser,
) -> None:
    """``ask``, ``repl`` and ``sources``: the commands that read the corpus."""
    answers = argparse.ArgumentParser(add_help=False)
    answers.add_argument("--top-k", type=_positive, metavar="K", help="answers per question")
    ask = commands.add_parser(
        "ask",
        parents=[corpus, answers],
        help="answer one question (or, with --json, questions from stdin)",
        description="Answer a question with verbatim quotes from the articles.",
    )
    ask.add_argument("question", nargs="*", default=None, help="the question (quotes optional)")
    ask.add_argument("--json", action="store_true", help="print the machine-readable contract")
    ask.set_defaults(func=cmd_ask)
    repl = commands.add_parser(
        "repl",
        parents=[corpus, answers],
        help="ask questions interactively",
        description="Interactive questions: :more, :sources, :reload, :help, :quit (or Ctrl-D). "
        "The corpus folder is watched: added, edited and deleted files are picked up.",
    )
    repl.set_defaults(func=cmd_repl)
    sources = commands.add_parser(
        "sources",
        parents=[corpus],
        help="list the loaded articles",
        description="List the loaded articles with their metadata and sentence counts; "
        "--errors also lists the files that could not be read and the pages and feeds "
        "that could not be fetched, with why.",
    )
    sources.add_argument("--json", action="store_true", help="machine-readable output")
    sources.add_argument(
        "--errors", action="store_true", help="also list unreadable files and failed fetches"
    )
    sources.set_defaults(func=cmd_sources)


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
    except SETTINGS_ERRORS as exc:
        print(f"error: {settings_problem(exc)}", file=sys.stderr)
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
