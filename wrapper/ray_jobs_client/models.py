"""Public result types, shaped like Ray's so that code written against Ray keeps working.

``JobStatus`` and ``JobType`` are ``str`` enums (``status == "SUCCEEDED"`` holds, ``str(status)`` is
the bare value); ``JobDetails`` has the same 15 attributes as Ray's pydantic model, plus ``extra``
with any field a newer server sends that this client does not know yet.

:func:`job_details_from_json` builds a ``JobDetails`` straight from the decoded JSON: a list of
thousands of jobs is converted once, without the generated models in between (they cost more than
decoding the JSON itself).

Job records are read tolerantly (be strict in what you send, tolerant in what you read): the
strictness lives in the contract tests and ``make spec-drift``, which hold the server to
``openapi/jobs.yaml``. A record as the spec describes it takes one quick pass; any other goes
through a careful one that reads what can be read without losing anything:

* a documented field that is missing is ``None``;
* a value of another type is converted where nothing is lost — an integer field takes a whole
  number sent as a float (``1.0``) or as text (``"12"``, ``"12.0"``), a string field an integer
  (``6558`` → ``"6558"``) — and is ``None`` where it cannot be (``start_time: "yesterday"``). An
  attribute is always of its declared type or ``None``, so code that computes with it never meets
  a string where the type says integer; what the server sent is kept, and
  :meth:`JobDetails.to_json_dict` gives it back exactly;
* a status or type this client does not know is kept (see :class:`JobStatus`), fields it does not
  know go to ``extra``.

Only a record that is not a job at all — not a JSON object, or without the three fields the spec,
Ray's model and this client's types require (a ``status``, a ``type``, an ``entrypoint``) — is
refused, with :class:`UnreadableJobError`. Every departure from the spec is reported as an
:class:`Oddity`, which the clients log once each (``_reading.JobReader``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal, TypeVar

import attrs
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
    """The status of a job. STOPPED, SUCCEEDED and FAILED are terminal (:meth:`is_terminal`).

    A status this client does not know yet (from a newer Ray) is kept as is. It is not terminal
    here, as in Ray's enum; whether a job in it has ended is :meth:`JobDetails.is_finished`'s call,
    which every wait of this client makes.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    def is_terminal(self) -> bool:
        """True for the statuses a job never leaves: STOPPED, SUCCEEDED, FAILED (as Ray's)."""
        return self in TERMINAL_STATUSES


#: The statuses a job never leaves. They are ``str`` enums: ``"FAILED" in TERMINAL_STATUSES`` holds.
TERMINAL_STATUSES = frozenset({JobStatus.STOPPED, JobStatus.SUCCEEDED, JobStatus.FAILED})
#: The statuses of a job that has not ended.
_UNFINISHED_STATUSES = frozenset({JobStatus.PENDING, JobStatus.RUNNING})


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


class _Absent(enum.Enum):
    NOT_SENT = "not sent"


#: Marks, in ``JobDetails._sent``, a documented field that the server left out.
_NOT_SENT = _Absent.NOT_SENT


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
    # The documented fields not taken exactly as sent (converted, unusable, or _NOT_SENT): what the
    # server sent, for `to_json_dict`. None for a record as the spec describes it.
    _sent: dict[str, Any] | None = attrs.field(default=None, repr=False, alias="_sent")

    def is_finished(self) -> bool:
        """True once the job has ended: what every wait of this client waits for.

        A terminal status (STOPPED, SUCCEEDED, FAILED) has ended and PENDING or RUNNING has not. A
        status this client does not know (from a newer Ray, say ``PREEMPTED``) counts as ended once
        the job has an ``end_time`` — Ray sets it when a job moves into a terminal state — and as
        running until then. ``end_time`` 0, which a running driver job reports, is no end time.
        """
        status = self.status
        if status in TERMINAL_STATUSES:
            return True
        if status in _UNFINISHED_STATUSES:
            return False
        return self.end_time is not None and self.end_time > 0

    def dict(self) -> _Dict[str, Any]:
        """The 15 documented fields as a dict, enums kept (Ray's pydantic ``.dict()``)."""
        out = {name: getattr(self, name) for name in _DETAIL_FIELDS}
        if self.driver_info is not None:
            out["driver_info"] = self.driver_info.dict()
        return out

    def to_json_dict(self) -> _Dict[str, Any]:
        """The job as the server sent it, in plain JSON types: unknown fields included, and a field
        this client converted or could not read given back exactly as it came (one that was not sent
        is left out)."""
        out = {**self.extra, **self.dict()}
        out["type"] = self.type.value
        out["status"] = self.status.value
        if self._sent:
            for key, value in self._sent.items():
                if value is _NOT_SENT:
                    out.pop(key, None)
                else:
                    out[key] = value
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


