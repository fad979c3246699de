"""Each job-server operation as a :class:`~ray_jobs_client._core.Call` on the generated endpoints.

This is the only module that touches ``ray_jobs_api``'s endpoint functions and parsed models. Each
operation's method and path come from the generated code (the spec), and each says here whether the
transport may repeat it after a failure: all do but submit, delete and package uploads, which the
client retries itself (see ``_flows.Flows._retrying``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any, TypeVar, cast
from urllib.parse import urlencode

import attrs
from ray_jobs_api.api.jobs import (
    delete_job as _delete_job,
)
from ray_jobs_api.api.jobs import (
    get_job_info as _get_job_info,
)
from ray_jobs_api.api.jobs import (
    get_job_logs as _get_job_logs,
)
from ray_jobs_api.api.jobs import (
    list_jobs as _list_jobs,
)
from ray_jobs_api.api.jobs import (
    stop_job as _stop_job,
)
from ray_jobs_api.api.jobs import (
    submit_job as _submit_job,
)
from ray_jobs_api.api.jobs import (
    tail_job_logs as _tail_job_logs,
)
from ray_jobs_api.api.packages import get_package as _get_package
from ray_jobs_api.api.packages import upload_package as _upload_package
from ray_jobs_api.api.version import get_version as _get_version
from ray_jobs_api.models import (
    JobDeleteResponse,
    JobLogsResponse,
    JobStopResponse,
    JobSubmitRequest,
    JobSubmitResponse,
    VersionResponse,
)
from ray_jobs_api.types import File

from ._core import Call, call
from .errors import NotFoundError
from .ids import check_job_id
from .models import JobDetails, JobStatus, job_details_from_json

T = TypeVar("T")
R = TypeVar("R")


def _then(call: Call[T], convert: Callable[[T], R]) -> Call[R]:
    """``call`` with ``convert`` applied to each of its results."""
    assert not call.reads_headers, "a converter of (parsed, headers) cannot be composed"
    results = {status: _compose(result, convert) for status, result in call.results.items()}
    untyped: Any = call  # evolve keeps the type parameter; the results now give an R
    return cast("Call[R]", attrs.evolve(untyped, results=results))


def _compose(first: Callable[[Any], T], then: Callable[[T], R]) -> Callable[[Any], R]:
    return lambda parsed: then(first(parsed))


def _expect(kind: type[Any]) -> Callable[[Any], Any]:
    """A converter that insists the generated parser produced ``kind`` (else: unexpected body)."""

    def check(parsed: Any) -> Any:
        if not isinstance(parsed, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(parsed).__name__}")
        return parsed

    return check


def get_version() -> Call[VersionResponse]:
    return call(_get_version, {200: _expect(VersionResponse)}, not_found=NotFoundError)


def get_api_version() -> Call[str]:
    """The job server's API version (``"4"`` for Ray 2.60)."""
    return _then(get_version(), lambda version: str(version.version))


def submit_job(body: JobSubmitRequest) -> Call[str]:
    def submission_id(parsed: Any) -> str:
        return str(_expect(JobSubmitResponse)(parsed).submission_id)

    # Retried by the client: a repeat that answers "already exists" may be this submit's own job.
    return call(_submit_job, {200: submission_id}, body=body, not_found=NotFoundError, repeatable=False)


def list_jobs() -> Call[list[JobDetails]]:
    # `as_json`: the generated endpoint hands over the decoded body without building its models,
    # and each job is converted once, into the public model (a cluster may hold many thousands).
    def details(parsed: Any) -> list[JobDetails]:
        if not isinstance(parsed, list):
            raise TypeError(f"expected a list, got {type(parsed).__name__}")
        return [job_details_from_json(item) for item in parsed]

    return call(_list_jobs, {200: details}, as_json=True, not_found=NotFoundError)


def get_job_info(job_id: str) -> Call[JobDetails]:
    check_job_id(job_id)
    return call(
        _get_job_info,
        {200: job_details_from_json},
        as_json=True,
        job_or_submission_id=job_id,
    )


def get_job_status(job_id: str) -> Call[JobStatus]:
    return _then(get_job_info(job_id), lambda details: details.status)


def get_job_info_dated(job_id: str) -> Call[tuple[JobDetails, float | None]]:
    """``get_job_info`` plus the server's clock (its ``Date`` header, epoch seconds; ``None`` if absent)."""
    check_job_id(job_id)

    def dated(parsed: Any, headers: Mapping[str, str]) -> tuple[JobDetails, float | None]:
        return job_details_from_json(parsed), _server_time(headers)

    return attrs.evolve(
        call(_get_job_info, {200: dated}, as_json=True, job_or_submission_id=job_id), reads_headers=True
    )


def _server_time(headers: Mapping[str, str]) -> float | None:
    from email.utils import parsedate_to_datetime  # only deletes need it

    try:
        return parsedate_to_datetime(headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def stop_job(job_id: str) -> Call[bool]:
    check_job_id(job_id)
    return call(
        _stop_job,
        {200: lambda parsed: bool(_expect(JobStopResponse)(parsed).stopped)},
        job_or_submission_id=job_id,
    )


def delete_job(job_id: str) -> Call[bool]:
    check_job_id(job_id)
    # Retried by the client: a repeat that answers "does not exist" may follow this delete's own success.
    return call(
        _delete_job,
        {200: lambda parsed: bool(_expect(JobDeleteResponse)(parsed).deleted)},
        repeatable=False,
        job_or_submission_id=job_id,
    )


def get_job_logs(job_id: str) -> Call[str]:
    check_job_id(job_id)
    return call(
        _get_job_logs,
        {200: lambda parsed: _expect(str)(_expect(JobLogsResponse)(parsed).logs)},
        job_or_submission_id=job_id,
    )


def tail_job_logs_path(job_id: str) -> str:
    """The log WebSocket's path (the id percent-encoded), as the generated endpoint builds it."""
    check_job_id(job_id)
    return str(_tail_job_logs._get_kwargs(job_or_submission_id=job_id)["url"])


def log_file(node_id: str, submission_id: str) -> Call[str]:
    """The job's whole log file from the dashboard's log API, on the node its driver ran on.

    ``GET /api/v0/logs/file`` belongs to the dashboard's state API, not to the job server (so it is
    not in the spec): the fallback for a log the job server cannot read (see
    :class:`~ray_jobs_client.logs.LogFile`). Only ever read as a stream by the download effects,
    which take the request from ``url``; the endpoint named here is never called.
    """
    query = urlencode({"node_id": node_id, "filename": f"job-driver-{submission_id}.log", "lines": -1})
    return Call(
        _get_job_logs,
        {},
        "GET",
        "/api/v0/logs/file",
        {},
        not_found=NotFoundError,
        url=f"/api/v0/logs/file?{query}",
    )


def package_exists(protocol: str, package_name: str) -> Call[bool]:
    """GET on a package: True if it exists (and pins it for a while), False on 404."""
    return call(
        _get_package,
        {200: lambda _: True, 404: lambda _: False},
        not_found=NotFoundError,
        protocol=protocol,
        package_name=package_name,
    )


def upload_package(
    protocol: str, package_name: str, file: IO[bytes], progress: Callable[[int], None] | None = None
) -> Call[None]:
    # Retried by the client (the body is a stream, which the transport cannot send twice).
    return attrs.evolve(
        call(
            _upload_package,
            {200: lambda _: None},
            body=File(payload=file),  # type: ignore[arg-type]  # any binary file
            not_found=NotFoundError,
            repeatable=False,
            protocol=protocol,
            package_name=package_name,
        ),
        upload=file,
        upload_progress=progress,
    )
