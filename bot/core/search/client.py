"""Connecting to the cluster, and every way that can fail said in one line.

The backend reads ``ClusterOptions`` (``options``), made once by ``Settings.core_options()``,
never ``Settings`` itself. The password is kept out of ``repr`` and out of every message: ``ClusterError`` texts are built here from the error's kind, the
hosts without any user part, and the server's reason, then scrubbed of the secret
once more in case a server or a library echoed it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from opensearchpy import OpenSearch
from opensearchpy.exceptions import (
    AuthenticationException,
    AuthorizationException,
    ConnectionError,
    ConnectionTimeout,
    NotFoundError,
    SSLError,
    TransportError,
)

from bot.core.errors import CorpusError
from bot.core.search.options import ClusterOptions, without_userinfo
from bot.core.search.wire import WireSerializer

log = logging.getLogger(__name__)
T = TypeVar("T")

# Statuses worth another try on another node: the cluster was busy (429) or a node or
# shard went away (502-504). Anything else (a 400 mapping error) will fail again.
RETRYABLE_STATUSES = (429, 502, 503, 504)


class ClusterError(CorpusError):
    """The cluster cannot be used as asked; ``str(error)`` is the one line a person sees."""


class ClusterUnavailable(ClusterError):
    """No node answered (down, unreachable, timed out): worth trying again later."""


class NoIndexError(ClusterError):
    """The cluster answers but holds no usable index under the configured name."""


def make_client(options: ClusterOptions) -> OpenSearch:
    """A client that knows every node: a request to a node that is gone is retried on another.

    TLS is used for ``https://`` hosts, verified against ``ca_file`` (or the system's
    certificates) unless ``verify_certs`` is off.
    """
    _quiet_library_logs()
    tls = any(host.lower().startswith("https://") for host in options.hosts)
    kwargs: dict[str, Any] = {
        "hosts": list(options.hosts),
        "timeout": options.timeout,
        "max_retries": 2,
        "retry_on_timeout": True,
        "retry_on_status": (502, 503, 504),
        # Questions, bulk threads and the folder watcher share one client: one pooled
        # connection per node would be opened and thrown away on every overlap.
        "pool_maxsize": 8,
        "serializer": WireSerializer(),  # orjson: half the Python time of the stdlib's
    }
    if options.username is not None:
        kwargs["http_auth"] = (options.username, options.secret() or "")
    if tls:
        kwargs.update(use_ssl=True, verify_certs=options.verify_certs, ssl_show_warn=False)
        if options.ca_file is not None:
            kwargs["ca_certs"] = str(options.ca_file)
    return OpenSearch(**kwargs)


def _quiet_library_logs() -> None:
    """Keep the client's own per-request warnings out of the one line a person sees.

    opensearch-py logs a warning for every failed attempt (each retry, each node); the
    ``ClusterError`` raised at the end says what failed, once. At DEBUG they show.
    """
    library = logging.getLogger("opensearch")
    if not logging.getLogger().isEnabledFor(logging.DEBUG) and library.level < logging.ERROR:
        library.setLevel(logging.ERROR)


def describe_failure(exc: BaseException, options: ClusterOptions, doing: str) -> ClusterError:
    """The one-line ``ClusterError`` for a client exception met while ``doing`` something."""
    where = f"OpenSearch at {options.shown_hosts}"
    error: ClusterError
    if isinstance(exc, AuthenticationException):
        error = ClusterError(
            f"{where} refused the credentials while {doing} (401): check opensearch_username "
            "and opensearch_password"
        )
    elif isinstance(exc, AuthorizationException):
        who = options.username or "anonymous"
        error = ClusterError(f"{where}: user {who!r} is not allowed to do that ({doing}; 403)")
    elif isinstance(exc, SSLError):
        error = ClusterUnavailable(
            f"TLS with {where} failed while {doing} ({_reason(exc)}): check opensearch_ca_file "
            "and opensearch_verify_certs"
        )
    elif isinstance(exc, ConnectionTimeout):
        error = ClusterUnavailable(f"{where} did not answer in time while {doing}")
    elif isinstance(exc, ConnectionError):
        error = ClusterUnavailable(f"cannot reach {where} while {doing} ({_reason(exc)})")
    elif isinstance(exc, NotFoundError):
        error = NoIndexError(
            f"{where} has no index {options.index!r}: build it with `python -m bot index`"
        )
    elif isinstance(exc, TransportError):
        status = exc.status_code
        kind = ClusterUnavailable if status in RETRYABLE_STATUSES else ClusterError
        error = kind(f"{where} failed while {doing} ({status}: {_reason(exc)})")
    else:
        error = ClusterError(f"{where}: {doing} failed ({type(exc).__name__}: {_reason(exc)})")
    return type(error)(scrub(str(error), options))


def guarded(options: ClusterOptions, doing: str, call: Callable[[], T]) -> T:
    """``call()``, with any client failure turned into its one-line ``ClusterError``."""
    try:
        return call()
    except ClusterError:
        raise
    except (TransportError, ConnectionError) as exc:
        raise describe_failure(exc, options, doing) from exc


def scrub(text: str, options: ClusterOptions) -> str:
    """``text`` with the password (and any ``user:password@`` in a URL) masked."""
    text = re.sub(r"(?<=//)[^/@\s]+@", "", text)
    secret = options.secret()
    if secret:
        text = text.replace(secret, "***")
    return text


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed request may succeed if sent again (busy cluster, node gone)."""
    if isinstance(exc, ConnectionError):  # includes timeouts; not TLS or credential errors
        return not isinstance(exc, SSLError)
    return isinstance(exc, TransportError) and exc.status_code in RETRYABLE_STATUSES


def _reason(exc: BaseException) -> str:
    """The server's or the library's reason, short and on one line."""
    info = getattr(exc, "info", None)
    reason = None
    if isinstance(info, dict):
        error = info.get("error")
        if isinstance(error, dict):
            reason = error.get("reason") or error.get("type")
        elif isinstance(error, str):
            reason = error
    if reason is None:
        error = getattr(exc, "error", None)
        reason = error if isinstance(error, str) and error != "N/A" else None
    if reason is None and isinstance(exc, TransportError) and len(exc.args) > 2:
        reason = str(exc.args[2])
    text = " ".join(str(reason or exc or type(exc).__name__).split())
    return text[:200]


def hosts_of(options: ClusterOptions) -> Sequence[str]:
    """The configured hosts (for logs), without credentials."""
    return [without_userinfo(host) for host in options.hosts]
