# Generated from ray_jobs_client/_async/jobs.py by tools/unasync.py: edit that file, then run `make unasync`.
"""Submitting and deleting jobs: the operations that take more than one exchange.

Each is retried by the transport like any call (see :mod:`ray_jobs_client.retry`). What needs care is
an answer that follows a lost reply: "already exists" after a submit, "does not exist" after a
delete may be about this call's own earlier attempt — or not. The client claims the success only
when it has proven it: the job did not exist before this call (a check costs one GET, made only
when it can matter) and exists now as submitted, or existed before and is gone now.
"""

from __future__ import annotations

import copy
import enum
import logging
import time
from typing import TYPE_CHECKING, Any

import attrs

from ray_jobs_client import _operations as operations
from ray_jobs_client._io import sleep
from ray_jobs_client.checks import check_job_id
from ray_jobs_client.defaults import DELETE_SETTLE_SECONDS
from ray_jobs_client.errors import APIStatusError, JobAlreadyExistsError, JobNotFoundError
from ray_jobs_client.models import JobDetails
from ray_jobs_client.releases import DELETE_RACE_SINCE, ENTRYPOINT_LABEL_SELECTOR, release_tuple
from ray_jobs_client.submission import ProgressCallback, Submission, new_submission_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from ray_jobs_client._sync.server import JobServer
    from ray_jobs_client.packaging import Package

__all__ = ["delete", "submit"]

logger = logging.getLogger("ray_jobs_client")


def submit(server: JobServer, job: Submission) -> str:
    """Submit ``job`` and return its submission id (see ``submit_job``)."""
    if job.job_id:
        logger.warning("job_id kwarg is deprecated. Please use submission_id instead.")
    for feature in job.features():
        server.require(feature)
    label_selector_supported = server.supports(ENTRYPOINT_LABEL_SELECTOR)
    # Everything that can be refused locally is checked before the first byte is sent.
    packages: list[Package] = []
    wire_env: dict[str, Any] = {}
    if job.runtime_env:  # packaging (pathspec, zipfile…) is only loaded for jobs that need it
        from ray_jobs_client.packaging import plan_uploads
        from ray_jobs_client.runtime_env import normalize_runtime_env

        planned_env, packages = plan_uploads(copy.deepcopy(job.runtime_env))
        wire_env = normalize_runtime_env(planned_env, ray_commit=(server.version()).ray_commit)
    # The client default wins on a clash, exactly as Ray merges (the caller's dict is left alone).
    metadata = {**(job.metadata or {}), **server.settings.default_metadata}

    for package in packages:
        # The GET also pins the package server-side until the job references it: never skip it.
        if server.send(operations.package_exists(package.protocol, package.package_name)):
            logger.info("Package %s already exists, skipping upload.", package.uri)
            continue
        with package.open() as (file, size):
            logger.info("Uploading package %s (%d bytes).", package.uri, size)
            progress = _progress_for(package.uri, size, job.upload_progress)
            server.send(
                operations.upload_package(package.protocol, package.package_name, file, progress)
            )

    # Chosen here, not by the server, so that a repeated POST can never create a second job. An id
    # the caller chose may already be taken: whether it was is asked first, so that "already exists"
    # after a lost reply can be told from the job this call created.
    chosen = job.chosen_id
    submission_id = chosen or new_submission_id()
    before = _look_before(server, submission_id) if chosen else Before(Prior.NEW)
    if before.found is not None and before.found.submission_id != submission_id:
        # The id is also the Ray job id of another job, which the server's look-up finds first:
        # whether a submission holds it is not known.
        other = before.found.submission_id or before.found.job_id
        before = Before(Prior.UNKNOWN, reason=f"found another job ({other}) under that id")
    body = job.request(submission_id, wire_env, metadata, label_selector_supported=label_selector_supported)
    try:
        return server.send(operations.submit_job(body))
    except JobAlreadyExistsError as exc:
        if not exc.retried_after_send:
            raise  # the server's answer to this call's only attempt
        if before.state is Prior.PRESENT:
            logger.info(
                "Job %s already existed before this submit's first attempt: the retry's "
                '"already exists" is about that job, not one this submit created.',
                submission_id,
            )
            raise
        if before.state is Prior.UNKNOWN:
            logger.warning(
                "Job %s exists, but whether this submit's earlier attempt (whose answer was lost) "
                "created it is not known: the look-up before the first attempt %s.",
                submission_id,
                before.reason,
            )
            raise
        # It did not exist before: does it hold what this submit sent? (Another client may have
        # created it between the look-up and the retry.)
        try:
            existing = server.send(operations.get_job_info(submission_id))
        except JobNotFoundError:
            raise exc from None  # created and deleted again meanwhile: nothing is proven
        sent = (submission_id, job.entrypoint, metadata, wire_env)
        if (existing.submission_id, existing.entrypoint, existing.metadata, existing.runtime_env) != sent:
            logger.info(
                "Job %s did not exist before this submit's first attempt (%s), but does not hold what "
                "this submit sent: someone else created it meanwhile.",
                submission_id,
                before.reason,
            )
            raise
        logger.info(
            "Job %s did not exist before this submit's first attempt (%s) and holds this submit's "
            "entrypoint, metadata and runtime_env: created by an earlier attempt whose answer was lost.",
            submission_id,
            before.reason,
        )
        return submission_id


