"""Finding the source of a quotation with a model learned from annotated news.

The rules in ``attribution`` know a few shapes of reported speech. PolNeAR's train
split marks the source of every attribution in 840 articles of seven outlets, so a
linear-chain CRF (crfsuite) trained on it (``tools/train_sources.py``) tags each
token of a sentence as part of a source (``S``), a cue (``C``) or neither (``O``).
It is asked only where the rules found no speaker and the sentence carries a
quotation or a learned cue word, which is where rules miss house styles they were
not written for. The model is a small file shipped in ``bot/core/data``; no network,
no download. Its features are defined here once, for training and tagging alike.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib import resources

from bot.core.lexicon import LEARNED_CUES

log = logging.getLogger(__name__)
MODEL = "source_crf.crfsuite"
_TOKEN = re.compile(r"\w[\w’'.-]*\w|\w|[^\w\s]")
_OPEN, _CLOSE = '“"‘«', '”"’»'


def tokens(sentence: str) -> list[tuple[str, int, int]]:
    """The sentence's tokens with their character offsets."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(sentence)]


def _shape(word: str) -> str:
    if word.isupper() and len(word) > 1:
        return "UP"
    if word[:1].isupper():
        return "Cap"
    if word[:1].isdigit():
        return "9"
    if word.isalpha():
        return "low"
    return word if len(word) == 1 else "mix"


_NEAR = (-2, -1, 1, 2)
_CACHE_WORDS = 200_000
# A word's features: its own, with the quote state appended (outside, inside), then the
# ones it gives each neighbour at _NEAR. News repeats its words, so most tokens are
# formatted once per process, not per use.
_Known = tuple[tuple[tuple[str, ...], tuple[str, ...]], tuple[tuple[str, ...], ...]]
_WORD_FEATURES: dict[str, _Known] = {}
# What stands in for a neighbour past either end of the sentence, read like a word's.
_EDGE: _Known = (((), ()), tuple((f"{d}edge",) for d in _NEAR))


def _word_features(word: str) -> _Known:
    known = _WORD_FEATURES.get(word)
    if known is None:
        if len(_WORD_FEATURES) >= _CACHE_WORDS:
            _WORD_FEATURES.clear()
        low = word.lower()
        base = (f"w={low}", f"shape={_shape(word)}", f"cue={low in LEARNED_CUES}")
        own = (base[0], base[1], f"suf={low[-3:]}", base[2])
        known = _WORD_FEATURES[word] = (
            ((*own, "q=False"), (*own, "q=True")),
            tuple(tuple(f"{d}{b}" for b in base) for d in _NEAR),
        )
    return known


def features(words: list[str]) -> list[tuple[str, ...]]:
    """Per token, its crfsuite features: the word, its shape, neighbours, quote state."""
    inside, quoted = False, []
    for word in words:
        if word == "“" or (word == '"' and not inside):
            inside = True
        elif word == "”" or (word == '"' and inside):
            inside = False
        quoted.append(inside)
    padded = [_EDGE, _EDGE, *map(_word_features, words), _EDGE, _EDGE]
    out = [
        padded[i + 2][0][quoted[i]]
        + padded[i][1][0]
        + padded[i + 1][1][1]
        + padded[i + 3][1][2]
        + padded[i + 4][1][3]
        for i in range(len(words))
    ]
    if out:
        out[0] += ("first",)
    return out


def worth_tagging(sentence: str) -> bool:
    """Whether a sentence may report speech: a quotation mark or a learned cue word."""
    if any(mark in sentence for mark in _OPEN + _CLOSE):
        return True
    return any(w.lower() in LEARNED_CUES for w in _TOKEN.findall(sentence))


@lru_cache(maxsize=1)
def _tagger() -> object | None:
    """The shipped model, opened once per process; None without crfsuite or the model file.

    The tagger is an addition to the rules, which still work without it: its absence
    is logged once, not raised for every article.
    """
    try:
        import pycrfsuite
    except ImportError:
        log.warning("python-crfsuite is not installed: speakers are found by rules alone")
        return None
    tagger = pycrfsuite.Tagger()
    with resources.as_file(resources.files("bot.core").joinpath("data", MODEL)) as path:
        if not path.is_file():
            log.warning("%s is missing: speakers are found by rules alone", MODEL)
            return None
        tagger.open(str(path))
    return tagger


def learned_source(sentence: str) -> str | None:
    """The first source span the model tags in ``sentence``, as written, or None."""
    tagger = _tagger()
    found = tokens(sentence)
    if tagger is None or not found:
        return None
    labels = tagger.tag(features([w for w, _, _ in found]))  # type: ignore[attr-defined]
    start = end = None
    for (_, s, e), label in zip(found, labels, strict=True):
        if label == "S":
            start = s if start is None else start
            end = e
        elif start is not None:
            break
    return None if start is None or end is None else sentence[start:end]
