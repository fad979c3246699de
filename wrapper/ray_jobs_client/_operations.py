"""Each job-server operation, described once: which generated endpoint, with what, and what its answers mean.

An :class:`Operation` is plain data: the generated ``ray_jobs_api`` endpoint to call (its method and
path come from the spec), its arguments, and for each documented status code the converter that
turns the parsed body into the result (applied by :mod:`ray_jobs_client._responses`). Nothing here
does I/O: the job server's engine (``_async/server.py`` and its sync twin) sends operations.

This is the only module that touches ``ray_jobs_api``'s endpoint functions and parsed models; they
are imported on first use, so that a program pays for the endpoints it calls.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import IO, Any, Generic, TypeVar
from urllib.parse import unquote

import attrs

from .checks import check_job_id
from .defaults import UPLOAD_CHUNK_BYTES
from .errors import (
    JobNotFoundError,
    NotFoundError,
)
from .models import JobDetails, JobStatus, ServerVersion, job_details_from_json, server_version_from_json

T = TypeVar("T")

__all__ = ["AsyncUploadBody", "Operation", "UploadBody", "with_body"]


@attrs.frozen
class Operation(Generic[T]):
    """One HTTP exchange through a generated ``*_detailed`` endpoint (built by the functions below)."""

    #: the generated module, ``ray_jobs_api.api.<tag>.<operation>``.
    endpoint: Any
    kwargs: Mapping[str, Any]
    #: The method and path as the generated endpoint builds them (the path's parameters decoded, as
    #: messages show them) and the path as sent (percent-encoded).
    method: str
    path: str
    url: str
    #: status code → converter of the parsed body (``convert(parsed, headers)`` if ``reads_headers``).
    results: Mapping[int, Callable[..., T]]
    #: the class raised for a 404 (a job route's 404 means "no such job").
    not_found: type[NotFoundError] = JobNotFoundError
    reads_headers: bool = False
    #: a local file sent as the body (package uploads), and a callback told the bytes sent so far
    #: (from 0 again when the transport sends the body again).
    upload: IO[bytes] | None = None
    upload_progress: Callable[[int], None] | None = None


def _operation(
    module: str,
    results: Mapping[int, Callable[..., T]],
    *,
    body: Any = None,
    as_json: bool = False,
    not_found: type[NotFoundError] = JobNotFoundError,
    **params: Any,
) -> Operation[T]:
    """An operation of the generated endpoint ``ray_jobs_api.api.<module>``, its method and path
    taken from the generated code. ``as_json``: the converters receive the decoded JSON body rather
    than the generated models (job records are converted once, into the public model)."""
    endpoint = importlib.import_module(f"ray_jobs_api.api.{module}")
    kwargs = params if body is None else {**params, "body": body}
    request = endpoint._get_kwargs(**kwargs)
    return Operation(
        endpoint,
        {**kwargs, "as_json": True} if as_json else kwargs,
        request["method"].upper(),
        unquote(request["url"]),
        request["url"],
        results,
        not_found=not_found,
    )


def _expect(kind_name: str) -> Callable[[Any], Any]:
    """A converter insisting that the generated parser produced the model ``kind_name``."""

    def check(parsed: Any) -> Any:
        if type(parsed).__name__ != kind_name:
            raise TypeError(f"expected {kind_name}, got {type(parsed).__name__}")
        return parsed

    return check


# --------------------------------------------------------------------------- the operations


def get_version() -> Operation[ServerVersion]:
    """``/api/version``, read tolerantly (see :class:`~ray_jobs_client.models.ServerVersion`)."""
    return _operation(
        "version.get_version", {200: server_version_from_json}, as_json=True, not_found=NotFoundError
    )


def submit_job(body: Any) -> Operation[str]:
    """POST a job (``body``: the generated ``JobSubmitRequest``); the result is its submission id."""

    def submission_id(parsed: Any) -> str:
        return str(_expect("JobSubmitResponse")(parsed).submission_id)

    return _operation("jobs.submit_job", {200: submission_id}, body=body, not_found=NotFoundError)


def list_jobs() -> Operation[list[JobDetails]]:
    def details(parsed: Any) -> list[JobDetails]:
        if not isinstance(parsed, list):
            raise TypeError(f"expected a list, got {type(parsed).__name__}")
        return [job_details_from_json(item) for item in parsed]

    return _operation("jobs.list_jobs", {200: details}, as_json=True, not_found=NotFoundError)


def get_job_info(job_id: str) -> Operation[JobDetails]:
    check_job_id(job_id)
    return _operation(
        "jobs.get_job_info", {200: job_details_from_json}, as_json=True, job_or_submission_id=job_id
    )


def get_job_status(job_id: str) -> Operation[JobStatus]:
    check_job_id(job_id)
    return _operation(
        "jobs.get_job_info",
        {200: lambda parsed: job_details_from_json(parsed).status},
        as_json=True,
        job_or_submission_id=job_id,
    )


def get_job_info_dated(job_id: str) -> Operation[tuple[JobDetails, float | None]]:
    """``get_job_info`` plus the server's clock (its ``Date`` header, epoch seconds; ``None`` if absent)."""
    check_job_id(job_id)

    def dated(parsed: Any, headers: Mapping[str, str]) -> tuple[JobDetails, float | None]:
        return job_details_from_json(parsed), server_time(headers)

    return attrs.evolve(
        _operation("jobs.get_job_info", {200: dated}, as_json=True, job_or_submission_id=job_id),
        reads_headers=True,
    )


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock from its ``Date`` header (epoch seconds), or None."""
    from email.utils import parsedate_to_datetime  # only deletes need it

    try:
        return parsedate_to_datetime(headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def stop_job(job_id: str) -> Operation[bool]:
    check_job_id(job_id)
    return _operation(
        "jobs.stop_job",
        {200: lambda parsed: bool(_expect("JobStopResponse")(parsed).stopped)},
        job_or_submission_id=job_id,
    )


def delete_job(job_id: str) -> Operation[bool]:
    check_job_id(job_id)
    return _operation(
        "jobs.delete_job",
        {200: lambda parsed: bool(_expect("JobDeleteResponse")(parsed).deleted)},
        job_or_submission_id=job_id,
    )


def get_job_logs(job_id: str) -> Operation[str]:
    check_job_id(job_id)

    def logs(parsed: Any) -> str:
        text = _expect("JobLogsResponse")(parsed).logs
        if not isinstance(text, str):
            raise TypeError(f"logs: expected a string, got {type(text).__name__}")
        return text

    return _operation("jobs.get_job_logs", {200: logs}, job_or_submission_id=job_id)


def tail_job_logs_path(job_id: str) -> str:
    """The log WebSocket's path (the id percent-encoded), as the generated endpoint builds it."""
    check_job_id(job_id)
    endpoint = importlib.import_module("ray_jobs_api.api.jobs.tail_job_logs")
    return str(endpoint._get_kwargs(job_or_submission_id=job_id)["url"])


