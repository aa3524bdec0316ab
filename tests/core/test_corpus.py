import hashlib
import logging
import os
import time
from pathlib import Path

import pytest

from bot.core.ingest.files import load_folder, scan_folder, split_front_matter
from bot.core.ingest.raw import ArticleFormatError, LoadError
from tests.conftest import SEEDS

# sha256 of the two articles as they stand in shared/seeds: the bodies must not change.
SEED_BODIES = {
    "000_9773075bcaa93018.txt": "ab75bc2a3092322f423e0ef3f71510c732ef24007f39e089eb26335173512cf1",
    "002_1e652108fc74f39b.txt": "ee80a7b9330068c03d62f2b408aeb35a6971a97f167cbaa39266e75747365647",
}


def test_seed_bodies_are_byte_for_byte_the_originals():
    articles, errors = load_folder(SEEDS)
    assert errors == []
    bodies = {a.source.id: hashlib.sha256(a.text.encode()).hexdigest() for a in articles}
    assert bodies == SEED_BODIES


def test_seed_metadata_shows_only_what_the_articles_show():
    articles, _ = load_folder(SEEDS)
    first, second = (a.source for a in articles)
    assert first.title == "China backs Russian efforts to stabilise country after Wagner rebellion"
    assert first.publisher == "People’s Press Printing Society"
    assert second.title.startswith("In a show of solidarity, Beijing has declared")
    for source in (first, second):
        assert source.url is None and source.published is None and source.author is None
    assert second.publisher is None


def test_front_matter_is_optional_and_the_body_is_untouched():
    assert split_front_matter("No header.\n") == ({}, "No header.\n")
    meta, body = split_front_matter("---\ntitle: T\npublished: 2023-06-25\n---\nBody ---\n")
    assert meta["title"] == "T" and meta["published"] == "2023-06-25"
    assert meta["url"] is None
    assert body == "Body ---\n"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("---\ntitle: T\nBody never closes", "never closed"),
        ("---\ntitle: [unclosed\n---\nBody", "not valid YAML"),
        ("---\n- a list\n---\nBody", "key: value"),
    ],
)
def test_broken_front_matter_is_explained(raw, reason):
    with pytest.raises(ArticleFormatError, match=reason):
        split_front_matter(raw)


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2023-02-30", "impossible value: day is out of range for month"),
        ("2024-05-00", "impossible value: day is out of range for month"),
        ("2023-13-01", "impossible value: month must be in 1..12"),
        ("!!int twelve", "impossible value"),
        ("{when: today}", "'published' must be text, not a dict"),
    ],
)
def test_an_impossible_value_in_front_matter_is_that_files_one_line_error(tmp_path, value, reason):
    (tmp_path / "bad.md").write_text(f"---\npublished: {value}\n---\nText.\n", encoding="utf-8")
    (tmp_path / "good.md").write_text("---\npublished: 2023-02-28\n---\nText.\n", encoding="utf-8")
    articles, errors = load_folder(tmp_path)
    assert [a.source.published for a in articles] == ["2023-02-28"]
    assert [e.path for e in errors] == ["bad.md"]
    assert reason in errors[0].reason and "\n" not in errors[0].reason


def test_a_list_of_names_reads_as_one_line_and_nested_aliases_are_refused(tmp_path):
    (tmp_path / "two.md").write_text("---\nauthor: [Jane Doe, John Roe]\n---\nText.\n", "utf-8")
    # A "billion laughs": a few lines that would print as gigabytes of text.
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in "bcdefghij":
        prior = chr(ord(level) - 1)
        laughs += f"{level}: &{level} [{', '.join(['*' + prior] * 9)}]\n"
    (tmp_path / "laughs.md").write_text(f"---\n{laughs}title: *j\n---\nText.\n", "utf-8")
    articles, errors = load_folder(tmp_path)
    assert [a.source.author for a in articles] == ["Jane Doe, John Roe"]
    assert [(e.path, e.reason) for e in errors] == [
        ("laughs.md", "metadata field 'title' must be text, not a list of lists")
    ]


