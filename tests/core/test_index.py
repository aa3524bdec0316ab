"""The saved index: loaded instead of rebuilt, updated by content hash, rebuilt when stale."""

import logging
import os
import shutil

import numpy as np
import pytest

from bot.core.answer.engine import Engine
from bot.core.index import bundle as store
from bot.core.index import changes, encoding
from bot.core.index import saved as index
from bot.core.ingest import stamp_lister
from bot.core.ingest.files import scan_folder
from tests.conftest import NEWS, SEEDS, SPORT, make_settings
from tests.core.test_table import assert_same_table

QUESTIONS = [
    "what did China say?",
    "what did Jane Doyle say?",
    "when will the port reopen?",
    "who scored for Rovers?",
    "what did the council say about the bridge?",
    "what did the mayor say about the festival?",
]
BRIDGE = (
    "The council said the old bridge would reopen in May after repairs.\n\n"
    "Traffic was diverted through the market square meanwhile.\n"
)
FESTIVAL = (
    "Festival returns\n\n“The festival will return next summer,” the mayor said on Tuesday.\n\n"
    "Organisers expect twenty thousand visitors over three days.\n"
)


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    (folder / "news").mkdir()
    (folder / "news" / "storm.txt").write_text(NEWS, encoding="utf-8")
    (folder / "sport.txt").write_text(SPORT, encoding="utf-8")
    (folder / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
    return folder


@pytest.fixture
def indexed(tmp_path):
    return make_settings(use_saved_index=True, data_dir=tmp_path / "data")


def answers(engine, questions=QUESTIONS):
    out = []
    for question in questions:
        reply = engine.ask(question)
        out.append(
            (
                question,
                reply.no_answer_reason,
                [(a.source.id, a.start, a.end, a.quote, a.score) for a in reply.answers],
            )
        )
    return out


def assert_same_answers(engine, reference):
    got, want = answers(engine), answers(reference)
    for (question, reason, mine), (_, their_reason, theirs) in zip(got, want, strict=True):
        assert reason == their_reason, question
        assert [a[:4] for a in mine] == [a[:4] for a in theirs], question
        assert np.allclose([a[4] for a in mine], [a[4] for a in theirs], rtol=0, atol=1e-6)


def test_a_loaded_index_holds_exactly_what_a_build_makes(corpus, indexed):
    built = index.open_engine(corpus, indexed.core_options())
    loaded = index.open_engine(corpus, indexed.core_options())
    assert (built.status, loaded.status) == ("built", "loaded")
    assert_same_table(loaded.engine.table, built.engine.table)
    saved, fresh = loaded.engine.splitter.params, built.engine.splitter.params
    assert saved.abbrev_types == fresh.abbrev_types
    assert saved.collocations == fresh.collocations
    assert saved.sent_starters == fresh.sent_starters
    assert dict(saved.ortho_context) == dict(fresh.ortho_context)
    assert_same_answers(loaded.engine, built.engine)


def test_a_loaded_index_restores_both_bm25_indexes_score_for_score(corpus, indexed):
    built = index.open_engine(corpus, indexed.core_options()).engine
    loaded = index.open_engine(corpus, indexed.core_options()).engine
    assert np.array_equal(loaded.corpus.paragraph, built.corpus.paragraph)
    for question in [*QUESTIONS, "storm damage roads closed", "no such words zzz"]:
        terms = built.tokenizer(question)
        for name in ("index", "paragraphs"):
            mine, theirs = getattr(loaded, name), getattr(built, name)
            assert (mine.size, mine.terms) == (theirs.size, theirs.terms)
            assert np.array_equal(mine.scores(terms), theirs.scores(terms)), (name, question)


def test_an_index_saved_by_the_old_layout_is_rebuilt(corpus, indexed, monkeypatch, caplog):
    monkeypatch.setattr(encoding, "LAYOUT_VERSION", encoding.LAYOUT_VERSION - 1)
    index.open_engine(corpus, indexed.core_options())
    monkeypatch.undo()
    with caplog.at_level(logging.WARNING, logger="bot"):
        assert index.open_engine(corpus, indexed.core_options()).status == "built"
    assert any("layout" in r.getMessage() for r in caplog.records)


def test_quotes_from_a_loaded_index_are_slices_of_the_article(corpus, indexed):
    index.open_engine(corpus, indexed.core_options())
    engine = index.open_engine(corpus, indexed.core_options()).engine
    offsets = engine.table.columns["article_sentences"].tolist()
    assert offsets[-1] == engine.sentence_count > 0
    for number, source in enumerate(engine.table.sources):
        text = (corpus / source.id).read_text(encoding="utf-8")
        for doc in range(offsets[number], offsets[number + 1]):
            assert engine.sentence_text(doc) in text


def test_loading_logs_it_and_does_not_index(corpus, indexed, caplog):
    index.open_engine(corpus, indexed.core_options())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot"):
        index.open_engine(corpus, indexed.core_options())
    messages = [r.getMessage() for r in caplog.records]
    assert "loaded index" in messages
    assert "corpus indexed" not in messages


def test_added_changed_and_removed_files_equal_a_rebuild(corpus, indexed):
    index.open_engine(corpus, indexed.core_options())
    (corpus / "festival.txt").write_text(FESTIVAL, encoding="utf-8")
    (corpus / "bridge.txt").write_text(BRIDGE.replace("May", "September"), encoding="utf-8")
    (corpus / "sport.txt").unlink()
    opened = index.open_engine(corpus, indexed.core_options())
    assert opened.status == "updated"
    assert opened.changes == changes.ArticleChanges(
        ("festival.txt",), ("sport.txt",), ("bridge.txt",)
    )
    reference = Engine.from_folder(corpus, make_settings().core_options().engine)
    assert_same_answers(opened.engine, reference)
    assert "September" in opened.engine.ask("when will the bridge reopen?").answers[0].quote
    assert (
        index.open_engine(corpus, indexed.core_options()).status == "loaded"
    )  # the update was saved


def test_an_edit_that_keeps_size_and_mtime_is_found_by_its_hash(corpus, indexed):
    index.open_engine(corpus, indexed.core_options())
    path = corpus / "bridge.txt"
    before = path.stat()
    path.write_text(BRIDGE.replace("May", "Jun"), encoding="utf-8")  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    opened = index.open_engine(corpus, indexed.core_options())
    assert opened.changes.changed == ("bridge.txt",)
    assert "Jun" in opened.engine.ask("when will the bridge reopen?").answers[0].quote


@pytest.fixture
def counted_reads(monkeypatch):
    """Files read to be hashed, by name."""
    read = []
    digest = changes.file_digest

    def counting(path):
        read.append(path.name)
        return digest(path)

    monkeypatch.setattr(changes, "file_digest", counting)
    return read


def test_a_file_gone_before_it_is_hashed_is_neither_indexed_nor_an_error(
    corpus, indexed, monkeypatch
):
    hash_files = index.hash_files

    def deleting_first(folder, *args, **kwargs):  # a build hashes while Punkt learns
        (folder / "bridge.txt").unlink()
        return hash_files(folder, *args, **kwargs)

    monkeypatch.setattr(index, "hash_files", deleting_first)
    opened = index.open_engine(corpus, indexed.core_options(), rebuild=True)
    assert "bridge.txt" not in opened.engine.digests()
    assert "bridge.txt" not in opened.files.hashes
    assert [error.path for error in opened.engine.errors] == []


def test_a_build_that_fails_while_punkt_learns_in_its_child_leaves_no_process_behind(
    corpus, monkeypatch
):
    import multiprocessing

    from bot.core.ingest import prepare

    start_training = prepare.start_training

    def in_a_child(texts, articles, workers):
        return start_training(texts, articles, workers=2, parallel_min=1)

    monkeypatch.setattr(prepare, "start_training", in_a_child)
    children = []

    def failing():
        children.extend(c.name for c in multiprocessing.active_children())
        raise OSError("the folder went away")

    options = make_settings().core_options().engine
    with pytest.raises(OSError, match="went away"):
        Engine.from_files(corpus, sorted(scan_folder(corpus)), options, meanwhile=failing)
    assert children == ["punkt-training"]  # the hashing ran while Punkt learnt
    assert multiprocessing.active_children() == []


def test_files_untouched_since_the_last_start_are_not_read_again(
    corpus, indexed, monkeypatch, counted_reads
):
    monkeypatch.setattr(changes, "RACY_NS", 0)  # the files here were written just now
    index.open_engine(corpus, indexed.core_options())
    assert len(counted_reads) == len(changes.hash_files(corpus).hashes) > 4
    counted_reads.clear()
    assert index.open_engine(corpus, indexed.core_options()).status == "loaded"
    assert counted_reads == []
    path = corpus / "bridge.txt"
    before = path.stat()
    path.write_text(BRIDGE.replace("May", "Jun"), encoding="utf-8")  # same size,
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime: ctime moved
    opened = index.open_engine(corpus, indexed.core_options())
    assert counted_reads == ["bridge.txt"] and opened.changes.changed == ("bridge.txt",)


def test_files_written_just_before_a_start_are_hashed_again_next_time(
    corpus, indexed, counted_reads
):
    names = sorted(key.rsplit("/", 1)[-1] for key in scan_folder(corpus))
    index.open_engine(corpus, indexed.core_options())
    counted_reads.clear()
    assert index.open_engine(corpus, indexed.core_options()).status == "loaded"
    assert sorted(counted_reads) == names


def in_process(root, suffixes):
    """``stamp_lister.start`` without a child process: the fallback, and patchable."""
    return lambda: stamp_lister.listed_here(root, suffixes)


@pytest.fixture
def aging_build(monkeypatch):
    """Files too recent to vouch when hashed, old enough once the build is done (a long one).

    ``during``, if set, runs right after the engine is built, before the index is saved.
    """
    build = Engine.from_files
    hooks = {}

    def long_build(*args, **kwargs):
        engine = build(*args, **kwargs)
        monkeypatch.setattr(changes, "RACY_NS", 0)
        if "during" in hooks:
            hooks.pop("during")()
        return engine

    monkeypatch.setattr(changes, "RACY_NS", 10**18)
    monkeypatch.setattr(Engine, "from_files", long_build)
    return hooks


def test_files_that_grow_old_while_indexed_are_not_read_again_at_the_next_start(
    corpus, indexed, aging_build, counted_reads
):
    index.open_engine(corpus, indexed.core_options(), rebuild=True)
    saved = index.index_file(corpus, indexed.core_options()).stat()
    counted_reads.clear()
    assert index.open_engine(corpus, indexed.core_options()).status == "loaded"
    assert counted_reads == []  # and the index was not rewritten:
    assert index.index_file(corpus, indexed.core_options()).stat().st_mtime_ns == saved.st_mtime_ns
    path = corpus / "bridge.txt"  # an edit right after the build, same size and mtime
    before = path.stat()
    path.write_text(BRIDGE.replace("May", "Jun"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert index.open_engine(corpus, indexed.core_options()).changes.changed == ("bridge.txt",)


def test_a_file_edited_while_it_is_indexed_is_read_again_at_the_next_start(
    corpus, indexed, aging_build, monkeypatch
):
    # The worst case: a file system whose stamps miss the edit (coarse clock, no ctime),
    # so only the content tells that the file changed after it was read.
    monkeypatch.setattr(stamp_lister, "row_of", lambda i: (i.st_size, i.st_mtime_ns, 0, i.st_ino))
    monkeypatch.setattr(stamp_lister, "start", in_process)  # where row_of is the one above
    path = corpus / "bridge.txt"

    def edit() -> None:  # after it was read, before the index is saved
        before = path.stat()
        path.write_text(BRIDGE.replace("May", "Jun"), encoding="utf-8")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    aging_build["during"] = edit
    built = index.open_engine(corpus, indexed.core_options(), rebuild=True)
    assert "reopen in May" in answers(built.engine, ["when will the bridge reopen?"])[0][2][0][3]
    opened = index.open_engine(corpus, indexed.core_options())
    assert opened.changes.changed == ("bridge.txt",)
    assert "reopen in Jun" in answers(opened.engine, ["when will the bridge reopen?"])[0][2][0][3]


def test_a_start_rewrites_the_index_for_new_stamps_only_when_many_files_need_them(
    corpus, indexed, monkeypatch, counted_reads
):
    for number in range(25):
        (corpus / f"brief{number:02d}.txt").write_text(
            f"Brief number {number} reports a quiet day at the harbour.\n", encoding="utf-8"
        )
    monkeypatch.setattr(changes, "RACY_NS", 0)
    index.open_engine(corpus, indexed.core_options())  # every file vouched for
    monkeypatch.setattr(changes, "RACY_NS", 10**18)  # the next file is written just before
    (corpus / "late.txt").write_text(BRIDGE.replace("bridge", "ferry"), encoding="utf-8")
    assert index.open_engine(corpus, indexed.core_options()).status == "updated"
    saved = index.index_file(corpus, indexed.core_options()).stat()
    monkeypatch.setattr(changes, "RACY_NS", 0)  # late.txt could vouch now: 1 file of 31
    counted_reads.clear()
    for _ in range(2):
        assert index.open_engine(corpus, indexed.core_options()).status == "loaded"
    assert counted_reads == ["late.txt", "late.txt"]  # read at each start, milliseconds
    assert index.index_file(corpus, indexed.core_options()).stat().st_mtime_ns == saved.st_mtime_ns


def test_unreadable_files_are_remembered_and_dropped_once_fixed(corpus, indexed):
    (corpus / "broken.txt").write_bytes(b"\xff\xfe not utf-8")
    built = index.open_engine(corpus, indexed.core_options())
    assert [e.path for e in built.engine.errors] == ["broken.txt"]
    assert [e.path for e in index.open_engine(corpus, indexed.core_options()).engine.errors] == [
        "broken.txt"
    ]
    (corpus / "broken.txt").write_text(FESTIVAL, encoding="utf-8")
    fixed = index.open_engine(corpus, indexed.core_options())
    assert fixed.engine.errors == ()
    assert "festival.txt" not in fixed.engine.errors
    assert fixed.engine.ask("what did the mayor say about the festival?").answers


def test_a_file_name_in_another_encoding_is_that_files_warning_not_the_builds(
    corpus, indexed, caplog
):
    """A Latin-1 name from an old archive: the id cannot be shown or sent, so it is skipped."""
    latin1 = os.fsencode(corpus) + b"/caf\xe9.txt"
    with open(latin1, "wb") as handle:
        handle.write(FESTIVAL.encode("utf-8"))
    with caplog.at_level(logging.WARNING, logger="bot"):
        built = index.open_engine(corpus, indexed.core_options())
    assert built.save_error is None
    assert [(e.path, e.reason) for e in built.engine.errors] == [
        (os.fsdecode(b"caf\xe9.txt"), "file name is not UTF-8: rename the file to read it")
    ]
    assert "rename the file" in caplog.text
    assert built.engine.ask("what did China say?").answers
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot"):
        loaded = index.open_engine(corpus, indexed.core_options())
    assert loaded.status == "loaded" and "loaded index" in caplog.text
    assert [e.path for e in loaded.engine.errors] == [os.fsdecode(b"caf\xe9.txt")]
    os.rename(latin1, corpus / "café.txt")
    renamed = index.open_engine(corpus, indexed.core_options())
    assert renamed.engine.errors == ()
    assert renamed.engine.ask("what did the mayor say about the festival?").answers


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"not an index at all", id="garbage"),
        pytest.param(lambda data: data[:100] + bytes(200) + data[300:], id="zeroed"),
    ],
)
def test_a_damaged_index_is_one_warning_and_a_rebuild(corpus, indexed, caplog, damage):
    path = index.open_engine(corpus, indexed.core_options()) and index.index_file(
        corpus, indexed.core_options()
    )
    path.write_bytes(damage(path.read_bytes()))
    caplog.clear()
    opened = index.open_engine(corpus, indexed.core_options())
    assert opened.status == "built"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "rebuilding" in warnings[0].getMessage()
    assert index.open_engine(corpus, indexed.core_options()).status == "loaded"


