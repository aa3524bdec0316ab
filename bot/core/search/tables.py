"""Term numbering shared by a process's questions, and a fetched article document decoded.

A question's paragraph records (``paragraphs``) number their terms through ``TermNumbers``
and map them back through ``LocalTerms``. An article document (its body and its slice of
the corpus table, ``documents._encode``) is read only for an answer's context.
"""

from __future__ import annotations

import binascii
import functools
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.core.models import Source
from bot.core.search.documents import (
    BLOB_VERSION,
    LAYOUT,
)


class TermNumbers:
    """Index terms numbered once per process: joining fetched paragraphs is then array work.

    Each fetched paragraph's small vocabulary is numbered here, so a question's join
    concatenates numbers instead of building a dictionary of its terms. Grows with the
    distinct terms of the paragraphs seen, at most the corpus's vocabulary. Safe to share
    between threads.
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
    """An article as fetched for an answer's context: metadata, digest, body, sentence bounds."""

    source: Source
    digest: str
    body: str
    arrays: dict[str, np.ndarray]  # ``documents.KEPT_COLUMNS``

    @property
    def sentences(self) -> int:
        return int(self.arrays["sent_start"].size)


def stored_article(source_doc: Mapping[str, Any]) -> StoredArticle:
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
            arrays,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an article document of layout {LAYOUT}: {exc}") from exc


def _unpack(packed: Sequence[str]) -> np.ndarray:
    # ``binascii`` directly: ``base64.b64decode`` adds two Python calls per array.
    dtype, text = packed
    return np.frombuffer(binascii.a2b_base64(text), dtype=_dtype(dtype))


@functools.cache
def _dtype(name: str) -> np.dtype:
    return np.dtype(name)
