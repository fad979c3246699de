"""From an answer, or a failure, to the operation's result or the exception it means.

:func:`check_response` applies an :class:`~ray_jobs_client._operations.Operation`'s converters, or
raises the exception :func:`error_for_status` chooses — the one place where status codes become
exceptions (Ray's classes and wording). :func:`translating_errors` does the same for what httpx
raises. The response hooks note each answer for the messages, and whether the transport retried it
after an attempt that may have reached the server.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .defaults import MAX_BODY_IN_MESSAGE
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    CertificateError,
    HostNotFoundError,
    JobAlreadyExistsError,
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
from .retry import RETRIED_AFTER_SEND, permanent_failure, retry_after_seconds

if TYPE_CHECKING:
    import httpx

    from ._operations import Operation

T = TypeVar("T")

__all__ = [
    "aremember_response",
    "check_response",
    "connection_error",
    "error_for_status",
    "refused_upgrade_body",
    "remember_response",
    "translating_errors",
]


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
    if message is None and kind is not LogDecodeError and len(body) > MAX_BODY_IN_MESSAGE:
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


def _clip(text: str, limit: int = MAX_BODY_IN_MESSAGE) -> str:
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
