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

A build from a folder hands workers file names, not texts (``prepare_files``):
each worker reads its own batch, so the article texts cross no pipe on the way
in and the parent never holds them all (at a million sentences, about 200 MB
less at its peak, and a second of reading off its serial path).

Punkt is trained in a child process too when the articles go to workers
(``train_splitter``): training on 2 MB of text leaves about 100 MB of small Python
objects behind that the allocator keeps, and importing NLTK costs the process
another 100 MB; the parent receives only the learnt parameters, in their saved
form, and hands that form to the workers, so it never imports NLTK at all.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.index.table import CorpusTable, TableJoin
from bot.core.index.tokenize import Tokenizer
from bot.core.ingest.document import prepare_articles
from bot.core.ingest.files import read_quietly, tell
from bot.core.ingest.options import Progress
from bot.core.ingest.raw import LoadError, RawArticle
from bot.core.ingest.sentences import SentenceSplitter, training_chunks
from bot.core.processes import die_with_parent

log = logging.getLogger(__name__)

# Below this many articles, starting workers (about a second each) costs more than it saves.
PARALLEL_MIN_ARTICLES = 400
_BATCH = 100


@dataclass(frozen=True, slots=True)
class Prepared:
    """The table of the articles that could be prepared, and why each other one could not.

    Preparing is pure computation on text already read, so a failure there is a bug
    met by one odd article: it costs that article, never the whole batch.
    """

    table: CorpusTable
    failed: tuple[LoadError, ...] = ()
    unread: tuple[LoadError, ...] = ()  # files (``prepare_files``) that could not be read


@dataclass(frozen=True, slots=True)
class FileBatch:
    """Article files for a worker to read and prepare itself."""

    folder: Path
    ids: tuple[str, ...]
    max_bytes: int

    def read(self) -> tuple[list[RawArticle], list[LoadError]]:
        """The readable articles, in order, and why each other file could not be read."""
        items = [read_quietly(self.folder, key, self.max_bytes) for key in self.ids]
        return (
            [item for item in items if isinstance(item, RawArticle)],
            [item for item in items if isinstance(item, LoadError)],
        )


Batch = Sequence[RawArticle] | FileBatch


def workers_for(setting: int) -> int:
    """How many processes to use: the setting, or one per usable core when it is 0."""
    if setting > 0:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def train_splitter(
    texts: Iterable[str],
    articles: int,
    workers: int = 1,
    parallel_min: int = PARALLEL_MIN_ARTICLES,
) -> SentenceSplitter:
    """``SentenceSplitter.train(texts)`` for a batch of ``articles`` prepared by up to ``workers``.

    When the batch goes to worker processes, Punkt learns in a child process of its own
    and only its parameters come back (see the module's docs); the parameters, and so
    every sentence, are the ones training here would give. A batch prepared here
    trains here: this process imports NLTK to split them anyway.
    """
    return start_training(texts, articles, workers, parallel_min).result()


def start_training(
    texts: Iterable[str],
    articles: int,
    workers: int = 1,
    parallel_min: int = PARALLEL_MIN_ARTICLES,
) -> Training:
    """``train_splitter``, started: ``result()`` gives the splitter.

    Reads ``texts`` now. When Punkt learns in a child, this process is free until
    ``result()`` (a build hashes the folder's files meanwhile, on the other core); when
    it learns here, it does so in ``result()``, after whatever this process did between.
    """
    chunks = training_chunks(texts)
    if workers < 2 or articles < parallel_min:
        return Training(chunks)
    import multiprocessing

    context = multiprocessing.get_context(_start_method())
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_train_in_child, args=(chunks, sender, os.getpid()), name="punkt-training"
    )
    child.start()
    sender.close()  # the child holds the sending end now: its exit ends ``recv``
    return Training(chunks, child, receiver)


class Training:
    """Punkt learning, here (at ``result()``) or in a child process (already under way).

    Whoever starts one calls ``result()`` or, when giving up, ``cancel()``: a child
    nobody reads from would block on its answer for as long as this process lives.
    """

    def __init__(self, chunks: list[str], child: Any = None, receiver: Any = None) -> None:
        self._chunks, self._child, self._receiver = chunks, child, receiver

    def result(self) -> SentenceSplitter:
        """The trained splitter (waits for the child's answer)."""
        if self._child is None:
            return SentenceSplitter.train(self._chunks)
        child, receiver = self._child, self._receiver
        try:
            learnt, saved = receiver.recv()
        except EOFError:
            child.join()
            raise RuntimeError(f"Punkt training stopped (exit code {child.exitcode})") from None
        except BaseException:
            # Interrupted before the answer came (Ctrl-C, a signal's exception): nobody will
            # read the pipe now, and a forked child holds a reader of its own, so it would
            # block on its send for as long as this process lives.
            self.cancel()
            raise
        finally:
            receiver.close()
        child.join()
        if not learnt:
            raise RuntimeError(f"Punkt training failed: {saved}")
        return SentenceSplitter.from_saved(saved)

    def cancel(self) -> None:
        """Stop a child's training (nothing to do for training here)."""
        if self._child is not None:
            self._receiver.close()
            self._child.terminate()
            self._child.join()


def _train_in_child(chunks: list[str], sender: Any, parent: int) -> None:
    die_with_parent(parent)
    try:
        saved = SentenceSplitter.train(chunks).saved_form()
    except Exception as exc:  # told to the parent, which raises it there
        sender.send((False, f"{type(exc).__name__}: {exc}"))
        raise
    sender.send((True, saved))
    sender.close()


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
    return _prepare_batches(
        batches, len(raw), splitter, tokenizer, progress, workers if len(raw) >= parallel_min else 1
    )


