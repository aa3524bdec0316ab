"""BM25Okapi over a few fetched paragraphs, scored as if over the whole corpus in the cluster.

A question's ranking runs on the paragraphs its candidates come from (``searcher``), but
a sentence's BM25 must be the one the embedded index gives it over *every* sentence:
N, the average length, each query term's document frequency and the mean IDF (for the
epsilon rule and the floor) are the corpus's, fetched from the cluster; term
frequencies and lengths are the fetched sentences' and paragraphs' own, which are
complete because whole paragraphs are fetched. The arithmetic is ``SparseBM25``'s, operation for
operation, so a fetched sentence scores what it scores in the embedded index.

``ClusterBM25`` offers the methods the ranking calls on ``SparseBM25``: postings and
membership are local, ``idf`` and ``contains`` are the corpus's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bot.core.index.arrays import distinct, lookup
from bot.core.index.bm25 import Parameters
from bot.core.index.postings import TermColumns, columns_of

log = logging.getLogger(__name__)


def okapi_idf(documents: int, frequency: int, mean_idf: float, params: Parameters) -> float:
    """A term's IDF as ``SparseBM25`` gives it, from the corpus's counts alone.

    BM25Okapi's IDF; a negative one becomes ``epsilon`` times the mean IDF; then the
    floor. A term no document has gets the largest IDF any term could have.
    """
    if frequency == 0:
        return math.log((documents + 0.5) / 0.5)
    raw = math.log(documents - frequency + 0.5) - math.log(frequency + 0.5)
    idf = params.epsilon * mean_idf if raw < 0 else raw
    if params.idf_floor is not None:
        floor = max(params.idf_floor, params.epsilon * max(mean_idf, 0.0))
        if idf <= floor:
            idf = floor
    return idf


class ClusterBM25(TermColumns):
    """Local postings of fetched documents, weighted with the whole corpus's statistics."""

    def __init__(
        self,
        ids: np.ndarray,
        lengths: np.ndarray,
        vocabulary: Sequence[str],
        params: Parameters,
        documents: int,
        total_length: int,
        mean_idf: float,
        frequency: Mapping[str, int],
        columns_of_terms: Mapping[str, int] | None = None,
    ) -> None:
        """Index the local documents (term numbers into ``vocabulary``, flat, with lengths).

        ``documents``, ``total_length`` and ``mean_idf`` are the corpus's; ``frequency``
        maps each term a question may ask about to its document frequency in the corpus
        (0 or absent: no document has it). ``columns_of_terms``: ``{term: its number in
        vocabulary}``, when the caller has it already (two indexes share one).
        """
        lengths = np.asarray(lengths, dtype=np.int64)
        columns = columns_of(np.asarray(ids, dtype=np.int64), lengths, len(vocabulary))
        self.params = params
        self._indptr, self._indices, self._tf = columns.indptr, columns.indices, columns.data
        self._terms = list(vocabulary)
        self._vocab = (
            {term: column for column, term in enumerate(self._terms)}
            if columns_of_terms is None
            else columns_of_terms
        )
        self._doc_len = lengths
        self._documents = documents
        self._avgdl = float(total_length) / documents if documents else 0.0
        self._frequency = dict(frequency)
        self.unknown_terms: set[str] = set()  # asked about but not fetched: a bug if ever seen
        self._mean_idf = mean_idf

    # ------------------------------------------------------------------ the corpus's

    @property
    def size(self) -> int:
        """Local documents (ids run from 0 to ``size - 1``)."""
        return self._doc_len.size

    def contains(self, term: str) -> bool:
        """Whether any document of the whole corpus has ``term``."""
        return self._df(term) > 0

    def idf(self, term: str) -> float:
        """The term's IDF over the whole corpus, as ``SparseBM25.idf`` gives it."""
        return self._idf_of(self._df(term))

    def rarest_idf(self) -> float:
        """The IDF of a term no document of the whole corpus has, as ``SparseBM25`` gives it."""
        return self._idf_of(0)

    def _idf_of(self, n: int) -> float:
        return okapi_idf(self._documents, n, self._mean_idf, self.params)

    def _df(self, term: str) -> int:
        found = self._frequency.get(term)
        if found is None:
            # The searcher fetches every term a question can ask about; a miss means a code
            # path it does not know. Answer from what is here rather than fail the question.
            if term not in self.unknown_terms:
                log.warning(
                    "no corpus frequency fetched for %r; using the fetched paragraphs'", term
                )
                self.unknown_terms.add(term)
            return int(self.postings(term).size)
        return found

    # ------------------------------------------------------------------ local

    def matching(self, query: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """The local documents with a query term (increasing) and their scores."""
        columns = self._columns(query)
        if len(columns) == 1:
            rows, added = self._postings_of(columns)
            return rows.astype(np.int64), added
        rows, added = self._postings_of(columns)
        return self._summed(rows, added, None)

    def scores_of(self, query: Iterable[str], docs: np.ndarray) -> np.ndarray:
        """The scores of ``docs`` (increasing), column by column as ``SparseBM25`` adds them."""
        out = np.zeros(np.shape(docs))
        wanted = self.as_ids(docs)
        for column in self._columns(query):
            start, end = self._indptr[column], self._indptr[column + 1]
            found = lookup(self._indices[start:end], wanted)
            hit = found >= 0
            out[hit] += self._products(column)[found[hit]]
        return out

    def scores_at(self, query: Iterable[str], docs: np.ndarray) -> np.ndarray:
        """The scores of ``docs`` (any order, repeats allowed)."""
        rows, added = self._postings_of(self._columns(query))
        return self._summed(rows, added, np.asarray(docs))[1]

    def _columns(self, query: Iterable[str]) -> list[int]:
        if isinstance(query, str):
            raise TypeError("query must be a list of terms, not a str: tokenize it first")
        found = (self._vocab.get(term) for term in query)
        return [column for column in found if column is not None]

    def _products(self, column: int) -> np.ndarray:
        """IDF times the tf part for each posting of ``column``, as ``SparseBM25`` forms them."""
        start, end = self._indptr[column], self._indptr[column + 1]
        if self._avgdl == 0:
            return np.zeros(end - start)
        tf = self._tf[start:end].astype(np.float64)
        dl = self._doc_len[self._indices[start:end]]
        k1, b = self.params.k1, self.params.b
        weight = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / self._avgdl))
        return self.idf(self._terms[column]) * weight

    def _postings_of(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        if not columns:
            return self._indices[:0], np.zeros(0)
        rows = np.concatenate(
            [self._indices[self._indptr[j] : self._indptr[j + 1]] for j in columns]
        )
        return rows, np.concatenate([self._products(j) for j in columns])

    def _summed(
        self, rows: np.ndarray, added: np.ndarray, at: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        buffer = np.zeros(self.size)
        np.add.at(buffer, rows, added)
        if at is None:
            at = distinct(rows).astype(np.int64)
        return at, buffer[at]
