"""Sentence splitting with NLTK Punkt, offline, as character spans of the article.

Punkt is trained on the corpus being indexed (it is an unsupervised method made
for exactly that) and given a curated abbreviation list, so nothing is ever
downloaded. Spans, not strings, come out: a quote is always a slice of the
original text, verbatim by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer, PunktTrainer

from bot.core import lexicon

TRAINING_CHARS = 2_000_000
_ELLIPSIS_END = re.compile(r"(?:…|\.\.\.|\. \. \.)[\"'”’]?\s*$")
_OPEN, _CLOSE = "“", "”"


@cache
def curated_abbreviations() -> frozenset[str]:
    """The bundled abbreviation list (``data/abbreviations.txt``)."""
    return frozenset(entry.lower() for entry in lexicon.entries("abbreviations.txt"))


class SentenceSplitter:
    """Punkt with corpus-trained parameters plus the curated abbreviations."""

    def __init__(self, params: PunktParameters) -> None:
        self._punkt = PunktSentenceTokenizer(params)

    @classmethod
    def train(cls, texts: Iterable[str]) -> SentenceSplitter:
        """Learn Punkt parameters from ``texts`` (up to ``TRAINING_CHARS`` of them)."""
        budget, chunks = TRAINING_CHARS, []
        for text in texts:
            if budget <= 0:
                break
            chunks.append(text[:budget])
            budget -= len(chunks[-1])
        trainer = PunktTrainer()
        if chunks:
            trainer.train("\n\n".join(chunks), finalize=True)
        params = trainer.get_params()
        params.abbrev_types.update(curated_abbreviations())
        return cls(params)

    @classmethod
    def untrained(cls) -> SentenceSplitter:
        """A splitter that knows only the curated abbreviations."""
        params = PunktParameters()
        params.abbrev_types.update(curated_abbreviations())
        return cls(params)

    @property
    def params(self) -> PunktParameters:
        """The parameters in use, so an index can record and restore them."""
        return self._punkt._params

    def spans(self, paragraph: str) -> list[tuple[int, int]]:
        """Sentence spans of one paragraph, offsets relative to the paragraph."""
        raw = list(self._punkt.span_tokenize(paragraph, realign_boundaries=True))
        return _keep_quoted_ellipses(paragraph, raw)


def _keep_quoted_ellipses(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Re-join a split made after an ellipsis while a quotation is still open."""
    merged: list[tuple[int, int]] = []
    open_quotes = counted = 0  # quotes opened minus closed in text[:counted], kept running
    for start, end in spans:
        if merged:
            prev_start, prev_end = merged[-1]
            piece = text[prev_start:prev_end]
            open_quotes += text.count(_OPEN, counted, prev_end) - text.count(
                _CLOSE, counted, prev_end
            )
            counted = prev_end
            if _ELLIPSIS_END.search(piece) and (open_quotes > 0 or text[start:end][:1].islower()):
                merged[-1] = (prev_start, end)
                continue
        merged.append((start, end))
    return merged
