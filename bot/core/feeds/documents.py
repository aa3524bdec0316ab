"""Reading what a feed URL returns: RSS or Atom (feedparser) or a sitemap (trafilatura).

Both come out the same: a list of entries, each with a stable key (the entry's id,
else its link), the link to fetch, and a fingerprint that changes when the entry is
updated in place (its updated date, title or summary; a sitemap's ``lastmod``).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import feedparser
import httpx
from lxml import etree
from trafilatura.sitemaps import DETECT_SITEMAP_LINK, SITEMAP_FORMAT, SitemapObject
from trafilatura.utils import safe_relative_url

from bot.core.fetch.client import Fetched
from bot.core.ingest.html import decode_html

# A document is taken as a sitemap when one of these opens it (after the XML prolog).
_SITEMAP_ROOT = re.compile(rb"<(?:[\w.-]+:)?(?:urlset|sitemapindex)\b")
_HTML_START = re.compile(rb"^\s*(?:<!doctype html|<html)", re.IGNORECASE)
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
# At most this many entries are read from one document (a sitemap may list 50,000).
MAX_ENTRIES = 5000


class DocumentError(ValueError):
    """The document is no feed or sitemap; ``str(error)`` says what it is instead."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One article a feed or sitemap lists."""

    key: str
    url: str
    fingerprint: str
    title: str | None = None
    published: str | None = None  # ISO date or time, when the entry says


@dataclass(frozen=True, slots=True)
class Listing:
    """A feed's or sitemap's entries; a sitemap index lists ``sitemaps`` instead."""

    kind: str  # "rss", "atom", "sitemap" or "sitemap index"
    title: str | None
    entries: tuple[Entry, ...]
    sitemaps: tuple[str, ...] = ()
    warning: str | None = None  # a feed read despite broken markup says so here


def read_listing(fetched: Fetched) -> Listing:
    """The entries of a fetched feed or sitemap; ``DocumentError`` when it is neither."""
    head = fetched.body[:2048]
    if _SITEMAP_ROOT.search(head):
        return _sitemap(fetched)
    if _HTML_START.match(head) or fetched.content_type in ("text/html", "application/xhtml+xml"):
        raise DocumentError("is a web page, not a feed or sitemap")
    return _feed(fetched)


def _fingerprint(*parts: object) -> str:
    text = json.dumps(parts, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _iso(parsed: time.struct_time | None) -> str | None:
    if parsed is None:
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(calendar.timegm(parsed)))
    except (OverflowError, ValueError, TypeError):
        return None


def _feed(fetched: Fetched) -> Listing:
    # Bytes, never a URL or path: feedparser would go and fetch those itself.
    parsed: Any = feedparser.parse(
        fetched.body,
        response_headers={
            "content-location": fetched.final_url,
            "content-type": fetched.content_type or "application/xml",
        },
    )
    problem = parsed.get("bozo_exception")
    if not parsed.entries and (problem is not None or not parsed.get("version")):
        why = f" ({_one_line(problem)})" if problem else ""
        if parsed.get("version"):
            raise DocumentError(f"the feed's XML is broken{why}")
        raise DocumentError(f"is not an RSS or Atom feed{why}")
    entries = []
    for item in islice(parsed.entries, MAX_ENTRIES):
        link = _absolute(fetched.final_url, item.get("link"))
        if link is None:
            continue
        # dict.get: feedparser's own get maps a missing "updated" to "published", with a warning.
        updated = dict.get(item, "updated") or dict.get(item, "published")
        summary = item.get("summary")
        entries.append(
            Entry(
                key=str(item.get("id") or link),
                url=link,
                fingerprint=_fingerprint(updated, item.get("title"), summary, link),
                title=_text(item.get("title")),
                published=_iso(
                    dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
                ),
            )
        )
    version = str(parsed.get("version") or "")
    kind = "atom" if version.startswith("atom") else "rss"
    warning = None
    if parsed.get("bozo") and problem is not None:
        warning = f"the feed's XML is malformed ({_one_line(problem)}); read what could be"
    return Listing(kind, _text(parsed.feed.get("title")), tuple(entries), (), warning)


class _Sitemap(SitemapObject):
    """trafilatura's sitemap reader, keeping every same-site link (IP hosts and ports too).

    Its own link handling drops links whose domain it cannot name, which includes
    every address with a port or an IP host; the rest (XML and text sitemaps, nested
    sitemap detection, relative links) is trafilatura's.
    """

    __slots__ = ()

    def handle_link(self, link: str) -> None:
        if link == self.current_url:
            return
        absolute = safe_relative_url(self.base_url, link)
        if not absolute or _host(absolute) != _host(self.current_url):
            return
        if DETECT_SITEMAP_LINK.search(absolute):
            self.sitemap_urls.append(absolute)
        else:
            self.urls.append(absolute)


def _sitemap(fetched: Fetched) -> Listing:
    text = decode_html(fetched.body, fetched.charset)
    base = httpx.URL(fetched.final_url)
    origin = f"{base.scheme}://{base.netloc.decode('ascii')}"
    reader = _Sitemap(origin, base.host, [], external=True)
    reader.current_url = fetched.final_url
    reader.content = text
    reader.process()
    modified = _lastmods(fetched.body) if SITEMAP_FORMAT.match(text) else {}
    entries = tuple(
        Entry(key=url, url=url, fingerprint=_fingerprint(modified.get(url)), published=None)
        for url in dict.fromkeys(islice(reader.urls, MAX_ENTRIES))
    )
    kind = "sitemap index" if b"sitemapindex" in fetched.body[:2048] else "sitemap"
    return Listing(kind, None, entries, tuple(dict.fromkeys(reader.sitemap_urls)))


def _lastmods(body: bytes) -> dict[str, str]:
    """``loc`` -> ``lastmod`` of a sitemap's URLs (what trafilatura does not keep)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    found: dict[str, str] = {}
    for url in islice(root.iter(f"{_SITEMAP_NS}url", "url"), MAX_ENTRIES):
        loc = url.findtext(f"{_SITEMAP_NS}loc") or url.findtext("loc")
        lastmod = url.findtext(f"{_SITEMAP_NS}lastmod") or url.findtext("lastmod")
        if loc and lastmod:
            found[loc.strip()] = lastmod.strip()
    return found


def _host(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return ""
    return f"{(parsed.host or '').lower().removeprefix('www.')}:{parsed.port or ''}"


def _absolute(base: str, link: object) -> str | None:
    """An entry's link as an absolute http(s) URL (relative links are taken from ``base``)."""
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        joined = httpx.URL(base).join(link.strip())
    except (httpx.InvalidURL, ValueError):
        return None
    if joined.scheme not in ("http", "https") or not joined.host:
        return None
    return str(joined.copy_with(fragment=None))


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def _one_line(problem: object) -> str:
    return (str(problem).splitlines() or [type(problem).__name__])[0][:160]


def newest_first(entries: Iterable[Entry]) -> list[Entry]:
    """Entries with a date, newest first, then the undated ones in their listed order."""
    listed = list(entries)
    dated = sorted(
        (e for e in listed if e.published), key=lambda e: e.published or "", reverse=True
    )
    return dated + [e for e in listed if not e.published]
