"""Watching jobs until they finish: ``wait_until_finished``, ``as_completed``, and riding out outages.

A watch can last much longer than any single call, through a dashboard restart or a dropped
port-forward: each of its calls goes through :func:`through_outage`, which keeps trying while the
server is unreachable, for the client's :class:`~ray_jobs_client.outage.OutagePolicy` ``.patience``,
and checks, when the server answers again, that it is still the cluster the job ran on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from ray_jobs_client import _operations as operations
from ray_jobs_client._completion import Completion, check_job_ids
from ray_jobs_client._io import asleep
from ray_jobs_client.checks import check_job_id, check_seconds
from ray_jobs_client.errors import (
    APIStatusError,
    ClusterRestartedError,
    JobNotFoundError,
    JobsClientError,
    JobWaitTimeoutError,
)
from ray_jobs_client.outage import Outage
from ray_jobs_client.retry import is_outage

if TYPE_CHECKING:
    from ray_jobs_client._async.server import AsyncJobServer
    from ray_jobs_client._operations import Operation
    from ray_jobs_client.models import JobDetails

__all__ = ["as_completed", "outage_of", "through_outage", "wait"]

logger = logging.getLogger("ray_jobs_client")

T = TypeVar("T")


class WaitOver(Exception):
    """The caller's own time limit ran out during an outage (not an error of the server)."""


def outage_of(server: AsyncJobServer, what: str) -> Outage:
    """A tracker of the server's availability for one long operation (``what`` names it in messages)."""
    return Outage(what, server.address, server.settings.outage_policy)


async def through_outage(
    server: AsyncJobServer,
    outage: Outage,
    make_operation: Callable[[], Operation[T]],
    job_id: str,
    within: float | None = None,
) -> T:
    """One call of a long operation, repeated through an outage of the server.

    Gives up as :meth:`Outage.failed` decides, or with :class:`WaitOver` once ``within`` seconds have
    passed. When the server answers after an outage, it must still be the cluster the job ran on
    (else :class:`ClusterRestartedError`); a job seen before that the server suddenly does not know is
    asked for again a few times before that is believed.
    """
    until = None if within is None else time.monotonic() + within

    def within_time(pause: float, error: Exception) -> float:
        if until is None:
            return pause
        left = until - time.monotonic()
        if left <= 0:
            raise WaitOver from error
        return min(pause, left)

    while True:
        try:
            answered: APIStatusError | None = None
            try:
                result = await server.send(make_operation())
            except APIStatusError as exc:
                vanished = isinstance(exc, JobNotFoundError) and outage.job_seen
                if is_outage(exc) or not (outage.ongoing or vanished):
                    raise
                answered = exc  # back with an error, or the job is gone: still the same cluster?
            if outage.ongoing or answered is not None:
                await _check_same_cluster(server, job_id, answered)
                outage.succeeded()
            if answered is None:
                outage.seen()
                return result
            if isinstance(answered, JobNotFoundError) and outage.doubt_vanished():
                await asleep(within_time(outage.policy.vanished_recheck_pause, answered))
                continue
            raise answered
        except JobsClientError as exc:
            # Raises when it is no outage, or patience ran out.
            await asleep(within_time(outage.failed(exc), exc))


async def _check_same_cluster(server: AsyncJobServer, job_id: str, failure: APIStatusError | None) -> None:
    """After an outage: a server with another ``session_name`` is a restarted cluster."""
    before = server.known_version
    now = await server.send(operations.get_version())
    old, new = _session(before), _session(now)
    if old and new and old != new:
        raise ClusterRestartedError(
            f"The job server at {server.address} came back as a new cluster (session {old} is now "
            f"{new}) while waiting for job {job_id}: the job is gone with the old cluster"
            + (f" ({failure.server_message})." if failure is not None else "."),
            job_id=job_id,
            old_session=old,
            new_session=new,
        ) from failure


def _session(version: object) -> str | None:
    session = getattr(version, "session_name", None)
    return session if isinstance(session, str) and session else None