def test_unreadable_files_are_skipped_with_a_warning_and_the_rest_load(tmp_path, caplog):
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\nA fine article.\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 society.".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "broken.md").write_text("---\ntitle: [x\n---\nText.", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    with caplog.at_level(logging.WARNING):
        articles, errors = load_folder(tmp_path)
    assert [a.source.id for a in articles] == ["good.md"]
    assert {e.path for e in errors} == {"latin1.txt", "empty.txt", "broken.md"}
    assert any("not UTF-8" in e.reason for e in errors)
    assert all(e.path in caplog.text for e in errors)


def test_source_ids_are_paths_relative_to_the_corpus(tmp_path):
    (tmp_path / "world" / "asia").mkdir(parents=True)
    (tmp_path / "world" / "asia" / "a.txt").write_text("Text here.", encoding="utf-8")
    articles, _ = load_folder(tmp_path)
    assert articles[0].source.id == "world/asia/a.txt"


def test_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_folder(tmp_path / "nope")


def test_a_file_given_as_the_corpus_folder_is_called_a_file(tmp_path):
    (tmp_path / "a.txt").write_text("The council met.\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"a\.txt' is a file, not a folder"):
        load_folder(tmp_path / "a.txt")


def test_links_are_read_only_when_they_lead_to_a_file_inside_the_corpus(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    (corpus / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("The password is swordfish.\n", encoding="utf-8")
    (corpus / "sub" / "real.txt").write_text("The council met.\n", encoding="utf-8")
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "sub" / "up.txt").symlink_to(Path("..") / ".." / "outside" / "secret.txt")
    (corpus / "alias.txt").symlink_to(Path("sub") / "real.txt")
    (corpus / "linked").symlink_to(outside)  # a folder link: never followed
    (tmp_path / "corpus-link").symlink_to(corpus)
    for root in (corpus, tmp_path / "corpus-link"):
        articles, errors = load_folder(root)
        assert {a.source.id: a.text for a in articles} == {
            "alias.txt": "The council met.\n",
            "sub/real.txt": "The council met.\n",
        }
        reason = "is a link to a file outside the corpus folder"
        assert {(e.path, e.reason) for e in errors} == {
            ("passwd.txt", reason),
            ("sub/up.txt", reason),
        }


def test_a_scan_lists_article_files_by_id_with_what_changes_on_a_write(tmp_path):
    for name in ["b.txt", "a/z.md", "a-b/c.html", ".hidden.txt", ".git/x.txt", "notes.pdf"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("Some words here.", encoding="utf-8")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    found = scan_folder(tmp_path)
    assert list(found) == ["a-b/c.html", "a/z.md", "b.txt"]
    before = found["b.txt"]
    assert before.size == len("Some words here.")
    time.sleep(0.05)  # file times tick in coarse steps (jiffies); let one pass
    (tmp_path / "b.txt").write_text("Other words here", encoding="utf-8")  # same size
    os.utime(tmp_path / "b.txt", ns=(before.mtime_ns, before.mtime_ns))  # same mtime
    assert scan_folder(tmp_path)["b.txt"] != before


def test_a_file_over_the_size_limit_is_skipped_with_its_size_and_the_rest_load(tmp_path):
    (tmp_path / "big.txt").write_text("The council said the bridge was safe. " * 80)  # 3040 B
    (tmp_path / "small.md").write_text("---\ntitle: Small\n---\nThe vote passed easily.\n")
    articles, errors = load_folder(tmp_path, max_bytes=2048)
    assert [a.source.title for a in articles] == ["Small"]
    assert errors == [LoadError("big.txt", "is 3 KB, over the 2 KB limit (max_article_bytes)")]


def test_a_file_at_the_size_limit_loads(tmp_path):
    (tmp_path / "exact.txt").write_bytes(b"The vote passed. " * 128)  # 2176 bytes
    articles, errors = load_folder(tmp_path, max_bytes=2176)
    assert (len(articles), errors) == (1, [])
