"""Retries, implemented once, as httpx transports (sync and async share :class:`RetryPolicy`).

What is retried, with capped exponential backoff and full jitter (``Retry-After`` honoured):

* failures to connect — the request never reached the server, so any request is safe to repeat;
* failures after the request was sent (reset, dropped keep-alive connection, read timeout) and
  502/503/504 answers — for every request whose repetition cannot duplicate work: all of this API's
  calls except ``POST /api/jobs/`` (submit), which the client retries itself so that it can tell
  "my first attempt already created the job" from a real duplicate; and only when the body can be
  sent again (bytes, not a consumed stream — package uploads are retried by the client).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time

import attrs
import httpx

__all__ = ["AsyncRetryTransport", "RetryPolicy", "RetryTransport"]

_CONNECT_PHASE = (httpx.ConnectError, httpx.ConnectTimeout)
_AFTER_SEND = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
)


@attrs.frozen
class RetryPolicy:
    """How often and how patiently to retry. ``RetryPolicy(max_retries=0)`` disables retries."""

    max_retries: int = 5
    backoff_initial: float = 0.25
    backoff_max: float = 8.0
    retry_statuses: frozenset[int] = frozenset({502, 503, 504})
    #: Longest ``Retry-After`` honoured; a server asking for more gets this.
    retry_after_max: float = 30.0

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if response is not None:
            asked = _retry_after(response)
            if asked is not None:
                return min(asked, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)

    def may_repeat(self, request: httpx.Request) -> bool:
        """Can ``request`` be sent again after it may have reached the server?"""
        if request.method == "POST" and request.url.path.endswith("/api/jobs/"):
            return False
        return isinstance(request.stream, httpx.ByteStream)

    def should_retry_status(self, request: httpx.Request, response: httpx.Response, attempt: int) -> bool:
        return (
            attempt <= self.max_retries
            and response.status_code in self.retry_statuses
            and self.may_repeat(request)
        )

    def should_retry_error(self, request: httpx.Request, exc: Exception, attempt: int) -> bool:
        if attempt > self.max_retries:
            return False
        if isinstance(exc, _CONNECT_PHASE):
            return True
        return isinstance(exc, _AFTER_SEND) and self.may_repeat(request)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = email.utils.parsedate_to_datetime(value) if value else None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport (by default httpx's own) and retries what :class:`RetryPolicy` allows."""

    def __init__(
        self, policy: RetryPolicy | None = None, inner: httpx.BaseTransport | None = None, **kwargs: object
    ):
        self.policy = policy or RetryPolicy()
        self._inner = inner or httpx.HTTPTransport(**kwargs)  # type: ignore[arg-type]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._inner.handle_request(request)
            except httpx.TransportError as exc:
                if not self.policy.should_retry_error(request, exc, attempt):
                    raise
                time.sleep(self.policy.delay(attempt))
                continue
            if not self.policy.should_retry_status(request, response, attempt):
                return response
            response.close()
            time.sleep(self.policy.delay(attempt, response))

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
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                if not self.policy.should_retry_error(request, exc, attempt):
                    raise
                await asyncio.sleep(self.policy.delay(attempt))
                continue
            if not self.policy.should_retry_status(request, response, attempt):
                return response
            await response.aclose()
            await asyncio.sleep(self.policy.delay(attempt, response))

    async def aclose(self) -> None:
        await self._inner.aclose()
