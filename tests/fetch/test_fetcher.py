"""The fetcher's politeness and limits, against the local site (and mock transports)."""

from __future__ import annotations

import socket

import httpx
import pytest

from bot.core.fetch import guard
from bot.core.fetch.client import FEED_TYPES, Fetcher, FetchError, FetchOptions
from bot.core.fetch.pacing import HostPacer
from tests.fetch.conftest import local_options
from tests.fetch.site import HUGE_BYTES, Route, Site, http_date


def test_a_page_is_fetched_with_a_user_agent_naming_the_bot(site: Site, fetcher: Fetcher):
    url = site.page("/news/one", 1)
    fetched = fetcher.get(url)
    assert fetched.status == 200 and fetched.content_type == "text/html"
    assert b"bridge 1 would" in fetched.body and fetched.final_url == url
    assert any(agent.startswith("newsquote/") for agent in site.agents)


def test_loopback_is_refused_by_default_and_nothing_is_asked(site: Site):
    url = site.page("/news/one", 1)
    with Fetcher(local_options(allow_private=False)) as fetcher:
        for address in (url, url.replace("127.0.0.1", "localhost")):
            with pytest.raises(FetchError, match="private or local address") as raised:
                fetcher.get(address)
            assert "\n" not in str(raised.value)
    assert sum(site.hits.values()) == 0


def test_the_address_connected_to_is_checked_after_resolution(monkeypatch):
    """A public-looking name that resolves to loopback (DNS rebinding) never gets a socket."""

    def resolver(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(guard.socket, "getaddrinfo", resolver)
    connected = []
    monkeypatch.setattr(
        guard.httpcore.SyncBackend, "connect_tcp", lambda *a, **k: connected.append(a)
    )
    backend = guard.GuardedBackend(allow_private=False)
    with pytest.raises(guard.BlockedAddress, match=r"news\.example \(127\.0\.0\.1\)"):
        backend.connect_tcp("news.example", 80)
    assert connected == []


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "192.168.1.9",
        "172.16.0.1",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "fd00::1",
    ],
)
def test_private_local_and_reserved_addresses_are_refused(address):
    assert guard.refused(address)


def test_public_addresses_are_allowed():
    assert not guard.refused("93.184.216.34") and not guard.refused("2606:2800:220:1::1")


def _mock(routes: dict[str, httpx.Response]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return routes.get(str(request.url), httpx.Response(404))

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://127.0.0.1/admin", "private or local address"),
        ("http://[::1]:8080/", "private or local address"),
        ("file:///etc/passwd", r"only http\(s\) is fetched"),
    ],
)
def test_every_redirect_is_checked_like_the_first_url(location, reason):
    """No connection is made at all: the hops are answered by a mock transport."""
    public = "http://93.184.216.34/story"
    transport = _mock({public: httpx.Response(302, headers={"Location": location})})
    with (
        Fetcher(FetchOptions(host_interval=0), transport=transport) as fetcher,
        pytest.raises(FetchError, match=reason),
    ):
        fetcher.get(public)


def test_errors_are_one_line_each(site: Site, fetcher: Fetcher):
    site.routes["/loop-a"] = Route(status=302, headers={"Location": "/loop-b"})
    site.routes["/loop-b"] = Route(status=302, headers={"Location": "/loop-a"})
    site.routes["/report.pdf"] = Route(b"%PDF-1.4 ...", "application/pdf")
    cases = {
        "/missing": "HTTP 404 Not Found",
        "/loop-a": "redirect loop",
        "/report.pdf": "is application/pdf, not an HTML page",
        "/private/secret": "refused by the site's robots.txt",
    }
    for path, reason in cases.items():
        with pytest.raises(FetchError) as raised:
            fetcher.get(site.url(path))
        assert reason in raised.value.reason and "\n" not in str(raised.value)
    assert site.hits["/private/secret"] == 0 and site.hits["/robots.txt"] == 1


