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
import struct
import threading
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from importlib import resources
from itertools import chain

import numpy as np

from bot.core.ingest.attribution import WordGate
from bot.core.lexicon import LEARNED_CUES
from bot.core.memo import Memo

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
# Per word, the attribute names it gives, in this order: its own (w, shape, suf, cue), then
# what it gives the token two before it, one before, one after and two after (w, shape,
# cue each). A token's row for crfsuite is its own four, its quote state, then what each
# neighbour gives it (``features``).
_OWN, _NEAR_AT = slice(0, 4), (slice(4, 7), slice(7, 10), slice(10, 13), slice(13, 16))
_ROW_WIDTH = 16
_Known = tuple[tuple[tuple[str, ...], tuple[str, ...]], tuple[tuple[str, ...], ...]]
# What stands in for a neighbour past either end of the sentence, read like a word's.
_EDGE: _Known = (((), ()), tuple((f"{d}edge",) for d in _NEAR))
_QUOTED = ("q=False", "q=True")  # a token's quote state: outside, inside a quotation
_FIRST = "first"  # the sentence's first token


@cache  # a few dozen (shape, cue) pairs
def _shape_names(shape: str, cue: bool) -> tuple[tuple[str, str], ...]:
    """A word's shape and cue attributes, its own and then as each neighbour at ``_NEAR``."""
    return tuple((f"{d}shape={shape}", f"{d}cue={cue}") for d in ("", *_NEAR))


def _names_of_word(word: str) -> tuple[str, ...]:
    """The names of the ``_ROW_WIDTH`` attributes a word gives (the order of ``_OWN``, ``_NEAR_AT``).

    The one place the features are named, for training and tagging alike; the shape
    and cue names come formatted from ``_shape_names``.
    """
    low = word.lower()
    (shape, cue), *near = _shape_names(_shape(word), low in LEARNED_CUES)
    names = [f"w={low}", shape, f"suf={low[-3:]}", cue]
    for d, (near_shape, near_cue) in zip(_NEAR, near, strict=True):
        names += (f"{d}w={low}", near_shape, near_cue)
    return tuple(names)


def _features_of_word(word: str) -> _Known:
    """A word's features: its own, with the quote state appended, and what it gives each neighbour.

    Its own come twice, with ``q=False`` and with ``q=True`` (outside and inside a
    quotation); then one tuple per neighbour at ``_NEAR``.
    """
    names = _names_of_word(word)
    own = names[_OWN]
    outside, inside = _QUOTED
    return ((*own, outside), (*own, inside)), tuple(names[at] for at in _NEAR_AT)


# News repeats its words, so most tokens are formatted once per process, not per use.
_WORD_FEATURES: Memo[str, _Known] = Memo(_features_of_word, _CACHE_WORDS)


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
    padded = [_EDGE, _EDGE, *map(_WORD_FEATURES.__getitem__, words), _EDGE, _EDGE]
    out = [
        padded[i + 2][0][quoted[i]]
        + padded[i][1][0]
        + padded[i + 1][1][1]
        + padded[i + 3][1][2]
        + padded[i + 4][1][3]
        for i in range(len(words))
    ]
    if out:
        out[0] += (_FIRST,)
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


@lru_cache(maxsize=1)
def _weights() -> _Weights | None:
    """The opened model's weights as arrays, or None (then crfsuite tags each sentence)."""
    tagger = _tagger()
    if tagger is None:
        return None
    try:
        info = tagger.info()  # type: ignore[attr-defined]
        data = resources.files("bot.core").joinpath("data", MODEL).read_bytes()
        return _Weights(data, info.attributes, info.labels)
    except (OSError, ValueError, AttributeError, AssertionError, struct.error) as error:
        log.info("crfsuite tags each sentence (model weights unread: %s)", error)
        return None


