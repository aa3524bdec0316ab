"""What the OpenSearch backend reads from the ``opensearch_*`` settings, as one frozen value.

Kept apart from ``client`` so that ``CoreOptions`` can carry it without importing
the OpenSearch client (half a second) on the embedded backend. The password stays a
``SecretStr`` until the one call that opens a connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr


@dataclass(frozen=True, slots=True, repr=False)
class ClusterOptions:
    """The cluster to use and how much of it each question reads.

    Its ``repr`` shows the hosts without credentials and never the password.
    """

    hosts: tuple[str, ...]
    index: str
    username: str | None = None
    password: SecretStr | None = None
    verify_certs: bool = True
    ca_file: Path | None = None
    timeout: float = 10.0
    shards: int = 2  # a rebuild's new index: primaries spread the corpus,
    replicas: int = 1  # replicas survive a node's loss
    candidates: int = 100  # sentences (and half as many paragraphs) taken by BM25 per question

    def __repr__(self) -> str:
        """The options a log may show: hosts without credentials, no password."""
        return (
            f"ClusterOptions(hosts={self.shown_hosts!r}, index={self.index!r}, "
            f"username={self.username!r}, password={'***' if self.password else None})"
        )

    @property
    def shown_hosts(self) -> str:
        """The hosts as a person may see them: no ``user:password@`` part."""
        return ", ".join(without_userinfo(host) for host in self.hosts)

    def secret(self) -> str | None:
        """The password itself, for the client's authentication and for scrubbing messages."""
        return None if self.password is None else self.password.get_secret_value()


def without_userinfo(host: str) -> str:
    """``host`` without a ``user:password@`` part."""
    parts = urlsplit(host if "//" in host else f"//{host}")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return shown.removeprefix("//")