def test_at_most_a_few_redirects(site: Site):
    for hop in range(4):
        site.routes[f"/hop{hop}"] = Route(status=301, headers={"Location": f"/hop{hop + 1}"})
    site.page("/hop4", 4)
    with (
        Fetcher(local_options(max_redirects=3)) as fetcher,
        pytest.raises(FetchError, match="more than 3 redirects"),
    ):
        fetcher.get(site.url("/hop0"))
    with Fetcher(local_options(max_redirects=4)) as fetcher:
        assert fetcher.get(site.url("/hop0")).final_url == site.url("/hop4")


def test_a_slow_page_times_out_within_the_total_timeout(site: Site):
    site.routes["/slow"] = Route(b"<html>late</html>", delay=5.0)
    with (
        Fetcher(local_options(total_timeout=0.5)) as fetcher,
        pytest.raises(FetchError, match=r"timed out after 0\.5 s"),
    ):
        fetcher.get(site.url("/slow"))


def test_a_huge_page_is_refused_by_its_length_or_as_it_arrives(site: Site):
    site.routes["/huge"] = Route(b"x" * HUGE_BYTES)
    site.routes["/huge-stream"] = Route(stream_bytes=HUGE_BYTES)
    with Fetcher(local_options(max_bytes=1024 * 1024)) as fetcher:
        with pytest.raises(FetchError, match=r"is 20 MB, over the 1 MB limit"):
            fetcher.get(site.url("/huge"))
        with pytest.raises(FetchError, match=r"over the 1 MB limit"):
            fetcher.get(site.url("/huge-stream"))


def test_conditional_requests_get_304_with_no_body(site: Site, fetcher: Fetcher):
    modified = http_date(1_700_000_000)
    site.routes["/feed.xml"] = Route(
        b"<rss/>", "application/rss+xml", etag='"v1"', last_modified=modified
    )
    first = fetcher.get(site.url("/feed.xml"), FEED_TYPES)
    assert (first.etag, first.last_modified) == ('"v1"', modified)
    again = fetcher.get(site.url("/feed.xml"), FEED_TYPES, first.etag, first.last_modified)
    assert again.not_modified and again.body == b""
    assert site.conditional[-1] == ("/feed.xml", '"v1"', modified)


def test_robots_txt_that_cannot_be_read_stops_fetching_from_that_site(site: Site, fetcher):
    site.routes["/robots.txt"] = Route(b"oops", "text/plain", status=503)
    site.page("/news/one", 1)
    with pytest.raises(FetchError, match=r"robots.txt could not be read \(HTTP 503\)"):
        fetcher.get(site.url("/news/one"))
    assert site.hits["/news/one"] == 0


def test_no_robots_txt_allows_everything(site: Site, fetcher: Fetcher):
    del site.routes["/robots.txt"]
    assert fetcher.get(site.page("/private/ok", 2)).status == 200


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/x", "only http and https"),
        ("not a url", "not a URL: give it with http:// or https://"),
        ("http://", "no host name"),
    ],
)
def test_bad_urls_are_refused_before_anything_is_sent(url, reason, fetcher):
    with pytest.raises(FetchError, match=reason):
        fetcher.get(url)


def test_requests_to_one_host_are_spaced_and_other_hosts_are_not_held_up():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    pacer = HostPacer(2.0, clock=lambda: now[0], sleep=sleep)
    assert pacer.wait("a") == 0
    assert pacer.wait("a") == 2.0 and pacer.wait("a") == 4.0
    assert pacer.wait("b") == 0
    assert pacer.wait("b", at_least=5.0) == 5.0
    assert HostPacer(0.0).wait("a") == 0 and slept == [2.0, 4.0, 5.0]


def test_the_rate_limit_applies_to_real_fetches(site: Site):
    site.page("/news/one", 1)
    slept: list[float] = []
    with Fetcher(local_options(host_interval=0.2)) as fetcher:
        # the clock stands still, so each request waits one slot more than the last
        fetcher.pacer = HostPacer(0.2, clock=lambda: 0.0, sleep=slept.append)
        for _ in range(3):
            fetcher.get(site.url("/news/one"))
    # robots.txt, then three pages: four requests to one host, three waits
    assert slept == pytest.approx([0.2, 0.4, 0.6]) and site.hits["/news/one"] == 3
