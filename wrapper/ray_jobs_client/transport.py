"""Retries, implemented once, as httpx transports (sync and async share :class:`RetryPolicy`).

Every request has a deadline: ``RetryPolicy.deadline_factor`` (2) times the longest of its timeouts,
counted from its first attempt. No retry starts once the deadline is near (the pause included) and
each attempt's timeouts are cut to what remains, so a request to a server that accepts connections
and never answers ends with a timeout after about twice its timeout, retries included.

What is retried, with capped exponential backoff and full jitter (``Retry-After`` honoured):

* failures to connect — the request never reached the server, so any request is safe to repeat —
  except those that repeating cannot fix: TLS failures (a certificate that is not trusted, ``https://``
  to a plain-HTTP server, a client certificate refused) and a host name that does not exist;
* failures after the request was sent (reset, dropped keep-alive connection, read timeout) and
  429/502/503/504 answers — for every request whose repetition cannot duplicate work, and only when
  its body can be sent again (bytes, not a consumed stream). Which operations those are is decided
  per operation where the clients describe them (``_calls.py``): submit, delete and package uploads
  are retried by the client itself, which can tell "my first attempt already did it" from a real
  error; the others (reads, stop) may be repeated here. A request made outside those operations (the
  log stream's handshake, the streamed log download) may be repeated if its method is safe (GET).
"""

from __future__ import annotations

import contextvars
import datetime
import email.utils
import random
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Literal

import attrs
import httpx

from . import defaults
from ._arguments import check_count, check_seconds
from .defaults import TRANSIENT_STATUSES
from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "STREAMED",
    "TRANSIENT_STATUSES",
    "AsyncRetryTransport",
    "AsyncThroughClient",
    "Deadline",
    "RetryPolicy",
    "RetryTransport",
    "ThroughClient",
    "permanent_failure",
    "retry_after_seconds",
]


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

    max_retries: int = defaults.MAX_RETRIES
    backoff_initial: float = defaults.RETRY_BACKOFF_INITIAL
    backoff_max: float = defaults.RETRY_BACKOFF_MAX
    retry_statuses: frozenset[int] = TRANSIENT_STATUSES
    #: Longest ``Retry-After`` honoured; a server asking for more gets this.
    retry_after_max: float = defaults.RETRY_AFTER_MAX
    #: A request and its retries end within this many times the longest of its timeouts.
    deadline_factor: float = defaults.DEADLINE_FACTOR

    def __attrs_post_init__(self) -> None:
        check_count("max_retries", self.max_retries)
        for name in ("backoff_initial", "backoff_max", "retry_after_max"):
            check_seconds(name, getattr(self, name), zero_ok=True)
        factor = self.deadline_factor
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise InvalidArgumentTypeError(
                f"deadline_factor must be a number, got {type(factor)}", parameter="deadline_factor"
            )
        if not 1 <= factor < float("inf"):
            raise InvalidArgumentError(
                f"deadline_factor must be at least 1 (and finite), got {factor}", parameter="deadline_factor"
            )
        if not isinstance(self.retry_statuses, frozenset | set) or not all(
            isinstance(status, int) and not isinstance(status, bool) for status in self.retry_statuses
        ):
            raise InvalidArgumentTypeError(
                "retry_statuses must be a set of status codes (ints)", parameter="retry_statuses"
            )

    def deadline(self, timeouts: Mapping[str, float | None]) -> Deadline:
        """The deadline of a request starting now with these httpx timeouts (``request.extensions``)."""
        longest = max((t for t in timeouts.values() if t is not None), default=None)
        return Deadline.after(None if longest is None else self.deadline_factor * longest)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based); the server's ``Retry-After``
        (capped at ``retry_after_max``) wins over the backoff."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(0, ceiling)

    def may_repeat(self, request: httpx.Request) -> bool:
        """Can ``request`` be sent again after it may have reached the server?

        As its operation says (see :func:`call_context`); a request made outside any operation, if
        its method is safe. Never when its body was a stream, which cannot be sent twice.
        """
        repeatable = _call_repeatable.get()
        if repeatable is None:
            repeatable = request.method in _SAFE_METHODS
        return repeatable and isinstance(request.stream, httpx.ByteStream)

    def reads_whole_body(self, request: httpx.Request, response: httpx.Response) -> bool:
        """Should the transport read the body itself, so that a connection cut in mid-body is retried
        like a lost response? Yes for a request safe to repeat, unless its caller streams the body
        (the :data:`STREAMED` extension: the log download resumes by itself) or it is a WebSocket's."""
        return (
            response.status_code != 101 and not request.extensions.get(STREAMED) and self.may_repeat(request)
        )

    def should_retry_status(self, request: httpx.Request, response: httpx.Response, attempt: int) -> bool:
        """Retry after this answer? A transient status, attempts left, and a request safe to repeat."""
        return (
            attempt <= self.max_retries
            and response.status_code in self.retry_statuses
            and self.may_repeat(request)
        )

    def should_retry_error(self, request: httpx.Request, exc: Exception, attempt: int) -> bool:
        """Retry after this transport failure? Not a permanent one, attempts left, and either the
        request never reached the server or it is safe to repeat."""
        if attempt > self.max_retries:
            return False
        if permanent_failure(exc) is not None:
            return False
        if isinstance(exc, _CONNECT_PHASE):
            return True
        return isinstance(exc, _AFTER_SEND) and self.may_repeat(request)


