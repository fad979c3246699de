"""Public result types, shaped like Ray's so that code written against Ray keeps working.

``JobStatus`` and ``JobType`` are ``str`` enums (``status == "SUCCEEDED"`` holds, ``str(status)`` is
the bare value); ``JobDetails`` has the same 15 attributes as Ray's pydantic model, plus ``extra``
with any field a newer server sends that this client does not know yet.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import attrs
from ray_jobs_api.models.driver_info import DriverInfo as _ApiDriverInfo
from ray_jobs_api.models.job_details import JobDetails as _ApiJobDetails

_Dict = dict  # `JobDetails.dict()` (Ray's API) shadows the builtin inside the class body

__all__ = ["TERMINAL_STATUSES", "DriverInfo", "JobDetails", "JobInfo", "JobStatus", "JobType"]


class _OpenStrEnum(StrEnum):
    """A ``str`` enum that also accepts values it does not know (from a newer server), as
    pseudo-members compared by value, instead of failing to parse the whole response."""

    @classmethod
    def _missing_(cls, value: object) -> _OpenStrEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


class JobStatus(_OpenStrEnum):
    """The status of a job. STOPPED, SUCCEEDED and FAILED are terminal; a status this client does
    not know yet (from a newer Ray) is kept as is and treated as not terminal."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    def is_terminal(self) -> bool:
        """True once the job can no longer change status."""
        return self in TERMINAL_STATUSES


#: The statuses a job never leaves. They are ``str`` enums: ``"FAILED" in TERMINAL_STATUSES`` holds.
TERMINAL_STATUSES = frozenset({JobStatus.STOPPED, JobStatus.SUCCEEDED, JobStatus.FAILED})


class JobType(_OpenStrEnum):
    """SUBMISSION jobs came through the job server; DRIVER jobs are scripts that called ``ray.init()``."""

    SUBMISSION = "SUBMISSION"
    DRIVER = "DRIVER"


@attrs.define(kw_only=True)
class DriverInfo:
    """Where a job's driver process runs. ``pid`` is a string, as the server sends it."""

    id: str
    node_ip_address: str
    pid: str

    def dict(self) -> _Dict[str, Any]:
        """The fields as a dict (Ray's pydantic ``.dict()``)."""
        return attrs.asdict(self)


@attrs.define(kw_only=True)
class JobDetails:
    """Everything the server reports about one job (``GET /api/jobs/{id}``)."""

    type: JobType
    status: JobStatus
    entrypoint: str
    job_id: str | None = None
    submission_id: str | None = None
    driver_info: DriverInfo | None = None
    message: str | None = None
    error_type: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    metadata: dict[str, str] | None = None
    runtime_env: dict[str, Any] | None = None
    driver_agent_http_address: str | None = None
    driver_node_id: str | None = None
    driver_exit_code: int | None = None
    #: Fields sent by a newer server that this client does not model (kept, never dropped).
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def dict(self) -> _Dict[str, Any]:
        """The 15 documented fields as a dict, enums kept (Ray's pydantic ``.dict()``)."""
        out = {name: getattr(self, name) for name in _DETAIL_FIELDS}
        if self.driver_info is not None:
            out["driver_info"] = self.driver_info.dict()
        return out

    def to_json_dict(self) -> _Dict[str, Any]:
        """The job as plain JSON types, unknown fields included (what the server sent)."""
        out = {**self.extra, **self.dict()}
        out["type"] = self.type.value
        out["status"] = self.status.value
        return out


_DETAIL_FIELDS = (
    "type",
    "job_id",
    "submission_id",
    "driver_info",
    "status",
    "entrypoint",
    "message",
    "error_type",
    "start_time",
    "end_time",
    "metadata",
    "runtime_env",
    "driver_agent_http_address",
    "driver_node_id",
    "driver_exit_code",
)


@attrs.define(kw_only=True)
class JobInfo:
    """Ray's stored job record (``ray.job_submission.JobInfo``), for code that builds or type-checks one."""

    status: JobStatus
    entrypoint: str
    message: str | None = None
    error_type: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    metadata: dict[str, str] | None = None
    runtime_env: dict[str, Any] | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] | None = None
    driver_agent_http_address: str | None = None
    driver_node_id: str | None = None
    driver_exit_code: int | None = None


def job_details_from_api(api: _ApiJobDetails) -> JobDetails:
    """Convert the generated model into the public one (the only place that does)."""
    return JobDetails(
        type=JobType(str(api.type_)),
        status=JobStatus(str(api.status)),
        entrypoint=api.entrypoint,
        job_id=api.job_id,
        submission_id=api.submission_id,
        driver_info=_driver_info_from_api(api.driver_info),
        message=api.message,
        error_type=api.error_type,
        start_time=api.start_time,
        end_time=api.end_time,
        metadata=None if api.metadata is None else dict(api.metadata.additional_properties),
        runtime_env=None if api.runtime_env is None else api.runtime_env.to_dict(),
        driver_agent_http_address=api.driver_agent_http_address,
        driver_node_id=api.driver_node_id,
        driver_exit_code=api.driver_exit_code,
        extra=dict(api.additional_properties),
    )


def _driver_info_from_api(api: _ApiDriverInfo | None) -> DriverInfo | None:
    if api is None:
        return None
    return DriverInfo(id=api.id, node_ip_address=api.node_ip_address, pid=api.pid)
