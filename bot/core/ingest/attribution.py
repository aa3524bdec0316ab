"""Finding who a sentence reports speaking: lexical rules, no model.

News reports speech in a few fixed shapes: ``X said ...``, ``"...," X said``,
``"...," said X``, ``according to X`` and ``X, in ..., declared``. The speaker
is the noun phrase next to a reporting verb. Who a "he" or a "Mr Ma" is, the
article as a whole says: see ``speakers``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.core.lexicon import (
    ACCORDING_TO_STOPS,
    AFTER_VERB_STOPS,
    ANAPHORIC_DETERMINERS,
    DOTTED_TITLES,
    NOUN_MARKERS,
    REPORTING_PARTICIPLES,
    REPORTING_VERBS,
    SPEAKER_ASSOCIATES,
    SPEAKER_PHRASE_BOUNDARIES,
    SPEAKER_PHRASE_INNER,
    SUBJECT_PRONOUNS,
    UNNAMED_SPEAKER_HEADS,
    VERB_LEAD_INS,
    alternation,
)

# Limits: each bounds how far a rule reads before it gives up, at a length past which the
# words are no longer what the rule is looking for.

# A speaker phrase has at most this many words: a title, a role and a name ("the spokesperson
# for the Chinese Foreign Ministry Wang Wenbin" is nine); a longer run is a clause.
SPEAKER_MAX_WORDS = 10
# The opening subject that a trailing participle (", saying ...") refers to is shorter:
# "Attorney General Roy Cooper (D)"; an opening longer than this is not a name.
OPENING_SUBJECT_MAX_WORDS = 8
# What follows "according to" names a source in a few words; past this it runs on into
# what the source said.
ACCORDING_TO_MAX_WORDS = 12
# "said (in a statement on Tuesday) that ...": a "that" this close after the verb introduces
# what was said; farther on it more likely belongs to another clause.
CONTENT_LOOKAHEAD_WORDS = 8
# An aside between a name and its verb ("(D-Mo.)", "(pictured)") is a few tokens; an opening
# bracket farther back than this is not one.
ASIDE_MAX_TOKENS = 12
# "Dr Jane Q. Doe, Acme senior vice president, Research and Policy, said": an appositive
# between a sentence's opening name and its verb may hold commas of its own, but not more
# than this many tokens; a longer stretch is a clause of its own.
APPOSITIVE_MAX_TOKENS = 24
# A transcript label ("MR SMITH: ...") is a name in capitals: at most this many characters
# between its first and last letter.
TRANSCRIPT_LABEL_MAX_CHARS = 40

# A middle initial ("Jane Q. Doe") is one token with its dot, so a name is not cut there.
_WORD = re.compile(
    rf"\b(?:{alternation(DOTTED_TITLES)})\.|\b[A-Z]\.(?=\s+[A-Z])|\w[\w’'-]*(?:\.\w+)*|[^\w\s]"
)
_TRANSCRIPT = re.compile(
    rf"^[\"“]?(?P<name>[A-Z][A-Z.’' -]{{1,{TRANSCRIPT_LABEL_MAX_CHARS}}}[A-Z]):\s"
)
# Every word that can be a speech cue: finite reporting verbs and the participles.
_CUES = REPORTING_VERBS | REPORTING_PARTICIPLES
_OPENERS = '“"‘«'
_CLOSERS = '”"’»'
_ACCORDING = re.compile(r"\baccording to\s+", re.IGNORECASE)
_ACCORDING_END = re.compile(rf"[,;:.“”\"()]|\s(?:{alternation(ACCORDING_TO_STOPS)})\s")
_UNNAMED_HEADS = tuple(sorted(UNNAMED_SPEAKER_HEADS))  # str.endswith takes a tuple
_PLAIN_WORD = re.compile(r"\w+")
_WORD_START = re.compile(r"\w")
_POSSESSIVE_END = re.compile(r"(?:’s|'s|’|')$")


@lru_cache(maxsize=2048)
def lowered_words(sentence: str) -> tuple[str, ...]:
    r"""The ``\w+`` runs of the lower-cased sentence: a cheap, exact test for cue words.

    Most sentences hold no reporting word, and tokenizing them is the bulk of the
    cost of finding none. A token of ``_WORD`` or of the learned tagger's pattern
    that lowers to a plain lower-case ASCII word is bounded by characters that are
    not ``\w`` (the patterns are greedy), and no such character lowers to a ``\w``
    one; so the word stands as a whole ``\w+`` run of the lowered sentence, and a
    sentence whose runs hold none of a set of such words has no token among them.
    Ingest asks it three times of each sentence of an article that is not ASCII
    (``find_mentions``, the tagger's gate, ``reported_speech``; ``WordGate`` reads
    ASCII ones as bytes), so the last 2,048 sentences' runs are kept.
    """
    return tuple(_PLAIN_WORD.findall(sentence.lower()))


# ``lowered_words`` of ASCII text as bytes, in one translation and a split: each capital
# to its lower-case letter, each other byte that is not a word character (``\w`` in ASCII
# text: letters, digits, "_") to a space.
_ASCII_RUNS = bytes(
    c + 32 if 65 <= c <= 90 else c if c < 128 and (chr(c).isalnum() or c == 95) else 32
    for c in range(256)
)


class WordGate:
    """A cheap, exact test that a sentence holds no token among ``words`` (see ``lowered_words``).

    The proof holds for plain lower-case ASCII words only; for any other set the gate
    is always open, and every sentence is tokenized as before. ASCII sentences (most)
    are read as bytes (``_ASCII_RUNS``): the same runs at a third of the cost, and no
    cache to keep.
    """

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words
        self.plain = all(w.isascii() and w.isalpha() and w.islower() for w in words)
        self._bytes = frozenset(w.encode("ascii") for w in words) if self.plain else frozenset()

    def may_hold(self, sentence: str) -> bool:
        """Whether the sentence may hold one of the words; False proves it holds none."""
        if not self.plain:
            return True
        if sentence.isascii():
            runs = sentence.encode("ascii").translate(_ASCII_RUNS).split()
            return not self._bytes.isdisjoint(runs)
        return not self.words.isdisjoint(lowered_words(sentence))


_CUE_GATE = WordGate(_CUES)


@dataclass(frozen=True, slots=True)
class _Mention:
    text: str
    cue: str
    start: int


def speaker_core(speaker: str) -> str:
    """The part of a speaker phrase that names who speaks, without modifiers.

    "NBC News moderator Matt Lauer" is the moderator Matt Lauer speaking, "McConnell aides"
    are aides, but "the spokesperson for the Chinese Foreign Ministry" speaks
    for the ministry: after the last lower-case noun, a run of names is the
    speaker; a phrase that ends in "aides", "allies"... is only that noun.
    """
    words = speaker.split()
    if not words:
        return speaker
    if words[-1].lower() in SPEAKER_ASSOCIATES:
        return words[-1]
    last_common = max(
        (
            i
            for i, w in enumerate(words)
            if w[:1].islower()
            and w not in SPEAKER_PHRASE_INNER
            and w.lower() not in ANAPHORIC_DETERMINERS
        ),
        default=-1,
    )
    if not 0 <= last_common < len(words) - 1:
        return speaker
    first = last_common  # the role words just before the name stay: "harbour master Jane Doyle"
    while first > 0 and words[first - 1][:1].islower():
        first -= 1
    return " ".join(words[first:])


def is_named(speaker: str) -> bool:
    """Whether a speaker phrase names someone (has a capitalised word past its first)."""
    words = speaker.split()
    if not words:
        return False
    if words[0].lower() in SUBJECT_PRONOUNS:
        return False
    rest = words[1:] if words[0].lower() in ANAPHORIC_DETERMINERS else words
    return any(w[:1].isupper() for w in rest)


def head_noun(speaker: str) -> str:
    """The last word of a speaker phrase, lower case ("the Chinese Foreign Ministry" -> "ministry")."""
    words = speaker.split()
    if not words:
        return ""
    return _POSSESSIVE_END.sub("", words[-1].lower()).strip(".,")


def find_mentions(sentence: str) -> list[_Mention]:
    """Speaker phrases next to reporting verbs in one sentence, in order of appearance."""
    found: list[_Mention] = []
    transcript = _TRANSCRIPT.match(sentence)
    if transcript:
        found.append(_Mention(transcript.group("name"), ":", 0))
    if _CUE_GATE.may_hold(sentence):
        found += _verb_mentions(sentence)
    # "according to" matches only where the lowered sentence has "ccord": no other
    # character matches c, o, r or d when case is ignored.
    if "ccord" in sentence.lower():
        for match in _ACCORDING.finditer(sentence):
            tail = sentence[match.end() :]
            phrase = _ACCORDING_END.split(tail, maxsplit=1)[0].strip()
            if phrase and len(phrase.split()) <= ACCORDING_TO_MAX_WORDS:
                found.append(_Mention(phrase, "according to", match.start()))
    found.sort(key=lambda m: m.start)
    return found


def _verb_mentions(sentence: str) -> list[_Mention]:
    """The speakers next to the sentence's reporting verbs, in order of the verbs."""
    words = _words(sentence)
    cues = [i for i, word in enumerate(_lowered_tokens(sentence)) if word in _CUES]
    if not cues:
        return []
    quoted = quoted_spans(sentence)
    starts = _starts(sentence, words, cues[-1] + 1)
    found: list[_Mention] = []
    for i in cues:
        word, offset = words[i], starts[i]
        if _used_as_noun(words, i) or any(start <= offset < end for start, end in quoted):
            continue
        if word.lower() in REPORTING_PARTICIPLES:
            speaker = _clause_subject(words) if i and words[i - 1] == "," else None
        else:
            speaker = _subject_before(words, i) or _subject_after_quote(words, i)
        if speaker:
            found.append(_Mention(speaker, word.lower(), offset))
    return found


