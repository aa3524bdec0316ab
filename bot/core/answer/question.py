"""Reading a question: is it about someone's words, and if so whose, and about what.

"What did X say about Y?", "What is X's position on Y?", "How did X react to Y?",
"Did X comment on Y?" all ask for X's words; they are recognised by shape, and
X (the speaker) and Y (the topic) are taken out of the wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.lexicon import (
    PLACEHOLDER_SUBJECTS,
    QUESTION_NAME_GLUE,
    QUESTION_SPEECH_VERBS,
    REACTION_VERBS,
    STANCE_NOUNS,
    alternation,
)

# The word lists are bot/core/data/question_speech_verbs.txt, stance_nouns.txt and
# reaction_verbs.txt, made into alternations here.
_SPEECH_VERBS = alternation(QUESTION_SPEECH_VERBS)
_STANCE_NOUNS = alternation(STANCE_NOUNS)
_REACTION_VERBS = alternation(REACTION_VERBS)
# The X of a question is a short phrase; a longer one means the shape matched by accident
# ("What did the committee that met after ... say").
SPEAKER_MAX_WORDS = 8
# Where a shape is loose, X must look like a name, and names are shorter still.
NAME_MAX_WORDS = 6
_TOPIC = r"(?:\s+(?:(?:about|on|regarding|concerning|over|of|to|towards|in\s+response\s+to)\s+)?(?P<topic>.+?))?"
_END = r"\s*[?.!]*\s*$"
# X never ends in an article: "What did the Post say?" is about the Post, not "the" posting.
_NO_ARTICLE = r"(?<!\bthe)(?<!\ba)(?<!\ban)"
_PATTERNS = [
    re.compile(rf"^(?:so\s+|and\s+)?what\s+(?:did|does|do|has|have|had|will|would)\s+(?P<who>.+?){_NO_ARTICLE}\s+(?P<verb>{_SPEECH_VERBS})(?:\s+(?:anything|something))?{_TOPIC}{_END}", re.I),
    re.compile(rf"^what\s+(?:is|was|are|were)\s+(?P<who>.+?)(?:'s|’s|’|')\s+(?:{_STANCE_NOUNS}){_TOPIC}{_END}", re.I),
    re.compile(rf"^what\s+(?:is|was|are|were)\s+the\s+(?:{_STANCE_NOUNS})\s+of\s+(?P<who>.+?){_TOPIC}{_END}", re.I),
    re.compile(rf"^how\s+(?:did|does|do|has|have|had)\s+(?P<who>.+?)\s+(?:{_REACTION_VERBS}){_TOPIC}{_END}", re.I),
    re.compile(rf"^(?:did|does|has|have)\s+(?P<who>.+?){_NO_ARTICLE}\s+(?P<verb>{_SPEECH_VERBS})(?:\s+(?:anything|something))?{_TOPIC}{_END}", re.I),
    re.compile(rf"^(?:quotes?|statements?|comments?|words)\s+(?:from|by|of)\s+(?P<who>.+?){_TOPIC}{_END}", re.I),
    re.compile(rf"^(?P<who>[^?]+?)(?:'s|’s|’|')\s+(?:{_STANCE_NOUNS}){_TOPIC}{_END}", re.I),
    re.compile(rf"^what\s+(?P<who>.+?){_NO_ARTICLE}\s+(?P<verb>{_SPEECH_VERBS}){_TOPIC}{_END}", re.I),
]  # fmt: skip
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)
# Shapes loose enough to misread "What Panther defender was called for holding?" or
# "Le grand concludes that an author's words..." as speech: they need a name for X.
_NAME_ONLY = (_PATTERNS[-2], _PATTERNS[-1])


def _looks_like_name(text: str) -> bool:
    """Whether every word is capitalised (or glue like "of"), as in "the Chinese Foreign Ministry"."""
    words = text.split()
    return len(words) <= NAME_MAX_WORDS and all(
        w[:1].isupper() or w.lower() in QUESTION_NAME_GLUE for w in words
    )


@dataclass(frozen=True, slots=True)
class ParsedQuestion:
    """A question's text and, when it asks for someone's words, who and about what."""

    text: str
    speaker: str | None = None
    topic: str | None = None
    verb: str | None = None

    @property
    def asks_for_speech(self) -> bool:
        """Whether the question asks what someone said (or thinks, or how they reacted)."""
        return self.speaker is not None


def parse_question(text: str) -> ParsedQuestion:
    """Recognise "what did X say (about Y)?" and its variants; anything else is a plain question."""
    clean = " ".join(text.split())
    for pattern in _PATTERNS:
        match = pattern.match(clean)
        if match is None:
            continue
        who = match.group("who").strip(" ,")
        if not who or len(who.split()) > SPEAKER_MAX_WORDS or who.lower() in PLACEHOLDER_SUBJECTS:
            continue
        if pattern in _NAME_ONLY and not _looks_like_name(who):
            continue
        topic = (match.groupdict().get("topic") or "").strip() or None
        verb = match.groupdict().get("verb")
        return ParsedQuestion(clean, _LEADING_ARTICLE.sub("", who), topic, verb and verb.lower())
    return ParsedQuestion(clean)