def words_worth_tagging(sentence: str) -> list[str] | None:
    """The words the tagger reads in a sentence ``worth_tagging`` (None: not worth it, or none).

    The worth test and the tagging read the sentence's words once. Ingest asks this
    of an article's sentences while their words are fresh in the attribution rules'
    caches, and tags a whole batch of articles later (``sources_of``).
    """
    if _tagger() is None:
        return None
    if _MARK.search(sentence) is None:
        # Most sentences fail this exact test without being tokenized.
        if not _CUE_GATE.may_hold(sentence):
            return None
        found = _TOKEN.findall(sentence)
        if not any(w.lower() in LEARNED_CUES for w in found):
            return None
        return found
    return _TOKEN.findall(sentence) or None


def sources_of(sentences: Sequence[str], words: Sequence[list[str] | None]) -> list[str | None]:
    """Per sentence, the first source span the model tags in it, as written, or None.

    ``words``: each sentence's ``words_worth_tagging``. With the model's weights read
    (``_Weights``), every sentence to tag is scored and decoded at once, in a few array
    operations, as crfsuite would score and decode each one.
    """
    out: list[str | None] = [None] * len(sentences)
    asked = [i for i, found in enumerate(words) if found]
    tagger = _tagger()
    if not asked or tagger is None:
        return out
    weights = _weights()
    if weights is None:  # crfsuite drops the attributes it does not know
        runs = [_first_run(tagger.tag(features(words[i])), "S") for i in asked]  # type: ignore[attr-defined]
    else:
        runs = weights.source_runs([words[i] for i in asked])  # type: ignore[misc]
    for i, run in zip(asked, runs, strict=True):
        if run is not None:
            sentence = sentences[i]
            found_tokens = tokens(sentence)
            out[i] = sentence[found_tokens[run[0]][1] : found_tokens[run[1]][2]]
    return out


def _first_run(labels: Sequence[str], label: str) -> tuple[int, int] | None:
    """The first and last index of the first run of ``label``, or None."""
    if label not in labels:
        return None
    first = labels.index(label)
    last = first
    while last + 1 < len(labels) and labels[last + 1] == label:
        last += 1
    return first, last


# The model file's layout (crfsuite's crf1d_model.c): a header of twelve little-endian
# 32-bit fields, chunks of a 4-byte name, a size and a count, features of 20 bytes.
_HEADER = struct.Struct("<4sI4s9I")
_CHUNK = struct.Struct("<4sII")
_FEATURE = np.dtype([("type", "<u4"), ("src", "<u4"), ("dst", "<u4"), ("weight", "<f8")])
_STATE, _TRANSITION = 0, 1
# Per token, the attributes crfsuite is given: its own four and its quote state, three from
# each of the four neighbours (two before first), and "first" (the sentence's first token).
_COLUMNS = 18


