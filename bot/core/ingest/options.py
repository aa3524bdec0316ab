"""What reading and preparing articles takes from the settings, and the progress callback.

Apart from ``prepare`` so that a one-shot ``ask`` of a saved index, which prepares
nothing, does not import the cleaning, splitting and attribution modules to name them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Called after each batch: (articles done, articles in all, sentences so far).
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """What reading and preparing articles reads from the settings."""

    aliases_file: Path | None  # the tokenizer's aliases; None: the bundled ones
    workers: int  # processes for a large batch; 0: one per usable core
    max_article_bytes: int  # a larger file is refused before it is read
