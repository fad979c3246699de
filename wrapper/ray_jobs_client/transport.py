"""The one retry loop of each client, as an httpx transport (sync and async, differing only by ``await``).

Every request either client sends passes through :class:`RetryTransport` (or
:class:`AsyncRetryTransport`), which applies :class:`~ray_jobs_client.retry.RetryPolicy`: it retries
what the policy allows, keeps the request and its retries within their
:class:`~ray_jobs_client.retry.Deadline` (each attempt's timeouts cut to what remains), reads the
body inside the retries (a body cut mid-way is retried like a lost response), and marks a response
that followed an attempt which may have reached the server
(:data:`~ray_jobs_client.retry.RETRIED_AFTER_SEND`). Streamed requests (the log download, the log
WebSocket's handshake) are retried only until their answer starts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from .retry import ONCE, RETRIED_AFTER_SEND, STREAMED, Deadline, RetryPolicy, retry_after_seconds

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "STREAMED",
    "AsyncRetryTransport",
    "AsyncThroughClient",
    "Deadline",
    "RetryPolicy",
    "RetryTransport",
    "ThroughClient",
]


class _Attempts:
    """The state of one request's attempts: what the sync and async loops share."""

    def __init__(self, policy: RetryPolicy, request: httpx.Request) -> None:
        self.policy = policy
        self.request = request
        self.timeouts: Mapping[str, float | None] = request.extensions.get("timeout", {})
        self.deadline = policy.deadline(self.timeouts)
        self.streamed = bool(request.extensions.get(STREAMED))
        self.once = bool(request.extensions.get(ONCE))
        self.count = 0
        self.landed = False  # an earlier attempt may have reached the server

    def start(self) -> None:
        """Before each attempt: its timeouts are cut to what remains of the deadline."""
        self.count += 1
        self.request.extensions["timeout"] = self.deadline.cap(self.timeouts)

    def reads_body(self, response: httpx.Response) -> bool:
        """Should the transport read the body itself, inside the retries?"""
        return response.status_code != 101 and not self.streamed

    def pause_after_error(self, exc: Exception) -> float | None:
        """Seconds to wait before trying again after ``exc``, or None to give up."""
        pause = self.policy.delay(self.count)
        if not (
            self.policy.should_retry_error(exc, self.count, once=self.once) and self.deadline.allows(pause)
        ):
            return None
        self.landed = self.landed or self.policy.may_have_landed(exc, None)
        return pause

    def pause_after(self, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again after this answer, or None to return it."""
        if self.landed:
            response.extensions[RETRIED_AFTER_SEND] = True
        if response.status_code == 101 or not self.policy.should_retry_status(
            response, self.count, once=self.once
        ):
            return None
        pause = self.policy.delay(self.count, retry_after_seconds(response.headers))
        if not self.deadline.allows(pause):
            return None
        self.landed = self.landed or self.policy.may_have_landed(None, response)
        return pause


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport (by default httpx's own) and retries what :class:`RetryPolicy` allows."""

    def __init__(
        self, policy: RetryPolicy | None = None, inner: httpx.BaseTransport | None = None, **kwargs: object
    ):
        self.policy = policy or RetryPolicy()
        self._inner = inner or httpx.HTTPTransport(**kwargs)  # type: ignore[arg-type]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempts = _Attempts(self.policy, request)
        while True:
            attempts.start()
            response = None
            try:
                response = self._inner.handle_request(request)
                if attempts.reads_body(response):
                    response.read()
            except httpx.TransportError as exc:
                if response is not None:
                    response.close()
                pause = attempts.pause_after_error(exc)
                if pause is None:
                    raise
            else:
                pause = attempts.pause_after(response)
                if pause is None:
                    return response
                response.close()
            time.sleep(pause)

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryTransport`."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
        **kwargs: object,
    ):
        self.policy = policy or RetryPolicy()
        self._inner = inner or httpx.AsyncHTTPTransport(**kwargs)  # type: ignore[arg-type]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import asyncio  # here, not at the top: sync-only programs never need it

        attempts = _Attempts(self.policy, request)
        while True:
            attempts.start()
            response = None
            try:
                response = await self._inner.handle_async_request(request)
                if attempts.reads_body(response):
                    await response.aread()
            except httpx.TransportError as exc:
                if response is not None:
                    await response.aclose()
                pause = attempts.pause_after_error(exc)
                if pause is None:
                    raise
            else:
                pause = attempts.pause_after(response)
                if pause is None:
                    return response
                await response.aclose()
            await asyncio.sleep(pause)

    async def aclose(self) -> None:
        await self._inner.aclose()


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
