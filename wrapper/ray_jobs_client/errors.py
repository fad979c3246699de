"""One exception tree for everything this package raises.

Every class is also an instance of the builtin that Ray's ``JobSubmissionClient``
raises in the same situation, so code written against Ray keeps working:

* HTTP failures are :class:`RuntimeError` (``APIStatusError`` and subclasses);
* connection failures and timeouts are :class:`ConnectionError`;
* bad arguments are :class:`ValueError` / :class:`TypeError`.

``str()`` of an :class:`APIStatusError` keeps Ray's wording
(``Request failed with status code 404: Job x does not exist.``) so that log
scrapers and ``pytest.raises(match=...)`` written for Ray still match.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "PERMANENT_CONNECTION_ERRORS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AddressModuleError",
    "AuthenticationError",
    "BadRequestError",
    "CertificateError",
    "ClientClosedError",
    "ClusterRestartedError",
    "EventLoopError",
    "HostNotFoundError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "JobAlreadyExistsError",
    "JobNotFoundError",
    "JobNotTerminalError",
    "JobWaitTimeoutError",
    "JobsClientError",
    "LogDecodeError",
    "LogStreamError",
    "MethodNotAllowedError",
    "MissingTokenError",
    "NotFoundError",
    "PackageTooLargeError",
    "PackagingError",
    "PackagingTypeError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RequestTypeError",
    "RuntimeEnvError",
    "RuntimeEnvTypeError",
    "ServerError",
    "ServerUnreachableError",
    "TLSError",
    "UnauthorizedError",
    "UnexpectedResponseError",
    "UnsupportedServerError",
]


class JobsClientError(Exception):
    """Base class of every exception raised by ``ray_jobs_client``."""


# --------------------------------------------------------------------------- HTTP status


class APIStatusError(JobsClientError, RuntimeError):
    """The server answered with a status code that means failure.

    ``status_code``, ``method``, ``path`` and ``body`` (the server's text,
    e.g. a traceback whose last line is the useful message) are kept so callers
    can branch without parsing the message.
    """

    def __init__(
        self,
        status_code: int,
        body: str,
        *,
        method: str = "",
        path: str = "",
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.method = method
        self.path = path
        #: Seconds the server asked to wait before retrying (its ``Retry-After`` header), if any.
        self.retry_after = retry_after
        super().__init__(message or f"Request failed with status code {status_code}: {body}.")

    @property
    def server_message(self) -> str:
        """The last non-empty line of the server's body (the exception line of a traceback).

        Ray before 2.45 wraps some failures as JSON, ``{"result": false, "msg": "<traceback>"}``:
        the line is then taken from ``msg``.
        """
        body = _dashboard_failure_message(self.body)
        lines = [line for line in body.strip().splitlines() if line.strip() not in ("", ".")]
        return lines[-1].strip() if lines else ""


def _dashboard_failure_message(body: str) -> str:
    """``msg`` of an old dashboard's JSON failure body, else the body itself."""
    if not body.startswith('{"result": false'):
        return body
    import json

    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    message = parsed.get("msg") if isinstance(parsed, dict) else None
    return message if isinstance(message, str) else body


class BadRequestError(APIStatusError):
    """400: the server rejected the request's shape (unknown field, wrong type...)."""


class RequestTypeError(BadRequestError, TypeError):
    """A ``submit_job`` argument has a type the server rejects (it would answer 400).

    Raised before anything is sent, with the server's own message; a :class:`TypeError` as in Ray's
    client, and a :class:`BadRequestError` for code that handles the server's 400.
    """

    def __init__(self, message: str) -> None:
        super().__init__(400, message, method="POST", path="/api/jobs/", message=message)


class AuthenticationError(JobsClientError, RuntimeError):
    """Token authentication failed: no token found locally, or the server refused the one sent."""


class MissingTokenError(AuthenticationError):
    """``RAY_AUTH_MODE=token`` is set but no token was found (``RAY_AUTH_TOKEN``,
    ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``)."""


class UnauthorizedError(APIStatusError, AuthenticationError):
    """401: the server requires a token and none was sent."""


class PermissionDeniedError(APIStatusError, AuthenticationError):
    """403: the token sent was rejected."""


