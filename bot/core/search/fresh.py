"""A fresh index loaded at the cluster's full speed, then made as safe as the settings ask.

A rebuild's new index is read by no one until the alias moves to it, so while it is
written it needs neither replicas (each document would be indexed twice, once per copy,
for nothing) nor refreshes, nor an fsync per request, nor translog flushes every 512 MB.
It is created that way (``load_body``); once every document is in, ``finish`` commits it
so that the replicas copy its finished segment files instead of indexing every document
again, restores the replicas, refreshes and the per-request translog, and waits until
every copy is active.

A new replica copies the primary's *safe* commit and replays the operations after it;
a commit is safe once the global checkpoint, as last written to the translog, has
reached it. With an asynchronous translog the global checkpoint follows the operations
only as they are synced, so the one flush after the load made a commit that was not yet
safe: the replicas copied the empty first commit and replayed the whole load from the
translog (measured: 63,445 and 63,818 operations, every one, on the two shards of the
100k benchmark; the nodes' CPU per 100k sentences about doubled). So ``finish`` flushes,
waits until each shard's global checkpoint has reached its last operation, and flushes
again (forced: nothing new to write), which makes that last commit the safe one.

The price: a node lost while the index has no replicas takes its shards with it. The
load notices (``lost_check``, before any resend; ``finish``) and raises ``CopiesLost``;
the caller deletes that index and loads a new one the old way, with replicas from the
start, so a node dying mid-load still loses nothing and doubles nothing.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from bot.core.search.bulk import WriteCheck
from bot.core.search.client import ClusterError, ClusterOptions, guarded

log = logging.getLogger(__name__)

# While loading: translog flushes (a Lucene commit each) only every this much.
LOAD_FLUSH_THRESHOLD = "1gb"
# How long a bulk request waits for a shard's primary: with no replicas a lost primary
# does not come back, so the load learns of it soon instead of after the default minute.
LOAD_SHARD_WAIT = "10s"
# How long ``finish`` waits for the restored replicas to be copied.
COPY_WAIT_SECONDS = 600
# How long ``finish`` waits for the global checkpoints to reach the last operations, and
# how often it looks (a translog sync moves them: every 5 s by default).
CHECKPOINT_WAIT_SECONDS = 60
CHECKPOINT_POLL_SECONDS = 0.2


class CopiesLost(ClusterError):
    """A shard of an index loaded without replicas lost its only copy (a node left)."""


def load_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` (``documents.index_body``'s) with the settings of a fast load instead."""
    loading = copy.deepcopy(dict(body))
    settings = loading["settings"]
    settings["number_of_replicas"] = 0
    settings["refresh_interval"] = "-1"
    settings["translog.durability"] = "async"
    settings["translog.flush_threshold_size"] = LOAD_FLUSH_THRESHOLD
    return loading


def lost_check(client: OpenSearch, index: str) -> WriteCheck:
    """A bulk ``check``: raises ``CopiesLost`` when ``index`` is red (a primary gone)."""

    def check() -> None:
        try:
            health = client.cluster.health(index=index, request_timeout=30)
        except TransportError as exc:  # the cluster is not answering: the resend decides
            log.debug("health of %s not known (%s)", index, exc)
            return
        if health.get("status") == "red":
            raise CopiesLost(f"index {index}, loaded without replicas, lost a shard")

    return check


def finish(client: OpenSearch, options: ClusterOptions, index: str, replicas: int) -> None:
    """Make a loaded ``index`` durable: flush, replicas and refreshes back, copies active.

    ``CopiesLost`` when the index went red (a node left with a shard's only copy).
    """
    guarded(
        options,
        f"flushing index {index}",
        lambda: client.indices.flush(index=index, request_timeout=COPY_WAIT_SECONDS),
    )
    if _checkpoints_reached(client, options, index):
        guarded(
            options,
            f"flushing index {index}",
            lambda: client.indices.flush(
                index=index, force=True, request_timeout=COPY_WAIT_SECONDS
            ),
        )
    else:
        log.warning(
            "the global checkpoints of %s did not reach its last operations in %d s: its "
            "replicas may be made by replaying the load",
            index,
            CHECKPOINT_WAIT_SECONDS,
        )
    lost_check(client, index)()
    guarded(
        options,
        f"opening index {index} to searches",
        lambda: client.indices.put_settings(
            index=index,
            body={
                "index": {
                    "number_of_replicas": replicas,
                    "refresh_interval": None,
                    "translog.durability": "request",
                    "translog.flush_threshold_size": None,
                }
            },
        ),
    )
    health = wait_for_copies(
        client,
        options,
        index,
        COPY_WAIT_SECONDS,
        "a node lost now",
        wait_for_no_initializing_shards=True,
    )
    if health.get("status") == "red":
        raise CopiesLost(f"index {index} lost a shard while its replicas were made")


def _checkpoints_reached(client: OpenSearch, options: ClusterOptions, index: str) -> bool:
    """Wait until every primary's global checkpoint is its last operation; False: not in time."""
    deadline = time.monotonic() + CHECKPOINT_WAIT_SECONDS
    while True:
        stats = guarded(
            options,
            f"reading the checkpoints of {index}",
            lambda: client.indices.stats(
                index=index,
                metric="docs",
                level="shards",
                filter_path="indices.*.shards.*.routing.primary,indices.*.shards.*.seq_no",
            ),
        )
        copies = [
            shard
            for shards in stats.get("indices", {}).get(index, {}).get("shards", {}).values()
            for shard in shards
            if shard.get("routing", {}).get("primary")
        ]
        if copies and all(
            shard["seq_no"]["global_checkpoint"] >= shard["seq_no"]["max_seq_no"]
            for shard in copies
        ):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(CHECKPOINT_POLL_SECONDS)


def wait_for_copies(
    client: OpenSearch,
    options: ClusterOptions,
    index: str,
    seconds: int,
    when: str,
    **conditions: Any,
) -> dict[str, Any]:
    """Wait up to ``seconds`` for every shard copy of ``index`` to be active; the health.

    A cluster too small for the replicas (one node) never gets there: that is a warning
    that says what a node lost ``when`` would cost, not an error.
    """
    health = guarded(
        options,
        f"waiting for the shard copies of {index}",
        lambda: client.cluster.health(
            index=index,
            wait_for_status="green",
            timeout=f"{seconds}s",
            request_timeout=seconds + 10,
            ignore=[408],  # timed out: the answer still says how far it got
            **conditions,
        ),
    )
    if health.get("timed_out") or health.get("status") != "green":
        log.warning(
            "the replicas of %s are not all active (%s unassigned): %s will lose documents "
            "until it returns",
            index,
            health.get("unassigned_shards"),
            when,
        )
    return health
