"""The one retry loop of each client, as an httpx transport (sync and async, differing only by ``await``).

Every request either client sends passes through :class:`RetryTransport` (or
:class:`AsyncRetryTransport`), which applies :class:`~ray_jobs_client.retry.RetryPolicy`: it retries
what the policy allows, keeps the request and its retries within their
:class:`~ray_jobs_client.retry.Deadline` (each attempt's timeouts cut to what remains), reads the
body inside the retries (a body cut mid-way is retried like a lost response), and marks a response
that followed an attempt which may have reached the server
(:data:`~ray_jobs_client.retry.RETRIED_AFTER_SEND`). Streamed requests (the log download, the log
WebSocket's handshake) are retried only until their answer starts.

The deadline holds whatever the server does — says nothing, sends its headers or its body a byte at
a time, sends a body without end, stalls the TLS handshake: while an attempt runs and while its body
is read, :data:`io_deadline` holds it, and the network backend under our connection pools
(:mod:`ray_jobs_client._network`) gives every connect, TLS handshake, read and write at most what is
left of it. Two kinds of request keep only a timeout per read for their body: a streamed download
(the log download, which may run long while it makes progress) and a WebSocket once upgraded. With
a caller's own ``http_client=`` its transport reads the socket: the deadline is then checked between
the pieces of a body (:class:`BoundedResponse`), and a head sent a byte at a time is bounded by each
read's timeout only.

A body read into memory is bounded too: one longer than ``max_response_bytes`` (announced, or counted
as it arrives) raises :class:`~ray_jobs_client.errors.ResponseTooLargeError` before it is held.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping
from typing import cast

import httpx

from . import defaults
from ._network import io_deadline, with_deadlines
from .errors import ResponseTooLargeError
from .retry import ONCE, RETRIED_AFTER_SEND, STREAMED, Deadline, RetryPolicy, retry_after_seconds

__all__ = [
    "STREAMED",
    "AsyncRetryTransport",
    "AsyncThroughClient",
    "BoundedResponse",
    "Deadline",
    "RetryPolicy",
    "RetryTransport",
    "ThroughClient",
    "io_deadline",
]


class _Attempts:
    """The state of one request's attempts: what the sync and async loops share."""

    def __init__(self, policy: RetryPolicy, request: httpx.Request, max_response_bytes: int) -> None:
        self.policy = policy
        self.request = request
        self.max_response_bytes = max_response_bytes
        self.timeouts: Mapping[str, float | None] = request.extensions.get("timeout", {})
        self.deadline = policy.deadline(self.timeouts)
        self.streamed = bool(request.extensions.get(STREAMED))
        self.once = bool(request.extensions.get(ONCE))
        self.count = 0
        self.landed = False  # an earlier attempt may have reached the server

    def start(self) -> contextvars.Token[float | None]:
        """Before each attempt: its timeouts are cut to what remains of the deadline, which the
        network backend enforces until :meth:`end`."""
        self.count += 1
        self.request.extensions["timeout"] = self.deadline.cap(self.timeouts)
        return io_deadline.set(self.deadline.at)

    @staticmethod
    def end(token: contextvars.Token[float | None]) -> None:
        io_deadline.reset(token)

    def bounded(self, response: httpx.Response) -> httpx.Response:
        """The response with its body bounded (or the error for one announced too large)."""
        bounded = _bounded(self.request, response, self.deadline.at, self.max_response_bytes)
        if isinstance(bounded, ResponseTooLargeError):
            raise bounded
        return bounded

    def reads_body(self, response: httpx.Response) -> bool:
        """Should the transport read the body itself, inside the retries?"""
        return response.status_code != 101 and not self.streamed

    def pause_after_error(self, exc: Exception) -> float | None:
        """Seconds to wait before trying again after ``exc``, or None to give up."""
        pause = self.policy.delay(self.count)
        retry = self.policy.should_retry_error(exc, self.count, once=self.once)
        if not (retry and self.deadline.allows(pause)):
            return None
        self.landed = self.landed or self.policy.may_have_landed(exc, None)
        return pause

    def pause_after(self, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again after this answer, or None to return it."""
        if self.landed:
            response.extensions[RETRIED_AFTER_SEND] = True
        if response.status_code == 101:
            return None
        if not self.policy.should_retry_status(response, self.count, once=self.once):
            return None
        pause = self.policy.delay(self.count, retry_after_seconds(response.headers))
        if not self.deadline.allows(pause):
            return None
        self.landed = self.landed or self.policy.may_have_landed(None, response)
        return pause


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport (by default httpx's own, its connections kept within each request's deadline)
    and retries what :class:`RetryPolicy` allows; bodies read into memory are bounded by
    ``max_response_bytes``."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        inner: httpx.BaseTransport | None = None,
        *,
        max_response_bytes: int = defaults.MAX_RESPONSE_BYTES,
        **kwargs: object,
    ):
        self.policy = policy or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        if inner is None:
            inner = httpx.HTTPTransport(**kwargs)  # type: ignore[arg-type]
            with_deadlines(inner)
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempts = _Attempts(self.policy, request, self.max_response_bytes)
        while True:
            token = attempts.start()
            response = None
            try:
                response = self._inner.handle_request(request)
                response = attempts.bounded(response)
                if attempts.reads_body(response):
                    response.read()
            except httpx.TransportError as exc:
                if response is not None:
                    response.close()
                pause = attempts.pause_after_error(exc)
                if pause is None:
                    raise
            except BaseException:
                if response is not None:
                    response.close()
                raise
            else:
                pause = attempts.pause_after(response)
                if pause is None:
                    return response
                response.close()
            finally:
                attempts.end(token)
            time.sleep(pause)

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryTransport`."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        max_response_bytes: int = defaults.MAX_RESPONSE_BYTES,
        **kwargs: object,
    ):
        self.policy = policy or RetryPolicy()
        self.max_response_bytes = max_response_bytes
        if inner is None:
            inner = httpx.AsyncHTTPTransport(**kwargs)  # type: ignore[arg-type]
            with_deadlines(inner)
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import asyncio  # here, not at the top: sync-only programs never need it

        attempts = _Attempts(self.policy, request, self.max_response_bytes)
        while True:
            token = attempts.start()
            response = None
            try:
                response = await self._inner.handle_async_request(request)
                response = attempts.bounded(response)
                if attempts.reads_body(response):
                    await response.aread()
            except httpx.TransportError as exc:
                if response is not None:
                    await response.aclose()
                pause = attempts.pause_after_error(exc)
                if pause is None:
                    raise
            except BaseException:
                if response is not None:
                    await response.aclose()
                raise
            else:
                pause = attempts.pause_after(response)
                if pause is None:
                    return response
                await response.aclose()
            finally:
                attempts.end(token)
            await asyncio.sleep(pause)

    async def aclose(self) -> None:
        await self._inner.aclose()


class BoundedResponse(httpx.Response):
    """A response whose body is read within its request's deadline and up to ``max_bytes``.

    Each read of the body runs with :data:`io_deadline` set (the network backend cuts it to what is
    left), the deadline is checked between pieces (what bounds a caller's own ``http_client=``), and
    the body, counted as decoded, fails with :class:`~ray_jobs_client.errors.ResponseTooLargeError`
    once it passes ``max_bytes``.
    """

    def __init__(
        self, response: httpx.Response, request: httpx.Request, deadline: float | None, max_bytes: int
    ) -> None:
        super().__init__(
            response.status_code,
            headers=response.headers,
            stream=response.stream,
            extensions=response.extensions,
            request=request,
        )
        self._deadline = deadline
        self._max_bytes = max_bytes

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The decoded body, each read within the deadline; stops at the size bound."""
        if self.is_stream_consumed:  # read already (and counted): served from memory
            yield from super().iter_bytes(chunk_size)
            return
        pieces = cast("Generator[bytes, None, None]", super().iter_bytes(chunk_size))
        received = 0
        try:
            while True:
                token = io_deadline.set(self._deadline)
                try:
                    self._check_deadline()
                    piece = next(pieces, b"")  # httpx never yields an empty piece
                finally:
                    io_deadline.reset(token)
                if not piece:
                    return
                received += len(piece)
                self._check_size(received)
                yield piece
        finally:
            pieces.close()

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The async twin of :meth:`iter_bytes`."""
        if self.is_stream_consumed:
            async for piece in super().aiter_bytes(chunk_size):
                yield piece
            return
        pieces = cast("AsyncGenerator[bytes, None]", super().aiter_bytes(chunk_size))
        received = 0
        try:
            while True:
                token = io_deadline.set(self._deadline)
                try:
                    self._check_deadline()
                    piece = await anext(pieces, b"")
                finally:
                    io_deadline.reset(token)
                if not piece:
                    return
                received += len(piece)
                self._check_size(received)
                yield piece
        finally:
            await pieces.aclose()

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise httpx.ReadTimeout("the call's deadline passed while reading its body", request=self.request)

    def _check_size(self, received: int) -> None:
        if received > self._max_bytes:
            raise _too_large(self.request, self.status_code, self._max_bytes, received)


def _too_large(
    request: httpx.Request, status_code: int, limit: int, received: int, announced: int | None = None
) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        method=request.method,
        path=request.url.path,
        status_code=status_code,
        limit=limit,
        received=received,
        announced=announced,
    )


def _bounded(
    request: httpx.Request, response: httpx.Response, deadline: float | None, max_bytes: int
) -> httpx.Response | ResponseTooLargeError:
    """``response`` with its body bounded (:class:`BoundedResponse`), or the error for a body announced
    over ``max_bytes``. A WebSocket's upgrade, a streamed download's 200 and a body already read (by
    a response hook of the caller's ``http_client=``) are left alone."""
    if (
        response.status_code == 101
        or (response.status_code == 200 and request.extensions.get(STREAMED))
        or response.is_stream_consumed
    ):
        return response
    length = response.headers.get("content-length")
    if (
        length is not None
        and length.isdigit()
        and int(length) > max_bytes
        and response.headers.get("content-encoding", "identity") == "identity"  # else it may grow
    ):
        return _too_large(request, response.status_code, max_bytes, 0, int(length))
    return BoundedResponse(response, request, deadline, max_bytes)


class ThroughClient(httpx.BaseTransport):
    """Sends each request through a caller's ``httpx.Client`` (``http_client=``): its transport
    (proxies, client certificates, limits), auth and event hooks apply. The caller owns that client:
    closing this transport leaves it open."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request, stream=True)

    def close(self) -> None:
        pass


class AsyncThroughClient(httpx.AsyncBaseTransport):
    """The async twin of :class:`ThroughClient`, for an ``httpx.AsyncClient``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._client.send(request, stream=True)

    async def aclose(self) -> None:
        pass
