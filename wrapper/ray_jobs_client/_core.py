"""The I/O-free heart of both clients.

Every API call is described once as a :class:`Call` (which generated endpoint to invoke, with what
arguments, and how each status code becomes a result or an exception). Multi-step operations
(submit with uploads, waiting, …) are written once as *flows*: generators that ``yield`` calls and
receive their results. :func:`run_flow` drives a flow with blocking I/O and :func:`arun_flow` with
``await``; nothing else differs between :class:`~ray_jobs_client.JobSubmissionClient` and
:class:`~ray_jobs_client.AsyncJobSubmissionClient`.

The protocol: a flow yields a :class:`Call` and is sent its result (or has its exception thrown in),
yields a :class:`Pause` and is sent ``None`` after the pause, and returns its result. A *stream flow*
(an operation with many results, such as ``as_completed``) also yields :class:`Emit`: the value goes
to the caller of :func:`iter_flow` / :func:`aiter_flow`, and the flow is resumed with ``None`` only
when the caller asks for the next value.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import IO, Any, Generic, Protocol, TypeVar

import attrs
import httpx

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
from .transport import call_deadline, permanent_failure, retry_after_seconds

T = TypeVar("T")
R = TypeVar("R")

#: A multi-step operation: yields calls (or pauses), receives their results, returns its result.
Flow = Generator["Call[Any] | Pause", Any, T]

#: An operation with many results (``as_completed``): yields calls and pauses as a flow does, and
#: :class:`Emit` for each result, handed to the caller as soon as it is known; it ends by returning.
StreamFlow = Generator["Call[Any] | Pause | Emit[T]", Any, None]

# Bodies are kept whole in exceptions (Ray does) up to this size, then cut: an HTML page from a
# proxy or a huge traceback should not flood a log line.
_MAX_BODY_IN_MESSAGE = 8192


class Endpoint(Protocol):
    """A generated endpoint module (``ray_jobs_api.api.<tag>.<operation>``)."""

    def sync_detailed(self, *args: Any, **kwargs: Any) -> Any: ...

    async def asyncio_detailed(self, *args: Any, **kwargs: Any) -> Any: ...


@attrs.frozen
class Call(Generic[T]):
    """One HTTP exchange through a generated ``*_detailed`` endpoint."""

    endpoint: Endpoint
    kwargs: Mapping[str, Any]
    method: str
    path: str
    #: status code → converter from the generated ``parsed`` value to the call's result (called as
    #: ``convert(parsed, headers)`` when ``reads_headers`` is set).
    results: Mapping[int, Callable[..., T]]
    #: the class raised for a 404 (a job route's 404 means "no such job").
    not_found: type[NotFoundError] = JobNotFoundError
    #: a local file streamed as the body (uploads); the driver adapts it to sync or async I/O.
    upload: IO[bytes] | None = None
    upload_progress: Callable[[int], None] | None = None
    reads_headers: bool = False
    #: when set (``time.monotonic``), the exchange and the transport's retries end by then: flows that
    #: retry a call themselves keep all their attempts within one deadline.
    deadline: float | None = None


@attrs.frozen
class Pause:
    """Yielded by a flow to wait before its next call (``time.sleep`` or ``asyncio.sleep``)."""

    seconds: float


@attrs.frozen
class Emit(Generic[T]):
    """Yielded by a :data:`StreamFlow`: one result for the caller. The flow resumes (receiving
    ``None``) only when the caller asks for the next result."""

    value: T


# --------------------------------------------------------------------------- responses → results


def check_response(
    call: Call[T], status_code: int, parsed: Any, content: bytes, headers: Mapping[str, str] | None = None
) -> T:
    """Turn a generated ``Response`` into the call's result, or raise the matching exception."""
    convert = call.results.get(status_code)
    if convert is None:
        raise error_for_status(
            status_code,
            _body_text(content),
            method=call.method,
            path=call.path,
            not_found=call.not_found,
            retry_after=retry_after_seconds(headers or {}),
        )
    try:
        return convert(parsed, headers or {}) if call.reads_headers else convert(parsed)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _unexpected(call, status_code, content, f"unexpected body ({exc!r})") from exc


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


