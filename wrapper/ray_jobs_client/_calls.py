"""Each job-server operation as a :class:`~ray_jobs_client._core.Call` on the generated endpoints.

This is the only module that touches ``ray_jobs_api``'s endpoint functions and parsed models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

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
from ray_jobs_api.models import JobDetails as ApiJobDetails

from ._core import Call
from .errors import NotFoundError
from .ids import check_job_id
from .models import JobDetails, job_details_from_api, job_details_from_json


def _expect(kind: type[Any]) -> Callable[[Any], Any]:
    """A converter that insists the generated parser produced ``kind`` (else: unexpected body)."""

    def check(parsed: Any) -> Any:
        if not isinstance(parsed, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(parsed).__name__}")
        return parsed

    return check


def get_version() -> Call[VersionResponse]:
    return Call(
        _get_version, {}, "GET", "/api/version", {200: _expect(VersionResponse)}, not_found=NotFoundError
    )


def submit_job(body: JobSubmitRequest) -> Call[str]:
    def submission_id(parsed: Any) -> str:
        return str(_expect(JobSubmitResponse)(parsed).submission_id)

    return Call(
        _submit_job, {"body": body}, "POST", "/api/jobs/", {200: submission_id}, not_found=NotFoundError
    )


def list_jobs() -> Call[list[JobDetails]]:
    # `as_json`: the generated endpoint hands over the decoded body without building its models,
    # and each job is converted once, into the public model (a cluster may hold many thousands).
    def details(parsed: Any) -> list[JobDetails]:
        if not isinstance(parsed, list):
            raise TypeError(f"expected a list, got {type(parsed).__name__}")
        return [job_details_from_json(item) for item in parsed]

    return Call(_list_jobs, {"as_json": True}, "GET", "/api/jobs/", {200: details}, not_found=NotFoundError)


def get_job_info(job_id: str) -> Call[JobDetails]:
    check_job_id(job_id)
    return Call(
        _get_job_info,
        {"job_or_submission_id": job_id, "as_json": True},
        "GET",
        f"/api/jobs/{job_id}",
        {200: job_details_from_json},
    )


def get_job_info_dated(job_id: str) -> Call[tuple[JobDetails, float | None]]:
    """``get_job_info`` plus the server's clock (its ``Date`` header, epoch seconds; ``None`` if absent)."""
    check_job_id(job_id)

    def dated(parsed: Any, headers: Mapping[str, str]) -> tuple[JobDetails, float | None]:
        return job_details_from_api(_expect(ApiJobDetails)(parsed)), _server_time(headers)

    return Call(
        _get_job_info,
        {"job_or_submission_id": job_id},
        "GET",
        f"/api/jobs/{job_id}",
        {200: dated},
        reads_headers=True,
    )


def _server_time(headers: Mapping[str, str]) -> float | None:
    from email.utils import parsedate_to_datetime  # only deletes need it

    try:
        return parsedate_to_datetime(headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def stop_job(job_id: str) -> Call[bool]:
    check_job_id(job_id)
    return Call(
        _stop_job,
        {"job_or_submission_id": job_id},
        "POST",
        f"/api/jobs/{job_id}/stop",
        {200: lambda parsed: bool(_expect(JobStopResponse)(parsed).stopped)},
    )


def delete_job(job_id: str) -> Call[bool]:
    check_job_id(job_id)
    return Call(
        _delete_job,
        {"job_or_submission_id": job_id},
        "DELETE",
        f"/api/jobs/{job_id}",
        {200: lambda parsed: bool(_expect(JobDeleteResponse)(parsed).deleted)},
    )


def get_job_logs(job_id: str) -> Call[str]:
    check_job_id(job_id)
    return Call(
        _get_job_logs,
        {"job_or_submission_id": job_id},
        "GET",
        f"/api/jobs/{job_id}/logs",
        {200: lambda parsed: _expect(str)(_expect(JobLogsResponse)(parsed).logs)},
    )


def package_exists(protocol: str, package_name: str) -> Call[bool]:
    """GET on a package: True if it exists (and pins it for a while), False on 404."""
    return Call(
        _get_package,
        {"protocol": protocol, "package_name": package_name},
        "GET",
        f"/api/packages/{protocol}/{package_name}",
        {200: lambda _: True, 404: lambda _: False},
        not_found=NotFoundError,
    )


def upload_package(
    protocol: str, package_name: str, file: IO[bytes], progress: Callable[[int], None] | None = None
) -> Call[None]:
    return Call(
        _upload_package,
        {"protocol": protocol, "package_name": package_name},
        "PUT",
        f"/api/packages/{protocol}/{package_name}",
        {200: lambda _: None},
        not_found=NotFoundError,
        upload=file,
        upload_progress=progress,
    )
