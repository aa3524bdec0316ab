"""The command line as a script or a person uses it: through a real subprocess."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from bot.cli.main import main
from tests.conftest import REPO

# Saved indexes of these runs go to a scratch folder, never the project's data/.
_SCRATCH = tempfile.TemporaryDirectory(prefix="newsquote-cli-")  # removed at exit
DATA_DIR = _SCRATCH.name


def run(
    *args: str, stdin: str | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQUOTE_")}
    base["NEWSQUOTE_DATA_DIR"] = DATA_DIR
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


MEGABYTE_QUESTION = "what did China say about " + "the mutiny " * 100_000


def test_a_megabyte_question_is_refused_in_one_short_json_line():
    result = run("ask", "--json", stdin=f"{MEGABYTE_QUESTION}\nwhat did China say?\n")
    refused, answered = result.stdout.splitlines()
    assert len(refused) < 300
    payload = json.loads(refused)
    assert payload["error"] == (
        "That question is 1,100,024 characters long; a question may be at most 300 characters."
    )
    assert payload["question"] == "what did China say about the mutiny the…"
    assert payload["answers"] == []
    assert json.loads(answered)["answers"]  # the next line is answered as usual


def test_a_long_question_given_as_arguments_gets_a_short_error():
    result = run("ask", *MEGABYTE_QUESTION.split()[:2000])
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: That question is 10,995 characters long; a question may be at most 300 characters."
    )


def test_the_length_limit_setting_is_the_rule_stated():
    limit = {"NEWSQUOTE_MAX_QUESTION_CHARS": "19"}
    assert run("ask", "what did China say?", env=limit).returncode == 0
    refused = run("ask", "what did China say??", env=limit)
    assert "a question may be at most 19 characters." in refused.stderr


def test_ask_json_searches_the_question_not_the_greeting_or_mention_around_it():
    bare, chatty = "what did China say?", "@everyone Hey bot, 'what did China say?' thanks 🙏"
    result = run("ask", "--json", stdin=f"{bare}\n{chatty}\n")
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert second["question"] == chatty  # repeated as asked
    assert second["terms"] == first["terms"] == ["china", "say"]
    assert second["answers"] == first["answers"]


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


def test_a_file_over_max_article_bytes_is_listed_with_its_size_and_the_rest_answer(tmp_path):
    (tmp_path / "ok.md").write_text("---\ntitle: Fine\n---\nThe vote passed easily.\n")
    (tmp_path / "huge.txt").write_text("The council said the bridge was safe. " * 80)
    limited = run(
        "sources", "--errors", "--corpus", str(tmp_path),
        env={"NEWSQUOTE_MAX_ARTICLE_BYTES": "2048"},
    )  # fmt: skip
    assert limited.returncode == 0
    assert "huge.txt: is 3 KB, over the 2 KB limit (max_article_bytes)" in limited.stdout
    assert "Fine" in limited.stdout
    # Raising the limit takes the file in, though the saved index had it refused.
    raised = run("sources", "--errors", "--corpus", str(tmp_path))
    assert "huge.txt" in raised.stdout and "could not be read" not in raised.stdout


def test_settings_come_from_environment():
    result = run("ask", "--json", "what did China say?", env={"NEWSQUOTE_TOP_K": "1"})
    assert len(json.loads(result.stdout)["answers"]) == 1


@pytest.mark.parametrize("command", ["ask", "repl", "sources"])
def test_every_command_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0 and "--corpus" in result.stdout


def _log_messages(stderr: str) -> list[str]:
    return [json.loads(line)["message"] for line in stderr.splitlines() if line.startswith("{")]


def test_index_then_ask_loads_the_saved_index_without_indexing(tmp_path):
    corpus = tmp_path / "articles"
    shutil.copytree(REPO / "seeds", corpus)
    env = {"NEWSQUOTE_DATA_DIR": str(tmp_path / "data")}
    built = run("index", "--corpus", str(corpus), env=env)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("index built: 2 articles")
    logs = {**env, "NEWSQUOTE_LOG_LEVEL": "INFO", "NEWSQUOTE_LOG_FORMAT": "json"}
    asked = run("ask", "--json", "--corpus", str(corpus), "what did China say?", env=logs)
    assert json.loads(asked.stdout)["answers"]
    messages = _log_messages(asked.stderr)
    assert "loaded index" in messages
    assert "corpus indexed" not in messages


def test_add_and_remove_answer_as_a_fresh_build_does(tmp_path):
    corpus = tmp_path / "articles"
    shutil.copytree(REPO / "seeds", corpus)
    outside = tmp_path / "incoming" / "festival.txt"
    outside.parent.mkdir()
    outside.write_text(
        "Festival returns\n\n“The festival will return next summer,” the mayor said.\n\n"
        "Organisers expect twenty thousand visitors over three days.\n",
        encoding="utf-8",
    )
    env = {"NEWSQUOTE_DATA_DIR": str(tmp_path / "data")}
    questions = "what did the mayor say about the festival?\nwhat did China say?\n"

    def answers(**extra: str) -> list[dict]:
        result = run("ask", "--json", "--corpus", str(corpus), stdin=questions, env=extra)
        return [json.loads(line) for line in result.stdout.splitlines()]

    assert run("index", "--corpus", str(corpus), env=env).returncode == 0
    added = run("add", "--corpus", str(corpus), str(outside), env=env)
    assert added.returncode == 0, added.stderr
    assert "added: festival.txt" in added.stdout
    assert (corpus / "festival.txt").read_bytes() == outside.read_bytes()  # copied in
    saved = answers(**env)
    assert "festival" in saved[0]["answers"][0]["quote"]
    assert saved == answers(NEWSQUOTE_USE_SAVED_INDEX="false")

    removed = run("remove", "--corpus", str(corpus), "festival.txt", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "removed: festival.txt" in removed.stdout
    assert not (corpus / "festival.txt").exists()
    saved = answers(**env)
    assert saved[0]["answers"] == []
    assert saved == answers(NEWSQUOTE_USE_SAVED_INDEX="false")


def test_removing_an_unknown_article_is_a_one_line_error(tmp_path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The council met on Monday.\n", encoding="utf-8")
    result = run("remove", "--corpus", str(corpus), "nope.txt")
    assert result.returncode == 2
    assert result.stderr.startswith("error: nope.txt: not an article")
    assert (corpus / "a.txt").exists()


def test_a_file_name_in_another_encoding_is_listed_without_breaking_the_output(tmp_path):
    """Where stdout is strict UTF-8 (a UTF-8 locale outside Python's UTF-8 mode)."""
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The council met on Monday.\n", encoding="utf-8")
    with open(os.fsencode(corpus) + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"Cafe\n\nThe owner said the cafe will reopen.\n")
    strict = {"PYTHONIOENCODING": "utf-8:strict", "PYTHONUTF8": "0"}
    text = run("sources", "--errors", "--corpus", str(corpus), env=strict)
    assert text.returncode == 0, text.stderr
    assert "- caf\ufffd.txt: file name is not UTF-8: rename the file to read it" in text.stdout
    listed = run("sources", "--json", "--corpus", str(corpus), env=strict)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["errors"] == [
        {"id": "caf\ufffd.txt", "reason": "file name is not UTF-8: rename the file to read it"}
    ]
    asked = run("ask", "--corpus", str(corpus), "when did the council meet?", env=strict)
    assert asked.returncode == 0 and "The council met on Monday." in asked.stdout


# ----------------------------------------------------- in-process: remove, add and links

_BODY = "Title\n\nThe mayor said the harbour will reopen on Monday, number {n}.\n"


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """``main`` in this process on a scratch corpus; returns (exit code, stdout, stderr)."""
    for name in list(os.environ):
        if name.startswith("NEWSQUOTE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEWSQUOTE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


@pytest.fixture
def corpus(tmp_path):
    """articles/a1..a3.txt and articles/sub/b1..b3.txt, with a folder outside beside it."""
    root = tmp_path / "articles"
    (root / "sub").mkdir(parents=True)
    for n in (1, 2, 3):
        (root / f"a{n}.txt").write_text(_BODY.format(n=n), encoding="utf-8")
        (root / "sub" / f"b{n}.txt").write_text(_BODY.format(n=n), encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(
        "Secret\n\nThe admin said the secret password is swordfish.\n", encoding="utf-8"
    )
    return root


def _files(folder) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["", " ", ".", "{corpus}", "{corpus}/", "sub/.."])
@pytest.mark.parametrize("recursive", [[], ["-r"]])
def test_remove_refuses_the_corpus_folder_itself_in_one_line(cli, corpus, name, recursive):
    before = _files(corpus)
    code, _, err = cli("remove", "--corpus", str(corpus), *recursive, name.format(corpus=corpus))
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert _files(corpus) == before


def test_remove_of_a_folder_needs_recursive_and_says_how_many_articles(cli, corpus):
    code, _, err = cli("remove", "--corpus", str(corpus), "sub")
    assert code == 2
    assert "sub: is a folder holding 3 article(s); add --recursive (-r)" in err
    assert len(_files(corpus)) == 6

    code, out, _ = cli("remove", "--corpus", str(corpus), "-r", "sub")
    assert code == 0
    assert _files(corpus) == ["a1.txt", "a2.txt", "a3.txt"]
    assert [line for line in out.splitlines() if line.startswith("removed: ")] == [
        "removed: sub/b1.txt",
        "removed: sub/b2.txt",
        "removed: sub/b3.txt",
    ]


def test_remove_says_what_it_deleted_even_without_a_saved_index(cli, corpus):
    code, out, _ = cli("remove", "--corpus", str(corpus), "a1.txt", "a1.txt")
    assert code == 0
    assert out.splitlines()[0] == "removed: a1.txt"
    assert out.count("removed: a1.txt") == 1
    assert not (corpus / "a1.txt").exists()


def test_remove_checks_every_name_before_deleting_any(cli, corpus):
    code, _, _ = cli("remove", "--corpus", str(corpus), "a1.txt", "")
    assert code == 2
    assert (corpus / "a1.txt").exists()


def test_a_link_to_a_file_outside_the_corpus_is_not_read_but_listed(cli, corpus, tmp_path):
    (corpus / "passwd.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (corpus / "alias.txt").symlink_to(corpus / "a1.txt")  # inside: read as usual
    _, out, _ = cli("ask", "--corpus", str(corpus), "what is the secret password?")
    assert "swordfish" not in out
    _, out, _ = cli("sources", "--errors", "--corpus", str(corpus))
    assert "- passwd.txt: is a link to a file outside the corpus folder" in out
    assert "alias.txt" in out.split("could not be read")[0]


def test_remove_deletes_a_link_itself_never_what_it_points_at(cli, corpus, tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    (corpus / "passwd.txt").symlink_to(secret)
    (corpus / "outlink").symlink_to(tmp_path / "outside")
    for name in ("outlink", "outlink/secret.txt", str(secret), "../outside"):
        code, _, err = cli("remove", "--corpus", str(corpus), "-r", name)
        assert code == 2 and "not an article in the corpus folder" in err, (name, err)
    code, _, _ = cli("remove", "--corpus", str(corpus), "passwd.txt")
    assert code == 0
    assert not (corpus / "passwd.txt").is_symlink()
    assert secret.read_text(encoding="utf-8").startswith("Secret")


def test_add_dir_skips_links_that_lead_outside_it(cli, corpus, tmp_path):
    source = tmp_path / "incoming"
    source.mkdir()
    (source / "fire.txt").write_text(
        "T\n\nThe fire chief said the blaze was out by noon.\n", encoding="utf-8"
    )
    (source / "passwd.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (source / "copy.txt").symlink_to(source / "fire.txt")  # inside DIR: its content is copied
    code, _, err = cli("add", "--corpus", str(corpus), str(source))
    assert code == 0
    assert f"skipped: {source / 'passwd.txt'} is a link to a file outside {source}" in err
    assert not (corpus / "incoming" / "passwd.txt").exists()
    assert (corpus / "incoming" / "copy.txt").read_text(encoding="utf-8").startswith("T\n")


def test_add_names_a_pipe_for_what_it_is_and_never_reads_it(cli, corpus, tmp_path):
    pipe = tmp_path / "news.txt"
    os.mkfifo(pipe)  # opening it to read would wait for a writer forever
    code, _, err = cli("add", "--corpus", str(corpus), str(pipe))
    assert code == 2
    assert err.strip() == f"error: {pipe}: not a regular file or folder"
    assert not (corpus / "news.txt").exists()


def test_add_never_writes_through_a_link_out_of_the_corpus(cli, corpus, tmp_path):
    outside = tmp_path / "outside"
    (corpus / "incoming").symlink_to(outside)
    source = tmp_path / "incoming"
    source.mkdir()
    (source / "secret.txt").write_text("T\n\nOverwritten, the intruder said.\n", encoding="utf-8")
    (source / "new.txt").write_text("T\n\nA new file, the intruder said.\n", encoding="utf-8")
    code, _, err = cli("add", "--corpus", str(corpus), str(source))
    assert code == 2
    assert "not written, a link on the way leads outside the corpus folder" in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text(encoding="utf-8").startswith("Secret")


def test_a_corpus_folder_that_is_a_link_works_for_every_command(cli, corpus, tmp_path):
    link = tmp_path / "corpus-link"
    link.symlink_to(corpus)
    code, out, _ = cli("ask", "--corpus", str(link), "what did the mayor say?")
    assert code == 0 and "harbour" in out
    incoming = tmp_path / "new.txt"
    incoming.write_text("T\n\nThe baker said bread prices will rise.\n", encoding="utf-8")
    assert cli("add", "--corpus", str(link), str(incoming))[0] == 0
    assert (corpus / "new.txt").exists()
    assert cli("remove", "--corpus", str(link), "a1.txt")[0] == 0
    assert not (corpus / "a1.txt").exists()
    assert cli("remove", "--corpus", str(link), "-r", str(link))[0] == 2


def test_add_never_touches_another_add_copying_the_same_name(cli, tmp_path):
    """Two ``add``s of one name at once: neither may take or clobber the other's copy."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    body = "Harbour closed\n\nThe harbour master said the port would stay shut until Friday.\n"
    (incoming / "harbour.txt").write_text(body, encoding="utf-8")
    # What another ``add`` of the same file would have half-written at this moment.
    for name in (".harbour.txt.adding", ".harbour.txt.4242.0badc0de.adding"):
        (corpus / name).write_text("half a copy", encoding="utf-8")
    code, _, err = cli("add", str(incoming / "harbour.txt"), "--corpus", str(corpus), "--quiet")
    assert code == 0, err
    assert (corpus / "harbour.txt").read_text(encoding="utf-8") == body
    assert sorted(p.name for p in corpus.iterdir()) == [
        ".harbour.txt.4242.0badc0de.adding",
        ".harbour.txt.adding",
        "harbour.txt",
    ]
    assert (corpus / ".harbour.txt.adding").read_text(encoding="utf-8") == "half a copy"
