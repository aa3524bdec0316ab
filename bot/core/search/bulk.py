"""Bulk writes that survive a busy or shrinking cluster.

``opensearch-py``'s ``streaming_bulk`` sends chunks and itself retries documents
rejected with 429 (a full write queue), with backoff. What still fails for a reason
that may pass (429 again, a node or shard gone: 502-504, no connection at all) is sent
again here, with a pause that doubles, on whichever node the client still reaches,
until a deadline. A refusal that will not pass (a 400: the document does not fit the
mapping) stops the write at once with the cluster's reason. Documents carry their own
ids, so one sent twice (a retry after a half-applied request, a re-run after a crash)
is overwritten, never doubled.

Each document is encoded once, when its batch is formed, to its two lines of a bulk
request (action and source, JSON text): the helper's ``expand_action_callback`` hands them
on as they are and the client's serializer passes text through, so neither copies nor
encodes an action again, and a resend sends the same text. The
cluster's answer is cut to what is read (``filter_path``): per item its id, status and
error, not the index, version, shard counts and sequence numbers of every document.
A ``check`` called before each resend lets a caller stop a write that can no longer
succeed as it is (``fresh``: a shard lost with no copy elsewhere).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import TransportError

from bot.core.search import wire
from bot.core.search.client import (
    ClusterError,
    ClusterOptions,
    ClusterUnavailable,
    describe_failure,
    is_retryable,
)

log = logging.getLogger(__name__)

BULK_BATCH = 4000  # documents held for a possible resend at a time
CHUNK_DOCS = 1000
CHUNK_BYTES = 8 * 1024 * 1024
# How long a bulk keeps resending what the cluster could not take, in all; each pause
# doubles from the first up to the last.
RETRY_SECONDS = 300.0
RETRY_PAUSES = (0.5, 10.0)
# A bulk request may wait this long for a busy cluster before the client gives up on it.
BULK_TIMEOUT_SECONDS = 120

# What the bulk answers are cut to: the helper pairs items with actions by position, and
# reads each item's status (and error); an id names a refused document.
FILTER_PATH = "errors,items.*._id,items.*.status,items.*.error"

# Called as documents are written: (sentences written, sentences in all).
WriteProgress = Callable[[int, int], None]
# Called before a resend; raises to give the write up.
WriteCheck = Callable[[], None]
# An action's bulk lines as sent (JSON text: the action, then the source unless a delete),
# and whether it is a sentence's.
Lines = tuple[str, str | None]
Encoded = tuple[Lines, bool]


class IngestError(ClusterError):
    """Documents the cluster refused for good (a mapping conflict), or could not take in time."""


@dataclass
class BulkStats:
    """What a bulk run did: documents written, sentences among them, resends, time."""

    documents: int = 0
    sentences: int = 0
    resent: int = 0
    seconds: float = 0.0


@dataclass
class BulkWriter:
    """Sends documents in bulk, resending what may pass later (see the module's docs)."""

    client: OpenSearch
    options: ClusterOptions
    index: str
    retry_seconds: float | None = None  # None: RETRY_SECONDS
    stats: BulkStats = field(default_factory=BulkStats)
    progress: WriteProgress | None = None
    expected_sentences: int = 0
    check: WriteCheck | None = None
    shard_wait: str | None = None  # a bulk's wait for an unavailable primary (None: 1m)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, actions: Iterable[dict[str, Any]], threads: int = 1) -> BulkStats:
        """Send every action (documents with ``_id``; ``_op_type`` delete for deletions).

        ``threads`` > 1 sends batches from that many threads (serialising JSON holds
        the GIL, so this mainly overlaps the cluster's work with ours).
        """
        started = time.perf_counter()
        batches = _batches(actions, BULK_BATCH)
        if threads <= 1:
            for batch in batches:
                self._send(batch)
        else:
            source = threading.Lock()
            failures: list[BaseException] = []

            def work() -> None:
                while not failures:
                    with source:
                        batch = next(batches, None)
                    if batch is None:
                        return
                    try:
                        self._send(batch)
                    except BaseException as exc:
                        failures.append(exc)
                        return

            workers = [threading.Thread(target=work, name=f"bulk-{i}") for i in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            if failures:
                raise failures[0]
        self.stats.seconds += time.perf_counter() - started
        return self.stats

    def _send(self, batch: list[dict[str, Any]]) -> None:
        """One batch, resent in part until every document is in or the deadline passes."""
        pending = {(_op(action), action["_id"]): self._encoded(action) for action in batch}
        patience = RETRY_SECONDS if self.retry_seconds is None else self.retry_seconds
        deadline = time.monotonic() + patience
        pause, most = RETRY_PAUSES
        attempt = 0
        while pending:
            failed, reasons = self._attempt(pending)
            written = [action for key, action in pending.items() if key not in failed]
            self._count(written)
            if not failed:
                return
            attempt += 1
            if time.monotonic() + pause > deadline:
                raise ClusterUnavailable(
                    f"{len(failed)} document(s) could not be written to {self.index} in "
                    f"{patience:.0f} s ({reasons[-1] if reasons else 'no reason'}); "
                    "run the command again: what was written stays, nothing is doubled"
                )
            log.warning(
                "resending %d document(s) the cluster did not take (%s); attempt %d",
                len(failed),
                reasons[-1] if reasons else "?",
                attempt,
            )
            with self._lock:
                self.stats.resent += len(failed)
            if self.check is not None:
                self.check()
            time.sleep(pause)
            pause = min(pause * 2, most)
            pending = failed

    def _attempt(
        self, pending: dict[tuple[str, str], Encoded]
    ) -> tuple[dict[tuple[str, str], Encoded], list[str]]:
        """Send ``pending`` once (``streaming_bulk`` retries 429s itself): what failed, and why.

        A refusal that sending again cannot cure (a mapping error) raises ``IngestError``.
        """
        failed: dict[tuple[str, str], Encoded] = {}
        reasons: list[str] = []
        waits = {} if self.shard_wait is None else {"timeout": self.shard_wait}
        try:
            for ok, item in helpers.streaming_bulk(
                self.client,
                (lines for lines, _ in pending.values()),
                expand_action_callback=_ready,
                chunk_size=CHUNK_DOCS,
                max_chunk_bytes=CHUNK_BYTES,
                max_retries=3,
                initial_backoff=1,
                max_backoff=8,
                raise_on_error=False,
                # A failed request is raised (below: all of ``pending`` is sent again); the
                # helper's own marking of its documents reads them as dicts, not ready lines.
                raise_on_exception=True,
                yield_ok=False,
                request_timeout=max(BULK_TIMEOUT_SECONDS, self.options.timeout),
                filter_path=FILTER_PATH,
                index=self.index,  # in the URL, not on every action's line
                **waits,
            ):
                if ok:
                    continue
                op, info = next(iter(item.items()))
                key = (op, str(info.get("_id")))
                status = info.get("status")
                if op == "delete" and status == 404:
                    continue  # already gone: what a delete wants
                if key not in pending:
                    raise IngestError(f"the cluster answered for an unknown document {key}")
                if not _retryable_status(status, info):
                    raise IngestError(
                        f"OpenSearch refused document {key[1]} of index {self.index} "
                        f"({status}: {_item_reason(info)})"
                    )
                failed[key] = pending[key]
                reasons.append(f"{status}: {_item_reason(info)}")
        except TransportError as exc:  # a request failed (after the helper's 429 retries)
            if not is_retryable(exc):
                raise describe_failure(exc, self.options, "writing documents") from exc
            failed = pending
            reasons.append(str(exc)[:200])
        return failed, reasons

    def _encoded(self, action: Mapping[str, Any]) -> Encoded:
        """``action`` as its bulk lines (JSON text; no source for a delete), and if a sentence's."""
        op = _op(action)
        head = f'{{"{op}":{{"_id":{wire.dumps(str(action["_id"]))}}}}}'
        if op == "delete":
            return (head, None), False
        source = {key: value for key, value in action.items() if key not in _META_KEYS}
        return (head, wire.dumps(source)), action.get("kind") == "s"

    def _count(self, written: Sequence[Encoded]) -> None:
        sentences = sum(1 for _, sentence in written if sentence)
        with self._lock:
            self.stats.documents += len(written)
            self.stats.sentences += sentences
            done = self.stats.sentences
        if self.progress is not None and sentences:
            self.progress(done, self.expected_sentences)


_META_KEYS = frozenset({"_op_type", "_id", "_index"})


def _op(action: Mapping[str, Any]) -> str:
    return str(action.get("_op_type", "index"))


def _ready(lines: Lines) -> Lines:
    """The helper's ``expand_action_callback`` for lines already encoded (``_encoded``)."""
    return lines


def _retryable_status(status: object, info: Mapping[str, Any]) -> bool:
    if not isinstance(status, int):  # "N/A": no answer at all (a connection failure)
        return True
    if status in (408, 429, 502, 503, 504):
        return True
    # A node leaving mid-request: the primary moved, or the shard is recovering.
    kind = info.get("error", {}).get("type", "") if isinstance(info.get("error"), dict) else ""
    return status == 500 and kind in {
        "node_disconnected_exception",
        "node_closed_exception",
        "connect_transport_exception",
        "shard_not_found_exception",
    }


def _item_reason(info: Mapping[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return str(error.get("reason") or error.get("type"))[:200]
    return str(error)[:200]


def _batches(actions: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for action in actions:
        batch.append(action)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