class NotFoundError(APIStatusError):
    """404: the route or resource does not exist."""


class JobNotFoundError(NotFoundError):
    """404 on a job route: no job has that submission id or Ray job id."""


class MethodNotAllowedError(APIStatusError):
    """405: wrong method, or a request the server classified as browser traffic."""


class PayloadTooLargeError(APIStatusError):
    """The server refused a request body as too large, or would: ``limit`` is its limit in bytes.

    The job server itself takes bodies up to 100 MiB (413 beyond; a 500 before Ray 2.45), but it
    hands every submission to its job agent, which takes at most 1 MiB and whose refusal the job
    server reports as a 500. A submission that is surely over that limit is refused before anything
    is sent (``status_code`` 413, ``body`` empty); one the agent refuses keeps the server's status
    and body. A :class:`RuntimeError`, as Ray's client raises for the server's answer.
    """

    def __init__(
        self,
        status_code: int,
        body: str,
        *,
        method: str = "",
        path: str = "",
        message: str | None = None,
        retry_after: float | None = None,
        limit: int | None = None,
    ) -> None:
        #: The limit in bytes that the body exceeded (None if the server did not say and it is unknown).
        self.limit = limit
        super().__init__(
            status_code, body, method=method, path=path, message=message, retry_after=retry_after
        )


class ServerError(APIStatusError):
    """5xx not covered by a more specific class."""


class JobAlreadyExistsError(ServerError):
    """Submit with a submission_id that is already taken (the server answers 500)."""


class JobNotTerminalError(ServerError):
    """Delete of a job that is still PENDING or RUNNING (the server answers 500)."""


