"""A per-host rate limit: requests to one host are spaced out, other hosts are not held up.

Each request reserves the next free slot for its host under a lock and then sleeps
outside it, so threads fetching from the same host queue fairly and threads fetching
from other hosts never wait on them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Forget hosts last asked this long ago (keeps the table small).
_FORGET_AFTER_SECONDS = 600.0


class HostPacer:
    """Spaces requests to each host at least ``interval`` seconds apart (0: no limit)."""

    def __init__(
        self,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: dict[str, float] = {}  # the start of each host's latest slot
        self._lock = threading.Lock()

    def wait(self, host: str, at_least: float = 0.0) -> float:
        """Sleep until ``host`` may be asked again; returns the seconds slept.

        ``at_least`` raises the spacing for this host (a robots.txt ``Crawl-delay``).
        """
        spacing = max(self.interval, at_least)
        if spacing <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            last = self._last.get(host)
            start = now if last is None else max(now, last + spacing)
            self._last[host] = start
            if len(self._last) > 1000:
                for name, when in list(self._last.items()):
                    if when < now - _FORGET_AFTER_SECONDS:
                        del self._last[name]
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay
