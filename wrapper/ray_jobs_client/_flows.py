"""Every multi-step operation, written once as a flow for both clients.

A flow is a generator that yields effects (:class:`~ray_jobs_client._core.Call`,
:class:`~ray_jobs_client._core.Pause`, …) and receives their results; the sync client drives it with
blocking I/O, the async client with ``await`` (see :mod:`ray_jobs_client._core`). Nothing here does I/O.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from ray_jobs_api.models import (
    EntrypointResources,
    JobMetadata,
    JobSubmitRequest,
    LabelSelector,
    VersionResponse,
)
from ray_jobs_api.models import RuntimeEnv as ApiRuntimeEnv

from . import _calls
from ._arguments import check_bool, check_callable, check_optional_seconds, check_seconds
from ._core import Call, Flow, Pause, do
from ._settings import Settings, check_submit_body, check_submit_types, new_submission_id
from .defaults import DELETE_SETTLE_SECONDS
from .errors import (
    PERMANENT_CONNECTION_ERRORS,
    APIConnectionError,
    APIStatusError,
    ClusterRestartedError,
    JobAlreadyExistsError,
    JobNotFoundError,
    JobsClientError,
    JobWaitTimeoutError,
    NotFoundError,
    ServerError,
    UnsupportedServerError,
)
from .ids import check_job_id, check_submission_id
from .logs import LogDownload
from .models import JobDetails, JobStatus
from .outage import Outage, is_outage
from .releases import (
    DELETE_RACE_SINCE,
    ENTRYPOINT_LABEL_SELECTOR,
    ENTRYPOINT_MEMORY,
    ENTRYPOINT_RESOURCES,
    NEWEST_TESTED,
    OLDEST_TESTED,
    Feature,
    release_tuple,
)

if TYPE_CHECKING:
    from .packaging import Package

logger = logging.getLogger("ray_jobs_client")

T = TypeVar("T")

ProgressCallback = Callable[[str, int, int], None]
"""Upload progress: ``(package uri, bytes sent so far, total bytes)``."""


class Flows:
    """The flows of :class:`~ray_jobs_client._base.ClientBase`: they read its settings and the
    server's version (asked once per client), and nothing else."""

    _settings: Settings
    _server_version: VersionResponse | None

    def _connect_flow(self) -> Flow[None]:
        """Ray's constructor check: the server answers ``/api/version`` and runs Ray ≥ 2.0."""
        try:
            version = yield from do(_calls.get_version())
        except NotFoundError as exc:
            raise UnsupportedServerError(
                "Version check returned 404. Jobs API is not supported on the Ray cluster. "
                "Please ensure the cluster is running Ray 1.9 or higher."
            ) from exc
        self._server_version = version
        if release_tuple(version.ray_version)[:2] < release_tuple(OLDEST_TESTED)[:2]:
            logger.warning(
                "Ray %s is running on the cluster; this client is tested against Ray %s to %s.",
                version.ray_version,
                OLDEST_TESTED,
                NEWEST_TESTED,
            )
        if release_tuple(version.ray_version) < (2, 0):
            raise UnsupportedServerError(
                f"Ray version {version.ray_version} is running on the cluster. Client Ray version "
                "2.0+ is not compatible with the Ray cluster. Please ensure the cluster is running "
                "Ray 2.0 or higher."
            )

    def _server_version_flow(self) -> Flow[VersionResponse]:
        """The server's versions, asked once per client (the constructor usually has them already)."""
        if self._server_version is None:
            self._server_version = yield from do(_calls.get_version())
        return self._server_version

    def _require(self, feature: Feature) -> Flow[None]:
        """Fail before anything is sent when the server's Ray release lacks ``feature``."""
        version: VersionResponse = yield from self._server_version_flow()
        running = version.ray_version
        if not feature.supported_by(running):
            raise UnsupportedServerError(
                feature.message(running),
                feature=feature.name,
                required_version=feature.since_text,
                server_version=running,
            )

    def _submit_flow(
        self,
        *,
        entrypoint: str,
        job_id: str | None,
        runtime_env: dict[str, Any] | None,
        metadata: dict[str, str] | None,
        submission_id: str | None,
        entrypoint_num_cpus: int | float | None,
        entrypoint_num_gpus: int | float | None,
        entrypoint_memory: int | None,
        entrypoint_resources: dict[str, float] | None,
        entrypoint_label_selector: dict[str, str] | None,
        upload_progress: ProgressCallback | None,
    ) -> Flow[str]:
        if job_id:
            logger.warning("job_id kwarg is deprecated. Please use submission_id instead.")
        check_submit_types(
            entrypoint=entrypoint,
            submission_id=submission_id,
            job_id=job_id,
            runtime_env=runtime_env,
            metadata=metadata,
            entrypoint_num_cpus=entrypoint_num_cpus,
            entrypoint_num_gpus=entrypoint_num_gpus,
            entrypoint_memory=entrypoint_memory,
            entrypoint_resources=entrypoint_resources,
            entrypoint_label_selector=entrypoint_label_selector,
        )
        for name, value in (("submission_id", submission_id), ("job_id", job_id)):
            if value:  # an empty id asks for a generated one, as in Ray's client
                check_submission_id(value, name)
        check_callable("upload_progress", upload_progress)
        # Gated as Ray's client gates them (a value of 0 or {} asks for nothing, so needs no check)...
        if entrypoint_num_cpus or entrypoint_num_gpus or entrypoint_resources:
            yield from self._require(ENTRYPOINT_RESOURCES)
        if entrypoint_memory:
            yield from self._require(ENTRYPOINT_MEMORY)
        if entrypoint_label_selector:
            yield from self._require(ENTRYPOINT_LABEL_SELECTOR)
        elif entrypoint_label_selector is not None:
            # ...but a server older than the field refuses even an empty selector (an unexpected
            # keyword): {} means "no selector", so it is left out rather than refused.
            version: VersionResponse = yield from self._server_version_flow()
            if not ENTRYPOINT_LABEL_SELECTOR.supported_by(version.ray_version):
                entrypoint_label_selector = None
        # Everything that can be refused locally is checked before the first byte is sent.
        packages: list[Package] = []
        wire_env: dict[str, Any] = {}
        if runtime_env:  # packaging (pathspec, zipfile…) is only loaded for jobs that need it
            from .packaging import plan_uploads
            from .runtime_env import normalize_runtime_env

            planned_env, packages = plan_uploads(copy.deepcopy(runtime_env))
            version = yield from self._server_version_flow()
            wire_env = normalize_runtime_env(planned_env, ray_commit=version.ray_commit)
        # The client default wins on a clash, exactly as Ray merges (but the caller's dict is left alone).
        merged_metadata = {**(metadata or {}), **self._settings.default_metadata}
        # Chosen here, not by the server, so that a retried submit can never create a second job.
        chosen_id = submission_id or job_id or new_submission_id()
        optional = {
            "entrypoint_num_cpus": entrypoint_num_cpus,
            "entrypoint_num_gpus": entrypoint_num_gpus,
            "entrypoint_memory": entrypoint_memory,
            "entrypoint_resources": entrypoint_resources,
            "entrypoint_label_selector": entrypoint_label_selector,
        }
        check_submit_body(
            {
                "entrypoint": entrypoint,
                "submission_id": chosen_id,
                "runtime_env": wire_env,
                "metadata": merged_metadata,
                **{name: value for name, value in optional.items() if value is not None},
            }
        )

        for package in packages:
            # The GET also pins the package server-side until the job references it: never skip it.
            exists = yield from do(_calls.package_exists(package.protocol, package.package_name))
            if exists:
                logger.info("Package %s already exists, skipping upload.", package.uri)
                continue
            yield from self._upload(package, upload_progress)

        body = JobSubmitRequest(
            entrypoint=entrypoint,
            submission_id=chosen_id,
            runtime_env=ApiRuntimeEnv.from_dict(wire_env),
            metadata=JobMetadata.from_dict(merged_metadata),
        )
        if entrypoint_num_cpus is not None:
            body.entrypoint_num_cpus = entrypoint_num_cpus
        if entrypoint_num_gpus is not None:
            body.entrypoint_num_gpus = entrypoint_num_gpus
        if entrypoint_memory is not None:
            body.entrypoint_memory = entrypoint_memory
        if entrypoint_resources is not None:
            body.entrypoint_resources = EntrypointResources.from_dict(entrypoint_resources)
        if entrypoint_label_selector is not None:
            body.entrypoint_label_selector = LabelSelector.from_dict(entrypoint_label_selector)
        return (yield from self._submit_once(body, merged_metadata, wire_env))

    def _retrying(
        self,
        what: str,
        make_call: Callable[[], Call[T]],
        settle: Callable[[JobsClientError], Flow[T] | None] = lambda _: None,
    ) -> Flow[T]:
        """Perform a call that the transport must not repeat blindly, retrying transient failures here.

        ``settle`` decides what a definitive error *after a retry* means: an earlier attempt may have
        done the work before its response was lost ("already exists", "does not exist"). It returns a
        flow giving the call's result, or ``None`` to raise the error.
        """
        policy = self._settings.retry_policy
        # One deadline for every attempt, as the transport keeps for the calls it retries itself.
        deadline = policy.deadline(self._settings.timeout.as_dict())
        attempt = 0
        while True:
            try:
                result = yield from do(attrs.evolve(make_call(), deadline=deadline.at))
                return result
            except (APIConnectionError, ServerError) as exc:
                pause = policy.delay(attempt + 1, getattr(exc, "retry_after", None))
                if attempt < policy.max_retries and is_outage(exc) and deadline.allows(pause):
                    attempt += 1
                    logger.info("%s failed (%s); retry %d.", what, exc, attempt)
                    yield from do(Pause(pause))
                    continue
                settled = settle(exc) if attempt else None
                if settled is None:
                    raise
                return (yield from settled)
            except JobsClientError as exc:
                settled = settle(exc) if attempt else None
                if settled is None:
                    raise
                return (yield from settled)

    def _submit_once(
        self, body: JobSubmitRequest, metadata: dict[str, str], runtime_env: dict[str, Any]
    ) -> Flow[str]:
        """POST the job, retrying transient failures without ever creating it twice.

        The submission id is fixed before the first attempt, so a repeated POST cannot create a
        second job; if a repeat answers "already exists", the job is looked up and, if it is the one
        this call submitted, its id is returned instead of an error.
        """
        submission_id = str(body.submission_id)

        def ours_already(error: JobsClientError) -> Flow[str] | None:
            return (
                self._confirm_submitted(body, metadata, runtime_env, error)
                if isinstance(error, JobAlreadyExistsError)
                else None
            )

        return (
            yield from self._retrying(
                f"Submitting {submission_id}", lambda: _calls.submit_job(body), ours_already
            )
        )

    def _confirm_submitted(
        self,
        body: JobSubmitRequest,
        metadata: dict[str, str],
        runtime_env: dict[str, Any],
        error: JobsClientError,
    ) -> Flow[str]:
        submission_id = str(body.submission_id)
        existing = yield from do(_calls.get_job_info(submission_id))
        if (existing.entrypoint, existing.metadata, existing.runtime_env) != (
            body.entrypoint,
            metadata,
            runtime_env,
        ):
            raise error
        logger.info("Job %s was created by an earlier attempt of this submit.", submission_id)
        return submission_id

    def _delete_flow(self, job_id: str) -> Flow[bool]:
        """DELETE a job; if a retry finds it gone, the lost earlier attempt deleted it.

        A job that ended a moment ago is deleted only once Ray's job manager has finished with it
        (see :func:`_delete_settle_delay`), so the record stays deleted. Servers older than
        :data:`~ray_jobs_client.releases.DELETE_RACE_SINCE` do not re-create records: no wait there.
        """

        check_job_id(job_id)

        def deleted_already(error: JobsClientError) -> Flow[bool] | None:
            return _immediately(True) if isinstance(error, JobNotFoundError) else None

        version: VersionResponse = yield from self._server_version_flow()
        if release_tuple(version.ray_version)[:2] >= DELETE_RACE_SINCE:
            yield from self._settle_before_delete(job_id)
        return (
            yield from self._retrying(
                f"Deleting {job_id}", lambda: _calls.delete_job(job_id), deleted_already
            )
        )

    def _settle_before_delete(self, job_id: str) -> Flow[None]:
        try:
            details, server_time = yield from do(_calls.get_job_info_dated(job_id))
        except APIStatusError:
            return  # no such job, or a server error: the DELETE itself reports it as Ray's client would
        delay = _delete_settle_delay(details, server_time)
        if delay > 0:
            logger.debug("Job %s ended moments ago; deleting it in %.1f s.", job_id, delay)
            yield from do(Pause(delay))

    def _download_pause(
        self,
        outage: Outage,
        download: LogDownload,
        error: APIConnectionError | ServerError,
        receiving: bool,
        attempt: int,
    ) -> tuple[float, int]:
        """A log download failed: the pause before the next attempt and the new attempt count, or raise.

        Before its body began, the server was unreachable (or a gateway said so): outage patience. After,
        the download was cut: it is resumed within the retry budget, which restarts whenever an
        attempt delivered something new.
        """
        if not receiving:
            return outage.failed(error), attempt  # raises when it is no outage, or patience ran out
        attempt = 1 if download.progressed else attempt + 1
        if (
            attempt > self._settings.retry_policy.max_retries
            or not isinstance(error, APIConnectionError)
            or isinstance(error, PERMANENT_CONNECTION_ERRORS)
        ):
            raise error
        logger.info("GET %s was cut (%s); downloading again, retry %d.", download.path, error, attempt)
        return self._settings.retry_policy.delay(attempt), attempt

    def _job_status_flow(self, outage: Outage, job_id: str) -> Flow[JobStatus]:
        """The job's status for a long-running operation: an outage of the server is ridden out."""
        details: JobDetails = yield from self._through_outage(
            outage, lambda: _calls.get_job_info(job_id), job_id
        )
        return details.status

    def _upload(self, package: Package, upload_progress: ProgressCallback | None) -> Flow[None]:
        """PUT a package, retrying transient failures (the same bytes again: PUT overwrites)."""
        with package.open() as (file, size):
            logger.info("Uploading package %s (%d bytes).", package.uri, size)

            def upload() -> Call[None]:
                file.seek(0)
                progress = _progress_for(package.uri, size, upload_progress)
                return _calls.upload_package(package.protocol, package.package_name, file, progress)

            yield from self._retrying(f"Uploading {package.uri}", upload)

    def _wait_flow(
        self,
        job_id: str,
        timeout: float | None,
        poll: float,
        stop_on_timeout: bool,
        on_poll: Callable[[JobDetails], None] | None,
    ) -> Flow[JobDetails]:
        """Poll the job until it is terminal; give up (optionally stopping it) after ``timeout``.

        An outage of the server is ridden out (see :mod:`ray_jobs_client.outage`) within ``timeout``.
        """
        poll = check_seconds("poll", poll)
        timeout = check_optional_seconds("timeout", timeout)
        check_bool("stop_on_timeout", stop_on_timeout)
        check_callable("on_poll", on_poll)
        check_job_id(job_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        outage = self._outage(f"waiting for job {job_id} to finish")
        details: JobDetails | None = None
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            try:
                details = yield from self._through_outage(
                    outage, lambda: _calls.get_job_info(job_id), job_id, remaining
                )
            except _WaitOver:
                pass
            else:
                if details.status.is_terminal():
                    return details
                if on_poll is not None:
                    on_poll(details)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                last = None if details is None else str(details.status)
                if outage.ongoing:
                    raise JobWaitTimeoutError(
                        f"Job '{job_id}' was last seen {last} and the job server has been unreachable "
                        f"for {outage.elapsed:.0f} s; gave up after {timeout} s"
                        + (" (the stop could not be requested)." if stop_on_timeout else "."),
                        job_id=job_id,
                        last_status=last,
                    )
                if stop_on_timeout:
                    yield from do(_calls.stop_job(job_id))
                raise JobWaitTimeoutError(
                    f"Job '{job_id}' is still {last} after {timeout} s"
                    + (" (a stop was requested)." if stop_on_timeout else "."),
                    job_id=job_id,
                    last_status=last,
                )
            if not outage.ongoing:
                yield from do(Pause(poll if remaining is None else min(poll, remaining)))

    def _outage(self, what: str) -> Outage:
        return Outage(what, self._settings.display_address, self._settings.outage_policy)

    def _through_outage(
        self, outage: Outage, make_call: Callable[[], Call[T]], job_id: str, within: float | None = None
    ) -> Flow[T]:
        """One call of a long-running operation, retried through an outage of the server.

        Gives up as :meth:`Outage.failed` decides, or with :class:`_WaitOver` once ``within``
        seconds have passed. When the server answers after an outage, it must still be the cluster
        the job ran on (else :class:`ClusterRestartedError`).
        """
        until = None if within is None else time.monotonic() + within

        def within_time(pause: float, error: Exception) -> float:
            if until is None:
                return pause
            left = until - time.monotonic()
            if left <= 0:
                raise _WaitOver from error
            return min(pause, left)

        while True:
            try:
                answered: APIStatusError | None = None
                try:
                    result = yield from do(make_call())
                except APIStatusError as exc:
                    vanished = isinstance(exc, JobNotFoundError) and outage.job_seen
                    if is_outage(exc) or not (outage.ongoing or vanished):
                        raise
                    answered = exc  # back with an error, or the job is gone: still the same cluster?
                if outage.ongoing or answered is not None:
                    yield from self._check_same_cluster(job_id, answered)
                    outage.succeeded()
                if answered is None:
                    outage.seen()
                    return result
                if isinstance(answered, JobNotFoundError) and outage.doubt_vanished():
                    yield from do(Pause(within_time(outage.policy.vanished_recheck_pause, answered)))
                    continue
                raise answered
            except JobsClientError as exc:
                # Raises when it is no outage, or patience ran out.
                yield from do(Pause(within_time(outage.failed(exc), exc)))

    def _check_same_cluster(self, job_id: str, failure: APIStatusError | None) -> Flow[None]:
        """After an outage: a server with another ``session_name`` is a restarted cluster."""
        before = self._server_version
        now = yield from do(_calls.get_version())
        old, new = _session(before), _session(now)
        if old and new and old != new:
            raise ClusterRestartedError(
                f"The job server at {self._settings.display_address} came back as a new cluster "
                f"(session {old} is now {new}) while waiting for job {job_id}: the job is gone with the "
                "old cluster" + (f" ({failure.server_message})." if failure is not None else "."),
                job_id=job_id,
                old_session=old,
                new_session=new,
            ) from failure


class _WaitOver(Exception):
    """The caller's own time limit ran out during an outage (not an error of the server)."""


def _session(version: VersionResponse | None) -> str | None:
    if version is None:
        return None
    session = version.session_name
    return session if isinstance(session, str) and session else None


def _delete_settle_delay(details: JobDetails, server_time: float | None) -> float:
    """Seconds to wait before deleting ``details``' job so that Ray does not re-create its record."""
    if not details.status.is_terminal() or details.end_time is None:
        return 0.0  # a running job: the server refuses the delete anyway
    now = time.time()
    if server_time is not None:
        # `Date` counts whole seconds: the server's time is in [date, date + 1). Trust the local
        # clock (finer) only inside that window; outside it the clocks disagree, so take the bound.
        now = min(max(now, server_time), server_time + 1.0)
    age = now - details.end_time / 1000
    # A node clock far ahead of the head's (end_time is the node's) cannot stall a delete: capped.
    return min(max(DELETE_SETTLE_SECONDS - age, 0.0), DELETE_SETTLE_SECONDS)


def _immediately(value: T) -> Flow[T]:
    """A flow that makes no call."""
    return value
    yield  # a generator, so that it can be used with `yield from`


def _progress_for(uri: str, total: int, callback: ProgressCallback | None) -> Callable[[int], None] | None:
    if callback is None:
        return None
    sent = 0

    def advance(chunk: int) -> None:
        nonlocal sent
        sent += chunk
        callback(uri, sent, total)

    return advance
