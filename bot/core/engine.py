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
import re
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.core.answer_type import expected as expected_type
from bot.core.answer_type import offers
from bot.core.bm25 import SparseBM25
from bot.core.corpus import LoadError, RawArticle, load_folder
from bot.core.document import PreparedArticle, assemble, prepare_article
from bot.core.errors import QuestionError
from bot.core.models import Answer, Reply, Sentence, Source
from bot.core.question import ParsedQuestion, parse_question
from bot.core.sentences import SentenceSplitter
from bot.core.tokenize import Tokenizer, load_aliases
from bot.settings import Settings

log = logging.getLogger(__name__)

HONORIFICS = frozenset(["mr", "mrs", "ms", "miss", "dr", "sir", "madam", "lord", "lady"])
_MIN_CONTENT_TERMS = 4
_DUPLICATE_OVERLAP = 0.6
_MERGE_LOOKAHEAD = 5
_GENERIC_VERBS = frozenset("say said says tell told think thought".split())
_RERANK = 300  # candidates re-ranked with per-sentence features, by BM25 order

# Called after each article is processed: (articles done, articles in all, sentences so far).
Progress = Callable[[int, int, int], None]


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


class Engine:
    """Holds the indexed corpus and answers questions about it; safe to share between threads.

    An engine never changes once built: ``with_changes`` makes a new one that
    reuses every unchanged article, so a live corpus can swap engines while
    questions in flight finish on the old one.
    """

    def __init__(
        self,
        prepared: Sequence[PreparedArticle],
        settings: Settings,
        tokenizer: Tokenizer,
        splitter: SentenceSplitter,
        errors: Sequence[LoadError] = (),
        indexes: tuple[SparseBM25, SparseBM25] | None = None,
    ) -> None:
        """An engine over ``prepared``, in that order.

        ``indexes``: the sentence and paragraph BM25 indexes of exactly these articles
        (saved with them), so a load need not build them again; None builds them.
        """
        self.settings = settings
        self.tokenizer = tokenizer
        self.splitter = splitter
        self.errors = tuple(errors)
        self.prepared = tuple(prepared)
        self.passages = assemble(self.prepared)
        docs = [doc for item in self.prepared for doc in item.docs]
        self._own_terms = [terms for item in self.prepared for terms in item.own_terms]
        self._speaker_terms = [terms for item in self.prepared for terms in item.speaker_terms]
        self._speakers = _SpeakerIndex(self._speaker_terms)
        self._docs = docs
        # Without a heading a sentence's index terms are its own: membership is a postings lookup.
        self._headed = np.array(
            [s.heading is not None for s in self.passages.sentences], dtype=bool
        )
        self._quoted = np.array([q for item in self.prepared for q in item.quoted], dtype=float)
        self._reports = np.array([r for item in self.prepared for r in item.reports], dtype=bool)
        self._content = np.array([c for item in self.prepared for c in item.content], dtype=bool)
        bm25 = {"k1": settings.bm25_k1, "b": settings.bm25_b, "epsilon": settings.bm25_epsilon}
        self.index = SparseBM25(docs, **bm25) if indexes is None else indexes[0]
        # A second BM25 over whole paragraphs: a question's words are often spread over
        # the sentences around the one that answers it.
        paragraph_of: dict[tuple[int, int], int] = {}
        self._paragraph = np.zeros(len(docs), dtype=np.int64)
        for i, sentence in enumerate(self.passages.sentences):
            key = (sentence.article, sentence.paragraph)
            self._paragraph[i] = paragraph_of.setdefault(key, len(paragraph_of))
        if indexes is None:
            paragraph_docs: list[list[str]] = [[] for _ in paragraph_of]
            for number, doc in zip(self._paragraph.tolist(), docs, strict=True):
                paragraph_docs[number].extend(doc)
            self.paragraphs = SparseBM25(paragraph_docs, **bm25)
        else:
            self.paragraphs = indexes[1]
            if self.index.size != len(docs) or self.paragraphs.size != len(paragraph_of):
                raise ValueError("saved BM25 indexes do not fit the articles")
        self._early = np.array(
            [
                1.0 - s.position / max(len(item.sentences), 1)
                for item in self.prepared
                for s in item.sentences
            ]
        )

    @classmethod
    def from_folder(
        cls,
        folder: Path,
        settings: Settings,
        progress: Progress | None = None,
    ) -> Engine:
        """Load, clean, split and index every article under ``folder``."""
        raw, errors = load_folder(folder)
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
        prepared = _prepare_all(raw, splitter, tokenizer, progress)
        engine = cls(prepared, settings, tokenizer, splitter, errors)
        log.info(
            "corpus indexed",
            extra={
                "articles": len(engine.passages.articles),
                "sentences": len(engine.passages.sentences),
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
        their sentences exactly.
        """
        gone = set(removed) | {raw.source.id for raw in upserts}
        kept = {item.source_id: item for item in self.prepared if item.source_id not in gone}
        for item in _prepare_all(upserts, self.splitter, self.tokenizer, progress):
            kept[item.source_id] = item
        ordered = [kept[key] for key in sorted(kept)]
        return Engine(
            ordered, self.settings, self.tokenizer, self.splitter,
            self.errors if errors is None else errors,
        )  # fmt: skip

    # ----------------------------------------------------------------- listing

    def sources(self) -> list[ArticleInfo]:
        """The loaded articles with how many quotable sentences each has."""
        counts = [0] * len(self.passages.articles)
        for sentence in self.passages.sentences:
            counts[sentence.article] += 1
        return [
            ArticleInfo(article.source, counts[i])
            for i, article in enumerate(self.passages.articles)
        ]

    def context(self, answer: Answer, before: int = 2, after: int = 2) -> tuple[str, ...]:
        """The quotable sentences around an answer in its article, each verbatim, in order."""
        ids = [i for i, s in enumerate(self.passages.sentences) if s.article == answer.article]
        first = next(k for k, i in enumerate(ids) if i == answer.sentences[0])
        last = next(k for k, i in enumerate(ids) if i == answer.sentences[-1])
        window = ids[max(first - before, 0) : last + after + 1]
        return tuple(self.passages.text(self.passages.sentences[i]) for i in window)

    # --------------------------------------------------------------- answering

    def ask(self, question: str, top_k: int | None = None, offset: int = 0) -> Reply:
        """Answer ``question``: up to ``top_k`` excerpts after the first ``offset``, or a reason."""
        text = self._checked(question)
        k = top_k or self.settings.top_k
        parsed = parse_question(text)
        need = self._need(parsed)
        reason = self._uncovered(parsed, need)
        if reason is not None:
            return Reply(text, no_answer_reason=reason, offset=offset, terms=need.terms)
        ranked, reason = self._rank(parsed, need)
        if reason is not None:
            return Reply(text, no_answer_reason=reason, offset=offset, terms=need.terms)
        answers = self._answers(ranked, need, offset + k + 1)
        page = tuple(answers[offset : offset + k])
        if not page:
            return Reply(
                text,
                no_answer_reason="There are no further answers to this question.",
                offset=offset,
                terms=need.terms,
            )
        return Reply(text, page, None, offset, len(answers) > offset + k, need.terms)

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
        if not parsed.asks_for_speech:
            return _Need(terms, key, frozenset(), key)
        speaker = frozenset(
            t for t in tok(parsed.speaker or "") if not tok.is_speech(t) and t not in HONORIFICS
        )
        topic = frozenset(t for t in tok(parsed.topic or "") if not tok.is_speech(t))
        return _Need(terms, key, speaker, topic)

    def _uncovered(self, parsed: ParsedQuestion, need: _Need) -> str | None:
        """A reason to decline before ranking: nothing to search for, or names never seen."""
        if not need.key:
            if parsed.asks_for_speech:
                return f"The question does not say whose words to look for ({parsed.speaker!r})."
            return "The question has no words to search for; ask about a person, place or event."
        if parsed.asks_for_speech and need.speaker:
            if not any(self.index.contains(t) for t in need.speaker):
                return f"No article mentions {parsed.speaker}."
        elif not any(self.index.contains(t) for t in need.key):
            return f"No article mentions {_phrase(parsed.text)}."
        for name in _names(parsed.text):
            terms = [t for t in self.tokenizer(name) if not self.tokenizer.is_speech(t)]
            if terms and not any(self.index.contains(t) for t in terms):
                return f"No article mentions {name}."
        return None

    def _rank(self, parsed: ParsedQuestion, need: _Need) -> tuple[list[_Ranked], str | None]:
        settings = self.settings
        scores = self.index.scores(need.terms)
        if not scores.size:
            return [], "No articles are loaded."
        speaking = self._speakers.matches(need.speaker) if need.speaker else None
        if parsed.asks_for_speech and speaking is not None and not speaking.any():
            return [], f"No article quotes {parsed.speaker}."
        base = _scaled(scores)
        if not parsed.asks_for_speech:
            # Context helps find a fact; for someone's words it only favours busy paragraphs.
            base = base + settings.paragraph_weight * _scaled(
                self.paragraphs.scores(need.terms)[self._paragraph]
            )
        matched = scores > 0
        if speaking is not None:
            base = base + settings.speaker_weight * 2.0 * speaking
            matched = matched | speaking
        candidates = np.flatnonzero(matched)
        if candidates.size > _RERANK:
            candidates = candidates[_best(base[candidates], _RERANK)]
        kind = expected_type(parsed.text)
        wanted_cue = (
            self.tokenizer.stem(parsed.verb)
            if parsed.verb and parsed.verb not in _GENERIC_VERBS
            else None
        )
        said = speaking[candidates] if speaking is not None else np.zeros(candidates.size, bool)
        # A quote about the question: its own words (not its heading's or paragraph's) meet the
        # key terms, or it quotes the speaker asked about.
        keep = said.copy()
        for term in need.key:
            keep |= self._own_has(term, candidates)
        if speaking is not None:
            # Neither quoting the speaker nor reporting them speaking: not their words.
            reported = self._reports[candidates]
            for term in need.speaker:
                reported &= self._own_has(term, candidates)
            keep &= said | reported
        candidates, said = candidates[keep], said[keep]
        cover = self._coverage(candidates, said, need.topic)
        best_cover = float(cover.max()) if cover.size else 0.0
        good = cover >= settings.min_coverage
        candidates, said, cover = candidates[good], said[good], cover[good]
        value = base[candidates] + settings.position_weight * self._early[candidates]
        if parsed.asks_for_speech:
            value = value + settings.quote_weight * (
                self._quoted[candidates] + self._content[candidates]
            )
            if wanted_cue:
                # "what did China reiterate?": reiterated
                value = value + settings.speaker_weight * np.fromiter(
                    (self._has_cue(doc, wanted_cue) for doc in candidates.tolist()),
                    bool,
                    candidates.size,
                )
        if kind:
            value = value + settings.answer_type_weight * np.fromiter(
                (
                    offers(kind, self.passages.text(self.passages.sentences[doc]), parsed.text)
                    for doc in candidates.tolist()
                ),
                bool,
                candidates.size,
            )
        order = np.lexsort((candidates, -value))
        ranked = [
            _Ranked(doc, v, c)
            for doc, v, c in zip(
                candidates[order].tolist(),
                value[order].tolist(),
                cover[order].tolist(),
                strict=True,
            )
        ]
        if not ranked:
            about = parsed.topic if parsed.asks_for_speech else None
            if about and speaking is not None and speaking.any():
                return [], f"The articles quote {parsed.speaker}, but not about {about}."
            return [], (
                "The articles do not cover this question "
                f"(best match covers {best_cover:.0%} of its key words)."
            )
        return ranked, None

    def _has_cue(self, doc: int, cue: str) -> bool:
        return any(self.tokenizer.stem(a.cue) == cue for a in self.passages.attributions[doc])

    def _coverage(self, docs: np.ndarray, said: np.ndarray, wanted: frozenset[str]) -> np.ndarray:
        """Per sentence, the IDF-weighted share of ``wanted`` found in its window.

        The window is the sentence's own terms and its neighbours' in the paragraph
        (not the heading): "the mutiny ... began on Friday" may be split over two
        sentences, but a section heading or the title alone never makes a sentence
        an answer. A sentence that quotes the speaker asked about adds their names.
        """
        if not wanted:
            return np.ones(docs.size)
        weights = {t: self.index.idf(t) for t in wanted}
        total = sum(weights.values())
        if total <= 0:
            return np.zeros(docs.size)
        last = len(self._paragraph) - 1
        before = np.maximum(docs - 1, 0)
        after = np.minimum(docs + 1, last)
        here = self._paragraph[docs]
        with_before = (docs > 0) & (self._paragraph[before] == here)
        with_after = (docs < last) & (self._paragraph[after] == here)
        covered = np.zeros(docs.size)
        for term, weight in weights.items():
            found = self._own_has(term, docs)
            found |= with_before & self._own_has(term, before)
            found |= with_after & self._own_has(term, after)
            found |= said & self._speakers.has(term, docs)
            covered = covered + np.where(found, weight, 0.0)
        return covered / total

    def _own_has(self, term: str, docs: np.ndarray) -> np.ndarray:
        """Which of ``docs`` have ``term`` among their own words (not their heading's)."""
        found = self.index.matches(term, docs)
        for k in np.flatnonzero(found & self._headed[docs]).tolist():
            found[k] = term in self._own_terms[int(docs[k])]
        return found

    def _same_paragraph(self, doc: int, other: int) -> bool:
        return 0 <= other < len(self._paragraph) and self._paragraph[other] == self._paragraph[doc]

    def _answers(self, ranked: list[_Ranked], need: _Need, wanted: int) -> list[Answer]:
        answers: list[Answer] = []
        terms: list[tuple[frozenset[str], frozenset[str]]] = []  # per answer: content, quoted
        used: set[int] = set()
        # Past the answers wanted, a few more candidates are read only to find the other
        # articles that carry an answer already chosen (one answer, several sources).
        for item in ranked[: wanted * _MERGE_LOOKAHEAD]:
            doc = item.doc
            if doc in used:
                continue
            span = self._span(doc)
            used.update(span)
            answer = self._answer(span, item, need)
            mine = (self._content_of(span, answer), _quoted_terms(self.tokenizer, answer.quote))
            duplicate = _duplicate_of(mine, terms)
            if duplicate is None:
                if len(answers) < wanted:
                    answers.append(answer)
                    terms.append(mine)
            elif answer.source not in answers[duplicate].sources:
                kept = answers[duplicate]
                answers[duplicate] = replace(kept, sources=(*kept.sources, answer.source))
        return answers

    def _content_of(self, span: list[int], answer: Answer) -> frozenset[str]:
        """The quote's content terms: its sentences' own terms when only spaces lie between."""
        sentences, text = self.passages.sentences, self.passages.articles[answer.article].text
        if any(not text[sentences[i].end : sentences[i + 1].start].isspace() for i in span[:-1]):
            return _content_terms(self.tokenizer, answer.quote)
        terms = frozenset().union(*(self._own_terms[i] for i in span))
        return frozenset(t for t in terms if not self.tokenizer.is_speech(t))

    def _span(self, doc: int) -> list[int]:
        """The sentences shown for ``doc``: whole quotations, and the sentence before a stub."""
        sentences = self.passages.sentences
        limit = self.settings.max_quote_sentences
        first = last = doc

        def same_paragraph(i: int) -> bool:
            return self._same_paragraph(doc, i)

        balance = _quote_balance(self.passages.text(sentences[doc]))
        while balance > 0 and same_paragraph(last + 1) and last - first + 1 < limit:
            last += 1
            balance += _quote_balance(self.passages.text(sentences[last]))
        while balance < 0 and same_paragraph(first - 1) and last - first + 1 < limit:
            first -= 1
            balance += _quote_balance(self.passages.text(sentences[first]))
        if (
            self._content_count(doc) < _MIN_CONTENT_TERMS
            and same_paragraph(first - 1)
            and first == doc
        ):
            first -= 1
        return list(range(first, last + 1))

    def _content_count(self, doc: int) -> int:
        """How many of the sentence's own terms (repeats counted) are not the speech term.

        A doc is the sentence's terms (one speech term kept) followed by heading terms
        the sentence lacks, so its own terms are the leading run found in ``own``.
        """
        own, count = self._own_terms[doc], 0
        for term in self._docs[doc]:
            if term not in own:
                break
            count += not self.tokenizer.is_speech(term)
        return count

    def _answer(self, span: list[int], item: _Ranked, need: _Need) -> Answer:
        doc = item.doc
        sentences: list[Sentence] = [self.passages.sentences[i] for i in span]
        article = self.passages.articles[sentences[0].article]
        start, end = sentences[0].start, sentences[-1].end
        terms = frozenset().union(*(self.index.doc_terms(i) for i in span))
        matched = tuple(t for t in dict.fromkeys(need.terms) if t in terms)
        speaker, why = None, []
        for attribution, names in zip(
            self.passages.attributions[doc], self._speaker_terms[doc], strict=True
        ):
            if need.speaker and need.speaker <= names:
                speaker = attribution.speaker
                via = f" (from “{attribution.resolved_from}”)" if attribution.resolved_from else ""
                why.append(f"speaker matches: {attribution.speaker}{via}")
                break
        if speaker is None and self.passages.attributions[doc]:
            speaker = self.passages.attributions[doc][0].speaker
        if matched:
            why.append("matched terms: " + ", ".join(matched))
        if self._quoted[doc] > 0:
            why.append(f"direct quotation ({self._quoted[doc]:.0%} of the sentence)")
        return Answer(
            quote=article.text[start:end],
            sources=(article.source,),
            score=item.value,
            article=sentences[0].article,
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

    def __init__(self, speaker_terms: Sequence[Sequence[frozenset[str]]]) -> None:
        self._vocab: dict[str, int] = {}
        sentence, rows, columns = array("q"), array("q"), array("q")
        lookup = self._vocab.setdefault
        for doc, found in enumerate(speaker_terms):
            for names in found:
                row = len(sentence)
                sentence.append(doc)
                for term in names:
                    rows.append(row)
                    columns.append(lookup(term, len(self._vocab)))
        self._size = len(speaker_terms)
        self._sentence = np.frombuffer(sentence, dtype=np.int64)
        cols = np.frombuffer(columns, dtype=np.int64)
        order = np.argsort(cols, kind="stable")
        self._rows = np.frombuffer(rows, dtype=np.int64)[order]
        self._indptr = np.zeros(len(self._vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=len(self._vocab)), out=self._indptr[1:])

    def matches(self, subject: frozenset[str]) -> np.ndarray:
        """Which sentences have an attribution whose names include every term of ``subject``."""
        out = np.zeros(self._size, dtype=bool)
        columns = [self._vocab.get(term) for term in subject]
        if any(column is None for column in columns):
            return out
        count = np.zeros(self._sentence.size, dtype=np.int64)
        for column in columns:
            count[self._rows[self._indptr[column] : self._indptr[column + 1]]] += 1
        out[self._sentence[count == len(columns)]] = True
        return out

    def has(self, term: str, docs: np.ndarray) -> np.ndarray:
        """Which of ``docs`` have an attribution naming ``term``."""
        column = self._vocab.get(term)
        if column is None:
            return np.zeros(docs.size, dtype=bool)
        rows = self._rows[self._indptr[column] : self._indptr[column + 1]]
        return np.isin(docs, self._sentence[rows])


def _duplicate_of(
    mine: tuple[frozenset[str], frozenset[str]],
    answers: Sequence[tuple[frozenset[str], frozenset[str]]],
) -> int | None:
    """Index of an earlier answer saying the same thing (in another article), if any.

    Each answer is given as its content terms and the terms of its quotations.
    """
    content, quoted = mine
    for i, (theirs, their_quoted) in enumerate(answers):
        union = content | theirs
        if union and len(content & theirs) / len(union) >= _DUPLICATE_OVERLAP:
            return i
        if quoted and quoted == their_quoted:
            return i
    return None


def _prepare_all(
    raw: Sequence[RawArticle],
    splitter: SentenceSplitter,
    tokenizer: Tokenizer,
    progress: Progress | None,
) -> list[PreparedArticle]:
    prepared, sentences = [], 0
    for number, item in enumerate(raw):
        prepared.append(prepare_article(item, splitter, tokenizer))
        sentences += len(prepared[-1].sentences)
        if progress is not None:
            progress(number + 1, len(raw), sentences)
    return prepared


def _best(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest values, largest first, ties in position order.

    The same as ``np.argsort(-values, kind="stable")[:k]``, without sorting them all.
    """
    negated = -values
    if negated.size <= k:
        return np.argsort(negated, kind="stable")
    kth = np.partition(negated, k - 1)[k - 1]
    above = np.flatnonzero(negated < kth)
    tied = np.flatnonzero(negated == kth)[: k - above.size]
    picked = np.union1d(above, tied)
    return picked[np.argsort(negated[picked], kind="stable")]


def _scaled(values: np.ndarray) -> np.ndarray:
    """Scores divided by their maximum (zeros stay zeros), so two scorers can be added."""
    top = float(values.max()) if values.size else 0.0
    return values / top if top > 0 else values


def _content_terms(tok: Tokenizer, text: str) -> frozenset[str]:
    return frozenset(t for t in tok(text) if not tok.is_speech(t))


def _quoted_terms(tok: Tokenizer, text: str) -> frozenset[str]:
    """The terms inside “...” in ``text``: two reports of the same words share them."""
    inside, depth, chars = [], 0, []
    for char in text:
        if char == "“":
            depth += 1
            continue
        if char == "”" and depth:
            depth -= 1
            inside.append("".join(chars))
            chars = []
            continue
        if depth:
            chars.append(char)
    return _content_terms(tok, " ".join(inside))


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
