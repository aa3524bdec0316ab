"""A news site on 127.0.0.1 for the fetch and feed tests: pages, feeds, sitemaps, traps.

Routes are plain data the tests change between polls (``site.pages[...] = ...``); every
request is counted by path and its conditional headers recorded, so a test can say
exactly what was (and was not) fetched. Nothing here ever talks to another address.
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PUBLISHER = "The Harbour Gazette"
HUGE_BYTES = 20 * 1024 * 1024


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    stream_bytes: int = 0  # >0: send this many bytes in pieces, with no Content-Length


def page_html(
    number: int,
    *,
    title: str | None = None,
    canonical: str | None = None,
    extra: str = "",
    publisher: str = PUBLISHER,
) -> str:
    """An article page with a title, a site name and five paragraphs unique to ``number``."""
    title = title or f"Bridge {number} to reopen in May, council says"
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    paragraphs = [
        f"The council of Port Number{number} said on Monday that bridge {number} would "
        f"reopen in May after repairs costing {number} million pounds.",
        f"“We expect traffic to flow normally again by the spring holiday,” council leader "
        f"Mara Quell{number} said in a statement on the town website.",
        f"Engineers found cracks in {number + 2} of the steel supports during an "
        f"inspection last winter, according to the report published by the council.",
        f"Local shops on the river road said sales had fallen by {number + 10} per cent "
        "since the closure, and traders asked for help with their rents.",
        f"A ferry service for pedestrians will keep running every {number + 5} minutes "
        "until the bridge reopens, the harbour office said on Tuesday.",
    ]
    if extra:
        paragraphs.append(extra)
    body = "\n".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{escape(title)} | {escape(publisher)}</title>"
        f'<meta property="og:title" content="{escape(title)}">'
        f'<meta property="og:site_name" content="{escape(publisher)}">{link}'
        '</head><body><nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>'
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>© The Harbour Gazette. All rights reserved.</footer></body></html>"
    )


def rss(title: str, items: list[tuple[str, str, str]], base: str) -> str:
    """An RSS 2.0 feed; ``items`` are (guid, path, pubDate-or-updated text)."""
    entries = "".join(
        f"<item><title>Item {escape(guid)}</title><link>{base}{escape(path)}</link>"
        f'<guid isPermaLink="false">{escape(guid)}</guid><pubDate>{escape(date)}</pubDate>'
        f"<description>Summary of {escape(guid)} ({escape(date)})</description></item>"
        for guid, path, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{base}/</link><description>news</description>"
        f"{entries}</channel></rss>"
    )


def atom(title: str, entries: list[tuple[str, str, str]], base: str) -> str:
    """An Atom feed; ``entries`` are (id, path, updated ISO time)."""
    body = "".join(
        f"<entry><id>{escape(key)}</id><title>Entry {escape(key)}</title>"
        f'<link href="{base}{escape(path)}"/><updated>{escape(updated)}</updated></entry>'
        for key, path, updated in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>{base}/atom</id>"
        f"<updated>2024-05-01T00:00:00Z</updated>{body}</feed>"
    )


def sitemap(urls: list[str], *, index: bool = False) -> str:
    tag, item = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    body = "".join(f"<{item}><loc>{escape(url)}</loc></{item}>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<{tag} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</{tag}>'
    )


def http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


class Site:
    """The server: ``routes`` by path (query ignored), ``hits`` by path, started as a context."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.order: list[str] = []  # every path asked, in the order asked
        self.conditional: list[tuple[str, str | None, str | None]] = []
        self.agents: set[str] = set()
        self._stop = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stall

            def handle(self) -> None:
                # the client may hang up (a refused huge page, say)
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    super().handle()

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site._serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, number: int, **options: object) -> str:
        self.routes[path] = Route(page_html(number, **options).encode())  # type: ignore[arg-type]
        return self.url(path)

    def __enter__(self) -> Site:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        self.hits[path] += 1
        self.order.append(path)
        self.agents.add(handler.headers.get("User-Agent", ""))
        route = self.routes.get(path)
        if route is None:
            self._send(handler, 404, {"Content-Type": "text/plain"}, b"not found")
            return
        if route.delay:
            self._stop.wait(route.delay)
        none_match = handler.headers.get("If-None-Match")
        since = handler.headers.get("If-Modified-Since")
        if none_match or since:
            self.conditional.append((path, none_match, since))
        if (route.etag and none_match == route.etag) or (
            route.last_modified and since == route.last_modified and not route.etag
        ):
            self._send(handler, 304, self._validators(route), b"")
            return
        headers = {"Content-Type": route.content_type, **self._validators(route), **route.headers}
        if route.stream_bytes:
            self._stream(handler, route, headers)
            return
        self._send(handler, route.status, headers, route.body)

    @staticmethod
    def _validators(route: Route) -> dict[str, str]:
        found = {}
        if route.etag:
            found["ETag"] = route.etag
        if route.last_modified:
            found["Last-Modified"] = route.last_modified
        return found

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            if status != 304:
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if status != 304:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream(
        self, handler: BaseHTTPRequestHandler, route: Route, headers: dict[str, str]
    ) -> None:
        """``stream_bytes`` of page text, chunked, until the client hangs up."""
        piece = b"<p>" + b"filler text " * 80 + b"</p>\n"
        try:
            handler.send_response(route.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            sent = 0
            while sent < route.stream_bytes and not self._stop.is_set():
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True


FEED_TITLE = "Harbour Gazette: latest"
TRAPS = {
    "/news/gone": "HTTP 404",
    "/slow": "timed out",
    "/huge": "over the",
    "/loop-a": "redirect loop",
    "/files/report.pdf": "is application/pdf",
    "/private/secret": "robots.txt",
}


def newsroom(site: Site) -> dict[str, str]:
    """The issue's test site: two feeds (20 items; 3 shared + 1 own + traps), a broken one.

    Returns the feed URLs by name: ``main``, ``second``, ``broken``.
    """
    base = site.base
    items = []
    for number in range(1, 21):
        site.page(f"/news/item-{number}", number, canonical=f"{base}/news/item-{number}")
        items.append((f"item-{number}", f"/news/item-{number}", http_date(1_714_000_000 + number)))
    site.routes["/feed.xml"] = Route(
        rss(FEED_TITLE, items, base).encode(), "application/rss+xml", etag='"main-1"'
    )
    site.page("/news/item-21", 21)
    site.page("/mirror/item-4", 4)  # the same text as item 4, at another address
    site.routes["/slow"] = Route(page_html(90).encode(), delay=5.0)
    site.routes["/huge"] = Route(stream_bytes=HUGE_BYTES)
    site.routes["/loop-a"] = Route(status=302, headers={"Location": "/loop-b"})
    site.routes["/loop-b"] = Route(status=302, headers={"Location": "/loop-a"})
    site.routes["/files/report.pdf"] = Route(b"%PDF-1.4\n...", "application/pdf")
    site.page("/private/secret", 91)
    shared = [
        ("b-3", "/news/item-3?utm_source=second", "2024-05-01T10:00:00Z"),
        ("b-4", "/mirror/item-4", "2024-05-01T10:00:00Z"),
        ("b-5", "/news/item-5", "2024-05-01T10:00:00Z"),
        ("b-21", "/news/item-21", "2024-05-01T10:00:00Z"),
    ]
    traps = [(f"trap{path}", path, "2024-05-01T09:00:00Z") for path in TRAPS]
    site.routes["/atom.xml"] = Route(
        atom("Second Desk", shared + traps, base).encode(),
        "application/atom+xml",
        last_modified=http_date(1_714_000_000),
    )
    site.routes["/broken.xml"] = Route(b"<rss><channel><<<>>>", "application/rss+xml")
    return {
        "main": site.url("/feed.xml"),
        "second": site.url("/atom.xml"),
        "broken": site.url("/broken.xml"),
    }


def update_item(site: Site, number: int, extra: str, etag: str) -> None:
    """Item ``number`` changes in place: new page text, a new date in the feed, a new ETag."""
    base = site.base
    site.page(f"/news/item-{number}", number, canonical=f"{base}/news/item-{number}", extra=extra)
    items = [
        (
            f"item-{n}",
            f"/news/item-{n}",
            http_date(1_714_000_000 + n + (9999 if n == number else 0)),
        )
        for n in range(1, 21)
    ]
    site.routes["/feed.xml"] = Route(
        rss(FEED_TITLE, items, base).encode(), "application/rss+xml", etag=etag
    )
