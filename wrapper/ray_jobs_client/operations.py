"""Each job-server operation, described once: which generated endpoint, with what, and what its answers mean.

An :class:`Operation` is plain data: the generated ``ray_jobs_api`` endpoint to call (its method and
path come from the spec), its arguments, and for each documented status code the converter that
turns the parsed body into the result. :func:`check_response` applies it, or raises the exception
:func:`error_for_status` chooses — the one place where status codes become exceptions.
:func:`translating_errors` does the same for what httpx raises. Nothing here does I/O: the request
engine (:class:`~ray_jobs_client._async.http.AsyncHTTP` and its sync twin) sends operations.

This is the only module that touches ``ray_jobs_api``'s endpoint functions and parsed models; they
are imported on first use, so that a program pays for the endpoints it calls.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import unquote

import attrs

from .checks import check_job_id
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    CertificateError,
    HostNotFoundError,
    JobAlreadyExistsError,
    JobNotFoundError,
    JobNotTerminalError,
    JobsClientError,
    LogDecodeError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    TLSError,
    UnauthorizedError,
    UnexpectedResponseError,
)
from .models import JobDetails, JobStatus, job_details_from_json
from .retry import RETRIED_AFTER_SEND, permanent_failure, retry_after_seconds

if TYPE_CHECKING:
    import httpx
    from ray_jobs_api.models import VersionResponse

T = TypeVar("T")

__all__ = [
    "Operation",
    "check_response",
    "error_for_status",
    "translating_errors",
]

# Bodies are kept whole in exceptions (Ray does) up to this size, then cut: an HTML page from a
# proxy or a huge traceback should not flood a log line.
_MAX_BODY_IN_MESSAGE = 8192


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


def get_version() -> Operation[VersionResponse]:
    return _operation("version.get_version", {200: _expect("VersionResponse")}, not_found=NotFoundError)


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

UPLOAD_CHUNK = 1024 * 1024


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
        while chunk := self._file.read(UPLOAD_CHUNK):
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
        while chunk := self._file.read(UPLOAD_CHUNK):
            sent += len(chunk)
            if self._progress is not None:
                self._progress(sent)
            yield chunk


def with_body(operation: Operation[Any], payload: object) -> dict[str, Any]:
    """The operation's arguments with ``payload`` (an upload body) as its body."""
    from ray_jobs_api.types import File

    return {**operation.kwargs, "body": File(payload=payload)}  # type: ignore[arg-type]


# --------------------------------------------------------------------------- responses → results


def check_response(operation: Operation[T], response: Any) -> T:
    """Turn a generated ``Response`` into the operation's result, or raise the matching exception."""
    status_code, headers, content = response.status_code, response.headers, response.content
    convert = operation.results.get(status_code)
    if convert is None:
        error = error_for_status(
            status_code,
            _body_text(content),
            method=operation.method,
            path=operation.path,
            not_found=operation.not_found,
            retry_after=retry_after_seconds(headers),
        )
        error.retried_after_send = _retried_after_send.get()
        raise error
    try:
        return convert(response.parsed, headers) if operation.reads_headers else convert(response.parsed)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _unexpected(operation, status_code, content, f"unexpected body ({exc!r})") from exc


def error_for_status(
    status_code: int,
    body: str,
    *,
    method: str,
    path: str,
    not_found: type[NotFoundError] = NotFoundError,
    retry_after: float | None = None,
) -> APIStatusError:
    """The exception for a failed response: a :class:`RuntimeError` subclass, Ray's message format."""
    kind: type[APIStatusError]
    message: str | None = None
    if status_code == 400:
        kind = BadRequestError
    elif status_code == 401:
        kind = UnauthorizedError
        message = (
            f"Authentication required: {body}\n\nToken authentication is enabled on the cluster but no "
            "authentication token was sent. Set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or "
            "RAY_AUTH_TOKEN_PATH, or ~/.ray/auth_token), or pass headers={'Authorization': 'Bearer <token>'}."
        )
    elif status_code == 403:
        kind = PermissionDeniedError
        message = (
            f"Authentication failed: {body}\n\nToken authentication is enabled but the authentication "
            "token is invalid or incorrect."
        )
    elif status_code == 404:
        # A route miss (`404: Not Found`) is not a missing job: keep it generic.
        kind = NotFoundError if body.startswith("404: Not Found") else not_found
    elif status_code == 405:
        kind = MethodNotAllowedError
    elif status_code == 413:
        kind = PayloadTooLargeError
    elif status_code >= 500 and "already exists. Please use a different submission_id" in body:
        kind = JobAlreadyExistsError
    elif status_code >= 500 and "but it is in a non-terminal state" in body:
        kind = JobNotTerminalError
    elif status_code >= 500 and path.endswith("/logs") and "UnicodeDecodeError" in body:
        kind = LogDecodeError  # the log file holds bytes that are not UTF-8: the server cannot read it
    elif status_code >= 500:
        kind = ServerError
    else:
        kind = UnexpectedResponseError
    if message is None and kind is not LogDecodeError and len(body) > _MAX_BODY_IN_MESSAGE:
        message = f"Request failed with status code {status_code}: {_clip(body)}."
    return kind(status_code, body, method=method, path=path, message=message, retry_after=retry_after)


