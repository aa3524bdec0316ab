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
from collections.abc import Callable
from functools import lru_cache
from importlib import resources

from bot.core.ingest.attribution import WordGate
from bot.core.lexicon import LEARNED_CUES

log = logging.getLogger(__name__)
MODEL = "source_crf.crfsuite"
_TOKEN = re.compile(r"\w[\w’'.-]*\w|\w|[^\w\s]")
_OPEN, _CLOSE = '“"‘«', '”"’»'
_MARK = re.compile(f"[{re.escape(_OPEN + _CLOSE)}]")
_CUE_GATE = WordGate(LEARNED_CUES)


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
        known = _WORD_FEATURES[word] = _features_of_word(word)
    return known


def _features_of_word(word: str) -> _Known:
    low = word.lower()
    base = (f"w={low}", f"shape={_shape(word)}", f"cue={low in LEARNED_CUES}")
    own = (base[0], base[1], f"suf={low[-3:]}", base[2])
    return (
        ((*own, "q=False"), (*own, "q=True")),
        tuple(tuple(f"{d}{b}" for b in base) for d in _NEAR),
    )


def _quote_states(words: list[str]) -> list[bool]:
    """Per word, whether it stands inside a quotation (the ``q`` feature)."""
    if "“" not in words and '"' not in words:
        return [False] * len(words)
    inside, quoted = False, []
    for word in words:
        if word == "“" or (word == '"' and not inside):
            inside = True
        elif word == "”" or (word == '"' and inside):
            inside = False
        quoted.append(inside)
    return quoted


def features(words: list[str]) -> list[tuple[str, ...]]:
    """Per token, its crfsuite features: the word, its shape, neighbours, quote state."""
    quoted = _quote_states(words)
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


class _Model:
    """The shipped model, opened, with the attributes it knows.

    crfsuite drops an attribute it does not know before it scores a token, keeping
    the others in order, so leaving the unknown ones out of what is passed, and
    passing the rest as UTF-8 bytes, tags the same while it converts fewer strings.
    The parsed dump must list as many attributes as the model's header counts;
    otherwise nothing is left out.
    """

    def __init__(self, tagger: object) -> None:
        self.tagger = tagger
        # Each known attribute's bytes; None: pass every attribute (the dump was not read whole).
        self._bytes: dict[str, bytes] | None = None
        try:  # pycrfsuite writes the dump to a temporary file and parses its text
            info = tagger.info()  # type: ignore[attr-defined]
        except (OSError, ValueError, AttributeError, AssertionError) as error:
            log.info("the tagger is passed every attribute (model dump unread: %s)", error)
        else:
            if len(info.attributes) == int(info.header.get("num_attrs", -1)):
                self._bytes = {a: a.encode() for a in info.attributes}
        self._words = _KeptWords(self._kept_word)
        self.edge = self._kept(_EDGE)
        self.first = self._kept_one(("first",))
        self._quote_marks = self._kept_one(("q=False",)), self._kept_one(("q=True",))
        # Per (shape, cue): the own and per-neighbour attributes they give, as looked up.
        self._shapes: dict[tuple[str, bool], tuple[tuple[bytes | None, ...], ...]] = {}

    def _kept_one(self, names: tuple[str, ...]) -> tuple[bytes, ...]:
        if self._bytes is None:
            return tuple(n.encode() for n in names)
        return tuple(filter(None, map(self._bytes.get, names)))  # no attribute is b""

    def _kept(self, found: _Known) -> _KnownBytes:
        (outside, inside), near = found
        return (
            (self._kept_one(outside), self._kept_one(inside)),
            tuple(self._kept_one(names) for names in near),
        )

    def _kept_word(self, word: str) -> _KnownBytes:
        """``_kept(_features_of_word(word))``, with only the attributes that name the word formatted.

        Most words are new to the cache once; formatting their shape and cue attributes
        again for each would be most of the cost of a first sight.
        """
        if self._bytes is None:
            return self._kept(_features_of_word(word))
        get = self._bytes.get
        low = word.lower()
        key = (_shape(word), low in LEARNED_CUES)
        shaped = self._shapes.get(key)
        if shaped is None:
            shape, cue = f"shape={key[0]}", f"cue={key[1]}"
            shaped = self._shapes[key] = (
                (get(shape), get(cue)),
                *((get(f"{d}{shape}"), get(f"{d}{cue}")) for d in _NEAR),
            )
        (shape_b, cue_b), *near = shaped
        own = tuple(filter(None, (get(f"w={low}"), shape_b, get(f"suf={low[-3:]}"), cue_b)))
        outside, inside = self._quote_marks
        return (
            (own + outside, own + inside),
            tuple(
                tuple(filter(None, (get(f"{d}w={low}"), near_shape, near_cue)))
                for d, (near_shape, near_cue) in zip(_NEAR, near, strict=True)
            ),
        )

    def rows(self, words: list[str]) -> list[tuple[bytes, ...]]:
        """``features(words)`` as tagged: each row's known attributes, in order, as bytes."""
        quoted = _quote_states(words)
        edge = self.edge
        padded = [edge, edge, *map(self._words.__getitem__, words), edge, edge]
        out = [
            at[0][q] + left2[1][0] + left1[1][1] + right1[1][2] + right2[1][3]
            for left2, left1, at, right1, right2, q in zip(  # five-word windows, one a word
                padded, padded[1:], padded[2:], padded[3:], padded[4:], quoted, strict=False
            )
        ]
        if out:
            out[0] += self.first
        return out


_KnownBytes = tuple[tuple[tuple[bytes, ...], tuple[bytes, ...]], tuple[tuple[bytes, ...], ...]]


class _KeptWords(dict[str, _KnownBytes]):
    """``_word_features(word)`` as tagged, per word: known attributes only, as bytes.

    A dict whose misses fill it, so that looking a known word up costs no Python call.
    """

    def __init__(self, kept: Callable[[str], _KnownBytes]) -> None:
        super().__init__()
        self._keep = kept

    def __missing__(self, word: str) -> _KnownBytes:
        if len(self) >= _CACHE_WORDS:
            self.clear()
        kept = self[word] = self._keep(word)
        return kept


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


@lru_cache(maxsize=1)
def _model() -> _Model | None:
    tagger = _tagger()
    return None if tagger is None else _Model(tagger)


def source_if_worth(sentence: str) -> str | None:
    """The first source span the model tags in a sentence ``worth_tagging``, as written, or None.

    The worth test and the tagging read the sentence's words once.
    """
    model = _model()
    if model is None:
        return None
    if _MARK.search(sentence) is None:
        # Most sentences fail this exact test without being tokenized.
        if not _CUE_GATE.may_hold(sentence):
            return None
        words = _TOKEN.findall(sentence)
        if not any(w.lower() in LEARNED_CUES for w in words):
            return None
        return _source(model, sentence, words)
    return _source(model, sentence, _TOKEN.findall(sentence))


def _source(model: _Model, sentence: str, words: list[str]) -> str | None:
    if not words:
        return None
    labels = model.tagger.tag(model.rows(words))  # type: ignore[attr-defined]
    if "S" not in labels:
        return None
    first = labels.index("S")
    last = first
    while last + 1 < len(labels) and labels[last + 1] == "S":
        last += 1
    found = tokens(sentence)
    return sentence[found[first][1] : found[last][2]]
