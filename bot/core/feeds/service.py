"""The fetch-and-feed service of one corpus folder, built from ``CoreOptions``.

Every door (``add URL`` and ``feeds`` in the terminal, /add and /feeds in Discord, the
REPL's and the worker's background polling) opens it here, so each fetches with the
same limits and shares one state file per folder in ``data_dir``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.core.feeds.news import News
from bot.core.feeds.poller import FeedPoller
from bot.core.feeds.results import PollReport
from bot.core.feeds.state import FeedStore, state_file
from bot.core.fetch.client import Fetcher
from bot.core.options import CoreOptions

log = logging.getLogger(__name__)


def open_news(options: CoreOptions, folder: Path) -> News:
    """The fetch service for the corpus ``folder``; close it with ``news.fetcher.close()``."""
    store = FeedStore(state_file(options.store.data_dir, folder))
    return News(folder, store, Fetcher(options.fetch), options.feeds)


@contextlib.contextmanager
def news_for(options: CoreOptions, folder: Path) -> Iterator[News]:
    """``open_news`` for the length of a ``with`` block."""
    news = open_news(options, folder)
    try:
        yield news
    finally:
        news.fetcher.close()


def start_polling(
    options: CoreOptions, folder: Path, on_change: Callable[[PollReport], object]
) -> FeedPoller | None:
    """Poll the feeds in the background when an interval is set; None when it is 0."""
    if options.feeds.interval_seconds <= 0:
        return None
    poller = FeedPoller(open_news(options, folder), on_change).start()
    log.info(
        "following feeds",
        extra={
            "feeds": len(poller.news.feed_urls()),
            "interval_seconds": options.feeds.interval_seconds,
        },
    )
    return poller
