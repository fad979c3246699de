"""The I/O-free heart of both clients.

Every API call is described once as a :class:`Call` (which generated endpoint to invoke, with what
arguments, and how each status code becomes a result or an exception). Multi-step operations
(submit with uploads, waiting, following a log…) are written once as *flows*: generators that ask
for *effects* — a :class:`Call`, a :class:`Pause`, a value to :class:`Emit`, the log stream's
effects in :mod:`ray_jobs_client._follow` — and receive their results, typed, with
``result = yield from do(effect)``. :func:`iterate_flow` drives a flow with blocking I/O and
:func:`aiterate_flow` with ``await``; nothing else differs between
:class:`~ray_jobs_client.JobSubmissionClient` and :class:`~ray_jobs_client.AsyncJobSubmissionClient`.

One rule for the clients' methods: an operation that is exactly one exchange is a :class:`Call`
given to ``_send``; anything more is a flow given to ``_run``, or iterated when it emits values (log
text, each job's final details for ``as_completed``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import IO, Any, Generic, Protocol, TypeVar
from urllib.parse import unquote

import attrs
import httpx

from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    CertificateError,
    HostNotFoundError,
    InvalidArgumentError,
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
from .transport import call_context, permanent_failure, retry_after_seconds

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")


class Effect(Generic[T]):
    """Something a flow asks its driver to do; the driver sends back a ``T`` or throws an error."""

    __slots__ = ()


#: A multi-step operation: yields effects, receives their results, returns its result.
Flow = Generator[Effect[Any], Any, T]


def do(effect: Effect[T]) -> Flow[T]:
    """Ask the driver for ``effect`` and return its result, typed: ``details = yield from do(call)``."""
    result: T = yield effect
    return result


# Bodies are kept whole in exceptions (Ray does) up to this size, then cut: an HTML page from a
# proxy or a huge traceback should not flood a log line.
_MAX_BODY_IN_MESSAGE = 8192


class Endpoint(Protocol):
    """A generated endpoint module (``ray_jobs_api.api.<tag>.<operation>``)."""

    def _get_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]: ...

    def sync_detailed(self, *args: Any, **kwargs: Any) -> Any: ...

    async def asyncio_detailed(self, *args: Any, **kwargs: Any) -> Any: ...


@attrs.frozen
class Call(Effect[T]):
    """One HTTP exchange through a generated ``*_detailed`` endpoint (build it with :func:`call`)."""

    endpoint: Endpoint
    kwargs: Mapping[str, Any]
    #: The request's method and path as the generated endpoint builds them (the path's parameters
    #: decoded, as messages show them).
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
    #: whether the transport may repeat the request after it may have reached the server (see
    #: :meth:`~ray_jobs_client.transport.RetryPolicy.may_repeat`); False for the operations the
    #: client retries itself.
    repeatable: bool = True
    #: the request's URL path as sent (parameters percent-encoded).
    url: str = ""


def call(
    endpoint: Endpoint,
    results: Mapping[int, Callable[..., T]],
    *,
    body: Any = None,
    as_json: bool = False,
    not_found: type[NotFoundError] = JobNotFoundError,
    repeatable: bool = True,
    **params: Any,
) -> Call[T]:
    """A :class:`Call` of a generated endpoint, its method and path taken from the generated code.

    ``as_json``: the converters receive the decoded JSON body rather than the generated models (for
    the job records, converted once into :class:`~ray_jobs_client.models.JobDetails`).
    """
    kwargs = params if body is None else {**params, "body": body}
    request = endpoint._get_kwargs(**kwargs)
    return Call(
        endpoint,
        {**kwargs, "as_json": True} if as_json else kwargs,
        request["method"].upper(),
        unquote(request["url"]),
        results,
        not_found=not_found,
        repeatable=repeatable,
        url=request["url"],
    )


@attrs.frozen
class Pause(Effect[None]):
    """Wait before the next effect (``time.sleep`` or ``asyncio.sleep``)."""

    seconds: float


@attrs.frozen
class Emit(Effect[None], Generic[V]):
    """Hand ``value`` to whoever iterates the flow (log text from the followers and downloads, each
    job's final details from ``as_completed``). The flow resumes only when the next value is asked
    for, so a caller that stops iterating stops the flow."""

    value: V


class StreamEvent(Exception):
    """How a driver reports what happened to the log stream (see :mod:`ray_jobs_client._follow`):
    thrown into the flow like a failed call."""


#: What a driver throws into a flow instead of raising it.
FLOW_ERRORS = (JobsClientError, StreamEvent)


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
    elif status_code == 413 or (status_code >= 500 and "HTTPRequestEntityTooLarge" in body):
        return _too_large(status_code, body, method=method, path=path, retry_after=retry_after)
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


def _too_large(
    status_code: int, body: str, *, method: str, path: str, retry_after: float | None
) -> PayloadTooLargeError:
    """A body refused as too large: by the job server itself (413, or before Ray 2.45 a 500 with
    aiohttp's exception) or by the job agent it hands submissions to (a 500 wrapping the agent's)."""
    from .releases import AGENT_BODY_LIMIT, SERVER_BODY_LIMIT

    stated = re.search(r"Maximum request body size (\d+) exceeded", body)
    by_agent = status_code != 413 and "Request failed with status code" in body  # wrapped by the server
    limit: int | None
    if stated:
        limit = int(stated.group(1))
    elif status_code == 413:
        limit = None  # a proxy's 413 says nothing of the job server's limit
    else:
        limit = AGENT_BODY_LIMIT if by_agent else SERVER_BODY_LIMIT
    message = None
    if status_code != 413:  # a traceback: say what it means
        message = (
            f"Request failed with status code {status_code}: the job server refused the request body as "
            f"too large: {'its job agent' if by_agent else 'it'} accepts at most {limit} bytes "
            f"({(limit or 0) / 2**20:g} MiB) (aiohttp.web_exceptions.HTTPRequestEntityTooLarge)."
        )
    elif len(body) > _MAX_BODY_IN_MESSAGE:
        message = f"Request failed with status code {status_code}: {_clip(body)}."
    return PayloadTooLargeError(
        status_code, body, method=method, path=path, message=message, retry_after=retry_after, limit=limit
    )


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
        if isinstance(exc, httpx.LocalProtocolError) and str(exc).startswith("Illegal header"):
            # A header added by an http_client's hooks or auth (the client's own are checked when it
            # is made): a mistake in the input, not the network. h11's message quotes the value,
            # which may be a secret, so neither it nor the chain is kept.
            raise InvalidArgumentError(
                f"{call.method} {call.path} could not be sent: a header holds characters HTTP does not "
                "allow (the value is not shown).",
                parameter="headers",
            ) from None
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
    with call_context(deadline=call.deadline, repeatable=call.repeatable), translating_errors(call, base_url):
        response = call.endpoint.sync_detailed(client=api, **kwargs)
    return check_response(call, response.status_code, response.parsed, response.content, response.headers)


async def asend(call: Call[T], api: Any, base_url: str) -> T:
    """Perform one call with ``await``."""
    kwargs: Mapping[str, Any] = call.kwargs
    if call.upload is not None:
        kwargs = _with_body(call, _async_chunks(call.upload, call.upload_progress))
    with call_context(deadline=call.deadline, repeatable=call.repeatable), translating_errors(call, base_url):
        response = await call.endpoint.asyncio_detailed(client=api, **kwargs)
    return check_response(call, response.status_code, response.parsed, response.content, response.headers)


def iterate_flow(flow: Flow[R], perform: Callable[[Effect[Any]], Any]) -> Generator[Any, None, R]:
    """Drive a flow with blocking I/O: yield the values it emits and return its result.

    ``perform`` does every effect other than a pause or an emit; what it raises (see
    :data:`FLOW_ERRORS`) is thrown into the flow, which may handle it.
    """
    try:
        effect = next(flow)
        while True:
            result = None
            try:
                if isinstance(effect, Emit):
                    yield effect.value
                elif isinstance(effect, Pause):
                    time.sleep(effect.seconds)
                else:
                    result = perform(effect)
            except FLOW_ERRORS as exc:
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


def run_flow(flow: Flow[R], perform: Callable[[Any], Any]) -> R:
    """Drive a flow that emits nothing with blocking I/O and return its result."""
    steps = iterate_flow(flow, perform)
    try:
        value = next(steps)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    steps.close()
    raise TypeError(f"this flow emits values ({value!r:.40}…): iterate it with iterate_flow")


async def aiterate_flow(
    flow: Flow[Any], perform: Callable[[Effect[Any]], Awaitable[Any]]
) -> AsyncIterator[Any]:
    """Drive a flow with ``await``: yield the values it emits (see :func:`iterate_flow`)."""
    import asyncio  # here, not at the top: sync-only programs never need it

    try:
        effect = next(flow)
        while True:
            result = None
            try:
                if isinstance(effect, Emit):
                    yield effect.value
                elif isinstance(effect, Pause):
                    await asyncio.sleep(effect.seconds)
                else:
                    result = await perform(effect)
            except FLOW_ERRORS as exc:
                effect = flow.throw(exc)
            else:
                effect = flow.send(result)
    except StopIteration:
        return
    finally:
        flow.close()


async def arun_flow(flow: Flow[R], perform: Callable[[Any], Awaitable[Any]]) -> R:
    """Drive a flow that emits nothing with ``await`` and return its result."""
    kept: list[R] = []
    async for value in aiterate_flow(_keeping_result(flow, kept), perform):
        raise TypeError(f"this flow emits values ({value!r:.40}…): iterate it with aiterate_flow")
    return kept[0]


def _keeping_result(flow: Flow[R], kept: list[R]) -> Flow[None]:
    kept.append((yield from flow))
