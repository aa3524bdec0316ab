"""The interactive loop: ask, page with ``:more``, list ``:sources``; leave with Ctrl-D."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TextIO

from bot.cli.render import reply_text, sources_text
from bot.core.corpus.service import Articles
from bot.core.errors import UserError, echoed
from bot.core.models import Reply

HELP = """Ask a question about the loaded articles, e.g.  what did China say?
Commands:
  :more      the next answers to the last question
  :sources   the loaded articles
  :reload    re-read the corpus folder now (it is also watched for changes)
  :help      this text
  :quit      leave (Ctrl-D works too)"""
HISTORY = Path.home() / ".newsquote_history"


def _enable_history() -> None:
    """Line editing and a history file, where the terminal supports them."""
    try:
        import readline
    except ImportError:
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    readline.set_history_length(1000)
    import atexit

    atexit.register(lambda: _save_history(readline))


def _save_history(readline: object) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(HISTORY)  # type: ignore[attr-defined]


def run_repl(
    articles: Articles, top_k: int, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> int:
    """Read questions until end of input or ``:quit``; returns the exit code.

    Every command asks ``articles`` afresh, so changes its watcher applied in the
    meantime are answered from at once.
    """
    interactive = stdin.isatty()
    if interactive:
        _enable_history()
    engine = articles.engine
    counts = f"{engine.article_count} articles, {engine.sentence_count} sentences"
    print(f"newsquote: {counts}. :help for help.", file=out)
    last: Reply | None = None
    while True:
        try:
            line = input("ask> ") if interactive else stdin.readline()
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return 0
        if not interactive and line == "":
            return 0
        command = line.strip()
        if not command:
            continue
        if command in {":quit", ":q", ":exit"}:
            return 0
        if command == ":help":
            print(HELP, file=out)
        elif command == ":sources":
            print(sources_text(articles.sources()), file=out)
        elif command == ":reload":
            print(f"Reloaded: {articles.reload().change.summary()}.", file=out)
        elif command == ":more":
            if last is None:
                print("Ask a question first; :more shows its next answers.", file=out)
                continue
            last = articles.ask(last.question, top_k, last.offset + top_k)
            print(reply_text(last), file=out)
        elif command.startswith(":"):
            print(f"Unknown command {echoed(command)!r}; :help lists the commands.", file=out)
        else:
            try:
                last = articles.ask(command, top_k)
            except UserError as exc:
                print(f"error: {exc}", file=out)
                continue
            print(reply_text(last), file=out)
        out.flush()
