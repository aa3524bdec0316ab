"""Shared fixtures: settings that ignore the developer's .env, and small corpora."""

from __future__ import annotations

import os
from pathlib import Path

import hypothesis
import pytest

from bot.core.answer.engine import Engine
from bot.core.ingest.raw import RawArticle
from bot.core.models import Source
from bot.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

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
