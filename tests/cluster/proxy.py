"""A stand-in in front of a real node, on 127.0.0.1, that misbehaves when told to.

The cluster in the tests has no security plugin and never rejects a write; the faults
the backend must survive are made here instead, on the wire, in front of a real node:
bulk requests answered with 429 (whole, or some of their items), credentials refused
with 401, no answer at all (a cluster that is down), and an index creation that is done
but answered too late (a busy cluster: the client times out and sends it again).
Everything else is forwarded.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Faults:
    """What the stand-in does; change the fields while it runs."""

    down: bool = False  # close every connection without an answer
    credentials: tuple[str, str] | None = None  # required Basic credentials, else 401
    reject_bulks: int = 0  # this many next _bulk requests: 429 for the whole request
    reject_items: int = 0  # this many next _bulk requests: their first items answered 429
    items_per_reject: int = 5
    slow_creates: int = 0  # this many next index creations: done, answered after slow_seconds
    slow_seconds: float = 0.0
    seen: dict[str, int] = field(default_factory=dict)  # counts: bulk, rejected, items, 401
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.seen[name] = self.seen.get(name, 0) + n


class Proxy:
    """A threaded HTTP server on 127.0.0.1 forwarding to ``target`` (a node's base URL)."""

    def __init__(self, target: str, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        parts = urlsplit(target)
        host, port, faults_ = parts.hostname or "127.0.0.1", parts.port or 9200, self.faults

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep the test output clean
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if faults_.down:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if faults_.credentials is not None and not _authorized(
                    self.headers.get("Authorization"), faults_.credentials
                ):
                    faults_.count("401")
                    self._reply(
                        401,
                        {
                            "error": {"type": "security_exception", "reason": "unauthorized"},
                            "status": 401,
                        },
                    )
                    return
                bulk = "/_bulk" in self.path
                if bulk:
                    faults_.count("bulk")
                    with faults_.lock:
                        reject = faults_.reject_bulks > 0
                        faults_.reject_bulks -= reject
                    if reject:
                        faults_.count("rejected")
                        self._reply(
                            429,
                            {
                                "error": {
                                    "type": "rejected_execution_exception",
                                    "reason": "rejected execution (queue capacity 1)",
                                },
                                "status": 429,
                            },
                        )
                        return
                status, headers, answer = _forward(host, port, self.command, self.path, body,
                                                   self.headers)  # fmt: skip
                if self.command == "PUT" and "/_" not in self.path and status == 200:
                    with faults_.lock:
                        slow = faults_.slow_creates > 0
                        faults_.slow_creates -= slow
                    if slow:
                        faults_.count("slow create")
                        time.sleep(faults_.slow_seconds)  # the client has given up by now
                if bulk and status == 200:
                    answer = _reject_items(answer, faults_)
                self._raw(status, headers.get("content-type", "application/json"), answer)

            def _reply(self, status: int, payload: dict) -> None:
                self._raw(status, "application/json", json.dumps(payload).encode())

            def _raw(self, status: int, kind: str, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _authorized(header: str | None, credentials: tuple[str, str]) -> bool:
    expected = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    return header == f"Basic {expected}"


def _forward(
    host: str, port: int, method: str, path: str, body: bytes, headers: object
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=120)
    try:
        sent = {"Content-Type": headers.get("Content-Type", "application/json")}  # type: ignore[attr-defined]
        connection.request(method, path, body=body or None, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()


def _reject_items(answer: bytes, faults: Faults) -> bytes:
    """Mark the first items of a bulk answer as rejected (they were applied: a retry is a no-op)."""
    with faults.lock:
        reject = faults.reject_items > 0
        faults.reject_items -= reject
    if not reject:
        return answer
    result = json.loads(answer)
    marked = 0
    for item in result.get("items", [])[: faults.items_per_reject]:
        info = next(iter(item.values()))
        info["status"] = 429
        info["error"] = {"type": "rejected_execution_exception", "reason": "queue full"}
        marked += 1
    result["errors"] = True
    faults.count("items", marked)
    return json.dumps(result).encode()
