"""What adding pages and polling feeds did, as small frozen values every door can show."""

from __future__ import annotations

from dataclasses import dataclass


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
