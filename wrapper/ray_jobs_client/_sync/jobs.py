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
import logging
import time
from typing import TYPE_CHECKING, Any

from ray_jobs_client import operations
from ray_jobs_client._io import sleep
from ray_jobs_client.checks import check_job_id
from ray_jobs_client.defaults import DELETE_SETTLE_SECONDS
from ray_jobs_client.errors import APIStatusError, JobAlreadyExistsError, JobNotFoundError
from ray_jobs_client.releases import DELETE_RACE_SINCE, ENTRYPOINT_LABEL_SELECTOR, release_tuple
from ray_jobs_client.submission import ProgressCallback, Submission, new_submission_id

if TYPE_CHECKING:
    from collections.abc import Callable

    from ray_jobs_client._sync.server import JobServer
    from ray_jobs_client.models import JobDetails
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
    existed_before = False if chosen is None else _exists(server, submission_id)
    if existed_before:
        logger.debug("Job %s exists already: the server will refuse the submit.", submission_id)
    body = job.request(submission_id, wire_env, metadata, label_selector_supported=label_selector_supported)
    try:
        return server.send(operations.submit_job(body))
    except JobAlreadyExistsError as exc:
        if not exc.retried_after_send or existed_before is not False:
            raise  # the server's answer stands: the job is not this call's
        existing = server.send(operations.get_job_info(submission_id))
        if (existing.entrypoint, existing.metadata, existing.runtime_env) != (
            job.entrypoint,
            metadata,
            wire_env,
        ):
            raise
        logger.info(
            "Job %s did not exist before this submit and exists now as submitted: created by an "
            "earlier attempt whose reply was lost.",
            submission_id,
        )
        return submission_id


def _exists(server: JobServer, job_id: str) -> bool:
    try:
        server.send(operations.get_job_info(job_id))
    except JobNotFoundError:
        return False
    return True


def delete(server: JobServer, job_id: str) -> bool:
    """Delete a terminal job's record (see ``delete_job``).

    The job is looked up first: that tells whether a "does not exist" after a lost reply follows
    this call's own deletion, and — on releases since :data:`~ray_jobs_client.releases.DELETE_RACE_SINCE`
    — lets a job that ended a moment ago be deleted only once Ray's job manager is done with it
    (deleted sooner, its record may be written again as a FAILED job).
    """
    check_job_id(job_id)
    try:
        details, server_time = server.send(operations.get_job_info_dated(job_id))
    except JobNotFoundError:
        existed_before = False
    except APIStatusError:
        existed_before = None  # a server error: the DELETE itself reports what Ray's client would
    else:
        existed_before = True
        version = server.version()
        delay = _delete_settle_delay(details, server_time)
        if release_tuple(version.ray_version)[:2] >= DELETE_RACE_SINCE and delay > 0:
            logger.debug("Job %s ended moments ago; deleting it in %.1f s.", job_id, delay)
            sleep(delay)
    try:
        return server.send(operations.delete_job(job_id))
    except JobNotFoundError as exc:
        if not (exc.retried_after_send and existed_before):
            raise
        logger.info(
            "Job %s existed before this delete and is gone now: deleted by an earlier attempt.", job_id
        )
        return True


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
