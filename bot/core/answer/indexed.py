"""The corpus as ranking reads it: the table, per-sentence arrays derived once, two BM25s.

Everything here is computed when an engine is built (or loaded) and never changes,
so ranking, passage choice and the reply can read it from many threads at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from bot.core.index.arrays import distinct, distinct_counts, member, stable_order
from bot.core.index.bm25 import Parameters, SparseBM25
from bot.core.index.table import CorpusTable

Term = int | str  # a vocabulary number, or a word the corpus does not have


class SpeakerIndex:
    """Attributions x name terms, to find every sentence quoting a subject in one pass."""

    def __init__(self, table: CorpusTable, term: Mapping[str, int]) -> None:
        c = table.columns
        self._term = term
        attributions = c["attr_speaker"].size
        self._sentence = np.repeat(
            np.arange(table.sentences, dtype=np.int64), np.diff(c["sentence_attrs"])
        )
        rows = np.repeat(np.arange(attributions, dtype=np.int64), np.diff(c["attr_names"]))
        order = stable_order(c["names"], max(len(table.vocabulary), 1))
        self._rows = rows[order]
        self._indptr = np.zeros(len(table.vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(c["names"], minlength=len(table.vocabulary)), out=self._indptr[1:])

    def sentences(self, subject: frozenset[str]) -> np.ndarray:
        """The sentences (increasing ids) with an attribution whose names include all of ``subject``."""
        columns = [self._term.get(term) for term in subject]
        if not columns or any(column is None for column in columns):
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate(
            [self._rows[self._indptr[column] : self._indptr[column + 1]] for column in columns]
        )
        attributions, counts = distinct_counts(rows)
        return distinct(self._sentence[attributions[counts == len(columns)]])

    def has(self, term: str, docs: np.ndarray) -> np.ndarray:
        """Which of ``docs`` have an attribution naming ``term``."""
        column = self._term.get(term)
        if column is None:
            return np.zeros(docs.size, dtype=bool)
        rows = self._rows[self._indptr[column] : self._indptr[column + 1]]
        return member(docs, self._sentence[rows])  # attributions, so sentences, in order


class IndexedCorpus:
    """A ``CorpusTable`` with the arrays and indexes every question reads, built once."""

    def __init__(
        self,
        table: CorpusTable,
        params: Parameters,
        speech_term: str,
        indexes: tuple[SparseBM25, SparseBM25] | None = None,
        *,
        terms: Mapping[str, int] | None = None,
        sizes: np.ndarray | None = None,
    ) -> None:
        """Derive the arrays; ``indexes`` are this table's saved BM25s (None builds them).

        Both BM25s are built from the table's term numbers: nothing is tokenized again.
        ``terms``: ``{term: its vocabulary number}`` when the caller has it already (a
        cluster question's table, whose numbering is shared with the process).
        ``sizes``: each article's sentence count when the table holds only some of its
        sentences (a cluster question's fetched paragraphs): the position weight reads it.
        """
        self.table = table
        c = table.columns
        self.start, self.end = c["sent_start"], c["sent_end"]
        per_article = np.diff(c["article_sentences"])
        self.article = np.repeat(np.arange(table.articles, dtype=np.int32), per_article)
        # Paragraphs numbered across the corpus: a new one wherever article or block changes.
        paragraph = c["sent_paragraph"]
        starts = np.ones(table.sentences, dtype=bool)
        starts[1:] = (self.article[1:] != self.article[:-1]) | (paragraph[1:] != paragraph[:-1])
        self.paragraph = np.cumsum(starts) - 1
        # Without a heading a sentence's index terms are its own: membership is a postings lookup.
        self.headed = c["sent_heading"] >= 0
        self.any_headed = bool(self.headed.any())
        self.quoted, self.reports, self.content = (
            c["sent_quoted"],
            c["sent_reports"],
            c["sent_content"],
        )
        whole = per_article if sizes is None else sizes
        self.early = 1.0 - c["sent_position"] / np.maximum(whole, 1)[self.article]
        self.term: Mapping[str, int] = (
            {term: number for number, term in enumerate(table.vocabulary)}
            if terms is None
            else terms
        )
        # The one term every reporting word becomes ("said", "told" -> "say"), or -1.
        self.say = self.term.get(speech_term, -1)
        self.speakers = SpeakerIndex(table, self.term)
        self.text = lru_cache(maxsize=256)(table.text)
        # Picking answers reads a sentence's own terms a few times over, as Python ints.
        self.own_terms = lru_cache(maxsize=4096)(self._own_terms_of)
        self.content_terms = lru_cache(maxsize=4096)(self._content_terms_of)
        if indexes is None:
            self.index, self.paragraphs = self._bm25s(params, starts)
        else:
            self.index, self.paragraphs = indexes
            paragraphs = int(self.paragraph[-1]) + 1 if table.sentences else 0
            if self.index.size != table.sentences or self.paragraphs.size != paragraphs:
                raise ValueError("saved BM25 indexes do not fit the articles")

    def _bm25s(self, params: Parameters, starts: np.ndarray) -> tuple[SparseBM25, SparseBM25]:
        """BM25 over sentences, and a second one over whole paragraphs.

        A question's words are often spread over the sentences around the one that
        answers it. A paragraph's sentences are neighbours, so its terms are a run of
        the same flat array.
        """
        c, vocabulary = self.table.columns, self.table.vocabulary
        lengths = np.diff(c["sentence_terms"])
        sentences = SparseBM25.from_ids(c["terms"], lengths, vocabulary, params)
        first = np.flatnonzero(starts)
        paragraph_lengths = np.add.reduceat(lengths, first) if first.size else lengths
        paragraphs = SparseBM25.from_ids(c["terms"], paragraph_lengths, vocabulary, params)
        return sentences, paragraphs

    def sentence_text(self, doc: int) -> str:
        """Sentence ``doc``, sliced from its article (verbatim by construction)."""
        return self.text(int(self.article[doc]))[int(self.start[doc]) : int(self.end[doc])]

    def same_paragraph(self, doc: int, other: int) -> bool:
        """Whether ``other`` is a sentence in the paragraph of ``doc``."""
        return 0 <= other < len(self.paragraph) and self.paragraph[other] == self.paragraph[doc]

    def content_count(self, doc: int) -> int:
        """How many of the sentence's own terms (repeats counted) are not the speech term."""
        terms = self.own_terms(doc)
        return len(terms) - terms.count(self.say)

    def own_has(self, terms: list[str], docs: np.ndarray) -> np.ndarray:
        """Per term, which of ``docs`` have it among their own words (not their heading's)."""
        found = np.empty((len(terms), docs.size), dtype=bool)
        for i, term in enumerate(terms):
            found[i] = self.index.matches(term, docs)
        if self.any_headed:
            rows, columns = np.nonzero(found & self.headed[docs])
            for i, k in zip(rows.tolist(), columns.tolist(), strict=True):
                number = self.term.get(terms[i], -1)
                found[i, k] = number in self.table.terms_of(int(docs[k]), own=True)
        return found

    def article_frequencies(
        self, terms: Sequence[str], docs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per doc its article's sentence count, and per term in how many of them it occurs."""
        offsets = self.table.columns["article_sentences"]
        article = self.article[docs]
        first, last = offsets[article], offsets[article + 1]
        bounds = self.index.as_ids(np.concatenate([last, first]))
        frequency = np.empty((len(terms), docs.size), dtype=np.int64)
        for i, term in enumerate(terms):
            # How many sentences of each candidate's article have the term: two binary
            # searches in its postings per article, not a count over the whole corpus.
            found = np.searchsorted(self.index.postings(term), bounds)
            frequency[i] = found[: docs.size] - found[docs.size :]
        return last - first, frequency

    def article_has(self, doc: int, terms: Sequence[int]) -> frozenset[int]:
        """Which of ``terms`` (vocabulary numbers) any sentence of ``doc``'s article has."""
        bounds = self.table.columns["article_sentences"]
        number = int(self.article[doc])
        low, high = int(bounds[number]), int(bounds[number + 1])
        vocabulary = self.table.vocabulary
        return frozenset(
            term
            for term in terms
            if term >= 0 and self.index.any_between(vocabulary[term], low, high)
        )

    def numbered(self, terms: frozenset[str]) -> frozenset[Term]:
        """``terms`` as vocabulary numbers; words the corpus lacks stay words."""
        return frozenset(self.term.get(term, term) for term in terms)

    def _own_terms_of(self, doc: int) -> tuple[int, ...]:
        return tuple(self.table.terms_of(doc, own=True).tolist())

    def _content_terms_of(self, doc: int) -> frozenset[int]:
        """The sentence's own terms but the speech term: what it says, not that it is said."""
        return frozenset(self.own_terms(doc)).difference((self.say,))
