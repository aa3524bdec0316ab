"""The saved bundle: round trip, atomic replacement, and every bad file answered with None."""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import pickle
import struct
import threading
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bot.core.index import bundle as store
from bot.core.index.bm25 import SparseBM25
from bot.core.index.bundle import Bundle, bundle_path, load, save
from bot.core.index.changes import article_changes, file_digest
from bot.core.index.encoding import tokenizer_fingerprint
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.sentences import curated_abbreviations

FINGERPRINT = {"stopwords": "ab12", "stemmer": "snowball/english", "k1": 1.5, "b": 0.75}


def make_bundle(scale: int = 1) -> Bundle:
    return Bundle(
        arrays={
            "indptr": np.arange(0, 40 * scale, 4, dtype=np.int64),
            "weights": np.linspace(0.0, 1.0, 7 * scale),
            "live": np.array([True, False, True] * scale),
            "classes": np.arange(9 * scale, dtype=np.uint16),
        },
        meta={"vocabulary": ["say", "china", "rostóv", "€"], "size": 3 * scale},
        fingerprint=FINGERPRINT,
    )


def assert_equal(loaded: Bundle | None, bundle: Bundle) -> None:
    assert loaded is not None
    assert set(loaded.arrays) == set(bundle.arrays)
    for name, value in bundle.arrays.items():
        np.testing.assert_array_equal(loaded.arrays[name], value)
        assert loaded.arrays[name].dtype == value.dtype
    assert dict(loaded.meta) == dict(bundle.meta)
    assert dict(loaded.fingerprint) == dict(bundle.fingerprint)


def one_warning(caplog) -> str:
    records = [r for r in caplog.records if r.name == "bot.core.index.bundle"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    message = records[0].getMessage()
    assert "\n" not in message
    return message


def test_round_trip(tmp_path):
    bundle = make_bundle()
    path = save(tmp_path / "data", bundle)
    assert path == bundle_path(tmp_path / "data") and path.exists()
    assert_equal(load(tmp_path / "data", FINGERPRINT), bundle)


def test_bundles_under_different_names_are_separate(tmp_path):
    save(tmp_path, make_bundle(1), name="one")
    save(tmp_path, make_bundle(2), name="two")
    assert_equal(load(tmp_path, FINGERPRINT, name="two"), make_bundle(2))
    assert_equal(load(tmp_path, FINGERPRINT, name="one"), make_bundle(1))


def test_tuples_in_the_fingerprint_compare_as_they_read_back(tmp_path):
    fingerprint = {**FINGERPRINT, "aliases": ("a", "b")}
    save(tmp_path, Bundle(make_bundle().arrays, fingerprint=fingerprint))
    assert load(tmp_path, fingerprint) is not None


def test_missing_bundle_is_none_without_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="bot"):
        assert load(tmp_path, FINGERPRINT) is None
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "no saved index" in caplog.records[0].getMessage()


@pytest.mark.parametrize("key", ["stopwords", "k1"])
def test_changed_setting_means_rebuild(tmp_path, caplog, key):
    save(tmp_path, make_bundle())
    assert load(tmp_path, {**FINGERPRINT, key: "other"}) is None
    assert key in one_warning(caplog)


def test_added_setting_means_rebuild(tmp_path, caplog):
    save(tmp_path, make_bundle())
    assert load(tmp_path, {**FINGERPRINT, "aliases": "cd34"}) is None
    assert "aliases" in one_warning(caplog)


def test_other_format_version_means_rebuild(tmp_path, caplog, monkeypatch):
    save(tmp_path, make_bundle())
    monkeypatch.setattr(store, "FORMAT_VERSION", store.FORMAT_VERSION + 1)
    assert load(tmp_path, FINGERPRINT) is None
    assert "format" in one_warning(caplog)


# ------------------------------------------------------------------ atomic writes


def test_crash_before_rename_keeps_the_previous_bundle(tmp_path, monkeypatch):
    old, new = make_bundle(1), make_bundle(3)
    save(tmp_path, old)

    def crash(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(store.os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        save(tmp_path, new)
    monkeypatch.undo()
    assert_equal(load(tmp_path, FINGERPRINT), old)
    # No temp file left; the writers' lock file stays by design.
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "index.nqi"]


def test_crash_while_writing_keeps_the_previous_bundle(tmp_path, monkeypatch):
    old = make_bundle(1)
    save(tmp_path, old)
    real_write = store._write

    def half_written(handle, header, arrays):
        real_write(handle, header, arrays)
        handle.truncate(handle.tell() // 2)
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "_write", half_written)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, make_bundle(3))
    monkeypatch.undo()
    assert_equal(load(tmp_path, FINGERPRINT), old)


