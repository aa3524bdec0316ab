"""Who each mention is, in its article: references resolved, short names grown.

Pronouns and nominal references ("he", "the statement", "the ministry") are resolved
to the nearest fitting named speaker before them in the same article, and a short
name ("Mr Ma") is expanded to the fullest form the article gives ("Chinese
Vice-Foreign Minister Ma Zhaoxu"), so a question about China can find Mr Ma.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.core.ingest.attribution import find_mentions, head_noun, is_named
from bot.core.ingest.learned_sources import sources_of, words_worth_tagging
from bot.core.lexicon import (
    ANAPHORIC_DETERMINERS,
    NAME_RUN_GLUE,
    REFERENCE_DOCUMENTS,
    REFERENCE_PLURALS,
    REFERENCE_STAND_INS,
    SUBJECT_PRONOUNS,
    TITLES,
    alternation,
)
from bot.core.models import Attribution

# A nominal reference that is resolved ("the ministry", "the Chinese side") is short; a longer
# description identifies its speaker by itself and is kept as written.
REFERENCE_MAX_WORDS = 3
# A reference points back to someone quoted a little earlier: at most this many named
# speakers back.
ANTECEDENT_WINDOW = 6
# Only a short name ("Mr Ma", "Ma Zhaoxu", titles aside) is grown to the article's fullest
# form; one of more words is full already.
SHORT_NAME_MAX_WORDS = 2
# Whether a sentence the rules find no speaker in asks the learned tagger (learned_sources);
# bench/eval_attribution.py turns it off to score the rules alone beside it.
USE_LEARNED = True
LEARNED_CUE = "(learned)"  # the cue recorded for a source the tagger found
# A run of more capitalised words than this is a headline or a list, not someone's name.
NAME_RUN_MAX_WORDS = 8

_LOWER_WORD = re.compile(r"(?<![\w’'-])[a-z][\w’'-]*")
_NAME_RUN = re.compile(rf"[A-Z][\w’'-]*(?:[ \t]+(?:[A-Z][\w’'-]*|{alternation(NAME_RUN_GLUE)}))*")


Mentions = list[list[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class RuleMentions:
    """The rules' mentions of some sentences, and the words of those the tagger is to read."""

    sentences: Sequence[str]
    found: Mentions
    to_tag: list[list[str] | None]  # per sentence: ``words_worth_tagging``, None when not asked


def rule_mentions(sentences: Sequence[str]) -> RuleMentions:
    """The first half of ``sentence_mentions``: the rules, and what to ask the tagger."""
    found = [[(m.text, m.cue) for m in find_mentions(sentence)] for sentence in sentences]
    asks = USE_LEARNED
    to_tag = [
        words_worth_tagging(sentence) if asks and not mentions else None
        for sentence, mentions in zip(sentences, found, strict=True)
    ]
    return RuleMentions(sentences, found, to_tag)


def learned_mentions(parts: Sequence[RuleMentions]) -> list[Mentions]:
    """The second half: each part's mentions, the tagger's added, all parts tagged at once."""
    sentences = [sentence for part in parts for sentence in part.sentences]
    sources = sources_of(sentences, [words for part in parts for words in part.to_tag])
    out, at = [], 0
    for part in parts:
        found = [list(mentions) for mentions in part.found]
        for i, source in enumerate(sources[at : at + len(found)]):
            if source:
                found[i] = [(source, LEARNED_CUE)]
        out.append(found)
        at += len(found)
    return out


def sentence_mentions(sentences: Sequence[str]) -> Mentions:
    """Each sentence's speaker phrases and cues, as written: the rules', else the tagger's.

    What a sentence mentions depends on the sentence alone, so the sentences of many
    articles can be read at once (``rule_mentions`` of each, then ``learned_mentions``
    of all: the learned tagger tags them together); who each mention is,
    ``ArticleSpeakers`` then works out article by article.
    """
    return learned_mentions([rule_mentions(sentences)])[0]


