"""Public result types, shaped like Ray's so that code written against Ray keeps working.

``JobStatus`` and ``JobType`` are ``str`` enums (``status == "SUCCEEDED"`` holds, ``str(status)`` is
the bare value); ``JobDetails`` has the same 15 attributes as Ray's pydantic model, plus ``extra``
with any field a newer server sends that this client does not know yet.

:func:`job_details_from_json` builds a ``JobDetails`` straight from the decoded JSON: a list of
thousands of jobs is converted once, without the generated models in between (they cost more than
decoding the JSON itself).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
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

    def is_finished(self) -> bool:
        """True once the job can no longer change: a terminal status, or a status this client does
        not know with an ``end_time`` (the server sets it when a job moves into a terminal state)."""
        if self.status in _STATUSES_KNOWN:
            return self.status in TERMINAL_STATUSES
        return bool(self.end_time)

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


# The members by value: a dict lookup is a faster way to the member ``JobStatus(value)`` returns
# (an unknown value still goes through the enum, which keeps it as a pseudo-member).
_STATUSES: dict[str, JobStatus] = {member.value: member for member in JobStatus}
_TYPES: dict[str, JobType] = {member.value: member for member in JobType}
_KNOWN_FIELDS = frozenset(_DETAIL_FIELDS)
_STATUSES_KNOWN = frozenset(_STATUSES.values())


def job_details_from_json(data: object) -> JobDetails:
    """Build the public model from one job as the server sent it (decoded JSON), in one pass.

    Every documented key must be there with its documented type (``null`` where the spec allows
    it); keys this client does not know go to ``extra``, and a status or type it does not know is
    kept (see :class:`JobStatus`). Anything else raises ``TypeError`` or ``KeyError``, which the
    clients report as :class:`~ray_jobs_client.errors.UnexpectedResponseError`. The dicts of
    ``metadata`` and ``runtime_env`` are taken over, not copied: ``data`` is a fresh decoding.
    """
    if type(data) is not dict:
        raise _wrong("a job", data, "an object")
    # `type(x) is …` rather than isinstance: JSON decodes to exactly these types, and it excludes
    # bool where an integer is expected.
    kind = data["type"]
    if type(kind) is not str:
        raise _wrong("type", kind, "a string")
    status = data["status"]
    if type(status) is not str:
        raise _wrong("status", status, "a string")
    if type(data["entrypoint"]) is not str:
        raise _wrong("entrypoint", data["entrypoint"], "a string")
    for key, expected in _NULLABLE_SCALARS:
        value = data[key]
        if value is not None and type(value) is not expected:
            raise _wrong(key, value, f"{_TYPE_NAMES[expected]} or null")
    metadata = data["metadata"]
    if metadata is not None and (
        type(metadata) is not dict or (metadata and not all(type(v) is str for v in metadata.values()))
    ):
        raise _wrong("metadata", metadata, "an object of strings or null")
    runtime_env = data["runtime_env"]
    if runtime_env is not None and type(runtime_env) is not dict:
        raise _wrong("runtime_env", runtime_env, "an object or null")
    return JobDetails(
        type=_TYPES.get(kind) or JobType(kind),
        status=_STATUSES.get(status) or JobStatus(status),
        driver_info=_driver_info_from_json(data["driver_info"]),
        entrypoint=data["entrypoint"],
        job_id=data["job_id"],
        submission_id=data["submission_id"],
        message=data["message"],
        error_type=data["error_type"],
        start_time=data["start_time"],
        end_time=data["end_time"],
        metadata=metadata,
        runtime_env=runtime_env,
        driver_agent_http_address=data["driver_agent_http_address"],
        driver_node_id=data["driver_node_id"],
        driver_exit_code=data["driver_exit_code"],
        # All 15 keys were found above, so a job of 15 keys has no others (what servers send today).
        extra={} if len(data) == len(_KNOWN_FIELDS) else _unknown_fields(data),
    )


#: The fields that are a string or an integer, or null (checked in a loop: one line each to read).
_NULLABLE_SCALARS: tuple[tuple[str, type], ...] = (
    ("job_id", str),
    ("submission_id", str),
    ("message", str),
    ("error_type", str),
    ("driver_agent_http_address", str),
    ("driver_node_id", str),
    ("start_time", int),
    ("end_time", int),
    ("driver_exit_code", int),
)
_TYPE_NAMES = {str: "a string", int: "an integer"}


def _driver_info_from_json(data: object) -> DriverInfo | None:
    if data is None:
        return None
    if type(data) is not dict:
        raise _wrong("driver_info", data, "an object or null")
    driver_id, address, pid = data["id"], data["node_ip_address"], data["pid"]
    if type(driver_id) is not str or type(address) is not str or type(pid) is not str:
        raise _wrong("driver_info", data, "an object with the strings id, node_ip_address and pid")
    return DriverInfo(id=driver_id, node_ip_address=address, pid=pid)


def _unknown_fields(data: _Dict[str, Any]) -> _Dict[str, Any]:
    return {key: value for key, value in data.items() if key not in _KNOWN_FIELDS}


def _wrong(what: str, value: object, expected: str) -> TypeError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return TypeError(f"{what}: expected {expected}, got {type(value).__name__} {shown}")


def job_details_from_api(api: _ApiJobDetails) -> JobDetails:
    """Convert a generated model into the public one (the same rules as :func:`job_details_from_json`)."""
    return job_details_from_json(api.to_dict())


@attrs.frozen
class ServerVersion:
    """What a job server says of itself (``GET /api/version``), read tolerantly: only
    ``ray_version`` is needed (Ray's own client reads nothing else before going on); every other
    field is ``None`` when a server leaves it out, and anything more is kept in ``extra``."""

    ray_version: str
    #: The Jobs API version (``"4"`` since Ray 2.9).
    version: str | None = None
    ray_commit: str | None = None
    #: The cluster's session: a restarted cluster has a new one (since Ray 2.32).
    session_name: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)


_VERSION_FIELDS = ("version", "ray_commit", "session_name")


def server_version_from_json(data: object) -> ServerVersion:
    """Read ``/api/version``'s JSON; ``TypeError`` when it has no ``ray_version`` string."""
    if type(data) is not dict or type(data.get("ray_version")) is not str:
        raise TypeError(f"expected an object with a ray_version string, got {_shown(data)}")
    known = {name: data[name] for name in _VERSION_FIELDS if type(data.get(name)) is str}
    extra = {key: value for key, value in data.items() if key != "ray_version" and key not in known}
    return ServerVersion(ray_version=data["ray_version"], extra=extra, **known)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
