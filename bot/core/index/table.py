"""The corpus as columns: every article, sentence and attribution in flat numpy arrays.

A million sentences held as Python objects cost gigabytes and take seconds to
rebuild from a saved index; held as a few dozen arrays they cost what their
bytes cost, load as a read and answer vectorised queries. Texts stay UTF-8 and
are decoded only for the sentences shown. Strings that repeat (headings,
speakers, cues) are stored once and referred to by number, and so are index
terms, through the table's own vocabulary.

Per sentence: article, start and end (character offsets into the article
text), paragraph (block number in the article), position, heading (string
number or -1), quoted share, whether it reports speech, whether it reports
content, its index terms (own terms first, then heading terms it lacks;
``own_len`` says where its own end) and its attributions. Per attribution:
speaker, cue and resolved-from (string numbers) and the terms that name the
speaker.

A table is immutable; ``merge`` makes the table of a changed corpus from the
kept rows of one and the tables of new articles, without touching their text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import takewhile
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.core.index.arrays import ranges
from bot.core.index.packed import Packed
from bot.core.models import Attribution, Source

if TYPE_CHECKING:  # a loaded table never meets one: cleaning and attribution stay unimported
    from bot.core.ingest.document import PreparedArticle

# Columns by the table they belong to, with their dtypes; ``sent_*`` rows are sentences,
# ``attr_*`` rows attributions. Offsets map an article to its sentences, a sentence to
# its terms and attributions, an attribution to its name terms.
_SENTENCE = {
    "sent_start": np.int32, "sent_end": np.int32, "sent_paragraph": np.int32,
    "sent_position": np.int32, "sent_heading": np.int32, "sent_quoted": np.float64,
    "sent_reports": np.bool_, "sent_content": np.bool_, "sent_own_len": np.int32,
}  # fmt: skip
_ATTRIBUTION = {"attr_speaker": np.int32, "attr_cue": np.int32, "attr_resolved": np.int32}
_OFFSETS = ("article_sentences", "sentence_terms", "sentence_attrs", "attr_names")
_FLAT = {"terms": np.int32, "names": np.int32}
_DTYPES = {**_SENTENCE, **_ATTRIBUTION, **_FLAT}
_JOINED = tuple(_DTYPES)  # columns that are concatenated as they are (after renumbering)
# The sentence columns read straight off ``Sentence`` fields.
_SENTENCE_FIELDS = (
    ("sent_start", "start"), ("sent_end", "end"), ("sent_paragraph", "paragraph"),
    ("sent_position", "position"),
)  # fmt: skip
_STRING_NUMBERS = ("sent_heading", "attr_speaker", "attr_cue", "attr_resolved")
_SOURCE_FIELDS = ("id", "title", "publisher", "url", "published", "author")


class _Numbers(dict[str, int]):
    """Numbers for strings in the order they are first asked for (``numbers[text]``)."""

    def __missing__(self, key: str) -> int:
        number = self[key] = len(self)
        return number


class _MadeOnRead(Sequence[Any]):
    """A column of a loaded table made into Python values when first read, then kept.

    Equal to the tuple of its values, as the tables built in memory hold tuples.
    """

    __slots__ = ()

    def made(self) -> tuple[Any, ...]:
        """Every value, in order."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        return iter(self.made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _MadeOnRead | tuple):
            return self.made() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class SavedSources(_MadeOnRead):
    """A loaded table's article metadata, made into ``Source`` objects when first read.

    Making all of them (50,000 at a million sentences) was most of the time a load
    spends on the table; a one-shot question reads the few its answers quote. Reading
    them all (a listing, a change to the corpus) makes and keeps every one at once.
    """

    __slots__ = ("_all", "_fields", "_given", "_made")
    _ONE_BY_ONE = 1_000  # single reads before the rest are made at once, as cheaper by then

    def __init__(self, fields: Sequence[Packed], given: Sequence[np.ndarray]) -> None:
        self._fields, self._given = fields, given
        self._made: dict[int, Source] = {}
        self._all: tuple[Source, ...] | None = None

    def __len__(self) -> int:
        return len(self._fields[0])

    def __getitem__(self, number: Any) -> Any:
        if self._all is not None or not isinstance(number, int):
            return self.made()[number]
        if number < 0:
            number += len(self)
        if not 0 <= number < len(self):
            raise IndexError("article number out of range")
        source = self._made.get(number)
        if source is None:
            if len(self._made) >= self._ONE_BY_ONE:
                return self.made()[number]
            source = self._made[number] = Source(
                *(
                    packed[number] if given[number] else None
                    for packed, given in zip(self._fields, self._given, strict=True)
                )
            )
        return source

    def made(self) -> tuple[Source, ...]:
        """Every article's ``Source``, in order."""
        if self._all is None:
            fields = []
            for packed, given in zip(self._fields, self._given, strict=True):
                values = packed.tolist()
                fields.append(
                    [v if g else None for v, g in zip(values, given.tolist(), strict=True)]
                )
            self._all = tuple(map(Source, *fields))
            self._made = {}
        return self._all


