"""What kind of thing a question asks for, and whether a sentence offers one.

"How many ...", "When ...", "Who ..." expect a number, a time or a name. A
sentence that holds one the question does not already contain is a likelier
answer than one that only repeats the question's words. Lexical, explainable,
a tie-breaker on top of BM25 rather than a filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.core.answer.identity import asked_identity, describes

NUMBER, TIME, NAME, IDENTITY = "number", "time", "name", "identity"

_EXPECT = (
    (re.compile(r"^\s*(?:how\s+(?:many|much|long|old|far|big|large|tall|high|often)|what\s+(?:percentage|percent|number|amount|proportion|fraction)|at\s+what\s+(?:age|rate|speed))\b", re.I), NUMBER),
    (re.compile(r"^\s*(?:when|what\s+(?:year|years|date|day|month|time|century|decade|era|period)|in\s+what\s+(?:year|century|decade)|during\s+what|since\s+when)\b", re.I), TIME),
    (re.compile(r"^\s*(?:who|whom|whose|what\s+(?:person|people|man|woman|company|organi[sz]ation|team|group|country|city|state|nation|name)|where|which\s+(?:person|country|city|team|company))\b", re.I), NAME),
)  # fmt: skip
_WH = r"(?:who|whom|whose|what|which|when|where|how)\b"
# The question word need not open the question: a preposition may come first ("On what
# date ...", "To whom ...", "For how long ..."), or a clause ("In 2012, how many ...",
# "According to the text, how much ...", "When UPT bought ABC, what was ... called?").
# A clause is skipped only when the question does not open with a question word other than
# "when", which also opens clauses ("How many networks ..., when it comes to ..." stays
# a "how many" question).
_LEADING_CLAUSE = re.compile(
    rf"^(?!\s*(?:who|whom|whose|what|which|where|how)\b)[^,?]{{1,80}},\s*(?={_WH})", re.I
)
_LEADING_PREPOSITION = re.compile(
    r"^\s*(?:in|on|at|by|for|from|to|of|during|since|until|after|before|within|under|with|"
    rf"around|about|through|between|among|into|over|against|besides|near|throughout)\s+(?={_WH})",
    re.I,
)
_MONTHS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
_TIME = re.compile(
    rf"\b(?:1\d{{3}}|20\d\d|\d{{1,2}}(?:st|nd|rd|th)\s+century|{_MONTHS}|\d{{3,4}}s)\b"
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|dozen|half)\b",
    re.I,
)
# A capitalised word not opening the text or a sentence. The capital comes first and the
# context is checked behind it, so the search can skip straight to capitals.
_CAPITALISED = re.compile(r"[A-Z](?<=\b[A-Z])(?<!^[A-Z])(?<![.!?]\s[A-Z])[\w’'-]+")


def expected(question: str) -> str | None:
    """The kind of answer the question's opening asks for, if it says.

    "Who is Andrei Rudenko?" asks what a named person is (``identity``), not for a name.
    A leading clause is skipped, then the question is read with and without a leading
    preposition: "during what ..." is a time whatever follows, "on what date" is one
    because "what date" is.
    """
    if asked_identity(question):
        return IDENTITY
    opening = _LEADING_CLAUSE.sub("", question, count=1)
    for text in dict.fromkeys((opening, _LEADING_PREPOSITION.sub("", opening, count=1))):
        for pattern, kind in _EXPECT:
            if pattern.match(text):
                return kind
    return None


def offers(kind: str, question: str) -> Callable[[str], bool]:
    """A test of whether a sentence holds a ``kind`` of thing that ``question`` does not say.

    Made once per question and applied to each candidate sentence.
    """
    if kind == IDENTITY:
        names = asked_identity(question) or frozenset()
        return lambda sentence: describes(sentence, names)
    pattern = {NUMBER: _NUMBER, TIME: _TIME, NAME: _CAPITALISED}[kind]
    asked = {m.group().casefold() for m in pattern.finditer(question)}
    if kind == NAME:
        asked |= {w.casefold() for w in re.findall(r"[\w’'-]+", question)}

    def offered(sentence: str) -> bool:
        return any(m.group().casefold() not in asked for m in pattern.finditer(sentence))

    return offered