def package_exists(protocol: str, package_name: str) -> Operation[bool]:
    """GET on a package: True if it exists (and pins it for a while), False on 404."""
    return _operation(
        "packages.get_package",
        {200: lambda _: True, 404: lambda _: False},
        not_found=NotFoundError,
        protocol=protocol,
        package_name=package_name,
    )


def upload_package(
    protocol: str, package_name: str, file: IO[bytes], progress: Callable[[int], None] | None = None
) -> Operation[None]:
    """PUT a package file. Repeating it is harmless (a PUT overwrites with the same bytes): the body
    is given to the engine, which sends it as a stream that starts again at the file's start."""
    from ray_jobs_api.types import File

    return attrs.evolve(
        _operation(
            "packages.upload_package",
            {200: lambda _: None},
            body=File(payload=io.BytesIO()),  # replaced by the engine's stream of `file`
            not_found=NotFoundError,
            protocol=protocol,
            package_name=package_name,
        ),
        upload=file,
        upload_progress=progress,
    )


# --------------------------------------------------------------------------- upload bodies


class UploadBody:
    """A package file as a sync request body that can be sent more than once: each iteration starts
    at the file's start (so the transport may retry the PUT), and ``progress`` is told the bytes read
    so far. ``fileno`` lets httpx send a ``Content-Length``."""

    def __init__(self, file: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self._file = file
        self._progress = progress

    def fileno(self) -> int:
        return self._file.fileno()

    def __iter__(self) -> Iterator[bytes]:
        self._file.seek(0)
        sent = 0
        while chunk := self._file.read(UPLOAD_CHUNK_BYTES):
            sent += len(chunk)
            if self._progress is not None:
                self._progress(sent)
            yield chunk


class AsyncUploadBody:
    """The async twin of :class:`UploadBody` (the file is local: its reads do not block for long)."""

    def __init__(self, file: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self._file = file
        self._progress = progress

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._file.seek(0)
        sent = 0
        while chunk := self._file.read(UPLOAD_CHUNK_BYTES):
            sent += len(chunk)
            if self._progress is not None:
                self._progress(sent)
            yield chunk


def with_body(operation: Operation[Any], payload: object) -> dict[str, Any]:
    """The operation's arguments with ``payload`` (an upload body) as its body."""
    from ray_jobs_api.types import File

    return {**operation.kwargs, "body": File(payload=payload)}  # type: ignore[arg-type]
