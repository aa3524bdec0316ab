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
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from itertools import chain

import numpy as np

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


def source_if_worth(sentence: str) -> str | None:
    """The first source span the model tags in a sentence ``worth_tagging``, as written, or None."""
    return sources_if_worth([sentence])[0]


def sources_if_worth(sentences: Sequence[str]) -> list[str | None]:
    """``source_if_worth`` of each sentence, the sentences worth it tagged together."""
    return sources_of(sentences, [words_worth_tagging(sentence) for sentence in sentences])


def words_worth_tagging(sentence: str) -> list[str] | None:
    """The words the tagger reads in a sentence ``worth_tagging`` (None: not worth it, or none).

    The worth test and the tagging read the sentence's words once. Ingest asks this
    of an article's sentences while their words are fresh in the attribution rules'
    caches, and tags a whole batch of articles later (``sources_of``).
    """
    if _model() is None:
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
    model = _model()
    if not asked or model is None:
        return out
    weights = _weights()
    if weights is None:
        runs = [_first_run(model.tagger.tag(model.rows(words[i])), "S") for i in asked]  # type: ignore[attr-defined]
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
# Per word, the attribute numbers it gives: its own (w, shape, suf, cue), then what it gives
# the token two before it, one before, one after and two after (w, shape, cue each).
_OWN, _NEAR_AT = slice(0, 4), (slice(4, 7), slice(7, 10), slice(10, 13), slice(13, 16))
_ROW_WIDTH = 16
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
        self._quote = (get("q=False"), get("q=True"))
        self._first = get("first")
        self._shapes: dict[tuple[str, bool], tuple[int, ...]] = {}
        edge = [self._unknown] * _ROW_WIDTH
        for d, at in zip(_NEAR, _NEAR_AT, strict=True):
            edge[at.start] = get(f"{d}edge")
        self._table = np.array([edge] * 1024, dtype=np.intp)  # row 0: past either end
        self._rows = _WordRows(self._row)
        self._pending: list[tuple[int, ...]] = []
        # A live corpus prepares changed files on a thread of its own; row numbers are
        # handed out by the table's length, so two batches must not fill it at once.
        self._lock = threading.Lock()

    def _id(self, name: str) -> int:
        return self._ids.get(name, self._unknown)

    def _row(self, word: str) -> int:
        """A new word's attribute numbers, queued for the table; its row number."""
        low = word.lower()
        key = (_shape(word), low in LEARNED_CUES)
        shaped = self._shapes.get(key)
        if shaped is None:
            shape, cue = f"shape={key[0]}", f"cue={key[1]}"
            shaped = self._shapes[key] = tuple(
                self._id(f"{d}{name}") for d in ("", *_NEAR) for name in (shape, cue)
            )
        get = self._ids.get
        z = self._unknown
        s0, c0, s1, c1, s2, c2, s3, c3, s4, c4 = shaped
        self._pending.append(
            (
                get(f"w={low}", z), s0, get(f"suf={low[-3:]}", z), c0,
                get(f"-2w={low}", z), s1, c1, get(f"-1w={low}", z), s2, c2,
                get(f"1w={low}", z), s3, c3, get(f"2w={low}", z), s4, c4,
            )
        )  # fmt: skip
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


class _WordRows(dict[str, int]):
    """Word -> its row in ``_Weights``'s table; a miss queues the word's row."""

    def __init__(self, row: Callable[[str], int]) -> None:
        super().__init__()
        self._row = row

    def __missing__(self, word: str) -> int:
        number = self[word] = self._row(word)
        return number


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
