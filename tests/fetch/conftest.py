"""Fixtures: the local news site, and fetchers allowed to reach it (and only it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.core.fetch.client import Fetcher, FetchOptions
from tests.fetch.site import Route, Site


@pytest.fixture
def site() -> Iterator[Site]:
    with Site() as running:
        running.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", "text/plain")
        yield running


def local_options(**overrides: object) -> FetchOptions:
    """Options for the local site: loopback allowed (as only tests do), short timeouts."""
    values: dict[str, object] = {
        "allow_private": True,
        "host_interval": 0.0,
        "connect_timeout": 2.0,
        "total_timeout": 5.0,
    }
    values.update(overrides)
    return FetchOptions(**values)  # type: ignore[arg-type]


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(local_options()) as client:
        yield client