def _shorter(values):
    return values[:-1]


def _past_the_end(values):
    return values + 10_000


def _as_float(values):
    return values.astype(np.float64)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("table_article_sentences", _shorter),
        ("table_sent_quoted", _shorter),
        ("table_terms", _past_the_end),
        ("table_sent_end", _past_the_end),
        ("table_attr_speaker", _past_the_end),
        ("table_sent_start", _as_float),
        ("bm25s_indices", _past_the_end),
        ("bm25p_indptr", _shorter),
        ("bm25p_terms", _past_the_end),
        ("table_digests", _shorter),
        ("table_source_title_given", _shorter),
        ("files_sha256", _shorter),
    ],
)
def test_an_index_whose_arrays_do_not_fit_is_rebuilt(corpus, indexed, caplog, name, damage):
    engine = index.open_engine(corpus, indexed.core_options()).engine
    files = changes.hash_files(corpus)
    bundle = encoding.to_bundle(
        engine, files, encoding.fingerprint(engine.tokenizer, indexed.core_options().engine), corpus
    )
    arrays = dict(bundle.arrays)
    arrays[name] = damage(arrays[name])
    broken = store.Bundle(arrays, bundle.meta, bundle.fingerprint)
    store.save(indexed.data_dir, broken, index.index_name(corpus))
    caplog.clear()
    assert index.open_engine(corpus, indexed.core_options()).status == "built"
    assert any("damaged" in r.getMessage() for r in caplog.records)


