"""Polling the followed feeds in the background, for the worker and the REPL.

Feeds are polled when due (``interval_seconds`` after their last attempt, as the
state file records it), so a restart does not poll everything again at once and a
feed added by command is polled at the next tick. What a poll writes into the corpus
folder is handed to ``on_change`` (a rescan of the live corpus), so it is answerable
as soon as the poll ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core.background import Repeating
from bot.core.feeds.news import News
from bot.core.feeds.results import PollReport

log = logging.getLogger(__name__)

# How often the poller looks for due feeds (at most; a shorter interval looks sooner).
TICK_SECONDS = 5.0


class FeedPoller(Repeating):
    """A daemon thread polling ``news``'s due feeds until stopped (the first at once)."""

    name = "feed-poller"
    failure = "feed poll failed; will try again"  # keep following the feeds

    def __init__(
        self,
        news: News,
        on_change: Callable[[PollReport], object] | None = None,
        tick: float = TICK_SECONDS,
    ) -> None:
        super().__init__(max(0.01, min(tick, news.options.interval_seconds)), first_wait=0.0)
        self.news = news
        self.on_change = on_change

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop after the page being fetched (bounded by the fetch timeouts), waiting ``timeout``."""
        ended = super().stop(timeout)
        if ended:
            self.news.fetcher.close()
        else:
            log.warning("the feed poller is still fetching; leaving it to end with the process")
        return ended

    def step(self) -> None:
        """Poll the feeds that are due; hand what changed to ``on_change``."""
        report = self.news.poll(due_only=True, stop=self._stop)
        if report.changed and self.on_change is not None:
            self.on_change(report)
