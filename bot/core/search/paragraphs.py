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

from bot.core.index.arrays import distinct, distinct_counts, distinct_inverse, spans
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


def _article_counts(
    table: CorpusTable, article_bounds: np.ndarray, term_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``article * vocabulary + term``, increasing, and in how many sentences each occurs.

    ``article_bounds``: the articles' first sentences and the end (table numbers);
    ``term_offsets``: ``sentence_terms`` over those sentences (one more than there are).
    Articles are numbered from 0 in that order.
    """
    s0, s1 = int(article_bounds[0]), int(article_bounds[-1])
    t0, t1 = int(term_offsets[0]), int(term_offsets[-1])
    terms = table.columns["terms"][t0:t1].astype(np.int64)
    width = max(len(table.vocabulary), 1)
    sentence = np.repeat(np.arange(s1 - s0, dtype=np.int64), np.diff(term_offsets))
    pairs = distinct(sentence * width + terms)  # each term once per sentence
    owner = np.searchsorted(article_bounds - s0, pairs // width, side="right") - 1
    return distinct_counts(owner * width + pairs % width)


def records(table: CorpusTable, number: int) -> list[dict[str, Any]]:
    """Per sentence of article ``number``, its paragraph's record (one dict per paragraph)."""
    return records_of(table, number, number + 1)[0]


def records_of(table: CorpusTable, first: int, last: int) -> list[list[dict[str, Any]]]:
    """``records`` of articles ``first:last``, built together.

    Each column is computed once over all their sentences (paragraph-local numbering
    included), every paragraph's packed numbers gathered in one pass and base64-encoded
    with one call; a record's fields are slices. A paragraph of BBC news holds about two
    sentences and an article about twenty: numpy calls per paragraph, or even per
    article, cost far more than the work they do.
    """
    c = table.columns
    article_bounds = c["article_sentences"][first : last + 1].astype(np.int64)
    s0, s1 = int(article_bounds[0]), int(article_bounds[-1])
    out: list[list[dict[str, Any]]] = [[] for _ in range(last - first)]
    if s1 == s0:
        return out
    article_sizes = np.diff(article_bounds)
    article_of_sentence = np.repeat(np.arange(last - first, dtype=np.int64), article_sizes)
    blocks = c["sent_paragraph"][s0:s1]
    # Paragraph p holds sentences bounds[p]:bounds[p + 1] (numbered from s0): a paragraph
    # starts where the paragraph number changes or an article starts.
    starting = np.diff(blocks, prepend=blocks[0] - 1) != 0
    starting |= np.diff(article_of_sentence, prepend=-1) != 0
    firsts = np.flatnonzero(starting)
    bounds = np.append(firsts, s1 - s0)
    paragraphs = firsts.size
    lengths = np.diff(bounds)
    para_of_sentence = np.repeat(np.arange(paragraphs, dtype=np.int64), lengths)
    article_of_para = article_of_sentence[firsts]

    term_offsets = c["sentence_terms"][s0 : s1 + 1].astype(np.int64)
    attr_offsets = c["sentence_attrs"][s0 : s1 + 1].astype(np.int64)
    a0, a1 = int(attr_offsets[0]), int(attr_offsets[-1])
    name_offsets = c["attr_names"][a0 : a1 + 1].astype(np.int64)
    t0, n0 = int(term_offsets[0]), int(name_offsets[0])
    term_counts = np.diff(term_offsets)
    attr_counts = np.diff(attr_offsets)
    name_counts = np.diff(name_offsets)
    para_of_attr = np.repeat(para_of_sentence, attr_counts)
    # Per paragraph, its first term, attribution and name (from t0, a0, n0), and the ends.
    term_at = term_offsets[bounds] - t0
    attr_at = attr_offsets[bounds] - a0
    name_at = name_offsets[attr_at] - n0

    # Words: each paragraph's distinct terms and names, increasing, numbered from 0.
    width = max(len(table.vocabulary), 1)
    terms = c["terms"][t0 : t0 + int(term_at[-1])].astype(np.int64)
    names = c["names"][n0 : n0 + int(name_at[-1])].astype(np.int64)
    term_codes = np.repeat(para_of_sentence, term_counts) * width + terms
    name_codes = np.repeat(para_of_attr, name_counts) * width + names
    word_codes = distinct(np.concatenate([term_codes, name_codes]))
    word_at = np.searchsorted(word_codes, np.arange(paragraphs + 1, dtype=np.int64) * width)
    words = word_codes % width
    local_terms = np.searchsorted(word_codes, term_codes) - np.repeat(
        word_at[:-1], np.diff(term_at)
    )
    local_names = np.searchsorted(word_codes, name_codes) - np.repeat(
        word_at[:-1], np.diff(name_at)
    )
    # In how many of its article's sentences each word occurs (a name only: 0).
    found, found_counts = _article_counts(table, article_bounds, term_offsets)
    wanted = np.repeat(article_of_para, np.diff(word_at)) * width + words
    place = np.minimum(np.searchsorted(found, wanted), max(found.size - 1, 0))
    word_counts = (
        np.where(found[place] == wanted, found_counts[place], 0)
        if found.size
        else np.zeros(words.size, dtype=np.int64)
    )

    # Strings: each paragraph's distinct heading, speaker, cue and resolved strings.
    heading = c["sent_heading"][s0:s1].astype(np.int64)
    attr_columns = [c[name][a0:a1].astype(np.int64) for name in INT_ATTRIBUTION[:3]]
    values = np.concatenate([heading, *attr_columns])
    owners = np.concatenate([para_of_sentence, *(para_of_attr for _ in attr_columns)])
    strings_width = max(len(table.strings), 1)
    string_codes = distinct(owners[values >= 0] * strings_width + values[values >= 0])
    string_at = np.searchsorted(
        string_codes, np.arange(paragraphs + 1, dtype=np.int64) * strings_width
    )

    def local(column: np.ndarray, owner: np.ndarray) -> np.ndarray:
        place = np.searchsorted(string_codes, owner * strings_width + column) - string_at[owner]
        return np.where(column >= 0, place, column).astype(np.int32)

    starts = c["sent_start"][s0:s1].astype(np.int64)
    ends = c["sent_end"][s0:s1].astype(np.int64)
    para_start = starts[firsts]
    shift = np.repeat(para_start, lengths)
    sentence_ints = {
        "sent_start": (starts - shift).astype(np.int32),
        "sent_end": (ends - shift).astype(np.int32),
        "sent_paragraph": c["sent_paragraph"][s0:s1].astype(np.int32),
        "sent_position": c["sent_position"][s0:s1].astype(np.int32),
        "sent_heading": local(heading, para_of_sentence),
        "sent_own_len": c["sent_own_len"][s0:s1].astype(np.int32),
        "term_counts": term_counts.astype(np.int32),
        "attr_counts": attr_counts.astype(np.int32),
    }
    attr_ints = {
        name: local(column, para_of_attr)
        for name, column in zip(INT_ATTRIBUTION[:3], attr_columns, strict=True)
    }
    attr_ints["name_counts"] = name_counts.astype(np.int32)
    header = np.zeros((paragraphs, HEADER), dtype=np.int32)
    header[:, 0] = lengths
    header[:, 1] = np.diff(attr_at)
    header[:, 2] = np.diff(term_at)
    header[:, 3] = np.diff(name_at)
    header[:, 4] = np.diff(word_at)

    # Every paragraph's packed numbers in one gather: per paragraph, a run of bytes from
    # each column in the packed order, then zeros to a multiple of ALIGN. As each is a
    # multiple of 3 bytes, the base64 of them all is their base64s one after another.
    element_at = bounds[:-1]
    columns = [
        (header, np.arange(paragraphs) * HEADER, np.full(paragraphs, HEADER)),
        (c["sent_quoted"][s0:s1].astype(np.float64), element_at, lengths),
        *((sentence_ints[name], element_at, lengths) for name in INT_SENTENCE),
        *((attr_ints[name], attr_at[:-1], np.diff(attr_at)) for name in INT_ATTRIBUTION),
        (local_terms.astype(np.int32), term_at[:-1], np.diff(term_at)),
        (local_names.astype(np.int32), name_at[:-1], np.diff(name_at)),
        (word_counts.astype(np.int32), word_at[:-1], np.diff(word_at)),
        *((c[name][s0:s1].astype(np.uint8), element_at, lengths) for name in BOOL_SENTENCE),
    ]
    sources = [np.ascontiguousarray(values).view(np.uint8).ravel() for values, _, _ in columns]
    base = np.cumsum([0, *(source.size for source in sources)])
    starts_ = np.empty((paragraphs, len(columns) + 1), dtype=np.int64)
    sizes = np.empty((paragraphs, len(columns) + 1), dtype=np.int64)
    for k, (values, at, count) in enumerate(columns):
        starts_[:, k] = base[k] + at * values.dtype.itemsize
        sizes[:, k] = count * values.dtype.itemsize
    starts_[:, -1] = base[-1]  # the zeros after every column
    sizes[:, -1] = -sizes[:, :-1].sum(axis=1) % ALIGN
    pool = np.concatenate([*sources, np.zeros(ALIGN, dtype=np.uint8)])
    packed = pool[spans(starts_.ravel(), sizes.ravel())].tobytes()
    text = base64.b64encode(packed).decode("ascii")
    cut = np.zeros(paragraphs + 1, dtype=np.int64)
    np.cumsum(sizes.sum(axis=1) // 3 * 4, out=cut[1:])

    # Each word and string looked up once; a paragraph's lists are slices.
    vocabulary = table.vocabulary
    word_texts = [vocabulary[i] for i in words.tolist()]
    kinds, which = distinct_inverse(string_codes % strings_width)
    decoded = [table.strings[i] for i in kinds.tolist()]
    string_texts = [decoded[i] for i in which.tolist()]
    b, cuts = bounds.tolist(), cut.tolist()
    wa, sa = word_at.tolist(), string_at.tolist()
    begin, finish = para_start.tolist(), ends[bounds[1:] - 1].tolist()
    positions = c["sent_position"][s0:s1][firsts].tolist()
    owner_of = article_of_para.tolist()
    sizes_of = article_sizes.tolist()
    made: dict[int, tuple[dict[str, Any], str]] = {}
    for p in range(paragraphs):
        article = owner_of[p]
        if article not in made:
            made[article] = (table.sources[first + article].to_json(), table.text(first + article))
        source, body = made[article]
        start, many = begin[p], b[p + 1] - b[p]
        record = {
            "v": RECORD_VERSION,
            "b": text[cuts[p] : cuts[p + 1]],
            "w": word_texts[wa[p] : wa[p + 1]],
            "s": string_texts[sa[p] : sa[p + 1]],
            "t": body[start : finish[p]],
            "o": start,
            "f": positions[p],
            "c": many,
            "n": sizes_of[article],
            "src": dict(source),
        }
        out[article].extend([record] * many)
    return out


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
    columns["sent_quoted"] = floats[spans((at + 4 * HEADER) // 8, s)]
    base = (at + 4 * HEADER + 8 * s) // 4  # the int32 block
    for i, name in enumerate(INT_SENTENCE):
        columns[name] = ints[spans(base + i * s, s)]
    base = base + 8 * s
    for i, name in enumerate(INT_ATTRIBUTION):
        columns[name] = ints[spans(base + i * a, a)]
    base = base + 4 * a
    columns["terms"] = ints[spans(base, t)]
    columns["names"] = ints[spans(base + t, n)]
    columns["counts"] = ints[spans(base + t + n, v)]
    flags = np.frombuffer(raw, dtype=np.uint8)
    at_flags = 4 * (base + t + n + v)
    columns["sent_reports"] = flags[spans(at_flags, s)].astype(bool)
    columns["sent_content"] = flags[spans(at_flags + s, s)].astype(bool)
    sizes = {"sentences": s, "attributions": a, "terms": t, "names": n, "words": v}
    return columns, sizes


def table_order(found: Iterable[Paragraph]) -> list[Paragraph]:
    """Paragraphs (each once) in article id order and then text order, as the embedded table."""
    return sorted(found, key=lambda p: (p.source.id, p.key, p.first))


def distinct_paragraphs(found: Iterable[Paragraph]) -> list[Paragraph]:
    """Each paragraph once, in ``table_order``."""
    return table_order({(p.key, p.first): p for p in found}.values())


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
    """The table of ``paragraphs`` (each once, ``table_order``), articles in that order."""
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