def test_a_crash_while_saving_leaves_the_previous_index_loadable(corpus, indexed, monkeypatch):
    index.open_engine(corpus, indexed.core_options())
    (corpus / "festival.txt").write_text(FESTIVAL, encoding="utf-8")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.os, "replace", crash)
    opened = index.open_engine(
        corpus, indexed.core_options()
    )  # still answers; the save failed quietly
    assert opened.engine.ask("what did the mayor say about the festival?").answers
    monkeypatch.undo()
    assert not list(indexed.data_dir.glob(".*.tmp"))
    again = index.open_engine(corpus, indexed.core_options())
    assert again.status == "updated"  # the old index loaded, and the change found again
    assert again.changes.added == ("festival.txt",)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"bm25_k1": 1.2}, id="k1"),
        pytest.param({"bm25_b": 0.5}, id="b"),
        pytest.param({"bm25_epsilon": 0.5}, id="epsilon"),
        pytest.param("aliases", id="alias-file"),
    ],
)
def test_changed_settings_mean_a_rebuild(corpus, indexed, tmp_path, caplog, change):
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("china: [beijing]\n", encoding="utf-8")
    first = indexed.model_copy(update={"aliases_file": aliases})
    index.open_engine(corpus, first.core_options())
    if change == "aliases":
        aliases.write_text("china: [beijing, peking]\n", encoding="utf-8")
        second = first
    else:
        second = first.model_copy(update=change)
    caplog.clear()
    opened = index.open_engine(corpus, second.core_options())
    assert opened.status == "built"
    assert any("out of date" in r.getMessage() for r in caplog.records)


