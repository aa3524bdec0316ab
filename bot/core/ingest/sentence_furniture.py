"""Is this sentence page furniture? A small fitted model over the sentence's own shape.

``clean.classify`` drops whole paragraphs of furniture by patterns. What gets past
it on real pages is furniture *inside* article text as an extractor returns it:
dates and times on their own, photo credits, "Related:"/"SEE MORE:" lines, keyword
lists, a person-link hover card run into the text ("Ilhan OmarIlhan OmarHillicon
Valley: ..."), a byline in another language ("Publicado por: ..."). No outlet's
strings are listed here: the model reads the shape of a sentence (length, digits,
capitals, function words, a final stop, a label and colon at its head, words run
together, separators, links, how much of it repeats the article's title), and was fitted by ``tools/fit_furniture.py`` on the
sentences of half the 181 pages of the extraction benchmark, labelled by the
benchmark's ground truth (body or not), and reported on the other half.

Shipped as coefficients (``data/furniture_model.json``); a sentence the model finds
furniture at or above its threshold is not quotable. The file's digest is part of
the saved index's fingerprint, since it decides which sentences are indexed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from operator import itemgetter

from bot.core.lexicon import words

MODEL_FILE = "furniture_model.json"
FEATURES = (
    "log_words",
    "digit_share",
    "capital_share",
    "function_share",
    "final_stop",
    "no_lower_word",
    "link",
    "separator",
    "label_colon",
    "date_only",
    "whole_paragraph",
    "run_together",
    "comma_density",
    "second_person",
    "copyright",
    "title_share",
    "opens_with_title",
    "near_end",
    "short_no_stop",
    "bracket_tag",
)
# The features that cost most to find, all 0 or 1: asked last, and only when the others
# leave the model's decision open (``FurnitureModel.surely_not``).
LATE_FEATURES = ("link", "separator", "label_colon", "date_only", "run_together", "second_person")
_LATE_AT = tuple(FEATURES.index(name) for name in LATE_FEATURES)
# A sentence is settled early only this far below the threshold (in the model's log-odds),
# and only for a threshold this far from 0 and 1: far beyond any rounding of the sums.
_MARGIN = 1e-6
_SURE_THRESHOLDS = (0.001, 0.999)

_WORD = re.compile(r"[^\W\d_][\w’'-]*")
# ``_WORD`` for ASCII text, where its classes are these ranges (a quarter faster)
_ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]*")
# A final stop: one of these, then closing marks and white space up to the end.
_STOPS = (".", "!", "?", "…")
_CLOSERS = "\"'”’)]"
# What str.split() and str.isspace() take for white space in ASCII text.
_ASCII_SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_ASCII_SPACE_BYTES = _ASCII_SPACES.encode("ascii")
_LINK = re.compile(r"https?://|www\.|\S@\S|(?:^|\s)[@#]\w|\.(?:com|org|net)\b", re.I)
# Every way of _LINK holds one of these (no letter in them has another case form than
# its lower() one), so a sentence without any skips the search: most have none.
_LINK_MARKS = ("://", "www.", "@", "#", ".com", ".org", ".net")
# Separator marks, or two dashes or slashes set off by white space; asked in two searches,
# the second only when a dash or slash is there (the two-way pattern tries every space).
_SEPARATOR_MARK = re.compile(r"[|•»«►▶·]")
_SEPARATOR_PAIR = re.compile(r"\s[-–—/]\s.*\s[-–—/]\s")
_DASHES = ("-", "–", "—", "/")
_LABEL = re.compile(r"^\W*(?:[A-Z]\S*\s+){0,2}[A-Z]\S*?:(?:\s|$)")
# "[a-z][A-Z][a-z]", led by the capital so the search skips to capitals
_RUN = re.compile(r"[A-Z](?<=[a-z][A-Z])[a-z]")
# a capital and lower-case letters after a lower-case letter; led by the capital, which
# lets the search skip to capitals (a leading look-behind is tried at every position)
_GLUE = re.compile(r"[A-Z](?<=[a-z][A-Z])[a-z]+")
_BARE_LINK = re.compile(
    r"[(<\[]?(?:https?://|www\.|mailto:)?[\w.-]+(?:\.[a-z]{2,}|@[\w.-]+)\S*[)>\]]?", re.I
)
_TAG = re.compile(r"\[[A-Z][A-Z ]+\]")
_YOU = re.compile(r"\b(?:you|your|yours)\b", re.I)
_COPYRIGHT = re.compile(r"©|\(c\)|\ball rights reserved\b|\bcopyright\b", re.I)
_COPYRIGHT_MARKS = ("©", "(c)", "all rights reserved", "copyright")
# The only characters outside ASCII that a re.I pattern takes for an ASCII letter, and
# whose lower() is not that letter: dotted and dotless i, long s.
_FOLDS_TO_ASCII = "İıſ"
# one word-boundary test for all the names (a third of the cost of one per group)
_MONTH_DAY = re.compile(
    r"\d|\b(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
    r"|mon|tue|wed|thu|fri|sat|sun)[a-z]*|am|pm|gmt|utc|[ecmp][sd]t)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class FurnitureModel:
    """Standardised features, logistic weights, and the chance at which a sentence is dropped."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    threshold: float
    # (feature index, weight, mean, scale) of the features known early, and the log-odds
    # an early sum must stay under to settle a sentence: the threshold's log-odds, less
    # the most the late features can add (None: never settle early)
    _early: tuple[tuple[int, float, float, float], ...] = field(
        init=False, repr=False, compare=False
    )
    _early_cut: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        terms = list(
            zip(range(len(self.weights)), self.weights, self.mean, self.scale, strict=True)
        )
        late_most = sum(
            max(w * (0.0 - m) / s, w * (1.0 - m) / s) for i, w, m, s in terms if i in _LATE_AT
        )
        low, high = _SURE_THRESHOLDS
        cut = None
        if low < self.threshold < high:
            cut = math.log(self.threshold / (1.0 - self.threshold)) - late_most - _MARGIN
        object.__setattr__(self, "_early", tuple(t for t in terms if t[0] not in _LATE_AT))
        object.__setattr__(self, "_early_cut", cut)

    def surely_not(self, values: Sequence[float]) -> bool:
        """Whether the chance stays under the threshold whatever the ``LATE_FEATURES`` are.

        ``values``: the features in ``FEATURES`` order; those of ``LATE_FEATURES`` are not
        read. Each late feature is 0 or 1, so the most it can add to the log-odds is
        known; most sentences are far below the threshold without it.
        """
        if self._early_cut is None:
            return False
        z = self.intercept + sum([w * (values[i] - m) / s for i, w, m, s in self._early])
        return z < self._early_cut

    def chance(self, values: Sequence[float]) -> float:
        """The modelled chance that a sentence with these features is furniture."""
        z = self.intercept + sum(  # a list sums as the generator did, a fifth faster
            [
                w * (x - m) / s
                for w, x, m, s in zip(self.weights, values, self.mean, self.scale, strict=True)
            ]
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def features(
    sentence: str, whole_paragraph: bool, title: str | None, after: int
) -> tuple[float, ...]:
    """The shape of one sentence, as the model's inputs (in ``FEATURES`` order).

    ``title``: the article's title, when known. A line that repeats it is the
    headline or a teaser of it, not the article's text. ``after``: how many content
    paragraphs follow this sentence's (footers and sign-offs come last).
    """
    values, found, lowered = _early_features(sentence, whole_paragraph, title, after)
    return _with_late(values, sentence, found, lowered)


def _early_features(
    sentence: str, whole_paragraph: bool, title: str | None, after: int
) -> tuple[list[float], list[str], str]:
    """The features but ``LATE_FEATURES`` (left 0.0), the words and the lower-cased sentence."""
    found = (_ASCII_WORD if sentence.isascii() else _WORD).findall(sentence)
    # one casefold() for all the words: it maps each character alone, and no word holds "\n"
    folded = "\n".join(found).casefold().split("\n") if found else []
    heading, in_title = _title_words(title or "")
    n = max(len(found), 1)
    digits, glyphs = _digits_and_glyphs(sentence)
    lowered = sentence.lower()
    final = _ends_with_stop(sentence)
    values = [
        math.log1p(len(found)),
        digits / max(glyphs, 1),
        sum(map(str.isupper, map(itemgetter(0), found))) / n,
        sum(map(_function_words().__contains__, folded)) / n,
        float(final),
        float(_no_lower_word(found)),
        0.0,  # link
        0.0,  # separator
        0.0,  # label_colon
        0.0,  # date_only
        float(whole_paragraph),
        0.0,  # run_together
        sentence.count(",") / n,
        0.0,  # second_person
        float(_may_hold(sentence, lowered, _COPYRIGHT_MARKS) and bool(_COPYRIGHT.search(sentence))),
        sum(map(in_title.__contains__, folded)) / n if heading else 0.0,
        float(bool(heading) and tuple(folded[: min(5, len(heading))]) == heading[:5]),
        1.0 / (1 + after),
        float(len(found) <= 8 and not final),
        float("[" in sentence and bool(_TAG.search(sentence))),
    ]
    return values, found, lowered


def _with_late(
    values: list[float], sentence: str, found: list[str], lowered: str
) -> tuple[float, ...]:
    """``values`` with ``LATE_FEATURES`` filled in, as a tuple."""
    link, separator, label, date_only, run, you = _LATE_AT
    values[link] = float(_has_link(sentence, lowered))
    values[separator] = float(_has_separator(sentence))
    values[label] = float(":" in sentence and bool(_LABEL.match(sentence)))
    values[date_only] = float(_date_only(sentence, found))
    values[run] = float(bool(_RUN.search(sentence)))
    values[you] = float(_may_hold(sentence, lowered, ("you",)) and bool(_YOU.search(sentence)))
    return tuple(values)


def _digits_and_glyphs(sentence: str) -> tuple[int, int]:
    """How many characters of ``sentence`` are digits (``isdigit``), and how many are not space.

    ASCII text is counted as bytes, each class deleted in one ``bytes.translate`` (its
    digits are 0-9, its white space the ten characters ``split()`` splits on), not a
    ``count`` per character of the class; other text character by character.
    """
    if sentence.isascii():
        raw = sentence.encode("ascii")
        return len(raw) - len(raw.translate(None, b"0123456789")), len(
            raw.translate(None, _ASCII_SPACE_BYTES)
        )
    glyphs = "".join(sentence.split())  # split() and isspace() know the same spaces
    return sum(map(str.isdigit, glyphs)), len(glyphs)


def _ends_with_stop(sentence: str) -> bool:
    """A stop, closing quotes or brackets, white space, then the end (as ``clean.ends_sentence``)."""
    return sentence.rstrip().rstrip(_CLOSERS).endswith(_STOPS)


def _no_lower_word(found: Sequence[str]) -> bool:
    """No word of three letters or more starts in lower case (one soon does: stop there)."""
    return not any(word[0].islower() and len(word) >= 3 for word in found)


def _has_separator(sentence: str) -> bool:
    if _SEPARATOR_MARK.search(sentence):
        return True
    return any(map(sentence.__contains__, _DASHES)) and bool(_SEPARATOR_PAIR.search(sentence))


def _date_only(sentence: str, found: Sequence[str]) -> bool:
    """Fewer than two words are left once digits, dates and times are taken out.

    Taking them out (a substitution over the whole sentence) is the costly part, and
    most sentences plainly keep two words: a word of ``found`` (``_WORD`` matches)
    that ``_MONTH_DAY`` does not match at its start keeps its first letter, and so
    starts a word of its own in what is left (what ends a ``_WORD`` match is neither
    a letter nor a digit, so the substitution keeps it). Two such words settle it.
    """
    kept = 0
    for word in found:
        if _MONTH_DAY.match(word) is None:
            kept += 1
            if kept == 2:
                return False
    return len(_WORD.findall(_MONTH_DAY.sub(" ", sentence))) < 2


def _may_hold(sentence: str, lowered: str, marks: tuple[str, ...]) -> bool:
    """Whether a case-blind pattern made of ``marks`` can match: a cheap test before it runs.

    ``lowered`` is ``sentence.lower()``. A pattern compiled with ``re.I`` also takes
    "İ", "ı" and "ſ" for "i" and "s", which ``lower()`` does not turn into them, so a
    sentence holding one of those is always searched.
    """
    if any(map(lowered.__contains__, marks)):
        return True
    return not sentence.isascii() and any(map(sentence.__contains__, _FOLDS_TO_ASCII))


def card_start(sentence: str) -> int | None:
    """Where a person-link hover card run into the text begins, if one does.

    A page that shows a card when a name is pointed at leaves, once its text is
    extracted, the name glued to a second copy of it and the card's headlines:
    "... kill Rep. Ilhan OmarIlhan OmarHillicon Valley: ...". The mark is a word glued
    to the one before (a lower-case letter then a capital, no space) that repeats a
    word just before it; handles, links and camel-case brands ("@RobertMaguire",
    "www.DearAbby.com", "iPhone") are not. The sentence is quoted up to there.
    """
    for glued in _GLUE.finditer(sentence):
        token_start = sentence.rfind(" ", 0, glued.start()) + 1
        token = sentence[token_start : sentence.find(" ", glued.start()) % (len(sentence) + 1)]
        if any(c in token for c in "@./()#"):
            continue
        before = sentence[max(0, glued.start() - 40) : glued.start()]
        if re.search(rf"\b{re.escape(glued.group())}\b", before):
            return len(sentence[: glued.start()].rstrip()) or None
    return None


def is_bare_link(sentence: str) -> bool:
    """A sentence that is a web or mail address and nothing else."""
    stripped = sentence.strip()
    # no part of _BARE_LINK takes a space: most sentences are settled without the match
    return " " not in stripped and bool(_BARE_LINK.fullmatch(stripped))


def is_furniture_sentence(
    sentence: str, whole_paragraph: bool, title: str | None, after: int
) -> bool:
    """Whether the fitted model finds ``sentence`` page furniture (arguments: ``features``).

    Most sentences are settled by the features that are cheap to find
    (``FurnitureModel.surely_not``); the rest are scored on all of them.
    """
    model = bundled_model()
    values, found, lowered = _early_features(sentence, whole_paragraph, title, after)
    if model.surely_not(values):
        return False
    return model.chance(_with_late(values, sentence, found, lowered)) >= model.threshold


def _has_link(sentence: str, lowered: str) -> bool:
    return any(map(lowered.__contains__, _LINK_MARKS)) and bool(_LINK.search(sentence))


@lru_cache(maxsize=64)
def _title_words(title: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """The title's words, folded: an article's sentences ask for them one after another."""
    heading = tuple(w.casefold() for w in _WORD.findall(title))
    return heading, frozenset(heading)


@cache
def _function_words() -> frozenset[str]:
    return words("stopwords.txt")


@cache
def bundled_model() -> FurnitureModel:
    """The model shipped in ``bot/core/data``; one that does not fit the code is an error."""
    data = json.loads(_model_text())
    if tuple(data.get("features", ())) != FEATURES:
        raise ValueError(
            f"{MODEL_FILE}: features differ from the code's; run tools/fit_furniture.py"
        )
    vectors = [tuple(float(v) for v in data[k]) for k in ("mean", "scale", "weights")]
    if any(len(v) != len(FEATURES) for v in vectors) or min(vectors[1]) <= 0:
        raise ValueError(f"{MODEL_FILE}: mean, scale and weights need one value per feature")
    return FurnitureModel(*vectors, float(data["intercept"]), float(data["threshold"]))


@cache
def model_digest() -> str:
    """A hash of the model file, for the saved index's fingerprint."""
    return hashlib.sha256(_model_text().encode("utf-8")).hexdigest()[:16]


def _model_text() -> str:
    return resources.files("bot.core").joinpath(f"data/{MODEL_FILE}").read_text("utf-8")
