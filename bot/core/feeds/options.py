"""How feeds are followed and fetched articles kept: the feeds stage's frozen options.

Built once by a door (``Settings.core_options()``, as ``CoreOptions.feeds``); the
defaults here are the settings' defaults, so tests and benchmarks can build one bare.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """How feeds are followed and fetched articles kept."""

    feeds: tuple[str, ...] = ()  # from the settings; more may be added by command
    interval_seconds: float = 900.0  # 0: never polled in the background (``feeds --poll`` only)
    max_new_per_poll: int = 50  # per feed (and per sitemap given to ``add``)
    max_articles: int = 0  # fetched articles kept; 0: no limit
    max_age_days: float = 0.0  # fetched articles older than this are deleted; 0: never
    retries: int = 3  # a page that failed is tried again on this many polls
    max_sitemaps: int = 10  # nested sitemaps read from one sitemap index
    workers: int = 4  # feeds polled at once (each host is still paced)
