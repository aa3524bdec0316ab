"""Pages and feeds into the corpus folder: ``add`` a URL, follow feeds, poll them, prune.

Everything fetched lands in the corpus folder as files (``bot.core.fetch.pages``), so
the folder watcher, the next start-up and a rebuild all see it. This module decides
what to fetch: every article a sitemap or feed lists, a followed feed's new entries
and those that came back changed (updated date, title or summary: fetched again,
replacing their article under the same id), nothing more when a feed answers 304 to a
conditional request. ``taking`` decides what a fetched page is (new, a replacement,
or a duplicate of one already there); ``retention`` prunes.
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
from bot.core.feeds.options import FeedOptions
from bot.core.feeds.results import Added, Failed, FeedReport, FeedView, PollReport, Taken
from bot.core.feeds.retention import prune
from bot.core.feeds.state import EntryState, Failure, FeedRecord, FeedState, FeedStore
from bot.core.feeds.taking import Intake
from bot.core.fetch.client import FEED_TYPES, HTML_TYPES, Fetched, Fetcher, FetchError, parse_url
from bot.core.fetch.pages import Hints

log = logging.getLogger(__name__)


@dataclass
class _Todo:
    entry: Entry
    replace: str | None
    state: EntryState | None = field(default=None)


@dataclass
class _Outcome:
    """What taking one poll's entries did; ``done`` is each entry's new state, by key."""

    done: dict[str, EntryState] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)


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
        self.intake = Intake(folder, store, fetcher, clock)

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
                    taken.append(self.intake.take(url, None, Hints(), fetched=fetched))
                    continue
                listing = self._listing(fetched)
            except (FetchError, DocumentError) as exc:
                failed.append(_failed(url, exc))
                continue
            entries = newest_first(listing.entries)
            skipped += max(0, len(entries) - self.options.max_new_per_poll)
            for entry in entries[: self.options.max_new_per_poll]:
                try:
                    taken.append(self.intake.take(entry.url, None, _hints(entry, listing)))
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
        todo = self._todo(listing, known)
        outcome = self._take_entries(url, listing, todo[: self.options.max_new_per_poll], stop)
        self._remember_failures(outcome.failed, url)
        status = self._record_poll(url, now, fetched, listing, len(todo), outcome)
        log.info("feed polled", extra={"feed": url, "status": status})
        return FeedReport(
            url, status, tuple(outcome.added), tuple(outcome.replaced), tuple(outcome.failed)
        )

    def _todo(self, listing: Listing, known: dict[str, EntryState]) -> list[_Todo]:
        """The entries to fetch, newest first: new, changed, or failed and worth a retry."""
        todo = []
        for entry in newest_first(listing.entries):
            old = known.get(entry.key)
            if old is None:
                todo.append(_Todo(entry, None))
            elif old.fingerprint != entry.fingerprint:
                todo.append(_Todo(entry, old.article))
            elif old.article is None and old.attempts < self.options.retries:
                todo.append(_Todo(entry, None, old))
        return todo

    def _take_entries(
        self, url: str, listing: Listing, chosen: list[_Todo], stop: threading.Event | None
    ) -> _Outcome:
        """Take each chosen entry of feed ``url`` (until ``stop``), noting what became of it."""
        outcome = _Outcome()
        for item in chosen:
            if stop is not None and stop.is_set():
                break
            entry = item.entry
            try:
                taken = self.intake.take(
                    entry.url, url, _hints(entry, listing), replace=item.replace
                )
            except FetchError as exc:
                attempts = (item.state.attempts if item.state else 0) + 1
                outcome.done[entry.key] = EntryState(
                    entry.url, entry.fingerprint, None, exc.reason, attempts
                )
                outcome.failed.append(_failed(entry.url, exc))
                continue
            outcome.done[entry.key] = EntryState(entry.url, entry.fingerprint, taken.id)
            if taken.change == "added":
                outcome.added.append(taken.id)
            elif taken.change == "replaced":
                outcome.replaced.append(taken.id)
        return outcome

    def _record_poll(
        self,
        url: str,
        now: float,
        fetched: Fetched,
        listing: Listing,
        wanted: int,
        outcome: _Outcome,
    ) -> str:
        """Write the feed's record after a poll that read it; its status line."""
        done = outcome.done
        # Entries left for later (the cap, a stop) or to be tried again need the next poll
        # to get the whole feed, not a 304.
        retrying = sum(
            1 for state in done.values() if state.error and state.attempts < self.options.retries
        )
        complete = len(done) == wanted and not retrying
        listed = {entry.key for entry in listing.entries}
        status = f"ok: {len(outcome.added)} new, {len(outcome.replaced)} updated"
        if outcome.failed:
            status += f", {len(outcome.failed)} failed"
        if len(done) < wanted:
            status += f", {wanted - len(done)} left for the next poll"
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
            record.status = status
        return status

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

    def _remember_failures(self, failed: list[Failed], feed: str | None) -> None:
        if not failed:
            return
        now = self.clock()
        with self.store.change() as state:
            for item in failed:
                state.fail(Failure(item.url, item.reason, now, feed))

    def prune(self) -> list[str]:
        """Delete the fetched articles retention no longer keeps (``retention.prune``)."""
        return prune(self.folder, self.store, self.options, self.clock)


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
