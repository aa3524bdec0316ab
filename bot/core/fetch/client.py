"""One HTTP client for everything the bot fetches, with every limit applied on every hop.

A page is fetched only if: its URL is http(s); robots.txt allows it; its host
resolves to public addresses (``guard``); it answers within the timeouts; it
redirects at most ``max_redirects`` times (each hop checked like the first); its
content type is one the caller takes; and it is no larger than ``max_bytes``
(checked on the declared length, then on what actually arrives, unpacked). Requests
to one host are spaced out (``pacing``). Whatever stops a fetch is a ``FetchError``
whose text is one line a user can act on.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from bot.core.fetch.guard import BlockedAddress, GuardedTransport, check_host
from bot.core.fetch.options import FetchOptions
from bot.core.fetch.pacing import HostPacer
from bot.core.fetch.robots import MAX_ROBOTS_BYTES, Robots, RobotsAnswer
from bot.core.ingest.raw import size_text

ROBOTS_AGENT = "newsquote"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# RSS, Atom and sitemaps are served under many names; text/plain holds text sitemaps.
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "text/rss+xml",
        "text/plain",
    }
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SNIFF_BYTES = 512


class FetchError(Exception):
    """A URL that could not be fetched; ``reason`` is the one line to show with it."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


@dataclass(frozen=True, slots=True)
class Fetched:
    """A page as it arrived: where it ended up, what it is, and its bytes (304: none)."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: float = 0.0
    # The Content-Type header's charset, as a Python codec name; a page that states
    # none in its own <head> is read in it, and its saved copy keeps it in the sidecar.
    charset: str | None = None

    @property
    def not_modified(self) -> bool:
        """The server said the copy we have is current (a conditional request's 304)."""
        return self.status == 304


def parse_url(url: str) -> httpx.URL:
    """``url`` as an absolute http(s) URL, or a ``FetchError`` saying what is wrong with it."""
    text = url.strip()
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(text, f"not a valid URL ({exc})") from exc
    if not parsed.scheme:
        raise FetchError(text, "not a URL: give it with http:// or https://")
    if parsed.scheme not in ("http", "https"):
        raise FetchError(text, f"only http and https URLs are fetched, not {parsed.scheme}")
    if not parsed.host:
        raise FetchError(text, "the URL has no host name")
    return parsed.copy_with(fragment=None)


class Fetcher:
    """Fetches pages under ``FetchOptions``; one per process, shared by threads."""

    def __init__(self, options: FetchOptions, transport: httpx.BaseTransport | None = None) -> None:
        self.options = options
        self._client = httpx.Client(
            transport=transport or GuardedTransport(options.allow_private),
            headers={"User-Agent": options.user_agent},
            follow_redirects=False,
            trust_env=False,
        )
        self.pacer = HostPacer(options.host_interval)
        self.robots = Robots(ROBOTS_AGENT, self._robots_txt)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def get(
        self,
        url: str,
        accept: Iterable[str] = HTML_TYPES,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """Fetch ``url`` following redirects; with ``etag``/``last_modified``, conditionally.

        Raises ``FetchError`` for anything that stops it, including a content type not
        in ``accept``; a 304 answer to a conditional request is returned with no body.
        """
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        return self._get(url, frozenset(accept), conditional, self.options.max_bytes, robots=True)

    def _robots_txt(self, url: str) -> RobotsAnswer:
        """A site's robots.txt for ``Robots``: fetched under the same limits, never refused by itself."""
        try:
            fetched = self._get(url, None, {}, MAX_ROBOTS_BYTES, robots=False, truncate=True)
        except FetchError as exc:
            status = exc.status if isinstance(exc, StatusError) else 0
            return RobotsAnswer(status, "", exc.reason)
        return RobotsAnswer(fetched.status, fetched.body.decode("utf-8", errors="replace"))

    def _get(
        self,
        url: str,
        accept: frozenset[str] | None,
        headers: dict[str, str],
        max_bytes: int,
        *,
        robots: bool,
        truncate: bool = False,
    ) -> Fetched:
        options = self.options
        asked = url.strip()
        current = parse_url(asked)
        deadline = time.monotonic() + options.total_timeout
        seen = {str(current)}
        for _ in range(options.max_redirects + 1):
            self._check(current, robots, asked)
            delay = self.robots.crawl_delay(current) if robots else 0.0
            self.pacer.wait(current.host, delay)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(asked, f"timed out after {options.total_timeout:g} s")
            timeout = httpx.Timeout(remaining, connect=min(options.connect_timeout, remaining))
            try:
                with self._client.stream("GET", current, headers=headers, timeout=timeout) as reply:
                    target = self._redirect(reply, asked)
                    if target is None:
                        return self._finish(reply, asked, accept, max_bytes, deadline, truncate)
            except BlockedAddress as exc:
                raise FetchError(asked, f"refused: {exc} (fetch_allow_private is off)") from exc
            except httpx.ConnectTimeout as exc:
                raise FetchError(
                    asked, f"no connection within {options.connect_timeout:g} s"
                ) from exc
            except httpx.TimeoutException as exc:
                raise FetchError(asked, f"timed out after {options.total_timeout:g} s") from exc
            except httpx.ConnectError as exc:
                raise FetchError(asked, f"cannot connect ({_first_line(exc)})") from exc
            except httpx.HTTPError as exc:
                raise FetchError(
                    asked, f"fetch failed ({type(exc).__name__}: {_first_line(exc)})"
                ) from exc
            if str(target) in seen:
                raise FetchError(asked, f"redirect loop (back to {target})")
            seen.add(str(target))
            current = target
        raise FetchError(asked, f"more than {options.max_redirects} redirects")

    def _check(self, url: httpx.URL, robots: bool, asked: str) -> None:
        """Refuse a URL before asking it: scheme, private host, robots.txt.

        The host is checked here to say clearly why; the connection checks again on
        the address it really uses (``guard``), which is what makes it safe.
        """
        if url.scheme not in ("http", "https"):
            raise FetchError(asked, f"redirected to a {url.scheme} URL; only http(s) is fetched")
        if not self.options.allow_private:
            try:
                check_host(url.host, url.port or (443 if url.scheme == "https" else 80), False)
            except BlockedAddress as exc:
                raise FetchError(asked, f"refused: {exc} (fetch_allow_private is off)") from exc
            except httpcore.ConnectError:
                pass  # unresolvable: the connection says so, in its own words
        if robots:
            refusal = self.robots.refusal(url)
            if refusal is not None:
                raise FetchError(asked, refusal if str(url) == asked else f"{url}: {refusal}")

    def _redirect(self, reply: httpx.Response, asked: str) -> httpx.URL | None:
        """Where a redirect leads (checked as a URL), or None when this is the answer."""
        if reply.status_code not in _REDIRECTS:
            return None
        location = reply.headers.get("location")
        if not location:
            raise FetchError(asked, f"HTTP {reply.status_code} redirect without a location")
        try:
            target = reply.url.join(location)
        except (httpx.InvalidURL, ValueError) as exc:
            raise FetchError(asked, f"redirected to an invalid URL ({location!r})") from exc
        return parse_url(str(target)) if target.scheme in ("http", "https") else target

    def _finish(
        self,
        reply: httpx.Response,
        asked: str,
        accept: frozenset[str] | None,
        max_bytes: int,
        deadline: float,
        truncate: bool,
    ) -> Fetched:
        final = str(reply.url)
        status = reply.status_code
        etag = reply.headers.get("etag")
        modified = reply.headers.get("last-modified")
        if status == 304:
            reply.read()  # nothing to read, but the connection can then be used again
            return Fetched(asked, final, 304, "", b"", etag, modified, time.time())
        if status >= 400:
            phrase = f" {reply.reason_phrase}" if reply.reason_phrase else ""
            raise StatusError(asked, status, f"HTTP {status}{phrase}")
        if status >= 300 or status < 200:
            raise StatusError(asked, status, f"unexpected HTTP {status}")
        header = reply.headers.get("content-type", "")
        declared = header.split(";", 1)[0].strip().lower()
        if (
            accept is not None
            and declared not in accept
            and declared not in ("", "application/octet-stream")
        ):
            raise FetchError(asked, _refused_type(declared, accept))
        length = reply.headers.get("content-length", "")
        if not truncate and length.isdigit() and int(length) > max_bytes:
            raise FetchError(
                asked, f"is {size_text(int(length))}, over the {size_text(max_bytes)} limit"
            )
        body = self._read(reply, asked, max_bytes, deadline, truncate)
        kind = declared if declared not in ("", "application/octet-stream") else _sniff(body)
        if accept is not None and kind not in accept:
            raise FetchError(asked, _refused_type(kind, accept))
        charset = header_charset(header)
        return Fetched(asked, final, status, kind, body, etag, modified, time.time(), charset)

    def _read(
        self, reply: httpx.Response, asked: str, max_bytes: int, deadline: float, truncate: bool
    ) -> bytes:
        """The body, unpacked, stopping at ``max_bytes`` and at the total timeout."""
        pieces: list[bytes] = []
        total = 0
        for piece in reply.iter_bytes():
            pieces.append(piece)
            total += len(piece)
            if total > max_bytes:
                if truncate:
                    return b"".join(pieces)[:max_bytes]
                raise FetchError(asked, f"is over the {size_text(max_bytes)} limit")
            if time.monotonic() > deadline:
                raise FetchError(asked, f"timed out after {self.options.total_timeout:g} s")
        return b"".join(pieces)


class StatusError(FetchError):
    """The server answered with an error status (kept, as robots.txt reads it)."""

    def __init__(self, url: str, status: int, reason: str) -> None:
        self.status = status
        super().__init__(url, reason)


def header_charset(content_type: str) -> str | None:
    """The ``charset=`` of a Content-Type header as a Python codec name; None if absent or unknown."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            label = value.strip().strip("\"'").lower()
            try:
                return codecs.lookup(label).name if label else None
            except LookupError:
                return None
    return None


def _sniff(body: bytes) -> str:
    """A content type for a body the server did not label: HTML, XML, or unknown."""
    head = body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "text/html"
    if head.startswith(b"<?xml") or head.startswith((b"<rss", b"<feed", b"<urlset")):
        return "application/xml"
    return "application/octet-stream"


def _refused_type(kind: str, accept: frozenset[str]) -> str:
    """Why a content type is refused, naming what was wanted."""
    if accept <= HTML_TYPES:
        wanted = "an HTML page (only web pages are read)"
    elif accept <= FEED_TYPES:
        wanted = "an RSS/Atom feed or a sitemap"
    else:
        wanted = "an HTML page, a feed or a sitemap"
    return f"is {kind or 'of no stated type'}, not {wanted}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
