"""Many strings in two arrays: texts kept as UTF-8 bytes, decoded only when one is read.

A million article texts, headings or vocabulary words as Python strings cost far more
than their bytes and take seconds to load; packed, they load as one read (or a memory
map) and a string is made only for what is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

# A file name the file system could not decode holds lone surrogates (``surrogateescape``):
# it packs back to its own bytes and unpacks to the same string. Other strings are UTF-8.
_ERRORS = "surrogateescape"


@dataclass(frozen=True, slots=True, eq=False)
class Packed:
    """Strings as one UTF-8 buffer and byte offsets; each is decoded when asked for."""

    data: np.ndarray  # uint8
    offsets: np.ndarray  # int64, one more than there are strings

    @classmethod
    def of(cls, texts: Iterable[str]) -> Packed:
        encoded = [text.encode("utf-8", _ERRORS) for text in texts]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return self.offsets.size - 1

    def __getitem__(self, number: int) -> str:
        start, end = self.offsets[number], self.offsets[number + 1]
        return self.data[start:end].tobytes().decode("utf-8", _ERRORS)

    def tolist(self) -> list[str]:
        """Every string; one decode and slicing when the text is ASCII (index terms nearly are)."""
        whole = self.data.tobytes()
        ends = self.offsets.tolist()
        if whole.isascii():
            text = whole.decode("ascii")
            return [text[a:b] for a, b in pairwise(ends)]
        return [whole[a:b].decode("utf-8", _ERRORS) for a, b in pairwise(ends)]

    def take(self, numbers: np.ndarray) -> Packed:
        """The strings at ``numbers``, in that order, packed anew."""
        view, ends = memoryview(self.data), self.offsets
        picked = [view[ends[i] : ends[i + 1]] for i in numbers.tolist()]
        offsets = np.zeros(len(picked) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in picked], out=offsets[1:])
        return Packed(np.frombuffer(b"".join(picked), dtype=np.uint8), offsets)
