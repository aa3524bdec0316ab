"""Building BM25 postings: term x sentence counts, and each posting's weight class.

A posting's BM25 weight depends only on its (tf, document length) pair, and a corpus
has few distinct pairs: postings store a small class number, and each query weighs
the classes once instead of every posting.

scipy.sparse is imported only when postings are built: a start that loads a saved
index never needs it, and importing it costs a few tenths of a second.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from bot.core.index.arrays import distinct

if TYPE_CHECKING:
    import scipy.sparse as sp


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


def columns_of(ids: np.ndarray, lengths: np.ndarray, n_terms: int) -> sp.csc_array:
    """Term x sentence counts as CSC (data = tf), rows sorted within each column."""
    import scipy.sparse as sp

    rows = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)
    ones = np.ones(ids.size, dtype=np.int32)
    columns = sp.csc_array((ones, (rows, ids)), shape=(lengths.size, n_terms))
    columns.sum_duplicates()  # repeats become tf; indices sorted
    return columns


def classify(tf: np.ndarray, dl: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weight class of each posting from its (tf, dl); returns classes and the class table.

    The work is a few passes over int32 keys and a lookup table, not a sort:
    11M postings take a fraction of a second.
    """
    stride = int(dl.max(initial=0)) + 1
    top = int(tf.max(initial=0))
    keys = tf.astype(np.int64 if (top + 1) * stride >= 1 << 31 else np.int32)
    keys *= stride
    keys += dl.astype(keys.dtype)
    distinct = _distinct(keys)
    dtype = np.uint16 if distinct.size <= 1 << 16 else np.uint32
    if distinct.size and distinct[-1] < _DENSE_KEYS:
        lookup = np.zeros(int(distinct[-1]) + 1, dtype=dtype)
        lookup[distinct] = np.arange(distinct.size, dtype=dtype)
        classes = lookup[keys]
    else:
        classes = np.searchsorted(distinct, keys).astype(dtype)
    return classes, distinct // stride, distinct % stride


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, increasing; in linear time when they are small (they nearly always are)."""
    if not keys.size or keys.max() >= _DENSE_KEYS:
        return distinct(keys)
    return np.flatnonzero(np.bincount(keys))
