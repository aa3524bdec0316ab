"""Finding someone's words when the rules found no quotation of them by name.

Two ways a speaker question can miss although the articles answer it:

- it names a role, not a person ("What did the spokesperson say?", "officials"):
  such words fold into the speech term or name no one, so the speaker is matched
  by the *head noun* of the speaker phrases found in the articles ("A ministry
  spokesperson" is a spokesperson);
- the person acts in the text without a quotation the rules attribute ("The
  Interior Ministry dismissed the report", "Reid called Trump a con artist"):
  sentences where a word of their name is followed closely by a word that cues
  reported speech are their words, reported. The cue words are not written by
  hand: they are counted from PolNeAR's train annotations (``learned_cues.txt``,
  ``tools/learn_cues.py``). The answer then says that no direct quotation was found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from bot.core.answer.indexed import IndexedCorpus
from bot.core.index.arrays import distinct
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.attribution import head_noun
from bot.core.lexicon import LEARNED_CUES

# A cue belongs to the name before it when at most this many words stand between them
# ("The Interior Ministry on Monday dismissed"); farther on it is another clause's verb.
ACT_WINDOW = 4
_WORDS = re.compile(r"[\w’'-]+|[.;:!?“”\"()]")
_STOPS = frozenset('.;:!?“”"()')
_ARTICLES = frozenset({"the", "a", "an"})
# What ends a speaker phrase's head and starts what it is attached to ("officials at ...").
_HEAD_PREPOSITIONS = frozenset({"for", "of", "at", "with", "from", "in", "on", "to"})


def speaker_head(phrase: str | None) -> str:
    """The head noun of a question's speaker ("the interior ministry" -> "ministry"), or "".

    As for the speakers in the articles (``phrase_head``): "the spokesperson for the
    foreign ministry" asks for a spokesperson.
    """
    words = [w for w in (phrase or "").split() if re.search(r"\w", w)]
    return phrase_head(" ".join(words)) if words else ""


def phrase_head(phrase: str) -> str:
    """The head noun of a speaker phrase: the word before its first preposition, or its last.

    "a spokesman for the Clinton campaign" is a spokesman, not a campaign; "the
    Department of Education" is a department ("What did the department say?").
    """
    words = phrase.split()
    for i, word in enumerate(words):
        if i and word.lower() in _HEAD_PREPOSITIONS:
            return head_noun(" ".join(words[:i]))
    return head_noun(phrase)


class SpeakerMatcher:
    """Sentences by the head noun of their speakers, and sentences where a name acts."""

    def __init__(self, corpus: IndexedCorpus, tokenizer: Tokenizer) -> None:
        self.corpus = corpus
        self.tokenizer = tokenizer

    @cached_property
    def _attribution_sentence(self) -> np.ndarray:
        """Per attribution row, the sentence it belongs to."""
        c = self.corpus.table.columns
        counts = np.diff(c["sentence_attrs"])
        return np.repeat(np.arange(counts.size, dtype=np.int64), counts)

    @cached_property
    def _heads(self) -> dict[str, np.ndarray]:
        """Head-noun stem -> the string numbers of speaker phrases with that head.

        Both the phrase as resolved and the one written ("the spokesperson", resolved
        to a name) count: a reader asking about the spokesperson means the latter.
        """
        c, table = self.corpus.table.columns, self.corpus.table
        numbers = np.unique(np.concatenate([c["attr_speaker"], c["attr_resolved"]]))
        found: dict[str, list[int]] = {}
        for number in numbers.tolist():
            text = table.string(int(number))
            if text:  # "Mr Trump (Donald J. Trump)": the head of the phrase as written
                head = phrase_head(text.split(" (")[0])
                found.setdefault(self.tokenizer.stem(head), []).append(number)
        return {stem: np.array(n, dtype=np.int64) for stem, n in found.items()}

    def by_head(self, head: str) -> np.ndarray:
        """The sentences (increasing ids) with a speaker phrase whose head noun is ``head``."""
        numbers = self._heads.get(self.tokenizer.stem(head)) if head else None
        if numbers is None:
            return np.zeros(0, dtype=np.int64)
        c = self.corpus.table.columns
        rows = np.isin(c["attr_speaker"], numbers) | np.isin(c["attr_resolved"], numbers)
        return distinct(self._attribution_sentence[rows])

    def not_first_names(self, speaking: np.ndarray, word: str) -> np.ndarray:
        """Those of ``speaking`` not quoting ``word`` only as someone's first name.

        "What did Ryan say?" asks about a Ryan, not about Ryan Ellis: a one-word name
        followed by another capitalised word in every speaker phrase of a sentence is
        a given name there. When that leaves nothing, all of ``speaking`` stay.
        """
        table, key = self.corpus.table, word.lower()
        keep = [
            doc
            for doc in speaking.tolist()
            if any(not _first_name(a.speaker, key) for a in table.attributions(doc))
        ]
        return np.array(keep, dtype=np.int64) if keep else speaking

    def acting(self, docs: np.ndarray, speaker: str) -> np.ndarray:
        """Those of ``docs`` where a word of ``speaker`` is closely followed by a cue word.

        "according to X" counts too: it is the reporter's way of saying X said it.
        """
        names = [w for w in speaker.split() if w.lower() not in _ARTICLES]
        if not names or not docs.size:
            return np.zeros(0, dtype=np.int64)
        wanted = {w.lower().strip("’'") for w in names}
        keep = [doc for doc in docs.tolist() if _acts(self.corpus.sentence_text(doc), wanted)]
        return np.array(keep, dtype=np.int64)


def _first_name(speaker: str, word: str) -> bool:
    """Whether ``word`` stands in ``speaker`` only before another capitalised word."""
    words = speaker.split(" (")[0].split()
    at = [i for i, w in enumerate(words) if _stem_of_name(w.lower()).strip(".,") == word]
    return bool(at) and all(i + 1 < len(words) and words[i + 1][:1].isupper() for i in at)


def _acts(sentence: str, names: set[str]) -> bool:
    """Whether a name word is followed within ``ACT_WINDOW`` words by a learned cue."""
    words = [w.lower() for w in _WORDS.findall(sentence)]
    for i, word in enumerate(words):
        if _stem_of_name(word) not in names:
            continue
        before = words[max(0, i - 3) : i]
        if any(before[j : j + 2] == ["according", "to"] for j in range(len(before))):
            return True
        if _cue_follows(words, i + 1):
            return True
    return False


def _cue_follows(words: Sequence[str], start: int) -> bool:
    for word in words[start : start + ACT_WINDOW + 1]:
        if word in _STOPS:
            return False
        if word in LEARNED_CUES:
            return True
    return False


def _stem_of_name(word: str) -> str:
    """A name word without a possessive ("Trump’s" -> "trump")."""
    return re.sub(r"(?:’s|'s|’|')$", "", word)