# --------------------------------------------------------------------------- reading job records


class UnreadableJobError(TypeError):
    """A job record that is not a job: not an object, or without a status, a type or an entrypoint.

    A ``TypeError``, which the clients report as
    :class:`~ray_jobs_client.errors.UnexpectedResponseError` for a single job; a list leaves the
    record out (with a warning) rather than failing for every other job.
    """


@attrs.frozen
class Oddity:
    """One way a job record departs from ``openapi/jobs.yaml``, and what was read instead.

    ``problem`` is ``"missing"`` (the field was not sent: read as ``None``), ``"converted"`` (sent as
    another type and converted without loss), ``"unusable"`` (of a type it cannot be read from: read
    as ``None``), ``"unknown"`` (a status or type this client does not know: kept) or
    ``"unreadable"`` (the whole record: ``field`` is ``"a job"``).
    """

    field: str
    problem: str
    #: The value as sent (None for a missing field; the whole record for an unreadable one).
    sent: object = None
    #: What was read from it (for ``"converted"``).
    read: object = None
    #: What the spec says the field is (``"unusable"``), or why the record is no job (``"unreadable"``).
    detail: str | None = None
    #: The job's id (submission id, else Ray job id), for messages.
    job: str | None = None

    @property
    def kind(self) -> tuple[str, str, str]:
        """What makes two oddities the same, for a reader that reports each once: the field, the
        problem, and the type that was sent — or the value, for an unknown status or type, or the
        record itself (its id, else its text) for an unreadable one."""
        if self.problem == "unknown":
            detail = str(self.sent)
        elif self.problem == "unreadable":
            detail = self.job or repr(self.sent)[:200]
        else:
            detail = type(self.sent).__name__
        return (self.field, self.problem, detail)


_STATUSES: dict[str, JobStatus] = {member.value: member for member in JobStatus}
_TYPES: dict[str, JobType] = {member.value: member for member in JobType}
_KNOWN_FIELDS = frozenset(_DETAIL_FIELDS)
_DRIVER_FIELDS = ("id", "node_ip_address", "pid")


def job_details_from_json(data: object, oddities: list[Oddity] | None = None) -> JobDetails:
    """Build the public model from one job as the server sent it (decoded JSON), tolerantly.

    How a record is read is described in this module's docstring. Each way it departs from the
    spec is appended to ``oddities`` when given. A record that is not a job raises
    :class:`UnreadableJobError` (a ``TypeError``). The dicts of ``metadata`` and ``runtime_env`` are
    taken over, not copied: ``data`` is a fresh decoding.
    """
    if type(data) is not dict:
        raise UnreadableJobError(_wrong("a job", data, "an object"))
    # The quick pass: every documented key there with its documented type (`type(x) is …` rather
    # than isinstance: JSON decodes to exactly these types, and it excludes bool from integers). A
    # status or type this client does not know is kept and noted here (a newer Ray may send it for
    # many jobs). Anything else takes the careful pass below.
    try:
        kind, status, entrypoint = data["type"], data["status"], data["entrypoint"]
        metadata, runtime_env = data["metadata"], data["runtime_env"]
        for key, expected in _NULLABLE_SCALARS:
            value = data[key]
            if value is not None and type(value) is not expected:
                break
        else:
            driver_info = _exact_driver_info(data["driver_info"])
            if (
                type(status) is str
                and status
                and type(kind) is str
                and driver_info is not False
                and type(entrypoint) is str
                and (
                    metadata is None
                    or (
                        type(metadata) is dict
                        and (not metadata or all(type(v) is str for v in metadata.values()))
                    )
                )
                and (runtime_env is None or type(runtime_env) is dict)
            ):
                return JobDetails(
                    type=_TYPES.get(kind) or _unknown(JobType, "type", kind, data, oddities),
                    status=_STATUSES.get(status) or _unknown(JobStatus, "status", status, data, oddities),
                    driver_info=driver_info,
                    entrypoint=entrypoint,
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
                    # All 15 keys were found, so a job of 15 keys has no others (what servers send).
                    extra={} if len(data) == len(_KNOWN_FIELDS) else _unknown_fields(data),
                )
    except KeyError:
        pass
    return _CarefulRead(data, [] if oddities is None else oddities).details()


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