class Prior(enum.Enum):
    """What a submit or delete knows, before its first attempt, about the job its id names."""

    NEW = "new"  #: a submission id this call generated: no job can hold it yet
    ABSENT = "absent"  #: the look-up answered 404
    PRESENT = "present"  #: the look-up found a job
    UNKNOWN = "unknown"  #: the look-up failed: nothing is known


@attrs.frozen
class Before:
    """The look-up before a submit's or delete's first attempt, and what it proved."""

    state: Prior
    found: JobDetails | None = None
    server_time: float | None = None
    #: The look-up's 404 (the server's own answer, raised as is by a delete).
    missing: JobNotFoundError | None = None
    #: How it is known, for the log.
    reason: str = "the id was generated by this submit"


def _look_before(server: JobServer, job_id: str) -> Before:
    """What the server holds under ``job_id`` just before a submit's or delete's first attempt.

    A 404 proves there is no such job; any other failed answer proves nothing (the operation goes
    ahead and the server decides). A server that cannot be reached raises: nothing was sent that
    could have changed anything, so the caller may simply call again.
    """
    try:
        found, server_time = server.send(operations.get_job_info_dated(job_id))
    except JobNotFoundError as exc:
        return Before(Prior.ABSENT, missing=exc, reason="a look-up then answered 404")
    except APIStatusError as exc:
        answer = f"{exc.status_code} {exc.server_message}".strip()
        return Before(Prior.UNKNOWN, reason=f"was answered {answer}")
    return Before(Prior.PRESENT, found=found, server_time=server_time, reason="a look-up then found it")


def delete(server: JobServer, job_id: str) -> bool:
    """Delete a finished job's record (see ``delete_job``).

    The job is looked up first (one GET). A job the look-up does not find is not there to delete: its
    404 is raised at once (the server resolves the id the same way for both routes). A job it finds
    tells what a retry's "does not exist" means: that job was deleted by this call's earlier attempt
    whose reply was lost. On releases since :data:`~ray_jobs_client.releases.DELETE_RACE_SINCE`, a job
    that ended a moment ago is deleted only once Ray's job manager is done with it (deleted sooner,
    its record may be written again as a FAILED job).
    """
    check_job_id(job_id)
    version = server.version()
    before = _look_before(server, job_id)
    if before.missing is not None:
        raise before.missing
    if before.found is not None and release_tuple(version.ray_version)[:2] >= DELETE_RACE_SINCE:
        delay = _delete_settle_delay(before.found, before.server_time)
        if delay > 0:
            logger.debug("Job %s ended moments ago; deleting it in %.1f s.", job_id, delay)
            sleep(delay)
    try:
        return server.send(operations.delete_job(job_id))
    except JobNotFoundError as exc:
        if not exc.retried_after_send:
            raise
        if before.state is Prior.PRESENT:
            logger.info(
                "Job %s existed before this delete's first attempt and is gone now: deleted by an "
                "earlier attempt whose answer was lost.",
                job_id,
            )
            return True
        logger.warning(
            "Job %s does not exist, but whether this delete's earlier attempt (whose answer was "
            "lost) deleted it is not known: the look-up before the first attempt %s.",
            job_id,
            before.reason,
        )
        raise


def _delete_settle_delay(details: JobDetails, server_time: float | None) -> float:
    """Seconds to wait before deleting ``details``' job so that Ray does not re-create its record."""
    if not details.is_finished() or not details.end_time:
        return 0.0  # a running job: the server refuses the delete anyway
    now = time.time()
    if server_time is not None:
        # `Date` counts whole seconds: the server's time is in [date, date + 1). Trust the local
        # clock (finer) only inside that window; outside it the clocks disagree, so take the bound.
        now = min(max(now, server_time), server_time + 1.0)
    age = now - details.end_time / 1000
    # A node clock far ahead of the head's (end_time is the node's) cannot stall a delete: capped.
    return min(max(DELETE_SETTLE_SECONDS - age, 0.0), DELETE_SETTLE_SECONDS)


def _progress_for(uri: str, total: int, callback: ProgressCallback | None) -> Callable[[int], None] | None:
    if callback is None:
        return None
    return lambda sent: callback(uri, sent, total)
