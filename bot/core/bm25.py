"""BM25Okapi over sparse postings: rank-bm25's scores, vectorised, persistable and updatable.

Semantics are rank-bm25 0.2.2's ``BM25Okapi``, bit for bit on a fresh build:
``idf = log(N - n + 0.5) - log(n + 0.5)``; a negative IDF becomes ``epsilon``
times the mean IDF over all terms; a document scores
``sum idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))`` over the
query's terms, a repeated query term counting each time. On top comes a
floor: every IDF at or below ``max(IDF_FLOOR, epsilon * max(mean IDF, 0))`` is
raised to it. BM25Okapi gives a term in half or more of the sentences an IDF of
zero or below (then epsilon times a mean that may itself be negative), which
would let a matching sentence score no better than one without the term; with
the floor a sentence that matches always outscores one that does not.
``idf_floor=None`` drops it (plain BM25Okapi).

Layout. The postings are a ``scipy.sparse`` CSR matrix (sentence x term, for
``doc_terms``) and its CSC twin (term columns, for queries). A posting's value
is not a float but a *weight class*: the index of its (tf, dl) pair in a small
table. The BM25 tf part depends on nothing else (k1, b and avgdl are shared),
so the table (a few hundred floats) holds every posting's weight, and a query
term costs one column slice, one gather from that cache-resident table and one
scatter-add: no Python loop over sentences. A posting costs 6 bytes (int32 row,
uint16 class) per direction instead of a float64 weight's 12, and an add or a
removal, which moves avgdl and therefore every weight, recomputes the table
rather than every posting.

Why scipy.sparse rather than bm25s (0.3.16). bm25s is fast for the same reason
this is: it precomputes ``idf * tf-part`` per posting (float32) and sums column
slices. As a dependency it does not fit: (1) no incremental add or remove, and
as every add changes N, and so every IDF it bakes into the postings, an update
is a full rebuild; (2) its IDF variants (robertson clipped at 0, lucene,
atire, ...) lack BM25Okapi's epsilon rule and our floor, so matching the
reference would mean rewriting its matrix behind its back; (3) float32 keeps
about 7 digits, so a score of 20 is good to ~2e-6, not the 1e-6 we check;
(4) it is slower where we measured it. On 1M BBC sentences, with the same tokens
and 2 cores (``bench/scale.py``): index build 24 s vs 5.4 s here; p50/p95 per
question 172/317 ms vs 0.64/5.2 ms, because its numpy top-k runs
``argpartition`` over the dense, mostly zero score array, where numpy's
introselect degrades (~200 ms); peak serving RSS 403 MB vs 457 MB here, the
gap being mostly the doc->terms CSR that bm25s lacks. What we need from a library is
sparse-matrix machinery (summing duplicates, CSR/CSC conversion, stacking), and
scipy provides it: mature and packaged everywhere. The scoring itself is
three numpy calls.

Updates. ``add`` appends sentences (new ids follow the old ones); ``remove``
leaves a tombstone: the sentence's postings go, its score is 0 from then on
and N, document frequencies, avgdl and the mean IDF are those of the live
sentences, so scores equal a rebuild from the survivors. Ids stay stable, so
arrays kept beside the index by callers stay aligned; ``compact`` drops the
tombstones (and terms no live sentence has) and returns the old->new id map.
Each update costs O(total postings) of vectorised work (CSR->CSC), 0.1-0.3 s
at 1M sentences whatever the batch size: batch them.

Threads. Readers see an immutable snapshot swapped in whole by a writer, so
scoring needs no lock; writers serialise on one lock.
"""

from __future__ import annotations

import logging
import math
import threading
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)

IDF_FLOOR = 1e-3
FORMAT = 1
ARRAY_NAMES = ("indptr", "indices", "classes", "doc_len", "live", "class_tf", "class_dl")
_DENSE_KEYS = 1 << 22  # below this, (tf, dl) keys are coded with a lookup table, not a sort


class _Vocabulary(dict[str, int]):
    """Term -> column; a term seen for the first time gets the next column.

    Columns thus follow first occurrence in the corpus, the order in which
    rank-bm25 sums IDFs for its mean, so that mean agrees to the last bit.
    Only writers index it with ``[]``; readers use ``get`` and never insert.
    """

    def __init__(self, terms: Iterable[str] = ()) -> None:
        self.terms: list[str] = list(terms)
        super().__init__((term, column) for column, term in enumerate(self.terms))

    def __missing__(self, term: str) -> int:
        column = self[term] = len(self.terms)
        self.terms.append(term)
        return column