_E = TypeVar("_E", JobStatus, JobType)


def _unknown(enum_type: type[_E], field: str, value: str, data: object, oddities: list[Oddity] | None) -> _E:
    """A status or type this client does not know: kept as a pseudo-member, and noted."""
    if oddities is not None:
        oddities.append(Oddity(field, "unknown", value, job=record_id(data)))
    return enum_type(value)


def _exact_driver_info(data: object) -> DriverInfo | Literal[False] | None:
    """``driver_info`` if it is exactly as documented (null, or the three strings), else False.

    A missing part raises ``KeyError``, which sends the record to the careful pass too.
    """
    if data is None:
        return None
    if type(data) is not dict or len(data) != 3:  # more keys: a newer server's, to keep
        return False
    driver_id, address, pid = data["id"], data["node_ip_address"], data["pid"]
    if type(driver_id) is not str or type(address) is not str or type(pid) is not str:
        return False
    return DriverInfo(id=driver_id, node_ip_address=address, pid=pid)


# --------------------------------------------------------------------------- the careful pass


class _Unusable(enum.Enum):
    UNUSABLE = "unusable"


_UNUSABLE = _Unusable.UNUSABLE

#: An integer as text, with an optional fraction of zeros: "12", "-3", "12.0".
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+(?:\.0*)?", re.ASCII)


def _as_str(value: object) -> str | _Unusable:
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)  # exact, and reversible
    return _UNUSABLE


def _as_int(value: object) -> int | _Unusable:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():  # False for inf and nan
        return int(value)
    if type(value) is str and _INTEGER_TEXT.fullmatch(value):
        return int(value.partition(".")[0])
    return _UNUSABLE


def _as_object(value: object) -> dict[str, Any] | _Unusable:
    return value if type(value) is dict else _UNUSABLE


def _as_metadata(value: object) -> dict[str, str] | _Unusable:
    if type(value) is not dict:
        return _UNUSABLE
    if all(type(v) is str for v in value.values()):
        return value
    converted = {key: _as_str(v) for key, v in value.items()}
    if any(v is _UNUSABLE for v in converted.values()):
        return _UNUSABLE
    return converted  # type: ignore[return-value]  # no _UNUSABLE left


#: field → how it is read, and what the spec says it is (for messages). `type`, `status` and
#: `entrypoint` are required: without them a record is no job.
_READERS: dict[str, tuple[Callable[[object], Any], str]] = {
    "type": (_as_str, "a string"),
    "job_id": (_as_str, "a string"),
    "submission_id": (_as_str, "a string"),
    "status": (_as_str, "a string"),
    "entrypoint": (_as_str, "a string"),
    "message": (_as_str, "a string"),
    "error_type": (_as_str, "a string"),
    "start_time": (_as_int, "an integer"),
    "end_time": (_as_int, "an integer"),
    "metadata": (_as_metadata, "an object of strings"),
    "runtime_env": (_as_object, "an object"),
    "driver_agent_http_address": (_as_str, "a string"),
    "driver_node_id": (_as_str, "a string"),
    "driver_exit_code": (_as_int, "an integer"),
}
_REQUIRED = ("status", "type", "entrypoint")


