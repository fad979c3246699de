"""Waiting for many jobs at once (``as_completed``), written once for both clients.

A script that submits 200 jobs and waits for each on its own sends 200 ``GET /api/jobs/{id}`` per
round to a dashboard that users already find overloaded by polling. One ``GET /api/jobs/`` answers
for every job on the cluster, but its price grows with the number of records the cluster keeps: for
3 jobs on a cluster of 20,000 records, three small GETs are far cheaper. So each round chooses (see
:meth:`Completion.lists_this_round`): one list when ``waited > 1 + records * LISTED_RECORD_COST``, else
one GET per job — where ``records`` is how many jobs the last list returned and
:data:`LISTED_RECORD_COST` what one listed record costs the server next to one GET (measured). Until a
list has been seen its size is unknown: a list is tried first only when at least
:data:`FIRST_LIST_MIN_JOBS` jobs are waited on, a one-off price no greater than one refresh of the
dashboard's own jobs page.

A job is found in a list by its submission id. One that the list does not show — deleted, or named by
a Ray job id (``02000000``) rather than its submission id — is asked for with its own GET from then
on, so that a missing job raises :class:`~ray_jobs_client.errors.JobNotFoundError` exactly as a
single wait would.

Outages are ridden out as :meth:`~ray_jobs_client.JobSubmissionClient.wait_until_finished` does
(one :class:`~ray_jobs_client.outage.Outage` for the whole wait: one warning when the server is lost,
one when it is back), within the caller's ``timeout``.

:class:`Completion` holds every decision, free of I/O; :func:`completion_flow` checks the arguments
(before anything is sent) and returns the flow that the clients drive with
:func:`~ray_jobs_client._core.iterate_flow` / :func:`~ray_jobs_client._core.aiterate_flow`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from . import _calls
from ._arguments import check_seconds
from ._core import Emit, Flow, Pause, do
from ._flows import _WaitOver
from .errors import InvalidArgumentError, InvalidArgumentTypeError, JobWaitTimeoutError
from .ids import check_job_id
from .models import JobDetails

if TYPE_CHECKING:
    from ._base import ClientBase
    from .outage import Outage

__all__ = ["FIRST_LIST_MIN_JOBS", "LISTED_RECORD_COST", "Completion", "check_job_ids", "completion_flow"]

logger = logging.getLogger("ray_jobs_client")

#: What one record of ``GET /api/jobs/`` costs the server, as a fraction of one
#: ``GET /api/jobs/{id}``. Measured on Ray 2.60 on an idle head (median of 15 lists and 30 GETs): a
#: GET took 3.4-4.3 ms; lists of 10, 50 and 150 records took 6.4, 17.3 and 46.7 ms, i.e. one GET
#: plus 1/16, 1/12 and 1/15 of a GET per record (about 460 bytes each).
LISTED_RECORD_COST = 1 / 15

#: While the cluster's number of records is unknown (no list seen yet), list only when waiting on at
#: least this many jobs; fewer are asked for one by one.
FIRST_LIST_MIN_JOBS = 8

#: How many unfinished jobs a timeout's message names (all of them are in ``.unfinished``).
_NAMED_IN_MESSAGE = 10


def check_job_ids(job_ids: object) -> list[str]:
    """``job_ids`` as a list, if it is a non-empty collection of distinct, valid job ids.

    Raises :class:`TypeError` for a single string or a non-iterable, :class:`ValueError` for an
    empty collection, duplicates or an id the server cannot route (see
    :func:`~ray_jobs_client.ids.check_job_id`).
    """
    if isinstance(job_ids, str | bytes):
        raise InvalidArgumentTypeError(
            f"job_ids must be a collection of job ids, not a single {type(job_ids).__name__}: "
            f"write [{job_ids!r}]",
            parameter="job_ids",
        )
    if not isinstance(job_ids, Iterable):
        raise InvalidArgumentTypeError(
            f"job_ids must be a collection of job ids, got {type(job_ids)}", parameter="job_ids"
        )
    ids = list(job_ids)
    if not ids:
        raise InvalidArgumentError(
            "job_ids is empty: give at least one job id to wait for", parameter="job_ids"
        )
    for job_id in ids:
        check_job_id(job_id)
    repeated = [job_id for job_id, count in Counter(ids).items() if count > 1]
    if repeated:
        raise InvalidArgumentError(
            f"job_ids names {len(repeated)} job(s) more than once: {', '.join(map(repr, repeated[:5]))}"
            f"{' …' if len(repeated) > 5 else ''}; each job is yielded once, so give each id once",
            parameter="job_ids",
        )
    return ids


@attrs.define
class Completion:
    """What is known about the jobs waited on, and what to ask next. No I/O.

    ``pending`` maps each unfinished job (in the caller's order) to the status it was last seen in.
    """

    pending: dict[str, str | None]
    total: int
    #: Jobs the server has answered for at least once (a later "does not exist" is then doubted).
    seen: set[str] = attrs.field(factory=set)
    #: Jobs a list did not show: asked for one by one from then on.
    unlisted: set[str] = attrs.field(factory=set)
    #: How many records the last list returned (``None``: no list yet).
    list_size: int | None = None

    @classmethod
    def of(cls, job_ids: list[str]) -> Completion:
        return cls(dict.fromkeys(job_ids), total=len(job_ids))

    @property
    def listable(self) -> int:
        """How many pending jobs a list could answer for."""
        return sum(1 for job_id in self.pending if job_id not in self.unlisted)

    def lists_this_round(self) -> bool:
        """True when one ``GET /api/jobs/`` is cheaper than one GET per listable pending job."""
        return list_is_cheaper(self.listable, self.list_size)

    def take_list(self, jobs: list[JobDetails]) -> dict[str, JobDetails]:
        """Note a list's answer; return what it says about pending jobs (the others get a GET).

        A job is taken from the list by its submission id, unless some listed job has that id as its
        Ray job id: the server's own lookup would then prefer that one, so the GET decides.
        """
        self.list_size = len(jobs)
        by_submission = {job.submission_id: job for job in jobs if job.submission_id is not None}
        ray_job_ids = {job.job_id for job in jobs if job.job_id is not None}
        found = {}
        for job_id in self.pending:
            job = by_submission.get(job_id)
            if job is None or job_id in ray_job_ids:
                self.unlisted.add(job_id)
            else:
                found[job_id] = job
        return found

    def note(self, job_id: str, details: JobDetails) -> bool:
        """Record a job's current details; True when it has finished (and is no longer pending)."""
        self.seen.add(job_id)
        if details.status.is_terminal():
            del self.pending[job_id]
            return True
        self.pending[job_id] = str(details.status)
        return False

    def timeout_error(self, timeout: float, outage: Outage) -> JobWaitTimeoutError:
        """The error for a ``timeout`` that passed with jobs still pending."""
        named = ", ".join(
            f"{job_id} ({status or 'never seen'})"
            for job_id, status in list(self.pending.items())[:_NAMED_IN_MESSAGE]
        )
        more = len(self.pending) - _NAMED_IN_MESSAGE
        unreachable = (
            f"; the job server has been unreachable for {outage.elapsed:.0f} s" if outage.ongoing else ""
        )
        first, status = next(iter(self.pending.items()))
        return JobWaitTimeoutError(
            f"{len(self.pending)} of {self.total} jobs still unfinished after {timeout:g} s{unreachable}: "
            f"{named}{f' and {more} more' if more > 0 else ''}.",
            job_id=first,
            last_status=status,
            unfinished=self.pending,
        )


def list_is_cheaper(waited: int, list_size: int | None) -> bool:
    """Whether one ``GET /api/jobs/`` of ``list_size`` records costs the server less than ``waited``
    single GETs (the module's description explains the rule and its constants)."""
    if list_size is None:
        return waited >= FIRST_LIST_MIN_JOBS
    return waited > 1 + list_size * LISTED_RECORD_COST


def completion_flow(
    client: ClientBase, job_ids: Iterable[str], timeout: float | None, poll: float
) -> Flow[None]:
    """Check the arguments now (before anything is sent), and return the flow that waits.

    ``timeout`` counts from this call, as in :func:`concurrent.futures.as_completed`.
    """
    ids = check_job_ids(job_ids)
    poll = check_seconds("poll", poll)
    if timeout is not None:
        timeout = check_seconds("timeout", timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    return _completion(client, Completion.of(ids), timeout, deadline, poll)


def _completion(
    client: ClientBase, state: Completion, timeout: float | None, deadline: float | None, poll: float
) -> Flow[None]:
    outage = client._outage(f"waiting for {state.total} jobs to finish")
    while True:
        # _WaitOver: the caller's time ran out during an outage; the timeout below says so.
        with contextlib.suppress(_WaitOver):
            yield from _round(client, state, outage, deadline)
        if not state.pending:
            return
        remaining = None if deadline is None else deadline - time.monotonic()
        if timeout is not None and remaining is not None and remaining <= 0:
            raise state.timeout_error(timeout, outage)
        yield from do(Pause(poll if remaining is None else min(poll, remaining)))


def _round(client: ClientBase, state: Completion, outage: Outage, deadline: float | None) -> Flow[None]:
    """One look at every pending job; each one found finished is emitted at once."""
    found: dict[str, JobDetails] = {}
    if state.lists_this_round():
        first = next(iter(state.pending))
        jobs: list[JobDetails] = yield from client._through_outage(
            outage, _calls.list_jobs, first, _left(deadline)
        )
        found = state.take_list(jobs)
        logger.debug(
            "Listed %d jobs: %d of %d waited on found there.", len(jobs), len(found), len(state.pending)
        )
    for job_id in list(state.pending):
        details = found.get(job_id)
        if details is None:
            outage.job_seen = job_id in state.seen  # the tracker answers for the job asked about
            details = yield from client._through_outage(
                outage, functools.partial(_calls.get_job_info, job_id), job_id, _left(deadline)
            )
        if state.note(job_id, details):
            yield from do(Emit(details))


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()
