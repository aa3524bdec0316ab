"""The limits of every fetch, apart from the client that applies them.

Settings build these for every command; the HTTP stack (``client``: httpx and the
guards) is imported only by the commands that fetch, so asking a question never
pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import __version__
from bot.core.ingest.raw import MAX_ARTICLE_BYTES

DEFAULT_USER_AGENT = (
    f"newsquote/{__version__} (news quoting bot; reads robots.txt; +https://github.com/)"
)


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """The limits of every fetch; the defaults are the settings' defaults."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = MAX_ARTICLE_BYTES
    max_redirects: int = 5
    host_interval: float = 1.0
    allow_private: bool = False
