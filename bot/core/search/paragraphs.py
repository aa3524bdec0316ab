"""Paragraph records: what a sentence document carries so a question needs no article fetch.

Every sentence the embedded ranking reads for a candidate lies in the candidate's
paragraph: its BM25 (the sentence's own terms), the paragraph's BM25, the coverage
window (the sentences before and after *in the paragraph*), the passages shown (whole
quotations, the sentence before a stub, a little of the paragraph: never past it), the
duplicate check (the passage's terms). So each sentence document carries its paragraph's
slice of the corpus table, the paragraph's text (a slice of the body, so a quote is still
``body[start:end]``), and what only the article knows: how many sentences it has (the
position weight) and in how many of them each of the paragraph's terms occurs (the
article-local weights). A question's sentence and paragraph hits then bring everything
its ranking reads, in the one ``msearch`` that finds them.

Paragraphs in BBC news hold about two sentences, so the records store the table's
sentence data about twice over. The record's numbers are one base64 string, padded so
that a question's few hundred records are decoded together, with one call, and each
column gathered once for all of them (``unpack``).

A term of the question that the candidate's article has only outside every paragraph
fetched reads as absent from that article (count 0): the one place the ranking sees less
than a whole article. ``bench/opensearch_compare.py`` measures what it changes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.core.index.arrays import distinct
from bot.core.index.packed import Packed
from bot.core.index.table import CorpusTable
from bot.core.models import Source
from bot.core.search.tables import LocalTerms, TermNumbers

RECORD_VERSION = 1
HEADER = 8  # int32s: sentences, attributions, terms, names, vocabulary, 3 spare
# Each record's bytes are padded to a multiple of this: base64 without padding characters
# (3 bytes) and whole float64s (8), so the records of a question are joined as text and
# decoded with one call, every number at an aligned offset.
ALIGN = 24
# Packed after the header, in this order: float64 per sentence, int32 per sentence,
# int32 per attribution, int32 flat, uint8 per sentence.
FLOAT_SENTENCE = ("sent_quoted",)
INT_SENTENCE = (
    "sent_start", "sent_end", "sent_paragraph", "sent_position", "sent_heading",
    "sent_own_len", "term_counts", "attr_counts",
)  # fmt: skip
INT_ATTRIBUTION = ("attr_speaker", "attr_cue", "attr_resolved", "name_counts")
BOOL_SENTENCE = ("sent_reports", "sent_content")
STRING_COLUMNS = ("sent_heading", "attr_speaker", "attr_cue", "attr_resolved")


def article_counts(table: CorpusTable, s0: int, s1: int) -> dict[int, int]:
    """In how many of sentences ``s0:s1`` (one article) each term occurs (heading terms too)."""
    offsets = table.columns["sentence_terms"]
    t0, t1 = int(offsets[s0]), int(offsets[s1])
    terms = table.columns["terms"][t0:t1].astype(np.int64)
    owner = np.repeat(np.arange(s1 - s0, dtype=np.int64), np.diff(offsets[s0 : s1 + 1]))
    pairs = distinct(owner * max(len(table.vocabulary), 1) + terms)
    found, counts = np.unique(pairs % max(len(table.vocabulary), 1), return_counts=True)
    return dict(zip(found.tolist(), counts.tolist(), strict=True))


def records(table: CorpusTable, number: int) -> list[dict[str, Any]]:
    """Per sentence of article ``number``, its paragraph's record (one dict per paragraph)."""
    c = table.columns
    s0, s1 = (int(x) for x in c["article_sentences"][number : number + 2])
    counts = article_counts(table, s0, s1)
    source = table.sources[number].to_json()
    body = table.text(number)
    blocks = c["sent_paragraph"][s0:s1]
    out: list[dict[str, Any]] = []
    first = s0
    while first < s1:
        last = first
        while last + 1 < s1 and blocks[last + 1 - s0] == blocks[first - s0]:
            last += 1
        record = _record(table, first, last + 1, counts, s1 - s0, body, source)
        out.extend([record] * (last + 1 - first))
        first = last + 1
    return out


