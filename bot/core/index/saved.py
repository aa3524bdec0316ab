"""The saved index of a corpus folder: load it, bring it up to date, save it again.

What is saved is the engine's ``CorpusTable`` (the costly part of a build:
cleaning, Punkt splitting, attribution, tokenizing, as flat arrays), the two
BM25 indexes (sentences and paragraphs) as ``SparseBM25.to_arrays`` gives them,
and the Punkt parameters. A load is therefore a read: no Python object per
sentence is made, and an unchanged article splits and scores exactly as
before while a changed one is processed alone (``Engine.with_changes``).

Layout: one ``store`` bundle (numpy arrays and a JSON header, never pickle) per
corpus folder, at ``<data_dir>/<folder name>-<hash of its resolved
path>.nqi``. Article metadata, digests, unreadable files, Punkt parameters and
the BM25 vocabularies are in the JSON header.

Change detection: the header maps every article file (readable or not) to the
sha256 of its bytes, hashed *before* the file is read, so an edit made during an
update shows up on the next start. A file whose size, modification time and
inode are those recorded with its hash, and which was last modified well
before the index was written, is not read again to be hashed (git's rule for
its index; see ``hash_files``). Added, changed and removed files are applied
with ``with_changes``; a different format version, tokenizer rule version or
any setting that shapes the stored data means a full rebuild.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from nltk.tokenize.punkt import PunktParameters

from bot.core.answer.engine import Engine, Progress
from bot.core.index import bundle as store
from bot.core.index.bm25 import ARRAY_NAMES, SparseBM25
from bot.core.index.table import CorpusTable, Packed
from bot.core.index.tokenize import TOKENIZER_VERSION, Tokenizer, load_aliases
from bot.core.ingest.files import (
    FileStamp,
    LoadError,
    read_files,
    require_folder,
    scan_folder,
)
from bot.core.ingest.sentences import TRAINING_CHARS, SentenceSplitter, curated_abbreviations
from bot.settings import Settings

log = logging.getLogger(__name__)

LAYOUT_VERSION = 4
_BM25 = {"sentences": "bm25s", "paragraphs": "bm25p"}  # saved index -> array prefix


RACY_NS = 2_000_000_000  # a stamp this close to the time it was read does not vouch for a hash
# A start rewrites the whole index only to record new stamps when at least this share of the
# files would otherwise be read again at every start (see ``stamps_worth_saving``).
RESAVE_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class FolderFiles:
    """Every article file's content hash, and the stamps that vouch for those hashes."""

    hashes: dict[str, str]
    stamps: dict[str, FileStamp]


@dataclass(frozen=True, slots=True)
class Opened:
    """An engine for a folder, the files it reflects, and how it was obtained."""

    engine: Engine
    files: FolderFiles
    status: str  # "built", "loaded" or "updated"
    changes: store.ArticleChanges
    # Why the index could not be saved (the old one, if any, stays); None when saved or unneeded.
    save_error: str | None = None


# --------------------------------------------------------------------- where and what


def index_name(folder: Path) -> str:
    """The bundle name for a corpus folder: readable, and unique per resolved path."""
    resolved = folder.resolve()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", resolved.name).strip("-")[:40] or "corpus"
    return f"{slug}-{hashlib.sha256(str(resolved).encode('utf-8')).hexdigest()[:12]}"


def index_file(folder: Path, settings: Settings) -> Path:
    """Where the saved index of ``folder`` lives."""
    return store.bundle_path(settings.data_dir, index_name(folder))


def fingerprint(tokenizer: Tokenizer, settings: Settings) -> dict[str, Any]:
    """Every setting and rule version that shapes the saved data; any change means rebuild."""
    return store.tokenizer_fingerprint(
        tokenizer,
        curated_abbreviations(),
        tokenizer_version=TOKENIZER_VERSION,
        layout=LAYOUT_VERSION,
        punkt_training_chars=TRAINING_CHARS,
        bm25_k1=settings.bm25_k1,
        bm25_b=settings.bm25_b,
        bm25_epsilon=settings.bm25_epsilon,
        max_article_bytes=settings.max_article_bytes,  # which files are in it at all
    )