class SavedDigests(_MadeOnRead):
    """A loaded table's article digests (32-byte rows) as hex, made when first read."""

    __slots__ = ("_all", "_rows")

    def __init__(self, rows: np.ndarray) -> None:
        self._rows = rows
        self._all: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return self._rows.shape[0]

    def __getitem__(self, number: Any) -> Any:
        return self.made()[number]

    def made(self) -> tuple[str, ...]:
        """Every article's digest, in order."""
        if self._all is None:
            hexed = self._rows.tobytes().hex()
            self._all = tuple(hexed[64 * i : 64 * (i + 1)] for i in range(len(self)))
        return self._all


@dataclass(frozen=True, slots=True, eq=False)
class CorpusTable:
    """Articles, sentences and attributions of a corpus, articles in id order."""

    sources: Sequence[Source]  # a tuple, or a loaded table's ``SavedSources``
    digests: Sequence[str]
    texts: Packed
    strings: Packed
    vocabulary: tuple[str, ...]
    columns: Mapping[str, np.ndarray]

    # ------------------------------------------------------------------ sizes

    @property
    def articles(self) -> int:
        return len(self.sources)

    @property
    def sentences(self) -> int:
        return self.columns["sent_start"].size

    # ------------------------------------------------------------------ values

    def text(self, article: int) -> str:
        """An article's body text."""
        return self.texts[article]

    def string(self, number: int) -> str | None:
        return None if number < 0 else self.strings[number]

    def attributions(self, sentence: int) -> list[Attribution]:
        """Who the sentence reports speaking, as found in the text."""
        first, last = self.columns["sentence_attrs"][sentence : sentence + 2].tolist()
        c = self.columns
        return [
            Attribution(
                self.strings[int(c["attr_speaker"][i])],
                self.strings[int(c["attr_cue"][i])],
                self.string(int(c["attr_resolved"][i])),
            )
            for i in range(first, last)
        ]

    def name_terms(self, attribution: int) -> np.ndarray:
        """The vocabulary numbers of the terms naming an attribution's speaker."""
        first, last = self.columns["attr_names"][attribution : attribution + 2].tolist()
        return self.columns["names"][first:last]

    def terms_of(self, sentence: int, own: bool = False) -> np.ndarray:
        """A sentence's index terms (vocabulary numbers), or only its own (no heading's)."""
        first = int(self.columns["sentence_terms"][sentence])
        last = (
            first + int(self.columns["sent_own_len"][sentence])
            if own
            else int(self.columns["sentence_terms"][sentence + 1])
        )
        return self.columns["terms"][first:last]

    # ------------------------------------------------------------------ building

    @classmethod
    def of(cls, prepared: Sequence[PreparedArticle]) -> CorpusTable:
        """The table of prepared articles, in the order given.

        Strings and terms are numbered in the order they are first met (a sentence's
        heading, then its terms, then each attribution's speaker, cue, resolved-from and
        name terms); the columns that number nothing are taken an article at a time.
        """
        strings = _Numbers()
        vocabulary = _Numbers()
        string, term = strings.__getitem__, vocabulary.__getitem__
        rows: dict[str, list[Any]] = {name: [] for name in _JOINED}
        counts: dict[str, list[int]] = {name: [] for name in _OFFSETS}
        headings, own_lens, terms = rows["sent_heading"], rows["sent_own_len"], rows["terms"]
        speakers, cues, resolved = rows["attr_speaker"], rows["attr_cue"], rows["attr_resolved"]
        names, name_counts = rows["names"], counts["attr_names"]
        term_counts, attr_counts = counts["sentence_terms"], counts["sentence_attrs"]
        for item in prepared:
            sentences = item.sentences
            if not len(sentences) == len(item.quoted) == len(item.reports) == len(item.content):
                raise ValueError(f"{item.article.source.id}: a value per sentence is missing")
            counts["article_sentences"].append(len(sentences))
            for name, field in _SENTENCE_FIELDS:
                rows[name].extend([getattr(s, field) for s in sentences])
            rows["sent_quoted"].extend(item.quoted)
            rows["sent_reports"].extend(item.reports)
            rows["sent_content"].extend(item.content)
            for sentence, found, doc, own, speaker_terms in zip(
                sentences, item.attributions, item.docs, item.own_terms, item.speaker_terms,
                strict=True,
            ):  # fmt: skip
                heading = sentence.heading
                headings.append(-1 if heading is None else string(heading))
                own_lens.append(len(list(takewhile(own.__contains__, doc))))
                terms.extend(map(term, doc))
                term_counts.append(len(doc))
                attr_counts.append(len(found))
                for attribution, named in zip(found, speaker_terms, strict=True):
                    speakers.append(string(attribution.speaker))
                    cues.append(string(attribution.cue))
                    source = attribution.resolved_from
                    resolved.append(-1 if source is None else string(source))
                    names.extend(map(term, sorted(named)))
                    name_counts.append(len(named))
        columns = {name: np.array(values, dtype=_DTYPES[name]) for name, values in rows.items()}
        columns.update({name: _offsets(values) for name, values in counts.items()})
        return cls(
            tuple(item.article.source for item in prepared),
            tuple(item.digest for item in prepared),
            Packed.of(item.article.text for item in prepared),
            Packed.of(strings),
            tuple(vocabulary),
            columns,
        )

    def take(self, articles: np.ndarray) -> CorpusTable:
        """The table of the ``articles`` (numbers, in the order wanted)."""
        if articles.size == self.articles and np.array_equal(articles, np.arange(self.articles)):
            return self  # all of them, in order: nothing to copy
        c = self.columns
        sentences = ranges(c["article_sentences"], articles)
        attributions = ranges(c["sentence_attrs"], sentences)
        columns = {name: c[name][sentences] for name in _SENTENCE}
        columns.update({name: c[name][attributions] for name in _ATTRIBUTION})
        columns["terms"] = c["terms"][ranges(c["sentence_terms"], sentences)]
        columns["names"] = c["names"][ranges(c["attr_names"], attributions)]
        for name, rows in (
            ("article_sentences", articles), ("sentence_terms", sentences),
            ("sentence_attrs", sentences), ("attr_names", attributions),
        ):  # fmt: skip
            columns[name] = _offsets(np.diff(c[name])[rows])
        numbers = articles.tolist()
        return CorpusTable(
            tuple(self.sources[i] for i in numbers),
            tuple(self.digests[i] for i in numbers),
            self.texts.take(articles),
            self.strings,
            self.vocabulary,
            columns,
        )

    @staticmethod
    def join(parts: Iterable[CorpusTable]) -> CorpusTable:
        """The parts' articles one after another, their strings and terms numbered as one."""
        joined = TableJoin()
        for part in parts:
            joined.add(part)
        return joined.table()

    @staticmethod
    def merge(kept: CorpusTable, new: CorpusTable, removed: Iterable[str] = ()) -> CorpusTable:
        """Both tables' articles in one, ordered by id, without the ``removed`` ids.

        An id in ``new`` replaces the article of ``kept`` that has it. Strings and
        terms that no row uses any more are dropped.
        """
        replaced = {source.id for source in new.sources} | set(removed)
        stay = [i for i, source in enumerate(kept.sources) if source.id not in replaced]
        joined = CorpusTable.join([kept.take(np.array(stay, dtype=np.int64)), new])
        order = sorted(range(joined.articles), key=lambda i: joined.sources[i].id)
        merged = joined.take(np.array(order, dtype=np.int64))
        # Only articles that left can leave strings and terms behind.
        return merged._compacted() if len(stay) < kept.articles else merged

    def _compacted(self) -> CorpusTable:
        """The table without strings and terms that no row refers to."""
        c = dict(self.columns)
        named = _STRING_NUMBERS
        numbers = np.concatenate([c[name] for name in named])
        used = np.flatnonzero(np.bincount(numbers[numbers >= 0], minlength=len(self.strings)))
        renumber = np.full(len(self.strings) + 1, -1, dtype=np.int32)  # last slot: -1 stays -1
        renumber[used] = np.arange(used.size, dtype=np.int32)
        for name in named:
            c[name] = renumber[c[name]]
        used_terms = np.flatnonzero(
            np.bincount(np.concatenate([c["terms"], c["names"]]), minlength=len(self.vocabulary))
        )
        renumber_terms = np.zeros(len(self.vocabulary), dtype=np.int32)
        renumber_terms[used_terms] = np.arange(used_terms.size, dtype=np.int32)
        for name in _FLAT:
            c[name] = renumber_terms[c[name]]
        vocabulary = tuple(self.vocabulary[i] for i in used_terms.tolist())
        return CorpusTable(
            self.sources, self.digests, self.texts, self.strings.take(used), vocabulary, c
        )

    # ------------------------------------------------------------------ saving

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays from which ``from_arrays`` restores the table."""
        arrays = {f"table_{name}": value for name, value in self.columns.items()}
        for name, packed in (("texts", self.texts), ("strings", self.strings)):
            arrays[f"table_{name}_data"] = packed.data
            arrays[f"table_{name}_offsets"] = packed.offsets
        vocabulary = Packed.of(self.vocabulary)
        arrays["table_vocabulary_data"] = vocabulary.data
        arrays["table_vocabulary_offsets"] = vocabulary.offsets
        # Article metadata as columns too: a million sentences are ~50,000 articles, whose
        # metadata as JSON took a tenth of a second to parse.
        for name in _SOURCE_FIELDS:
            values = [getattr(source, name) for source in self.sources]
            packed = Packed.of(value or "" for value in values)
            arrays[f"table_source_{name}_data"] = packed.data
            arrays[f"table_source_{name}_offsets"] = packed.offsets
            arrays[f"table_source_{name}_given"] = np.array(
                [value is not None for value in values], dtype=bool
            )
        arrays["table_digests"] = np.frombuffer(
            bytes.fromhex("".join(self.digests)), dtype=np.uint8
        ).reshape(self.articles, 32)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> CorpusTable:
        """The table saved by ``to_arrays``; ValueError when its pieces do not fit together."""

        def packed(name: str) -> Packed:
            return Packed(arrays[f"table_{name}_data"], arrays[f"table_{name}_offsets"])

        columns = {name: arrays[f"table_{name}"] for name in (*_JOINED, *_OFFSETS)}
        fields, flags = [], []
        for name in _SOURCE_FIELDS:
            values = packed(f"source_{name}")
            given = arrays[f"table_source_{name}_given"]
            _check_offsets(values.offsets, values.data.size, f"article {name}s")
            if given.ndim != 1 or given.size != len(values) or given.dtype != np.bool_:
                raise ValueError(f"article {name}s do not fit their presence flags")
            if fields and len(values) != len(fields[0]):
                raise ValueError(f"article {name}s are not one per article")
            fields.append(values)
            flags.append(given)
        digests = arrays["table_digests"]
        if digests.ndim != 2 or digests.shape[1] != 32:
            raise ValueError("article digests are not 32-byte rows")
        table = cls(
            SavedSources(fields, flags),
            SavedDigests(digests),
            packed("texts"),
            packed("strings"),
            tuple(packed("vocabulary").tolist()),
            columns,
        )
        table.check()
        return table

    def check(self) -> None:
        """ValueError unless every column has its length and every number points somewhere."""
        c = self.columns
        for name, dtype in _DTYPES.items():
            if c[name].dtype != dtype or c[name].ndim != 1:
                raise ValueError(f"column {name!r} has the wrong type ({c[name].dtype})")
        for packed in (self.texts, self.strings):
            _check_offsets(packed.offsets, packed.data.size, "packed strings")
        if not self.articles == len(self.digests) == len(self.texts):
            raise ValueError("article columns disagree in length")
        for name, rows, total in (
            ("article_sentences", self.articles, self.sentences),
            ("sentence_terms", self.sentences, c["terms"].size),
            ("sentence_attrs", self.sentences, c["attr_speaker"].size),
            ("attr_names", c["attr_speaker"].size, c["names"].size),
        ):
            if c[name].size != rows + 1:
                raise ValueError(f"offsets {name!r} do not fit the rows they index")
            _check_offsets(c[name], total, name)
        for name in _SENTENCE:
            if c[name].size != self.sentences:
                raise ValueError(f"column {name!r} does not have one value per sentence")
        for name in _ATTRIBUTION:
            if c[name].size != c["attr_speaker"].size:
                raise ValueError(f"column {name!r} does not have one value per attribution")
        for name in _FLAT:
            _check_range(c[name], 0, len(self.vocabulary), name)
        for name in ("sent_heading", "attr_resolved"):
            _check_range(c[name], -1, len(self.strings), name)
        for name in ("attr_speaker", "attr_cue"):
            _check_range(c[name], 0, len(self.strings), name)
        lengths = np.diff(self.texts.offsets)  # bytes >= characters: a cheap bound on the ends
        sentences_of = np.repeat(np.arange(self.articles), np.diff(c["article_sentences"]))
        if np.any(c["sent_start"] < 0) or np.any(c["sent_end"] < c["sent_start"]):
            raise ValueError("a sentence ends before it starts")
        if np.any(c["sent_end"] > lengths[sentences_of]):
            raise ValueError("a sentence ends past its article")
        if np.any(c["sent_own_len"] < 0) or np.any(
            c["sent_own_len"] > np.diff(c["sentence_terms"])
        ):
            raise ValueError("a sentence has more own terms than terms")


class TableJoin:
    """Tables joined one after another as they come: ``CorpusTable.join``, a part at a time.

    Each part's values are appended to growing buffers and the part can go at once, so
    a build holds its worker tables only until each is in (they came to about twice the
    joined table's size at a million sentences, as many small Python objects and
    arrays), never beside the whole joined table. The buffers are ``bytearray``s: they
    grow by ``realloc`` (a large one is remapped, not copied), and the slack they keep
    is never written, so it costs address space, not memory.
    """

    def __init__(self) -> None:
        self._strings: dict[str, int] = {}
        self._vocabulary: dict[str, int] = {}
        self._columns = {name: bytearray() for name in _JOINED}
        self._offsets = {name: bytearray(_raw(np.zeros(1, np.int64))) for name in _OFFSETS}
        self._ends = dict.fromkeys(_OFFSETS, 0)  # the last offset of each, so far
        self._text_data = bytearray()
        self._text_offsets = bytearray(_raw(np.zeros(1, np.int64)))
        self._sources: list[Source] = []
        self._digests: list[str] = []
        self._done = False

    def add(self, part: CorpusTable) -> None:
        """Append ``part``'s articles after those added before."""
        if self._done:
            raise RuntimeError("TableJoin.add after table(): the joined table shares its buffers")
        strings, vocabulary = self._strings, self._vocabulary
        string_map = np.array(
            [strings.setdefault(s, len(strings)) for s in part.strings.tolist()] + [-1],
            dtype=np.int32,
        )  # the extra last entry maps -1 ("none") to itself
        term_map = np.array(
            [vocabulary.setdefault(t, len(vocabulary)) for t in part.vocabulary], dtype=np.int32
        )
        for name in _JOINED:
            values = part.columns[name]
            if name in _STRING_NUMBERS:
                values = string_map[values]
            elif name in _FLAT:
                values = term_map[values]
            self._columns[name] += _raw(values.astype(_DTYPES[name], copy=False))
        for name in _OFFSETS:
            self._ends[name] = _append_offsets(
                self._offsets[name], self._ends[name], part.columns[name]
            )
        texts = part.texts
        _append_offsets(self._text_offsets, len(self._text_data), texts.offsets)
        self._text_data += _raw(texts.data)
        self._sources.extend(part.sources)
        self._digests.extend(part.digests)

    def table(self) -> CorpusTable:
        """The table of every part added, in order; the last call.

        The table's arrays are views of the buffers, which can then no longer grow, so a
        later ``add`` is refused.
        """
        self._done = True
        columns = {
            name: np.frombuffer(self._columns[name], dtype=dtype) for name, dtype in _DTYPES.items()
        }
        columns.update(
            {name: np.frombuffer(self._offsets[name], dtype=np.int64) for name in _OFFSETS}
        )
        return CorpusTable(
            tuple(self._sources),
            tuple(self._digests),
            Packed(
                np.frombuffer(self._text_data, dtype=np.uint8),
                np.frombuffer(self._text_offsets, dtype=np.int64),
            ),
            Packed.of(self._strings),
            tuple(self._vocabulary),
            columns,
        )


