"""Riding out an outage of the job server during a long-running operation.

A job keeps running on the cluster when its dashboard restarts, an ingress reloads or a port-forward
drops. Single calls (``get_job_status``, ``submit_job``…) keep their own bounded deadline (see
:class:`~ray_jobs_client.transport.RetryPolicy`); the operations that watch a job for a long time —
the log followers, ``wait_until_finished``, ``iter_job_logs``' resume and the CLI built on them —
instead keep trying through an outage for up to :attr:`OutagePolicy.patience` seconds, with capped,
jittered backoff, saying once when the server is lost and once when it is back.

When the server answers again, it may not be the same cluster: a restarted head has a new
``session_name`` and has forgotten the job. That ends the wait with :class:`ClusterRestartedError`
instead of retrying for ever.

The decisions are here, free of I/O: :class:`Outage` is fed each failure and success and answers
how long to pause, or raises once patience is spent.
"""

from __future__ import annotations

import logging
import random
import time

import attrs

from . import defaults
from ._arguments import check_count, check_seconds
from .defaults import OUTAGE_PATIENCE as DEFAULT_OUTAGE_PATIENCE
from .defaults import TRANSIENT_STATUSES, VANISHED_RECHECK_PAUSE, VANISHED_RECHECKS
from .errors import (
    PERMANENT_CONNECTION_ERRORS,
    APIConnectionError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    JobNotFoundError,
    JobsClientError,
    ServerError,
    ServerUnreachableError,
)

__all__ = [
    "DEFAULT_OUTAGE_PATIENCE",
    "VANISHED_RECHECKS",
    "VANISHED_RECHECK_PAUSE",
    "Outage",
    "OutagePolicy",
    "is_outage",
]

logger = logging.getLogger("ray_jobs_client")


@attrs.frozen
class OutagePolicy:
    """How long a long-running operation keeps trying while the job server is unreachable."""

    #: Seconds of continuous outage after which the operation fails; ``None``: wait indefinitely.
    patience: float | None = DEFAULT_OUTAGE_PATIENCE
    backoff_initial: float = defaults.OUTAGE_BACKOFF_INITIAL
    backoff_max: float = defaults.OUTAGE_BACKOFF_MAX
    #: A job seen before that the server suddenly does not know is asked for again this many times,
    #: this many seconds apart, before the operation believes it (see :meth:`Outage.doubt_vanished`).
    vanished_rechecks: int = VANISHED_RECHECKS
    vanished_recheck_pause: float = VANISHED_RECHECK_PAUSE

    def __attrs_post_init__(self) -> None:
        patience = self.patience
        if patience is not None:
            if isinstance(patience, bool) or not isinstance(patience, int | float):
                raise InvalidArgumentTypeError(
                    f"outage patience must be seconds or None (forever), got {type(patience)}",
                    parameter="outage_patience",
                )
            if not patience >= 0:  # NaN too; infinity is forever, as None
                raise InvalidArgumentError(
                    f"outage patience must be 0 or more seconds (or None: forever), got {patience}",
                    parameter="outage_patience",
                )
        for name in ("backoff_initial", "backoff_max", "vanished_recheck_pause"):
            check_seconds(name, getattr(self, name), zero_ok=True)
        check_count("vanished_rechecks", self.vanished_rechecks)

    def backoff(self, attempt: int) -> float:
        """Pause before attempt ``attempt + 1`` of an outage: capped exponential, full jitter above half."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** min(attempt - 1, 30)))
        return random.uniform(ceiling / 2, ceiling)


def is_outage(error: BaseException) -> bool:
    """Could this failure be the server being away for a while (rather than a definite answer)?"""
    if isinstance(error, APIConnectionError):
        return not isinstance(error, PERMANENT_CONNECTION_ERRORS)
    return isinstance(error, ServerError) and (
        error.status_code in TRANSIENT_STATUSES or "please try again later" in error.body
    )


@attrs.define
class Outage:
    """One long-running operation's view of the server's availability.

    ``what`` says what is being waited for ("following the log of job x"), for the messages.
    """

    what: str
    address: str
    policy: OutagePolicy = attrs.field(factory=OutagePolicy)
    since: float | None = None
    attempts: int = 0
    last_error: BaseException | None = None
    #: The job was found at least once (a later "does not exist" is then checked again, see below).
    job_seen: bool = False
    _doubts: int = 0

    def seen(self) -> None:
        """The server answered for the job."""
        self.job_seen = True
        self._doubts = 0

    def in_doubt(self, error: BaseException) -> bool:
        """Is ``error`` "no such job" about a job seen before (to be checked again, not believed)?"""
        return isinstance(error, JobNotFoundError) and self.job_seen

    def doubt_vanished(self) -> bool:
        """A job seen before is suddenly unknown: ask again (True) a few times before believing it.

        A head going down answers "does not exist" for a moment before it stops answering at all
        (measured on Ray 2.60: the dashboard outlives the cluster's state by a second or so); asking
        again then meets the outage, and later the restarted cluster, instead of a false verdict.
        """
        self._doubts += 1
        return self._doubts <= self.policy.vanished_rechecks

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    @property
    def elapsed(self) -> float:
        """Seconds since the server was lost (0 when it is not)."""
        return 0.0 if self.since is None else time.monotonic() - self.since

    def failed(self, error: JobsClientError) -> float:
        """Note a failed call; return the pause before trying again, or raise.

        Raises ``error`` itself if it is not an outage, and :class:`ServerUnreachableError` once the
        server has been unreachable for longer than the policy's patience.
        """
        if not is_outage(error):
            raise error
        now = time.monotonic()
        if self.since is None:
            self.since = now
            patience = self.policy.patience
            logger.warning(
                "Lost the job server at %s (%s); %s: retrying %s.",
                self.address,
                error,
                self.what,
                "indefinitely" if patience is None else f"for up to {patience:g} s",
            )
        self.attempts += 1
        self.last_error = error
        elapsed = now - self.since
        patience = self.policy.patience
        if patience is not None and elapsed >= patience:
            raise ServerUnreachableError(
                f"The job server at {self.address} was unreachable for {elapsed:.0f} s (patience: "
                f"{patience:g} s) while {self.what}; last error: {error}",
                unreachable_for=elapsed,
                what=self.what,
            ) from error
        pause = self.policy.backoff(self.attempts)
        return pause if patience is None else max(0.0, min(pause, patience - elapsed))

    def succeeded(self) -> bool:
        """Note a successful call; True if it ended an outage (the server is back)."""
        if self.since is None:
            return False
        logger.warning(
            "The job server at %s is back after %.0f s; %s.",
            self.address,
            time.monotonic() - self.since,
            self.what,
        )
        self.since = None
        self.attempts = 0
        self.last_error = None
        return True
