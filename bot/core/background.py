"""A daemon thread repeating one step until told to stop: the folder watcher and the feed poller.

Both must outlive any one failure (a step that raises is logged and tried again at the
next tick) and must never keep the process alive on exit (daemon threads, bounded joins).
A failure the project explains in one line (a ``UserError``: a cluster that is down, a
folder that went away) is expected to last a while: it is logged once as a warning, not
with a traceback at every tick, and its end is logged too.
"""

from __future__ import annotations

import logging
import threading
from typing import Self

from bot.core.errors import UserError

log = logging.getLogger(__name__)


class Repeating:
    """Runs ``step`` every ``tick`` seconds (the first after ``first_wait``) on its own thread."""

    name = "repeating"
    failure = "background step failed; will try again"

    def __init__(self, tick: float, first_wait: float | None = None) -> None:
        self.tick = tick
        self._first_wait = tick if first_wait is None else first_wait
        self._stop = threading.Event()
        self._failing: str | None = None  # the one-line failure being waited out, if any
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> Self:
        """Begin; returns itself so it can be used in a ``with`` block."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to stop and wait up to ``timeout``; True once it has ended."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def step(self) -> None:
        """One round of the work; subclasses say what it is."""
        raise NotImplementedError

    def _run(self) -> None:
        wait = self._first_wait
        while not self._stop.wait(wait):
            wait = self.tick
            try:
                self.step()
            except UserError as error:  # explained in one line: say it once, not every tick
                if str(error) != self._failing:
                    log.warning(self.failure, extra={"reason": str(error)})
                self._failing = str(error)
            except Exception:  # keep going whatever one round hit
                log.exception(self.failure)
            else:
                if self._failing is not None:
                    log.info(
                        "background step works again",
                        extra={"step": self.name, "after": self._failing},
                    )
                self._failing = None
