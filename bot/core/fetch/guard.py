"""Which addresses the bot may connect to, decided on the address it actually connects to.

A URL's host name says nothing about where it leads: ``intranet.example`` may resolve
to 10.0.0.5, and a name may resolve to a public address when checked and to 127.0.0.1
a second later (DNS rebinding). So the check is made inside the connection itself:
the host is resolved once, every address it resolves to is checked, and the socket is
opened to one of those same checked addresses. Redirects open new connections, and
each is checked the same way. TLS still verifies the certificate against the host
name, as httpcore starts TLS with the name, not the address.

Everything here uses public httpx/httpcore interfaces: httpcore's connection pool with
our network backend, wrapped as an httpx transport.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable, Iterator

import certifi
import httpcore
import httpx


class BlockedAddress(Exception):
    """A connection refused because the host resolves to a private or local address."""

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address
        where = host if host == address else f"{host} ({address})"
        super().__init__(f"{where} is a private or local address")


def refused(address: str) -> bool:
    """Whether connecting to ``address`` would reach a private, local or reserved network.

    Only globally routable unicast addresses are allowed; an IPv4 address written
    as IPv6 (``::ffff:127.0.0.1``) is judged as the IPv4 address it is.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host} ({exc})") from exc
    addresses = [str(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses))


def check_host(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses of ``host``, or ``BlockedAddress`` if any of them is not public.

    Any private address refuses the host, not just that address: a name that resolves
    to both could be answered either way on the next lookup.
    """
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            if refused(address):
                raise BlockedAddress(host, address)
    return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, connecting only to checked addresses."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple[int, int, int | bytes | None]] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve, check every address, then connect to the first checked one that answers."""
        failure: Exception | None = None
        for address in check_host(host, port, self.allow_private):
            try:
                return self._sockets.connect_tcp(
                    address,
                    port,
                    timeout,
                    local_address,
                    socket_options,  # type: ignore[arg-type]
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[tuple[int, int, int | bytes | None]] | None = None,
    ) -> httpcore.NetworkStream:
        """Never: the bot fetches from the web, not from local sockets."""
        raise httpcore.ConnectError("unix sockets are not fetched from")

    def sleep(self, seconds: float) -> None:
        """As httpcore's backend does (used between connection retries)."""
        self._sockets.sleep(seconds)


# httpcore's exceptions as httpx's, most specific first (httpx does the same mapping for
# its own transport; ours is a separate class, so it maps them itself).
_MAPPED: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


def _as_httpx(exc: Exception) -> Exception:
    for core, mapped in _MAPPED:
        if isinstance(exc, core):
            return mapped(str(exc))
    return exc


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:
            raise _as_httpx(exc) from exc

    def close(self) -> None:
        closer = getattr(self._stream, "close", None)
        if closer is not None:
            closer()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport whose every connection goes through ``GuardedBackend``.

    No proxy is used (the environment's proxy settings are ignored): through a proxy,
    the address checked would be the proxy's, not the page's.
    """

    def __init__(self, allow_private: bool, max_connections: int = 32) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl.create_default_context(cafile=certifi.where()),
            max_connections=max_connections,
            max_keepalive_connections=max_connections // 2,
            keepalive_expiry=30.0,
            network_backend=GuardedBackend(allow_private),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the guarded pool; errors come out as httpx's."""
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core)
        except BlockedAddress:
            raise
        except Exception as exc:
            raise _as_httpx(exc) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()
