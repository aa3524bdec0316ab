"""The repeating background step (folder watcher, feed poller): how its failures are logged."""

from __future__ import annotations

import logging
import threading

import pytest

from bot.core.background import Repeating
from bot.core.errors import UserError


class Scripted(Repeating):
    """Steps through ``outcomes`` (an exception to raise, or None), then stays quiet."""

    name = "scripted"
    failure = "scripted step failed; will try again"

    def __init__(self, outcomes: list[Exception | None]) -> None:
        super().__init__(tick=0.01, first_wait=0)
        self.outcomes = outcomes
        self.done = threading.Event()

    def step(self) -> None:
        if not self.outcomes:
            self.done.set()
            return
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome


def _run(outcomes: list[Exception | None], caplog: pytest.LogCaptureFixture) -> list:
    caplog.set_level(logging.INFO, logger="bot.core.background")
    with Scripted(outcomes) as step:
        assert step.done.wait(10)
    return [r for r in caplog.records if r.name == "bot.core.background"]


def test_a_one_line_failure_lasting_many_ticks_is_one_warning_and_its_end_one_line(caplog):
    down = UserError("cannot reach OpenSearch at http://127.0.0.1:9200")
    records = _run([down] * 20 + [None], caplog)
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("WARNING", "scripted step failed; will try again"),
        ("INFO", "background step works again"),
    ]
    assert records[0].reason == str(down) and records[0].exc_info is None
    assert records[1].step == "scripted" and records[1].after == str(down)


def test_a_changed_reason_is_logged_again_and_an_unexpected_error_keeps_its_traceback(caplog):
    records = _run(
        [UserError("first"), UserError("first"), UserError("second"), RuntimeError("bug")],
        caplog,
    )
    assert [r.levelname for r in records] == ["WARNING", "WARNING", "ERROR", "INFO"]
    assert [getattr(r, "reason", None) for r in records[:2]] == ["first", "second"]
    assert records[2].exc_info is not None  # a bug is not waited out: its stack is logged
