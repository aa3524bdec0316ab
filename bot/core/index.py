"""The saved index of a corpus folder: load it, bring it up to date, save it again.

What is saved is every ``PreparedArticle`` (the costly part of a build: cleaning,
Punkt splitting, attribution, tokenizing) plus the Punkt parameters, so an
unchanged article splits and scores exactly as before and a changed one is
processed alone (``Engine.with_changes``). The two BM25 indexes (sentences and
paragraphs) are saved too, as ``SparseBM25.to_arrays`` gives them, so a load
restores them instead of encoding every sentence's terms again; a changed corpus
builds them afresh from the prepared articles.

Layout: one ``store`` bundle (``.npz``, numpy arrays and a JSON header, never
pickle) per corpus folder, at ``<data_dir>/<folder name>-<hash of its resolved
path>.npz``. Strings (article texts, headings, speakers, cues, block reasons,
index terms) are UTF-8 bytes concatenated, with offsets; per-sentence and
per-attribution values are flat arrays with offsets per article and per
sentence. Article metadata, digests, unreadable files and Punkt parameters are
in the JSON header.

Change detection: the header maps every article file (readable or not) to the
sha256 of its bytes, hashed *before* the file is read, so an edit made during an
update shows up on the next start. Added, changed and removed files are
applied with ``with_changes``; a different format version, tokenizer rule
version or any setting that shapes the stored data means a full rebuild.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any

import numpy as np
from nltk.tokenize.punkt import PunktParameters

from bot.core import store
from bot.core.bm25 import ARRAY_NAMES, SparseBM25
from bot.core.corpus import (
    ArticleFormatError,
    LoadError,
    RawArticle,
    article_files,
    read_article,
    require_folder,
)
from bot.core.document import PreparedArticle
from bot.core.engine import Engine, Progress
from bot.core.models import Article, Attribution, Block, BlockKind, Sentence, Source
from bot.core.sentences import TRAINING_CHARS, SentenceSplitter, curated_abbreviations
from bot.core.tokenize import TOKENIZER_VERSION, Tokenizer, load_aliases
from bot.settings import Settings

log = logging.getLogger(__name__)

LAYOUT_VERSION = 2
_BM25 = {"sentences": "bm25s", "paragraphs": "bm25p"}  # saved index -> array prefix
_KINDS = tuple(BlockKind)
_SENTENCE_COLUMNS = (
    "sent_start", "sent_end", "sent_paragraph", "sent_position", "sent_heading",
    "quoted", "reports", "content",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Opened:
    """An engine for a folder, the file hashes it reflects, and how it was obtained."""

    engine: Engine
    hashes: Mapping[str, str]
    status: str  # "built", "loaded" or "updated"
    changes: store.ArticleChanges


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
    )


def hash_files(folder: Path) -> dict[str, str]:
    """Article id -> sha256 of the file's bytes, for every article file in ``folder``."""
    hashes: dict[str, str] = {}
    for path in article_files(require_folder(folder)):
        try:
            hashes[path.relative_to(folder).as_posix()] = store.file_digest(path)
        except OSError:
            continue  # deleted between listing and reading
    return hashes


def read_files(folder: Path, ids: Iterable[str]) -> tuple[list[RawArticle], list[LoadError]]:
    """Read the named article files; an unreadable one becomes a ``LoadError``."""
    raw, errors = [], []
    for source_id in ids:
        try:
            raw.append(read_article(folder / source_id, source_id))
        except ArticleFormatError as exc:
            log.warning("skipped %s: %s", source_id, exc, extra={"file": source_id})
            errors.append(LoadError(source_id, str(exc)))
    return raw, errors


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
    hashes = hash_files(folder)
    tokenizer = Tokenizer(aliases=load_aliases(settings.aliases_file))
    use = settings.use_saved_index
    bundle = None
    if use and not rebuild:
        bundle = store.load(settings.data_dir, fingerprint(tokenizer, settings), index_name(folder))
    engine = None
    if bundle is not None:
        try:
            with _no_gc():
                engine = from_bundle(bundle, settings, tokenizer)
        except Exception as exc:  # a file that passed the store's checks but does not fit
            reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
            log.warning("saved index for %s is damaged (%s); rebuilding", folder, reason)
    if engine is None:
        raw, errors = read_files(folder, sorted(hashes))
        engine = Engine.from_articles(raw, settings, errors, progress)
        if use:
            save_quietly(folder, settings, engine, hashes)
        return Opened(engine, hashes, "built", store.ArticleChanges((), (), ()))
    log.info("loaded index", extra={"file": str(index_file(folder, settings))})
    changes = store.article_changes(bundle.articles, hashes)
    if not changes:
        return Opened(engine, hashes, "loaded", changes)
    engine = apply_changes(folder, engine, changes, progress)
    save_quietly(folder, settings, engine, hashes)
    log.info(
        "index updated",
        extra={
            "added": len(changes.added),
            "changed": len(changes.changed),
            "removed": len(changes.removed),
        },
    )
    return Opened(engine, hashes, "updated", changes)


