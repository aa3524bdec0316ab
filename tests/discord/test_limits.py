"""The per-user cooldown, with a clock the test controls."""

from __future__ import annotations

import pytest

from bot.discord.limits import Cooldowns


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_user_may_ask_rate_times_per_window():
    clock = Clock()
    limits = Cooldowns(rate=2, per=10, clock=clock)
    assert limits.hit(1) == 0 and limits.hit(1) == 0
    assert limits.hit(1) == pytest.approx(10)
    clock.now += 4
    assert limits.hit(1) == pytest.approx(6)
    assert limits.hit(2) == 0  # other users are not affected


def test_the_window_slides():
    clock = Clock()
    limits = Cooldowns(rate=2, per=10, clock=clock)
    limits.hit(1)
    clock.now += 6
    limits.hit(1)
    clock.now += 5  # the first question has left the window, the second has not
    assert limits.hit(1) == 0
    assert limits.hit(1) == pytest.approx(5)  # until the second one leaves


def test_refused_questions_do_not_extend_the_wait():
    clock = Clock()
    limits = Cooldowns(rate=1, per=10, clock=clock)
    limits.hit(1)
    for _ in range(5):
        limits.hit(1)
    clock.now += 10
    assert limits.hit(1) == 0


def test_zero_seconds_turns_the_cooldown_off():
    limits = Cooldowns(rate=1, per=0)
    assert all(limits.hit(1) == 0 for _ in range(100))


def test_quiet_users_are_forgotten():
    clock = Clock()
    limits = Cooldowns(rate=1, per=10, clock=clock)
    for user in range(2000):
        limits.hit(user)
    clock.now += 11
    for user in range(2000, 4100):
        limits.hit(user)
    assert len(limits._seen) < 4100