@lru_cache(maxsize=2048)
def _words(sentence: str) -> tuple[str, ...]:
    """The sentence's tokens, read once for ``find_mentions`` and ``reported_speech``."""
    return tuple(_WORD.findall(sentence))


@lru_cache(maxsize=2048)
def _lowered_tokens(sentence: str) -> tuple[str, ...]:
    """The words of ``_words``, each lower-cased: both ask each word whether it is a cue."""
    return tuple([word.lower() for word in _words(sentence)])


def _starts(sentence: str, words: Sequence[str], count: int) -> list[int]:
    """Where each of the first ``count`` of the sentence's ``_words`` starts.

    ``_WORD`` takes every character that is not white space into a token (a word
    character starts a word, any other is a token of its own), so only white space
    lies between two tokens, and a token, which starts with no white space, is found
    first where it stands by searching on from the end of the one before. Cheaper
    than match objects for every token, when only the cues' places are wanted.
    """
    out: list[int] = []
    at = 0
    find = sentence.find
    for word in words[:count]:
        at = find(word, at)
        out.append(at)
        at += len(word)
    return out


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """The outermost quotations in “curly” marks, as (start, end) character ranges.

    Words inside a quotation are the speaker's, not the reporter's: a verb there ("the
    Chinese side expressed...", inside a Russian statement) does not make whoever it
    names the speaker of the sentence.

    A range holds its opening mark, not its closing one. A quotation still open
    at the end runs to the end: in news it closes in a later sentence.
    """
    spans: list[tuple[int, int]] = []
    if "“" not in text:
        return spans
    depth = opened = 0
    for mark in _CURLY_MARKS.finditer(text):
        at = mark.start()
        if mark.group() == "“":
            if not depth:
                opened = at
            depth += 1
        elif depth:
            depth -= 1
            if not depth:
                spans.append((opened, at))
    if depth:
        spans.append((opened, len(text)))
    return spans