def prepare_files(
    folder: Path,
    ids: Sequence[str],
    max_bytes: int,
    splitter: SentenceSplitter,
    tokenizer: Tokenizer,
    progress: Progress | None = None,
    workers: int = 1,
    parallel_min: int = PARALLEL_MIN_ARTICLES,
) -> Prepared:
    """The table of the readable files ``ids`` (in that order), read by the workers themselves.

    The same table as ``prepare_table`` of what ``read_files`` reads; each file that
    cannot be read is told once, here, and listed in ``unread``.
    """
    batches = [
        FileBatch(folder, tuple(ids[i : i + _BATCH]), max_bytes) for i in range(0, len(ids), _BATCH)
    ]
    prepared = _prepare_batches(
        batches, len(ids), splitter, tokenizer, progress, workers if len(ids) >= parallel_min else 1
    )
    for error in prepared.unread:
        tell(error)
    return prepared


def _prepare_batches(
    batches: Sequence[Batch],
    total: int,
    splitter: SentenceSplitter,
    tokenizer: Tokenizer,
    progress: Progress | None,
    workers: int,
) -> Prepared:
    """The batches' tables joined in order, made here (one worker) or by ``workers`` processes."""
    done = sentences = 0
    joined = TableJoin()  # each batch's table joins at once and goes: never all held
    failed: list[LoadError] = []
    unread: list[LoadError] = []

    def finished(batch: Prepared) -> None:
        nonlocal done, sentences
        joined.add(batch.table)
        failed.extend(batch.failed)
        unread.extend(batch.unread)
        done += batch.table.articles + len(batch.failed) + len(batch.unread)
        sentences += batch.table.sentences
        if progress is not None:
            progress(done, total, sentences)

    if workers < 2:
        for batch in batches:
            finished(_prepare_batch(batch, splitter, tokenizer))
        return Prepared(joined.table(), tuple(failed), tuple(unread))
    log.info("preparing articles", extra={"articles": total, "workers": workers})
    import multiprocessing  # only a large batch needs them; a start that loads does not
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(_start_method()),
        initializer=_start_worker,
        initargs=(
            os.getpid(),
            splitter.saved_form(),  # plain data: this process need not import NLTK
            dict(tokenizer.aliases),
            tokenizer.stopwords,
            tokenizer.language,
        ),
    ) as pool:
        for prepared in pool.map(_prepare_in_worker, batches):
            finished(prepared)
            del prepared  # joined: its table goes now
    return Prepared(joined.table(), tuple(failed), tuple(unread))


def _start_method() -> str:
    import multiprocessing

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _prepare_batch(batch: Batch, splitter: SentenceSplitter, tokenizer: Tokenizer) -> Prepared:
    if not isinstance(batch, FileBatch):
        return _prepare(batch, splitter, tokenizer)
    raw, unread = batch.read()
    prepared = _prepare(raw, splitter, tokenizer)
    return Prepared(prepared.table, prepared.failed, tuple(unread))


def _prepare(
    batch: Sequence[RawArticle], splitter: SentenceSplitter, tokenizer: Tokenizer
) -> Prepared:
    # Everything but the table is freed when ``_prepare_now`` returns, before the
    # collector runs again: it never walks the batch's articles, sentences and words.
    with collector_paused():
        return _prepare_now(batch, splitter, tokenizer)


def _prepare_now(
    batch: Sequence[RawArticle], splitter: SentenceSplitter, tokenizer: Tokenizer
) -> Prepared:
    prepared, failed = [], []
    for item, made in zip(batch, prepare_articles(batch, splitter, tokenizer), strict=True):
        if not isinstance(made, Exception):
            prepared.append(made)
            continue
        log.warning("skipped %s: could not be prepared", item.source.id, exc_info=made)
        first = (str(made).splitlines() or [""])[0][:200]
        reason = f"could not be prepared ({type(made).__name__}: {first})"
        failed.append(LoadError(item.source.id, reason))
    return Prepared(CorpusTable.of(prepared), tuple(failed))


# How many batches are being prepared with the cyclic collector paused, and whether it
# ran before the first of them (a live corpus prepares on a thread of its own).
_pauses = 0
_was_enabled = False
_pause_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is prepared, as it was after.

    A batch makes tens of thousands of small objects that live until its table is made
    (sentences, attributions, terms); every 700 allocations the collector walks the
    young ones, and the survivors again in the older generations, and finds next to
    nothing: the work makes few reference cycles. That was about a tenth of a worker's
    CPU (20-30 µs a sentence, timed by ``gc.callbacks`` on ``bench/worker_cpu.py``'s
    articles; 3-5 µs paused). Reference counting still frees everything at once; a rare
    cycle waits for the first collection after the batch. Pauses from several threads
    (a live corpus prepares on one of its own) nest: the collector runs again when the
    last one ends, if it ran before the first.
    """
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


_worker: tuple[SentenceSplitter, Tokenizer] | None = None


def _start_worker(
    parent: int,
    punkt: Mapping[str, Any],
    aliases: Mapping[str, str],
    stopwords: frozenset[str],
    language: str,
) -> None:
    global _worker
    die_with_parent(parent)  # a killed ``index`` must not leave workers waiting forever
    _worker = (SentenceSplitter.from_saved(punkt), Tokenizer(aliases, stopwords, language))


def _prepare_in_worker(batch: Batch) -> Prepared:
    assert _worker is not None, "the pool's initializer sets up each worker"
    return _prepare_batch(batch, *_worker)
