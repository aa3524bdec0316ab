"""Session fixtures: a real two-node OpenSearch cluster on 127.0.0.1 (see launcher.py).

The launcher is built once per session and the cluster started once; tests that change the
cluster (stop a node) must leave it as they found it: every node running, health green.

Without ``java`` or ``mvn`` the cluster tests skip and say why, except in CI (``CI`` set),
where a missing tool is a failure: CI must never pass by not running them.
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Iterator

import pytest

from tests.cluster.launcher import ClusterError, OpenSearchCluster, build_launcher, missing_tools
from tests.conftest import CLUSTER_TIMINGS as _timings  # printed at the end by tests/conftest.py


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def opensearch_classpath() -> str:
    """The launcher, built once per session: the Java classpath to start a node with."""
    missing = missing_tools()
    if missing:
        reason = f"OpenSearch cluster tests need {' and '.join(missing)} on PATH"
        if _in_ci():
            pytest.fail(f"{reason} (CI is set: these tests must run, not skip)")
        pytest.skip(reason)
    began = time.monotonic()
    try:
        classpath = build_launcher()
    except ClusterError as exc:
        pytest.fail(str(exc))
    _timings["build"] = time.monotonic() - began
    return classpath


@pytest.fixture(scope="session")
def opensearch_cluster(
    opensearch_classpath: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenSearchCluster]:
    """Two nodes forming one cluster, green; stopped at the end of the session."""
    began = time.monotonic()
    for attempt in (1, 2):
        cluster = OpenSearchCluster(opensearch_classpath, tmp_path_factory.mktemp("opensearch"))
        # Also at interpreter exit, should the session end without running fixture finalizers.
        atexit.register(cluster.stop)
        try:
            cluster.start(timeout=120)
            break
        except ClusterError as exc:
            cluster.stop()
            atexit.unregister(cluster.stop)
            # A port chosen free can be taken before the node binds it: once, choose again.
            if attempt == 1 and "Bind" in str(exc):
                continue
            pytest.fail(str(exc))
    _timings["start"] = time.monotonic() - began
    yield cluster
    began = time.monotonic()
    cluster.stop()
    _timings["stop"] = time.monotonic() - began
    atexit.unregister(cluster.stop)


@pytest.fixture(scope="session")
def opensearch_urls(opensearch_cluster: OpenSearchCluster) -> list[str]:
    """The cluster's HTTP base URLs, one per node."""
    return opensearch_cluster.urls