def test_writes_are_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(store.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(
        store.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))
    )
    save(tmp_path, make_bundle())
    assert events == ["fsync", "replace", "fsync"]  # file, rename, directory


def test_temp_files_left_by_a_hard_crash_are_cleaned_up(tmp_path):
    (tmp_path / ".index.abc123.tmp").write_bytes(b"half a bundle")
    save(tmp_path, make_bundle())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "index.nqi"]


def test_empty_arrays_round_trip(tmp_path):
    """An empty corpus saves arrays with a zero in their shape: a normal state, not a crash."""
    bundle = Bundle(
        {"none": np.zeros(0, np.int64), "rows": np.zeros((0, 32), np.uint8)}, {"n": 0}, FINGERPRINT
    )
    save(tmp_path, bundle)
    assert_equal(load(tmp_path, FINGERPRINT), bundle)


def _save_many(directory: str, scale: int, rounds: int) -> None:
    for _ in range(rounds):
        save(Path(directory), make_bundle(scale))


def test_concurrent_writers_never_break_each_others_save(tmp_path):
    """Two processes saving the same bundle at once both succeed; the file is one of theirs.

    Before writers took turns, each removed the other's temporary file as "stale" and
    one save failed with FileNotFoundError.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        runs = [pool.submit(_save_many, str(tmp_path), scale, 20) for scale in (20000, 20001)]
        for run in runs:
            run.result(timeout=120)  # re-raises a failed save
    loaded = load(tmp_path, FINGERPRINT)
    assert loaded is not None and loaded.meta["size"] in (60000, 60003)
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_temp_file_is_left_alone_while_its_writer_holds_the_lock(tmp_path):
    save(tmp_path, make_bundle())
    in_progress = tmp_path / ".index.writer2.tmp"
    with store.locked(tmp_path):
        in_progress.write_bytes(b"being written")
        saver = threading.Thread(target=save, args=(tmp_path, make_bundle(2)))
        saver.start()
        saver.join(0.5)
        assert saver.is_alive() and in_progress.exists()  # waits its turn, deletes nothing
    saver.join(10)
    assert_equal(load(tmp_path, FINGERPRINT), make_bundle(2))


# ------------------------------------------------------------------ bad files


def read_header(path) -> tuple[dict, int]:
    """The bundle's JSON header and where its data starts (the layout in store's docs)."""
    data = path.read_bytes()
    magic, length, _ = struct.unpack_from("<8sQI", data)
    assert magic == b"NQBUNDLE"
    start = -(-(20 + length) // 64) * 64
    return json.loads(data[20 : 20 + length]), start


def write_with_header(path, header: dict, data: bytes = b"") -> None:
    """A bundle file with this header (CRC and padding right) and these data bytes."""
    encoded = json.dumps(header).encode()
    padding = bytes(-(-(20 + len(encoded)) // 64) * 64 - 20 - len(encoded))
    path.write_bytes(
        struct.pack("<8sQI", b"NQBUNDLE", len(encoded), zlib.crc32(encoded))
        + encoded
        + padding
        + data
    )


def corrupt_middle(path):
    header, start = read_header(path)
    weights = next(spec for spec in header["arrays"] if spec["name"] == "weights")
    data = bytearray(path.read_bytes())
    at = start + weights["offset"] + 128
    data[at : at + 16] = bytes(16)  # inside the array's data
    path.write_bytes(bytes(data))


def corrupt_header(path):
    data = bytearray(path.read_bytes())
    data[40] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), id="truncated"
        ),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-10]), id="tail-cut"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.write_bytes(b"not an index file at all" * 40), id="garbage"),
        pytest.param(corrupt_middle, id="flipped-bytes"),
        pytest.param(corrupt_header, id="flipped-header"),
    ],
)
def test_damaged_bundle_is_none_with_one_warning(tmp_path, caplog, damage):
    path = save(tmp_path, make_bundle(50))
    damage(path)
    assert load(tmp_path, FINGERPRINT) is None
    assert "unreadable" in one_warning(caplog)


def test_load_using_hands_back_what_use_made_once_checked(tmp_path):
    save(tmp_path, make_bundle(50))
    made, bundle = store.load_using(
        tmp_path, FINGERPRINT, "index", lambda b: b.arrays["live"].sum()
    )
    assert made == 100 and bundle.meta["size"] == 150


def test_load_using_drops_what_use_made_of_a_damaged_bundle(tmp_path, caplog):
    path = save(tmp_path, make_bundle(50))
    corrupt_middle(path)
    seen = []
    assert store.load_using(tmp_path, FINGERPRINT, "index", seen.append) is None
    assert seen  # ``use`` ran beside the checks, and its result was dropped
    assert "CRC mismatch" in one_warning(caplog)


def test_load_using_refuses_a_damaged_bundle_before_raising_what_use_raised(tmp_path, caplog):
    path = save(tmp_path, make_bundle(50))
    corrupt_middle(path)

    def use(bundle):
        raise KeyError("tripped on the damage")

    assert store.load_using(tmp_path, FINGERPRINT, "index", use) is None
    assert "CRC mismatch" in one_warning(caplog)


def test_load_using_raises_what_use_raised_on_a_sound_bundle(tmp_path):
    save(tmp_path, make_bundle(50))

    def use(bundle):
        raise KeyError("no such array")

    with pytest.raises(KeyError, match="no such array"):
        store.load_using(tmp_path, FINGERPRINT, "index", use)


def test_bundle_without_its_header_is_refused(tmp_path, caplog):
    bundle_path(tmp_path).write_bytes(b"NQBUNDLE" + bytes(12))
    assert load(tmp_path, FINGERPRINT) is None
    one_warning(caplog)


def test_header_naming_data_past_the_end_is_refused(tmp_path, caplog):
    header = {
        "format": store.FORMAT_VERSION,
        "fingerprint": FINGERPRINT,
        "arrays": [{"name": "ghost", "dtype": "<f8", "shape": [100], "offset": 0, "crc32": 0}],
        "data_bytes": 80,
    }
    write_with_header(bundle_path(tmp_path), header, bytes(80))
    assert load(tmp_path, FINGERPRINT) is None
    assert "truncated" in one_warning(caplog)


EXECUTED = []


def _payload() -> str:
    EXECUTED.append("ran")
    return "pwned"


class Boom:
    def __reduce__(self):
        return (_payload, ())


def test_pickled_objects_are_never_loaded(tmp_path, caplog):
    pickled = pickle.dumps(np.array([Boom(), 1], dtype=object))
    header = {
        "format": store.FORMAT_VERSION,
        "fingerprint": FINGERPRINT,
        "arrays": [
            {"name": "evil", "dtype": "|O", "shape": [2], "offset": 0, "crc32": zlib.crc32(pickled)}
        ],
        "data_bytes": len(pickled),
    }
    write_with_header(bundle_path(tmp_path), header, pickled)
    assert load(tmp_path, FINGERPRINT) is None
    assert EXECUTED == []
    assert "refused" in one_warning(caplog)


def test_object_and_text_arrays_are_refused_when_saving(tmp_path):
    with pytest.raises(ValueError, match="pickle"):
        save(tmp_path, Bundle({"evil": np.array([{}], dtype=object)}))
    with pytest.raises(ValueError, match="numbers"):
        save(tmp_path, Bundle({"words": np.array(["a", "b"])}))
    assert not bundle_path(tmp_path).exists()


# ------------------------------------------------------------------ fingerprints and articles


def test_tokenizer_fingerprint_tracks_word_lists_and_parameters():
    abbreviations = curated_abbreviations()
    base = tokenizer_fingerprint(Tokenizer(), abbreviations, k1=1.5, b=0.75, epsilon=0.25)
    assert base == tokenizer_fingerprint(Tokenizer(), abbreviations, k1=1.5, b=0.75, epsilon=0.25)
    assert base["k1"] == 1.5 and base["stemmer"] == "snowball/english"
    fewer = Tokenizer(stopwords=frozenset(["the"]))
    assert tokenizer_fingerprint(fewer, abbreviations, k1=1.5, b=0.75, epsilon=0.25) != base
    aliased = Tokenizer(aliases={"beijing": "china"})
    assert tokenizer_fingerprint(aliased, abbreviations)["aliases"] != base["aliases"]
    other = tokenizer_fingerprint(Tokenizer(), abbreviations | {"xyz"})
    assert other["abbreviations"] != base["abbreviations"]
    json.dumps(base)


def test_file_digest_is_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("Rostov “quote”\n".encode())
    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_article_changes_are_reported_by_kind():
    saved = {"a.txt": "1", "b.txt": "2", "c.txt": "3"}
    current = {"a.txt": "1", "b.txt": "9", "d.txt": "4"}
    changes = article_changes(saved, current)
    assert (changes.added, changes.removed, changes.changed) == (("d.txt",), ("c.txt",), ("b.txt",))
    assert changes and not article_changes(saved, saved)


def test_a_sparse_index_survives_the_store(tmp_path):
    docs = [["harbour", "close"], ["harbour", "master", "say"], ["storm", "flood"], ["say"]]
    index = SparseBM25(docs)
    arrays, meta = index.to_arrays()
    save(tmp_path, Bundle(arrays, meta, FINGERPRINT))
    loaded = load(tmp_path, FINGERPRINT)
    assert loaded is not None
    restored = SparseBM25.from_arrays(loaded.arrays, loaded.meta)
    np.testing.assert_array_equal(
        restored.scores(["harbour", "say"]), index.scores(["harbour", "say"])
    )
