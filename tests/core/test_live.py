"""A running corpus that follows its folder: adds, edits, deletions, broken and half-written files."""

import os
import time

import pytest

from bot.core.corpus.live import LiveCorpus, Watcher

BASE = {
    "harbour.txt": "The harbour authority said the port would stay closed until Friday.\n\n"
    "Fishing crews protested outside the town hall on Monday.\n",
    "bridge.txt": "The council said the old bridge would reopen in May after repairs.\n\n"
    "Traffic was diverted through the market square meanwhile.\n",
    "school.txt": "The school board voted to extend the summer term by one week.\n\n"
    "Parents welcomed the decision at a packed meeting.\n",
}


def write(folder, name, text, mtime_step=0):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    if mtime_step:  # make the change visible on file systems with coarse timestamps
        stamp = time.time() + mtime_step
        os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def live(tmp_path, settings):
    for name, text in BASE.items():
        write(tmp_path, name, text)
    return LiveCorpus.load(tmp_path, settings.core_options(), settle_seconds=1.0)


def quotes(live, question):
    return [a.quote for a in live.engine.ask(question).answers]


def test_a_new_file_is_answered_once_it_has_settled(live, tmp_path):
    assert quotes(live, "what did the mayor say about the festival?") == []
    write(tmp_path, "festival.txt", "The mayor said the festival would return next summer.\n")
    assert not live.poll(now=100.0)  # first sight: still settling
    change = live.poll(now=101.5)
    assert change.added == ("festival.txt",)
    assert quotes(live, "what did the mayor say about the festival?") == [
        "The mayor said the festival would return next summer."
    ]


def test_an_edit_replaces_the_old_text_and_keeps_the_rest(live, tmp_path):
    write(
        tmp_path,
        "bridge.txt",
        "The council said the old bridge would stay shut until September.\n",
        mtime_step=5,
    )
    live.poll(now=10.0)
    change = live.poll(now=12.0)
    assert change.changed == ("bridge.txt",)
    answers = quotes(live, "what did the council say about the bridge?")
    assert answers == ["The council said the old bridge would stay shut until September."]
    assert quotes(live, "what did the school board vote?")  # untouched articles still answer


def test_a_deleted_file_stops_being_quoted_at_once(live, tmp_path):
    (tmp_path / "school.txt").unlink()
    change = live.poll(now=1.0)
    assert change.removed == ("school.txt",)
    assert quotes(live, "what did the school board vote?") == []


def test_a_broken_file_is_reported_once_and_the_rest_keep_serving(live, tmp_path, caplog):
    (tmp_path / "broken.txt").write_bytes(b"\xff\xfe not utf-8 \xff")
    live.poll(now=0.0)
    first = live.poll(now=2.0)
    assert [e.path for e in first.failed] == ["broken.txt"]
    assert not live.poll(now=4.0)
    assert caplog.text.count("skipped broken.txt") == 1
    assert [e.path for e in live.errors] == ["broken.txt"]
    assert quotes(live, "when will the bridge reopen?")


def test_a_file_still_being_written_is_not_read_until_it_stops_growing(live, tmp_path):
    path = write(tmp_path, "late.txt", "The minister said the new rail line")
    live.poll(now=0.0)
    with path.open("a", encoding="utf-8") as handle:  # the writer is not done yet
        handle.write(" would open in 2030, two years late.\n")
    os.utime(path, (time.time() + 3, time.time() + 3))
    assert not live.poll(now=1.5)  # it moved since it was first seen: wait again
    live.poll(now=3.0)
    assert quotes(live, "what did the minister say about the rail line?") == [
        "The minister said the new rail line would open in 2030, two years late."
    ]


def test_touching_a_file_without_changing_it_changes_nothing(live, tmp_path):
    os.utime(tmp_path / "harbour.txt", (time.time() + 9, time.time() + 9))
    before = live.engine
    live.poll(now=0.0)
    assert not live.poll(now=2.0)
    assert live.engine is before


def test_rescan_applies_changes_without_waiting(live, tmp_path):
    write(tmp_path, "extra.txt", "The coach said the team would train at dawn all week.\n")
    assert live.rescan().added == ("extra.txt",)