class ArticleSpeakers:
    """Resolves the speakers of one article's sentences, in reading order."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self._index: _RunIndex | None = None  # read the first time a short name is grown
        self._named: list[str] = []
        self._grown: dict[str, str] = {}
        self._sentences = sentences
        self._lower: frozenset[str] | None = None

    def attribute(
        self, sentence: str, mentions: Sequence[tuple[str, str]] | None = None
    ) -> list[Attribution]:
        """Attributions of the next sentence; call in reading order.

        ``mentions``: the sentence's ``sentence_mentions``, when they are known.
        """
        out: list[Attribution] = []
        if mentions is None:
            mentions = sentence_mentions([sentence])[0]
        for text, cue in mentions:
            if is_named(text) and not self._common_noun(text):
                speaker = self.full_name(text)
                out.append(Attribution(speaker, cue))
                self._named.append(speaker)
                continue
            resolved = self._resolve(text)
            if resolved is not None:
                out.append(Attribution(resolved, cue, text))
            elif text.lower() not in SUBJECT_PRONOUNS:
                out.append(Attribution(text, cue))
        return out

    @property
    def _runs(self) -> _RunIndex:
        r"""The article's runs of capitalised words, found the first time they are asked for.

        Most sentences name no one, and many names are full already: an article whose
        speakers need no growing never reads them. Neither pattern reads across a line
        break, so one pass over the sentences joined by "\n" finds what a pass over each
        one does, in the same order.
        """
        if self._index is None:
            self._index = _RunIndex(_NAME_RUN.findall("\n".join(self._sentences)))
        return self._index

    def _common_noun(self, phrase: str) -> bool:
        """A one-word phrase the article also writes in lower case ("Residents said ...").

        Capitalised only because it opens the sentence, it names no one, so a later
        "she said" must not be taken for it. The article's lower-case words are read
        once, the first time a one-word speaker is met.
        """
        if " " in phrase.strip():
            return False
        if self._lower is None:
            self._lower = frozenset(_LOWER_WORD.findall("\n".join(self._sentences)))
        return phrase.strip().lower() in self._lower

    def _resolve(self, phrase: str) -> str | None:
        """The nearest earlier named speaker that fits a pronoun or nominal reference."""
        words = phrase.lower().split()
        head = head_noun(phrase)
        if len(words) > REFERENCE_MAX_WORDS or (
            head.endswith("s") and head not in REFERENCE_PLURALS
        ):
            return None
        for candidate in reversed(self._named[-ANTECEDENT_WINDOW:]):
            if head in REFERENCE_DOCUMENTS or head in candidate.lower():
                return candidate
        if words[0] in SUBJECT_PRONOUNS or head in REFERENCE_STAND_INS:
            return self._named[-1] if self._named else None
        return None

    def full_name(self, speaker: str) -> str:
        """A bare or titled short name grown to its fullest titled form in the article.

        "Mr Ma" becomes "Chinese Vice-Foreign Minister Ma Zhaoxu" when the article
        has that run of capitalised words; phrases that start with a determiner
        ("the Chinese side") are left as they are. The answer depends on the
        speaker phrase alone, so each distinct phrase is worked out once.
        """
        grown = self._grown.get(speaker)
        if grown is None:
            grown = self._grown[speaker] = self._grow(speaker)
        return grown

    def _grow(self, speaker: str) -> str:
        words = speaker.split()
        if words[0].lower() in ANAPHORIC_DETERMINERS:
            return speaker
        names = [w.rstrip("’'s") for w in words if w.lower().rstrip(".") not in TITLES]
        if (
            not names
            or len(names) > SHORT_NAME_MAX_WORDS
            or not all(n[:1].isupper() for n in names)
        ):
            return speaker
        best = speaker
        for run in self._runs.containing(names):
            if (
                len(run) > len(best)
                and (_is_titled(run) or run.split()[-1] == names[-1])
                and all(_whole_word(name).search(run) for name in names)
            ):
                best = run
        if best != speaker and speaker.lower() not in best.lower():
            return f"{speaker} ({best})"
        return best


@lru_cache(maxsize=4096)
def _whole_word(name: str) -> re.Pattern[str]:
    r"""``\bname\b``, compiled once per name (more names than ``re``'s own cache keeps)."""
    return re.compile(rf"\b{re.escape(name)}\b")


def _is_titled(run: str) -> bool:
    return any(w.lower().rstrip(".") in TITLES for w in run.split())


_SEGMENT = re.compile(r"\w+")


class _RunIndex:
    r"""An article's distinct runs of capitalised words, found by the words they hold.

    ``full_name`` looks for runs in which a name stands as a whole word
    (``\bname\b``). Such a run has the name's first ``\w+`` segment as one of
    its own maximal ``\w+`` segments, so only the runs filed under that segment
    need testing: a lookup costs the runs that share the word, not every run
    of the article, which kept a single large article quadratic. Runs are
    kept in order of first appearance, so "the first longest" is unchanged.
    """

    def __init__(self, runs: Iterable[str]) -> None:
        self._by_segment: dict[str, list[str]] = {}
        for run in dict.fromkeys(runs):
            if len(run.split()) > NAME_RUN_MAX_WORDS:
                continue
            for segment in dict.fromkeys(_SEGMENT.findall(run)):
                self._by_segment.setdefault(segment, []).append(run)

    def containing(self, names: Sequence[str]) -> list[str]:
        """Every run that may hold all of ``names`` as whole words (a superset), in order."""
        lists = []
        for name in names:
            head = _SEGMENT.match(name)
            if head is None:
                return []
            lists.append(self._by_segment.get(head.group(), []))
        return min(lists, key=len)