@dataclass(frozen=True, slots=True, eq=False)
class _State:
    """One consistent version of the index: built whole, then swapped in."""

    vocab: _Vocabulary
    rows: sp.csr_array  # sentence x term, data = weight class
    indptr: np.ndarray  # CSC of ``rows``: a term's postings are indices[indptr[j]:indptr[j+1]]
    indices: np.ndarray
    classes: np.ndarray
    doc_len: np.ndarray  # 0 for a removed sentence
    live: np.ndarray
    class_tf: np.ndarray
    class_dl: np.ndarray
    weight: np.ndarray  # per class: tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
    idf: np.ndarray  # per column; 0 for a term no live sentence has
    documents: int

    @property
    def size(self) -> int:
        return len(self.live)

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1


class SparseBM25:
    """BM25Okapi scores of every sentence for a bag of terms, from sparse postings."""

    def __init__(
        self,
        documents: Iterable[Sequence[str]] = (),
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        idf_floor: float | None = IDF_FLOOR,
    ) -> None:
        if not k1 >= 0:
            raise ValueError(f"k1 must be >= 0, got {k1!r}")
        if not 0 <= b <= 1:
            raise ValueError(f"b must be between 0 and 1, got {b!r}")
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
        if idf_floor is not None and not idf_floor > 0:
            raise ValueError(f"idf_floor must be > 0 or None, got {idf_floor!r}")
        self.k1, self.b, self.epsilon, self.idf_floor = k1, b, epsilon, idf_floor
        self._lock = threading.Lock()
        empty = np.zeros(0, dtype=np.int64)
        self._state = self._derive(
            _Vocabulary(),
            sp.csr_array((0, 0), dtype=np.uint16),
            empty,
            np.zeros(0, dtype=bool),
            empty,
            empty,
        )
        self.add(documents)

    # ------------------------------------------------------------------ reading

    @property
    def size(self) -> int:
        """Sentence ids in use, removed ones included: the length of ``scores``."""
        return self._state.size

    @property
    def documents(self) -> int:
        """Live (not removed) sentences: the N of the IDF formula."""
        return self._state.documents

    @property
    def terms(self) -> int:
        """Vocabulary size (terms of removed sentences included until ``compact``)."""
        return self._state.n_terms

    def contains(self, term: str) -> bool:
        """Whether any live sentence has ``term``."""
        state = self._state
        column = self._column(state, term)
        return column is not None and state.indptr[column + 1] > state.indptr[column]

    def idf(self, term: str) -> float:
        """The term's IDF; an unseen term gets the largest IDF any term could have."""
        state = self._state
        column = self._column(state, term)
        if column is None or state.indptr[column + 1] == state.indptr[column]:
            return math.log((state.documents + 0.5) / 0.5)
        return float(state.idf[column])

    def doc_terms(self, doc: int) -> frozenset[str]:
        """The distinct terms of one sentence (empty once it is removed)."""
        state = self._state
        if not 0 <= doc < state.size:
            raise IndexError(f"sentence id {doc} is out of range (the index has {state.size})")
        indptr, terms = state.rows.indptr, state.vocab.terms
        return frozenset(terms[j] for j in state.rows.indices[indptr[doc] : indptr[doc + 1]])

    def matches(self, term: str, docs: Sequence[int] | np.ndarray) -> np.ndarray:
        """Which of ``docs`` have ``term``: a binary search in its postings, for many at once."""
        state = self._state
        wanted = np.asarray(docs, dtype=np.int64)
        column = self._column(state, term)
        if column is None:
            return np.zeros(wanted.shape, dtype=bool)
        rows = state.indices[state.indptr[column] : state.indptr[column + 1]]
        if not rows.size:
            return np.zeros(wanted.shape, dtype=bool)
        at = np.minimum(np.searchsorted(rows, wanted), rows.size - 1)
        return rows[at] == wanted

    def scores(self, query: Iterable[str]) -> np.ndarray:
        """BM25 score of every sentence id for ``query`` (0 for removed ids and non-matches)."""
        state = self._state
        return self._accumulate(state, self._columns(state, query))

    def top(self, query: Iterable[str], k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best sentences with a positive score: (ids, scores), best first.

        Ties go to the lower id. The candidates are the sentences scoring at
        least the k-th best score among the rarest query term's sentences: no
        true top-k sentence scores less, and the comparison is one vectorised
        pass instead of a partition of every matching sentence.
        """
        state = self._state
        columns = self._columns(state, query)
        scores = self._accumulate(state, columns)
        if not columns or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        indptr = state.indptr
        rarest = min(columns, key=lambda j: indptr[j + 1] - indptr[j])
        sample = scores[state.indices[indptr[rarest] : indptr[rarest + 1]]]
        threshold = 0.0
        if sample.size >= k:
            threshold = max(float(np.partition(sample, sample.size - k)[sample.size - k]), 0.0)
        candidates = np.flatnonzero(scores >= threshold if threshold > 0 else scores > 0)
        values = scores[candidates]
        order = np.lexsort((candidates, -values))[:k]
        return candidates[order], values[order]

    @staticmethod
    def _column(state: _State, term: str) -> int | None:
        column = state.vocab.get(term)
        return column if column is not None and column < state.n_terms else None

    def _columns(self, state: _State, query: Iterable[str]) -> list[int]:
        """Columns of the query's known terms, in query order, repeats kept (rank-bm25 counts them)."""
        if isinstance(query, str):
            raise TypeError("query must be a list of terms, not a str: tokenize it first")
        found = (self._column(state, term) for term in query)
        return [column for column in found if column is not None]

    @staticmethod
    def _accumulate(state: _State, columns: Sequence[int]) -> np.ndarray:
        """Sum the query terms' column slices, in query order, as rank-bm25 adds them.

        Per column, ``idf * weight`` is a table of a few hundred products (the same
        products rank-bm25 forms per sentence), gathered by class and added with
        ``np.add.at``: twice as fast as ``out[rows] += ...`` on 1M sentences.
        """
        out = np.zeros(state.size)
        for column in columns:
            start, end = state.indptr[column], state.indptr[column + 1]
            products = state.idf[column] * state.weight
            np.add.at(out, state.indices[start:end], products.take(state.classes[start:end]))
        return out

    # ------------------------------------------------------------------ writing

    def add(self, documents: Iterable[Sequence[str]]) -> range:
        """Index more sentences (token lists); returns their ids. Scores then equal a rebuild."""
        with self._lock:
            state = self._state
            vocab = state.vocab
            ids, lengths = _encode(documents, vocab)
            if not lengths.size:
                return range(state.size, state.size)
            rows = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)
            ones = np.ones(ids.size, dtype=np.int32)
            shape = (lengths.size, len(vocab.terms))
            new = sp.coo_array((ones, (rows, ids)), shape=shape).tocsr()  # sums repeats into tf
            del rows, ones, ids  # the largest temporaries of a build: free them before the next
            classes, class_tf, class_dl = _classify(
                new.data, lengths, new.indptr, state.class_tf, state.class_dl
            )
            matrix = sp.csr_array((classes, new.indices, new.indptr), shape=shape)
            del new
            if state.size:
                old = state.rows
                old = sp.csr_array(
                    (old.data, old.indices, old.indptr), shape=(state.size, shape[1])
                )
                matrix = sp.vstack([old, matrix], format="csr").astype(classes.dtype, copy=False)
            self._state = self._derive(
                vocab,
                matrix,
                np.concatenate([state.doc_len, lengths]),
                np.concatenate([state.live, np.ones(lengths.size, dtype=bool)]),
                class_tf,
                class_dl,
            )
            log.debug("indexed %d sentences (%d in all)", lengths.size, self._state.documents)
            return range(state.size, self._state.size)

    def remove(self, doc_ids: Iterable[int]) -> int:
        """Remove sentences by id (tombstones: ids stay); returns how many were live."""
        with self._lock:
            state = self._state
            ids = np.unique(np.fromiter(doc_ids, dtype=np.int64))
            if ids.size and (ids[0] < 0 or ids[-1] >= state.size):
                bad = ids[0] if ids[0] < 0 else ids[-1]
                raise IndexError(f"sentence id {bad} is out of range (the index has {state.size})")
            ids = ids[state.live[ids]]
            if not ids.size:
                return 0
            live = state.live.copy()
            live[ids] = False
            doc_len = state.doc_len.copy()
            doc_len[ids] = 0
            self._state = self._derive(
                state.vocab, _keep_rows(state.rows, live), doc_len, live,
                state.class_tf, state.class_dl,
            )  # fmt: skip
            return int(ids.size)

    def compact(self) -> np.ndarray:
        """Drop tombstones and unused terms; returns old id -> new id (-1 for removed)."""
        with self._lock:
            state = self._state
            kept = np.flatnonzero(state.live)
            mapping = np.full(state.size, -1, dtype=np.int64)
            mapping[kept] = np.arange(kept.size)
            used = np.flatnonzero(np.diff(state.indptr) > 0)
            vocab = _Vocabulary(state.vocab.terms[j] for j in used.tolist())
            # Removed rows and unused columns hold no postings (``remove`` emptied them), so
            # the postings stay as they are: rows get a new pointer, columns new numbers.
            rows = state.rows
            renumber = np.zeros(state.n_terms, dtype=rows.indices.dtype)
            renumber[used] = np.arange(used.size)
            matrix = sp.csr_array(
                (rows.data, renumber[rows.indices], np.append(rows.indptr[kept], rows.indptr[-1])),
                shape=(kept.size, used.size),
            )
            self._state = self._derive(
                vocab, matrix, state.doc_len[kept], state.live[kept],
                state.class_tf, state.class_dl,
            )  # fmt: skip
            return mapping

    # ------------------------------------------------------------------ persistence

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything needed to rebuild this index: numpy arrays plus a JSON-able dict."""
        state = self._state
        arrays = {
            "indptr": state.rows.indptr,
            "indices": state.rows.indices,
            "classes": state.rows.data,
            "doc_len": state.doc_len,
            "live": state.live,
            "class_tf": state.class_tf,
            "class_dl": state.class_dl,
        }
        meta = {
            "format": FORMAT,
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "idf_floor": self.idf_floor,
            "vocabulary": state.vocab.terms[: state.n_terms],
        }
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> SparseBM25:
        """Rebuild an index saved by ``to_arrays``; ValueError if the pieces do not fit together."""
        if meta.get("format") != FORMAT:
            raise ValueError(f"index format {meta.get('format')!r}, expected {FORMAT}")
        missing = [name for name in ARRAY_NAMES if name not in arrays]
        if missing:
            raise ValueError(f"index arrays missing: {', '.join(missing)}")
        terms = meta.get("vocabulary")
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError("index vocabulary must be a list of strings")
        _check_arrays(arrays, len(terms))
        index = cls(
            k1=float(meta["k1"]), b=float(meta["b"]), epsilon=float(meta["epsilon"]),
            idf_floor=None if meta.get("idf_floor") is None else float(meta["idf_floor"]),
        )  # fmt: skip
        indptr = arrays["indptr"]
        matrix = sp.csr_array(
            (arrays["classes"], arrays["indices"], indptr), shape=(len(indptr) - 1, len(terms))
        )
        index._state = index._derive(
            _Vocabulary(terms),
            matrix,
            arrays["doc_len"].astype(np.int64, copy=False),
            arrays["live"],
            arrays["class_tf"].astype(np.int64, copy=False),
            arrays["class_dl"].astype(np.int64, copy=False),
        )
        return index

    # ------------------------------------------------------------------ derivation

    def _derive(
        self,
        vocab: _Vocabulary,
        rows: sp.csr_array,
        doc_len: np.ndarray,
        live: np.ndarray,
        class_tf: np.ndarray,
        class_dl: np.ndarray,
    ) -> _State:
        """Everything a query reads, from the postings and sentence lengths."""
        columns = rows.tocsc()
        columns.sort_indices()
        documents = int(np.count_nonzero(live))
        avgdl = int(doc_len.sum()) / documents if documents else 0.0
        return _State(
            vocab=vocab,
            rows=rows,
            indptr=columns.indptr,
            indices=columns.indices,
            classes=columns.data,
            doc_len=doc_len,
            live=live,
            class_tf=class_tf,
            class_dl=class_dl,
            weight=self._weights(class_tf, class_dl, avgdl),
            idf=self._idfs(np.diff(columns.indptr), documents),
            documents=documents,
        )

    def _weights(self, tf: np.ndarray, dl: np.ndarray, avgdl: float) -> np.ndarray:
        """The tf part of BM25 per (tf, dl) class, with rank-bm25's operations in its order."""
        if avgdl == 0:
            return np.zeros(tf.size)
        k1, b = self.k1, self.b
        return tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

    def _idfs(self, df: np.ndarray, documents: int) -> np.ndarray:
        """Per-column IDF: BM25Okapi's, then the floor; 0 for terms no live sentence has.

        ``math.log`` per distinct document frequency (a few thousand values) keeps
        the logarithms identical to rank-bm25's; ``cumsum`` adds in column order,
        one by one, as its mean does.
        """
        out = np.zeros(df.size)
        present = df > 0
        if not present.any():
            return out
        distinct, inverse = np.unique(df[present], return_inverse=True)
        logs = [math.log(documents - n + 0.5) - math.log(n + 0.5) for n in distinct.tolist()]
        raw = np.asarray(logs)[inverse]
        average = float(np.cumsum(raw)[-1]) / raw.size
        idf = np.where(raw < 0, self.epsilon * average, raw)
        if self.idf_floor is not None:
            floor = max(self.idf_floor, self.epsilon * max(average, 0.0))
            idf = np.where(idf <= floor, floor, idf)
        out[present] = idf
        return out


