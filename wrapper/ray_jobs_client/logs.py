"""Following a job's log over the server's WebSocket, without losing or repeating a line.

The server replays the whole log on every new connection, closes with code 1000 when the job is
done, never answers pings, and can be cut by proxies at any time. So the follower:

* counts what it has delivered and, after a reconnect, skips the replayed part (:class:`LogCursor`);
* never trusts the end of the stream: it asks the job's status; if the job is not terminal it
  reconnects (with capped, jittered backoff), and once it is, it fetches ``GET …/logs`` and delivers
  any line the stream missed;
* falls back to polling ``GET …/logs`` when the WebSocket upgrade is refused (e.g. by a proxy).

Decisions live in pure helpers here; :mod:`ray_jobs_client.client` and
:mod:`ray_jobs_client.async_client` only add the I/O.
"""

from __future__ import annotations

import random
from urllib.parse import quote

import attrs

from ._core import error_for_status
from .errors import AuthenticationError, BadRequestError, JobNotFoundError, LogStreamError

__all__ = ["LogCursor", "TailPolicy", "tail_path"]

#: Largest WebSocket message accepted: a single log line can be long, and a frame holds whole lines.
MAX_FRAME_BYTES = 64 * 1024 * 1024


def tail_path(job_id: str) -> str:
    """The log WebSocket's path, the id percent-encoded as the generated endpoints encode it."""
    return f"/api/jobs/{quote(job_id, safe='')}/logs/tail"


@attrs.define
class LogCursor:
    """Turns chunks of a log that may be replayed from its start into exactly-once output."""

    delivered: int = 0
    _position: int = 0

    def new_connection(self) -> None:
        """A new stream starts again at the first character of the log."""
        self._position = 0

    def accept(self, chunk: str) -> str:
        """The part of ``chunk`` not delivered yet (``""`` while a reconnect replays old lines)."""
        start = self._position
        self._position += len(chunk)
        if self._position <= self.delivered:
            return ""
        fresh = chunk[max(0, self.delivered - start) :]
        self.delivered = self._position
        return fresh

    def rest_of(self, full_log: str) -> str:
        """What a complete copy of the log holds beyond what was delivered."""
        fresh = full_log[self.delivered :]
        self.delivered = max(self.delivered, len(full_log))
        return fresh


@attrs.frozen
class TailPolicy:
    """How hard the follower tries. The defaults survive flaky proxies without hiding a dead server."""

    #: Consecutive failed reconnects before giving up with :class:`LogStreamError`.
    max_reconnects: int = 10
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    #: After this long without a frame, check the job's status over HTTP (the socket stays open).
    idle_check_interval: float = 30.0
    #: Interval between ``GET …/logs`` when polling instead of streaming.
    poll_interval: float = 1.0

    def backoff(self, attempt: int) -> float:
        """Delay before reconnect number ``attempt`` (1-based): capped exponential with full jitter."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def give_up(self, job_id: str, attempt: int, reason: str) -> LogStreamError | None:
        """The error to raise once reconnecting has failed too often, else None."""
        if attempt <= self.max_reconnects:
            return None
        return LogStreamError(
            f"The log stream of job {job_id} kept failing ({reason}) after {self.max_reconnects} reconnects."
        )


def upgrade_refusal(job_id: str, status_code: int, body: str) -> Exception | None:
    """Classify a refused WebSocket handshake.

    Returns the exception to raise when the refusal is about the job or the credentials (unknown
    job, driver job, auth); ``None`` when the WebSocket itself is the problem (a proxy that does not
    pass upgrades), in which case the caller polls ``GET …/logs`` instead.
    """
    path = f"/api/jobs/{job_id}/logs/tail"
    error = error_for_status(status_code, body, method="GET", path=path, not_found=JobNotFoundError)
    # A route miss (`404: Not Found`) is a NotFoundError but not a JobNotFoundError: poll then.
    if isinstance(error, JobNotFoundError | BadRequestError | AuthenticationError):
        return error
    return None
