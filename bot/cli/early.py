"""What a one-shot command starts before it imports the rest of the bot.

``ask`` and ``sources`` with ``--corpus DIR`` check every file of DIR against the
saved index; the listing (a stat of each file: tenths of a second at 50,000 files)
is started here, in a child process, so it runs while the engine, numpy and the
settings are imported. This module imports only the standard library and the
lister; anything it cannot tell from the arguments alone (the folder of the
``corpus_dir`` setting, an option it does not know) starts nothing, and the
listing then starts when the folder is opened.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.ingest import stamp_lister

_COMMANDS = frozenset({"ask", "sources"})  # the one-shot commands that open the folder


def corpus_argument(argv: Sequence[str]) -> str | None:
    """The ``--corpus`` folder of an ``ask`` or ``sources`` command line, if it names one."""
    if not argv or argv[0] not in _COMMANDS:
        return None
    for number, argument in enumerate(argv[1:], start=1):
        if argument == "--":
            return None
        if argument == "--corpus" and number + 1 < len(argv):
            return argv[number + 1]
        if argument.startswith("--corpus="):
            return argument.removeprefix("--corpus=")
    return None


def list_early(argv: Sequence[str]) -> None:
    """Start listing the command line's corpus folder, if it names one (see the module docs)."""
    folder = corpus_argument(argv)
    if folder:
        stamp_lister.start_early(folder)