def _record(
    table: CorpusTable,
    p0: int,
    p1: int,
    counts: Mapping[int, int],
    sentences: int,
    body: str,
    source: Mapping[str, Any],
) -> dict[str, Any]:
    """The record of the paragraph of sentences ``p0:p1``."""
    c = table.columns
    t0, t1 = int(c["sentence_terms"][p0]), int(c["sentence_terms"][p1])
    a0, a1 = int(c["sentence_attrs"][p0]), int(c["sentence_attrs"][p1])
    n0, n1 = int(c["attr_names"][a0]), int(c["attr_names"][a1])
    terms, names = c["terms"][t0:t1], c["names"][n0:n1]
    used = distinct(np.concatenate([terms, names]).astype(np.int64))
    start = int(c["sent_start"][p0])
    end = int(c["sent_end"][p1 - 1])
    ints = {name: c[name][p0:p1].astype(np.int32) for name in INT_SENTENCE[:6]}
    ints["sent_start"] = ints["sent_start"] - start
    ints["sent_end"] = ints["sent_end"] - start
    ints["term_counts"] = np.diff(c["sentence_terms"][p0 : p1 + 1]).astype(np.int32)
    ints["attr_counts"] = np.diff(c["sentence_attrs"][p0 : p1 + 1]).astype(np.int32)
    attrs = {name: c[name][a0:a1].astype(np.int32) for name in INT_ATTRIBUTION[:3]}
    attrs["name_counts"] = np.diff(c["attr_names"][a0 : a1 + 1]).astype(np.int32)
    numbers = np.concatenate([ints["sent_heading"], *(attrs[n] for n in INT_ATTRIBUTION[:3])])
    strings_used = distinct(numbers[numbers >= 0].astype(np.int64))
    for column in (ints, attrs):
        for name in STRING_COLUMNS:
            if name in column:
                values = column[name]
                column[name] = np.where(
                    values >= 0, np.searchsorted(strings_used, values), values
                ).astype(np.int32)
    header = np.zeros(HEADER, dtype=np.int32)
    header[:5] = (p1 - p0, a1 - a0, t1 - t0, n1 - n0, used.size)
    position = int(c["sent_position"][p0])
    packed = b"".join(
        [
            header.tobytes(),
            c["sent_quoted"][p0:p1].astype(np.float64).tobytes(),
            *(ints[name].tobytes() for name in INT_SENTENCE),
            *(attrs[name].tobytes() for name in INT_ATTRIBUTION),
            np.searchsorted(used, terms).astype(np.int32).tobytes(),
            np.searchsorted(used, names).astype(np.int32).tobytes(),
            np.array([counts.get(t, 0) for t in used.tolist()], dtype=np.int32).tobytes(),
            *(c[name][p0:p1].astype(np.uint8).tobytes() for name in BOOL_SENTENCE),
        ]
    )
    packed += bytes(-len(packed) % ALIGN)
    return {
        "v": RECORD_VERSION,
        "b": base64.b64encode(packed).decode("ascii"),
        "w": [table.vocabulary[i] for i in used.tolist()],
        "s": [table.strings[i] for i in strings_used.tolist()],
        "t": body[start:end],
        "o": start,
        "f": position,
        "c": p1 - p0,
        "n": sentences,
        "src": dict(source),
    }


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A record as fetched: one paragraph of one article, its numbers still packed."""

    key: str  # the article's key
    source: Source
    text: str  # body[offset:offset + len(text)]
    offset: int
    first: int  # its first sentence's number in the article
    sentences: int
    article_sentences: int
    strings: list[str]
    words: list[str]  # its terms (the packed flat arrays number into this)
    packed: str  # base64 of ``ALIGN``-byte multiples: records decode joined, in one call

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """Its columns (``unpack`` of this record alone)."""
        return unpack([self])[0]


def decode(key: str, record: Mapping[str, Any]) -> Paragraph:
    """A sentence document's paragraph record; ValueError if this layout did not write it.

    Only the JSON fields are read here; the numbers are unpacked with the other
    paragraphs of the question (``join``).
    """
    try:
        if record.get("v") != RECORD_VERSION:
            raise ValueError(f"paragraph record version {record.get('v')!r}")
        packed = record["b"]
        if not isinstance(packed, str) or len(packed) % (ALIGN // 3 * 4):
            raise ValueError("paragraph record numbers are not whole")
        return Paragraph(
            key,
            Source(**record["src"]),
            str(record["t"]),
            int(record["o"]),
            int(record["f"]),
            int(record["c"]),
            int(record["n"]),
            list(record["s"]),
            list(record["w"]),
            packed,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a paragraph record of this layout: {exc}") from exc


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``starts[i] + arange(lengths[i])`` for every i, concatenated."""
    total = int(lengths.sum())
    before = np.cumsum(lengths) - lengths
    return np.repeat(starts - before, lengths) + np.arange(total, dtype=np.int64)


