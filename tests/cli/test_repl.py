"""The REPL driven through its standard input, as a person at a terminal would type."""

import subprocess
import sys

from tests.conftest import REPO


def session(*lines: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "repl"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ask_then_more_shows_new_answers():
    out = session("what did China say?", ":more")
    first, _, rest = out.partition("\n4. ")
    assert "1. " in first and "internal affair" in first
    assert rest, "':more' should continue the numbering at 4"


def test_sources_help_and_unknown_commands():
    out = session(":sources", ":help", ":bogus")
    assert "2 article(s)" in out
    assert ":more" in out and ":quit" in out
    assert "Unknown command ':bogus'" in out


def test_empty_lines_do_nothing_and_quit_stops_reading():
    out = session("", "   ", ":quit", "what did China say?")
    assert "1. " not in out


def test_more_before_any_question_explains_itself():
    assert "Ask a question first" in session(":more")


def test_unanswerable_question_says_so():
    assert "No answer: No article mentions Angela Merkel." in session("What did Angela Merkel say?")