def _unexpected(
    operation: Operation[Any], status_code: int, content: bytes, why: str
) -> UnexpectedResponseError:
    snippet = _clip(_body_text(content), 500)
    return UnexpectedResponseError(
        status_code,
        snippet,
        method=operation.method,
        path=operation.path,
        message=f"{operation.method} {operation.path} answered {status_code} with an {why}: {snippet!r}",
    )


def _body_text(content: bytes) -> str:
    return content.decode("utf-8", errors="replace")


def _clip(text: str, limit: int = _MAX_BODY_IN_MESSAGE) -> str:
    """Shorten a body for a message, keeping its end: a traceback's last line is the useful one."""
    if len(text) <= limit:
        return text
    return f"[{len(text) - limit} characters cut]…{text[-limit:]}"


# --------------------------------------------------------------------------- failures → exceptions

# The last response of this task/thread, so that a body the generated parser chokes on can still be
# shown (the parser runs inside the generated `*_detailed` function), and whether an earlier attempt
# of it may have reached the server (the transport marks it; see `retry.RETRIED_AFTER_SEND`).
_last_response: contextvars.ContextVar[httpx.Response | None] = contextvars.ContextVar(
    "ray_jobs_client_last_response", default=None
)
_retried_after_send: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "ray_jobs_client_retried_after_send", default=False
)


def _refused_upgrade(response: httpx.Response) -> bool:
    return response.status_code != 101 and "upgrade" in response.request.headers


def remember_response(response: httpx.Response) -> None:
    """httpx response hook: note the response for error reporting.

    A refused WebSocket handshake's body (e.g. ``Job x does not exist``) is read here: httpx-ws
    closes that response unread, and the body is what tells a missing job from a proxy's refusal.
    """
    if _refused_upgrade(response):
        response.read()
    _last_response.set(response)
    _retried_after_send.set(bool(response.extensions.get(RETRIED_AFTER_SEND)))


async def aremember_response(response: httpx.Response) -> None:
    """Async twin of :func:`remember_response`."""
    if _refused_upgrade(response):
        await response.aread()
    _last_response.set(response)
    _retried_after_send.set(bool(response.extensions.get(RETRIED_AFTER_SEND)))


def refused_upgrade_body(response: httpx.Response) -> str:
    """The text of a refused WebSocket handshake (read by the response hooks above)."""
    import httpx

    try:
        return _body_text(response.content)
    except httpx.ResponseNotRead:
        return ""


@contextlib.contextmanager
def translating_errors(operation: Operation[Any], base_url: str) -> Iterator[None]:
    """Map httpx and parsing failures inside a generated call to this package's exceptions."""
    import httpx

    _last_response.set(None)
    _retried_after_send.set(False)
    try:
        yield
    except JobsClientError:
        raise
    except httpx.TimeoutException as exc:
        raise APITimeoutError(
            f"{operation.method} {operation.path} timed out ({type(exc).__name__}) talking to {base_url}."
        ) from exc
    except httpx.TransportError as exc:
        raise connection_error(exc, base_url, f"{operation.method} {operation.path}") from exc
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        response = _last_response.get()
        if response is None:
            raise
        raise _unexpected(operation, response.status_code, response.content, "unreadable body") from exc


def connection_error(exc: Exception, base_url: str, what: str) -> APIConnectionError:
    """The exception for a failed connection (``what``: the request, for the message)."""
    failure = permanent_failure(exc)
    if failure == "certificate":
        return CertificateError(
            f"Failed to connect to Ray at address: {base_url}: the server's TLS certificate could not "
            f"be verified ({exc}). Pass verify=<CA bundle file or directory>, or verify=False to skip "
            "the check."
        )
    if failure == "tls":
        return TLSError(
            f"Failed to connect to Ray at address: {base_url}: the TLS handshake failed ({exc}). "
            + (
                "The server does not speak TLS there: is the address http:// rather than https://?"
                if "WRONG_VERSION_NUMBER" in str(exc)
                else "Check the address's scheme, and the client certificate if the server asks for one."
            )
        )
    if failure == "host":
        return HostNotFoundError(
            f"Failed to connect to Ray at address: {base_url}: the host name does not resolve ({exc})."
        )
    return APIConnectionError(f"Failed to connect to Ray at address: {base_url} ({what}: {exc}).")
