"""The embedded ranking over the paragraphs a question fetched, scored as over the whole corpus.

The fetched paragraphs are one small ``CorpusTable``; their sentences and paragraphs are
scored by ``ClusterBM25`` with the corpus statistics the question's request brought, and
answered by the very ``Engine`` code the embedded backend runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.core.answer.engine import Engine, EngineOptions
from bot.core.answer.indexed import IndexedCorpus
from bot.core.index.bm25 import Parameters
from bot.core.index.table import CorpusTable
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.models import Reply
from bot.core.search import totals
from bot.core.search.paragraphs import Joined
from bot.core.search.scoring import ClusterBM25


@dataclass(frozen=True, slots=True)
class QuestionStats:
    """What the first request of a question brings: totals and its terms' frequencies."""

    index: str
    stats: totals.CorpusStats
    sentences: dict[str, int]
    paragraphs: dict[str, int]


class LocalEngine(Engine):
    """An ``Engine`` over fetched paragraphs whose BM25s are ``ClusterBM25``s."""

    index: ClusterBM25  # type: ignore[assignment]
    paragraphs: ClusterBM25  # type: ignore[assignment]


def _bm25s(
    table: CorpusTable, stats: QuestionStats, options: EngineOptions, columns: Mapping[str, int]
) -> tuple[ClusterBM25, ClusterBM25]:
    """The sentence and paragraph BM25s of ``table`` with the whole corpus's statistics."""
    c = table.columns
    lengths = np.diff(c["sentence_terms"])
    whole = stats.stats
    params = options.bm25
    sentences = ClusterBM25(
        c["terms"], lengths, table.vocabulary, params, whole.sentences, whole.terms,
        whole.mean_idf_sentences, stats.sentences, columns,
    )  # fmt: skip
    numbers = totals.paragraph_numbers(table)
    first = np.flatnonzero(np.diff(numbers, prepend=-1)) if numbers.size else numbers
    paragraph_lengths = np.add.reduceat(lengths, first) if first.size else lengths
    paragraphs = ClusterBM25(
        c["terms"], paragraph_lengths, table.vocabulary, params, whole.paragraphs,
        whole.terms, whole.mean_idf_paragraphs, stats.paragraphs, columns,
    )  # fmt: skip
    return sentences, paragraphs


class FetchedCorpus(IndexedCorpus):
    """An ``IndexedCorpus`` over fetched paragraphs that knows their articles' counts.

    The table holds only the paragraphs a question's hits came from; what the ranking
    reads of whole articles comes from their records instead: the article's sentence
    count (the position weight) and in how many of its sentences a term occurs (the
    article-local weights, the decline model's "does the article have it").
    """

    def __init__(self, joined: Joined, params: Parameters, speech_term: str,
                 indexes: tuple[ClusterBM25, ClusterBM25]) -> None:  # fmt: skip
        """The corpus of ``joined`` with its two BM25s."""
        super().__init__(
            joined.table, params, speech_term, indexes, terms=joined.terms, sizes=joined.sizes
        )  # type: ignore[arg-type]
        self._joined = joined
        self._width = max(len(joined.table.vocabulary), 1)

    def _counts(self, codes: np.ndarray) -> np.ndarray:
        found = np.searchsorted(self._joined.codes, codes)
        found = np.minimum(found, max(self._joined.codes.size - 1, 0))
        hit = self._joined.codes.size > 0
        if not hit:
            return np.zeros(codes.shape, dtype=np.int64)
        return np.where(self._joined.codes[found] == codes, self._joined.counts[found], 0)

    def article_frequencies(
        self, terms: Sequence[str], docs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per doc its article's sentence count, and per term in how many of them it occurs."""
        article = self.article[docs].astype(np.int64)
        frequency = np.zeros((len(terms), docs.size), dtype=np.int64)
        for i, term in enumerate(terms):
            column = self.term.get(term)
            if column is not None:
                frequency[i] = self._counts(article * self._width + column)
        return self._joined.sizes[article], frequency

    def article_has(self, doc: int, terms: Sequence[int]) -> frozenset[int]:
        """Which of ``terms`` (vocabulary numbers) any sentence of ``doc``'s article has."""
        wanted = [term for term in terms if term >= 0]
        if not wanted:
            return frozenset()
        codes = int(self.article[doc]) * self._width + np.array(wanted, dtype=np.int64)
        return frozenset(
            term for term, n in zip(wanted, self._counts(codes).tolist(), strict=True) if n > 0
        )


def paragraph_engine(
    joined: Joined,
    stats: QuestionStats,
    options: EngineOptions,
    tokenizer: Tokenizer,
    splitter: SentenceSplitter,
) -> LocalEngine:
    """The embedded ranking over fetched paragraphs, with the whole corpus's statistics."""
    sentences, paragraphs = _bm25s(joined.table, stats, options, joined.terms)
    corpus = FetchedCorpus(joined, options.bm25, tokenizer.speech_term, (sentences, paragraphs))
    return LocalEngine(
        joined.table, options, tokenizer, splitter, (), (sentences, paragraphs),
        terms=joined.terms, corpus=corpus,
    )  # fmt: skip


def in_articles(reply: Reply, joined: Joined) -> Reply:
    """The reply with offsets in the real bodies and sentences numbered within articles."""
    if not reply.answers:
        return reply
    positions = joined.table.columns["sent_position"]
    answers = []
    for answer in reply.answers:
        shift = int(joined.shift[answer.sentences[0]])
        answers.append(
            dataclasses.replace(
                answer,
                start=answer.start + shift,
                end=answer.end + shift,
                sentences=tuple(int(positions[s]) for s in answer.sentences),
                article=-1,
            )
        )
    return dataclasses.replace(reply, answers=tuple(answers))
