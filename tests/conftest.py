"""Shared fixtures: settings that ignore the developer's .env, and small corpora."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import hypothesis
import pytest

from bot.core.answer.engine import Engine
from bot.core.ingest.raw import RawArticle
from bot.core.models import Source
from bot.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

# How long the OpenSearch test cluster took to build, start and stop (tests/cluster/conftest.py
# fills it in the process that runs the cluster; its reports carry it to the terminal).
CLUSTER_TIMINGS: dict[str, float] = {}
_CLUSTER_TIMINGS_KEY = "opensearch test cluster"
_reported_timings: dict[str, float] = {}

# Property tests: a bounded number of examples each, no per-example deadline (a loaded
# 2-core machine is slow, not wrong). In CI (CI=true) the examples are derandomized, so a
# run is the same every time and a failure reproduces; locally each run explores anew.
# HYPOTHESIS_PROFILE=thorough explores ten times as many examples.
hypothesis.settings.register_profile("dev", max_examples=100, deadline=None)
hypothesis.settings.register_profile(
    "ci", max_examples=100, deadline=None, derandomize=True, database=None, print_blob=True
)
hypothesis.settings.register_profile("thorough", max_examples=1000, deadline=None)
hypothesis.settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)

NEWS = """Storm closes harbour

The harbour authority said on Monday that the port would stay closed until Friday.

“We cannot risk another collision in this weather,” harbour master Jane Doyle said.

Fishing crews protested outside the town hall, demanding compensation for lost catches.

Mayor Tom Reilly told reporters the council would meet the crews on Wednesday.

The storm has already flooded twelve homes near the river.

Read more: Weather warnings across the region
"""

SPORT = """Rovers win the cup final

Rovers beat United 3-1 in the cup final on Saturday, with two goals from Ana Silva.

“This is the best day of my career,” Silva said after the match.

United’s coach admitted his side had been outplayed in the second half.

The trophy parade will pass the harbour on Sunday afternoon.

Subscribe to our newsletter for the latest scores.
"""


def make_settings(**overrides: object) -> Settings:
    """Settings from code defaults only: no .env, no environment surprises, no saved index."""
    overrides.setdefault("use_saved_index", False)
    return Settings(_env_file=None, **overrides)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(__import__("os").environ):
        if name.startswith("NEWSQUOTE_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    return make_settings()


@pytest.fixture
def small_engine(settings: Settings) -> Engine:
    articles = [
        RawArticle(Source("news/storm.txt", "Storm closes harbour", "Coast Courier"), NEWS),
        RawArticle(Source("sport/final.txt", "Rovers win the cup final", None), SPORT),
    ]
    return Engine.from_articles(articles, settings.core_options().engine)


@pytest.fixture(scope="session")
def seed_engine() -> Engine:
    return Engine.from_folder(SEEDS, make_settings().core_options().engine)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, every test of the OpenSearch cluster runs in one worker.

    The cluster is a session fixture: in two workers it would be built and started twice,
    two pairs of JVMs on two cores. ``--dist loadgroup`` keeps an ``xdist_group`` together.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if "opensearch_classpath" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("opensearch"))


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: Any) -> Any:
    """A report as pytest-xdist sends it from a worker, with text execnet can carry.

    A test of a file name that is not UTF-8 logs it with surrogate escapes, which execnet
    refuses to send ("strings must be utf-8 encodable", pytest-xdist#843) and the whole
    worker stops. Such characters are sent backslash-escaped: the report reads the same.
    """
    return _utf8_safe((yield))


def _utf8_safe(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_utf8_safe(key): _utf8_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_utf8_safe(item) for item in value)
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Teardown reports carry the cluster's timings, so they reach the terminal from an
    xdist worker too (the cluster stops in the teardown of the session's last test)."""
    report = yield
    if call.when == "teardown" and CLUSTER_TIMINGS:
        timings = (_CLUSTER_TIMINGS_KEY, dict(CLUSTER_TIMINGS))
        report.user_properties = [*report.user_properties, timings]
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in report.user_properties:
        if name == _CLUSTER_TIMINGS_KEY:
            _reported_timings.update(value)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how long the cluster took to build, start and stop (kept under watch in CI)."""
    if _reported_timings:
        parts = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in _reported_timings.items())
        terminalreporter.write_line(f"{_CLUSTER_TIMINGS_KEY}: {parts}")