def test_the_watcher_thread_picks_up_adds_edits_and_deletes(tmp_path, settings):
    for name, text in BASE.items():
        write(tmp_path, name, text)
    live = LiveCorpus.load(tmp_path, settings.core_options(), settle_seconds=0.1)

    def eventually(check, seconds=10.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.05)
        return False

    with Watcher(live, interval=0.05):
        write(tmp_path, "zoo.txt", "The zoo keeper said the pandas had settled in well.\n")
        assert eventually(lambda: quotes(live, "what did the zoo keeper say?"))
        (tmp_path / "zoo.txt").unlink()
        assert eventually(lambda: not quotes(live, "what did the zoo keeper say?"))
        (tmp_path / "bad.md").write_text("---\ntitle: [oops\n---\nText.", encoding="utf-8")
        assert eventually(lambda: [e.path for e in live.errors] == ["bad.md"])
        assert quotes(live, "when will the bridge reopen?")


def test_an_impossible_date_is_one_files_error_and_a_good_file_beside_it_is_indexed(live, tmp_path):
    write(tmp_path, "bad.md", "---\npublished: 2023-02-30\n---\nThe mayor said nothing.\n")
    write(tmp_path, "festival.txt", "The mayor said the festival would return next summer.\n")
    change = live.rescan()
    assert change.added == ("festival.txt",)
    assert [e.path for e in change.failed] == ["bad.md"]
    assert "impossible value" in live.errors[0].reason
    assert quotes(live, "what did the mayor say about the festival?")
    write(tmp_path, "bad.md", "---\npublished: 2023-02-28\n---\nThe mayor said nothing.\n", 5)
    assert live.rescan().added == ("bad.md",)
    assert live.errors == ()


def test_a_failed_update_leaves_every_file_pending_for_the_next_poll(live, tmp_path, monkeypatch):
    write(tmp_path, "festival.txt", "The mayor said the festival would return next summer.\n")
    (tmp_path / "school.txt").unlink()
    real = type(live.engine).with_changes

    def fails_once(*args, **kwargs):
        monkeypatch.setattr(type(live.engine), "with_changes", real)
        raise MemoryError("out of memory for a moment")

    monkeypatch.setattr(type(live.engine), "with_changes", fails_once)
    with pytest.raises(MemoryError):
        live.rescan()
    assert quotes(live, "what did the school board vote?")  # the old engine still answers
    change = live.rescan()  # nothing was marked seen: the same changes apply now
    assert change.added == ("festival.txt",) and change.removed == ("school.txt",)
    assert quotes(live, "what did the mayor say about the festival?")
    assert quotes(live, "what did the school board vote?") == []


def test_an_article_that_breaks_preparation_costs_only_that_article(live, tmp_path, monkeypatch):
    from bot.core.ingest import document

    real = document._draft  # cleaning and splitting one article, before its batch is tagged

    def fragile(raw, splitter):
        if raw.source.id == "odd.txt":
            raise IndexError("a bug this article meets")
        return real(raw, splitter)

    monkeypatch.setattr(document, "_draft", fragile)
    write(tmp_path, "odd.txt", "The mayor said the odd thing.\n")
    write(tmp_path, "festival.txt", "The mayor said the festival would return next summer.\n")
    live.rescan()
    assert quotes(live, "what did the mayor say about the festival?")
    assert [(e.path, e.reason) for e in live.errors] == [
        ("odd.txt", "could not be prepared (IndexError: a bug this article meets)")
    ]


def test_files_that_vanish_before_they_settle_are_forgotten(live, tmp_path):
    # A copier's or an editor's short-lived files: seen once, gone by the next poll. The
    # corpus must not remember each one for as long as it runs (found by bench/soak.py).
    for i in range(50):
        path = write(tmp_path, f"flash-{i}.txt", "The mayor said the fair was cancelled.\n")
        live.poll(now=float(i))
        path.unlink()
    write(tmp_path, "kept.txt", "The coach said the team would train at dawn all week.\n")
    live.poll(now=60.0)
    assert live.poll(now=62.0).added == ("kept.txt",)
    assert len(live._pending) == 0  # the only record of files not yet applied
    assert live.rescan().added == ()
