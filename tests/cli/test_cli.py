"""The command line as a script or a person uses it: through a real subprocess."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def run(
    *args: str, stdin: str | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQUOTE_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**base, **(env or {})},
        timeout=120,
    )


def test_ask_prints_quotes_with_their_sources():
    result = run("ask", "what did China say?")
    assert result.returncode == 0, result.stderr
    assert "internal affair" in result.stdout
    assert (
        "— China backs Russian efforts to stabilise country after Wagner rebellion, People’s Press Printing Society"
        in result.stdout
    )


def test_ask_json_one_question_is_one_object():
    result = run("ask", "--json", "--top-k", "2", "what did China say?")
    payload = json.loads(result.stdout)
    assert payload["question"] == "what did China say?"
    assert len(payload["answers"]) == 2
    assert payload["no_answer_reason"] is None
    assert payload["answers"][0]["source"]["id"].endswith(".txt")


def test_ask_json_reads_many_questions_from_stdin_one_object_per_line():
    questions = ["what did China say?", "who won the football match?", "", "what did Mr Ma say?"]
    result = run("ask", "--json", stdin="\n".join(questions) + "\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["question"] for line in lines] == questions
    assert lines[1]["answers"] == [] and lines[1]["no_answer_reason"]
    assert lines[2]["answers"] == [] and "error" in lines[2]
    assert "communicate" in lines[3]["answers"][0]["quote"]


def test_ask_json_against_another_corpus(tmp_path):
    (tmp_path / "a.txt").write_text(
        "The council said the bridge would reopen in May.\n\nTraffic was diverted.\n"
        "\nThe mayor welcomed the news.\n\nShops reported lower sales.\n",
        encoding="utf-8",
    )
    result = run("ask", "--json", "--corpus", str(tmp_path), "when will the bridge reopen?")
    payload = json.loads(result.stdout)
    assert payload["answers"][0]["quote"] == "The council said the bridge would reopen in May."
    assert payload["answers"][0]["source"] == {
        "id": "a.txt",
        "title": None,
        "publisher": None,
        "url": None,
        "published": None,
        "author": None,
    }


def test_overlong_question_is_one_line_error_not_a_traceback():
    result = run("ask", "x " * 400)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_missing_corpus_is_one_line_error(tmp_path):
    result = run("ask", "--corpus", str(tmp_path / "nope"), "anything")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_sources_lists_articles_and_unreadable_files(tmp_path):
    (tmp_path / "ok.md").write_text(
        "---\ntitle: Fine\n---\nThe vote passed easily.", encoding="utf-8"
    )
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    result = run("sources", "--errors", "--corpus", str(tmp_path))
    assert "ok.md" in result.stdout and "Fine" in result.stdout
    assert "bad.txt: not UTF-8" in result.stdout
    assert "skipped bad.txt" in result.stderr


def test_settings_come_from_environment():
    result = run("ask", "--json", "what did China say?", env={"NEWSQUOTE_TOP_K": "1"})
    assert len(json.loads(result.stdout)["answers"]) == 1


@pytest.mark.parametrize("command", ["ask", "repl", "sources"])
def test_every_command_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "--corpus" in result.stdout
