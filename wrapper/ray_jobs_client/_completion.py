"""What ``as_completed`` knows about the jobs it waits for, and what it asks next (no I/O).

A script that submits 200 jobs and waits for each on its own sends 200 ``GET /api/jobs/{id}`` per
round to a dashboard that users already find overloaded by polling. One ``GET /api/jobs/`` answers
for every job on the cluster, but its price grows with the number of records the cluster keeps: for
3 jobs on a cluster of 20,000 records, three small GETs are far cheaper. So each round chooses (see
:meth:`Completion.lists_this_round`): one list when ``waited > 1 + records * LISTED_RECORD_COST``,
else one GET per job — where ``records`` is how many jobs the last list returned and
:data:`~ray_jobs_client.defaults.LISTED_RECORD_COST` what one listed record costs the server next
to one GET (measured). Until a list has been seen its size is unknown: a list is tried first only
when at least :data:`~ray_jobs_client.defaults.FIRST_LIST_MIN_JOBS` jobs are waited on, a one-off
price no greater than one refresh of the dashboard's own jobs page.

A job is found in a list by its submission id. One that the list does not show — deleted, or named by
a Ray job id (``02000000``) rather than its submission id — is asked for with its own GET from then
on, so that a missing job raises :class:`~ray_jobs_client.errors.JobNotFoundError` exactly as a
single wait would.

Outages are ridden out as :meth:`~ray_jobs_client.JobSubmissionClient.wait_until_finished` does
(one :class:`~ray_jobs_client.outage.Outage` for the whole wait: one warning when the server is lost,
one when it is back), within the caller's ``timeout``.

:class:`Completion` holds every decision, free of I/O; ``_async/watch.py`` asks the server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from .checks import check_job_id
from .defaults import FIRST_LIST_MIN_JOBS, LISTED_RECORD_COST
from .errors import JobWaitTimeoutError
from .models import JobDetails

if TYPE_CHECKING:
    from .outage import Outage

__all__ = ["Completion", "check_job_ids", "list_is_cheaper"]

#: How many unfinished jobs a timeout's message names (all of them are in ``.unfinished``).
_NAMED_IN_MESSAGE = 10


def check_job_ids(job_ids: object) -> list[str]:
    """``job_ids`` as a list, if it is a non-empty collection of distinct, valid job ids.

    Raises :class:`TypeError` for a single string or a non-iterable, :class:`ValueError` for an
    empty collection, duplicates or an id the server cannot route (see
    :func:`~ray_jobs_client.checks.check_job_id`).
    """
    if isinstance(job_ids, str | bytes):
        raise TypeError(
            f"job_ids must be a collection of job ids, not a single {type(job_ids).__name__}: "
            f"write [{job_ids!r}]"
        )
    if not isinstance(job_ids, Iterable):
        raise TypeError(f"job_ids must be a collection of job ids, got {type(job_ids)}")
    ids = list(job_ids)
    if not ids:
        raise ValueError("job_ids is empty: give at least one job id to wait for")
    for job_id in ids:
        check_job_id(job_id)
    repeated = [job_id for job_id, count in Counter(ids).items() if count > 1]
    if repeated:
        raise ValueError(
            f"job_ids names {len(repeated)} job(s) more than once: {', '.join(map(repr, repeated[:5]))}"
            f"{' …' if len(repeated) > 5 else ''}; each job is yielded once, so give each id once"
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
        if details.is_finished():
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
