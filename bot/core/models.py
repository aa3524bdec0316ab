"""Values that cross the boundary between the core and its adapters.

Everything here is immutable so a reply can be handed to a thread, cached for
the Discord "More" button or serialised without anyone changing it underneath.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class Source:
    """Where a quote comes from; a field the article does not show stays None."""

    id: str
    title: str | None = None
    publisher: str | None = None
    url: str | None = None
    published: str | None = None
    author: str | None = None

    def to_json(self) -> dict[str, str | None]:
        """The contract's ``source`` object (id, title, publisher, url, published, author)."""
        return {
            "id": self.id,
            "title": self.title,
            "publisher": self.publisher,
            "url": self.url,
            "published": self.published,
            "author": self.author,
        }


class BlockKind(Enum):
    """What a paragraph of an article is, as far as quoting goes."""

    CONTENT = "content"
    HEADING = "heading"
    BOILERPLATE = "boilerplate"


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph: a character range of the article text and its kind."""

    start: int
    end: int
    kind: BlockKind
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    """One loaded file: its metadata, its body text and how the body divides."""

    source: Source
    text: str
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True, slots=True)
class Sentence:
    """A quotable sentence, kept as offsets so a quote is a slice of the article.

    ``heading`` is the section heading above the paragraph (ranking context only).
    """

    article: int
    start: int
    end: int
    paragraph: int
    position: int
    heading: str | None = None


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who a sentence reports speaking, as found in the text (or resolved from it)."""

    speaker: str
    cue: str
    resolved_from: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """One excerpt: an exact slice ``text[start:end]`` of the first source's article."""

    quote: str
    sources: tuple[Source, ...]
    score: float
    article: int
    start: int
    end: int
    sentences: tuple[int, ...]
    matched_terms: tuple[str, ...] = ()
    speaker: str | None = None
    why: tuple[str, ...] = ()
    coverage: float | None = None

    @property
    def source(self) -> Source:
        """The article the quote was taken from (first of ``sources``)."""
        return self.sources[0]

    def to_json(self) -> dict[str, object]:
        """One element of the contract's ``answers`` list."""
        return {
            "quote": self.quote,
            "source": self.source.to_json(),
            "score": round(self.score, 6),
            "sources": [s.to_json() for s in self.sources],
            "start": self.start,
            "end": self.end,
            "sentence_ids": list(self.sentences),
            "matched_terms": list(self.matched_terms),
            "speaker": self.speaker,
            "why": list(self.why),
            "coverage": None if self.coverage is None else round(self.coverage, 4),
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one question: excerpts, or a reason for having none."""

    question: str
    answers: tuple[Answer, ...] = ()
    no_answer_reason: str | None = None
    offset: int = 0
    more: bool = False
    terms: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        """The ``ask --json`` object: question, answers, no_answer_reason (+ extras)."""
        return {
            "question": self.question,
            "answers": [a.to_json() for a in self.answers],
            "no_answer_reason": self.no_answer_reason,
            "offset": self.offset,
            "more": self.more,
            "terms": list(self.terms),
        }
