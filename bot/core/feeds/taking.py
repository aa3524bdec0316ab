"""One page into the corpus folder: fetched unless known, saved new, or as a replacement.

A page already fetched under the same URL (asked, final or canonical) is the same
article; so is a page whose text is the same as one already fetched. Either way the
article gains the feed as a source and nothing is written twice. An entry that came
back changed replaces its article under the same id. Network work happens outside
the state lock; the lock is held only to decide and write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot.core.feeds.results import Taken
from bot.core.feeds.state import ArticleRecord, FeedState, FeedStore
from bot.core.fetch.client import Fetched, Fetcher, FetchError
from bot.core.fetch.pages import (
    Hints,
    Page,
    article_id,
    read_page,
    sidecar_fields,
    update_sidecar,
    url_key,
    write_article,
)

log = logging.getLogger(__name__)


class Intake:
    """Takes pages into one corpus folder, recording each in the shared ``FeedStore``."""

    def __init__(
        self, folder: Path, store: FeedStore, fetcher: Fetcher, clock: Callable[[], float]
    ) -> None:
        self.folder = folder
        self.store = store
        self.fetcher = fetcher
        self.clock = clock

    def take(
        self,
        url: str,
        feed: str | None,
        hints: Hints,
        replace: str | None = None,
        fetched: Fetched | None = None,
    ) -> Taken:
        """Fetch a page (unless known) and save it as an article, new or replacing one."""
        if fetched is None and replace is None:
            with self.store.change() as state:
                known = state.find_key({url_key(url)})
                if known is not None and (self.folder / known.id).exists():
                    return self._attach(known, feed, "duplicate")
        if fetched is None:
            fetched = self.fetcher.get(url)
        page = read_page(fetched)
        keys = {url_key(fetched.url), url_key(fetched.final_url)}
        if page.url:
            keys.add(url_key(page.url))
        with self.store.change() as state:
            target = replace if replace in state.articles else None
            existing = state.articles[target] if target else state.find_key(keys)
            if existing is not None and not (self.folder / existing.id).exists():
                existing = None  # deleted by hand: fetched anew
            if existing is None:
                same = state.find_digest(page.digest)
                if same is not None and (self.folder / same.id).exists():
                    same.keys = sorted(set(same.keys) | keys)
                    return self._attach(same, feed, "duplicate")
            elif existing.digest == page.digest:
                existing.keys = sorted(set(existing.keys) | keys)
                return self._attach(existing, feed, "unchanged")
            return self._save(state, existing, fetched, page, keys, feed, hints)

    def _save(
        self,
        state: FeedState,
        existing: ArticleRecord | None,
        fetched: Fetched,
        page: Page,
        keys: set[str],
        feed: str | None,
        hints: Hints,
    ) -> Taken:
        """Write the page and its sidecar, and record it (under the lock ``state`` is held by)."""
        if existing is not None:
            source_id = existing.id
            feeds = set(existing.feeds)
        else:
            source_id = self._free_id(state, article_id(page.url or fetched.final_url))
            feeds = set()
        if feed:
            feeds.add(feed)
        fields = sidecar_fields(fetched, page, hints, sorted(feeds))
        try:
            write_article(self.folder, source_id, fetched.body, fields)
        except OSError as exc:
            raise FetchError(fetched.url, f"cannot be saved: {exc.strerror or exc}") from exc
        title = page.title or hints.title
        publisher = page.publisher or hints.publisher
        url = str(fields["url"])
        state.articles[source_id] = ArticleRecord(
            id=source_id,
            keys=sorted(keys | set(existing.keys if existing else [])),
            digest=page.digest,
            fetched=self.clock(),
            url=url,
            title=title,
            publisher=publisher,
            feeds=sorted(feeds),
        )
        state.failures.pop(fetched.url, None)
        change = "replaced" if existing is not None else "added"
        log.info("page %s", change, extra={"file": source_id, "url": url})
        return Taken(source_id, change, title, publisher, url)

    def _free_id(self, state: FeedState, wanted: str) -> str:
        """``wanted``, unless a file a person put there (or another article) has it."""
        candidate, number = wanted, 1
        while candidate in state.articles or (self.folder / candidate).exists():
            number += 1
            candidate = wanted.replace(".html", f"-{number}.html")
        return candidate

    def _attach(self, record: ArticleRecord, feed: str | None, change: str) -> Taken:
        """Count ``record`` as ``feed``'s too (its sidecar lists every feed that had it)."""
        if feed and feed not in record.feeds:
            record.feeds = sorted({*record.feeds, feed})
            update_sidecar(self.folder, record.id, {"feeds": record.feeds})
        return Taken(record.id, change, record.title, record.publisher, record.url)