def hash_files(
    folder: Path,
    known: FolderFiles | None = None,
    scanned: Mapping[str, FileStamp] | None = None,
) -> FolderFiles:
    """The sha256 of every article file's bytes, read again unless ``known`` vouches for it.

    A hash in ``known`` is reused when the file's stamp (size, mtime, ctime, inode)
    is the one recorded with it; a stamp is only recorded when the file had not
    been written for ``RACY_NS`` before it was read, so a write after hashing
    always changes it, even on file systems with coarse timestamps (git's rule
    for "racily clean" entries). Tens of thousands of unchanged files are then
    checked in a fraction of a second instead of being read. ``scanned``: the
    folder's ``scan_folder``, if the caller has it already.
    """
    now = time.time_ns()
    if scanned is None:
        scanned = scan_folder(require_folder(folder))
    files = FolderFiles({}, {})
    known_stamps = known.stamps if known is not None else {}
    known_hashes = known.hashes if known is not None else {}
    for source_id, stamp in scanned.items():
        if known_stamps.get(source_id) == stamp and source_id in known_hashes:
            # Untouched since its stamp vouched for its hash, so the stamp vouches still
            # (``vouches`` only grows more sure with time): no read, no second check.
            files.hashes[source_id] = known_hashes[source_id]
            files.stamps[source_id] = stamp
        else:
            record_file(files, folder, source_id, stamp, now)
    return files


def record_file(
    files: FolderFiles,
    folder: Path,
    source_id: str,
    stamp: FileStamp,
    read_at_ns: int,
) -> None:
    """Read one file and put its content hash in ``files``.

    Its stamp goes with it only when it ``vouches``; a file deleted before it could
    be read leaves ``files`` altogether.
    """
    files.stamps.pop(source_id, None)
    try:
        digest = store.file_digest(folder / source_id)
    except OSError:
        files.hashes.pop(source_id, None)
        return
    files.hashes[source_id] = digest
    if vouches(stamp, read_at_ns):
        files.stamps[source_id] = stamp


def vouches(stamp: FileStamp, read_at_ns: int) -> bool:
    """Whether ``stamp``, read at ``read_at_ns``, may stand for the file's content next time."""
    return max(stamp.mtime_ns, stamp.ctime_ns) < read_at_ns - RACY_NS


def stamps_worth_saving(files: FolderFiles, saved: FolderFiles) -> bool:
    """Whether to rewrite an unchanged index only for the stamps that now vouch for its hashes.

    A file without a saved stamp is read again at every start; recording its stamp
    rewrites the whole index. For the few files an ``add`` wrote just before (too
    recent to vouch then) the reads cost milliseconds per start, the rewrite 1.4 s
    at a million sentences; after a build of files written moments before it, most
    files are in that case and one rewrite saves seconds at every later start.
    """
    newly = sum(1 for key, stamp in files.stamps.items() if saved.stamps.get(key) != stamp)
    return newly > 0 and newly >= RESAVE_SHARE * len(files.hashes)


# --------------------------------------------------------------------- open / build / save


