"""A dict that works out a missing value the first time it is asked for: a memo.

Ingest asks the same questions of the same words again and again (a word's index
terms, its tagger attributes): news repeats its words. As a dict whose misses fill
it, a known word costs one lookup and no Python call, which ``functools.lru_cache``
does not give (it is a call, and its bookkeeping costs more than the lookup).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """``memo[key]`` is ``compute(key)``, worked out once per key; at most ``size`` kept.

    Full, it is emptied and fills again: what is asked for goes on being found, and a
    stream of keys nobody asks for twice (typos, names in questions) cannot grow it
    for as long as the process lives. ``size=None``: never emptied here (the owner
    decides when).
    """

    def __init__(self, compute: Callable[[K], V], size: int | None = None) -> None:
        super().__init__()
        self._compute, self._size = compute, size

    def __missing__(self, key: K) -> V:
        if self._size is not None and len(self) >= self._size:
            self.clear()
        value = self[key] = self._compute(key)
        return value
