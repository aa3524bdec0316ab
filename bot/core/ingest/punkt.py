"""NLTK's Punkt with its regular expressions called directly, not through ``nltk.redos``.

Since NLTK 3.10 every Punkt pattern is compiled with the ``regex`` engine and run
through ``nltk.redos.TimedPattern``, which wraps each match in a Python call that
arms a timeout: a guard against caller-supplied patterns that backtrack without
end. Punkt's own patterns are fixed and linear, and it calls them several times per
word, so the wrapper doubled the cost of training and splitting (BBC News, one
core: training 4.3 s -> 2.1 s, splitting 1.3 s -> 0.6 s). Here the same pattern
texts, with the same flags, are compiled with the same ``regex`` engine and called
directly, so every match, and so every learnt parameter, is the same. Training is
what uses it; splitting with the learnt parameters is ``punkt_spans``'s, without NLTK.
The pattern texts are NLTK's own (read from its classes, not copied); only the
module-level ones NLTK keeps out of reach of subclasses are written out below.
"""

from __future__ import annotations

import re
from typing import Any

import regex
from nltk.tokenize.punkt import (
    PunktLanguageVars,
    PunktToken,
    PunktTrainer,
)

_TYPES_MAX = 1 << 18  # distinct words whose Punkt type is remembered
_TYPES: dict[str, str] = {}  # word -> its Punkt type (_Token)
_NON_PUNCT = regex.compile(r"[^\W\d]", re.UNICODE)  # nltk.tokenize.punkt._re_non_punct


class _LanguageVars(PunktLanguageVars):
    """English Punkt variables whose patterns are plain ``regex`` patterns."""

    __slots__ = ()

    re_boundary_realignment = regex.compile(
        PunktLanguageVars.re_boundary_realignment.pattern, re.MULTILINE
    )

    def _word_tokenizer_re(self) -> Any:
        try:
            return self._re_word_tokenizer
        except AttributeError:
            self._re_word_tokenizer = regex.compile(
                self._word_tokenize_fmt
                % {
                    "NonWord": self._re_non_word_chars,
                    "MultiChar": self._re_multi_char_punct,
                    "WordStart": self._re_word_start,
                },
                re.UNICODE | re.VERBOSE,
            )
            return self._re_word_tokenizer

    def period_context_re(self) -> Any:
        try:
            return self._re_period_context
        except AttributeError:
            self._re_period_context = regex.compile(
                self._period_context_fmt
                % {"NonWord": self._re_non_word_chars, "SentEndChars": self._re_sent_end_chars},
                re.UNICODE | re.VERBOSE,
            )
            return self._re_period_context


def _direct(pattern: Any) -> Any:
    """A ``TimedPattern``'s pattern and flags, compiled again without the wrapper."""
    return regex.compile(pattern.pattern, pattern.flags)


class _Token(PunktToken):
    """A Punkt token whose type tests are plain ``regex`` patterns, made with less work.

    Training makes one token per word of its two million characters. NLTK's
    ``__init__`` sets each annotation through ``setattr`` in two loops and types the
    word with a regex substitution; here the annotations are assigned directly and a
    word's type (which depends on the word alone) is looked up once it is known: the
    same attributes with the same values.
    """

    __slots__ = ()
    _RE_ELLIPSIS = _direct(PunktToken._RE_ELLIPSIS)
    _RE_NUMERIC = _direct(PunktToken._RE_NUMERIC)
    _RE_INITIAL = _direct(PunktToken._RE_INITIAL)
    _RE_ALPHA = _direct(PunktToken._RE_ALPHA)

    def __init__(self, tok: str, **params: Any) -> None:
        self.tok = tok
        typ = _TYPES.get(tok)
        if typ is None:
            if len(_TYPES) >= _TYPES_MAX:
                _TYPES.clear()
            typ = _TYPES[tok] = self._get_type(tok)
        self.type = typ
        self.period_final = tok.endswith(".")
        self.parastart = self.linestart = self.sentbreak = self.abbr = self.ellipsis = None
        for key, value in params.items():
            setattr(self, key, value)

    @property
    def is_non_punct(self) -> Any:
        """True if the token is either a number or is alphabetic."""
        return _NON_PUNCT.search(self.type)


def trainer() -> PunktTrainer:
    """A Punkt trainer that learns what NLTK's would, faster."""
    return PunktTrainer(lang_vars=_LanguageVars(), token_cls=_Token)
