"""The command line on corpora at the edges: empty, all unreadable, emptied, unsaveable."""

import json

import pytest

from tests.cli.test_cli import run

ARTICLE = "The council said the old bridge would reopen in May after repairs.\n"


def ask_json(corpus, env, question="what did the council say?"):
    result = run("ask", "--json", "--corpus", str(corpus), question, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("unreadable", [0, 2])
def test_a_corpus_with_no_readable_article_declines_and_says_so(tmp_path, unreadable):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    for number in range(unreadable):
        (corpus / f"bad{number}.txt").write_bytes(b"\xff\xfe not utf-8")
    env = {"NEWSQUOTE_DATA_DIR": str(tmp_path / "data")}
    for _ in range(2):  # built, then loaded from the saved index
        payload = ask_json(corpus, env)
        assert payload["answers"] == []
        assert payload["no_answer_reason"].startswith("No articles are loaded yet")
    listed = run("sources", "--corpus", str(corpus), env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("No articles are loaded yet")
    if unreadable:
        assert f"{unreadable} file(s) could not be read: see sources --errors" in listed.stdout
    indexed = run("index", "--corpus", str(corpus), env=env)
    assert indexed.returncode == 0 and indexed.stdout.startswith("index built: 0 articles")


def test_removing_the_last_article_leaves_an_empty_corpus_that_still_works(tmp_path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "bridge.txt").write_text(ARTICLE, encoding="utf-8")
    env = {"NEWSQUOTE_DATA_DIR": str(tmp_path / "data")}
    assert ask_json(corpus, env)["answers"]
    removed = run("remove", "--corpus", str(corpus), "bridge.txt", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "removed: bridge.txt" in removed.stdout
    assert ask_json(corpus, env)["no_answer_reason"].startswith("No articles are loaded yet")


def test_index_says_plainly_when_it_could_not_save(tmp_path):
    corpus = tmp_path / "articles"
    corpus.mkdir()
    (corpus / "bridge.txt").write_text(ARTICLE, encoding="utf-8")
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be", encoding="utf-8")
    result = run("index", "--corpus", str(corpus), env={"NEWSQUOTE_DATA_DIR": str(not_a_folder)})
    assert result.returncode == 1
    assert "saved to" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: index built: 1 articles") and "not saved: " in last
    assert "Traceback" not in result.stderr
    # Asking still works: the engine is built in memory, with the same one-line warning.
    payload = ask_json(corpus, {"NEWSQUOTE_DATA_DIR": str(not_a_folder)})
    assert payload["answers"]
