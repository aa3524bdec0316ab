"""Ranking candidate sentences: BM25 plus what a news reader expects.

When the question asks for someone's words, sentences where that someone is the
*speaker* come before sentences that merely mention them; direct quotes and early
paragraphs (the news pyramid) break near ties. Fact questions add how much of the
question a sentence's window covers, word rarity within its own article, and the
question's word pairs side by side. Every step costs what the candidates cost, not
what the corpus does.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from bot.core.answer.acting import SpeakerMatcher, speaker_head
from bot.core.answer.answer_type import IDENTITY, offers
from bot.core.answer.answer_type import expected as expected_type
from bot.core.answer.indexed import IndexedCorpus
from bot.core.answer.need import Need
from bot.core.answer.question import ParsedQuestion
from bot.core.index.arrays import distinct, lookup, member, ranges
from bot.core.index.tokenize import Tokenizer
from bot.core.lexicon import GENERIC_SPEECH_VERBS

RERANK = 100  # candidates re-ranked with per-sentence features, by BM25 order
# "Who is X?": a sentence that describes X (title, apposition) comes before any that only
# names X, as a quote of a speaker comes before a mention: more than every other feature
# together can add (BM25 and paragraph scores are normalised to at most 1 and 2).
IDENTITY_PRECEDENCE = 10.0


@dataclass(frozen=True, slots=True)
class RankOptions:
    """The ranking weights and coverage floors (set in ``Settings``, where each is explained)."""

    min_coverage: float
    unknown_name_coverage: float
    speaker_weight: float
    quote_weight: float
    position_weight: float
    paragraph_weight: float
    answer_type_weight: float
    coverage_weight: float
    local_weight: float
    phrase_weight: float
    related_weight: float
    topic_weight: float


@dataclass(frozen=True, slots=True)
class Ranked:
    """A candidate sentence, its ranking value and how much of the question it covers."""

    doc: int
    value: float
    coverage: float


@dataclass(frozen=True, slots=True)
class Ranking:
    """The best candidates, best first, or why there are none."""

    ranked: tuple[Ranked, ...] = ()
    reason: str | None = None
    note: str | None = None  # what every answer's ``why`` adds ("no direct quotation ...")


@dataclass(frozen=True, slots=True)
class _Pool:
    """Candidates so far: sentence ids, their base value, whether each quotes the speaker."""

    docs: np.ndarray
    base: np.ndarray
    said: np.ndarray
    speaking: np.ndarray | None  # every sentence quoting the speaker asked about
    note: str | None = None
    # The best sentence BM25 of the question's terms, what the sentence BM25 in ``base`` was
    # scaled by (not the best paragraph's, which scales the paragraph part): the relatives'
    # BM25 is scaled by it too (``Ranker._with_relatives``).
    top: float = 0.0

    def take(self, keep: np.ndarray) -> _Pool:
        return replace(self, docs=self.docs[keep], base=self.base[keep], said=self.said[keep])


class Ranker:
    """Ranks one corpus's sentences for parsed questions."""

    def __init__(self, corpus: IndexedCorpus, tokenizer: Tokenizer, options: RankOptions) -> None:
        self.corpus = corpus
        self.tokenizer = tokenizer
        self.options = options
        self._matcher = SpeakerMatcher(corpus, tokenizer)

    def rank(self, parsed: ParsedQuestion, need: Need, limit: int, floor: float) -> Ranking:
        """The best ``limit`` candidates that cover ``floor`` of the question, best first."""
        if not self.corpus.index.size:
            return Ranking(reason="No articles are loaded.")
        pool = self._candidates(parsed, need)
        if isinstance(pool, str):
            return Ranking(reason=pool)
        if need.related:
            need = replace(need, related=self._near(need.related, pool.docs))
            if need.related and self.options.related_weight and pool.top > 0:
                pool = self._with_relatives(pool, need)
        terms = sorted(need.key | need.speaker | need.topic | {r for r, _ in need.related})
        pool, own = self._about(pool, need, terms)
        row = {term: i for i, term in enumerate(terms)}
        key_terms, topic_terms = sorted(need.key), sorted(need.topic)
        topic_own = own[[row[t] for t in topic_terms]]
        cover = self._coverage(pool.docs, pool.said, topic_terms, topic_own)
        if need.related and self.options.related_weight:
            loose = topic_own.copy()
            for relative, term in need.related:
                if term in need.topic:
                    loose[topic_terms.index(term)] |= own[row[relative]]
            widened = self._coverage(pool.docs, pool.said, topic_terms, loose)
            cover = cover + self.options.related_weight * (widened - cover)
        good = cover >= floor
        if not good.any():
            return Ranking(reason=self._uncovered(parsed, pool, cover))
        pool, cover = pool.take(good), cover[good]
        value = pool.base + self.options.position_weight * self.corpus.early[pool.docs]
        if parsed.asks_for_speech:
            quoted = self.corpus.quoted[pool.docs] + self.corpus.content[pool.docs]
            value = value + self.options.quote_weight * quoted
            if need.topic and self.options.topic_weight:
                value = value + self.options.topic_weight * self._own_coverage(
                    pool.docs, topic_terms, topic_own[:, :, good]
                )
        else:
            own_key = own[[row[t] for t in key_terms], 0][:, good]
            value = value + self._fact_features(pool.docs, cover, need, key_terms, own_key)
        docs, cover, value = self._read_text_features(parsed, pool.docs, cover, value, limit)
        order = np.lexsort((docs, -value))[:limit]
        return Ranking(
            tuple(
                Ranked(doc, v, c)
                for doc, v, c in zip(
                    docs[order].tolist(), value[order].tolist(), cover[order].tolist(), strict=True
                )
            ),
            note=pool.note,
        )

    def _candidates(self, parsed: ParsedQuestion, need: Need) -> _Pool | str:
        """The sentences worth a closer look with their BM25 base values, or why none are."""
        corpus, weights = self.corpus, self.options
        speaking, note = None, None
        if parsed.asks_for_speech:
            found = self._speaking(parsed, need)
            if isinstance(found, str):
                return found
            speaking, naming, note = found
            # Someone's words are in sentences that quote them or name them in their own
            # words (``_about`` drops the rest): score those alone, not every sentence with
            # "said" in it.
            docs = distinct(np.concatenate([speaking, naming]))
            scores = corpus.index.scores_of(need.terms, docs)
            said = member(docs, speaking)
        else:
            # Only sentences with a question term can rank; relatives weigh them below.
            docs, scores = corpus.index.matching(need.terms)
            said = np.zeros(docs.size, dtype=bool)
        top = float(scores.max()) if scores.size else 0.0
        base = scores / top if top > 0 else scores
        if speaking is not None:
            base = base + weights.speaker_weight * 2.0 * said
        if not parsed.asks_for_speech:
            # Context helps find a fact; for someone's words it only favours busy paragraphs.
            # Every paragraph holding a question term holds a candidate, so the best of
            # the candidates' paragraphs is the best paragraph.
            context = corpus.paragraphs.scores_at(need.terms, corpus.paragraph[docs])
            best = float(context.max()) if context.size else 0.0
            if best > 0:
                base = base + weights.paragraph_weight * context / best
        pool = _Pool(docs, base, said, speaking, note, top)
        if docs.size > RERANK:
            # Kept in id order: the lookups below then walk each postings list forwards.
            pool = pool.take(best_positions(base, RERANK))
        return pool

    def _near(
        self, related: tuple[tuple[str, str], ...], docs: np.ndarray
    ) -> tuple[tuple[str, str], ...]:
        """The ``related`` pairs whose relative some candidate or a neighbour of one has.

        A question has dozens of relatives (a first-sense hypernym's narrower words) and
        most are in no candidate: read the candidates' terms once rather than every
        relative's postings for every candidate, here and in ``_about``.
        """
        last = self.corpus.index.size - 1
        window = distinct(
            np.concatenate([docs, np.maximum(docs - 1, 0), np.minimum(docs + 1, last)])
        )
        c = self.corpus.table.columns
        present = distinct(c["terms"][ranges(c["sentence_terms"], window)].astype(np.int64))
        number = self.corpus.term
        wanted = np.array([number.get(r, -1) for r, _ in related], dtype=np.int64)
        return tuple(
            pair for pair, hit in zip(related, member(wanted, present), strict=True) if hit
        )

    def _with_relatives(self, pool: _Pool, need: Need) -> _Pool:
        """The candidates with their relatives' BM25 added, at ``related_weight`` of a word's own.

        A relative re-weighs the sentences the question's own words found and never brings
        in one of its own: a synonym or a first-sense hypernym ("award" for "give") is weaker
        evidence than a word of the question, and a question has dozens of them, common
        words among them, whose postings at a million sentences cost several times the
        question's own (a binary search per candidate instead). Scaled by the best BM25 of
        the question's own terms, as the words it stands for are.
        """
        extra = self.corpus.index.scores_of([r for r, _ in need.related], pool.docs)
        return replace(pool, base=pool.base + self.options.related_weight * extra / pool.top)

    def _speaking(
        self, parsed: ParsedQuestion, need: Need
    ) -> tuple[np.ndarray, np.ndarray, str | None] | str:
        """The sentences giving the speaker's words, those naming them, and a note; or a reason.

        By name first (the speaker index); a role that names no one ("the spokesperson")
        by the head noun of the speakers found; a name never quoted by the sentences in
        which it acts ("dismissed", "called ..."), said so in the note.
        """
        none = np.zeros(0, dtype=np.int64)
        words = (parsed.speaker or "").split()
        head = speaker_head(parsed.speaker)
        role = bool(words) and words[-1][:1].islower()  # "officials", not "the Kremlin"
        by_head = self._matcher.by_head(head) if role or not need.speaker else none
        if need.speaker:
            speaking = self.corpus.speakers.sentences(need.speaker)
            if speaking.size and by_head.size:
                # "the senator": speakers that are senators before "Senate Majority Leader X"
                own = speaking[member(speaking, by_head)]
                speaking = own if own.size else speaking
            elif speaking.size and len(words) == 1:
                speaking = self._matcher.not_first_names(speaking, words[0])
            if speaking.size:
                return speaking, self._naming(need.speaker), None
        if by_head.size:
            return by_head, none, None
        if not need.speaker:
            return f"No speaker in the articles has the role “{head or parsed.speaker}”."
        naming = self._naming(need.speaker)
        acting = self._matcher.acting(naming, parsed.speaker or "")
        if not acting.size:
            return f"No article quotes {parsed.speaker}."
        note = f"no direct quotation of {parsed.speaker} was found: this reports what they did"
        return acting, naming, note

    def _about(self, pool: _Pool, need: Need, terms: list[str]) -> tuple[_Pool, np.ndarray]:
        """The candidates that are about the question, and which of ``terms`` their windows have.

        A quote about the question: its own words (not its heading's or paragraph's) meet
        the key terms, or it quotes the speaker asked about. Per term (one row each, in
        the order of ``terms``), which of each candidate itself and the sentences before
        and after it (the coverage window) have it: one lookup for all three.
        """
        docs = pool.docs
        row = {term: i for i, term in enumerate(terms)}
        last = self.corpus.index.size - 1
        window = np.concatenate([docs, np.maximum(docs - 1, 0), np.minimum(docs + 1, last)])
        own = self.corpus.own_has(terms, window).reshape(len(terms), 3, docs.size)
        about = sorted(need.key | {r for r, _ in need.related})
        keep = pool.said | own[[row[t] for t in about], 0].any(axis=0)
        if need.speaker:
            # Neither quoting the speaker nor reporting them speaking: not their words.
            speaker = [row[term] for term in need.speaker]
            keep &= pool.said | (self.corpus.reports[docs] & own[speaker, 0].all(axis=0))
        return pool.take(keep), own[:, :, keep]

    def _uncovered(self, parsed: ParsedQuestion, pool: _Pool, cover: np.ndarray) -> str:
        """Why no candidate covers enough of the question."""
        about = parsed.topic if parsed.asks_for_speech else None
        if about and pool.speaking is not None and pool.speaking.size:
            return f"The articles quote {parsed.speaker}, but not about {about}."
        best_cover = float(cover.max()) if cover.size else 0.0
        return (
            "The articles do not cover this question "
            f"(best match covers {best_cover:.0%} of its key words)."
        )

    def _read_text_features(
        self,
        parsed: ParsedQuestion,
        docs: np.ndarray,
        cover: np.ndarray,
        value: np.ndarray,
        limit: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Add the features that read sentence text: the verb asked about, the answer type.

        Only for the candidates they can still lift into the best ``limit``: the others
        stay out whatever they add, so they are dropped first.
        """
        weights = self.options
        kind = expected_type(parsed.text)
        cue = None
        if parsed.asks_for_speech and parsed.verb and parsed.verb not in GENERIC_SPEECH_VERBS:
            cue = self.tokenizer.stem(parsed.verb)  # "what did China reiterate?": reiterated
        kind_weight = 0.0
        if kind:
            kind_weight = IDENTITY_PRECEDENCE if kind == IDENTITY else weights.answer_type_weight
        bonus = (weights.speaker_weight if cue else 0.0) + kind_weight
        if bonus and docs.size > limit:
            kth = np.partition(value, docs.size - limit)[docs.size - limit]
            alive = value >= kth - bonus
            docs, cover, value = docs[alive], cover[alive], value[alive]
        if cue:
            value = value + weights.speaker_weight * np.fromiter(
                (self._has_cue(doc, cue) for doc in docs.tolist()), bool, docs.size
            )
        if kind:
            value = value + kind_weight * self._offering(
                docs, value, limit, offers(kind, parsed.text), kind_weight
            )
        return docs, cover, value

    def _offering(
        self,
        docs: np.ndarray,
        value: np.ndarray,
        limit: int,
        offered: Callable[[str], bool],
        bonus: float,
    ) -> np.ndarray:
        """Which of ``docs`` offer the kind of answer asked for, as far as the best ``limit`` need.

        Read best value first, and only while a sentence could still enter the best
        ``limit`` with the bonus: once ``limit`` are read, one whose value plus the bonus
        is below the ``limit``-th best total so far cannot. The others stay False.
        """
        found = np.zeros(docs.size, dtype=bool)
        totals: list[float] = []  # a min-heap of the best ``limit`` totals read so far
        for i in np.argsort(-value, kind="stable").tolist():
            if len(totals) == limit and value[i] + bonus < totals[0]:
                break
            found[i] = offered(self.corpus.sentence_text(int(docs[i])))
            total = float(value[i] + bonus * found[i])
            if len(totals) < limit:
                heapq.heappush(totals, total)
            elif total > totals[0]:
                heapq.heapreplace(totals, total)
        return found

    def _naming(self, terms: frozenset[str]) -> np.ndarray:
        """The sentences whose index terms include all of ``terms`` (increasing ids)."""
        lists = sorted((self.corpus.index.postings(term) for term in terms), key=len)
        found = lists[0]
        for other in lists[1:]:
            found = found[member(found, other)]
        return found.astype(np.int64)

    def _fact_features(
        self,
        docs: np.ndarray,
        cover: np.ndarray,
        need: Need,
        key_terms: list[str],
        own: np.ndarray,
    ) -> np.ndarray:
        """Per candidate, what a fact question adds to BM25 (weights from the options).

        How much of the question its window covers; how much its own words cover
        when each word is weighted by its rarity *in the sentence's article* (in an
        article about the Yuan dynasty, "Yuan" picks no sentence out, "famine" does);
        how many of the question's word pairs it has side by side, as a phrase
        ("the Russian ministry revealed" over "Russia ... the Chinese ministry").
        ``own``: ``own_has`` of ``key_terms`` (the question's key terms, sorted) for ``docs``.
        """
        weights = self.options
        value = weights.coverage_weight * cover
        if weights.local_weight:
            value = value + weights.local_weight * self._local_coverage(docs, key_terms, own)
        if weights.phrase_weight and need.pairs.size:
            value = value + weights.phrase_weight * self._phrases(docs, need)
        return value

    def _phrases(self, docs: np.ndarray, need: Need) -> np.ndarray:
        """Per sentence, the IDF-weighted share of the question's pairs it has side by side.

        Its own terms are in text order with stopwords gone, so "ministry of defence"
        has the pair of "ministry defence"; a pair counts once per sentence.
        """
        table = self.corpus.table
        c = table.columns
        lengths = c["sent_own_len"][docs].astype(np.int64)
        owner = np.repeat(np.arange(docs.size), lengths)
        # The flat positions of every candidate's own terms, sentence after sentence.
        first = c["sentence_terms"][docs] - (np.cumsum(lengths) - lengths)
        terms = c["terms"][np.arange(owner.size) + np.repeat(first, lengths)].astype(np.int64)
        codes = terms[:-1] * len(table.vocabulary) + terms[1:]
        pair = lookup(need.pairs, codes)
        hit = (pair >= 0) & (owner[1:] == owner[:-1])
        found = distinct(owner[1:][hit] * need.pairs.size + pair[hit])
        weights = need.pair_weights[found % need.pairs.size]
        had = np.bincount(found // need.pairs.size, weights, minlength=docs.size)
        return had / need.pair_weights.sum()

    def _local_coverage(self, docs: np.ndarray, wanted: list[str], own: np.ndarray) -> np.ndarray:
        """Per sentence, the share of ``wanted`` in its own words, by IDF within its article.

        ``own``: ``own_has`` of ``wanted`` for ``docs``. ``wanted`` comes sorted, so the
        sums are made in the same order in every process.
        """
        size, frequency = self.corpus.article_frequencies(wanted, docs)
        weight = np.maximum(np.log((size + 1) / (frequency + 0.5)), 0.0)
        covered, total = np.where(own, weight, 0.0).sum(axis=0), weight.sum(axis=0)
        return np.divide(covered, total, out=np.zeros(docs.size), where=total > 0)

    def _has_cue(self, doc: int, cue: str) -> bool:
        stem = self.tokenizer.stem
        return any(stem(a.cue) == cue for a in self.corpus.table.attributions(doc))

    def _own_coverage(self, docs: np.ndarray, wanted: list[str], own: np.ndarray) -> np.ndarray:
        """Per sentence, the IDF-weighted share of ``wanted`` in its own words alone.

        "What did X say about Y?": of X's quotes, the one that names Y comes before one
        whose neighbour does. The window (``_coverage``) decides whether a quote is
        about the question at all; here the quote's own words order those that are.
        BM25 alone lets a quote full of X's other words outrank it. ``own``: as for
        ``_coverage``; only its first row (the sentence itself) is read.
        """
        alone = np.zeros_like(own)
        alone[:, 0] = own[:, 0]
        return self._coverage(docs, np.zeros(docs.size, dtype=bool), wanted, alone)

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
        ``own``: per wanted term, ``own_has`` for ``docs`` and for the sentences before
        and after each (terms x 3 x docs). ``wanted`` comes sorted, so the sums are made
        in the same order in every process.
        """
        if not wanted:
            return np.ones(docs.size)
        corpus = self.corpus
        weights = [corpus.index.idf(term) for term in wanted]
        total = sum(weights)
        if total <= 0:
            return np.zeros(docs.size)
        paragraph = corpus.paragraph
        last = len(paragraph) - 1
        before = np.maximum(docs - 1, 0)
        after = np.minimum(docs + 1, last)
        here = paragraph[docs]
        with_before = (docs > 0) & (paragraph[before] == here)
        with_after = (docs < last) & (paragraph[after] == here)
        found = own[:, 0] | (with_before & own[:, 1]) | (with_after & own[:, 2])
        if said.any():
            for i, term in enumerate(wanted):
                found[i] |= said & corpus.speakers.has(term, docs)
        covered = np.where(found, np.array(weights)[:, None], 0.0).sum(axis=0)
        return covered / total


def best_positions(values: np.ndarray, k: int) -> np.ndarray:
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
