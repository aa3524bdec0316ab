"""What the terminal commands share: the ``--corpus`` folder, answers per question, progress.

One place, so every command reads ``--corpus`` and ``--top-k`` the same way and
shows the same progress bar while a corpus is indexed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TextIO

from bot.core.answer.engine import Progress
from bot.settings import Settings

EXIT_FAILED = 1  # the command ran and failed (an index that could not be saved)
EXIT_USAGE = 2  # what was asked cannot be done as asked (a user error)


def parent_parsers() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The ``--corpus DIR`` and ``--quiet`` options, as parents for the commands that take them."""
    corpus = argparse.ArgumentParser(add_help=False)
    corpus.add_argument("--corpus", metavar="DIR", help="folder of articles (default: setting)")
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return corpus, quiet


def corpus_folder(args: argparse.Namespace, settings: Settings) -> Path:
    """The folder a command works on: ``--corpus`` if given, else the ``corpus_dir`` setting."""
    return Path(args.corpus) if getattr(args, "corpus", None) else settings.corpus_dir


def top_k(args: argparse.Namespace, settings: Settings) -> int:
    """Answers per question: ``--top-k`` if given, else the ``top_k`` setting."""
    return args.top_k or settings.top_k


def progress_bar(stream: TextIO, quiet: bool = False) -> Progress | None:
    """A one-line progress bar (files, sentences, rate) on a terminal; nothing when piped."""
    if quiet or not stream.isatty():
        return None
    started = time.monotonic()
    shown = [0.0]

    def show(done: int, total: int, sentences: int) -> None:
        now = time.monotonic()
        if done != total and now - shown[0] < 0.1:
            return
        shown[0] = now
        width = 24
        filled = width * done // max(total, 1)
        rate = sentences / max(now - started, 1e-9)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done == total else ""
        print(
            f"\rindexing [{bar}] {done}/{total} files, {sentences:,} sentences, "
            f"{rate:,.0f} sentences/s",
            end=end,
            file=stream,
            flush=True,
        )

    return show
