"""What a saved index holds: an engine as a ``bundle`` of arrays and JSON, and back.

What is saved is the engine's ``CorpusTable`` (the costly part of a build:
cleaning, Punkt splitting, attribution, tokenizing, as flat arrays), the two
BM25 indexes (sentences and paragraphs) as ``SparseBM25.to_arrays`` gives them,
and the Punkt parameters. A load is therefore a read: no Python object per
sentence is made, and an unchanged article splits and scores exactly as before.
Article metadata, unreadable files, Punkt parameters and the BM25 vocabularies
are in the JSON header, with the folder's file hashes and stamps as arrays
(``changes``).

The fingerprint names every setting and rule version that shapes these arrays;
``bundle.load`` refuses a bundle saved under another one, and the caller builds
again rather than answer from data made by other rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.core import lexicon
from bot.core.answer.engine import Engine, EngineOptions
from bot.core.index.bm25 import ARRAY_NAMES, SparseBM25
from bot.core.index.bundle import Bundle
from bot.core.index.changes import FolderFiles
from bot.core.index.table import CorpusTable, Packed
from bot.core.index.tokenize import TOKENIZER_VERSION, Tokenizer
from bot.core.ingest.files import FileStamp
from bot.core.ingest.raw import LoadError
from bot.core.ingest.sentence_furniture import model_digest as furniture_digest
from bot.core.ingest.sentences import TRAINING_CHARS, SentenceSplitter, curated_abbreviations

if TYPE_CHECKING:
    from bot.core.ingest.options import IngestOptions

LAYOUT_VERSION = 4
_BM25 = {"sentences": "bm25s", "paragraphs": "bm25p"}  # saved index -> array prefix


# --------------------------------------------------------------------- fingerprint


def fingerprint(tokenizer: Tokenizer, options: EngineOptions) -> dict[str, Any]:
    """Every setting and rule version that shapes the saved data; any change means rebuild."""
    return article_fingerprint(
        tokenizer,
        options.ingest,
        layout=LAYOUT_VERSION,
        bm25_k1=options.bm25.k1,
        bm25_b=options.bm25.b,
        bm25_epsilon=options.bm25.epsilon,
    )


def article_fingerprint(
    tokenizer: Tokenizer, ingest: IngestOptions, **extra: Any
) -> dict[str, Any]:
    """What decides what an article turns into (sentences, speakers, terms), plus ``extra``.

    Every index of prepared articles, the saved file and the OpenSearch backend's alike,
    starts from this, so a rule that changes articles rebuilds both.
    """
    return tokenizer_fingerprint(
        tokenizer,
        curated_abbreviations(),
        tokenizer_version=TOKENIZER_VERSION,
        punkt_training_chars=TRAINING_CHARS,
        max_article_bytes=ingest.max_article_bytes,  # which files are in it at all
        word_lists=lexicon.digest(),  # reporting verbs, titles, the source tagger: who speaks
        furniture_model=furniture_digest(),  # which sentences are quotable at all
        **extra,
    )


def tokenizer_fingerprint(
    tokenizer: Tokenizer, abbreviations: Iterable[str], **extra: Any
) -> dict[str, Any]:
    """Every tokenizer setting that changes index terms, plus ``extra`` (k1, b, epsilon, ...).

    Word lists are hashed, not stored, to keep the header small. The PyStemmer
    and NLTK versions are included because a Snowball update can change stems and
    a Punkt update can change sentences.
    """
    return {
        "stopwords": digest(set(tokenizer.stopwords)),
        "aliases": digest(dict(tokenizer.aliases)),
        "stemmer": f"snowball/{tokenizer.language}",
        "pystemmer": _version("PyStemmer"),
        "nltk": _version("nltk"),
        "abbreviations": digest(set(abbreviations)),
        **extra,
    }


def digest(value: Any) -> str:
    """sha256 of a JSON-able value in canonical form (sets sorted, keys sorted)."""
    if isinstance(value, set | frozenset):
        value = sorted(value)
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
        return "unknown"


# --------------------------------------------------------------------- engine -> bundle


def to_bundle(
    engine: Engine, files: FolderFiles, settings_print: Mapping[str, Any], folder: Path
) -> Bundle:
    """The engine's table, BM25 indexes and splitter as arrays and JSON (see module docs).

    The header names the corpus folder, so an index whose folder is gone can be pruned.
    """
    arrays = engine.table.to_arrays()
    bm25_meta = {}
    number = {term: i for i, term in enumerate(engine.table.vocabulary)}
    for name, bm25 in (("sentences", engine.index), ("paragraphs", engine.paragraphs)):
        saved, bm25_meta[name] = bm25.to_arrays()
        arrays.update({f"{_BM25[name]}_{key}": value for key, value in saved.items()})
        # Its terms are the table's: saved as numbers into the table's vocabulary.
        terms = bm25_meta[name].pop("vocabulary")
        arrays[f"{_BM25[name]}_terms"] = np.array([number[t] for t in terms], dtype=np.int32)
    meta = {
        "folder": str(folder.resolve()),
        "errors": [{"path": e.path, "reason": e.reason} for e in engine.errors],
        "punkt": engine.splitter.saved_form(),
        "bm25": bm25_meta,
    }
    arrays.update(_files_arrays(files))
    return Bundle(arrays, meta, settings_print)


def _files_arrays(files: FolderFiles) -> dict[str, np.ndarray]:
    """Per article file: its id, sha256 and stamp (-1s when none vouches for the hash)."""
    ids = sorted(files.hashes)
    packed = Packed.of(ids)
    return {
        "files_id_data": packed.data,
        "files_id_offsets": packed.offsets,
        "files_sha256": np.frombuffer(
            bytes.fromhex("".join(files.hashes[key] for key in ids)), dtype=np.uint8
        ).reshape(len(ids), 32),
        "files_stamp": np.array(
            [files.stamps.get(key, (-1, -1, -1, -1)) for key in ids], dtype=np.int64
        ).reshape(len(ids), 4),
    }


# --------------------------------------------------------------------- bundle -> engine


def saved_files(bundle: Bundle) -> FolderFiles:
    """The hashes and stamps a bundle was saved with."""
    a = bundle.arrays
    ids = Packed(a["files_id_data"], a["files_id_offsets"]).tolist()
    digests, stamps = a["files_sha256"], a["files_stamp"]
    if digests.shape != (len(ids), 32) or stamps.shape != (len(ids), 4):
        raise ValueError("file hashes and stamps do not fit the file ids")
    text = digests.tobytes().hex()
    hashes = {key: text[64 * i : 64 * (i + 1)] for i, key in enumerate(ids)}
    vouched = {
        key: FileStamp(*row) for key, row in zip(ids, stamps.tolist(), strict=True) if row[0] >= 0
    }
    return FolderFiles(hashes, vouched)


def vouched_listing(bundle: Bundle, ids: Sequence[str], raw_stamps: bytes) -> bool:
    """Whether a folder listing (``stamp_lister``) is, file for file, the one a bundle vouches for.

    True when the listed ids are the saved ones and each file's stamp is the one saved
    with its hash: ``changes.hash_files`` would then read no file and keep every saved
    hash, so the saved hashes and stamps are the folder's as they stand, and no
    Python object per file needs to be made to know it. A file saved without a stamp
    (-1s: too recent to vouch when hashed) never matches a real stamp, so any such
    file, like any change, means False and the caller checks file by file.
    """
    a = bundle.arrays
    stamps, digests = a["files_stamp"], a["files_sha256"]
    listed = np.frombuffer(raw_stamps, dtype=np.int64).reshape(-1, 4)
    if stamps.shape != listed.shape or digests.shape != (len(ids), 32):
        return False
    if not np.array_equal(stamps, listed):
        return False
    return Packed(a["files_id_data"], a["files_id_offsets"]).tolist() == list(ids)


def from_bundle(bundle: Bundle, options: EngineOptions, tokenizer: Tokenizer) -> Engine:
    """An engine from a saved bundle; ValueError (or KeyError, TypeError) if it does not fit."""
    a, meta = bundle.arrays, bundle.meta
    table = CorpusTable.from_arrays(a)
    errors = [LoadError(e["path"], e["reason"]) for e in meta.get("errors", [])]
    splitter = SentenceSplitter.from_saved(meta["punkt"])
    indexes = (
        _bm25(a, meta["bm25"], "sentences", table.vocabulary),
        _bm25(a, meta["bm25"], "paragraphs", table.vocabulary),
    )
    return Engine(table, options, tokenizer, splitter, errors, indexes)


def _bm25(
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    name: str,
    vocabulary: Sequence[str],
) -> SparseBM25:
    """A saved BM25 index, as ``SparseBM25.to_arrays`` gave it, its terms as table numbers."""
    prefix = _BM25[name]
    numbers = arrays[f"{prefix}_terms"]
    if numbers.size and (numbers.min() < 0 or numbers.max() >= len(vocabulary)):
        raise ValueError(f"{name} index terms point outside the vocabulary")
    terms = [vocabulary[i] for i in numbers.tolist()]
    return SparseBM25.from_arrays(
        {key: arrays[f"{prefix}_{key}"] for key in ARRAY_NAMES}, {**meta[name], "vocabulary": terms}
    )
