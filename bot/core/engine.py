"""The one function every door calls: a question in, verbatim attributed excerpts out.

Ranking is BM25 over sentences plus what a news reader expects: when the
question asks for someone's words, sentences where that someone is the
*speaker* come before sentences that merely mention them; direct quotes and
early paragraphs (the news pyramid) break near ties. An answer is given only
when the articles cover the question's key words well enough; otherwise the
reply says plainly why there is none.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from operator import attrgetter
from pathlib import Path

import numpy as np

from bot.core.answer_type import expected as expected_type
from bot.core.answer_type import offers
from bot.core.arrays import distinct, distinct_counts, lookup, member
from bot.core.attribution import quoted_spans
from bot.core.bm25 import Parameters, SparseBM25
from bot.core.corpus import LoadError, RawArticle, load_folder
from bot.core.errors import QuestionError
from bot.core.ingest import Progress, prepare_table, workers_for
from bot.core.models import Answer, Reply, Source
from bot.core.question import ParsedQuestion, parse_question
from bot.core.sentences import SentenceSplitter
from bot.core.table import CorpusTable
from bot.core.tokenize import Tokenizer, load_aliases
from bot.settings import Settings

log = logging.getLogger(__name__)

# An empty corpus is a normal state (a new folder, every file unreadable, the last one removed).
NO_ARTICLES = "No articles are loaded yet: add article files to the corpus folder."

HONORIFICS = frozenset(["mr", "mrs", "ms", "miss", "dr", "sir", "madam", "lord", "lady"])
_MIN_CONTENT_TERMS = 4
_DUPLICATE_OVERLAP = 0.6
_MERGE_LOOKAHEAD = 5
_GENERIC_VERBS = frozenset("say said says tell told think thought".split())
# Verbs that also name things ("what did Luther call these donations?"), not only report speech.
_NAMING_VERBS = frozenset("call calls called name names named term termed dub dubbed".split())
_RERANK = 100  # candidates re-ranked with per-sentence features, by BM25 order
# A sentence opening with one of these needs the one before it to say what it is about.
_LEADING_PRONOUN = re.compile(
    r"^\W*(?:it|its|he|his|she|her|they|their|them|this|these|those|that|such)\b", re.I
)


_Term = int | str  # a vocabulary number, or a word the corpus does not have
_NO_PAIRS = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """A loaded article as ``sources`` lists it."""

    source: Source
    sentences: int


@dataclass(frozen=True, slots=True)
class _Ranked:
    """A candidate sentence, its ranking value and how much of the question it covers."""

    doc: int
    value: float
    coverage: float


@dataclass(frozen=True, slots=True)
class _Need:
    """What a question needs from a sentence, as index terms."""

    terms: tuple[str, ...]
    key: frozenset[str]
    speaker: frozenset[str]
    topic: frozenset[str]
    weighted: tuple[tuple[int, float], ...] = ()  # key terms the corpus has: number, IDF
    # Neighbouring key terms of the question ("Russian ministry"), as vocabulary numbers
    # joined into one code (``first * vocabulary + second``), increasing, and their IDF sums.
    pairs: np.ndarray = field(default_factory=lambda: _NO_PAIRS, compare=False)
    pair_weights: np.ndarray = field(default_factory=lambda: _NO_PAIRS, compare=False)


class Engine:
    """Holds the indexed corpus and answers questions about it; safe to share between threads.

    An engine never changes once built: ``with_changes`` makes a new one that
    reuses every unchanged article, so a live corpus can swap engines while
    questions in flight finish on the old one.
    """

    def __init__(
        self,
        table: CorpusTable,
        settings: Settings,
        tokenizer: Tokenizer,
        splitter: SentenceSplitter,
        errors: Sequence[LoadError] = (),
        indexes: tuple[SparseBM25, SparseBM25] | None = None,
    ) -> None:
        """An engine over the articles of ``table``.

        ``indexes``: the sentence and paragraph BM25 indexes of exactly this table
        (saved with it), so a load need not build them again; None builds them
        from the table's term numbers (nothing is tokenized again).
        """
        self.settings = settings
        self.tokenizer = tokenizer
        self.splitter = splitter
        self.errors = tuple(errors)
        self.table = table
        c = table.columns
        self._start, self._end = c["sent_start"], c["sent_end"]
        per_article = np.diff(c["article_sentences"])
        self._article = np.repeat(np.arange(table.articles, dtype=np.int32), per_article)
        # Paragraphs numbered across the corpus: a new one wherever article or block changes.
        paragraph = c["sent_paragraph"]
        starts = np.ones(table.sentences, dtype=bool)
        starts[1:] = (self._article[1:] != self._article[:-1]) | (paragraph[1:] != paragraph[:-1])
        self._paragraph = np.cumsum(starts) - 1
        # Without a heading a sentence's index terms are its own: membership is a postings lookup.
        self._headed = c["sent_heading"] >= 0
        self._any_headed = bool(self._headed.any())
        self._quoted, self._reports, self._content = (
            c["sent_quoted"],
            c["sent_reports"],
            c["sent_content"],
        )
        self._early = 1.0 - c["sent_position"] / np.maximum(per_article, 1)[self._article]
        self._term = {term: number for number, term in enumerate(table.vocabulary)}
        # The one term every reporting word becomes ("said", "told" -> "say"), or -1.
        self._say = self._term.get(tokenizer.speech_term, -1)
        self._speakers = _SpeakerIndex(table, self._term)
        self._text = lru_cache(maxsize=256)(table.text)
        # Picking answers reads a sentence's own terms a few times over, as Python ints.
        self._own_terms = lru_cache(maxsize=4096)(self._own_terms_of)
        self._content_terms = lru_cache(maxsize=4096)(self._content_terms_of)
        if indexes is None:
            params = Parameters(settings.bm25_k1, settings.bm25_b, settings.bm25_epsilon)
            lengths = np.diff(c["sentence_terms"])
            self.index = SparseBM25.from_ids(c["terms"], lengths, table.vocabulary, params)
            # A second BM25 over whole paragraphs: a question's words are often spread over
            # the sentences around the one that answers it. A paragraph's sentences are
            # neighbours, so its terms are a run of the same flat array.
            first = np.flatnonzero(starts)
            paragraph_lengths = np.add.reduceat(lengths, first) if first.size else lengths
            self.paragraphs = SparseBM25.from_ids(
                c["terms"], paragraph_lengths, table.vocabulary, params
            )
        else:
            self.index, self.paragraphs = indexes
            paragraphs = int(self._paragraph[-1]) + 1 if table.sentences else 0
            if self.index.size != table.sentences or self.paragraphs.size != paragraphs:
                raise ValueError("saved BM25 indexes do not fit the articles")

    @classmethod
    def from_folder(
        cls,
        folder: Path,
        settings: Settings,
        progress: Progress | None = None,
    ) -> Engine:
        """Load, clean, split and index every article under ``folder``."""
        raw, errors = load_folder(folder, max_bytes=settings.max_article_bytes)
        return cls.from_articles(raw, settings, errors, progress)

    @classmethod
    def from_articles(
        cls,
        raw: Sequence[RawArticle],
        settings: Settings,
        errors: Sequence[LoadError] = (),
        progress: Progress | None = None,
    ) -> Engine:
        """Index already-read articles; Punkt is trained on them first."""
        started = time.perf_counter()
        tokenizer = Tokenizer(aliases=load_aliases(settings.aliases_file))
        splitter = SentenceSplitter.train(a.text for a in raw)
        workers = workers_for(settings.ingest_workers)
        prepared = prepare_table(raw, splitter, tokenizer, progress, workers)
        errors = sorted([*errors, *prepared.failed], key=attrgetter("path"))
        engine = cls(prepared.table, settings, tokenizer, splitter, errors)
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
        workers = workers_for(self.settings.ingest_workers)
        new = prepare_table(upserts, self.splitter, self.tokenizer, progress, workers)
        # An upsert that could not be prepared leaves the index, like a file that cannot be read.
        removed = [*removed, *(e.path for e in new.failed)]
        errors = sorted(
            [*(self.errors if errors is None else errors), *new.failed], key=attrgetter("path")
        )
        return Engine(
            CorpusTable.merge(self.table, new.table, removed), self.settings, self.tokenizer,
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
        return self._text(int(self._article[doc]))[int(self._start[doc]) : int(self._end[doc])]

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
        text = self._text(article)
        start = answer.start
        if text[start : answer.end] != answer.quote:
            start = text.find(answer.quote)
            if start < 0:
                return ()
        offsets = self.table.columns["article_sentences"]
        low, high = int(offsets[article]), int(offsets[article + 1])
        starts = self._start[low:high]
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
        if not self.table.articles:
            terms = tuple(self.tokenizer(text))
            return Reply(text, no_answer_reason=NO_ARTICLES, offset=offset, terms=terms)
        k = top_k or self.settings.top_k
        parsed = parse_question(text)
        reply, found = self._reply(text, parsed, k, offset)
        naming = (parsed.verb or "").lower() in _NAMING_VERBS
        if not found and naming and parsed.topic and self.settings.speech_fallback:
            # "What did Luther call these donations?" may ask for words no attribution holds:
            # prose names things itself, so the question's words are then looked for as a
            # fact. "What did Lukashenko say about Wagner?" asks for speech only, and stays
            # unanswered when Lukashenko is never quoted.
            plain, found = self._reply(text, ParsedQuestion(text), k, offset)
            if found:
                return plain
        return reply

    def _reply(self, text: str, parsed: ParsedQuestion, k: int, offset: int) -> tuple[Reply, bool]:
        """The reply to ``parsed``, and whether any sentence qualified as an answer."""
        need = self._need(parsed)
        reason = self._uncovered(parsed, need)
        if reason is not None:
            return Reply(text, no_answer_reason=reason, offset=offset, terms=need.terms), False
        # A name no article has (often misspelt: "Melanchhon") does not decline on its own, but
        # the rest of the question must then be covered better.
        unknown = self._unknown_name(parsed)
        floor = self.settings.min_coverage
        if unknown is not None:
            floor = max(floor, self.settings.unknown_name_coverage)
        ranked, reason = self._rank(parsed, need, (offset + k + 1) * _MERGE_LOOKAHEAD, floor)
        if reason is not None:
            if unknown is not None:
                reason = f"No article mentions {unknown}."
            return Reply(text, no_answer_reason=reason, offset=offset, terms=need.terms), False
        # One past the page, to tell whether there are more; only the page is formatted.
        chosen = self._chosen(ranked, need, offset + k + 1)
        page = tuple(
            self._answer(span, item, need, sources)
            for span, item, sources in chosen[offset : offset + k]
        )
        if not page:
            return Reply(
                text,
                no_answer_reason="There are no further answers to this question.",
                offset=offset,
                terms=need.terms,
            ), True
        return Reply(text, page, None, offset, len(chosen) > offset + k, need.terms), True

    def _checked(self, question: str) -> str:
        text = " ".join(question.split())
        if not text:
            raise QuestionError("Ask a question, for example: what did China say?")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise QuestionError(
                f"That question is {len(text)} characters long; please keep it under {limit}."
            )
        return text

    def _need(self, parsed: ParsedQuestion) -> _Need:
        tok = self.tokenizer
        terms = tuple(tok(parsed.text))
        key = frozenset(t for t in terms if not tok.is_speech(t))
        weighted = tuple((self._term[t], self.index.idf(t)) for t in sorted(key) if t in self._term)
        if not parsed.asks_for_speech:
            return _Need(terms, key, frozenset(), key, weighted, *self._pairs(terms))
        speaker = frozenset(
            t for t in tok(parsed.speaker or "") if not tok.is_speech(t) and t not in HONORIFICS
        )
        topic = frozenset(t for t in tok(parsed.topic or "") if not tok.is_speech(t))
        return _Need(terms, key, speaker, topic, weighted)

    def _pairs(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The question's neighbouring key terms (stopwords apart) and what each pair weighs."""
        key = [t for t in terms if not self.tokenizer.is_speech(t)]
        weights: dict[int, float] = {}
        size = len(self.table.vocabulary)
        for first, second in itertools.pairwise(key):
            a, b = self._term.get(first), self._term.get(second)
            if a is not None and b is not None and a != b:
                weights[a * size + b] = self.index.idf(first) + self.index.idf(second)
        codes = np.array(sorted(weights), dtype=np.int64)
        return codes, np.array([weights[c] for c in codes.tolist()])

    def _uncovered(self, parsed: ParsedQuestion, need: _Need) -> str | None:
        """A reason to decline before ranking: nothing to search for, or none of it in any article."""
        if not need.key:
            if parsed.asks_for_speech:
                return f"The question does not say whose words to look for ({parsed.speaker!r})."
            return "The question has no words to search for; ask about a person, place or event."
        if parsed.asks_for_speech and need.speaker:
            if not any(self.index.contains(t) for t in need.speaker):
                return f"No article mentions {parsed.speaker}."
        elif not any(self.index.contains(t) for t in need.key):
            return f"No article mentions {_phrase(parsed.text)}."
        return None

    def _unknown_name(self, parsed: ParsedQuestion) -> str | None:
        """The first name in the question that no article has a word of, if any."""
        for name in _names(parsed.text):
            terms = [t for t in self.tokenizer(name) if not self.tokenizer.is_speech(t)]
            if terms and not any(self.index.contains(t) for t in terms):
                return name
        return None

    def _rank(
        self, parsed: ParsedQuestion, need: _Need, limit: int, floor: float
    ) -> tuple[list[_Ranked], str | None]:
        """The best ``limit`` candidates, best first, or why there are none.

        Candidates must cover ``floor`` of the question.
        """
        settings = self.settings
        if not self.index.size:
            return [], "No articles are loaded."
        # Every step below costs what the candidates cost, not what the corpus does.
        speaking = None
        if need.speaker:
            speaking = self._speakers.sentences(need.speaker)
            if not speaking.size:
                return [], f"No article quotes {parsed.speaker}."
            # Someone's words are in sentences that quote them or name them in their own
            # words (the check below drops the rest): score those alone, not every
            # sentence with "said" in it.
            candidates = distinct(np.concatenate([speaking, self._naming(need.speaker)]))
            scores = self.index.scores_of(need.terms, candidates)
            said = member(candidates, speaking)
        else:
            # Only sentences with a question term can rank.
            candidates, scores = self.index.matching(need.terms)
            said = np.zeros(candidates.size, dtype=bool)
        top = float(scores.max()) if scores.size else 0.0
        base = scores / top if top > 0 else scores
        if speaking is not None:
            base = base + settings.speaker_weight * 2.0 * said
        if not parsed.asks_for_speech:
            # Context helps find a fact; for someone's words it only favours busy paragraphs.
            # Every paragraph holding a question term holds a candidate, so the best of
            # the candidates' paragraphs is the best paragraph.
            context = self.paragraphs.scores_at(need.terms, self._paragraph[candidates])
            top = float(context.max()) if context.size else 0.0
            if top > 0:
                base = base + settings.paragraph_weight * context / top
        if candidates.size > _RERANK:
            # Kept in id order: the lookups below then walk each postings list forwards.
            best = _best(base, _RERANK)
            candidates, base, said = candidates[best], base[best], said[best]
        kind = expected_type(parsed.text)
        wanted_cue = (
            self.tokenizer.stem(parsed.verb)
            if parsed.verb and parsed.verb not in _GENERIC_VERBS
            else None
        )
        # A quote about the question: its own words (not its heading's or paragraph's) meet the
        # key terms, or it quotes the speaker asked about.
        # Per term (one row each, in a fixed order), which of each candidate itself and the
        # sentences before and after it (the coverage window) have it: one lookup for all three.
        terms = sorted(need.key | need.speaker | need.topic)
        row = {term: i for i, term in enumerate(terms)}
        key_terms, topic_terms = sorted(need.key), sorted(need.topic)
        key = [row[term] for term in key_terms]
        topic = [row[term] for term in topic_terms]
        last = self.index.size - 1
        window = np.concatenate(
            [candidates, np.maximum(candidates - 1, 0), np.minimum(candidates + 1, last)]
        )
        own = self._own_has(terms, window).reshape(len(terms), 3, candidates.size)
        keep = said | own[key, 0].any(axis=0)
        if need.speaker:
            # Neither quoting the speaker nor reporting them speaking: not their words.
            speaker = [row[term] for term in need.speaker]
            keep &= said | (self._reports[candidates] & own[speaker, 0].all(axis=0))
        candidates, said, base = candidates[keep], said[keep], base[keep]
        own = own[:, :, keep]
        cover = self._coverage(candidates, said, topic_terms, own[topic])
        best_cover = float(cover.max()) if cover.size else 0.0
        good = cover >= floor
        if not good.any():
            about = parsed.topic if parsed.asks_for_speech else None
            if about and speaking is not None and speaking.size:
                return [], f"The articles quote {parsed.speaker}, but not about {about}."
            return [], (
                "The articles do not cover this question "
                f"(best match covers {best_cover:.0%} of its key words)."
            )
        candidates, said, cover = candidates[good], said[good], cover[good]
        value = base[good] + settings.position_weight * self._early[candidates]
        if not parsed.asks_for_speech:
            value = value + self._fact_features(
                candidates, cover, need, key_terms, own[key, 0][:, good]
            )
        if parsed.asks_for_speech:
            value = value + settings.quote_weight * (
                self._quoted[candidates] + self._content[candidates]
            )
        # The last two features read sentence text, so only for the candidates they can
        # still lift into the best ``limit``: the others stay out whatever they add.
        cue = wanted_cue if parsed.asks_for_speech else None
        bonus = (settings.speaker_weight if cue else 0.0) + (
            settings.answer_type_weight if kind else 0.0
        )
        if bonus and candidates.size > limit:
            kth = np.partition(value, candidates.size - limit)[candidates.size - limit]
            alive = value >= kth - bonus
            candidates, cover, value = candidates[alive], cover[alive], value[alive]
        if cue:  # "what did China reiterate?": reiterated
            value = value + settings.speaker_weight * np.fromiter(
                (self._has_cue(doc, cue) for doc in candidates.tolist()), bool, candidates.size
            )
        if kind:
            value = value + settings.answer_type_weight * self._offering(
                candidates, value, limit, offers(kind, parsed.text)
            )
        order = np.lexsort((candidates, -value))[:limit]
        ranked = [
            _Ranked(doc, v, c)
            for doc, v, c in zip(
                candidates[order].tolist(),
                value[order].tolist(),
                cover[order].tolist(),
                strict=True,
            )
        ]
        return ranked, None

    def _offering(
        self, docs: np.ndarray, value: np.ndarray, limit: int, offered: Callable[[str], bool]
    ) -> np.ndarray:
        """Which of ``docs`` offer the kind of answer asked for, as far as the best ``limit`` need.

        Read best value first, and only while a sentence could still enter the best
        ``limit`` with the bonus: once ``limit`` are read, one whose value plus the bonus
        is below the ``limit``-th best total so far cannot. The others stay False.
        """
        bonus = self.settings.answer_type_weight
        found = np.zeros(docs.size, dtype=bool)
        totals: list[float] = []  # a min-heap of the best ``limit`` totals read so far
        for i in np.argsort(-value, kind="stable").tolist():
            if len(totals) == limit and value[i] + bonus < totals[0]:
                break
            found[i] = offered(self.sentence_text(int(docs[i])))
            total = float(value[i] + bonus * found[i])
            if len(totals) < limit:
                heapq.heappush(totals, total)
            elif total > totals[0]:
                heapq.heapreplace(totals, total)
        return found

    def _naming(self, terms: frozenset[str]) -> np.ndarray:
        """The sentences whose index terms include all of ``terms`` (increasing ids)."""
        lists = sorted((self.index.postings(term) for term in terms), key=len)
        found = lists[0]
        for other in lists[1:]:
            found = found[member(found, other)]
        return found.astype(np.int64)

    def _fact_features(
        self,
        docs: np.ndarray,
        cover: np.ndarray,
        need: _Need,
        key_terms: list[str],
        own: np.ndarray,
    ) -> np.ndarray:
        """Per candidate, what a fact question adds to BM25 (weights from the settings).

        How much of the question its window covers; how much its own words cover
        when each word is weighted by its rarity *in the sentence's article* (in an
        article about the Yuan dynasty, "Yuan" picks no sentence out, "famine" does);
        how many of the question's word pairs it has side by side, as a phrase
        ("the Russian ministry revealed" over "Russia ... the Chinese ministry").
        ``own``: ``_own_has`` of ``key_terms`` (the question's key terms, sorted) for ``docs``.
        """
        settings = self.settings
        value = settings.coverage_weight * cover
        if settings.local_weight:
            value = value + settings.local_weight * self._local_coverage(docs, key_terms, own)
        if settings.phrase_weight and need.pairs.size:
            value = value + settings.phrase_weight * self._phrases(docs, need)
        return value

    def _phrases(self, docs: np.ndarray, need: _Need) -> np.ndarray:
        """Per sentence, the IDF-weighted share of the question's pairs it has side by side.

        Its own terms are in text order with stopwords gone, so "ministry of defence"
        has the pair of "ministry defence"; a pair counts once per sentence.
        """
        c = self.table.columns
        lengths = c["sent_own_len"][docs].astype(np.int64)
        owner = np.repeat(np.arange(docs.size), lengths)
        # The flat positions of every candidate's own terms, sentence after sentence.
        first = c["sentence_terms"][docs] - (np.cumsum(lengths) - lengths)
        terms = c["terms"][np.arange(owner.size) + np.repeat(first, lengths)].astype(np.int64)
        codes = terms[:-1] * len(self.table.vocabulary) + terms[1:]
        pair = lookup(need.pairs, codes)
        hit = (pair >= 0) & (owner[1:] == owner[:-1])
        found = distinct(owner[1:][hit] * need.pairs.size + pair[hit])
        weights = need.pair_weights[found % need.pairs.size]
        had = np.bincount(found // need.pairs.size, weights, minlength=docs.size)
        return had / need.pair_weights.sum()

    def _local_coverage(self, docs: np.ndarray, wanted: list[str], own: np.ndarray) -> np.ndarray:
        """Per sentence, the share of ``wanted`` in its own words, by IDF within its article.

        ``own``: ``_own_has`` of ``wanted`` for ``docs``. ``wanted`` comes sorted, so the
        sums are made in the same order in every process.
        """
        offsets = self.table.columns["article_sentences"]
        article = self._article[docs]
        first, last = offsets[article], offsets[article + 1]
        size = last - first
        bounds = self.index.as_ids(np.concatenate([last, first]))
        frequency = np.empty((len(wanted), docs.size), dtype=np.int64)
        for i, term in enumerate(wanted):
            # How many sentences of each candidate's article have the term: two binary
            # searches in its postings per article, not a count over the whole corpus.
            found = np.searchsorted(self.index.postings(term), bounds)
            frequency[i] = found[: docs.size] - found[docs.size :]
        weight = np.maximum(np.log((size + 1) / (frequency + 0.5)), 0.0)
        covered, total = np.where(own, weight, 0.0).sum(axis=0), weight.sum(axis=0)
        return np.divide(covered, total, out=np.zeros(docs.size), where=total > 0)

    def _has_cue(self, doc: int, cue: str) -> bool:
        return any(self.tokenizer.stem(a.cue) == cue for a in self.table.attributions(doc))

    def _coverage(
        self,
        docs: np.ndarray,
        said: np.ndarray,
        wanted: list[str],
        own: np.ndarray,
    ) -> np.ndarray:
        """Per sentence, the IDF-weighted share of ``wanted`` found in its window.

        The window is the sentence's own terms and its neighbours' in the paragraph
        (not the heading): "the mutiny ... began on Friday" may be split over two
        sentences, but a section heading or the title alone never makes a sentence
        an answer. A sentence that quotes the speaker asked about adds their names.
        ``own``: per wanted term, ``_own_has`` for ``docs`` and for the sentences before
        and after each (terms x 3 x docs). ``wanted`` comes sorted, so the sums are made
        in the same order in every process.
        """
        if not wanted:
            return np.ones(docs.size)
        weights = [self.index.idf(term) for term in wanted]
        total = sum(weights)
        if total <= 0:
            return np.zeros(docs.size)
        last = len(self._paragraph) - 1
        before = np.maximum(docs - 1, 0)
        after = np.minimum(docs + 1, last)
        here = self._paragraph[docs]
        with_before = (docs > 0) & (self._paragraph[before] == here)
        with_after = (docs < last) & (self._paragraph[after] == here)
        found = own[:, 0] | (with_before & own[:, 1]) | (with_after & own[:, 2])
        if said.any():
            for i, term in enumerate(wanted):
                found[i] |= said & self._speakers.has(term, docs)
        covered = np.where(found, np.array(weights)[:, None], 0.0).sum(axis=0)
        return covered / total

    def _own_has(self, terms: list[str], docs: np.ndarray) -> np.ndarray:
        """Per term, which of ``docs`` have it among their own words (not their heading's)."""
        found = np.empty((len(terms), docs.size), dtype=bool)
        for i, term in enumerate(terms):
            found[i] = self.index.matches(term, docs)
        if self._any_headed:
            rows, columns = np.nonzero(found & self._headed[docs])
            for i, k in zip(rows.tolist(), columns.tolist(), strict=True):
                number = self._term.get(terms[i], -1)
                found[i, k] = number in self.table.terms_of(int(docs[k]), own=True)
        return found

    def _same_paragraph(self, doc: int, other: int) -> bool:
        return 0 <= other < len(self._paragraph) and self._paragraph[other] == self._paragraph[doc]

    def _chosen(
        self, ranked: list[_Ranked], need: _Need, wanted: int
    ) -> list[tuple[list[int], _Ranked, tuple[Source, ...]]]:
        """Up to ``wanted`` distinct answers, best first: sentences quoted, candidate, sources."""
        chosen: list[tuple[list[int], _Ranked, dict[str, Source]]] = []  # sources by id
        signatures: list[tuple[frozenset[_Term], frozenset[_Term]]] = []
        used: set[int] = set()
        # A sentence's text -> the answer that quotes it or took it as a source, None for
        # none: a wire copy of it goes the same way, and is never quoted a second time.
        seen: dict[str, int | None] = {}
        # Past the answers wanted, a few more candidates are read only to find the other
        # articles that carry an answer already chosen (one answer, several sources).
        for item in ranked[: wanted * _MERGE_LOOKAHEAD]:
            doc = item.doc
            if doc in used:
                continue
            source = self.table.sources[int(self._article[doc])]
            if len(chosen) >= wanted and all(source.id in found for _, _, found in chosen):
                continue  # reading on only for sources: none from an article every answer has
            text = self.sentence_text(doc)
            if text in seen:
                used.add(doc)
                if (place := seen[text]) is not None:
                    chosen[place][2].setdefault(source.id, source)
                continue
            span = _unused_run(self._span(doc, text), doc, used)  # no sentence quoted twice
            if self.settings.extend_quotes and not need.speaker:
                span = self._completed(span, need, used)
            used.update(span)
            mine = self._signature(span)
            place = _duplicate_of(mine, signatures)
            if place is None and len(chosen) < wanted:
                place = len(chosen)
                chosen.append((span, item, {}))
                signatures.append(mine)
                for other in span:
                    seen.setdefault(self.sentence_text(other), place)
            if place is not None:
                chosen[place][2].setdefault(source.id, source)
            seen[text] = place
        return [(span, item, tuple(found.values())) for span, item, found in chosen]

    def _own_terms_of(self, doc: int) -> tuple[int, ...]:
        return tuple(self.table.terms_of(doc, own=True).tolist())

    def _content_terms_of(self, doc: int) -> frozenset[int]:
        """The sentence's own terms but the speech term: what it says, not that it is said."""
        return frozenset(self._own_terms(doc)).difference((self._say,))

    def _signature(self, span: list[int]) -> tuple[frozenset[_Term], frozenset[_Term]]:
        """What makes two quotes the same statement: their content terms and quoted terms.

        Terms are vocabulary numbers (words the corpus lacks stay words): the
        sentences' own terms when only spaces lie between them, else the quote's.
        """
        article = int(self._article[span[0]])
        text = self._text(article)
        starts, ends = self._start, self._end
        quote = text[int(starts[span[0]]) : int(ends[span[-1]])]
        quoted = self._numbered(_quoted_terms(self.tokenizer, quote))
        if any(not text[ends[i] : starts[i + 1]].isspace() for i in span[:-1]):
            return self._numbered(_content_terms(self.tokenizer, quote)), quoted
        return frozenset[_Term]().union(*map(self._content_terms, span)), quoted

    def _numbered(self, terms: frozenset[str]) -> frozenset[_Term]:
        return frozenset(self._term.get(term, term) for term in terms)

    def _span(self, doc: int, text: str) -> list[int]:
        """The sentences shown for ``doc`` (``text``): whole quotations, and the sentence before a stub."""
        limit = self.settings.max_quote_sentences
        first = last = doc

        def same_paragraph(i: int) -> bool:
            return self._same_paragraph(doc, i)

        balance = _quote_balance(text)
        while balance > 0 and same_paragraph(last + 1) and last - first + 1 < limit:
            last += 1
            balance += _quote_balance(self.sentence_text(last))
        while balance < 0 and same_paragraph(first - 1) and last - first + 1 < limit:
            first -= 1
            balance += _quote_balance(self.sentence_text(first))
        if (
            self._content_count(doc) < _MIN_CONTENT_TERMS
            and same_paragraph(first - 1)
            and first == doc
        ):
            first -= 1
        return list(range(first, last + 1))

    def _completed(self, span: list[int], need: _Need, used: set[int]) -> list[int]:
        """A fact's quote as a short passage of its paragraph.

        It takes in, first, the neighbour holding the most (IDF-weighted) question words
        the quote lacks (the coverage window counted them: "Kawann Short led the team in
        sacks" after "The Panthers ..."); then a neighbour that opens with a pronoun: the
        sentence before one that does names who "he" is, and the sentence after that does
        goes on about the same subject ("He died in 1259" after the sentence on Möngke Khan);
        last the sentence after, then the one before, while the passage stays within
        ``passage_chars``. A fact's answer is often beside the sentence that repeats the
        question's words: on SQuAD this takes hit@3 from 85.5% to 87.5% for quotes of 331
        characters instead of 236. Never a sentence in ``used`` (an earlier answer quotes
        it already), at most ``max_quote_sentences``.
        """
        limit = self.settings.max_quote_sentences
        first, last = span[0], span[-1]

        def free(other: int) -> bool:
            return other not in used and self._same_paragraph(first, other)

        own = set[int]().union(*map(self._own_terms, span))
        missing = [(n, weight) for n, weight in need.weighted if n not in own]
        best, best_weight = None, 0.0
        for other in (first - 1, last + 1):
            if missing and free(other):
                theirs = self._own_terms(other)
                weight = sum(w for n, w in missing if n in theirs)
                if weight > best_weight:
                    best, best_weight = other, weight
        extra = [] if best is None else [best]
        if (
            best != first - 1
            and free(first - 1)
            and _LEADING_PRONOUN.match(self.sentence_text(first))
        ):
            extra.append(first - 1)
        if (
            best != last + 1
            and free(last + 1)
            and _LEADING_PRONOUN.match(self.sentence_text(last + 1))
        ):
            extra.append(last + 1)
        for other in extra:
            if len(span) < limit:
                span = sorted([*span, other])
        budget = self.settings.passage_chars
        for other in (span[-1] + 1, span[0] - 1):
            start, end = min(other, span[0]), max(other, span[-1])
            if (
                len(span) < limit
                and free(other)
                and int(self._end[end]) - int(self._start[start]) <= budget
            ):
                span = sorted([*span, other])
        return span

    def _content_count(self, doc: int) -> int:
        """How many of the sentence's own terms (repeats counted) are not the speech term."""
        terms = self._own_terms(doc)
        return len(terms) - terms.count(self._say)

    def _answer(
        self, span: list[int], item: _Ranked, need: _Need, sources: tuple[Source, ...]
    ) -> Answer:
        doc = item.doc
        article = int(self._article[doc])
        start, end = int(self._start[span[0]]), int(self._end[span[-1]])
        present = set(np.concatenate([self.table.terms_of(i) for i in span]).tolist())
        matched = tuple(t for t in dict.fromkeys(need.terms) if self._term.get(t, -1) in present)
        wanted = {self._term.get(t, -1) for t in need.speaker}
        attributions = self.table.attributions(doc)
        first = int(self.table.columns["sentence_attrs"][doc])
        speaker, why = None, []
        for number, attribution in enumerate(attributions, start=first):
            if need.speaker and wanted <= set(self.table.name_terms(number).tolist()):
                speaker = attribution.speaker
                via = f" (from “{attribution.resolved_from}”)" if attribution.resolved_from else ""
                why.append(f"speaker matches: {attribution.speaker}{via}")
                break
        if speaker is None and attributions:
            speaker = attributions[0].speaker
        if matched:
            why.append("matched terms: " + ", ".join(matched))
        if self._quoted[doc] > 0:
            why.append(f"direct quotation ({self._quoted[doc]:.0%} of the sentence)")
        return Answer(
            quote=self._text(article)[start:end],
            sources=sources,
            score=item.value,
            article=article,
            start=start,
            end=end,
            sentences=tuple(span),
            matched_terms=matched,
            speaker=speaker,
            why=tuple(why),
            coverage=item.coverage,
        )


class _SpeakerIndex:
    """Attributions x name terms, to find every sentence quoting a subject in one pass."""

    def __init__(self, table: CorpusTable, term: dict[str, int]) -> None:
        c = table.columns
        self._term = term
        attributions = c["attr_speaker"].size
        self._sentence = np.repeat(
            np.arange(table.sentences, dtype=np.int64), np.diff(c["sentence_attrs"])
        )
        rows = np.repeat(np.arange(attributions, dtype=np.int64), np.diff(c["attr_names"]))
        order = np.argsort(c["names"], kind="stable")
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


def _unused_run(span: list[int], doc: int, used: set[int]) -> list[int]:
    """The sentences of ``span`` around ``doc`` that no earlier answer quotes: none twice."""
    if not used.intersection(span):
        return span
    first = last = span.index(doc)
    while first > 0 and span[first - 1] not in used:
        first -= 1
    while last < len(span) - 1 and span[last + 1] not in used:
        last += 1
    return span[first : last + 1]


def _duplicate_of(
    mine: tuple[frozenset[_Term], frozenset[_Term]],
    answers: Sequence[tuple[frozenset[_Term], frozenset[_Term]]],
) -> int | None:
    """Index of an earlier answer saying the same thing (in another article), if any.

    Each answer is given as its content terms and the terms of its quotations.
    """
    content, quoted = mine
    size = len(content)
    for i, (theirs, their_quoted) in enumerate(answers):
        if quoted and quoted == their_quoted:
            return i
        # The overlap is at most the smaller set over the larger: most pairs stop at that.
        smaller, larger = sorted((size, len(theirs)))
        if not larger or smaller / larger < _DUPLICATE_OVERLAP:
            continue
        shared = len(content & theirs)
        if shared / (size + len(theirs) - shared) >= _DUPLICATE_OVERLAP:
            return i
    return None


def _best(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest values, in increasing order; ties go to the lower position.

    The same positions as ``np.argsort(-values, kind="stable")[:k]``, without sorting them all.
    """
    if values.size <= k:
        return np.arange(values.size)
    kth = np.partition(values, values.size - k)[values.size - k]
    above = values > kth
    tied = np.flatnonzero(values == kth)[: k - int(np.count_nonzero(above))]
    above[tied] = True
    return np.flatnonzero(above)


def _content_terms(tok: Tokenizer, text: str) -> frozenset[str]:
    return frozenset(t for t in tok(text) if not tok.is_speech(t))


def _quoted_terms(tok: Tokenizer, text: str) -> frozenset[str]:
    """The terms inside “...” in ``text``: two reports of the same words share them."""
    return _content_terms(tok, " ".join(text[start:end] for start, end in quoted_spans(text)))


def _quote_balance(text: str) -> int:
    """Opening minus closing double quotation marks (ASCII quotes count by position)."""
    balance = text.count("“") - text.count("”")
    plain = text.count('"')
    if plain % 2:
        balance += 1 if text.lstrip().startswith('"') else -1
    return balance


_NAME = re.compile(r"(?<=\s)(?:[A-Z][\w’'.-]*)(?:\s+[A-Z][\w’'.-]*)*")


def _names(question: str) -> list[str]:
    """Capitalised words past the first: the names a question is about ("Angela Merkel")."""
    found = (re.sub(r"(?:’s|'s|[’'?!,])+$", "", m.group()) for m in _NAME.finditer(question))
    return [name for name in found if name not in {"I", ""}]


def _phrase(question: str) -> str:
    """The question without its question mark, for a readable reason."""
    return f"“{question.rstrip('?!. ')}”"
