"""BM25 over sentences, with rank-bm25's small-corpus traps guarded.

``BM25Okapi`` gives a term found in half or more of the documents an IDF of
zero or below (then ``epsilon`` times the average IDF, which can itself be
negative). Such a term would make a matching sentence score no better than a
sentence without it. Every IDF is floored at a small positive value, so a
sentence that matches always outscores one that does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

IDF_FLOOR = 1e-3


class SentenceIndex:
    """Scores every indexed sentence against a bag of query terms."""

    def __init__(
        self, documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75,
        epsilon: float = 0.25,
    ) -> None:  # fmt: skip
        self.size = len(documents)
        self._terms = [frozenset(doc) for doc in documents]
        if not documents:
            self._bm25: BM25Okapi | None = None
            return
        self._bm25 = BM25Okapi(
            [list(doc) or [""] for doc in documents], k1=k1, b=b, epsilon=epsilon
        )
        floor = max(IDF_FLOOR, epsilon * max(self._bm25.average_idf, 0.0))
        for term, value in self._bm25.idf.items():
            if value <= floor:
                self._bm25.idf[term] = floor

    def idf(self, term: str) -> float:
        """The term's IDF; an unseen term gets the largest IDF any term could have."""
        if self._bm25 is None:
            return 0.0
        seen = self._bm25.idf.get(term)
        return seen if seen is not None else math.log((self.size + 0.5) / 0.5)

    def contains(self, term: str) -> bool:
        """Whether any indexed sentence has ``term``."""
        return self._bm25 is not None and term in self._bm25.idf

    def terms_of(self, doc: int) -> frozenset[str]:
        """The distinct terms of one indexed sentence."""
        return self._terms[doc]

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 scores of every sentence for ``query`` (zeros for an empty index or query)."""
        if self._bm25 is None or not query:
            return np.zeros(self.size)
        known = [term for term in query if term in self._bm25.idf]
        if not known:
            return np.zeros(self.size)
        return np.asarray(self._bm25.get_scores(known), dtype=float)