def open_engine(
    folder: Path,
    settings: Settings,
    progress: Progress | None = None,
    rebuild: bool = False,
) -> Opened:
    """The engine for ``folder``: the saved index, brought up to date, or a fresh build.

    Without ``settings.use_saved_index`` nothing is read or written: a fresh build.
    """
    tokenizer = Tokenizer(aliases=load_aliases(settings.aliases_file))
    use = settings.use_saved_index
    require_folder(folder)
    bundle = saved = engine = None
    # The folder scan mostly waits on the file system; the index loads meanwhile.
    with ThreadPoolExecutor(1, thread_name_prefix="folder-scan") as pool:
        scanning = pool.submit(scan_folder, folder)
        if use and not rebuild:
            bundle = store.load(
                settings.data_dir, fingerprint(tokenizer, settings), index_name(folder)
            )
        if bundle is not None:
            try:
                saved = _saved_files(bundle)
                engine = from_bundle(bundle, settings, tokenizer)
            except Exception as exc:  # a file that passed the store's checks but does not fit
                reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
                log.warning("saved index for %s is damaged (%s); rebuilding", folder, reason)
                saved = None
        scanned = scanning.result()
    files = hash_files(folder, saved, scanned)
    hashes = files.hashes
    if engine is None or saved is None:
        raw, errors = read_files(folder, sorted(hashes), settings.max_article_bytes)
        engine = Engine.from_articles(raw, settings, errors, progress)
        failed = save_quietly(folder, settings, engine, files) if use else None
        return Opened(engine, files, "built", store.ArticleChanges((), (), ()), failed)
    log.info("loaded index", extra={"file": str(index_file(folder, settings))})
    changes = store.article_changes(saved.hashes, hashes)
    if not changes:
        failed = None
        if stamps_worth_saving(files, saved):
            failed = save_quietly(folder, settings, engine, files)  # the next start reads less
        return Opened(engine, files, "loaded", changes, failed)
    engine = apply_changes(folder, engine, changes, progress)
    failed = save_quietly(folder, settings, engine, files)
    log.info(
        "index updated",
        extra={
            "added": len(changes.added),
            "changed": len(changes.changed),
            "removed": len(changes.removed),
        },
    )
    return Opened(engine, files, "updated", changes, failed)


def apply_changes(
    folder: Path, engine: Engine, changes: store.ArticleChanges, progress: Progress | None = None
) -> Engine:
    """``engine`` with the added and changed files read again and the removed ones dropped."""
    ids = sorted(changes.added + changes.changed)
    raw, failed = read_files(folder, ids, engine.settings.max_article_bytes)
    touched = set(changes.added) | set(changes.changed) | set(changes.removed)
    errors = [e for e in engine.errors if e.path not in touched] + failed
    errors.sort(key=lambda e: e.path)
    gone = [*changes.removed, *(e.path for e in failed)]
    return engine.with_changes(raw, gone, errors, progress)


def save_engine(folder: Path, settings: Settings, engine: Engine, files: FolderFiles) -> Path:
    """Save ``engine`` as the index of ``folder`` (atomically); returns the file.

    Then drops the saved indexes of folders that no longer exist, and the least
    recently used beyond ``max_saved_indexes``: every ``--corpus`` folder ever asked
    would otherwise leave its index behind for good.
    """
    bundle = to_bundle(engine, files, fingerprint(engine.tokenizer, settings), folder)
    path = store.save(settings.data_dir, bundle, index_name(folder))
    prune_indexes(settings.data_dir, keep=index_name(folder), limit=settings.max_saved_indexes)
    return path


def save_quietly(
    folder: Path, settings: Settings, engine: Engine, files: FolderFiles
) -> str | None:
    """Save, or say in one line why not (the engine in hand still answers); the reason, if any."""
    try:
        save_engine(folder, settings, engine, files)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        log.warning(
            "could not save the index of %s to %s (%s); the previous one, if any, is kept",
            folder,
            settings.data_dir,
            reason,
        )
        return reason
    return None


