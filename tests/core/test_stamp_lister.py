"""The folder listing a child process makes while the index loads, and its fallbacks."""

import os
import sys

import pytest

from bot.cli import early
from bot.core.index import bundle as store
from bot.core.index import changes, encoding
from bot.core.index import saved as index
from bot.core.index.tokenize import Tokenizer, load_aliases
from bot.core.ingest import stamp_lister
from bot.core.ingest.files import SCANNED_SUFFIXES, scan_folder, stamps_of
from tests.conftest import make_settings


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "articles"
    (root / "news" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for name in ("b.txt", "a.md", "page.html", "Zürich café.txt", "notes.pdf", ".secret.txt"):
        (root / name).write_text(f"The council said {name} was ready.\n", encoding="utf-8")
    (root / "news" / "deep" / "x.TXT").write_text("The mayor said so.\n", encoding="utf-8")
    (root / ".hidden" / "y.txt").write_text("Hidden.\n", encoding="utf-8")
    os.symlink(root / "news", root / "loop")  # a link to a folder is not followed
    return root


def saved_bundle(folder, options):
    tokenizer = Tokenizer(aliases=load_aliases(options.engine.ingest.aliases_file))
    fingerprint = encoding.fingerprint(tokenizer, options.engine)
    return store.load(options.store.data_dir, fingerprint, index.index_name(folder))


def test_the_child_lists_what_the_folder_scan_finds(folder):
    ids, raw = stamp_lister.start(folder, SCANNED_SUFFIXES)()
    assert stamps_of(ids, raw) == scan_folder(folder)
    assert ids == ["Zürich café.txt", "a.md", "b.txt", "news/deep/x.TXT", "page.html"]


def test_the_listing_is_made_by_the_child_not_here(folder, monkeypatch):
    want = scan_folder(folder)
    monkeypatch.setattr(stamp_lister, "walk", lambda *a: pytest.fail("listed in process"))
    ids, raw = stamp_lister.start(folder, SCANNED_SUFFIXES)()
    assert stamps_of(ids, raw) == want


def test_without_a_child_the_listing_is_made_in_process(folder, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(folder / "no-such-python"))
    ids, raw = stamp_lister.start(folder, SCANNED_SUFFIXES)()
    assert stamps_of(ids, raw) == scan_folder(folder)


def test_a_listing_cut_short_is_refused():
    whole = stamp_lister.encode([("a.txt", (1, 2, 3, 4)), ("b.txt", (5, 6, 7, 8))])
    assert stamp_lister.decode(whole) == (["a.txt", "b.txt"], whole[8:72])
    assert stamp_lister.decode(stamp_lister.encode([])) == ([], b"")
    for cut in (whole[:4], whole[:40], whole[:72] + b"a.txt"):
        with pytest.raises(ValueError):
            stamp_lister.decode(cut)


def test_only_a_listing_every_saved_stamp_vouches_for_skips_the_file_checks(
    folder, tmp_path, monkeypatch
):
    options = make_settings(use_saved_index=True, data_dir=tmp_path / "data").core_options()
    monkeypatch.setattr(changes, "RACY_NS", 0)  # the files here were written just now
    index.open_engine(folder, options)
    bundle = saved_bundle(folder, options)
    ids, raw = stamp_lister.start(folder, SCANNED_SUFFIXES)()
    assert encoding.vouched_listing(bundle, ids, raw)
    opened = index.open_engine(folder, options)
    assert opened.status == "loaded"
    assert opened.files == changes.hash_files(folder)  # made when asked, the same
    assert not encoding.vouched_listing(bundle, ids[:-1], raw[:-32])  # a file gone
    assert not encoding.vouched_listing(bundle, sorted([*ids, "c.txt"]), raw + raw[:32])
    (folder / "b.txt").write_text("The council said b was late.\n", encoding="utf-8")
    ids, raw = stamp_lister.start(folder, SCANNED_SUFFIXES)()
    assert not encoding.vouched_listing(bundle, ids, raw)  # an edited file's stamp moved
    assert index.open_engine(folder, options).changes.changed == ("b.txt",)


def test_a_file_saved_without_a_stamp_is_never_vouched_for(folder, tmp_path, monkeypatch):
    options = make_settings(use_saved_index=True, data_dir=tmp_path / "data").core_options()
    monkeypatch.setattr(changes, "RACY_NS", 10**18)  # too recent: no stamp is recorded
    index.open_engine(folder, options)
    bundle = saved_bundle(folder, options)
    assert (bundle.arrays["files_stamp"] == -1).all()
    ids, raw = stamp_lister.start(folder, SCANNED_SUFFIXES)()
    assert not encoding.vouched_listing(bundle, ids, raw)


def test_the_lister_takes_the_names_the_folder_scan_takes():
    assert stamp_lister.ARTICLE_NAMES == SCANNED_SUFFIXES


@pytest.mark.parametrize(
    ("argv", "folder"),
    [
        (["ask", "--corpus", "news", "what did China say?"], "news"),
        (["ask", "--json", "--corpus=news", "what?"], "news"),
        (["sources", "--errors", "--corpus", "news"], "news"),
        (["ask", "what did China say?"], None),  # the setting's folder: opened later
        (["index", "--corpus", "news"], None),  # not a one-shot read
        (["ask", "--", "--corpus", "news"], None),  # words of the question
        (["ask", "--corpus"], None),
        ([], None),
    ],
)
def test_the_command_line_names_the_folder_to_list_early(argv, folder):
    assert early.corpus_argument(argv) == folder


def test_an_early_listing_is_taken_once_by_the_start_that_opens_its_folder(folder, monkeypatch):
    monkeypatch.setattr(stamp_lister, "_early", {})
    early.list_early(["ask", "--corpus", str(folder / "news" / ".."), "what?"])
    assert list(stamp_lister._early) == [(str(folder), SCANNED_SUFFIXES)]
    made = []
    child = stamp_lister._child
    monkeypatch.setattr(stamp_lister, "_child", lambda *a: made.append(a) or child(*a))
    ids, raw = stamp_lister.start(folder, SCANNED_SUFFIXES)()
    assert made == [] and stamps_of(ids, raw) == scan_folder(folder)  # the early one
    assert stamp_lister.start(folder, SCANNED_SUFFIXES)() == (ids, raw)
    assert made == [(folder, SCANNED_SUFFIXES)]  # a second start lists again