def _unexpected(call: Call[Any], status_code: int, content: bytes, why: str) -> UnexpectedResponseError:
    snippet = _clip(_body_text(content), 500)
    return UnexpectedResponseError(
        status_code,
        snippet,
        method=call.method,
        path=call.path,
        message=f"{call.method} {call.path} answered {status_code} with an {why}: {snippet!r}",
    )


def _body_text(content: bytes) -> str:
    return content.decode("utf-8", errors="replace")


def _clip(text: str, limit: int = _MAX_BODY_IN_MESSAGE) -> str:
    """Shorten a body for a message, keeping its end: a traceback's last line is the useful one."""
    if len(text) <= limit:
        return text
    return f"[{len(text) - limit} characters cut]…{text[-limit:]}"


# --------------------------------------------------------------------------- transport errors

# The last response each task/thread received, so that a body the generated parser chokes on can
# still be shown in the exception (the parser runs inside the generated `*_detailed` function).
_last_response: contextvars.ContextVar[httpx.Response | None] = contextvars.ContextVar(
    "ray_jobs_client_last_response", default=None
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


def refused_upgrade_body(response: httpx.Response) -> str:
    """The text of a refused WebSocket handshake (read by the response hooks above)."""
    try:
        return _body_text(response.content)
    except httpx.ResponseNotRead:
        return ""


async def aremember_response(response: httpx.Response) -> None:
    """Async twin of :func:`remember_response`."""
    if _refused_upgrade(response):
        await response.aread()
    _last_response.set(response)


@contextlib.contextmanager
def translating_errors(call: Call[Any], base_url: str) -> Iterator[None]:
    """Map httpx and parsing failures inside a generated call to this package's exceptions."""
    _last_response.set(None)
    try:
        yield
    except JobsClientError:
        raise
    except httpx.TimeoutException as exc:
        raise APITimeoutError(
            f"{call.method} {call.path} timed out ({type(exc).__name__}) talking to {base_url}."
        ) from exc
    except httpx.TransportError as exc:
        failure = permanent_failure(exc)
        if failure == "certificate":
            raise CertificateError(
                f"Failed to connect to Ray at address: {base_url}: the server's TLS certificate could not "
                f"be verified ({exc}). Pass verify=<CA bundle file or directory>, or verify=False to skip "
                "the check."
            ) from exc
        if failure == "tls":
            raise TLSError(
                f"Failed to connect to Ray at address: {base_url}: the TLS handshake failed ({exc}). "
                + (
                    "The server does not speak TLS there: is the address http:// rather than https://?"
                    if "WRONG_VERSION_NUMBER" in str(exc)
                    else "Check the address's scheme, and the client certificate if the server asks for one."
                )
            ) from exc
        if failure == "host":
            raise HostNotFoundError(
                f"Failed to connect to Ray at address: {base_url}: the host name does not resolve ({exc})."
            ) from exc
        raise APIConnectionError(
            f"Failed to connect to Ray at address: {base_url} ({call.method} {call.path}: {exc})."
        ) from exc
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        response = _last_response.get()
        if response is None:
            raise
        raise _unexpected(call, response.status_code, response.content, "unreadable body") from exc


# --------------------------------------------------------------------------- upload bodies

UPLOAD_CHUNK = 1024 * 1024


class _ProgressReader:
    """A file wrapper for sync uploads: httpx reads it in chunks and learns its length (so the
    request has a Content-Length), and every chunk read is reported to ``progress``."""

    def __init__(self, file: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self._file = file
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        if chunk and self._progress is not None:
            self._progress(len(chunk))
        return chunk

    def fileno(self) -> int:
        return self._file.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(UPLOAD_CHUNK):
            yield chunk


async def _async_chunks(file: IO[bytes], progress: Callable[[int], None] | None) -> AsyncIterator[bytes]:
    while chunk := file.read(UPLOAD_CHUNK):
        if progress is not None:
            progress(len(chunk))
        yield chunk


def _with_body(call: Call[Any], payload: object) -> dict[str, Any]:
    from ray_jobs_api.types import File

    return {**call.kwargs, "body": File(payload=payload)}  # type: ignore[arg-type]


# --------------------------------------------------------------------------- drivers


def send(call: Call[T], api: Any, base_url: str) -> T:
    """Perform one call with blocking I/O."""
    kwargs: Mapping[str, Any] = call.kwargs
    if call.upload is not None:
        kwargs = _with_body(call, _ProgressReader(call.upload, call.upload_progress))
    with call_deadline(call.deadline), translating_errors(call, base_url):
        response = call.endpoint.sync_detailed(client=api, **kwargs)
    return check_response(call, response.status_code, response.parsed, response.content, response.headers)


async def asend(call: Call[T], api: Any, base_url: str) -> T:
    """Perform one call with ``await``."""
    kwargs: Mapping[str, Any] = call.kwargs
    if call.upload is not None:
        kwargs = _with_body(call, _async_chunks(call.upload, call.upload_progress))
    with call_deadline(call.deadline), translating_errors(call, base_url):
        response = await call.endpoint.asyncio_detailed(client=api, **kwargs)
    return check_response(call, response.status_code, response.parsed, response.content, response.headers)


def run_flow(flow: Flow[R], perform: Callable[[Call[Any]], Any]) -> R:
    """Drive a flow with a blocking ``perform``; a failed call is thrown into the flow."""
    try:
        call = next(flow)
        while True:
            if isinstance(call, Pause):
                time.sleep(call.seconds)
                call = flow.send(None)
                continue
            try:
                result = perform(call)
            except JobsClientError as exc:
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def arun_flow(flow: Flow[R], perform: Callable[[Call[Any]], Awaitable[Any]]) -> R:
    """Drive a flow with an awaitable ``perform``; a failed call is thrown into the flow."""
    import asyncio  # here, not at the top: sync-only programs never need it

    try:
        call = next(flow)
        while True:
            if isinstance(call, Pause):
                await asyncio.sleep(call.seconds)
                call = flow.send(None)
                continue
            try:
                result = await perform(call)
            except JobsClientError as exc:
                call = flow.throw(exc)
            else:
                call = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def iter_flow(flow: StreamFlow[T], perform: Callable[[Call[Any]], Any]) -> Iterator[T]:
    """Drive a stream flow with a blocking ``perform``, yielding each value it emits.

    Leaving the loop early closes the flow (no call is made after the caller stopped asking).
    """
    with contextlib.closing(flow):
        step = next(flow, None)
        while step is not None:
            if isinstance(step, Emit):
                yield step.value
                step = _resume(flow, None)
            elif isinstance(step, Pause):
                time.sleep(step.seconds)
                step = _resume(flow, None)
            else:
                try:
                    result = perform(step)
                except JobsClientError as exc:
                    step = _resume(flow, exc)
                else:
                    step = _resume(flow, result)


async def aiter_flow(flow: StreamFlow[T], perform: Callable[[Call[Any]], Awaitable[Any]]) -> AsyncIterator[T]:
    """Drive a stream flow with an awaitable ``perform``, yielding each value it emits."""
    import asyncio

    with contextlib.closing(flow):
        step = next(flow, None)
        while step is not None:
            if isinstance(step, Emit):
                yield step.value
                step = _resume(flow, None)
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                step = _resume(flow, None)
            else:
                try:
                    result = await perform(step)
                except JobsClientError as exc:
                    step = _resume(flow, exc)
                else:
                    step = _resume(flow, result)


def _resume(flow: StreamFlow[Any], answer: object) -> Call[Any] | Pause | Emit[Any] | None:
    """The flow's next step after ``answer`` (thrown into it if it is an error); ``None`` once it ended."""
    try:
        if isinstance(answer, JobsClientError):
            return flow.throw(answer)
        return flow.send(answer)
    except StopIteration:
        return None
