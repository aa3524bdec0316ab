"""Reading a question: is it about someone's words, and if so whose, and about what.

"What did X say about Y?", "What is X's position on Y?", "How did X react to Y?",
"Did X comment on Y?" all ask for X's words; they are recognised by shape, and
X (the speaker) and Y (the topic) are taken out of the wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPEECH_VERBS = (
    r"say|said|says|claim|claimed|announce|announced|state|stated|declare|declared|tell|told"
    r"|think|thought|believe|write|wrote|post|posted|tweet|tweeted|comment|commented|report"
    r"|reported|reveal|revealed|argue|argued|warn|warned|confirm|confirmed|deny|denied"
    r"|respond|responded|react|reacted|reply|replied|express|expressed|emphasi[sz]e|stress"
    r"|insist|promise|pledge|pledged|vow|vowed|mention|acknowledge|admit|propose|suggest"
    r"|call|called|describe|described|label|labelled|labeled|characteri[sz]e|allege|alleged"
    r"|accuse|accused|condemn|condemned|demand|demanded|reiterate|reiterated|affirm|affirmed"
    r"|dismiss|dismissed|reject|rejected|praise|praised|critici[sz]e|critici[sz]ed|urge|urged"
)
_STANCE_NOUNS = (
    r"position|stance|view|views|reaction|response|comment|comments|statement|statements"
    r"|opinion|take|line|message|words|remarks|answer"
)
_TOPIC = r"(?:\s+(?:(?:about|on|regarding|concerning|over|of|to|towards|in\s+response\s+to)\s+)?(?P<topic>.+?))?"
_END = r"\s*[?.!]*\s*$"
_PATTERNS = [
    re.compile(rf"^(?:so\s+|and\s+)?what\s+(?:did|does|do|has|have|had|will|would)\s+(?P<who>.+?)\s+(?P<verb>{_SPEECH_VERBS})(?:\s+(?:anything|something))?{_TOPIC}{_END}", re.I),
    re.compile(rf"^what\s+(?:is|was|are|were)\s+(?P<who>.+?)(?:'s|’s|’|')\s+(?:{_STANCE_NOUNS}){_TOPIC}{_END}", re.I),
    re.compile(rf"^what\s+(?:is|was|are|were)\s+the\s+(?:{_STANCE_NOUNS})\s+of\s+(?P<who>.+?){_TOPIC}{_END}", re.I),
    re.compile(rf"^how\s+(?:did|does|do|has|have|had)\s+(?P<who>.+?)\s+(?:react|respond|reply|comment|answer|feel|see|view|describe|characteri[sz]e|explain|justify|defend){_TOPIC}{_END}", re.I),
    re.compile(rf"^(?:did|does|has|have)\s+(?P<who>.+?)\s+(?P<verb>{_SPEECH_VERBS})(?:\s+(?:anything|something))?{_TOPIC}{_END}", re.I),
    re.compile(rf"^(?:quotes?|statements?|comments?|words)\s+(?:from|by|of)\s+(?P<who>.+?){_TOPIC}{_END}", re.I),
    re.compile(rf"^(?P<who>[^?]+?)(?:'s|’s|’|')\s+(?:{_STANCE_NOUNS}){_TOPIC}{_END}", re.I),
    re.compile(rf"^what\s+(?P<who>.+?)\s+(?P<verb>{_SPEECH_VERBS}){_TOPIC}{_END}", re.I),
]  # fmt: skip
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)
# Shapes loose enough to misread "What Panther defender was called for holding?" or
# "Le grand concludes that an author's words..." as speech: they need a name for X.
_NAME_ONLY = (_PATTERNS[-2], _PATTERNS[-1])
_NAME_GLUE = frozenset("the of for and de van von al".split())


def _looks_like_name(text: str) -> bool:
    """Whether every word is capitalised (or glue like "of"), as in "the Chinese Foreign Ministry"."""
    words = text.split()
    return len(words) <= 6 and all(w[:1].isupper() or w.lower() in _NAME_GLUE for w in words)


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
        if not who or len(who.split()) > 8 or who.lower() in {"it", "this", "that", "there"}:
            continue
        if pattern in _NAME_ONLY and not _looks_like_name(who):
            continue
        topic = (match.groupdict().get("topic") or "").strip() or None
        verb = match.groupdict().get("verb")
        return ParsedQuestion(clean, _LEADING_ARTICLE.sub("", who), topic, verb and verb.lower())
    return ParsedQuestion(clean)
