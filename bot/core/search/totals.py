"""The whole corpus's BM25 statistics, as the meta and term documents carry them.

A question scores fetched sentences with these, not with the few articles fetched,
so a sentence scores in the cluster what it scores in the embedded index (see
``scoring``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.core.index.arrays import distinct
from bot.core.index.table import CorpusTable


@dataclass(frozen=True, slots=True)
class CorpusStats:
    """The whole corpus's BM25 statistics, for sentences and for paragraphs."""

    articles: int
    sentences: int
    paragraphs: int
    terms: int  # index terms in all sentences (= in all paragraphs): N * avgdl
    vocabulary: int  # distinct index terms
    mean_idf_sentences: float  # BM25Okapi's raw IDF averaged over the vocabulary
    mean_idf_paragraphs: float

    def to_json(self) -> dict[str, Any]:
        """For the meta document."""
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorpusStats:
        """From the meta document; KeyError or ValueError if it does not hold them."""
        return cls(
            int(data["articles"]), int(data["sentences"]), int(data["paragraphs"]),
            int(data["terms"]), int(data["vocabulary"]), float(data["mean_idf_sentences"]),
            float(data["mean_idf_paragraphs"]),
        )  # fmt: skip


def raw_idf(documents: int, frequency: int) -> float:
    """BM25Okapi's IDF before its epsilon rule, with the embedded index's operations."""
    return math.log(documents - frequency + 0.5) - math.log(frequency + 0.5)


def mean_raw_idf(documents: int, histogram: Mapping[int, int]) -> float:
    """The mean raw IDF over a vocabulary given as {document frequency: how many terms}."""
    size = sum(histogram.values())
    if not size:
        return 0.0
    total = math.fsum(count * raw_idf(documents, df) for df, count in histogram.items())
    return total / size


def paragraph_numbers(table: CorpusTable) -> np.ndarray:
    """Per sentence, its paragraph numbered across the corpus (as the embedded index numbers them)."""
    c = table.columns
    if not table.sentences:
        return np.zeros(0, dtype=np.int64)
    article = np.repeat(np.arange(table.articles), np.diff(c["article_sentences"]))
    paragraph = c["sent_paragraph"]
    starts = np.ones(table.sentences, dtype=bool)
    starts[1:] = (article[1:] != article[:-1]) | (paragraph[1:] != paragraph[:-1])
    return np.cumsum(starts) - 1


def frequencies(table: CorpusTable) -> tuple[np.ndarray, np.ndarray]:
    """Per vocabulary term of ``table``: in how many sentences, and paragraphs, it occurs."""
    c = table.columns
    size = len(table.vocabulary)
    lengths = np.diff(c["sentence_terms"])
    terms = c["terms"].astype(np.int64)
    out = []
    for owner in (np.arange(table.sentences), paragraph_numbers(table)):
        rows = np.repeat(owner.astype(np.int64), lengths)
        pairs = distinct(rows * size + terms) if terms.size else terms
        out.append(np.bincount(pairs % size if size else pairs, minlength=size))
    return out[0], out[1]


def table_stats(table: CorpusTable) -> tuple[CorpusStats, np.ndarray, np.ndarray]:
    """The statistics of a whole corpus held in ``table``, and its per-term frequencies."""
    sdf, pdf = frequencies(table)
    used = sdf > 0
    paragraphs = int(paragraph_numbers(table)[-1]) + 1 if table.sentences else 0
    stats = CorpusStats(
        articles=table.articles,
        sentences=table.sentences,
        paragraphs=paragraphs,
        terms=int(table.columns["terms"].size),
        vocabulary=int(used.sum()),
        mean_idf_sentences=mean_raw_idf(table.sentences, _histogram(sdf[used])),
        mean_idf_paragraphs=mean_raw_idf(paragraphs, _histogram(pdf[used])),
    )
    return stats, sdf, pdf


def _histogram(values: np.ndarray) -> dict[int, int]:
    found, counts = np.unique(values, return_counts=True)
    return dict(zip(found.tolist(), counts.tolist(), strict=True))
