"""The settings turned into the fetch and feed services, for the CLI, the REPL and the worker.

The core's fetch and feed modules take small option types, not ``Settings``; this is
the one place that maps one to the other.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.core.feeds.news import FeedOptions, News, PollReport
from bot.core.feeds.poller import FeedPoller
from bot.core.feeds.state import FeedStore, state_file
from bot.core.fetch.client import DEFAULT_USER_AGENT, Fetcher, FetchOptions
from bot.settings import Settings

log = logging.getLogger(__name__)


def fetch_options(settings: Settings) -> FetchOptions:
    """The fetch limits the settings ask for (a page is no larger than an article may be)."""
    return FetchOptions(
        user_agent=settings.fetch_user_agent or DEFAULT_USER_AGENT,
        connect_timeout=settings.fetch_connect_timeout_seconds,
        total_timeout=settings.fetch_timeout_seconds,
        max_bytes=settings.max_article_bytes,
        max_redirects=settings.fetch_max_redirects,
        host_interval=settings.fetch_host_interval_seconds,
        allow_private=settings.fetch_allow_private,
    )


def feed_options(settings: Settings) -> FeedOptions:
    """How feeds are followed and fetched articles kept, from the settings."""
    return FeedOptions(
        feeds=tuple(dict.fromkeys(url.strip() for url in settings.feeds if url.strip())),
        interval_seconds=settings.feed_interval_minutes * 60.0,
        max_new_per_poll=settings.feed_max_new_per_poll,
        max_articles=settings.max_articles,
        max_age_days=settings.max_age_days,
    )


def open_news(settings: Settings, folder: Path) -> News:
    """The fetch service for the corpus ``folder``; close it with ``news.fetcher.close()``."""
    store = FeedStore(state_file(settings.data_dir, folder))
    return News(folder, store, Fetcher(fetch_options(settings)), feed_options(settings))


@contextlib.contextmanager
def news_for(settings: Settings, folder: Path) -> Iterator[News]:
    """``open_news`` for the length of a ``with`` block."""
    news = open_news(settings, folder)
    try:
        yield news
    finally:
        news.fetcher.close()


def start_polling(
    settings: Settings, folder: Path, on_change: Callable[[PollReport], object]
) -> FeedPoller | None:
    """Poll the feeds in the background when ``feed_interval_minutes`` is set; None when not."""
    if settings.feed_interval_minutes <= 0:
        return None
    poller = FeedPoller(open_news(settings, folder), on_change).start()
    log.info(
        "following feeds",
        extra={"feeds": len(poller.news.feed_urls()), "interval": settings.feed_interval_minutes},
    )
    return poller


@contextlib.contextmanager
def polling(settings: Settings, folder: Path, rescan: Callable[[], object]) -> Iterator[None]:
    """Follow the feeds while the block runs (REPL and worker); ``rescan`` after each change."""
    poller = start_polling(settings, folder, lambda report: rescan())
    try:
        yield
    finally:
        if poller is not None:
            poller.stop(timeout=2.0)
