"""The REPL driven through its standard input, as a person at a terminal would type."""

import os
import subprocess
import sys
import tempfile

from tests.conftest import REPO

_SCRATCH = tempfile.TemporaryDirectory(prefix="newsquote-repl-")  # removed at exit
# Saved indexes go to a scratch folder, never the project's data/.
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("NEWSQUOTE_")},
    "NEWSQUOTE_DATA_DIR": _SCRATCH.name,
}


def session(*lines: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "repl"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=ENV,
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


def test_a_megabyte_line_gets_a_short_error_and_the_repl_goes_on():
    out = session("what did China say " * 60_000, ":" + "x" * 1_000_000, "what did China say?")
    assert len(out) < 5_000
    assert (
        "error: That question is 1,139,999 characters long; "
        "a question may be at most 300 characters." in out
    )
    assert f"Unknown command {':' + 'x' * 39 + '…'!r};" in out
    assert "internal affair" in out


def test_more_before_any_question_explains_itself():
    assert "Ask a question first" in session(":more")


def test_unanswerable_question_says_so():
    assert "No answer: No article mentions Angela Merkel." in session("What did Angela Merkel say?")


def test_reload_picks_up_a_file_added_while_the_repl_runs(tmp_path):
    (tmp_path / "a.txt").write_text("The council said the bridge would reopen in May.\n", "utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "repl", "--corpus", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=ENV,
    )
    try:
        assert proc.stdout.readline().startswith("newsquote: 1 articles")
        (tmp_path / "b.txt").write_text("The zoo keeper said the pandas were well.\n", "utf-8")
        out, _ = proc.communicate(":reload\nwhat did the zoo keeper say?\n", timeout=60)
    finally:
        proc.kill()
    assert "Reloaded: 1 added, 0 changed, 0 removed, 0 unreadable." in out
    assert "The zoo keeper said the pandas were well." in out