#: The outer deadline of a call retried above the transport (submit, delete, uploads): the transport
#: keeps each attempt inside it. Set by the clients' drivers around one call.
_call_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "ray_jobs_client_call_deadline", default=None
)
#: Whether the operation being performed may be repeated by the transport (None: no operation).
_call_repeatable: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "ray_jobs_client_call_repeatable", default=None
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: A request extension: the caller reads the body as a stream (and handles a cut itself).
STREAMED = "ray_jobs_client.streamed"


@attrs.frozen
class Deadline:
    """A point in time (``time.monotonic``) by which a request, retries included, must be over."""

    at: float | None  # None: no deadline (no timeout was set)

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        """The deadline ``seconds`` from now (none if ``seconds`` is None)."""
        return cls(None if seconds is None else time.monotonic() + seconds)

    def earliest(self, other: float | None) -> Deadline:
        """This deadline or ``other`` (``time.monotonic``), whichever comes first."""
        if other is None or (self.at is not None and self.at <= other):
            return self
        return Deadline(other)

    def remaining(self) -> float | None:
        """Seconds left (negative once passed); None without a deadline."""
        return None if self.at is None else self.at - time.monotonic()

    def allows(self, pause: float) -> bool:
        """Is there time for a pause of ``pause`` seconds and then a new attempt?"""
        remaining = self.remaining()
        return remaining is None or pause < remaining

    def cap(self, timeouts: Mapping[str, float | None]) -> dict[str, float | None]:
        """httpx timeouts no longer than what remains (an attempt never outlives the deadline)."""
        remaining = self.remaining()
        if remaining is None:
            return dict(timeouts)
        left = max(remaining, 0.001)
        return {name: left if value is None else min(value, left) for name, value in timeouts.items()}


@contextmanager
def call_context(*, deadline: float | None, repeatable: bool) -> Iterator[None]:
    """The requests made inside this block perform one operation: they end by ``deadline``
    (``time.monotonic``), and the transport repeats them after a failure only if ``repeatable``."""
    deadline_token = _call_deadline.set(deadline)
    repeatable_token = _call_repeatable.set(repeatable)
    try:
        yield
    finally:
        _call_repeatable.reset(repeatable_token)
        _call_deadline.reset(deadline_token)


PermanentFailure = Literal["certificate", "tls", "host"]


def permanent_failure(exc: BaseException) -> PermanentFailure | None:
    """Why a connection failure cannot be cured by trying again, or None if it might be.

    ``"certificate"``: the server's certificate is not trusted; ``"tls"``: the TLS handshake failed
    otherwise (``https://`` to a plain-HTTP server, a client certificate missing or refused…);
    ``"host"``: the host name does not exist (a temporary resolver failure is not permanent).
    """
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "certificate"
        if isinstance(cause, ssl.SSLError) and not isinstance(cause, _SSL_CUT):
            return "tls"
        if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_HOST:
            return "host"
    return None


# A TLS connection closed or cut by the peer: like any other cut, worth another attempt.
_SSL_CUT = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
_NO_SUCH_HOST = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        yield current
        seen.add(id(current))
        current = current.__cause__ or current.__context__


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
        timeouts = request.extensions.get("timeout", {})
        deadline = self.policy.deadline(timeouts).earliest(_call_deadline.get())
        attempt = 0
        while True:
            attempt += 1
            request.extensions["timeout"] = deadline.cap(timeouts)
            response = None
            try:
                response = self._inner.handle_request(request)
                if self.policy.reads_whole_body(request, response):
                    response.read()  # inside the retries: a body cut mid-way is a lost response
            except httpx.TransportError as exc:
                if response is not None:
                    response.close()
                pause = self.policy.delay(attempt)
                if not (self.policy.should_retry_error(request, exc, attempt) and deadline.allows(pause)):
                    raise
                time.sleep(pause)
                continue
            if not self.policy.should_retry_status(request, response, attempt):
                return response
            pause = self.policy.delay(attempt, retry_after_seconds(response.headers))
            if not deadline.allows(pause):
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

        timeouts = request.extensions.get("timeout", {})
        deadline = self.policy.deadline(timeouts).earliest(_call_deadline.get())
        attempt = 0
        while True:
            attempt += 1
            request.extensions["timeout"] = deadline.cap(timeouts)
            response = None
            try:
                response = await self._inner.handle_async_request(request)
                if self.policy.reads_whole_body(request, response):
                    await response.aread()  # inside the retries: a body cut mid-way is a lost response
            except httpx.TransportError as exc:
                if response is not None:
                    await response.aclose()
                pause = self.policy.delay(attempt)
                if not (self.policy.should_retry_error(request, exc, attempt) and deadline.allows(pause)):
                    raise
                await asyncio.sleep(pause)
                continue
            if not self.policy.should_retry_status(request, response, attempt):
                return response
            pause = self.policy.delay(attempt, retry_after_seconds(response.headers))
            if not deadline.allows(pause):
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
