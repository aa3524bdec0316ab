"""Whether a sentence says what someone *is*: the answer to "Who is X?".

"Who is Rudenko?" is not answered by any sentence that names Rudenko, but by one that
describes him: a title before the name ("Deputy Foreign Minister Andrei Rudenko"), an
apposition beside it ("Andrei Rudenko, Russia's deputy foreign minister," / "the
union's leader, Maria Lopez,"), a relative clause ("Rudenko, who has handled the
file") or a copula ("Rudenko is a career diplomat"). These are the shapes news uses
to introduce people; the title words are the project's ``titles.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.lexicon import HONORIFICS, TITLES

# An apposition after the name states the role within a few words ("Andrei Rudenko, Russian
# Deputy Foreign Minister,"); a title farther on belongs to someone else.
APPOSITION_WORDS = 5
_WHO_IS = re.compile(r"^\s*who\s+(?:is|was|are|were)\s+(?P<who>[^?]+?)\s*[?.!]*\s*$", re.I)
_WORDS = re.compile(r"[\w’'.-]+|[^\w\s]")
_COPULA = frozenset({"is", "was", "has", "had", "became", "remains"})
_RELATIVE = frozenset({"who", "whose"})
_DETERMINERS = frozenset({"a", "an", "the"})


def asked_identity(question: str) -> frozenset[str] | None:
    """The name words of "Who is/was X?" when X is a name ("Who is Andrei Rudenko?"), else None."""
    match = _WHO_IS.match(question)
    if match is None:
        return None
    words = [_bare(w) for w in match.group("who").split()]
    if not words or any(not w[:1].isupper() for w in match.group("who").split()):
        return None
    return frozenset(w.casefold() for w in words if w)


def describes(sentence: str, names: frozenset[str]) -> bool:
    """Whether ``sentence`` introduces the person named by ``names`` with a role or description."""
    words = _WORDS.findall(sentence)
    folded = [_bare(w).casefold() for w in words]
    i = 0
    while i < len(words):
        if folded[i] not in names:
            i += 1
            continue
        start = i
        while i < len(words) and (folded[i] in names or _initial(words[i])):
            i += 1
        if _titled(words, start) or _described_after(words, i) or _apposed_before(words, start, i):
            return True
    return False


def _titled(words: Sequence[str], start: int) -> bool:
    """A title in the capitalised run just before the name ("Deputy Foreign Minister").

    A courtesy title ("Mr", "Ms", "Dr": ``HONORIFICS``) says how a person is addressed, not
    what they are: "Mr Prigozhin later reached a deal" does not answer "Who is Prigozhin?".
    """
    j = start - 1
    while j >= 0 and words[j][:1].isupper():
        title = words[j].lower().rstrip(".")
        if title in TITLES and title not in HONORIFICS:
            return True
        j -= 1
    return False


def _described_after(words: Sequence[str], end: int) -> bool:
    """A relative clause, a role within a few words, or "is a ..." right after the name."""
    after = [w.lower() for w in words[end : end + APPOSITION_WORDS + 1]]
    if after[:1] == [","] and len(after) > 1:
        if after[1] in _RELATIVE or after[1] in _DETERMINERS:
            return True
        return any(w.rstrip(".") in TITLES for w in after[1:])
    return len(after) > 1 and after[0] in _COPULA and after[1] in _DETERMINERS


def _apposed_before(words: Sequence[str], start: int, end: int) -> bool:
    """A lower-case role, a comma, then the name: "the union's leader, Maria Lopez,"."""
    if start < 2 or words[start - 1] != ",":
        return False
    closed = end >= len(words) or words[end] in {",", "."}
    return closed and words[start - 2][:1].islower() and words[start - 2].isalpha()


def _initial(word: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]\.", word))


def _bare(word: str) -> str:
    return re.sub(r"(?:’s|'s|’|'|[?.!,])+$", "", word)
