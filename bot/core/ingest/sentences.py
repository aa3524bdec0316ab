"""Sentence splitting with NLTK Punkt, offline, as character spans of the article.

Punkt is trained on the corpus being indexed (it is an unsupervised method made
for exactly that) and given a curated abbreviation list, so nothing is ever
downloaded. Spans, not strings, come out: a quote is always a slice of the
original text, verbatim by construction.

NLTK is imported only when a splitter trains or hands out its parameters as NLTK's
``PunktParameters``: importing it pulls in scipy.stats and much more (about a second),
which a start that only loads a saved index and answers never needs, and neither does
a worker process that splits with saved parameters (``punkt_spans`` splits as NLTK's
Punkt does, without it).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.core import lexicon
from bot.core.ingest.punkt_spans import PunktSpans

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktParameters

TRAINING_CHARS = 2_000_000
_ELLIPSIS_END = re.compile(r"(?:…|\.\.\.|\. \. \.)[\"'”’]?\s*$")
_OPEN, _CLOSE = "“", "”"


@cache
def curated_abbreviations() -> frozenset[str]:
    """The bundled abbreviation list (``data/abbreviations.txt``)."""
    return frozenset(entry.lower() for entry in lexicon.entries("abbreviations.txt"))


class SentenceSplitter:
    """Punkt with corpus-trained parameters plus the curated abbreviations.

    Made from ``PunktParameters`` or from their saved form (``saved_form``); in the
    second case Punkt itself is built only when first needed.
    """

    def __init__(
        self, params: PunktParameters | None = None, saved: Mapping[str, Any] | None = None
    ) -> None:
        if (params is None) == (saved is None):
            raise ValueError("a splitter needs either Punkt parameters or their saved form")
        self._params = params
        self._saved = saved
        self._punkt: PunktSpans | None = None

    @classmethod
    def from_saved(cls, saved: Mapping[str, Any]) -> SentenceSplitter:
        """A splitter from the parameters ``saved_form`` gave; NLTK is not imported yet."""
        return cls(saved=saved)

    @classmethod
    def train(cls, texts: Iterable[str]) -> SentenceSplitter:
        """Learn Punkt parameters from ``texts`` (up to ``TRAINING_CHARS`` of them)."""
        chunks = training_chunks(texts)
        from bot.core.ingest.punkt import trainer as punkt_trainer

        trainer = punkt_trainer()
        if chunks:
            trainer.train("\n\n".join(chunks), finalize=True)
        params = trainer.get_params()
        params.abbrev_types.update(curated_abbreviations())
        return cls(params)

    @classmethod
    def untrained(cls) -> SentenceSplitter:
        """A splitter that knows only the curated abbreviations."""
        from nltk.tokenize.punkt import PunktParameters

        params = PunktParameters()
        params.abbrev_types.update(curated_abbreviations())
        return cls(params)

    @property
    def params(self) -> PunktParameters:
        """The parameters in use (for worker processes, which rebuild the splitter)."""
        if self._params is None:
            self._params = _params_of(self._saved or {})
        return self._params

    def saved_form(self) -> dict[str, Any]:
        """The parameters as plain JSON data, in a canonical order, so an index can record them."""
        if self._saved is not None:
            return dict(self._saved)
        params = self.params
        return {
            "abbrev_types": sorted(params.abbrev_types),
            "collocations": sorted([a, b] for a, b in params.collocations),
            "sent_starters": sorted(params.sent_starters),
            "ortho_context": dict(sorted(params.ortho_context.items())),
        }

    def spans(self, paragraph: str) -> list[tuple[int, int]]:
        """Sentence spans of one paragraph, offsets relative to the paragraph.

        Punkt's spans (``punkt_spans``: NLTK's decisions, without importing NLTK), with
        a split after an ellipsis inside a quotation joined again.
        """
        if self._punkt is None:
            self._punkt = self._spans_maker()
        return _keep_quoted_ellipses(paragraph, self._punkt.spans(paragraph))

    def _spans_maker(self) -> PunktSpans:
        if self._params is None:
            saved = self._saved or {}
            return PunktSpans(
                saved["abbrev_types"],
                [(a, b) for a, b in saved["collocations"]],
                saved["sent_starters"],
                saved["ortho_context"],
            )
        params = self._params
        return PunktSpans(
            params.abbrev_types, params.collocations, params.sent_starters, params.ortho_context
        )


def training_chunks(texts: Iterable[str]) -> list[str]:
    """The first ``TRAINING_CHARS`` characters of ``texts``: what ``train`` learns from.

    Reads ``texts`` no further than it needs (a build's texts are read from files).
    """
    budget, chunks = TRAINING_CHARS, []
    for text in texts:
        if budget <= 0:
            break
        chunks.append(text[:budget])
        budget -= len(chunks[-1])
    return chunks


def _params_of(saved: Mapping[str, Any]) -> PunktParameters:
    """``PunktParameters`` from their ``saved_form``."""
    from nltk.tokenize.punkt import PunktParameters

    params = PunktParameters()
    params.abbrev_types = set(saved["abbrev_types"])
    params.collocations = {(a, b) for a, b in saved["collocations"]}
    params.sent_starters = set(saved["sent_starters"])
    params.ortho_context = defaultdict(int, saved["ortho_context"])
    return params


def _keep_quoted_ellipses(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Re-join a split made after an ellipsis while a quotation is still open."""
    if "…" not in text and "..." not in text and ". . ." not in text:
        return spans  # no piece of the text can end in an ellipsis: most paragraphs
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
