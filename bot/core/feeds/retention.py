"""Retention: the oldest fetched articles deleted past ``max_age_days`` or ``max_articles``.

Only articles this bot fetched are ever deleted; files a person put in the corpus are
not in the feed state and are never candidates, so a bot that runs for a year stays
bounded without touching what its operator added by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot.core.feeds.options import FeedOptions
from bot.core.feeds.state import FeedState, FeedStore
from bot.core.fetch.pages import remove_article

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0


def prune(
    folder: Path, store: FeedStore, options: FeedOptions, clock: Callable[[], float]
) -> list[str]:
    """Delete the fetched articles retention no longer keeps, oldest first; their ids.

    Articles whose file is gone (removed by hand) are forgotten too. When there is
    nothing to do, the state file is not even rewritten.
    """

    def doomed(state: FeedState) -> list[str]:
        return _doomed(folder, state, options, clock())

    if not store.peek(doomed):
        return []
    pruned = []
    with store.change() as state:
        for article in doomed(state):
            if remove_article(folder, article):
                pruned.append(article)
            del state.articles[article]
    if pruned:
        log.info("pruned fetched articles", extra={"count": len(pruned)})
    return pruned


def _doomed(folder: Path, state: FeedState, options: FeedOptions, now: float) -> list[str]:
    """Ids to forget: those whose file is gone, then those retention deletes, oldest first."""
    present = sorted(
        (a for a in state.articles.values() if (folder / a.id).exists()),
        key=lambda a: (a.fetched, a.id),
    )
    doomed = [key for key in state.articles if not (folder / key).exists()]
    old = []
    if options.max_age_days > 0:
        cutoff = now - options.max_age_days * DAY_SECONDS
        old = [a for a in present if a.fetched < cutoff]
    kept = present[len(old) :]  # ``present`` is oldest first, so ``old`` leads it
    if options.max_articles > 0 and len(kept) > options.max_articles:
        old += kept[: len(kept) - options.max_articles]
    return doomed + [a.id for a in old]
