"""Everything the core reads from the operator's settings, as one frozen value.

A door (the CLI, the REPL, the Discord worker, a benchmark) builds it once with
``Settings.core_options()``; the core never reads ``Settings`` itself, so every default
lives in one place (``bot/settings.py``) and each stage sees only what it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core.answer.engine import EngineOptions
from bot.core.feeds.options import FeedOptions
from bot.core.fetch.options import FetchOptions
from bot.core.index.bundle import StoreOptions
from bot.core.search.options import ClusterOptions


@dataclass(frozen=True, slots=True)
class CoreOptions:
    """The engine, saved indexes, the corpus folder and its watch, fetching, feeds.

    ``cluster`` is set when the index lives in OpenSearch (``backend = "opensearch"``);
    None is the embedded index, saved under ``store``.
    """

    corpus_dir: Path
    watch_interval_seconds: float  # 0: the folder is not watched
    engine: EngineOptions
    store: StoreOptions
    fetch: FetchOptions  # how every page and feed is fetched
    feeds: FeedOptions  # which feeds are followed, how often, and retention
    cluster: ClusterOptions | None = None
