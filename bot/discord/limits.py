"""Per-user rate limiting, kept Discord-free so it can be tested with a fake clock."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

_PRUNE_EVERY = 1024


class Cooldowns:
    """At most ``rate`` questions per ``per`` seconds for each user, over a sliding window.

    A sliding window (rather than discord.py's fixed buckets) gives the same rule to the
    slash command, the prefix command, mentions and the More button, which all count.
    """

    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per = per
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._hits = 0

    def hit(self, user_id: int) -> float:
        """Count a question from ``user_id``: 0.0 if allowed, else seconds until one would be."""
        if self.per <= 0:
            return 0.0
        now = self._clock()
        self._hits += 1
        if self._hits % _PRUNE_EVERY == 0:
            self._prune(now)
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= self.per:
            window.popleft()
        if len(window) >= self.rate:
            return self.per - (now - window[0])
        window.append(now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Forget users whose last question has left the window, so memory stays bounded."""
        stale = [
            user
            for user, window in self._seen.items()
            if not window or now - window[-1] >= self.per
        ]
        for user in stale:
            del self._seen[user]