_CURLY_MARKS = re.compile("[“”]")  # typographic double quotation marks, open or close


def quoted_share(sentence: str) -> float:
    """The share of a sentence's characters that stand inside quotation marks."""
    if not sentence:
        return 0.0
    # The spans are disjoint: their lengths add up to the count of characters inside.
    return sum(end - start for start, end in quoted_spans(sentence)) / len(sentence)


def reported_speech(sentence: str, quoted: float | None = None) -> tuple[bool, bool]:
    """Whether the sentence reports speech, and whether it gives what was said.

    It reports speech when it quotes or has a reporting verb (said, told, declared...).
    It gives what was said with a quotation or "said (...) that ..." / "said:": "The
    ministry affirmed its position through a statement" reports that something was
    said without saying it, and answers "what did X say?" worse than one that carries
    the words. One scan of the words gives both. ``quoted``: the sentence's
    ``quoted_share``, when known.
    """
    if (quoted_share(sentence) if quoted is None else quoted) > 0:
        return True, True
    if not _CUE_GATE.may_hold(sentence):
        return False, False
    words = _lowered_tokens(sentence)
    if _CUES.isdisjoint(words):
        return False, False
    for i, word in enumerate(words):
        if word in _CUES:
            ahead = words[i + 1 : i + 1 + CONTENT_LOOKAHEAD_WORDS]
            if ahead[:1] == (":",) or "that" in ahead:
                return True, True
    return True, False