class _Weights:
    """The model's weights, read from its file, to tag many sentences in one pass.

    crfsuite scores a token by adding, in the order passed, the weight each known
    attribute gives each label (starting from 0.0), then finds the best path by Viterbi
    over the label transitions, a tie going to the lower label number. The same sums in
    the same order, in float64 as crfsuite's ``floatval_t``, and the same decisions are
    made here for all the sentences at once: an attribute the model does not know
    adds a row of zeros (``x + 0.0`` is ``x``), where crfsuite drops it. Anything in
    the file that this reading does not expect (a second feature for one attribute and
    label, a weight that is not finite) raises ValueError, and crfsuite tags instead.
    """

    def __init__(
        self, data: bytes, attributes: Mapping[str, str], labels: Mapping[str, str]
    ) -> None:
        magic, _size, kind, version, _n, n_labels, n_attrs, off_features, _ol, _oa, off_labelrefs, off_attrrefs = _HEADER.unpack_from(data)  # fmt: skip
        if magic != b"lCRF" or kind != b"FOMC" or version != 100:
            raise ValueError("not a crfsuite 1d model of the known version")
        ids = {name: int(number) for name, number in attributes.items()}
        label_ids = {name: int(number) for name, number in labels.items()}
        if len(ids) != n_attrs or sorted(ids.values()) != list(range(n_attrs)):
            raise ValueError("the model's attribute list does not fit its header")
        if sorted(label_ids.values()) != list(range(n_labels)) or "S" not in label_ids:
            raise ValueError("the model's labels do not fit its header")
        name, _, count = _CHUNK.unpack_from(data, off_features)
        if name != b"FEAT":
            raise ValueError("no feature chunk where the header says")
        features = np.frombuffer(data, _FEATURE, count, off_features + _CHUNK.size)
        if not np.isfinite(features["weight"]).all():
            raise ValueError("a weight is not finite")
        self.state = np.zeros((n_attrs + 1, n_labels))  # the last row: an unknown attribute
        for aid, fids in enumerate(_refs(data, off_attrrefs, b"AFRF", n_attrs)):
            chosen = features[fids]
            if (chosen["type"] != _STATE).any() or (chosen["src"] != aid).any():
                raise ValueError("an attribute refers to a feature not its own")
            if np.unique(chosen["dst"]).size != chosen.size:
                raise ValueError("an attribute has two features for one label")
            self.state[aid, chosen["dst"]] = chosen["weight"]
        self.trans = np.zeros((n_labels, n_labels))
        for lid, fids in enumerate(_refs(data, off_labelrefs, b"LFRF", n_labels, 2)):
            for feature in features[fids].tolist():  # set in order, as crfsuite sets them
                if feature[0] != _TRANSITION or feature[1] != lid:
                    raise ValueError("a label refers to a feature not its own")
                self.trans[lid, feature[2]] = feature[3]
        self.source = label_ids["S"]
        self._ids = ids
        self._unknown = n_attrs
        get = self._id
        self._quote = tuple(map(get, _QUOTED))
        self._first = get(_FIRST)
        edge = [self._unknown] * _ROW_WIDTH
        for at, (name,) in zip(_NEAR_AT, _EDGE[1], strict=True):
            edge[at.start] = get(name)
        self._table = np.array([edge] * 1024, dtype=np.intp)  # row 0: past either end
        # word -> its row in the table; a miss queues the word's row (emptied with the
        # table, by ``attribute_ids``, never while a batch is being read)
        self._rows: Memo[str, int] = Memo(self._row)
        self._pending: list[tuple[int, ...]] = []
        # A live corpus prepares changed files on a thread of its own; row numbers are
        # handed out by the table's length, so two batches must not fill it at once.
        self._lock = threading.Lock()

    def _id(self, name: str) -> int:
        return self._ids.get(name, self._unknown)

    def _row(self, word: str) -> int:
        """A new word's attribute numbers, queued for the table; its row number."""
        get, unknown = self._ids.get, self._unknown
        self._pending.append(tuple([get(name, unknown) for name in _names_of_word(word)]))
        return len(self._rows) + 1  # row 0 is the edge; this word is not in the dict yet

    def _flush(self) -> np.ndarray:
        """The table with every queued word's row in it."""
        pending, self._pending = self._pending, []
        if pending:
            start = len(self._rows) + 1 - len(pending)
            end = start + len(pending)
            if end > len(self._table):
                grown = np.empty((max(end, 2 * len(self._table)), _ROW_WIDTH), dtype=np.intp)
                grown[: len(self._table)] = self._table
                self._table = grown
            self._table[start:end] = pending
        return self._table

    def source_runs(self, sentences: Sequence[list[str]]) -> list[tuple[int, int] | None]:
        """Per sentence (its words, at least one), the first and last token of its first S run."""
        labels, starts = self.labels(sentences)
        return [
            _first_run(labels[starts[i] : starts[i + 1]].tolist(), self.source)
            for i in range(len(sentences))
        ]

    def labels(self, sentences: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Every token's label number, sentence after sentence, and where each sentence starts.

        ``sentences``: each one's words (at least one), as ``features`` takes them.
        """
        with self._lock:  # the word table grows as it is read: one batch at a time
            ids, starts = self.attribute_ids(sentences)
        weights = self.state
        state = np.zeros((ids.shape[1], weights.shape[1]))
        for column in ids:  # one attribute of every token at a time, in crfsuite's order
            state += weights[column]
        return _viterbi(state, starts, self.trans), starts

    def attribute_ids(self, sentences: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Per token, the attribute numbers crfsuite is given (``rows``), in order, and sentence starts.

        A column per attribute slot (``_COLUMNS``, a token's own four, its quote state,
        three from each neighbour, two before first, then "first"), a row per token; an
        attribute the model does not know is the zero row's number.
        """
        if len(self._rows) >= _CACHE_WORDS:
            self._rows.clear()
            self._pending = []
        lengths = np.fromiter(map(len, sentences), dtype=np.intp, count=len(sentences))
        total = int(lengths.sum())
        rows = self._rows
        flat = np.fromiter(
            chain.from_iterable(map(rows.__getitem__, words) for words in sentences),
            dtype=np.intp,
            count=total,
        )
        table = self._flush()
        starts = np.zeros(len(sentences) + 1, dtype=np.intp)
        np.cumsum(lengths, out=starts[1:])
        at = np.arange(total) + 4 * np.repeat(np.arange(len(sentences)), lengths) + 2
        padded = np.zeros(total + 4 * len(sentences), dtype=np.intp)  # 0: the edge row
        padded[at] = flat
        ids = np.empty((_COLUMNS, total), dtype=np.intp)
        ids[0:4] = table[flat, _OWN].T
        ids[4] = self._quote[0]
        for i, words in enumerate(sentences):
            if "“" in words or '"' in words:
                ids[4, starts[i] : starts[i + 1]][_quote_states(words)] = self._quote[1]
        for column, shift, part in zip((5, 8, 11, 14), (-2, -1, 1, 2), _NEAR_AT, strict=True):
            ids[column : column + 3] = table[padded[at + shift], part].T
        ids[17] = self._unknown
        ids[17, starts[:-1]] = self._first
        return ids, starts


def _refs(data: bytes, offset: int, chunk: bytes, count: int, more: int = 0) -> list[np.ndarray]:
    """The feature numbers of the first ``count`` attributes (or labels) of a reference chunk.

    ``more``: how many further entries the chunk holds (crfsuite writes label references
    for two labels more than the model tags with, the sequence's start and end).
    """
    name, _, stored = _CHUNK.unpack_from(data, offset)
    if name != chunk or stored != count + more:
        raise ValueError(f"no {chunk.decode()} chunk of {count} entries where the header says")
    offsets = struct.unpack_from(f"<{count}I", data, offset + _CHUNK.size)
    out = []
    for at in offsets:
        (n,) = struct.unpack_from("<I", data, at)
        out.append(np.frombuffer(data, "<u4", n, at + 4).astype(np.intp))
    return out


def _viterbi(state: np.ndarray, starts: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """The best label path of each sentence, as crfsuite's ``crf1dc_viterbi`` finds it.

    ``state``: every token's label scores, sentence after sentence (sentence ``i`` is
    tokens ``starts[i]`` to ``starts[i + 1]``, at least one). All sentences advance together, longest first, so at each step the
    ones still running are a prefix. Each step adds the transitions to the previous
    scores, keeps the first best predecessor (``argmax``: crfsuite keeps a later one only
    if strictly better) and adds the token's own scores.
    """
    lengths = np.diff(starts)
    order = np.argsort(-lengths, kind="stable")
    steps = int(lengths[order[0]])
    ordered_lengths = lengths[order]
    # running[t]: how many sentences (a prefix of ``order``) have a token at step t
    running = np.searchsorted(-ordered_lengths, -np.arange(steps), side="left")
    tokens_at = starts[:-1][order]
    n = len(order)
    back = np.zeros((steps, n, trans.shape[0]), dtype=np.intp)
    score = state[tokens_at].copy()
    for t in range(1, steps):
        k = int(running[t])
        through = score[:k, :, None] + trans  # [sentence, from, to]
        best = through.argmax(axis=1)
        back[t, :k] = best
        score[:k] = np.take_along_axis(through, best[:, None, :], axis=1)[:, 0, :]
        score[:k] += state[tokens_at[:k] + t]
    labels = np.empty(state.shape[0], dtype=np.intp)
    current = score.argmax(axis=1)
    for t in range(steps - 1, -1, -1):
        k = int(running[t])
        labels[tokens_at[:k] + t] = current[:k]
        if t:
            current[:k] = back[t, np.arange(k), current[:k]]
    return labels