def unpack(paragraphs: Sequence[Paragraph]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every column of ``paragraphs``, each concatenated in their order, and their sizes.

    One base64 decode for all of them, then one gather per column. Sizes: per paragraph,
    ``sentences``, ``attributions``, ``terms``, ``names``, ``words``. ValueError when a
    record's numbers do not fit its header or vocabulary.
    """
    raw = binascii.a2b_base64("".join(p.packed for p in paragraphs))
    ints = np.frombuffer(raw, dtype=np.int32)
    floats = np.frombuffer(raw, dtype=np.float64)
    nbytes = np.fromiter((len(p.packed) // 4 * 3 for p in paragraphs), np.int64, len(paragraphs))
    at = np.cumsum(nbytes) - nbytes  # each record's first byte (a multiple of ALIGN)
    header = (
        ints[(at // 4)[:, None] + np.arange(HEADER)]
        if len(paragraphs)
        else np.zeros((0, HEADER), dtype=np.int32)
    )
    s, a, t, n, v = (header[:, i].astype(np.int64) for i in range(5))
    if np.any(v != [len(p.words) for p in paragraphs]) or np.any(
        4 * HEADER + 8 * s + 4 * (8 * s + 4 * a + t + n + v) + 2 * s > nbytes
    ):
        raise ValueError("a paragraph record's numbers do not fit its header")
    columns: dict[str, np.ndarray] = {}
    columns["sent_quoted"] = floats[_ranges((at + 4 * HEADER) // 8, s)]
    base = (at + 4 * HEADER + 8 * s) // 4  # the int32 block
    for i, name in enumerate(INT_SENTENCE):
        columns[name] = ints[_ranges(base + i * s, s)]
    base = base + 8 * s
    for i, name in enumerate(INT_ATTRIBUTION):
        columns[name] = ints[_ranges(base + i * a, a)]
    base = base + 4 * a
    columns["terms"] = ints[_ranges(base, t)]
    columns["names"] = ints[_ranges(base + t, n)]
    columns["counts"] = ints[_ranges(base + t + n, v)]
    flags = np.frombuffer(raw, dtype=np.uint8)
    at_flags = 4 * (base + t + n + v)
    columns["sent_reports"] = flags[_ranges(at_flags, s)].astype(bool)
    columns["sent_content"] = flags[_ranges(at_flags + s, s)].astype(bool)
    sizes = {"sentences": s, "attributions": a, "terms": t, "names": n, "words": v}
    return columns, sizes


def distinct_paragraphs(found: Iterable[Paragraph]) -> list[Paragraph]:
    """Each paragraph once, in article id order and then text order (as the embedded table)."""
    unique = {(p.key, p.first): p for p in found}
    return sorted(unique.values(), key=lambda p: (p.source.id, p.key, p.first))


@dataclass(frozen=True, slots=True)
class Joined:
    """Fetched paragraphs as one table, and what maps it back to the articles.

    Each article of ``table`` holds only its fetched paragraphs, one after another, its
    text their texts joined by a newline: ``shift[s]`` is what sentence ``s``'s offsets
    gain in the real body. ``sizes``: each article's real sentence count. ``counts``:
    codes ``article * vocabulary + term`` (sorted) and in how many of the article's
    sentences that term occurs.
    """

    table: CorpusTable
    terms: LocalTerms
    shift: np.ndarray
    sizes: np.ndarray
    codes: np.ndarray
    counts: np.ndarray


def join(paragraphs: Sequence[Paragraph], numbers: TermNumbers) -> Joined:
    """The table of ``paragraphs`` (``distinct_paragraphs`` order), articles in that order."""
    sources: list[Source] = []
    keys: list[str] = []
    texts: list[str] = []
    sizes: list[int] = []
    per_article: list[int] = []
    article_of: list[int] = []  # per paragraph
    pseudo: list[int] = []  # per paragraph: where its text starts in the article's text
    parts: list[str] = []
    at = 0
    for item in paragraphs:
        if not keys or keys[-1] != item.key:
            if keys:
                texts.append("\n".join(parts))
            keys.append(item.key)
            sources.append(item.source)
            sizes.append(item.article_sentences)
            per_article.append(0)
            parts, at = [], 0
        pseudo.append(at)
        parts.append(item.text)
        at += len(item.text) + 1
        per_article[-1] += item.sentences
        article_of.append(len(keys) - 1)
    if keys:
        texts.append("\n".join(parts))
    flat, counted = unpack(paragraphs)
    if np.any(counted["sentences"] != [item.sentences for item in paragraphs]):
        raise ValueError("a paragraph record's sentences do not fit its header")
    strings: dict[str, int] = {}
    string_ids = np.array(
        [strings.setdefault(text, len(strings)) for item in paragraphs for text in item.strings],
        dtype=np.int32,
    )
    string_base = _starts(len(item.strings) for item in paragraphs)
    term_ids = numbers.of([word for item in paragraphs for word in item.words])
    term_base = _starts(len(item.words) for item in paragraphs)
    for name, rows in (
        ("sent_heading", "sentences"),
        ("attr_speaker", "attributions"),
        ("attr_cue", "attributions"),
        ("attr_resolved", "attributions"),
    ):
        values = flat[name]
        if string_ids.size:
            at_ = values + np.repeat(string_base, counted[rows])
            values = np.where(values >= 0, string_ids[np.maximum(at_, 0)], -1)
        flat[name] = values
    for name, rows in (("terms", "terms"), ("names", "names")):
        flat[name] = term_ids[flat[name] + np.repeat(term_base, counted[rows])]
    offsets = np.repeat(np.array(pseudo, dtype=np.int64), counted["sentences"])
    reals = np.repeat(
        np.array([item.offset for item in paragraphs], dtype=np.int64), counted["sentences"]
    )
    flat["sent_start"] = flat["sent_start"] + offsets
    flat["sent_end"] = flat["sent_end"] + offsets
    present = np.zeros(int(term_ids.max(initial=-1)) + 1, dtype=bool)
    present[term_ids] = True  # every word of a record: its terms, names and counted terms
    used = np.flatnonzero(present)
    renumber = np.where(present, np.cumsum(present) - 1, -1)
    vocabulary = numbers.words(used)
    # Article counts: (article, local term) -> count, one code per pair.
    owner = np.repeat(np.array(article_of, dtype=np.int64), counted["words"])
    codes, first = np.unique(
        owner * max(len(vocabulary), 1) + renumber[term_ids], return_index=True
    )
    columns: dict[str, np.ndarray] = {}
    for name in (*FLOAT_SENTENCE, *INT_SENTENCE[:6], *INT_ATTRIBUTION[:3], *BOOL_SENTENCE):
        columns[name] = flat[name].astype(_DTYPES.get(name, np.int32), copy=False)
    columns["terms"] = renumber[flat["terms"]].astype(np.int32)
    columns["names"] = renumber[flat["names"]].astype(np.int32)
    for name, lengths in (
        ("article_sentences", np.array(per_article, dtype=np.int64)),
        ("sentence_terms", flat["term_counts"]),
        ("sentence_attrs", flat["attr_counts"]),
        ("attr_names", flat["name_counts"]),
    ):
        bounds = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        columns[name] = bounds
    table = CorpusTable(
        tuple(sources), tuple(keys), Packed.of(texts), Packed.of(strings), vocabulary, columns
    )
    table.check()
    return Joined(
        table,
        LocalTerms(numbers, renumber, vocabulary),
        reals - offsets,
        np.array(sizes, dtype=np.int64),
        codes,
        flat["counts"][first].astype(np.int64),
    )


_DTYPES = {"sent_quoted": np.float64, "sent_reports": np.bool_, "sent_content": np.bool_}


def _joined(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _starts(sizes: Iterable[int]) -> np.ndarray:
    lengths = np.fromiter(sizes, dtype=np.int64)
    return np.cumsum(lengths) - lengths
