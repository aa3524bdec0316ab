"""The one function every door calls: a question in, verbatim attributed excerpts out.

Ranking is BM25 over sentences plus what a news reader expects: when the
question asks for someone's words, sentences where that someone is the
*speaker* come before sentences that merely mention them; direct quotes and
early paragraphs (the news pyramid) break near ties. An answer is given only
when the articles cover the question's key words well enough; otherwise the
reply says plainly why there is none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from bot.core.answer.chatter import without_chatter
from bot.core.answer.decline import DeclineModel, bundled_model, features
from bot.core.answer.indexed import IndexedCorpus
from bot.core.answer.need import Need, need_of, uncovered, unknown_name
from bot.core.answer.passages import MERGE_LOOKAHEAD, PassageOptions, PassagePicker
from bot.core.answer.question import ParsedQuestion, parse_question
from bot.core.answer.rank import Ranker, Ranking, RankOptions
from bot.core.answer.reasons import answer_of
from bot.core.errors import QuestionError, too_long
from bot.core.index.bm25 import Parameters, SparseBM25
from bot.core.index.table import CorpusTable
from bot.core.index.tokenize import Tokenizer, load_aliases
from bot.core.ingest.options import IngestOptions, Progress
from bot.core.ingest.raw import LoadError, RawArticle
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.lexicon import NAMING_VERBS
from bot.core.models import Answer, Reply, Source

if TYPE_CHECKING:
    from bot.core.ingest.prepare import Prepared

log = logging.getLogger(__name__)
T = TypeVar("T")

# An empty corpus is a normal state (a new folder, every file unreadable, the last one removed).
NO_ARTICLES = "No articles are loaded yet: add article files to the corpus folder."
ASK_SOMETHING = "Ask a question, for example: what did China say?"


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """A loaded article as ``sources`` lists it."""

    source: Source
    sentences: int


@dataclass(frozen=True, slots=True)
class AskOptions:
    """How questions are taken and answered (set in ``Settings``, where each is explained)."""

    top_k: int
    max_question_chars: int
    speech_fallback: bool
    fitted_decline: bool


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """What an engine reads: how it prepares articles, scores, ranks and quotes."""

    ingest: IngestOptions
    bm25: Parameters
    ask: AskOptions
    rank: RankOptions
    passages: PassageOptions


class Engine:
    """Holds the indexed corpus and answers questions about it; safe to share between threads.

    An engine never changes once built: ``with_changes`` makes a new one that
    reuses every unchanged article, so a live corpus can swap engines while
    questions in flight finish on the old one.
    """

    def __init__(
        self,
        table: CorpusTable,
        options: EngineOptions,
        tokenizer: Tokenizer,
        splitter: SentenceSplitter,
        errors: Sequence[LoadError] = (),
        indexes: tuple[SparseBM25, SparseBM25] | None = None,
        *,
        terms: Mapping[str, int] | None = None,
        corpus: IndexedCorpus | None = None,
    ) -> None:
        """An engine over the articles of ``table``.

        ``indexes``: the sentence and paragraph BM25 indexes of exactly this table
        (saved with it), so a load need not build them again; None builds them
        from the table's term numbers (nothing is tokenized again). ``terms``: the
        table's ``{term: vocabulary number}``, when the caller has one (see
        ``IndexedCorpus``).
        """
        self.options = options
        self.tokenizer = tokenizer
        self.splitter = splitter
        self.errors = tuple(errors)
        self.table = table
        self.corpus = corpus or IndexedCorpus(
            table, options.bm25, tokenizer.speech_term, indexes, terms=terms
        )
        self.index, self.paragraphs = self.corpus.index, self.corpus.paragraphs
        self._ranker = Ranker(self.corpus, tokenizer, options.rank)
        self._passages = PassagePicker(self.corpus, tokenizer, options.passages)

    @classmethod
    def from_folder(
        cls,
        folder: Path,
        options: EngineOptions,
        progress: Progress | None = None,
    ) -> Engine:
        """Load, clean, split and index every article under ``folder``."""
        from bot.core.ingest.files import load_folder  # building only: ``ask`` never reads files

        raw, errors = load_folder(folder, max_bytes=options.ingest.max_article_bytes)
        return cls.from_articles(raw, options, errors, progress)

    @classmethod
    def from_articles(
        cls,
        raw: Sequence[RawArticle],
        options: EngineOptions,
        errors: Sequence[LoadError] = (),
        progress: Progress | None = None,
    ) -> Engine:
        """Index already-read articles; Punkt is trained on them first."""
        from bot.core.ingest.prepare import prepare_table, train_splitter, workers_for

        started = time.perf_counter()
        tokenizer = Tokenizer(aliases=load_aliases(options.ingest.aliases_file))
        workers = workers_for(options.ingest.workers)
        splitter = train_splitter((a.text for a in raw), len(raw), workers)
        prepared = prepare_table(raw, splitter, tokenizer, progress, workers)
        return cls._built(prepared, options, tokenizer, splitter, errors, started)

    @classmethod
    def from_files(
        cls,
        folder: Path,
        ids: Sequence[str],
        options: EngineOptions,
        progress: Progress | None = None,
        meanwhile: Callable[[], Sequence[str]] | None = None,
    ) -> Engine:
        """Index the article files ``ids`` of ``folder``: what ``from_articles`` of them makes.

        Punkt is trained on the first readable files (read here); the rest are read by
        the processes that prepare them, so this one never holds every text at once.
        ``meanwhile``: work for this process while Punkt learns in its child (hashing the
        folder's files, one core's worth at a million sentences), returning the ids to
        index after all (``ids`` less any file gone by then).
        """
        from bot.core.ingest.files import read_quietly
        from bot.core.ingest.prepare import prepare_files, start_training, workers_for

        started = time.perf_counter()
        tokenizer = Tokenizer(aliases=load_aliases(options.ingest.aliases_file))
        max_bytes = options.ingest.max_article_bytes
        readable = (read_quietly(folder, key, max_bytes) for key in ids)
        workers = workers_for(options.ingest.workers)
        training = start_training(
            (item.text for item in readable if isinstance(item, RawArticle)), len(ids), workers
        )
        if meanwhile is not None:
            try:
                ids = meanwhile()
            except BaseException:
                training.cancel()
                raise
        splitter = training.result()
        prepared = prepare_files(folder, ids, max_bytes, splitter, tokenizer, progress, workers)
        return cls._built(prepared, options, tokenizer, splitter, prepared.unread, started)

    @classmethod
    def _built(
        cls,
        prepared: Prepared,
        options: EngineOptions,
        tokenizer: Tokenizer,
        splitter: SentenceSplitter,
        errors: Sequence[LoadError],
        started: float,
    ) -> Engine:
        errors = sorted([*errors, *prepared.failed], key=attrgetter("path"))
        engine = cls(prepared.table, options, tokenizer, splitter, errors)
        log.info(
            "corpus indexed",
            extra={
                "articles": engine.table.articles,
                "sentences": engine.table.sentences,
                "skipped": len(errors),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return engine

    def with_changes(
        self,
        upserts: Sequence[RawArticle] = (),
        removed: Iterable[str] = (),
        errors: Sequence[LoadError] | None = None,
        progress: Progress | None = None,
    ) -> Engine:
        """A new engine with articles added, replaced or removed; the others are reused as is.

        Only the upserted articles are cleaned, split and tokenized; the sentence
        splitter and tokenizer stay those of this engine, so unchanged articles keep
        their sentences exactly. The BM25 indexes are built again from the stored
        term numbers (vectorised, about a second at a million sentences), so their
        scores are a fresh build's.
        """
        from bot.core.ingest.prepare import prepare_table, workers_for

        workers = workers_for(self.options.ingest.workers)
        new = prepare_table(upserts, self.splitter, self.tokenizer, progress, workers)
        # An upsert that could not be prepared leaves the index, like a file that cannot be read.
        removed = [*removed, *(e.path for e in new.failed)]
        errors = sorted(
            [*(self.errors if errors is None else errors), *new.failed], key=attrgetter("path")
        )
        return Engine(
            CorpusTable.merge(self.table, new.table, removed), self.options, self.tokenizer,
            self.splitter, errors,
        )  # fmt: skip

    # ----------------------------------------------------------------- listing

    @property
    def article_count(self) -> int:
        """Articles with at least a readable body."""
        return self.table.articles

    @property
    def sentence_count(self) -> int:
        """Quotable sentences, the units of ranking."""
        return self.table.sentences

    def sources(self) -> list[ArticleInfo]:
        """The loaded articles with how many quotable sentences each has."""
        counts = np.diff(self.table.columns["article_sentences"]).tolist()
        return [
            ArticleInfo(source, n) for source, n in zip(self.table.sources, counts, strict=True)
        ]

    def digests(self) -> dict[str, str]:
        """Article id -> content hash of what it was made from (see ``digest_of``)."""
        return dict(zip((s.id for s in self.table.sources), self.table.digests, strict=True))

    def sentence_text(self, doc: int) -> str:
        """Sentence ``doc``, sliced from its article (verbatim by construction)."""
        return self.corpus.sentence_text(doc)

    def context(self, answer: Answer, before: int = 2, after: int = 2) -> tuple[str, ...]:
        """The quotable sentences around an answer in its article, each verbatim, in order.

        The answer may come from an earlier engine (a Context button pressed after the
        folder changed), whose article and sentence numbers have moved since: so its
        article is found again by id, and its quote in that article's text. Empty when
        the article is gone or no longer holds the quote.
        """
        article = self._article_numbers.get(answer.source.id)
        if article is None:
            return ()
        text = self.corpus.text(article)
        start = answer.start
        if text[start : answer.end] != answer.quote:
            start = text.find(answer.quote)
            if start < 0:
                return ()
        offsets = self.table.columns["article_sentences"]
        low, high = int(offsets[article]), int(offsets[article + 1])
        starts = self.corpus.start[low:high]
        # The sentences holding the quote's first and last characters.
        first = int(np.searchsorted(starts, start, side="right")) - 1
        last = int(np.searchsorted(starts, start + len(answer.quote) - 1, side="right")) - 1
        first, last = max(low + first - before, low), min(low + last + after, high - 1)
        return tuple(self.sentence_text(i) for i in range(first, last + 1))

    @cached_property
    def _article_numbers(self) -> dict[str, int]:
        """Article id -> its number in this engine."""
        return {source.id: number for number, source in enumerate(self.table.sources)}

    # --------------------------------------------------------------- answering

    def ask(self, question: str, top_k: int | None = None, offset: int = 0) -> Reply:
        """Answer ``question``: up to ``top_k`` excerpts after the first ``offset``, or a reason."""
        text = self._checked(question)
        wanted = self._wanted(text)
        if not self.table.articles:
            terms = tuple(self.tokenizer(wanted))
            return Reply(text, no_answer_reason=NO_ARTICLES, offset=offset, terms=terms)
        k = top_k or self.options.ask.top_k
        parsed = parse_question(wanted)
        reply, found = self._reply(text, parsed, k, offset)
        naming = (parsed.verb or "").lower() in NAMING_VERBS
        if not found and naming and parsed.topic and self.options.ask.speech_fallback:
            # "What did Luther call these donations?" may ask for words no attribution holds:
            # prose names things itself, so the question's words are then looked for as a
            # fact. "What did Lukashenko say about Wagner?" asks for speech only, and stays
            # unanswered when Lukashenko is never quoted.
            plain, found = self._reply(text, ParsedQuestion(wanted), k, offset)
            if found:
                return plain
        return reply

    def _reply(self, text: str, parsed: ParsedQuestion, k: int, offset: int) -> tuple[Reply, bool]:
        """The reply to ``parsed``, and whether any sentence qualified as an answer.

        ``text`` is the question as asked, which the reply repeats; ``parsed`` is what of
        it is searched for.
        """
        corpus = self.corpus
        need = need_of(parsed, self.tokenizer, corpus)
        reason = uncovered(parsed, need, corpus)
        if reason is not None:
            return Reply(text, no_answer_reason=reason, offset=offset, terms=need.terms), False
        ranking, unknown, model = self._ranking(parsed, need, (offset + k + 1) * MERGE_LOOKAHEAD)
        if ranking.reason is not None:
            reason = ranking.reason
            if unknown is not None:
                reason = f"No article mentions {unknown}."
            return Reply(text, no_answer_reason=reason, offset=offset, terms=need.terms), False
        if model is not None:
            inputs = features(
                parsed, need, ranking.ranked, corpus, unknown is not None, self.tokenizer
            )
            chance = model.probability(inputs)
            if chance < model.threshold:
                reason = (
                    "The articles do not seem to answer this question (best match covers "
                    f"{inputs[0]:.0%} of its key words; answer confidence {chance:.0%})."
                )
                return Reply(text, no_answer_reason=reason, offset=offset, terms=need.terms), False
        # One past the page, to tell whether there are more; only the page is formatted.
        chosen = self._passages.choose(ranking.ranked, need, offset + k + 1)
        page = tuple(answer_of(corpus, item, need) for item in chosen[offset : offset + k])
        if ranking.note:
            page = tuple(replace(a, why=(*a.why, ranking.note)) for a in page)
        if not page:
            return Reply(
                text,
                no_answer_reason="There are no further answers to this question.",
                offset=offset,
                terms=need.terms,
            ), True
        return Reply(text, page, None, offset, len(chosen) > offset + k, need.terms), True

    def _ranking(
        self, parsed: ParsedQuestion, need: Need, limit: int, floor: float | None = None
    ) -> tuple[Ranking, str | None, DeclineModel | None]:
        """The ranked candidates, the first name no article has, and the decline model to apply.

        A name no article has (often misspelt: "Melanchhon") does not decline on its own,
        but the rest of the question must then be covered better. Fact questions are
        ranked at the fitted model's coverage floor and then weighed by it (when
        ``fitted_decline`` is on); whose-words questions keep ``min_coverage``. ``floor``
        replaces both (to fit the model).
        """
        unknown = unknown_name(parsed, self.tokenizer, self.corpus)
        model = None
        if self.options.ask.fitted_decline and not parsed.asks_for_speech:
            model = bundled_model()
        if floor is None:
            floor = self.options.rank.min_coverage if model is None else model.floor
        if unknown is not None:
            floor = max(floor, self.options.rank.unknown_name_coverage)
        return self._ranker.rank(parsed, need, limit, floor), unknown, model

    def decline_inputs(self, question: str, floor: float) -> tuple[float, ...] | None:
        """The decline model's inputs for fact question ``question`` ranked at ``floor``.

        What ``ask`` feeds the model when its floor is ``floor``; None for a whose-words
        question or one declined before the model. For ``tools/fit_decline.py``, which
        fits the model on exactly what the engine will feed it.
        """
        parsed = parse_question(self._wanted(self._checked(question)))
        need = need_of(parsed, self.tokenizer, self.corpus)
        if parsed.asks_for_speech or uncovered(parsed, need, self.corpus) is not None:
            return None
        ranking, unknown, _ = self._ranking(parsed, need, 4 * MERGE_LOOKAHEAD, floor)
        if ranking.reason is not None:
            return None
        return features(
            parsed, need, ranking.ranked, self.corpus, unknown is not None, self.tokenizer
        )

    def _checked(self, question: str) -> str:
        """``question`` with its spaces tidied, refused if empty or over the length limit."""
        text = " ".join(question.split())
        if not text:
            raise QuestionError(ASK_SOMETHING)
        limit = self.options.ask.max_question_chars
        if len(text) > limit:
            raise QuestionError(too_long(len(text), limit))
        return text

    @staticmethod
    def _wanted(text: str) -> str:
        """What ``text`` asks once mentions, links, greetings and wrappers are out.

        The reply still repeats the question as asked; only this part is searched, so
        "Hey, what did China say?" is answered as "what did China say?" is.
        """
        wanted = without_chatter(text)
        if not wanted:
            raise QuestionError(ASK_SOMETHING)
        return wanted
