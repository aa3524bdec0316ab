"""Everything the core reads from the operator's settings, as one frozen value.

A door (the CLI, the REPL, the Discord worker, a benchmark) builds it once with
``Settings.core_options()``; the core never reads ``Settings`` itself, so every default
lives in one place (``bot/settings.py``) and each stage sees only what it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core.answer.engine import EngineOptions
from bot.core.index.bundle import StoreOptions
from bot.core.search.options import ClusterOptions


@dataclass(frozen=True, slots=True)
class CoreOptions:
    """The engine's options, where indexes are saved, and the corpus folder and its watch.

    ``cluster`` is set when the index lives in OpenSearch (``backend = "opensearch"``);
    None is the embedded index, saved under ``store``.
    """

    corpus_dir: Path
    watch_interval_seconds: float  # 0: the folder is not watched
    engine: EngineOptions
    store: StoreOptions
    cluster: ClusterOptions | None = None