async def job_details(server: AsyncJobServer, outage: Outage, job_id: str) -> JobDetails:
    """The job's details for a long operation: an outage of the server is ridden out."""
    return await through_outage(server, outage, lambda: operations.get_job_info(job_id), job_id)


async def wait(
    server: AsyncJobServer,
    job_id: str,
    timeout: float | None,
    poll: float,
    stop_on_timeout: bool,
    on_poll: Callable[[JobDetails], None] | None,
) -> JobDetails:
    """Poll the job until it has finished; give up (optionally stopping it) after ``timeout``.

    An outage of the server is ridden out within ``timeout``.
    """
    check_job_id(job_id)
    timeout = check_seconds("timeout", timeout, optional=True)
    poll = check_seconds("poll", poll) or poll
    deadline = None if timeout is None else time.monotonic() + timeout
    outage = outage_of(server, f"waiting for job {job_id} to finish")
    details: JobDetails | None = None
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        try:
            details = await through_outage(
                server, outage, lambda: operations.get_job_info(job_id), job_id, remaining
            )
        except WaitOver:
            pass
        else:
            if details.is_finished():
                return details
            if on_poll is not None:
                on_poll(details)
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            last = None if details is None else str(details.status)
            if outage.ongoing:
                raise JobWaitTimeoutError(
                    f"Job '{job_id}' was last seen {last} and the job server has been unreachable "
                    f"for {outage.elapsed:.0f} s; gave up after {timeout:g} s"
                    + (" (the stop could not be requested)." if stop_on_timeout else "."),
                    job_id=job_id,
                    last_status=last,
                )
            if stop_on_timeout:
                await server.send(operations.stop_job(job_id))
            raise JobWaitTimeoutError(
                f"Job '{job_id}' is still {last} after {timeout:g} s"
                + (" (a stop was requested)." if stop_on_timeout else "."),
                job_id=job_id,
                last_status=last,
            )
        if not outage.ongoing:
            await asleep(poll if remaining is None else min(poll, remaining))


def as_completed(
    server: AsyncJobServer, job_ids: Iterable[str], timeout: float | None, poll: float
) -> AsyncGenerator[JobDetails, None]:
    """Check the arguments now (before anything is sent), and return the iterator that waits.

    ``timeout`` counts from this call, as in :func:`concurrent.futures.as_completed`.
    """
    state = Completion.of(check_job_ids(job_ids))
    poll = check_seconds("poll", poll) or poll
    timeout = check_seconds("timeout", timeout, optional=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    return _completion(server, state, timeout, deadline, poll)


async def _completion(
    server: AsyncJobServer, state: Completion, timeout: float | None, deadline: float | None, poll: float
) -> AsyncGenerator[JobDetails, None]:
    """Each round looks at every pending job once; each one found finished is yielded at once."""
    outage = outage_of(server, f"waiting for {state.total} jobs to finish")
    while True:
        try:
            found: dict[str, JobDetails] = {}
            if state.lists_this_round():
                first = next(iter(state.pending))
                jobs = await through_outage(server, outage, operations.list_jobs, first, _left(deadline))
                found = state.take_list(jobs)
                logger.debug(
                    "Listed %d jobs: %d of %d waited on found there.",
                    len(jobs),
                    len(found),
                    len(state.pending),
                )
            for job_id in list(state.pending):
                details = found.get(job_id)
                if details is None:
                    outage.job_seen = job_id in state.seen  # the tracker answers for the job asked about
                    details = await through_outage(
                        server, outage, _get_job_info(job_id), job_id, _left(deadline)
                    )
                if state.note(job_id, details):
                    yield details
        except WaitOver:
            pass  # the caller's time ran out during an outage: the timeout below says so
        if not state.pending:
            return
        remaining = _left(deadline)
        if timeout is not None and remaining is not None and remaining <= 0:
            raise state.timeout_error(timeout, outage)
        await asleep(poll if remaining is None else min(poll, remaining))


def _get_job_info(job_id: str) -> Callable[[], Operation[JobDetails]]:
    return lambda: operations.get_job_info(job_id)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()