def apply_changes(
    folder: Path, engine: Engine, changes: store.ArticleChanges, progress: Progress | None = None
) -> Engine:
    """``engine`` with the added and changed files read again and the removed ones dropped."""
    raw, failed = read_files(folder, sorted(changes.added + changes.changed))
    touched = set(changes.added) | set(changes.changed) | set(changes.removed)
    errors = [e for e in engine.errors if e.path not in touched] + failed
    errors.sort(key=lambda e: e.path)
    gone = [*changes.removed, *(e.path for e in failed)]
    return engine.with_changes(raw, gone, errors, progress)


def save_engine(
    folder: Path, settings: Settings, engine: Engine, hashes: Mapping[str, str]
) -> Path:
    """Save ``engine`` as the index of ``folder`` (atomically); returns the file."""
    bundle = to_bundle(engine, hashes, fingerprint(engine.tokenizer, settings))
    return store.save(settings.data_dir, bundle, index_name(folder))


def save_quietly(
    folder: Path, settings: Settings, engine: Engine, hashes: Mapping[str, str]
) -> None:
    """Save, or say in one line why not: the engine in hand still answers."""
    try:
        save_engine(folder, settings, engine, hashes)
    except OSError as exc:
        log.warning(
            "could not save the index of %s (%s); it will be rebuilt next time", folder, exc
        )


# --------------------------------------------------------------------- encoding