def _used_as_noun(tokens: Sequence[str], i: int) -> bool:
    """``Prigozhin's claims``, ``the claims``: a reporting word used as a noun or adjective."""
    if i == 0:
        return False
    before = tokens[i - 1]
    return before.lower() in NOUN_MARKERS or before.endswith(("’s", "'s", "s’", "s'"))


def _subject_before(tokens: Sequence[str], verb: int) -> str | None:
    """The noun phrase ending just before the verb, skipping adverbs and a parenthetical."""
    j = verb - 1
    while j >= 0 and tokens[j].lower() in VERB_LEAD_INS:
        j -= 1
    j = _before_brackets(tokens, j)
    if j >= 1 and tokens[j] == ",":
        opening = _opening_name(tokens, j)
        if opening:
            return opening
        # "X, in addressing the coup, declared": jump back over one parenthetical.
        k = j - 1
        while k >= 0 and tokens[k] not in {",", *_OPENERS, *_CLOSERS}:
            k -= 1
        if k >= 1 and tokens[k] == ",":
            j = k - 1
        else:
            return None
    words: list[str] = []
    while j >= 0 and len(words) < SPEAKER_MAX_WORDS:
        word = tokens[j]
        if (
            not _WORD_START.match(word)
            or (
                word.lower() in SPEAKER_PHRASE_BOUNDARIES
                and word.lower() not in SPEAKER_PHRASE_INNER
            )
            or word.lower() in _CUES
        ):
            break
        words.append(word)
        j -= 1
    while words and words[-1].lower() in SPEAKER_PHRASE_INNER - {"the"}:
        words.pop()
    phrase = " ".join(reversed(words))
    return phrase if _plausible_speaker(phrase) else None


def _opening_name(tokens: Sequence[str], comma: int) -> str | None:
    """The sentence's opening name when an appositive runs from it to the comma at ``comma``.

    House styles put long appositives, commas and all, between a name and "said"
    ("Dr Jane Q. Doe, Acme senior vice president, Research and Policy, said"); the
    speaker is then the name that opens the sentence, followed by a comma.
    """
    if comma > APPOSITIVE_MAX_TOKENS:
        return None
    between = tokens[:comma]
    if any(w in _OPENERS or w in _CLOSERS or w.lower() in _CUES for w in between):
        return None
    opening = _clause_subject(tokens)
    if not opening or len(opening.split()) >= comma:
        return None
    return opening if tokens[len(opening.split())] == "," else None


def _before_brackets(tokens: Sequence[str], j: int) -> int:
    """Step back over a bracketed aside such as "(D-Mo.)" that ends at ``j``."""
    if j >= 0 and tokens[j] == ")":
        k = j
        while k >= 0 and tokens[k] != "(" and j - k < ASIDE_MAX_TOKENS:
            k -= 1
        if k >= 0 and tokens[k] == "(":
            return k - 1
    return j


def _clause_subject(tokens: Sequence[str]) -> str | None:
    """The named phrase a sentence opens with ("Attorney General Roy Cooper (D), ...")."""
    words: list[str] = []
    for word in tokens:
        if (
            not _WORD_START.match(word)
            or word.lower() in SPEAKER_PHRASE_BOUNDARIES - SPEAKER_PHRASE_INNER
        ):
            break
        words.append(word)
        if len(words) > OPENING_SUBJECT_MAX_WORDS:
            return None
    phrase = " ".join(words)
    return phrase if is_named(phrase) else None


def _subject_after_quote(tokens: Sequence[str], verb: int) -> str | None:
    """``"...," said X``: the phrase after a verb that directly follows a closing quote."""
    k = verb - 1
    if k < 0 or tokens[k] not in {",", *_CLOSERS}:
        return None
    words: list[str] = []
    j = verb + 1
    while j < len(tokens) and len(words) < SPEAKER_MAX_WORDS:
        word = tokens[j]
        if not _WORD_START.match(word) or word.lower() in AFTER_VERB_STOPS:
            break
        words.append(word)
        j += 1
    phrase = " ".join(words)
    return phrase if _plausible_speaker(phrase) else None


def _plausible_speaker(phrase: str) -> bool:
    words = phrase.split()
    if not words or len(words) > SPEAKER_MAX_WORDS:
        return False
    first = words[0].lower()
    if first in SUBJECT_PRONOUNS:
        return len(words) == 1
    if is_named(phrase):
        return True
    return first in ANAPHORIC_DETERMINERS or words[-1].lower().endswith(_UNNAMED_HEADS)
