"""The indexing progress bar: shown on a terminal, silent when piped or asked for JSON."""

import io

from bot.cli.options import progress_bar as _progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_files_sentences_and_rate_on_a_terminal():
    stream = Terminal()
    show = _progress(stream)
    assert show is not None
    show(1, 4, 10)
    show(4, 4, 55)
    last = stream.getvalue().split("\r")[-1]
    assert "4/4 files" in last and "55 sentences" in last and "sentences/s" in last
    assert last.endswith("\n")


def test_progress_is_silent_when_piped_or_quiet():
    assert _progress(io.StringIO()) is None
    assert _progress(Terminal(), quiet=True) is None
