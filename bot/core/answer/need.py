"""What a question needs from a sentence, as index terms, and whether any article has it.

A question is declined here, before any ranking, when it has nothing to search for or
when no article holds a word of what it asks about: the reply then says which.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.core.answer.acting import speaker_head
from bot.core.answer.indexed import IndexedCorpus
from bot.core.answer.question import ParsedQuestion
from bot.core.answer.related import relatives
from bot.core.index.tokenize import Tokenizer
from bot.core.lexicon import HONORIFICS

_NO_PAIRS = np.zeros(0, dtype=np.int64)
_NAME = re.compile(r"(?<=\s)(?:[A-Z][\w’'.-]*)(?:\s+[A-Z][\w’'.-]*)*")


@dataclass(frozen=True, slots=True)
class Need:
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
    # Fact questions: (relative, key term) for the key terms' WordNet relatives in the corpus.
    related: tuple[tuple[str, str], ...] = ()


def need_of(parsed: ParsedQuestion, tok: Tokenizer, corpus: IndexedCorpus) -> Need:
    """The terms ``parsed`` looks for: all, key (no speech words), speaker and topic."""
    terms = tuple(tok(parsed.text))
    key = frozenset(t for t in terms if not tok.is_speech(t))
    index = corpus.index
    weighted = tuple((corpus.term[t], index.idf(t)) for t in sorted(key) if t in corpus.term)
    if not parsed.asks_for_speech:
        related = relatives(key, index.contains)
        return Need(terms, key, frozenset(), key, weighted, *_pairs(terms, tok, corpus), related)
    speaker = frozenset(
        t for t in tok(parsed.speaker or "") if not tok.is_speech(t) and t not in HONORIFICS
    )
    topic = frozenset(t for t in tok(parsed.topic or "") if not tok.is_speech(t))
    return Need(terms, key, speaker, topic, weighted)


def _pairs(
    terms: Sequence[str], tok: Tokenizer, corpus: IndexedCorpus
) -> tuple[np.ndarray, np.ndarray]:
    """The question's neighbouring key terms (stopwords apart) and what each pair weighs."""
    key = [t for t in terms if not tok.is_speech(t)]
    weights: dict[int, float] = {}
    size = len(corpus.table.vocabulary)
    for first, second in itertools.pairwise(key):
        a, b = corpus.term.get(first), corpus.term.get(second)
        if a is not None and b is not None and a != b:
            weights[a * size + b] = corpus.index.idf(first) + corpus.index.idf(second)
    codes = np.array(sorted(weights), dtype=np.int64)
    return codes, np.array([weights[c] for c in codes.tolist()])


def uncovered(parsed: ParsedQuestion, need: Need, corpus: IndexedCorpus) -> str | None:
    """A reason to decline before ranking: nothing to search for, or none of it in any article."""
    index = corpus.index
    if not need.key:
        if parsed.asks_for_speech and speaker_head(parsed.speaker):
            return None  # a role such as "the spokesperson": matched by head noun in ranking
        if parsed.asks_for_speech:
            return f"The question does not say whose words to look for ({parsed.speaker!r})."
        return "The question has no words to search for; ask about a person, place or event."
    if parsed.asks_for_speech and need.speaker:
        if not any(index.contains(t) for t in need.speaker):
            return f"No article mentions {parsed.speaker}."
    elif not any(index.contains(t) for t in need.key):
        return f"No article mentions {_phrase(parsed.text)}."
    return None


def unknown_name(parsed: ParsedQuestion, tok: Tokenizer, corpus: IndexedCorpus) -> str | None:
    """The first name in the question that no article has a word of, if any."""
    for name in question_names(parsed.text):
        terms = [t for t in tok(name) if not tok.is_speech(t)]
        if terms and not any(corpus.index.contains(t) for t in terms):
            return name
    return None


def question_names(question: str) -> list[str]:
    """Capitalised words past the first: the names a question is about ("Angela Merkel")."""
    found = (re.sub(r"(?:’s|'s|[’'?!,])+$", "", m.group()) for m in _NAME.finditer(question))
    return [name for name in found if name not in {"I", ""}]


def _phrase(question: str) -> str:
    """The question without its question mark, for a readable reason."""
    return f"“{question.rstrip('?!. ')}”"
