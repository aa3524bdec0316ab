"""BM25Okapi over sparse postings: rank-bm25's scores, vectorised and persistable.

Semantics are rank-bm25 0.2.2's ``BM25Okapi``, bit for bit: ``idf = log(N - n
+ 0.5) - log(n + 0.5)``; a negative IDF becomes ``epsilon`` times the mean IDF
over all terms; a document scores ``sum idf * tf * (k1 + 1) / (tf + k1 * (1 -
b + b * dl / avgdl))`` over the query's terms, a repeated query term counting
each time. On top comes a floor: every IDF at or below ``max(IDF_FLOOR,
epsilon * max(mean IDF, 0))`` is raised to it. BM25Okapi gives a term in half
or more of the sentences an IDF of zero or below (then epsilon times a mean that
may itself be negative), which would let a matching sentence score no better
than one without the term; with the floor a sentence that matches always
outscores one that does not. ``idf_floor=None`` drops it (plain BM25Okapi).

Layout. The postings are one compressed sparse column matrix (term columns,
sentence rows, built by ``postings.columns_of``). A posting's value is not a float
but a *weight class*: the index of its (tf, dl) pair in a small table. The BM25
tf part depends on nothing else (k1, b and avgdl are shared), so the table (a
few hundred floats) holds every posting's weight, and a query term costs one
column slice, one gather from that cache-resident table and one scatter-add:
no Python loop over sentences. A posting costs 6 bytes (int32 row, uint16
class) instead of a float64 weight's 12. The columns are what is saved, so a
load is a read, not a conversion.

Why our own postings rather than bm25s (0.3.16). bm25s is fast for the same reason
this is: it precomputes ``idf * tf-part`` per posting (float32) and sums column
slices. As a dependency it does not fit: (1) its IDF variants (robertson
clipped at 0, lucene, atire, ...) lack BM25Okapi's epsilon rule and our floor,
so matching the reference would mean rewriting its matrix behind its back;
(2) float32 keeps about 7 digits, so a score of 20 is good to ~2e-6, not the
1e-6 we check; (3) it is slower where we measured it (``bench/scale.py``: its
numpy top-k runs ``argpartition`` over the dense, mostly zero score array,
where numpy's introselect degrades). What is needed besides is sparse-matrix
building (column order, repeats summed); scipy.sparse's COO-to-CSC conversion did
it until its corpus-sized temporaries made it the peak of a build's memory, and
``postings.columns_of`` makes the same arrays by a counting sort in numpy. The
scoring itself is three numpy calls.

Updates. An index never changes once built. A corpus change builds a new one
from term ids the caller kept (``from_ids``): no text is tokenized again, the
work is a few vectorised passes over the postings, and the scores equal a
fresh build's because it *is* one (N, document frequencies, avgdl and the mean
IDF all follow).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.core.index.arrays import distinct, distinct_inverse, lookup
from bot.core.index.postings import (
    Columns,
    TermColumns,
    classify,
    columns_of,
    encode,
    first_occurrences,
)

IDF_FLOOR = 1e-3
FORMAT = 2
ARRAY_NAMES = ("indptr", "indices", "classes", "doc_len", "class_tf", "class_dl")


@dataclass(frozen=True, slots=True)
class Parameters:
    """BM25Okapi's parameters, plus the IDF floor (None: plain BM25Okapi).

    No defaults: the project's values are settings (``bm25_k1`` …); only the
    token-list constructor below keeps BM25Okapi's own, as a drop-in for it.
    """

    k1: float
    b: float
    epsilon: float
    idf_floor: float | None = IDF_FLOOR

    def __post_init__(self) -> None:
        if not self.k1 >= 0:
            raise ValueError(f"k1 must be >= 0, got {self.k1!r}")
        if not 0 <= self.b <= 1:
            raise ValueError(f"b must be between 0 and 1, got {self.b!r}")
        if not self.epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon!r}")
        if self.idf_floor is not None and not self.idf_floor > 0:
            raise ValueError(f"idf_floor must be > 0 or None, got {self.idf_floor!r}")


class SparseBM25(TermColumns):
    """BM25Okapi scores of every sentence for a bag of terms, from sparse postings.

    Immutable once built, so any number of threads may score at once (each has
    its own scratch buffer).
    """

    def __init__(
        self,
        documents: Iterable[Sequence[str]] = (),
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        idf_floor: float | None = IDF_FLOOR,
    ) -> None:
        params = Parameters(k1, b, epsilon, idf_floor)
        terms: dict[str, int] = {}
        ids, lengths = encode(documents, terms)
        self._set(params, list(terms), columns_of(ids, lengths, len(terms)), lengths)

    @classmethod
    def from_ids(
        cls,
        ids: np.ndarray,
        lengths: np.ndarray,
        terms: Sequence[str],
        params: Parameters,
    ) -> SparseBM25:
        """The index of documents given as numbers into ``terms``, flat, with their lengths.

        Columns are renumbered by first occurrence, as a build from token lists
        numbers them, so both give the same index (and the same mean IDF, summed
        in the same order); terms no document uses are left out.
        """
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            ids = ids.astype(np.int64)
        lengths = np.asarray(lengths, dtype=np.int64)
        if int(lengths.sum()) != ids.size:
            raise ValueError("document lengths do not add up to the number of term ids")
        first = first_occurrences(ids, len(terms))
        used = np.flatnonzero(first < ids.size)
        used = used[np.argsort(first[used], kind="stable")]
        renumber = np.zeros(len(terms), dtype=np.int32)
        renumber[used] = np.arange(used.size, dtype=np.int32)
        self = cls.__new__(cls)
        columns = columns_of(ids, lengths, used.size, renumber=renumber)
        self._set(params, [terms[j] for j in used.tolist()], columns, lengths)
        return self

    def _set(
        self, params: Parameters, terms: list[str], columns: Columns, lengths: np.ndarray
    ) -> None:
        classes, class_tf, class_dl = classify(columns.data, lengths, columns.indices)
        self._init(
            params, terms, columns.indptr, columns.indices, classes, lengths, class_tf, class_dl
        )

    def _init(
        self,
        params: Parameters,
        terms: list[str],
        indptr: np.ndarray,
        indices: np.ndarray,
        classes: np.ndarray,
        doc_len: np.ndarray,
        class_tf: np.ndarray,
        class_dl: np.ndarray,
    ) -> None:
        self.params = params
        self._local = threading.local()
        self._terms = terms
        self._vocab = {term: column for column, term in enumerate(terms)}
        self._indptr, self._indices, self._classes = indptr, indices, classes
        self._doc_len, self._class_tf, self._class_dl = doc_len, class_tf, class_dl
        documents = doc_len.size
        avgdl = float(doc_len.sum()) / documents if documents else 0.0
        self._weight = self._weights(class_tf.astype(np.float64), class_dl, avgdl)
        self._idf = self._idfs(np.diff(indptr), documents)

    # ------------------------------------------------------------------ reading

    @property
    def size(self) -> int:
        """Sentences indexed: the length of ``scores`` and the N of the IDF formula."""
        return self._doc_len.size

    @property
    def terms(self) -> int:
        """Vocabulary size."""
        return len(self._terms)

    def contains(self, term: str) -> bool:
        """Whether any sentence has ``term``."""
        return term in self._vocab

    def idf(self, term: str) -> float:
        """The term's IDF; an unseen term gets the largest IDF any term could have."""
        column = self._vocab.get(term)
        if column is None:
            return self.rarest_idf()
        return float(self._idf[column])

    def rarest_idf(self) -> float:
        """The IDF of a term no document has: the largest any term could have."""
        return math.log((self.size + 0.5) / 0.5)

    def scores(self, query: Iterable[str]) -> np.ndarray:
        """BM25 score of every sentence for ``query`` (0 where no query term occurs)."""
        out = np.zeros(self.size)
        rows, values = self.matching(query)
        out[rows] = values
        return out

    def matching(self, query: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """The sentences that have a query term (increasing ids) and their BM25 scores.

        ``scores`` without its zeros, at the cost of the query's postings rather
        than of the corpus: a million-sentence corpus is not swept per question.
        """
        columns = self._columns(query)
        if len(columns) == 1:  # one column: its postings are already distinct and sorted
            rows, added = self._postings_of(columns)
            return rows.astype(np.int64), added
        touched, values = self._summed(columns)
        return touched.astype(np.int64, copy=False), values

    def scores_of(self, query: Iterable[str], docs: np.ndarray) -> np.ndarray:
        """``scores(query)[docs]`` for a few sentences (``docs`` increasing).

        A binary search of ``docs`` in each query column instead of a pass over
        its postings: a common term's hundred thousand postings are not read.
        """
        out = np.zeros(np.shape(docs))
        wanted = self.as_ids(docs)
        for j in self._columns(query):
            start = self._indptr[j]
            found = lookup(self._indices[start : self._indptr[j + 1]], wanted)
            hit = found >= 0
            out[hit] += (self._idf[j] * self._weight).take(self._classes[start + found[hit]])
        return out

    def scores_at(self, query: Iterable[str], docs: np.ndarray) -> np.ndarray:
        """``scores(query)[docs]`` for many sentences: one pass over the query's postings.

        ``scores_of`` is cheaper for a few sentences, this for thousands.
        """
        return self._summed(self._columns(query), docs)[1]

    def _postings_of(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The columns' postings and what each adds to its sentence's score, in column order.

        Per column, ``idf * weight`` is a table of a few hundred products (those
        rank-bm25 forms per sentence), gathered by weight class.
        """
        spans = [
            (self._indptr[j], self._indptr[j + 1], self._idf[j] * self._weight) for j in columns
        ]
        if not spans:
            return self._indices[:0], np.zeros(0)
        rows = np.concatenate([self._indices[start:end] for start, end, _ in spans])
        added = np.concatenate(
            [products.take(self._classes[start:end]) for start, end, products in spans]
        )
        return rows, added

    def _summed(
        self, columns: Sequence[int], at: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The columns' scores summed per sentence, at ``at``: (``at``, scores).

        By default ``at`` is every sentence the columns touch, increasing (a stable
        sort merges the columns' sorted runs). The columns are added in query order,
        as rank-bm25 adds them, into this thread's buffer, zeroed again where touched.
        """
        rows, added = self._postings_of(columns)
        buffer = self._buffer()
        try:
            np.add.at(buffer, rows, added)
            if at is None:
                at = distinct(rows)
            values = buffer[at]
            buffer[rows] = 0.0
        except BaseException:
            self._local.buffer = None  # whatever it holds now, it is not all zeros
            raise
        return at, values

    def _buffer(self) -> np.ndarray:
        buffer = getattr(self._local, "buffer", None)
        if buffer is None:
            buffer = self._local.buffer = np.zeros(self.size)
        return buffer

    def top(self, query: Iterable[str], k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best sentences with a positive score: (ids, scores), best first; ties to the lower id."""
        rows, values = self.matching(query)
        positive = values > 0  # without the IDF floor a match can score zero or less
        rows, values = rows[positive], values[positive]
        if k <= 0 or not rows.size:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        if rows.size > k:  # keep the k best, and every sentence tied with the k-th
            kth = np.partition(values, rows.size - k)[rows.size - k]
            keep = values >= kth
            rows, values = rows[keep], values[keep]
        order = np.lexsort((rows, -values))[:k]
        return rows[order], values[order]

    def _columns(self, query: Iterable[str]) -> list[int]:
        """Columns of the query's known terms, in query order, repeats kept (rank-bm25 counts them)."""
        if isinstance(query, str):
            raise TypeError("query must be a list of terms, not a str: tokenize it first")
        found = (self._vocab.get(term) for term in query)
        return [column for column in found if column is not None]

    # ------------------------------------------------------------------ persistence

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything needed to restore this index: numpy arrays plus a JSON-able dict."""
        arrays = {
            "indptr": self._indptr,
            "indices": self._indices,
            "classes": self._classes,
            "doc_len": self._doc_len,
            "class_tf": self._class_tf,
            "class_dl": self._class_dl,
        }
        p = self.params
        meta = {
            "format": FORMAT, "k1": p.k1, "b": p.b, "epsilon": p.epsilon,
            "idf_floor": p.idf_floor, "vocabulary": self._terms,
        }  # fmt: skip
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> SparseBM25:
        """Restore an index saved by ``to_arrays``; ValueError if the pieces do not fit together."""
        if meta.get("format") != FORMAT:
            raise ValueError(f"index format {meta.get('format')!r}, expected {FORMAT}")
        missing = [name for name in ARRAY_NAMES if name not in arrays]
        if missing:
            raise ValueError(f"index arrays missing: {', '.join(missing)}")
        terms = meta.get("vocabulary")
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError("index vocabulary must be a list of strings")
        _check_arrays(arrays, len(terms))
        params = Parameters(
            float(meta["k1"]), float(meta["b"]), float(meta["epsilon"]),
            None if meta.get("idf_floor") is None else float(meta["idf_floor"]),
        )  # fmt: skip
        self = cls.__new__(cls)
        self._init(
            params, list(terms), arrays["indptr"], arrays["indices"], arrays["classes"],
            arrays["doc_len"], arrays["class_tf"], arrays["class_dl"],
        )  # fmt: skip
        return self

    # ------------------------------------------------------------------ derivation

    def _weights(self, tf: np.ndarray, dl: np.ndarray, avgdl: float) -> np.ndarray:
        """The tf part of BM25 per (tf, dl) class, with rank-bm25's operations in its order."""
        if avgdl == 0:
            return np.zeros(tf.size)
        k1, b = self.params.k1, self.params.b
        return tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

    def _idfs(self, df: np.ndarray, documents: int) -> np.ndarray:
        """Per-column IDF: BM25Okapi's, then the floor.

        ``math.log`` per distinct document frequency (a few thousand values) keeps
        the logarithms identical to rank-bm25's; ``cumsum`` adds in column order,
        one by one, as its mean does.
        """
        if not df.size:
            return np.zeros(0)
        frequencies, inverse = distinct_inverse(df)
        logs = [math.log(documents - n + 0.5) - math.log(n + 0.5) for n in frequencies.tolist()]
        raw = np.asarray(logs)[inverse]
        average = float(np.cumsum(raw)[-1]) / raw.size
        idf = np.where(raw < 0, self.params.epsilon * average, raw)
        if self.params.idf_floor is not None:
            floor = max(self.params.idf_floor, self.params.epsilon * max(average, 0.0))
            idf = np.where(idf <= floor, floor, idf)
        return idf


def _check_arrays(arrays: Mapping[str, np.ndarray], n_terms: int) -> None:
    """Cheap consistency checks, so a damaged or foreign file fails here and not mid-query."""
    for name in ARRAY_NAMES:
        if arrays[name].ndim != 1 or arrays[name].dtype.kind not in "iu":
            raise ValueError(f"index array {name!r} has the wrong type ({arrays[name].dtype})")
    indptr, indices, classes = arrays["indptr"], arrays["indices"], arrays["classes"]
    size = arrays["doc_len"].size
    if indptr.size != n_terms + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        raise ValueError("index array 'indptr' is not a valid column pointer")
    if indptr[-1] != indices.size or indices.size != classes.size:
        raise ValueError("index arrays 'indices' and 'classes' do not match 'indptr'")
    if arrays["class_tf"].size != arrays["class_dl"].size:
        raise ValueError("'class_tf' and 'class_dl' differ in length")
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError("index array 'indices' points past the last sentence")
    if classes.size and classes.max() >= arrays["class_tf"].size:
        raise ValueError("index array 'classes' points outside the class table")
