"""The network backend under the clients' connection pools: where a call's deadline meets the socket.

httpx's timeouts bound each network operation: a read that waits longer than the read timeout fails,
but every byte that arrives starts the wait again, so a server that sends a byte a second (headers
or body) or a TLS handshake one byte at a time never trips them. The one authority that sees every
byte read or written is httpcore's *network backend*: this one wraps httpcore's own, and gives each
operation — connect, TLS handshake, read, write — at most what is left of the current call's
deadline (:data:`io_deadline`, set by the retry transport around each
attempt and by :class:`~ray_jobs_client.transport.BoundedResponse` around each read of a body),
raising httpcore's matching timeout once it has passed. Outside a call (the log WebSocket once open,
the streamed log download's body) nothing is set and each operation keeps its own timeout.

Each operation of httpcore's sync and anyio backends is bounded as a whole by the timeout it is given
(a TLS handshake too; a write loops over ``send`` with the timeout restarted, so writes are given in
slices here), so no operation can end later than the deadline.

httpx builds its connection pool itself and takes no backend: :func:`with_deadlines` puts this one
under the pool of an ``httpx.HTTPTransport`` or ``AsyncHTTPTransport`` (httpx 0.27 to 0.28, httpcore
1.x), and fails loudly if those internals have changed rather than leaving calls without a deadline.
"""

from __future__ import annotations

import contextvars
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["io_deadline", "with_deadlines"]

#: The deadline (``time.monotonic``) of the network operations under way in this thread or task, or
#: None: read here at every connect, read, write and TLS handshake. Set by the retry transport while
#: a request's attempt runs, and by :class:`~ray_jobs_client.transport.BoundedResponse` while a body
#: is read.
io_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "ray_jobs_client_io_deadline", default=None
)

#: Bytes written per ``write`` under a deadline: the sync backend restarts its timeout for each
#: ``send``, so a large buffer is given in slices, each with what remains.
_WRITE_SLICE = 64 * 1024


def _within(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """``timeout``, cut to what is left of the current deadline; ``late`` once that has passed."""
    deadline = io_deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the call's deadline has passed")
    return left if timeout is None or left < timeout else timeout


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _within(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if io_deadline.get() is None or len(buffer) <= _WRITE_SLICE:
            self._inner.write(buffer, _within(timeout, httpcore.WriteTimeout))
            return
        for start in range(0, len(buffer), _WRITE_SLICE):
            self._inner.write(buffer[start : start + _WRITE_SLICE], _within(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.start_tls(ssl_context, server_hostname, _within(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.connect_tcp(
                host, port, _within(timeout, httpcore.ConnectTimeout), local_address, socket_options
            )
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.connect_unix_socket(path, _within(timeout, httpcore.ConnectTimeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _within(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # anyio bounds a whole write by its timeout: no slices needed.
        await self._inner.write(buffer, _within(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(
            await self._inner.start_tls(
                ssl_context, server_hostname, _within(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(
            await self._inner.connect_tcp(
                host, port, _within(timeout, httpcore.ConnectTimeout), local_address, socket_options
            )
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _AsyncStream(
            await self._inner.connect_unix_socket(
                path, _within(timeout, httpcore.ConnectTimeout), socket_options
            )
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


#: httpx's own transports, which keep an httpcore pool (found by name: a test may replace the names
#: in ``httpx`` with mock transports, before or after this module is imported).
_HTTPX_TRANSPORTS = frozenset({"HTTPTransport", "AsyncHTTPTransport"})


def _is_httpx_transport(transport: object) -> bool:
    return any(
        kind.__name__ in _HTTPX_TRANSPORTS and kind.__module__.partition(".")[0] == "httpx"
        for kind in type(transport).__mro__
    )


def with_deadlines(transport: httpx.BaseTransport | httpx.AsyncBaseTransport) -> None:
    """Put the deadline-keeping backend under ``transport``'s connection pool (before its first use).

    Only httpx's own transports have one; any other (a test's mock transport) is left as it is."""
    if not _is_httpx_transport(transport):
        return
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    elif isinstance(backend, httpcore.AsyncNetworkBackend):
        pool._network_backend = _AsyncBackend(backend)  # type: ignore[union-attr]
    else:
        raise RuntimeError(
            f"httpx {httpx.__version__} with httpcore {httpcore.__version__} keeps its connection pool "
            "differently from the releases this client supports (httpx 0.27 to 0.28, httpcore 1.x): calls "
            "could not keep their deadline. Install a supported httpx."
        )