def test_another_tokenizer_version_means_a_rebuild(corpus, indexed, monkeypatch):
    index.open_engine(corpus, indexed.core_options())
    monkeypatch.setattr(encoding, "TOKENIZER_VERSION", encoding.TOKENIZER_VERSION + 1)
    assert index.open_engine(corpus, indexed.core_options()).status == "built"


def test_an_edited_word_list_means_a_rebuild(corpus, indexed, monkeypatch):
    """A new reporting verb changes who is found speaking: a saved index must not hide it."""
    from bot.core import lexicon

    index.open_engine(corpus, indexed.core_options())
    assert index.open_engine(corpus, indexed.core_options()).status == "loaded"
    monkeypatch.setattr(lexicon, "digest", lambda: "an edited list")
    assert index.open_engine(corpus, indexed.core_options()).status == "built"


def test_two_corpora_keep_separate_indexes(corpus, indexed, tmp_path):
    other = tmp_path / "other" / "articles"  # same folder name, another place
    other.mkdir(parents=True)
    (other / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
    index.open_engine(corpus, indexed.core_options())
    index.open_engine(other, indexed.core_options())
    assert index.index_file(corpus, indexed.core_options()) != index.index_file(
        other, indexed.core_options()
    )
    assert index.open_engine(corpus, indexed.core_options()).status == "loaded"
    assert index.open_engine(other, indexed.core_options()).engine.article_count == 1


def test_without_the_saved_index_nothing_is_written(corpus, tmp_path):
    settings = make_settings(use_saved_index=False, data_dir=tmp_path / "data")
    assert index.open_engine(corpus, settings.core_options()).status == "built"
    assert not (tmp_path / "data").exists()


def test_a_live_corpus_saves_what_it_applies(corpus, indexed):
    from bot.core.corpus.live import LiveCorpus

    live = LiveCorpus.load(corpus, indexed.core_options())
    (corpus / "festival.txt").write_text(FESTIVAL, encoding="utf-8")
    assert live.rescan().added == ("festival.txt",)
    opened = index.open_engine(corpus, indexed.core_options())
    assert opened.status == "loaded"
    assert_same_answers(opened.engine, live.engine)


def test_a_live_corpus_starts_from_the_saved_index(corpus, indexed, caplog):
    from bot.core.corpus.live import LiveCorpus

    index.open_engine(corpus, indexed.core_options())
    (corpus / "bridge.txt").unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot"):
        live = LiveCorpus.load(corpus, indexed.core_options())
    messages = [r.getMessage() for r in caplog.records]
    assert "loaded index" in messages and "index updated" in messages
    assert "bridge.txt" not in [info.source.id for info in live.engine.sources()]
    assert not live.rescan()  # nothing left to apply


# ------------------------------------------------------------------ empty corpora and saving


def test_an_empty_corpus_saves_loads_and_declines(tmp_path, indexed):
    folder = tmp_path / "new"
    folder.mkdir()
    built = index.open_engine(folder, indexed.core_options())
    assert built.save_error is None and built.engine.article_count == 0
    loaded = index.open_engine(folder, indexed.core_options())
    assert loaded.status == "loaded"
    reply = loaded.engine.ask("what did China say?")
    assert reply.answers == () and "No articles are loaded yet" in reply.no_answer_reason
    (folder / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
    assert (
        index.open_engine(folder, indexed.core_options())
        .engine.ask("when will the bridge reopen?")
        .answers
    )
    (folder / "bridge.txt").unlink()
    emptied = index.open_engine(folder, indexed.core_options())
    assert emptied.status == "updated" and emptied.engine.article_count == 0
    assert index.open_engine(folder, indexed.core_options()).status == "loaded"


def test_a_failed_save_is_reported_and_the_previous_index_is_kept(corpus, indexed, monkeypatch):
    index.open_engine(corpus, indexed.core_options())
    before = index.index_file(corpus, indexed.core_options()).read_bytes()
    (corpus / "festival.txt").write_text(FESTIVAL, encoding="utf-8")

    def disk_full(handle, header, arrays):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_write", disk_full)
    opened = index.open_engine(corpus, indexed.core_options())
    assert opened.save_error == "No space left on device"
    assert "not saved: No space left on device" in index.describe(opened)
    assert opened.engine.ask("what did the mayor say about the festival?").answers
    assert index.index_file(corpus, indexed.core_options()).read_bytes() == before
    assert not list(indexed.data_dir.glob(".*.tmp"))


def test_indexes_of_deleted_folders_are_dropped_at_the_next_save(tmp_path, indexed):
    folders = []
    for name in ("gone", "kept", "current"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
        folders.append(folder)
    gone, kept, current = folders
    for folder in (gone, kept):
        index.open_engine(folder, indexed.core_options())
    shutil.rmtree(gone)
    unrelated = indexed.data_dir / "notes.nqi"
    unrelated.write_bytes(b"not an index of ours")
    index.open_engine(current, indexed.core_options())
    assert not index.index_file(gone, indexed.core_options()).exists()
    assert (
        index.index_file(kept, indexed.core_options()).exists()
        and index.index_file(current, indexed.core_options()).exists()
    )
    assert unrelated.exists()  # not a bundle this project wrote: never deleted


def test_saved_indexes_past_the_limit_go_least_recently_used_first(tmp_path, indexed):
    settings = indexed.model_copy(update={"max_saved_indexes": 2})
    folders = []
    for name in ("a", "b", "c"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
        folders.append(folder)
    a, b, c = folders
    index.open_engine(a, settings.core_options())
    index.open_engine(b, settings.core_options())
    os.utime(index.index_file(a, settings.core_options()), ns=(1, 1))  # a long time ago
    os.utime(index.index_file(b, settings.core_options()), ns=(2, 2))
    assert (
        index.open_engine(a, settings.core_options()).status == "loaded"
    )  # a load counts as a use
    index.open_engine(c, settings.core_options())
    kept = sorted(p.name.split("-")[0] for p in settings.data_dir.glob("*.nqi"))
    assert kept == ["a", "c"]
