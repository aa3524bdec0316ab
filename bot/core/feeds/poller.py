"""Polling the followed feeds in the background, for the worker and the REPL.

Feeds are polled when due (``interval_seconds`` after their last attempt, as the
state file records it), so a restart does not poll everything again at once and a
feed added by command is polled at the next tick. What a poll writes into the corpus
folder is handed to ``on_change`` (a rescan of the live corpus), so it is answerable
as soon as the poll ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.core.feeds.news import News
from bot.core.feeds.results import PollReport

log = logging.getLogger(__name__)

# How often the poller looks for due feeds (at most; a shorter interval looks sooner).
TICK_SECONDS = 5.0


class FeedPoller:
    """A daemon thread polling ``news``'s due feeds until stopped."""

    def __init__(
        self,
        news: News,
        on_change: Callable[[PollReport], object] | None = None,
        tick: float = TICK_SECONDS,
    ) -> None:
        self.news = news
        self.on_change = on_change
        self.tick = max(0.01, min(tick, news.options.interval_seconds))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-poller", daemon=True)

    def start(self) -> FeedPoller:
        """Begin polling (the first due feeds at once); returns itself for ``with``."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the page being fetched (bounded by the fetch timeouts), waiting ``timeout``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("the feed poller is still fetching; leaving it to end with the process")
        else:
            self.news.fetcher.close()

    def __enter__(self) -> FeedPoller:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.tick
            try:
                report = self.news.poll(due_only=True, stop=self._stop)
                if report.changed and self.on_change is not None:
                    self.on_change(report)
            except Exception:  # keep following the feeds whatever one poll hit
                log.exception("feed poll failed; will try again")
