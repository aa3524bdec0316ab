"""Pages and feeds into the corpus folder: ``add`` a URL, follow feeds, poll them, prune.

Everything fetched lands in the corpus folder as files (``bot.core.fetch.pages``), so
the folder watcher, the next start-up and a rebuild all see it; this module decides
what to fetch and what a fetched page is:

* a page already fetched under the same URL (asked, final or canonical) is the same
  article; so is a page whose text is the same as one already fetched. Either way
  the article gains the feed as a source and nothing is written twice;
* a feed entry that comes back changed (updated date, title or summary) is fetched
  again and replaces its article, under the same id;
* a feed that answers 304 to a conditional request costs nothing more.

Network work happens outside the state lock; the lock is held only to decide and write.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.errors import UserError
from bot.core.feeds.documents import DocumentError, Entry, Listing, newest_first, read_listing
from bot.core.feeds.state import (
    ArticleRecord,
    EntryState,
    Failure,
    FeedRecord,
    FeedState,
    FeedStore,
)
from bot.core.fetch.client import FEED_TYPES, HTML_TYPES, Fetched, Fetcher, FetchError, parse_url
from bot.core.fetch.pages import (
    Hints,
    Page,
    article_id,
    read_page,
    remove_article,
    sidecar_fields,
    update_sidecar,
    url_key,
    write_article,
)

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """How feeds are followed and fetched articles kept; the defaults are the settings'."""

    feeds: tuple[str, ...] = ()  # from the settings; more may be added by command
    interval_seconds: float = 900.0
    max_new_per_poll: int = 50  # per feed (and per sitemap given to ``add``)
    max_articles: int = 0  # fetched articles kept; 0: no limit
    max_age_days: float = 0.0  # fetched articles older than this are deleted; 0: never
    retries: int = 3  # a page that failed is tried again on this many polls
    max_sitemaps: int = 10  # nested sitemaps read from one sitemap index
    workers: int = 4  # feeds polled at once (each host is still paced)


