"""Retries, implemented once, as httpx transports (sync and async share :class:`RetryPolicy`).

What is retried, with capped exponential backoff and full jitter (``Retry-After`` honoured):

* failures to connect — the request never reached the server, so any request is safe to repeat;
* failures after the request was sent (reset, dropped keep-alive connection, read timeout) and
  429/502/503/504 answers — for every request whose repetition cannot duplicate work: all of this API's
  calls except ``POST /api/jobs/`` (submit), which the client retries itself so that it can tell
  "my first attempt already created the job" from a real duplicate; and only when the body can be
  sent again (bytes, not a consumed stream — package uploads are retried by the client).
"""

from __future__ import annotations

import datetime
import email.utils
import random
import ssl
import time
from collections.abc import Mapping

import attrs
import httpx

__all__ = [
    "TRANSIENT_STATUSES",
    "AsyncRetryTransport",
    "RetryPolicy",
    "RetryTransport",
    "retry_after_seconds",
]

#: Answers that mean "not done, try again later": too many requests, and gateway failures.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})

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
    retry_statuses: frozenset[int] = TRANSIENT_STATUSES
    #: Longest ``Retry-After`` honoured; a server asking for more gets this.
    retry_after_max: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based); the server's ``Retry-After``
        (capped at ``retry_after_max``) wins over the backoff."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)

    def may_repeat(self, request: httpx.Request) -> bool:
        """Can ``request`` be sent again after it may have reached the server?

        Submit and delete are retried by the client itself, which can tell a real error from the
        effect of its own lost first attempt ("already exists", "does not exist").
        """
        if request.method == "DELETE" or (
            request.method == "POST" and request.url.path.endswith("/api/jobs/")
        ):
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
        if is_certificate_error(exc):
            return False
        if isinstance(exc, _CONNECT_PHASE):
            return True
        return isinstance(exc, _AFTER_SEND) and self.may_repeat(request)


def is_certificate_error(exc: BaseException) -> bool:
    """True if TLS certificate verification is what failed (anywhere in the exception's chain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date); None if absent or unreadable."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=datetime.UTC)
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
            time.sleep(self.policy.delay(attempt, retry_after_seconds(response.headers)))

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
            await asyncio.sleep(self.policy.delay(attempt, retry_after_seconds(response.headers)))

    async def aclose(self) -> None:
        await self._inner.aclose()
