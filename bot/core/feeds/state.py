"""What the bot knows about its feeds and fetched pages, kept in one JSON file in the data folder.

It survives restarts: each feed's ETag and Last-Modified (for conditional requests),
its last fetch, status and error, the entries already taken (so nothing is fetched
twice), and every article the bot fetched (so duplicates are found and retention
prunes only those, never a file a person put in the corpus).

Several writers share it: the worker's poller, ``python -m bot feeds --poll`` from
cron, ``add`` and the Discord commands. Every change happens under a lock held across
processes (``flock`` on a lock file beside it) and threads, on a fresh read of the
file, and is written to a temporary file renamed over the old one, so readers never
see half a file and no writer's change is lost.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
STATE_VERSION = 1
# Pages that failed are remembered (for ``sources --errors``) up to this many, newest kept.
MAX_FAILURES = 200


@dataclass
class EntryState:
    """One feed entry already handled: its fingerprint then, and the article it became."""

    url: str
    fingerprint: str
    article: str | None = None
    error: str | None = None
    attempts: int = 0


@dataclass
class FeedRecord:
    """One followed feed (``origin``: "settings", or "added" from a command)."""

    url: str
    origin: str = "settings"
    title: str | None = None
    kind: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    status: str = "never fetched"
    error: str | None = None
    entries: dict[str, EntryState] = field(default_factory=dict)


@dataclass
class ArticleRecord:
    """A page the bot fetched into the corpus, and what it was found under."""

    id: str
    keys: list[str]  # its URLs as compared (asked, final, canonical), for duplicates
    digest: str  # of its text, for duplicates under other URLs
    fetched: float
    url: str
    title: str | None = None
    publisher: str | None = None
    feeds: list[str] = field(default_factory=list)


@dataclass
class Failure:
    """A page that could not be taken, and why (shown by ``sources --errors``)."""

    url: str
    reason: str
    when: float
    feed: str | None = None


@dataclass
class FeedState:
    """Everything in the state file."""

    feeds: dict[str, FeedRecord] = field(default_factory=dict)
    articles: dict[str, ArticleRecord] = field(default_factory=dict)
    failures: dict[str, Failure] = field(default_factory=dict)

    def find_key(self, keys: set[str]) -> ArticleRecord | None:
        """The fetched article known under any of these URL keys."""
        for record in self.articles.values():
            if keys.intersection(record.keys):
                return record
        return None

    def find_digest(self, digest: str) -> ArticleRecord | None:
        """The fetched article with this very text."""
        for record in self.articles.values():
            if record.digest == digest:
                return record
        return None

    def fail(self, failure: Failure) -> None:
        """Remember a failed page, forgetting the oldest past ``MAX_FAILURES``."""
        self.failures.pop(failure.url, None)
        self.failures[failure.url] = failure
        while len(self.failures) > MAX_FAILURES:
            del self.failures[next(iter(self.failures))]

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        # Field by field rather than dataclasses.asdict, which deep-copies every value and
        # made saving the state the slowest part of a poll of many feeds.
        return {
            "version": STATE_VERSION,
            "feeds": {
                url: {
                    **vars(feed),
                    "entries": {key: vars(entry) for key, entry in feed.entries.items()},
                }
                for url, feed in self.feeds.items()
            },
            "articles": {key: vars(article) for key, article in self.articles.items()},
            "failures": {url: vars(failure) for url, failure in self.failures.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedState:
        """Read the file's content (``KeyError``/``TypeError`` when it is not ours)."""
        feeds = {}
        for url, raw in data["feeds"].items():
            entries = {key: EntryState(**entry) for key, entry in raw.pop("entries", {}).items()}
            feeds[url] = FeedRecord(**raw, entries=entries)
        return cls(
            feeds=feeds,
            articles={key: ArticleRecord(**raw) for key, raw in data["articles"].items()},
            failures={url: Failure(**raw) for url, raw in data["failures"].items()},
        )


def state_file(data_dir: Path, folder: Path) -> Path:
    """Where the feed state of the corpus ``folder`` lives: one file per corpus folder."""
    resolved = folder.resolve()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", resolved.name).strip("-")[:40] or "corpus"
    digest = hashlib.sha256(str(resolved).encode("utf-8")).hexdigest()[:12]
    return data_dir / f"{slug}-{digest}.feeds.json"


class FeedStore:
    """The state file, read fresh (cheaply, when unchanged) and changed under a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._cached: tuple[tuple[int, int, int], FeedState] | None = None

    def read(self) -> FeedState:
        """A copy of the state as the file has it now (empty before the first write)."""
        return self.peek(copy.deepcopy)

    def peek(self, look: Callable[[FeedState], T]) -> T:
        """``look(state)`` on the current state without copying it.

        ``look`` must not change the state nor keep a reference to any part of it (the
        next ``change`` may alter it in place): it returns what it needs, copied.
        """
        with self._lock:
            return look(self._load())

    @contextlib.contextmanager
    def change(self) -> Iterator[FeedState]:
        """The current state to change in place; written back when the block ends without error.

        The file is parsed again only when another writer changed it since we last did.
        """
        with self._lock, self._file_lock():
            state = self._load()
            try:
                yield state
            except BaseException:
                self._cached = None  # the object may be half changed: read it again
                raise
            self._save(state)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with lock.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def _load(self) -> FeedState:
        stamp = self._stamp()
        if stamp is None:
            return FeedState()
        if self._cached is not None and self._cached[0] == stamp:
            return self._cached[1]
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            state = FeedState.from_json(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            broken = self.path.with_name(self.path.name + ".broken")
            log.warning(
                "feed state %s cannot be read (%s); starting afresh, the old file kept as %s",
                self.path,
                exc,
                broken.name,
            )
            with contextlib.suppress(OSError):
                os.replace(self.path, broken)
            return FeedState()
        self._cached = (stamp, state)
        return state

    def _save(self, state: FeedState) -> None:
        text = json.dumps(state.to_json(), ensure_ascii=False, separators=(",", ":"))
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            self._cached = None
            raise
        stamp = self._stamp()
        self._cached = (stamp, state) if stamp is not None else None
