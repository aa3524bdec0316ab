"""The embedded ranking over the articles a question fetched, scored as over the whole corpus.

The fetched articles are one small ``CorpusTable``; their sentences and paragraphs are
scored by ``ClusterBM25`` with the corpus statistics the question's first request
brought, and answered by the very ``Engine`` code the embedded backend runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bot.core.answer.engine import Engine, EngineOptions
from bot.core.index.table import CorpusTable
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.models import Reply
from bot.core.search import totals
from bot.core.search.scoring import ClusterBM25


@dataclass(frozen=True, slots=True)
class QuestionStats:
    """What the first request of a question brings: totals and its terms' frequencies."""

    index: str
    stats: totals.CorpusStats
    sentences: dict[str, int]
    paragraphs: dict[str, int]


class LocalEngine(Engine):
    """An ``Engine`` over fetched articles whose BM25s are ``ClusterBM25``s."""

    index: ClusterBM25  # type: ignore[assignment]
    paragraphs: ClusterBM25  # type: ignore[assignment]


def local_engine(
    table: CorpusTable,
    stats: QuestionStats,
    options: EngineOptions,
    tokenizer: Tokenizer,
    splitter: SentenceSplitter,
    terms: Mapping[str, int] | None = None,
) -> LocalEngine:
    """The embedded ranking over ``table``, with the whole corpus's BM25 statistics.

    ``terms``: the table's ``{term: vocabulary number}`` (``tables.LocalTerms``), shared by
    both BM25s and the ranking; None builds it here.
    """
    c = table.columns
    lengths = np.diff(c["sentence_terms"])
    whole = stats.stats
    params = options.bm25
    columns = (
        {term: column for column, term in enumerate(table.vocabulary)} if terms is None else terms
    )
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
    return LocalEngine(
        table, options, tokenizer, splitter, (), (sentences, paragraphs), terms=columns
    )


def numbered_within_articles(reply: Reply, engine: Engine) -> Reply:
    """The reply with each answer's sentences counted within its article.

    A cluster has no corpus-wide sentence numbering that survives an update.
    """
    if not reply.answers:
        return reply
    offsets = engine.table.columns["article_sentences"]
    answers = tuple(
        dataclasses.replace(
            answer,
            sentences=tuple(s - int(offsets[answer.article]) for s in answer.sentences),
            article=-1,
        )
        for answer in reply.answers
    )
    return dataclasses.replace(reply, answers=answers)