def prune_indexes(data_dir: Path, keep: str, limit: int) -> list[str]:
    """Delete saved indexes whose corpus folder is gone, then the oldest past ``limit``.

    "Oldest" is by last use (``store.last_used``). Only bundles that record
    their folder (this layout's) are considered; ``keep`` is never deleted.
    Returns the names deleted.
    """
    gone, alive = [], []
    for name, meta in store.saved_meta(data_dir).items():
        folder = meta.get("folder")
        if name == keep or not isinstance(folder, str):
            continue
        if not Path(folder).is_dir():
            gone.append(name)
            continue
        with suppress(OSError):  # deleted meanwhile
            alive.append((store.last_used(data_dir, name), name))
    alive.sort()  # least recently used first; ``keep`` counts towards the limit
    doomed = gone + [name for _, name in alive[: max(0, len(alive) + 1 - limit)]]
    for name in doomed:
        try:
            store.remove(data_dir, name)
        except OSError as exc:
            log.warning("could not delete the unused index %s (%s)", name, exc.strerror or exc)
            continue
        log.info("deleted an unused saved index", extra={"file": name})
    return doomed


# --------------------------------------------------------------------- encoding


def to_bundle(
    engine: Engine, files: FolderFiles, settings_print: Mapping[str, Any], folder: Path
) -> store.Bundle:
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
    params = engine.splitter.params
    meta = {
        "folder": str(folder.resolve()),
        "errors": [{"path": e.path, "reason": e.reason} for e in engine.errors],
        "punkt": {
            "abbrev_types": sorted(params.abbrev_types),
            "collocations": sorted([a, b] for a, b in params.collocations),
            "sent_starters": sorted(params.sent_starters),
            "ortho_context": dict(sorted(params.ortho_context.items())),
        },
        "bm25": bm25_meta,
    }
    # Per article file: its id, sha256 and stamp (-1s when none vouches for the hash).
    ids = sorted(files.hashes)
    packed = Packed.of(ids)
    arrays["files_id_data"], arrays["files_id_offsets"] = packed.data, packed.offsets
    arrays["files_sha256"] = np.frombuffer(
        bytes.fromhex("".join(files.hashes[key] for key in ids)), dtype=np.uint8
    ).reshape(len(ids), 32)
    arrays["files_stamp"] = np.array(
        [files.stamps.get(key, (-1, -1, -1, -1)) for key in ids], dtype=np.int64
    ).reshape(len(ids), 4)
    return store.Bundle(arrays, meta, settings_print)


def _saved_files(bundle: store.Bundle) -> FolderFiles:
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


def from_bundle(bundle: store.Bundle, settings: Settings, tokenizer: Tokenizer) -> Engine:
    """An engine from a saved bundle; ValueError (or KeyError, TypeError) if it does not fit."""
    a, meta = bundle.arrays, bundle.meta
    table = CorpusTable.from_arrays(a)
    errors = [LoadError(e["path"], e["reason"]) for e in meta.get("errors", [])]
    splitter = SentenceSplitter(_punkt(meta["punkt"]))
    indexes = (
        _bm25(a, meta["bm25"], "sentences", table.vocabulary),
        _bm25(a, meta["bm25"], "paragraphs", table.vocabulary),
    )
    return Engine(table, settings, tokenizer, splitter, errors, indexes)


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


def _punkt(saved: Mapping[str, Any]) -> PunktParameters:
    params = PunktParameters()
    params.abbrev_types = set(saved["abbrev_types"])
    params.collocations = {(a, b) for a, b in saved["collocations"]}
    params.sent_starters = set(saved["sent_starters"])
    params.ortho_context = defaultdict(int, saved["ortho_context"])
    return params


def describe(opened: Opened) -> str:
    """One line for a person: what ``open_engine`` did, and whether it could save."""
    engine = opened.engine
    size = f"{engine.article_count} articles, {engine.sentence_count} sentences"
    if opened.status == "updated":
        c = opened.changes
        what = (
            f"index updated ({len(c.added)} added, {len(c.changed)} changed, "
            f"{len(c.removed)} removed)"
        )
    else:
        what = "index up to date" if opened.status == "loaded" else f"index {opened.status}"
    unsaved = "" if opened.save_error is None else f" (not saved: {opened.save_error})"
    return f"{what}: {size}{unsaved}"
