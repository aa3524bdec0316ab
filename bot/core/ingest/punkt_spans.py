"""Punkt's sentence spans, decided only where a sentence may end, without importing NLTK.

NLTK's ``PunktSentenceTokenizer.span_tokenize`` already looks only at candidate ends
(a ``.``, ``?`` or ``!`` followed by punctuation or by white space and a token), but
for each one it builds a ``PunktToken`` object per word of the candidate's context and
runs its two annotation passes through generators; that, and importing NLTK (which
pulls in ``scipy.stats``) in every worker process, was most of the cost of splitting.
Here the same steps run over plain strings: the same candidate contexts (the word
before, the end mark, what follows), the same word tokenization of a context, the
same first-pass (abbreviation, ellipsis) and second-pass (collocation, orthographic,
sentence-starter, initial and number) rules with the parameters NLTK's trainer learnt,
and the same realignment of closing punctuation. The patterns are built from the same
character classes as NLTK 3.10's English ``PunktLanguageVars`` and ``PunktToken``,
written here in one line each, and run on the same ``regex`` engine
(``tests/core/test_punkt_spans.py`` checks the classes against NLTK's, the words and
candidate ends they find against NLTK's patterns', and the spans against
``span_tokenize``, on corpora and on random text built from tricky tokens). Training stays NLTK's (``punkt.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import regex

SENT_END_CHARS = (".", "?", "!")
PUNCTUATION = tuple(";:,.!?")  # PunktSentenceTokenizer.PUNCTUATION
_WHITESPACE = " \t\n\r\x0b\x0c"  # string.whitespace: what NLTK looks back for
# Orthographic context flags (NLTK's _ORTHO_*): upper/lower case first letter seen at
# the beginning of a sentence, in its middle, or where unknown.
_ORTHO_BEG_UC, _ORTHO_MID_UC, _ORTHO_UNK_UC = 1 << 1, 1 << 2, 1 << 3
_ORTHO_BEG_LC, _ORTHO_MID_LC, _ORTHO_UNK_LC = 1 << 4, 1 << 5, 1 << 6
_ORTHO_UC = _ORTHO_BEG_UC + _ORTHO_MID_UC + _ORTHO_UNK_UC
_ORTHO_LC = _ORTHO_BEG_LC + _ORTHO_MID_LC + _ORTHO_UNK_LC
_NUMBER = "##number##"

# The pieces of PunktLanguageVars (English), as NLTK composes them.
SENT_END_CLASS = "[" + re.escape("".join(SENT_END_CHARS)) + "]"
NON_WORD_CHARS = (
    r"(?:[)\";}\]\*:@\'\({\[\u2018\u2019\u201c\u201d\xab\xbb"
    + re.escape("".join(c for c in SENT_END_CHARS if c != "."))
    + "])"
)
WORD_START = r"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"
MULTI_CHAR_PUNCT = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"
# A word: a run of punctuation marks, or from a character that may start one up to
# white space, the end, punctuation, or a comma that ends the word; else one character.
_WORD_END = (
    rf"(?:\s|$|{NON_WORD_CHARS}|{MULTI_CHAR_PUNCT}|,(?=$|\s|{NON_WORD_CHARS}|{MULTI_CHAR_PUNCT}))"
)
_WORD_TOKENIZER = regex.compile(
    rf"({MULTI_CHAR_PUNCT}|(?={WORD_START})\S+?(?={_WORD_END})|\S)", re.UNICODE
)
# A candidate end: an end mark, then punctuation or white space and the next token.
_PERIOD_CONTEXT = regex.compile(
    rf"{SENT_END_CLASS}(?=(?P<after_tok>{NON_WORD_CHARS}|\s+(?P<next_tok>\S+)))", re.UNICODE
)
BOUNDARY_REALIGNMENT = r'["\')\]}\u2018\u2019\u201c\u201d\xab\xbb]+?(?:\s+|(?=--)|$)'
_REALIGN = regex.compile(BOUNDARY_REALIGNMENT, re.MULTILINE)
# PunktToken's type tests.
_ELLIPSIS = regex.compile(r"\.\.+$")
_NUMERIC = regex.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$")
_INITIAL = regex.compile(r"[^\W\d]\.$", re.UNICODE)


class PunktSpans:
    """Sentence spans as NLTK's ``span_tokenize(text, realign_boundaries=True)`` gives them."""

    def __init__(
        self,
        abbrev_types: Iterable[str],
        collocations: Iterable[tuple[str, str]],
        sent_starters: Iterable[str],
        ortho_context: Mapping[str, int],
    ) -> None:
        self._abbrev = frozenset(abbrev_types)
        self._collocations = frozenset((a, b) for a, b in collocations)
        self._starters = frozenset(sent_starters)
        self._ortho = dict(ortho_context)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The sentences of ``text`` as (start, end) character offsets."""
        slices = []
        last_break = 0
        for match, context in self._end_contexts(text):
            if self._contains_sentbreak(context):
                slices.append((last_break, match.end()))
                last_break = match.start("next_tok") if match.group("next_tok") else match.end()
        slices.append((last_break, len(text.rstrip())))
        return _realigned(text, slices)

    def _end_contexts(self, text: str) -> list[tuple[regex.Match[str], str]]:
        """Each candidate end with its context: the word before it, the mark, what follows.

        As ``_match_potential_end_contexts``: the word before starts after the last
        white space since the previous candidate's word (at that word, if there is none
        or it is the first character), and a candidate whose word overlaps the next
        one's is dropped.
        """
        out = []
        prev_start = prev_stop = 0
        previous = None
        for match in _PERIOD_CONTEXT.finditer(text):
            at = match.start()
            found = text.rfind(" ", prev_stop, at)
            # the other white space characters are not printable: seldom after the last space
            if not text[found + 1 if found >= 0 else prev_stop : at].isprintable():
                found = max(text.rfind(c, prev_stop, at) for c in _WHITESPACE)
            last = found - prev_stop
            start = last + prev_stop + 1 if last > 0 else prev_start
            if previous is not None and prev_stop <= start:
                out.append(
                    (
                        previous,
                        text[prev_start:prev_stop] + previous.group() + previous["after_tok"],
                    )
                )
            previous, prev_start, prev_stop = match, start, at
        if previous is not None:
            out.append(
                (previous, text[prev_start:prev_stop] + previous.group() + previous["after_tok"])
            )
        return out

    def _contains_sentbreak(self, context: str) -> bool:
        """Whether a token of ``context`` other than its last ends a sentence, after both passes.

        Most contexts are a word of ASCII letters, a period, a space and another such word
        ("Monday. The"): their tokens are that word with its period and the next word, so
        the first token's passes are run without tokenizing (``_tokens_sentbreak`` does
        the rest, as NLTK does all).
        """
        if context.isascii():
            head, dot_space, tail = context.partition(". ")
            if dot_space and head.isalpha() and tail.isalpha():
                first = (
                    (False, True, False) if head.lower() in self._abbrev else (True, False, False)
                )
                return self._second_pass(head + ".", first, tail, False)
        return self._tokens_sentbreak(context)

    def _tokens_sentbreak(self, context: str) -> bool:
        """``_contains_sentbreak`` on ``context``'s tokens, whatever their shape."""
        if "\n" in context:
            tokens = [t for line in context.split("\n") for t in _WORD_TOKENIZER.findall(line)]
        else:
            tokens = _WORD_TOKENIZER.findall(context)  # a blank line has no tokens either
        if len(tokens) < 2:
            return False
        abbrev = self._abbrev
        # First pass: (sentbreak, abbreviation, ellipsis) from each token alone.
        first: list[tuple[bool, bool, bool]] = []
        for tok in tokens:
            if tok in SENT_END_CHARS:
                first.append((True, False, False))
            elif tok.startswith("..") and _ELLIPSIS.match(tok):
                first.append((False, False, True))
            elif tok.endswith(".") and not tok.endswith(".."):
                low = tok[:-1].lower()
                if low in abbrev or low.split("-")[-1] in abbrev:
                    first.append((False, True, False))
                else:
                    first.append((True, False, False))
            else:
                first.append((False, False, False))
        # Second pass over each token but the last (the last cannot count).
        for i in range(len(tokens) - 1):
            if self._second_pass(tokens[i], first[i], tokens[i + 1], first[i + 1][0]):
                return True
        return False

    def _second_pass(
        self, tok: str, first: tuple[bool, bool, bool], next_tok: str, next_break: bool
    ) -> bool:
        """The token's sentence-break decision, given the next token (NLTK's 4.1-4.3)."""
        sentbreak, abbr, ellipsis = first
        if not tok.endswith("."):
            return sentbreak
        typ = _type_no_period(_type(tok))
        next_typ = _type(next_tok)
        if next_break:
            next_typ = _type_no_period(next_typ)
        is_initial = len(tok) == 2 and _INITIAL.match(tok) is not None
        if (typ, next_typ) in self._collocations:
            return False
        if (abbr or ellipsis) and not is_initial:
            starter = self._ortho_heuristic(next_tok, next_typ)
            if starter is True:
                return True
            if next_tok[0].isupper() and next_typ in self._starters:
                return True
        if is_initial or typ == _NUMBER:
            starter = self._ortho_heuristic(next_tok, next_typ)
            if starter is False:
                return False
            if (
                starter is None
                and is_initial
                and next_tok[0].isupper()
                and not (self._ortho.get(next_typ, 0) & _ORTHO_LC)
            ):
                return False
        return sentbreak

    def _ortho_heuristic(self, tok: str, typ: str) -> bool | None:
        """Whether ``tok`` starts a sentence by its case (None: unknown)."""
        if tok in PUNCTUATION:
            return False
        context = self._ortho.get(typ, 0)
        if tok[0].isupper() and (context & _ORTHO_LC) and not (context & _ORTHO_MID_UC):
            return True
        if tok[0].islower() and ((context & _ORTHO_UC) or not (context & _ORTHO_BEG_LC)):
            return False
        return None


def _type(tok: str) -> str:
    r"""PunktToken's type: lower case, a number as ``##number##``.

    ``_NUMERIC`` needs a digit after an optional "-" and an optional "." or ",";
    ``isdigit`` takes every character ``\d`` does, so a token without one there is no number.
    """
    low = tok.lower()
    at = 1 if low[:1] == "-" else 0
    if low[at : at + 1] in (".", ","):
        at += 1
    if not low[at : at + 1].isdigit():
        return low
    return _NUMERIC.sub(_NUMBER, low)


def _type_no_period(typ: str) -> str:
    return typ[:-1] if len(typ) > 1 and typ[-1] == "." else typ


def _realigned(text: str, slices: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Closing punctuation after a sentence's end moved into it (``_realign_boundaries``)."""
    out = []
    realign = 0
    for i, (start, stop) in enumerate(slices):
        start += realign
        if i + 1 == len(slices):
            if start < stop:
                out.append((start, stop))
            continue
        next_start, next_stop = slices[i + 1]
        found = _REALIGN.match(text[next_start:next_stop])
        if found:
            out.append((start, next_start + len(found.group(0).rstrip())))
            realign = found.end()
        else:
            realign = 0
            if start < stop:
                out.append((start, stop))
    return out