def _raw(values: np.ndarray) -> memoryview:
    """An array's bytes, to append to a ``bytearray``."""
    return memoryview(np.ascontiguousarray(values)).cast("B")


def _append_offsets(buffer: bytearray, end: int, offsets: np.ndarray) -> int:
    """Append a part's offsets (but its leading 0) after ``end``, the last one in; the new last."""
    shifted = offsets[1:] + end
    buffer += _raw(shifted.astype(np.int64, copy=False))
    return int(shifted[-1]) if shifted.size else end


def _offsets(counts: Iterable[int] | np.ndarray) -> np.ndarray:
    counts = np.asarray(counts if isinstance(counts, np.ndarray) else list(counts), np.int64)
    out = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _check_offsets(offsets: np.ndarray, total: int, name: str) -> None:
    if (
        offsets.dtype.kind not in "iu"
        or offsets.ndim != 1
        or offsets.size == 0
        or offsets[0] != 0
        or offsets[-1] != total
        or np.any(np.diff(offsets) < 0)
    ):
        raise ValueError(f"offsets {name!r} are not valid")


def _check_range(values: np.ndarray, low: int, high: int, name: str) -> None:
    if values.size and (values.min() < low or values.max() >= high):
        raise ValueError(f"column {name!r} points outside its table")
