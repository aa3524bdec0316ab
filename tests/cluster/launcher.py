"""Build and run a real OpenSearch cluster on 127.0.0.1 for the tests (and benchmarks).

The nodes are JVMs running ``tools/opensearch`` (one Java class that starts an OpenSearch
node in-process from its Maven Central jars). This module has no test-framework imports, so
a benchmark can start the same cluster; ``conftest.py`` wraps it in a session fixture.

Every wait here has a deadline, and every JVM is stopped on the way out: SIGTERM first (the
node closes cleanly), SIGKILL after a timeout. If the Python process dies without stopping
them, the JVMs still exit: each one watches its stdin, a pipe whose only writer is this
process, and stops when it reaches end-of-file.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO / "tools" / "opensearch"
MAIN_CLASS = "newsquote.opensearch.Launcher"
READY_MARK = "NEWSQUOTE-OPENSEARCH READY"

# Modest per-node memory: two nodes, a test corpus, and the rest of the test run share 24 GiB.
# C1 only (TieredStopAtLevel=1): on two busy cores a node then starts in ~6 s instead of ~15 s,
# as C2's compiler threads no longer compete with start-up; steady-state search is slower, so
# a benchmark should pass -XX:TieredStopAtLevel=4 in NEWSQUOTE_OPENSEARCH_JAVA_OPTS.
DEFAULT_JVM_OPTS = (
    "-Xms512m",
    "-Xmx512m",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-UsePerfData",
    "-Dorg.apache.logging.log4j.level=INFO",
)


def jvm_opts() -> tuple[str, ...]:
    """The node JVM's options: the defaults, then any in NEWSQUOTE_OPENSEARCH_JAVA_OPTS.

    The later options win in the JVM, so e.g. ``-Xmx2g`` there gives a benchmark a bigger heap.
    """
    return DEFAULT_JVM_OPTS + tuple(os.environ.get("NEWSQUOTE_OPENSEARCH_JAVA_OPTS", "").split())


class ClusterError(RuntimeError):
    """The cluster could not be built, started or brought to health in time."""


def missing_tools() -> list[str]:
    """The command-line tools the cluster needs that are not on PATH (empty: all there)."""
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def _built_classpath(check_inputs: bool = True) -> str | None:
    """The classpath of the last build if it is still good: no input newer, every jar there.

    Saves the few seconds Maven takes to start when nothing changed. A fresh clone (CI) has
    no target/ and always builds. The stamp is written after each successful Maven run
    (Maven leaves unchanged outputs untouched, so their own times say nothing).
    """
    target = TOOLS_DIR / "target"
    listing = target / "classpath.txt"
    stamp = target / "newsquote-build.stamp"
    main_class = target / "classes" / (MAIN_CLASS.replace(".", "/") + ".class")
    if not (listing.exists() and main_class.exists() and stamp.exists()):
        return None
    if check_inputs:
        built = stamp.stat().st_mtime
        inputs = [TOOLS_DIR / "pom.xml", *(TOOLS_DIR / "src").rglob("*")]
        if any(path.stat().st_mtime > built for path in inputs if path.is_file()):
            return None
    dependencies = listing.read_text().strip()
    if not dependencies or not all(Path(jar).exists() for jar in dependencies.split(os.pathsep)):
        return None
    return os.pathsep.join([str(target / "classes"), dependencies])


def build_launcher(timeout: float = 600.0) -> str:
    """Build tools/opensearch with Maven (unless up to date) and return its Java classpath.

    Maven resolves the OpenSearch jars from Maven Central into ~/.m2 on the first build
    (about 85 MB with Maven's own plugins); later builds only check them. The timeout covers
    a cold ~/.m2.
    """
    classpath = _built_classpath()
    if classpath is not None:
        return classpath
    # Maven is a short-lived JVM too: C1 only and the serial collector halve its time on two
    # busy cores. The caller's own MAVEN_OPTS come after, so they win.
    maven_opts = f"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC {os.environ.get('MAVEN_OPTS', '')}"
    try:
        result = subprocess.run(
            ["mvn", "-q", "-B", "package"],
            cwd=TOOLS_DIR,
            env={**os.environ, "MAVEN_OPTS": maven_opts.strip()},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"mvn package in {TOOLS_DIR} took over {timeout:.0f} s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise ClusterError(f"mvn package in {TOOLS_DIR} failed ({result.returncode}):\n{output}")
    (TOOLS_DIR / "target" / "newsquote-build.stamp").touch()
    classpath = _built_classpath(check_inputs=False)
    if classpath is None:
        raise ClusterError(f"mvn package in {TOOLS_DIR} left no usable target/classpath.txt")
    return classpath


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now, all distinct (held open together while choosing).

    Another process could take one before a node binds it; the node then fails to start
    with a BindException in its log, which ClusterNode.wait_ready reports.
    """
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def http_json(url: str, timeout: float = 10.0) -> dict:
    """GET a JSON document with the standard library (no client library needed to start)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class ClusterNode:
    """One OpenSearch node: its ports, its home folder (data kept across restarts), its JVM."""

    name: str
    cluster_name: str
    home: Path
    http_port: int
    transport_port: int
    classpath: str
    seed_hosts: Sequence[str]
    initial_cluster_managers: Sequence[str]
    jvm_opts: Sequence[str] = field(default_factory=jvm_opts)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # Where this start's output begins in the log, so an earlier run's ready line is not read.
    log_offset: int = field(default=0, repr=False)

    @property
    def url(self) -> str:
        """The node's HTTP base URL."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        """Everything the JVM prints (the node's log goes to stdout) lands here."""
        return self.home / "node.log"

    def command(self) -> list[str]:
        """The java command line that starts this node."""
        return [
            "java",
            *self.jvm_opts,
            "-cp",
            self.classpath,
            MAIN_CLASS,
            "--name",
            self.name,
            "--cluster",
            self.cluster_name,
            "--home",
            str(self.home),
            "--http-port",
            str(self.http_port),
            "--transport-port",
            str(self.transport_port),
            "--seed-hosts",
            ",".join(self.seed_hosts),
            "--initial-cluster-managers",
            ",".join(self.initial_cluster_managers),
        ]

    def start(self) -> None:
        """Start the JVM (returns at once; wait_ready waits for the node to answer)."""
        if self.running:
            raise ClusterError(f"node {self.name} is already running")
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.log_offset = log.tell()
            log.write(f"--- starting {self.name} at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.PIPE,  # never written: its end-of-file tells the JVM to stop
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal reaches pytest, whose clean-up
                # stops the node, instead of killing the JVM under a running test.
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        """Whether the JVM is alive."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the node's log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def failure(self) -> str:
        """The launcher's one-line reason for a failed start, if it printed one."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                text = log.read().decode(errors="replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            if line.startswith("NEWSQUOTE-OPENSEARCH start failed"):
                return line
        return "(no reason printed; see the log below)"

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until the node prints its ready line (it then answers HTTP)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                if READY_MARK.encode() in log.read():
                    return
            if not self.running:
                code = self.process.returncode if self.process else None
                raise ClusterError(
                    f"node {self.name} exited ({code}) before it was ready: {self.failure()}\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)
        raise ClusterError(f"node {self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the JVM: SIGTERM (clean close), then SIGKILL after ``timeout`` seconds."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stdin is not None:
            process.stdin.close()
        return process.returncode


@dataclass
class OpenSearchCluster:
    """A cluster of ``size`` nodes on free 127.0.0.1 ports, every node data- and manager-eligible."""

    classpath: str
    root: Path
    size: int = 2
    cluster_name: str = "newsquote-test"
    nodes: list[ClusterNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Choose ports and homes; nothing starts until start()."""
        ports = free_ports(2 * self.size)
        names = [f"node-{i + 1}" for i in range(self.size)]
        seeds = [f"127.0.0.1:{ports[2 * i + 1]}" for i in range(self.size)]
        self.nodes = [
            ClusterNode(
                name=name,
                cluster_name=self.cluster_name,
                home=self.root / name,
                http_port=ports[2 * i],
                transport_port=ports[2 * i + 1],
                classpath=self.classpath,
                seed_hosts=seeds,
                initial_cluster_managers=names,
            )
            for i, name in enumerate(names)
        ]

    @property
    def urls(self) -> list[str]:
        """Every node's HTTP base URL."""
        return [node.url for node in self.nodes]

    def node(self, name: str) -> ClusterNode:
        """The node of that name."""
        return next(node for node in self.nodes if node.name == name)

    def start(self, timeout: float = 120.0) -> None:
        """Start every node at once and wait until each is ready and the cluster is green."""
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready(timeout)
        self.wait_health(timeout=timeout)

    def wait_health(self, status: str = "green", timeout: float = 120.0) -> dict:
        """Wait until all ``size`` nodes have joined and the cluster has ``status``.

        Asks any running node; OpenSearch itself waits server-side, in slices short enough
        that the deadline here holds.
        """
        deadline = time.monotonic() + timeout
        last_error = "no node asked"
        while time.monotonic() < deadline:
            for node in self.nodes:
                if not node.running:
                    continue
                wait = max(1, min(10, int(deadline - time.monotonic())))
                url = (
                    f"{node.url}/_cluster/health?wait_for_nodes={self.size}"
                    f"&wait_for_status={status}&wait_for_no_initializing_shards=true"
                    f"&timeout={wait}s"
                )
                try:
                    health = http_json(url, timeout=wait + 5)
                except urllib.error.HTTPError as exc:
                    # 408: the server-side wait timed out; the body still tells the state.
                    last_error = f"{exc.code}: {exc.read()[:500]!r}"
                    continue
                except (OSError, ValueError) as exc:
                    last_error = repr(exc)
                    continue
                if not health.get("timed_out"):
                    return health
                last_error = json.dumps(health)
            time.sleep(0.2)
        raise ClusterError(
            f"cluster not {status} with {self.size} nodes after {timeout:.0f} s: {last_error}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node (SIGTERM to all first, so they close in parallel)."""
        for node in self.nodes:
            if node.running and node.process is not None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            node.stop(timeout)

    def discard(self) -> None:
        """Stop every node and delete ``root``: a benchmark's 1M index is gigabytes of it."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