def _encode(
    documents: Iterable[Sequence[str]], vocab: _Vocabulary
) -> tuple[np.ndarray, np.ndarray]:
    """Column ids of every token, flat, and each document's length (new terms join ``vocab``)."""
    ids, lengths = array("i"), array("q")
    lookup = vocab.__getitem__
    for doc in documents:
        if isinstance(doc, str):
            raise TypeError("documents must be token lists, not str: tokenize them first")
        before = len(ids)
        ids.extend(map(lookup, doc))
        lengths.append(len(ids) - before)
    return np.frombuffer(ids, dtype=np.int32), np.frombuffer(lengths, dtype=np.int64)


def _classify(
    tf: np.ndarray,
    lengths: np.ndarray,
    indptr: np.ndarray,
    known_tf: np.ndarray,
    known_dl: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weight class of each posting of a CSR block (``tf`` per posting, ``lengths`` per row).

    Known (tf, dl) classes keep their numbers and new ones follow, so postings
    already indexed stay valid. Returns the classes and the extended table (tf, dl).
    The work is a few passes over int32 keys (a build's memory peak is here) and a
    lookup table, not a sort: 11M postings take a fraction of a second.
    """
    stride = int(max(lengths.max(initial=0), known_dl.max(initial=0))) + 1
    top = int(max(tf.max(initial=0), known_tf.max(initial=0)))
    keys = tf.astype(np.int64 if (top + 1) * stride >= 1 << 31 else np.int32)
    keys *= stride
    keys += np.repeat(lengths.astype(keys.dtype), np.diff(indptr))
    known = [int(k) for k in known_tf * stride + known_dl]
    number = {key: i for i, key in enumerate(known)}
    distinct = _distinct(keys)
    for key in distinct.tolist():
        number.setdefault(key, len(number))
    table = np.asarray(list(number), dtype=np.int64)
    dtype = np.uint16 if table.size <= 1 << 16 else np.uint32
    numbers = np.asarray([number[key] for key in distinct.tolist()], dtype=dtype)
    if distinct.size and distinct[-1] < _DENSE_KEYS:
        lookup = np.zeros(int(distinct[-1]) + 1, dtype=dtype)
        lookup[distinct] = numbers
        classes = lookup[keys]
    else:
        classes = numbers[np.searchsorted(distinct, keys)]
    return classes, table // stride, table % stride


def _distinct(keys: np.ndarray) -> np.ndarray:
    """``np.unique(keys)``, in linear time when the keys are small (they nearly always are)."""
    if not keys.size or keys.max() >= _DENSE_KEYS:
        return np.unique(keys)
    return np.flatnonzero(np.bincount(keys))


def _keep_rows(rows: sp.csr_array, live: np.ndarray) -> sp.csr_array:
    """``rows`` with the postings of dead sentences dropped (their rows stay, empty)."""
    counts = np.diff(rows.indptr)
    keep = np.repeat(live, counts)
    indptr = np.concatenate([[0], np.cumsum(counts * live)]).astype(rows.indptr.dtype)
    return sp.csr_array((rows.data[keep], rows.indices[keep], indptr), shape=rows.shape)


def _check_arrays(arrays: Mapping[str, np.ndarray], n_terms: int) -> None:
    """Cheap consistency checks, so a damaged or foreign file fails here and not mid-query."""
    for name in ARRAY_NAMES:
        kind = arrays[name].dtype.kind
        if arrays[name].ndim != 1 or kind not in ("b" if name == "live" else "iu"):
            raise ValueError(f"index array {name!r} has the wrong type ({arrays[name].dtype})")
    indptr, indices, classes = arrays["indptr"], arrays["indices"], arrays["classes"]
    size = indptr.size - 1
    if size < 0 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        raise ValueError("index array 'indptr' is not a valid row pointer")
    if indptr[-1] != indices.size or indices.size != classes.size:
        raise ValueError("index arrays 'indices' and 'classes' do not match 'indptr'")
    if arrays["doc_len"].size != size or arrays["live"].size != size:
        raise ValueError(f"'doc_len' and 'live' must have one entry per sentence ({size})")
    if arrays["class_tf"].size != arrays["class_dl"].size:
        raise ValueError("'class_tf' and 'class_dl' differ in length")
    if indices.size and (indices.min() < 0 or indices.max() >= n_terms):
        raise ValueError("index array 'indices' points outside the vocabulary")
    if classes.size and classes.max() >= arrays["class_tf"].size:
        raise ValueError("index array 'classes' points outside the class table")
