"""Building BM25 postings: term x sentence counts, and each posting's weight class.

A posting's BM25 weight depends only on its (tf, document length) pair, and a corpus
has few distinct pairs: postings store a small class number, and each query weighs
the classes once instead of every posting.

The counts are built column-major directly, by a counting sort of the tokens done a
chunk at a time (``columns_of``), not as COO triples converted by ``scipy.sparse``:
the result is the same three arrays ``csc_array`` holds after ``sum_duplicates``
(same values, same int32 types), but the temporaries are one row number and one
flag per token plus a chunk's worth, where the COO route held a row, a column and a
one per token besides its own copy of the result (at a million sentences, about
200 MB less at the build's peak).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.core.index.arrays import distinct, stable_order


class TermColumns:
    """Postings by term, column-compressed: a term's sorted document ids in one slice.

    Shared by the embedded scorer and the cluster's local one, which fill ``_vocab``
    (term -> column), ``_indptr`` and ``_indices`` when they are built.
    """

    _vocab: Mapping[str, int]
    _indptr: np.ndarray
    _indices: np.ndarray

    def postings(self, term: str) -> np.ndarray:
        """The documents that have ``term``, in increasing order."""
        column = self._vocab.get(term)
        if column is None:
            return self._indices[:0]
        return self._indices[self._indptr[column] : self._indptr[column + 1]]

    def matches(self, term: str, docs: Sequence[int] | np.ndarray) -> np.ndarray:
        """Which of ``docs`` have ``term``: a binary search in its postings, for many at once."""
        wanted = self.as_ids(docs)
        rows = self.postings(term)
        if not rows.size:
            return np.zeros(wanted.shape, dtype=bool)
        at = np.minimum(np.searchsorted(rows, wanted), rows.size - 1)
        return rows[at] == wanted

    def any_between(self, term: str, low: int, high: int) -> bool:
        """Whether any document numbered ``low`` to ``high - 1`` has ``term``: one binary search."""
        rows = self.postings(term)
        at = int(np.searchsorted(rows, low))
        return at < rows.size and int(rows[at]) < high

    def as_ids(self, docs: Sequence[int] | np.ndarray) -> np.ndarray:
        """``docs`` in the postings' own integer type.

        A binary search of int64 ids in int32 postings would first copy the whole
        postings list to int64: at a million sentences that copy, not the search,
        is what a common term costs.
        """
        return np.asarray(docs).astype(self._indices.dtype, copy=False)


_DENSE_KEYS = 1 << 22  # below this, (tf, dl) keys are coded with a lookup table, not a sort


def encode(
    documents: Iterable[Sequence[str]], vocab: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Column ids of every token, flat, and each document's length (new terms join ``vocab``)."""
    ids, lengths = array("i"), array("q")
    for doc in documents:
        if isinstance(doc, str):
            raise TypeError("documents must be token lists, not str: tokenize them first")
        before = len(ids)
        ids.extend(vocab.setdefault(term, len(vocab)) for term in doc)
        lengths.append(len(ids) - before)
    return np.frombuffer(ids, dtype=np.int32), np.frombuffer(lengths, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Columns:
    """Term x document counts, column-compressed, as ``scipy.sparse.csc_array`` holds them."""

    indptr: np.ndarray  # a column's postings are indptr[j]:indptr[j + 1]
    indices: np.ndarray  # each posting's document, increasing within a column
    data: np.ndarray  # each posting's term frequency (int32)


_CHUNK = 1 << 18  # tokens per vectorised step: a chunk's temporaries are a few MB


def columns_of(
    ids: np.ndarray, lengths: np.ndarray, n_terms: int, renumber: np.ndarray | None = None
) -> Columns:
    """Term x document counts (data = tf), documents increasing within each column.

    ``ids``: every document's column numbers, flat, ``lengths`` tokens per document;
    ``renumber``: when given, a token's column is ``renumber[id]``, looked up a chunk at
    a time (the renumbered tokens are never all held). The arrays are those of
    ``csc_array((ones, (rows, columns))).sum_duplicates()``, of the same types.
    """
    lengths = np.asarray(lengths)
    total, docs = ids.size, lengths.size
    if int(lengths.sum()) != total:
        raise ValueError("document lengths do not add up to the number of term ids")
    # scipy's choice, kept so that nothing built from these changes: int64 for int64 column
    # numbers (the cluster's), else int32 while the numbers fit.
    given = (ids if renumber is None else renumber).dtype
    small = given.itemsize <= 4 and max(total, docs, n_terms) < 1 << 31
    index = np.int32 if small else np.int64
    spans = list(_document_spans(lengths))

    def columns(first: int, last: int) -> np.ndarray:
        chunk = ids[first:last]
        chunk = chunk if renumber is None else renumber[chunk]
        if chunk.size and (chunk.min() < 0 or chunk.max() >= n_terms):
            raise ValueError(f"term ids must be between 0 and {n_terms - 1}")
        return chunk

    counts = np.zeros(n_terms, dtype=np.int64)
    for first, last, _, _ in spans:
        counts += np.bincount(columns(first, last), minlength=n_terms)
    column_start = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(counts, out=column_start[1:])
    del counts
    # Counting sort: each token's document goes to the next free slot of its column.
    # Chunks come in document order and the sort within one is stable, so every
    # column's documents end up increasing, repeats of a term in a document adjacent.
    free = column_start[:-1].copy()
    rows = np.empty(total, dtype=index)
    for first, last, doc_first, doc_last in spans:
        chunk = columns(first, last)
        if not chunk.size:
            continue
        order = stable_order(chunk, n_terms)  # radix passes: half a timsort's time
        ordered = chunk[order]
        runs = np.flatnonzero(np.diff(ordered)) + 1
        run_starts = np.concatenate([[0], runs])
        run_lengths = np.diff(np.append(run_starts, ordered.size))
        rank = np.arange(ordered.size) - np.repeat(run_starts, run_lengths)
        doc = np.repeat(np.arange(doc_first, doc_last, dtype=index), lengths[doc_first:doc_last])
        rows[free[ordered] + rank] = doc[order]
        free[ordered[run_starts]] += run_lengths
    del free
    indptr, data, postings = _runs_to_postings(rows, column_start.astype(index))
    rows.resize(postings, refcheck=False)  # the postings' documents, moved to its front
    data.resize(postings, refcheck=False)
    return Columns(indptr, rows, data)


def _runs_to_postings(
    rows: np.ndarray, column_start: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Each run of one document in one column is a posting, its length the tf.

    The runs' documents are moved to the front of ``rows`` itself (a run starts at or
    after the slot it moves to, and chunks go in order). Returns the column pointer,
    the tfs (in a buffer as long as ``rows``) and how many postings there are.
    """
    total, n_terms = rows.size, column_start.size - 1
    indptr = np.empty(n_terms + 1, dtype=rows.dtype)
    data = np.empty(total, dtype=np.int32)
    done, previous, carry = 0, -1, 0  # postings so far; the last row seen; its run's start
    for first in range(0, total, _CHUNK):
        last = min(first + _CHUNK, total)
        chunk = rows[first:last]
        starts = np.empty(chunk.size, dtype=bool)  # a posting starts here
        starts[0] = chunk[0] != previous
        np.not_equal(chunk[1:], chunk[:-1], out=starts[1:])
        low, high = np.searchsorted(column_start, [first, last])
        starts[column_start[low:high] - first] = True
        # A column's postings begin after those that started before it.
        before = np.cumsum(starts, dtype=rows.dtype)
        indptr[low:high] = done
        inside = column_start[low:high] > first
        indptr[low:high][inside] += before[column_start[low:high][inside] - first - 1]
        found = np.flatnonzero(starts)
        previous = int(chunk[-1])
        if found.size:
            found += first
            if done:
                data[done - 1] = found[0] - carry
            data[done : done + found.size - 1] = np.diff(found)
            rows[done : done + found.size] = rows[found]
            done += found.size
            carry = int(found[-1])
    if done:
        data[done - 1] = total - carry
    indptr[np.searchsorted(column_start, total) :] = done  # columns past the last token
    return indptr, data, done


def first_occurrences(ids: np.ndarray, n_terms: int) -> np.ndarray:
    """Where each term number first occurs in ``ids`` (``ids.size`` for one that never does).

    ``np.minimum.at`` a chunk at a time: the positions it compares are a chunk's, not
    an int64 array as long as the corpus.
    """
    dtype = np.int32 if ids.size < 1 << 31 else np.int64
    first = np.full(n_terms, ids.size, dtype=dtype)
    for start in range(0, ids.size, _CHUNK):
        chunk = ids[start : start + _CHUNK]
        np.minimum.at(first, chunk, np.arange(start, start + chunk.size, dtype=dtype))
    return first


def _document_spans(lengths: np.ndarray) -> Iterator[tuple[int, int, int, int]]:
    """Whole documents about ``_CHUNK`` tokens at a time: (first token, end, first doc, end)."""
    ends = np.cumsum(lengths, dtype=np.int64)
    total = int(ends[-1]) if ends.size else 0
    cuts = np.searchsorted(ends, np.arange(_CHUNK, total, _CHUNK), side="right").tolist()
    doc_first, first = 0, 0
    for doc_last in [*cuts, lengths.size]:
        if doc_last <= doc_first:
            continue
        last = int(ends[doc_last - 1])
        yield first, last, doc_first, doc_last
        doc_first, first = doc_last, last


def classify(
    tf: np.ndarray, lengths: np.ndarray, docs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weight class of each posting from its (tf, dl); returns classes and the class table.

    ``docs``: each posting's document, whose length in ``lengths`` is its dl. A class
    is a (tf, dl) key's rank among the keys that occur: the keys are made a chunk at a
    time, twice (which occur; each posting's class), never as one array the size of
    the postings, and the work is a few passes and a lookup table, not a sort: 11M
    postings take a fraction of a second.
    """
    stride = 1
    for first in range(0, docs.size, _CHUNK):
        stride = max(stride, int(lengths[docs[first : first + _CHUNK]].max()) + 1)
    top = int(tf.max(initial=0))
    key_type = np.int64 if (top + 1) * stride >= 1 << 31 else np.int32
    dl = lengths.astype(key_type)

    def keys(first: int) -> np.ndarray:
        part = tf[first : first + _CHUNK].astype(key_type)
        part *= stride
        part += dl[docs[first : first + _CHUNK]]
        return part

    if not tf.size or (top + 1) * stride > _DENSE_KEYS:  # rare: keys too large for a table
        distinct = _distinct(
            np.concatenate([keys(first) for first in range(0, tf.size, _CHUNK)] or [dl[:0]])
        )
    else:
        present = np.zeros((top + 1) * stride, dtype=bool)  # every key is below this
        for first in range(0, tf.size, _CHUNK):
            present[keys(first)] = True
        distinct = np.flatnonzero(present)
    dtype = np.uint16 if distinct.size <= 1 << 16 else np.uint32
    lookup = None  # a key's class by table when the largest key allows one, else by search
    if distinct.size and distinct[-1] < _DENSE_KEYS:
        lookup = np.zeros(int(distinct[-1]) + 1, dtype=dtype)
        lookup[distinct] = np.arange(distinct.size, dtype=dtype)
    classes = np.empty(tf.size, dtype=dtype)
    for first in range(0, tf.size, _CHUNK):
        part = keys(first)
        classes[first : first + _CHUNK] = (
            lookup[part] if lookup is not None else np.searchsorted(distinct, part)
        )
    return classes, distinct // stride, distinct % stride


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, increasing; in linear time when they are small (they nearly always are)."""
    if not keys.size or keys.max() >= _DENSE_KEYS:
        return distinct(keys)
    return np.flatnonzero(np.bincount(keys))