class _CarefulRead:
    """One record read field by field: what can be read, what was sent, and every oddity."""

    def __init__(self, data: dict[str, Any], oddities: list[Oddity]) -> None:
        self.data = data
        self.oddities = oddities
        self.sent: dict[str, Any] = {}
        self.job = record_id(data)

    def details(self) -> JobDetails:
        fields = {key: self.field(key, *reader) for key, reader in _READERS.items()}
        for key in _REQUIRED:
            if fields[key] is None or (key == "status" and fields[key] == ""):  # "": no status either
                raise UnreadableJobError(
                    f"a job without {key!r}"
                    if key not in self.data
                    else _wrong(
                        f"a job's {key!r}", self.data[key], "a name" if key == "status" else "a string"
                    )
                )
        status = _STATUSES.get(fields["status"])
        if status is None:
            status = JobStatus(fields["status"])
            self.note("status", "unknown", fields["status"])
        kind = _TYPES.get(fields["type"])
        if kind is None:
            kind = JobType(fields["type"])
            self.note("type", "unknown", fields["type"])
        fields.update(status=status, type=kind, driver_info=self.driver_info())
        return JobDetails(**fields, extra=_unknown_fields(self.data), _sent=self.sent or None)

    def note(
        self, field: str, problem: str, sent: object = None, read: object = None, detail: str | None = None
    ) -> None:
        self.oddities.append(Oddity(field, problem, sent, read, detail, self.job))

    def field(self, key: str, read: Callable[[object], Any], expected: str) -> Any:
        if key not in self.data:
            self.sent[key] = _NOT_SENT
            if key not in _REQUIRED:
                self.note(key, "missing")
            return None
        value = self.data[key]
        if value is None:
            return None
        result = read(value)
        if result is value:
            return value
        self.sent[key] = value
        if result is _UNUSABLE:
            if key not in _REQUIRED:  # else the record is no job: an error, not an oddity
                self.note(key, "unusable", value, detail=expected)
            return None
        if type(value) is not float:  # a whole float is an integer to JSON Schema: not off the spec
            self.note(key, "converted", value, result)
        return result

    def driver_info(self) -> DriverInfo | None:
        """``driver_info`` with each part read as a string field; None unless all three can be."""
        if "driver_info" not in self.data:
            self.sent["driver_info"] = _NOT_SENT
            self.note("driver_info", "missing")
            return None
        data = self.data["driver_info"]
        if data is None:
            return None
        if type(data) is not dict:
            self.sent["driver_info"] = data
            self.note("driver_info", "unusable", data, detail="an object")
            return None
        parts: dict[str, str] = {}
        exact = len(data) == len(_DRIVER_FIELDS)  # more keys: a newer server's, kept in what was sent
        for key in _DRIVER_FIELDS:
            where = f"driver_info.{key}"
            if key not in data:
                self.note(where, "missing")
                continue
            value = data[key]
            part = _as_str(value)
            if part is _UNUSABLE:
                self.note(where, "unusable", value, detail="a string")
                continue
            if part is not value:
                self.note(where, "converted", value, part)
                exact = False
            parts[key] = part
        if len(parts) < len(_DRIVER_FIELDS) or not exact:
            self.sent["driver_info"] = data
        if len(parts) < len(_DRIVER_FIELDS):
            return None
        return DriverInfo(**parts)


def record_id(record: object) -> str | None:
    """The id a job record gives itself (its submission id, else its Ray job id), for messages."""
    if type(record) is not dict:
        return None
    found = (record.get("submission_id"), record.get("job_id"))
    return next((str(value) for value in found if type(value) is str or type(value) is int), None)


def _unknown_fields(data: _Dict[str, Any]) -> _Dict[str, Any]:
    return {key: value for key, value in data.items() if key not in _KNOWN_FIELDS}


def _wrong(what: str, value: object, expected: str) -> str:
    return f"{what}: expected {expected}, got {type(value).__name__} {_clip(value)}"


def _clip(value: object, limit: int = 80) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def job_details_from_api(api: _ApiJobDetails) -> JobDetails:
    """Convert a generated model into the public one (the same rules as :func:`job_details_from_json`)."""
    return job_details_from_json(api.to_dict())