class _Strings:
    """Distinct strings numbered in order of first use, packed as UTF-8 bytes and offsets."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def __call__(self, text: str | None) -> int:
        if text is None:
            return -1
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = len(self.ids)
        return found

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return _pack(prefix, list(self.ids))


def _pack(prefix: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return {
        f"{prefix}_bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        f"{prefix}_offsets": offsets,
    }


def _unpack(arrays: Mapping[str, np.ndarray], prefix: str) -> list[str]:
    data = arrays[f"{prefix}_bytes"].tobytes()
    offsets = arrays[f"{prefix}_offsets"].tolist()
    return [data[a:b].decode("utf-8") for a, b in pairwise(offsets)]


def _offsets(counts: Iterable[int]) -> np.ndarray:
    counts = list(counts)
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def to_bundle(
    engine: Engine, hashes: Mapping[str, str], settings_print: Mapping[str, Any]
) -> store.Bundle:
    """The engine's prepared articles and splitter as arrays and JSON (see module docs)."""
    strings, terms = _Strings(), _Strings()
    items = engine.prepared
    blocks = [b for item in items for b in item.article.blocks]
    sentences = [s for item in items for s in item.sentences]
    docs = [d for item in items for d in item.docs]
    attributions = [a for item in items for found in item.attributions for a in found]
    speaker_terms = [t for item in items for found in item.speaker_terms for t in found]
    arrays: dict[str, np.ndarray] = {
        **_pack("text", [item.article.text for item in items]),
        "block_offsets": _offsets(len(item.article.blocks) for item in items),
        "block_start": np.array([b.start for b in blocks], dtype=np.int64),
        "block_end": np.array([b.end for b in blocks], dtype=np.int64),
        "block_kind": np.array([_KINDS.index(b.kind) for b in blocks], dtype=np.uint8),
        "block_reason": np.array([strings(b.reason) for b in blocks], dtype=np.int32),
        "sent_offsets": _offsets(len(item.sentences) for item in items),
        "sent_start": np.array([s.start for s in sentences], dtype=np.int64),
        "sent_end": np.array([s.end for s in sentences], dtype=np.int64),
        "sent_paragraph": np.array([s.paragraph for s in sentences], dtype=np.int64),
        "sent_position": np.array([s.position for s in sentences], dtype=np.int64),
        "sent_heading": np.array([strings(s.heading) for s in sentences], dtype=np.int32),
        "doc_offsets": _offsets(len(d) for d in docs),
        "doc_terms": np.array([terms(t) for d in docs for t in d], dtype=np.int32),
        "own_len": np.array(
            [len(own) for item in items for own in _own_lengths(item)], dtype=np.int32
        ),
        "quoted": np.array([q for item in items for q in item.quoted], dtype=np.float64),
        "reports": np.array([r for item in items for r in item.reports], dtype=bool),
        "content": np.array([c for item in items for c in item.content], dtype=bool),
        "attr_offsets": _offsets(len(found) for item in items for found in item.attributions),
        "attr_speaker": np.array([strings(a.speaker) for a in attributions], dtype=np.int32),
        "attr_cue": np.array([strings(a.cue) for a in attributions], dtype=np.int32),
        "attr_resolved": np.array([strings(a.resolved_from) for a in attributions], dtype=np.int32),
        "speaker_offsets": _offsets(len(t) for t in speaker_terms),
        "speaker_terms": np.array([terms(t) for ts in speaker_terms for t in sorted(ts)], dtype=np.int32),
    }  # fmt: skip
    arrays.update(strings.arrays("str"))
    arrays.update(terms.arrays("term"))
    bm25_meta = {}
    for name, bm25 in (("sentences", engine.index), ("paragraphs", engine.paragraphs)):
        prefix = _BM25[name]
        saved, bm25_meta[name] = bm25.to_arrays()
        arrays.update({f"{prefix}_{key}": value for key, value in saved.items()})
        arrays.update(_pack(f"{prefix}_vocab", bm25_meta[name].pop("vocabulary")))
    params = engine.splitter.params
    meta = {
        "sources": [item.article.source.to_json() for item in items],
        "digests": [item.digest for item in items],
        "errors": [{"path": e.path, "reason": e.reason} for e in engine.errors],
        "punkt": {
            "abbrev_types": sorted(params.abbrev_types),
            "collocations": sorted([a, b] for a, b in params.collocations),
            "sent_starters": sorted(params.sent_starters),
            "ortho_context": dict(sorted(params.ortho_context.items())),
        },
        "counts": {"articles": len(items), "sentences": len(sentences)},
        "bm25": bm25_meta,
    }
    return store.Bundle(arrays, meta, settings_print, dict(hashes))


def _own_lengths(item: PreparedArticle) -> list[tuple[str, ...]]:
    """Each sentence's own terms: the leading part of its doc (heading terms follow)."""
    out = []
    for doc, own in zip(item.docs, item.own_terms, strict=True):
        n = 0
        while n < len(doc) and doc[n] in own:
            n += 1
        out.append(doc[:n])
    return out