class LogDecodeError(ServerError):
    """``GET …/logs`` answered 500 because the job's log holds bytes that are not UTF-8, and the log
    file could not be read through the dashboard's log API instead (the reason is ``__cause__``).

    The server reads the whole log as UTF-8 text, so a single other byte (binary output, another
    encoding) makes it fail to send any of it, and its log WebSocket stops at that point. The job
    itself is not affected. The clients then read the log file through the dashboard's log API
    (``/api/v0/logs/file``), the bad bytes shown as U+FFFD; this is raised only when that fails too
    (a gateway that passes only the job routes, a node that is gone). Following a job
    (``follow_job_logs``, ``tail_job_logs``) does not raise it: it delivers what the stream sent,
    warns, and ends when the job does.
    """

    def __init__(
        self,
        status_code: int,
        body: str,
        *,
        method: str = "",
        path: str = "",
        message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        #: The job whose log cannot be sent (taken from ``path``).
        self.job_id = path.removeprefix("/api/jobs/").removesuffix("/logs")
        self.body = body  # read by `server_message`, for the message
        if message is None:
            message = (
                f"Request failed with status code {status_code}: the log of job {self.job_id} holds bytes "
                f"that are not UTF-8, so the server cannot send it ({self.server_message})."
            )
        super().__init__(
            status_code, body, method=method, path=path, message=message, retry_after=retry_after
        )


class UnexpectedResponseError(APIStatusError):
    """A response this client cannot interpret: an unknown status code, or a body
    that is not the documented JSON (an HTML page from a proxy, a truncated body...)."""


# --------------------------------------------------------------------------- transport


class APIConnectionError(JobsClientError, ConnectionError):
    """The server could not be reached, or the connection broke mid-request."""


class APITimeoutError(APIConnectionError, TimeoutError):
    """A request did not complete within its timeout."""


class TLSError(APIConnectionError):
    """The TLS handshake failed: ``https://`` to a server that does not speak TLS, a client
    certificate that is missing or refused, no protocol or cipher in common. Never retried."""


class CertificateError(TLSError):
    """The server's TLS certificate could not be verified (pass ``verify=<CA file or dir>``).

    Never retried: trying again cannot make the certificate trusted."""


class HostNotFoundError(APIConnectionError):
    """The address's host name does not exist (DNS says so). Never retried; a resolver that fails
    only for a while (``Temporary failure in name resolution``) is an :class:`APIConnectionError`."""


class ServerUnreachableError(APIConnectionError):
    """A long-running operation (following a log, waiting for a job) gave up: the job server stayed
    unreachable for longer than the client's ``outage_patience``.

    ``unreachable_for`` is how long, in seconds; ``what`` what was being waited for."""

    def __init__(self, message: str, *, unreachable_for: float, what: str) -> None:
        self.unreachable_for = unreachable_for
        self.what = what
        super().__init__(message)


#: Connection failures that no retry can cure.
PERMANENT_CONNECTION_ERRORS = (TLSError, HostNotFoundError)


class ClientClosedError(JobsClientError, RuntimeError):
    """The client was used after :meth:`close` / :meth:`aclose` (or after its ``with`` block)."""


class ClusterRestartedError(JobsClientError, RuntimeError):
    """The job server came back from an outage as a different cluster (a new ``session_name``): the
    job being waited for is gone with the old one. ``old_session`` and ``new_session`` name both."""

    def __init__(self, message: str, *, job_id: str, old_session: str, new_session: str) -> None:
        self.job_id = job_id
        self.old_session = old_session
        self.new_session = new_session
        super().__init__(message)


class EventLoopError(JobsClientError, RuntimeError):
    """An async client was used from an event loop other than its own while that one still runs
    (or, with ``http_client=``, after it): create one client per event loop."""


# --------------------------------------------------------------------------- other


class UnsupportedServerError(JobsClientError, RuntimeError):
    """The cluster's Ray version is too old for the requested feature (raised before anything is sent).

    ``feature`` names it (e.g. ``"`entrypoint_memory` kwarg"``), ``required_version`` is the first
    Ray release that has it and ``server_version`` the cluster's; each is ``None`` when the server is
    not a job server at all.
    """

    def __init__(
        self,
        message: str,
        *,
        feature: str | None = None,
        required_version: str | None = None,
        server_version: str | None = None,
    ) -> None:
        self.feature = feature
        self.required_version = required_version
        self.server_version = server_version
        super().__init__(message)


class LogStreamError(JobsClientError, RuntimeError):
    """The log stream ended abnormally and could not be resumed."""


class JobWaitTimeoutError(JobsClientError, TimeoutError):
    """``wait_until_finished`` or ``as_completed`` gave up before the job(s) reached a terminal status.

    ``unfinished`` maps every job still unfinished to the status it was last seen in (``None`` if it
    was never seen); ``job_id`` and ``last_status`` are its first entry (the only one for a single job).
    """

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        last_status: str | None,
        unfinished: Mapping[str, str | None] | None = None,
    ) -> None:
        self.job_id = job_id
        self.last_status = last_status
        self.unfinished: dict[str, str | None] = (
            {job_id: last_status} if unfinished is None else dict(unfinished)
        )
        super().__init__(message)


class InvalidArgumentError(JobsClientError, ValueError):
    """An argument (of a constructor, a method or a policy) has a value that cannot work; raised
    before anything is sent. ``parameter`` names the argument (e.g. ``"headers"``, ``"timeout"``)."""

    def __init__(self, message: str, *, parameter: str) -> None:
        self.parameter = parameter
        super().__init__(message)


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument has the wrong type (a :class:`TypeError`, as Ray's client raises there)."""


class AddressModuleError(InvalidArgumentError, RuntimeError):
    """The address is ``<module>://…`` (any scheme but http and https) and that module cannot resolve
    it: it is not installed, or has no ``get_job_submission_client_cluster_info``. A
    :class:`RuntimeError`, as Ray's client raises there."""


class PackagingError(JobsClientError, ValueError):
    """A local ``working_dir`` / ``py_modules`` entry cannot be packaged."""


class PackageTooLargeError(PackagingError):
    """A package would exceed the server's 100 MiB upload limit."""


class PackagingTypeError(PackagingError, TypeError):
    """A ``working_dir`` / ``py_modules`` / ``excludes`` value has the wrong type
    (Ray's client raises :class:`TypeError` there)."""


class RuntimeEnvError(JobsClientError, ValueError):
    """A ``runtime_env`` value is invalid (Ray's client raises :class:`ValueError` there)."""


class RuntimeEnvTypeError(RuntimeEnvError, TypeError):
    """A ``runtime_env`` value has the wrong type (Ray's client raises :class:`TypeError` there)."""
