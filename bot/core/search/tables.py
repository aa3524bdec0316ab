"""Fetched article documents back into a ``CorpusTable`` the embedded ranking can read.

Each article document carries its slice of the corpus table with a small vocabulary of
its own (``documents._encode``); a question joins the few it fetched into one table.
"""

from __future__ import annotations

import binascii
import functools
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.core.models import Source
from bot.core.search.documents import (
    BLOB_VERSION,
    LAYOUT,
)


class TermNumbers:
    """Index terms numbered once per process: joining fetched articles is then array work.

    Each fetched article's small vocabulary is numbered here when it is decoded (and
    cached with it), so a question's join concatenates numbers instead of building a
    dictionary of twenty thousand terms. Grows with the distinct terms of the articles
    seen, at most the corpus's vocabulary. Safe to share between threads.
    """

    def __init__(self) -> None:
        """An empty numbering."""
        self._number: dict[str, int] = {}
        self._words: list[str] = []
        self._lock = threading.Lock()

    def of(self, words: Sequence[str]) -> np.ndarray:
        """The numbers of ``words``, new ones added."""
        found = list(map(self._number.get, words))  # most words are known: no loop
        if None in found:
            with self._lock:
                number, known = self._number, self._words
                for i, word in enumerate(words):
                    if found[i] is None:
                        n = number.get(word)
                        if n is None:  # listed before numbered: a reader without the
                            known.append(word)  # lock never meets a number with no word
                            n = number[word] = len(known) - 1
                        found[i] = n
        return np.array(found, dtype=np.int64)

    def words(self, numbers: np.ndarray) -> tuple[str, ...]:
        """The terms numbered ``numbers``."""
        return tuple(map(self._words.__getitem__, numbers.tolist()))

    def number(self, word: str) -> int | None:
        """The number of ``word``, None if no article seen has it."""
        return self._number.get(word)


class LocalTerms(Mapping[str, int]):
    """``{term: its number in a joined table's vocabulary}``, without building the dict.

    A question's table has a vocabulary of some twenty thousand terms; the ranking and
    the two BM25s look up a few dozen of them. The process-wide ``TermNumbers`` already
    has the dict: a lookup there and in the join's renumbering array gives the same
    answers as ``{term: n for n, term in enumerate(vocabulary)}``, for one shared map
    instead of three built per question.
    """

    def __init__(
        self, numbers: TermNumbers, renumber: np.ndarray, vocabulary: Sequence[str]
    ) -> None:
        """``renumber[global number]``: the local number (or -1); ``vocabulary``: local terms."""
        self._numbers = numbers
        self._renumber = renumber
        self._vocabulary = vocabulary

    def __getitem__(self, term: str) -> int:
        found = self.get(term)
        if found is None:
            raise KeyError(term)
        return found

    def get(self, term: str, default: int | None = None) -> int | None:  # type: ignore[override]
        """The term's local number, ``default`` if the table does not have it."""
        number = self._numbers.number(term)
        if number is None or number >= self._renumber.size:
            return default
        local = int(self._renumber[number])
        return default if local < 0 else local

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._vocabulary)

    def __len__(self) -> int:
        return len(self._vocabulary)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as fetched: metadata, digest, body and its table slice, decoded.

    Its own vocabulary is kept only as numbers in a ``TermNumbers`` (the words are there
    once for the process), so a cached article holds no copy of its terms.
    """

    source: Source
    digest: str
    body: str
    strings: list[str]
    arrays: dict[str, np.ndarray]
    term_numbers: np.ndarray  # its vocabulary in a ``TermNumbers``

    @property
    def sentences(self) -> int:
        return int(self.arrays["sent_start"].size)

    @property
    def nbytes(self) -> int:
        """About the memory it holds: the body, the arrays, the strings, the objects."""
        arrays = sum(a.nbytes + _ARRAY_OVERHEAD for a in self.arrays.values())
        strings = sum(map(sys.getsizeof, self.strings))
        return (
            sys.getsizeof(self.body) + arrays + self.term_numbers.nbytes + _ARRAY_OVERHEAD
            + strings + _OBJECT_OVERHEAD
        )  # fmt: skip


_ARRAY_OVERHEAD = 112 + 33  # an ndarray's header and the bytes object under it
_OBJECT_OVERHEAD = 2048  # the source's fields, the dicts and lists, the digest


def stored_article(source_doc: Mapping[str, Any], numbers: TermNumbers) -> StoredArticle:
    """Decode an article document's ``_source``; ValueError if it is not one this layout wrote."""
    try:
        data = source_doc["data"]
        blob = data["table"]
        if blob.get("v") != BLOB_VERSION:
            raise ValueError(f"article table version {blob.get('v')!r}")
        arrays = {name: _unpack(value) for name, value in blob["arrays"].items()}
        return StoredArticle(
            Source(**data["source"]),
            str(source_doc["digest"]),
            str(data["body"]),
            list(blob["strings"]),
            arrays,
            numbers.of(blob["vocabulary"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an article document of layout {LAYOUT}: {exc}") from exc


def _joined(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _starts(sizes: Iterable[int]) -> np.ndarray:
    """Where each of consecutive runs of ``sizes`` starts."""
    lengths = np.fromiter(sizes, dtype=np.int64)
    return np.cumsum(lengths) - lengths


def _unpack(packed: Sequence[str]) -> np.ndarray:
    # ``binascii`` directly: ``base64.b64decode`` adds two Python calls per array, and a
    # question at 1M sentences decodes some 1,400 arrays.
    dtype, text = packed
    return np.frombuffer(binascii.a2b_base64(text), dtype=_dtype(dtype))


@functools.cache
def _dtype(name: str) -> np.dtype:
    return np.dtype(name)


_DTYPES = {
    "sent_quoted": np.float64,
    "sent_reports": np.bool_,
    "sent_content": np.bool_,
}


def _dtype_of(name: str) -> type[np.generic]:
    return _DTYPES.get(name, np.int32)