def from_bundle(bundle: store.Bundle, settings: Settings, tokenizer: Tokenizer) -> Engine:
    """An engine from a saved bundle; ValueError (or KeyError, IndexError) if it does not fit."""
    a, meta = bundle.arrays, bundle.meta
    texts, strings, terms = _unpack(a, "text"), _unpack(a, "str"), _unpack(a, "term")
    sources, digests = meta["sources"], meta["digests"]
    if not len(texts) == len(sources) == len(digests) == len(a["sent_offsets"]) - 1:
        raise ValueError("article arrays and metadata disagree in length")

    def text_of(number: int) -> str | None:
        return None if number < 0 else strings[number]

    def column(name: str) -> list[Any]:
        return a[name].tolist()

    block_offsets, sent_offsets = column("block_offsets"), column("sent_offsets")
    doc_offsets, attr_offsets = column("doc_offsets"), column("attr_offsets")
    speaker_offsets = column("speaker_offsets")
    n_sentences, n_attributions = sent_offsets[-1], attr_offsets[-1]
    if not (
        len(doc_offsets) - 1 == len(attr_offsets) - 1 == n_sentences == a["own_len"].size
        and len(speaker_offsets) - 1 == n_attributions == a["attr_speaker"].size
        and block_offsets[-1] == a["block_start"].size
        and all(a[name].size == n_sentences for name in _SENTENCE_COLUMNS)
    ):
        raise ValueError("per-sentence arrays disagree in length")
    # Every object is made once, flat, in one pass per kind; articles then take slices.
    doc_terms = [terms[i] for i in column("doc_terms")]
    speaker_terms = [terms[i] for i in column("speaker_terms")]
    all_blocks = list(
        map(
            Block, column("block_start"), column("block_end"),
            [_KINDS[k] for k in column("block_kind")],
            [strings[r] for r in column("block_reason")],
        )
    )  # fmt: skip
    all_sentences = list(
        map(
            Sentence, repeat(0, n_sentences), column("sent_start"), column("sent_end"),
            column("sent_paragraph"), column("sent_position"),
            [text_of(h) for h in column("sent_heading")],
        )
    )  # fmt: skip
    all_docs = [tuple(doc_terms[i:j]) for i, j in pairwise(doc_offsets)]
    all_own = [frozenset(doc[:n]) for doc, n in zip(all_docs, column("own_len"), strict=True)]
    found = list(
        map(
            Attribution,
            [strings[i] for i in column("attr_speaker")],
            [strings[i] for i in column("attr_cue")],
            [text_of(i) for i in column("attr_resolved")],
        )
    )
    names = [frozenset(speaker_terms[i:j]) for i, j in pairwise(speaker_offsets)]
    all_attributions = [tuple(found[i:j]) for i, j in pairwise(attr_offsets)]
    all_speakers = [tuple(names[i:j]) for i, j in pairwise(attr_offsets)]
    quoted, reports, content = column("quoted"), column("reports"), column("content")
    prepared = []
    for number, (text, source, digest) in enumerate(zip(texts, sources, digests, strict=True)):
        first, last = sent_offsets[number], sent_offsets[number + 1]
        blocks = tuple(all_blocks[block_offsets[number] : block_offsets[number + 1]])
        prepared.append(
            PreparedArticle(
                digest,
                Article(Source(**source), text, blocks),
                tuple(all_sentences[first:last]),
                tuple(all_attributions[first:last]),
                tuple(all_docs[first:last]),
                tuple(all_own[first:last]),
                tuple(all_speakers[first:last]),
                tuple(quoted[first:last]),
                tuple(reports[first:last]),
                tuple(content[first:last]),
            )
        )
    errors = [LoadError(e["path"], e["reason"]) for e in meta.get("errors", [])]
    splitter = SentenceSplitter(_punkt(meta["punkt"]))
    indexes = (_bm25(a, meta["bm25"], "sentences"), _bm25(a, meta["bm25"], "paragraphs"))
    return Engine(prepared, settings, tokenizer, splitter, errors, indexes)


def _bm25(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], name: str) -> SparseBM25:
    """A saved BM25 index, as ``SparseBM25.to_arrays`` gave it (vocabulary packed apart)."""
    prefix = _BM25[name]
    saved = {key: arrays[f"{prefix}_{key}"] for key in ARRAY_NAMES}
    return SparseBM25.from_arrays(
        saved, {**meta[name], "vocabulary": _unpack(arrays, f"{prefix}_vocab")}
    )


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a load runs.

    A load makes millions of objects and no cycles; the collections they would
    trigger cost a quarter of the load time at 1M sentences.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _punkt(saved: Mapping[str, Any]) -> PunktParameters:
    params = PunktParameters()
    params.abbrev_types = set(saved["abbrev_types"])
    params.collocations = {(a, b) for a, b in saved["collocations"]}
    params.sent_starters = set(saved["sent_starters"])
    params.ortho_context = defaultdict(int, saved["ortho_context"])
    return params


def describe(opened: Opened) -> str:
    """One line for a person: what ``open_engine`` did."""
    engine = opened.engine
    size = f"{len(engine.passages.articles)} articles, {len(engine.passages.sentences)} sentences"
    if opened.status == "updated":
        c = opened.changes
        return (
            f"index updated ({len(c.added)} added, {len(c.changed)} changed, "
            f"{len(c.removed)} removed): {size}"
        )
    status = "up to date" if opened.status == "loaded" else opened.status
    return f"index {status}: {size}"
