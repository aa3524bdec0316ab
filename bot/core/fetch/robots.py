"""robots.txt, read once per site and kept for a day (RFC 9309).

The rules are parsed by the standard library's ``urllib.robotparser``. What a site's
robots.txt answer means follows the RFC: a file found is obeyed; a 4xx answer (no
file) allows everything; a 5xx answer or no answer at all means the site cannot say,
and nothing is fetched from it until it can (asked again after a few minutes).
"""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass

import httpx

# How long a site's rules are kept, and how long "unreachable" is kept before asking again.
RULES_TTL_SECONDS = 24 * 3600.0
UNREACHABLE_TTL_SECONDS = 300.0
# A robots.txt larger than this is read only this far (RFC 9309 asks for at least 500 KiB).
MAX_ROBOTS_BYTES = 512 * 1024
# A Crawl-delay above this is taken as this (a typo of 3600 would stop the bot for hours).
MAX_CRAWL_DELAY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RobotsAnswer:
    """A site's robots.txt as fetched: the status (0: no answer) and the text."""

    status: int
    text: str
    problem: str = ""


@dataclass(slots=True)
class _Rules:
    parser: urllib.robotparser.RobotFileParser | None  # None: everything allowed
    blocked: str | None  # why nothing may be fetched, when the site could not say
    expires: float


class Robots:
    """Whether the bot may fetch a URL, by its site's robots.txt, cached per site."""

    def __init__(
        self,
        agent: str,
        fetch: Callable[[str], RobotsAnswer],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self._fetch = fetch
        self._clock = clock
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def refusal(self, url: httpx.URL) -> str | None:
        """Why robots.txt forbids ``url``, in words; None when it may be fetched."""
        rules = self._rules_for(url)
        if rules.blocked is not None:
            return rules.blocked
        if rules.parser is None or rules.parser.can_fetch(self.agent, str(url)):
            return None
        return "refused by the site's robots.txt"

    def crawl_delay(self, url: httpx.URL) -> float:
        """The site's ``Crawl-delay`` for us (capped), or 0."""
        rules = self._rules_for(url)
        if rules.parser is None:
            return 0.0
        delay = rules.parser.crawl_delay(self.agent)
        try:
            return min(float(delay or 0.0), MAX_CRAWL_DELAY_SECONDS)
        except (TypeError, ValueError):
            return 0.0

    def _rules_for(self, url: httpx.URL) -> _Rules:
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        with self._lock:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:  # one fetch per site, however many threads ask at once
            rules = self._rules.get(origin)
            if rules is None or rules.expires <= self._clock():
                rules = self._load(origin)
                self._rules[origin] = rules
            return rules

    def _load(self, origin: str) -> _Rules:
        answer = self._fetch(f"{origin}/robots.txt")
        now = self._clock()
        if 200 <= answer.status < 300:
            parser = urllib.robotparser.RobotFileParser()
            parser.parse(answer.text.splitlines())
            return _Rules(parser, None, now + RULES_TTL_SECONDS)
        if 400 <= answer.status < 500:
            return _Rules(None, None, now + RULES_TTL_SECONDS)
        why = f"HTTP {answer.status}" if answer.status else answer.problem or "no answer"
        return _Rules(
            None, f"the site's robots.txt could not be read ({why})", now + UNREACHABLE_TTL_SECONDS
        )
