"""Preparing many articles at once, on every core the machine has.

Cleaning, Punkt splitting, attribution and tokenizing are pure Python, about a
third of a millisecond per sentence; threads would share one core (the GIL).
Large batches therefore go to worker processes, each of which returns a
``CorpusTable``: numpy arrays and packed text, cheap to send back, joined in
the original order into exactly the table one process would have made.
Workers are forked when this process runs a single thread (a build from the
command line, or at start-up); when other threads run (Discord, the corpus
watcher) a forked child would inherit their locks in whatever state they were,
so workers are spawned instead, which re-imports the caller's main module (it
must guard its work with ``if __name__ == "__main__"``, as ``python -m bot``
does).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.index.table import CorpusTable
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.document import prepare_article
from bot.core.ingest.raw import LoadError, RawArticle
from bot.core.ingest.sentences import SentenceSplitter
from bot.core.processes import die_with_parent

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktParameters

log = logging.getLogger(__name__)

# Below this many articles, starting workers (about a second each) costs more than it saves.
PARALLEL_MIN_ARTICLES = 400
_BATCH = 100

# Called after each batch: (articles done, articles in all, sentences so far).
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """What reading and preparing articles reads from the settings."""

    aliases_file: Path | None  # the tokenizer's aliases; None: the bundled ones
    workers: int  # processes for a large batch; 0: one per usable core
    max_article_bytes: int  # a larger file is refused before it is read


@dataclass(frozen=True, slots=True)
class Prepared:
    """The table of the articles that could be prepared, and why each other one could not.

    Preparing is pure computation on text already read, so a failure there is a bug
    met by one odd article: it costs that article, never the whole batch.
    """

    table: CorpusTable
    failed: tuple[LoadError, ...] = ()


def workers_for(setting: int) -> int:
    """How many processes to use: the setting, or one per usable core when it is 0."""
    if setting > 0:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def prepare_table(
    raw: Sequence[RawArticle],
    splitter: SentenceSplitter,
    tokenizer: Tokenizer,
    progress: Progress | None = None,
    workers: int = 1,
    parallel_min: int = PARALLEL_MIN_ARTICLES,
) -> Prepared:
    """The table of ``raw``, in that order, made by up to ``workers`` processes."""
    batches = [raw[i : i + _BATCH] for i in range(0, len(raw), _BATCH)]
    done = sentences = 0
    tables: list[CorpusTable] = []
    failed: list[LoadError] = []

    def finished(batch: Prepared) -> None:
        nonlocal done, sentences
        tables.append(batch.table)
        failed.extend(batch.failed)
        done += batch.table.articles + len(batch.failed)
        sentences += batch.table.sentences
        if progress is not None:
            progress(done, len(raw), sentences)

    if workers < 2 or len(raw) < parallel_min:
        for batch in batches:
            finished(_prepare(batch, splitter, tokenizer))
        return Prepared(CorpusTable.join(tables), tuple(failed))
    log.info("preparing articles", extra={"articles": len(raw), "workers": workers})
    import multiprocessing  # only a large batch needs them; a start that loads does not
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(_start_method()),
        initializer=_start_worker,
        initargs=(
            os.getpid(),
            splitter.params,
            dict(tokenizer.aliases),
            tokenizer.stopwords,
            tokenizer.language,
        ),
    ) as pool:
        for prepared in pool.map(_prepare_in_worker, batches):
            finished(prepared)
    return Prepared(CorpusTable.join(tables), tuple(failed))


def _start_method() -> str:
    import multiprocessing

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _prepare(
    batch: Sequence[RawArticle], splitter: SentenceSplitter, tokenizer: Tokenizer
) -> Prepared:
    prepared, failed = [], []
    for item in batch:
        try:
            prepared.append(prepare_article(item, splitter, tokenizer))
        except Exception as exc:
            log.warning("skipped %s: could not be prepared", item.source.id, exc_info=True)
            first = (str(exc).splitlines() or [""])[0][:200]
            reason = f"could not be prepared ({type(exc).__name__}: {first})"
            failed.append(LoadError(item.source.id, reason))
    return Prepared(CorpusTable.of(prepared), tuple(failed))


_worker: tuple[SentenceSplitter, Tokenizer] | None = None


def _start_worker(
    parent: int,
    params: PunktParameters,
    aliases: Mapping[str, str],
    stopwords: frozenset[str],
    language: str,
) -> None:
    global _worker
    die_with_parent(parent)  # a killed ``index`` must not leave workers waiting forever
    _worker = (SentenceSplitter(params), Tokenizer(aliases, stopwords, language))


def _prepare_in_worker(batch: Sequence[RawArticle]) -> Prepared:
    assert _worker is not None, "the pool's initializer sets up each worker"
    return _prepare(batch, *_worker)
