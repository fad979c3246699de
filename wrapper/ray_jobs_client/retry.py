"""When to try again, and for how long: every retry decision of the client, in one place.

* **Single calls** (every request the clients send): :class:`RetryPolicy` says what is retried and
  with which backoff, and :class:`Deadline` how long a call may take, retries included — twice its
  longest timeout by default. The transports (:mod:`ray_jobs_client.transport`) run the one retry
  loop that applies it.
* **A lost reply.** Every operation may be repeated by the transport: a submit carries a
  submission id fixed before the first attempt (a repeat cannot create a second job), a delete or a
  stop repeated changes nothing more, a package upload rewrites the same bytes. But when an earlier
  attempt may have reached the server before its reply was lost, the answer of the repeat can be
  about that attempt's work ("already exists", "does not exist"): the response is then marked with
  :data:`RETRIED_AFTER_SEND`, and the error raised for it has ``retried_after_send`` set, so that the
  operation can check what really happened before it claims anything (see ``_async/jobs.py``).
* **Long operations** (following a log, waiting for jobs) ride out an outage of the server for
  :class:`~ray_jobs_client.outage.OutagePolicy` ``.patience``; :func:`is_outage` says which failures
  are one. The log follower reconnects as :class:`~ray_jobs_client.logs.TailPolicy` says.

Every pause between attempts, whoever waits, is :func:`backoff`.

What a single call retries, with capped exponential backoff and full jitter (``Retry-After``
honoured):

* failures to connect — the request never reached the server — except those that repeating cannot
  fix: TLS failures (a certificate that is not trusted, ``https://`` to a plain-HTTP server, a client
  certificate refused) and a host name that does not exist;
* failures after the request was sent (reset, dropped keep-alive connection, a body cut mid-way,
  read timeout);
* 429/502/503/504 answers, and the job server's own "please try again later" (500: no agent yet).
"""

from __future__ import annotations

import datetime
import email.utils
import random
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

import attrs

from . import defaults
from .defaults import TRANSIENT_STATUSES

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ONCE",
    "RETRIED_AFTER_SEND",
    "STREAMED",
    "TRANSIENT_STATUSES",
    "Deadline",
    "RetryPolicy",
    "backoff",
    "is_outage",
    "permanent_failure",
    "retry_after_seconds",
]

#: A response extension set by the transport when an earlier attempt of the request may have
#: reached the server (its reply was lost, or a gateway failed after forwarding it).
RETRIED_AFTER_SEND = "ray_jobs_client.retried_after_send"
#: A request extension: the caller reads the body as a stream (the log download, which resumes by
#: itself), so the transport leaves the body to it.
STREAMED = "ray_jobs_client.streamed"
#: A request extension: repeating the request after it may have reached the server could do its work
#: twice (a raw ``POST`` through ``_do_request``, whose effect this client cannot check); only a
#: failure to connect is retried.
ONCE = "ray_jobs_client.once"

#: The job server's 500 for "not now" (no agent to take the job yet).
_TRY_LATER = "please try again later"


def backoff(attempt: int, initial: float, maximum: float, *, floor: float = 0.0) -> float:
    """The pause before retry number ``attempt`` (1-based): exponential from ``initial``, capped at
    ``maximum``, jittered uniformly between ``floor`` times that ceiling and the ceiling."""
    ceiling = min(maximum, initial * (2 ** min(attempt - 1, 30)))
    return random.uniform(floor * ceiling, ceiling)


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
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise TypeError(f"max_retries must be an int, got {type(self.max_retries)}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, got {self.max_retries}")
        if not self.deadline_factor >= 1:
            raise ValueError(f"deadline_factor must be at least 1, got {self.deadline_factor}")

    def deadline(self, timeouts: Mapping[str, float | None]) -> Deadline:
        """The deadline of a request starting now with these httpx timeouts (``request.extensions``)."""
        longest = max((t for t in timeouts.values() if t is not None), default=None)
        return Deadline.after(None if longest is None else self.deadline_factor * longest)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based); the server's ``Retry-After``
        (capped at ``retry_after_max``) wins over the backoff."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        return backoff(attempt, self.backoff_initial, self.backoff_max)

    def should_retry_status(self, response: httpx.Response, attempt: int, *, once: bool = False) -> bool:
        """Retry after this answer? A transient status (or the server's "try again later"), and
        attempts left, for a request that may be repeated (not :data:`ONCE`). The body, when looked
        at, has been read by the transport."""
        if attempt > self.max_retries or once:
            return False
        if response.status_code in self.retry_statuses:
            return True
        return response.status_code == 500 and _TRY_LATER in _text(response)

    def should_retry_error(self, exc: Exception, attempt: int, *, once: bool = False) -> bool:
        """Retry after this transport failure? Not a permanent one, and attempts left; for a
        :data:`ONCE` request, only a failure to connect (it never reached the server)."""
        import httpx

        if attempt > self.max_retries or permanent_failure(exc) is not None:
            return False
        if once:
            return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        return isinstance(
            exc,
            httpx.ConnectError
            | httpx.ConnectTimeout
            | httpx.ReadError
            | httpx.WriteError
            | httpx.RemoteProtocolError
            | httpx.ReadTimeout
            | httpx.WriteTimeout,
        )

    @staticmethod
    def may_have_landed(exc: Exception | None, response: httpx.Response | None) -> bool:
        """Could the attempt that ended so have reached the server? Not when it failed to connect."""
        import httpx

        if exc is not None:
            return not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        # A gateway's 502/504: it may have forwarded the request before the server failed it.
        return response is not None and response.status_code in (502, 504)


def _text(response: httpx.Response) -> str:
    try:
        return response.content.decode("utf-8", errors="replace")
    except Exception:  # not read (a streamed body): no hint
        return ""


@attrs.frozen
class Deadline:
    """A point in time (``time.monotonic``) by which a request, retries included, must be over."""

    at: float | None  # None: no deadline (no timeout was set)

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        """The deadline ``seconds`` from now (none if ``seconds`` is None)."""
        return cls(None if seconds is None else time.monotonic() + seconds)

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


def is_outage(error: BaseException) -> bool:
    """Could this failure be the server being away for a while (rather than a definite answer)?"""
    from .errors import PERMANENT_CONNECTION_ERRORS, APIConnectionError, ServerError

    if isinstance(error, APIConnectionError):
        return not isinstance(error, PERMANENT_CONNECTION_ERRORS)
    return isinstance(error, ServerError) and (
        error.status_code in TRANSIENT_STATUSES or _TRY_LATER in error.body
    )