@dataclass(frozen=True, slots=True)
class Taken:
    """A page taken into the corpus: its id and what it says it is.

    ``change``: "added", "replaced", "duplicate" (already there under another URL or
    with the same text) or "unchanged" (fetched again, same text).
    """

    id: str
    change: str
    title: str | None
    publisher: str | None
    url: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A URL that could not be taken, and the one-line reason."""

    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class Added:
    """What ``add`` did with the URLs it was given."""

    taken: tuple[Taken, ...] = ()
    failed: tuple[Failed, ...] = ()
    skipped: int = 0  # sitemap or feed entries past ``max_new_per_poll``

    @property
    def changed(self) -> bool:
        """Whether any file in the corpus changed."""
        return any(item.change in ("added", "replaced") for item in self.taken)


@dataclass(frozen=True, slots=True)
class FeedReport:
    """One feed's poll: its status line, the articles it added or replaced, pages that failed."""

    url: str
    status: str
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    failed: tuple[Failed, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PollReport:
    """A poll of some feeds, then retention."""

    feeds: tuple[FeedReport, ...] = ()
    pruned: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether any file in the corpus changed (so the index needs updating)."""
        return bool(self.pruned) or any(f.added or f.replaced for f in self.feeds)


@dataclass(frozen=True, slots=True)
class FeedView:
    """A followed feed as listed by ``feeds`` and ``/feeds``."""

    url: str
    origin: str
    title: str | None
    kind: str | None
    last_attempt: float | None
    last_success: float | None
    status: str
    error: str | None
    articles: int


@dataclass
class _Todo:
    entry: Entry
    replace: str | None
    state: EntryState | None = field(default=None)


class News:
    """Fetching into one corpus folder, with its state in one ``FeedStore``."""

    def __init__(
        self,
        folder: Path,
        store: FeedStore,
        fetcher: Fetcher,
        options: FeedOptions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = folder
        self.store = store
        self.fetcher = fetcher
        self.options = options
        self.clock = clock

    # ------------------------------------------------------------------ add

    def add(self, urls: Iterable[str]) -> Added:
        """Fetch each URL into the corpus: a page, or every article a sitemap or feed lists."""
        taken: list[Taken] = []
        failed: list[Failed] = []
        skipped = 0
        for url in urls:
            try:
                fetched = self.fetcher.get(url, HTML_TYPES | FEED_TYPES)
                if fetched.content_type in HTML_TYPES:
                    taken.append(self._take(url, None, Hints(), fetched=fetched))
                    continue
                listing = self._listing(fetched)
            except (FetchError, DocumentError) as exc:
                failed.append(_failed(url, exc))
                continue
            entries = newest_first(listing.entries)
            skipped += max(0, len(entries) - self.options.max_new_per_poll)
            for entry in entries[: self.options.max_new_per_poll]:
                try:
                    taken.append(self._take(entry.url, None, _hints(entry, listing)))
                except FetchError as exc:
                    failed.append(_failed(entry.url, exc))
        self._remember_failures(failed, None)
        return Added(tuple(taken), tuple(failed), skipped)

    # --------------------------------------------------------------- following

    def feed_urls(self, state: FeedState | None = None) -> list[str]:
        """The feeds followed: the settings' and those added by command, in that order."""
        if state is None:
            return self.store.peek(self.feed_urls)
        added = [url for url, feed in state.feeds.items() if feed.origin == "added"]
        return list(dict.fromkeys([*self.options.feeds, *added]))

    def follow(self, url: str) -> FeedView:
        """Start following a feed or sitemap, once it is seen to be one (``UserError`` if not)."""
        wanted = str(_checked(url))
        if wanted in self.feed_urls():
            raise UserError(f"{wanted}: already followed")
        try:
            listing = self._listing(self.fetcher.get(wanted, FEED_TYPES))
        except (FetchError, DocumentError) as exc:
            raise UserError(f"{wanted}: not followed: {_reason(exc)}") from exc
        with self.store.change() as state:
            state.feeds[wanted] = FeedRecord(
                wanted, origin="added", title=listing.title, kind=listing.kind, status="due"
            )
        return self._view(self.store.read(), wanted)

    def unfollow(self, url: str) -> int:
        """Stop following a feed added by command; returns how many of its articles stay."""
        wanted = url.strip()
        if wanted in self.options.feeds:
            raise UserError(
                f"{wanted}: is in the feeds setting; remove it there (the settings file)"
            )
        with self.store.change() as state:
            record = state.feeds.get(wanted)
            if record is None or record.origin != "added":
                raise UserError(f"{wanted}: not a followed feed")
            del state.feeds[wanted]
            return sum(1 for a in state.articles.values() if wanted in a.feeds)

    def feeds(self) -> list[FeedView]:
        """Every followed feed with its last fetch, status and article count."""
        state = self.store.read()
        return [self._view(state, url) for url in self.feed_urls(state)]

    def _view(self, state: FeedState, url: str) -> FeedView:
        record = state.feeds.get(url) or FeedRecord(url)
        count = sum(
            1
            for article in state.articles.values()
            if url in article.feeds and (self.folder / article.id).exists()
        )
        return FeedView(
            url,
            record.origin,
            record.title,
            record.kind,
            record.last_attempt,
            record.last_success,
            record.status,
            record.error,
            count,
        )

    def failures(self) -> list[Failed]:
        """Feeds whose last fetch failed and pages that could not be taken, with why."""
        state = self.store.read()
        followed = self.feed_urls(state)
        found = [
            Failed(url, f"feed: {state.feeds[url].error}")
            for url in followed
            if url in state.feeds and state.feeds[url].error
        ]
        found += [Failed(f.url, f.reason) for f in reversed(state.failures.values())]
        return found

    # ------------------------------------------------------------------ polling

    def due(self, now: float | None = None) -> list[str]:
        """The followed feeds not asked within ``interval_seconds``."""
        moment = self.clock() if now is None else now

        def look(state: FeedState) -> list[str]:
            due = []
            for url in self.feed_urls(state):
                record = state.feeds.get(url)
                last = record.last_attempt if record is not None else None
                if last is None or moment - last >= self.options.interval_seconds:
                    due.append(url)
            return due

        return self.store.peek(look)

    def poll(self, *, due_only: bool = False, stop: threading.Event | None = None) -> PollReport:
        """Poll the followed feeds (all, or only those due) at once, then apply retention."""
        urls = self.due() if due_only else self.feed_urls()
        stop = stop or threading.Event()
        if not urls:
            return PollReport()
        workers = max(1, min(self.options.workers, len(urls)))
        with ThreadPoolExecutor(workers, thread_name_prefix="newsquote-feed") as pool:
            reports = list(pool.map(lambda url: self._poll_safely(url, stop), urls))
        return PollReport(tuple(reports), tuple(self.prune()))

    def _poll_safely(self, url: str, stop: threading.Event) -> FeedReport:
        """One feed's poll; a failure nobody foresaw is that feed's error, not the poll's."""
        try:
            return self.poll_feed(url, stop)
        except Exception as exc:
            log.exception("polling %s failed", url)
            reason = f"could not be polled ({type(exc).__name__}: {_reason(exc)})"[:300]
            try:
                return self._settle(url, f"error: {reason}", reason, self.clock(), success=False)
            except Exception:  # the state itself cannot be written: say so in the report
                return FeedReport(url, f"error: {reason}", error=reason)

    def poll_feed(self, url: str, stop: threading.Event | None = None) -> FeedReport:
        """Fetch one feed (conditionally) and take its new and changed entries."""
        now = self.clock()

        def look(state: FeedState) -> tuple[str | None, str | None, dict[str, EntryState]]:
            record = state.feeds.get(url) or FeedRecord(url)
            return record.etag, record.last_modified, copy.deepcopy(record.entries)

        etag, modified, known = self.store.peek(look)
        try:
            fetched = self.fetcher.get(url, FEED_TYPES, etag, modified)
            if fetched.not_modified:
                return self._settle(url, "not modified", None, now)
            listing = self._listing(fetched)
        except (FetchError, DocumentError) as exc:
            reason = _reason(exc)
            return self._settle(url, f"error: {reason}", reason, now, success=False)
        todo = []
        for entry in newest_first(listing.entries):
            old = known.get(entry.key)
            if old is None:
                todo.append(_Todo(entry, None))
            elif old.fingerprint != entry.fingerprint:
                todo.append(_Todo(entry, old.article))
            elif old.article is None and old.attempts < self.options.retries:
                todo.append(_Todo(entry, None, old))
        chosen = todo[: self.options.max_new_per_poll]
        added: list[str] = []
        replaced: list[str] = []
        failed: list[Failed] = []
        done: dict[str, EntryState] = {}
        for item in chosen:
            if stop is not None and stop.is_set():
                break
            entry = item.entry
            try:
                taken = self._take(entry.url, url, _hints(entry, listing), replace=item.replace)
            except FetchError as exc:
                attempts = (item.state.attempts if item.state else 0) + 1
                done[entry.key] = EntryState(
                    entry.url, entry.fingerprint, None, exc.reason, attempts
                )
                failed.append(_failed(entry.url, exc))
                continue
            done[entry.key] = EntryState(entry.url, entry.fingerprint, taken.id)
            if taken.change == "added":
                added.append(taken.id)
            elif taken.change == "replaced":
                replaced.append(taken.id)
        # Entries left for later (the cap, a stop) or to be tried again need the next poll
        # to get the whole feed, not a 304.
        retrying = sum(
            1 for state in done.values() if state.error and state.attempts < self.options.retries
        )
        complete = len(done) == len(todo) and not retrying
        listed = {entry.key for entry in listing.entries}
        self._remember_failures(failed, url)
        with self.store.change() as state:
            record = self._record(state, url)
            record.last_attempt = now
            record.entries = {
                key: done.get(key) or record.entries[key]
                for key in listed
                if key in done or key in record.entries
            }
            record.etag = fetched.etag if complete else None
            record.last_modified = fetched.last_modified if complete else None
            record.title = listing.title or record.title
            record.kind = listing.kind
            record.last_success = now
            record.error = listing.warning
            status = f"ok: {len(added)} new, {len(replaced)} updated"
            if failed:
                status += f", {len(failed)} failed"
            if len(done) < len(todo):
                status += f", {len(todo) - len(done)} left for the next poll"
            record.status = status
        log.info("feed polled", extra={"feed": url, "status": status})
        return FeedReport(url, status, tuple(added), tuple(replaced), tuple(failed))

    def _settle(
        self, url: str, status: str, error: str | None, attempt: float, success: bool = True
    ) -> FeedReport:
        with self.store.change() as state:
            record = self._record(state, url)
            record.status = status
            record.error = error
            record.last_attempt = attempt
            if success:
                record.last_success = attempt
        if error:
            log.warning("feed failed: %s: %s", url, error, extra={"feed": url})
        return FeedReport(url, status, error=error)

    def _record(self, state: FeedState, url: str) -> FeedRecord:
        """The feed's record in ``state``, made when it is polled the first time."""
        record = state.feeds.get(url)
        if record is None:
            origin = "settings" if url in self.options.feeds else "added"
            record = state.feeds[url] = FeedRecord(url, origin=origin)
        return record

    def _listing(self, fetched: Fetched) -> Listing:
        """A feed or sitemap; a sitemap index's nested sitemaps are read too (a few)."""
        listing = read_listing(fetched)
        if not listing.sitemaps:
            return listing
        entries = list(listing.entries)
        for nested in listing.sitemaps[: self.options.max_sitemaps]:
            try:
                entries += read_listing(self.fetcher.get(nested, FEED_TYPES)).entries
            except (FetchError, DocumentError) as exc:
                log.warning("nested sitemap skipped: %s: %s", nested, _reason(exc))
        unique = {entry.key: entry for entry in entries}
        return Listing(listing.kind, listing.title, tuple(unique.values()), (), listing.warning)

    # ------------------------------------------------------------------ taking

    def _take(
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
                    return self._attach(state, known, feed, "duplicate")
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
                    return self._attach(state, same, feed, "duplicate")
            elif existing.digest == page.digest:
                existing.keys = sorted(set(existing.keys) | keys)
                return self._attach(state, existing, feed, "unchanged")
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

    def _attach(
        self, state: FeedState, record: ArticleRecord, feed: str | None, change: str
    ) -> Taken:
        """Count ``record`` as ``feed``'s too (its sidecar lists every feed that had it)."""
        if feed and feed not in record.feeds:
            record.feeds = sorted({*record.feeds, feed})
            update_sidecar(self.folder, record.id, {"feeds": record.feeds})
        return Taken(record.id, change, record.title, record.publisher, record.url)

    def _remember_failures(self, failed: list[Failed], feed: str | None) -> None:
        if not failed:
            return
        now = self.clock()
        with self.store.change() as state:
            for item in failed:
                state.fail(Failure(item.url, item.reason, now, feed))

    # ---------------------------------------------------------------- retention

    def prune(self) -> list[str]:
        """Delete the fetched articles past ``max_age_days`` or past ``max_articles``, oldest first.

        Only articles this bot fetched are ever deleted; files a person put in the
        corpus are not in the state and are never candidates. Articles whose file is
        gone (removed by hand) are forgotten.
        """
        if not self.store.peek(self._doomed):
            return []  # nothing to do: the state file is not even rewritten
        pruned = []
        with self.store.change() as state:
            for article in self._doomed(state):
                if remove_article(self.folder, article):
                    pruned.append(article)
                del state.articles[article]
        if pruned:
            log.info("pruned fetched articles", extra={"count": len(pruned)})
        return pruned

    def _doomed(self, state: FeedState) -> list[str]:
        """Ids to forget: those whose file is gone, then those retention deletes, oldest first."""
        options = self.options
        present = sorted(
            (a for a in state.articles.values() if (self.folder / a.id).exists()),
            key=lambda a: (a.fetched, a.id),
        )
        doomed = [key for key in state.articles if not (self.folder / key).exists()]
        old = []
        if options.max_age_days > 0:
            cutoff = self.clock() - options.max_age_days * DAY_SECONDS
            old = [a for a in present if a.fetched < cutoff]
        kept = present[len(old) :]  # ``present`` is oldest first, so ``old`` leads it
        if options.max_articles > 0 and len(kept) > options.max_articles:
            old += kept[: len(kept) - options.max_articles]
        return doomed + [a.id for a in old]


def _hints(entry: Entry, listing: Listing) -> Hints:
    return Hints(entry.title, listing.title, entry.published)


def _checked(url: str) -> object:
    try:
        return parse_url(url)
    except FetchError as exc:
        raise UserError(str(exc)) from exc


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, FetchError) else str(exc)


def _failed(url: str, exc: Exception) -> Failed:
    return Failed(url, _reason(exc))
