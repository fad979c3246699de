"""Status codes → exception classes (RuntimeError, Ray's message format); constructor argument checks."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from ray_jobs_client import (
    AsyncJobSubmissionClient,
    AuthenticationError,
    JobAlreadyExistsError,
    JobNotFoundError,
    JobNotTerminalError,
    JobSubmissionClient,
)
from ray_jobs_client._core import error_for_status
from ray_jobs_client.errors import (
    APIStatusError,
    BadRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    UnauthorizedError,
    UnexpectedResponseError,
)
from ray_jobs_client.testing import free_port

ALREADY_EXISTS = (
    'Traceback (most recent call last):\n  File "job_head.py", line 1, in submit_job\n'
    "RuntimeError: Request failed with status code 400: Traceback (most recent call last):\n"
    '  File "job_manager.py", line 553, in submit_job\n    raise ValueError(\n'
    "ValueError: Job with submission_id rjc_1 already exists. Please use a different submission_id.\n.\n"
)
NOT_TERMINAL = (
    'Traceback (most recent call last):\n  File "job_head.py", line 1, in delete_job\n'
    "RuntimeError: Request failed with status code 500: Traceback (most recent call last):\n"
    "RuntimeError: Attempted to delete job 'rjc_1', but it is in a non-terminal state RUNNING.\n.\n"
)
GENERIC_500 = "500 Internal Server Error\n\nServer got itself in trouble"

CASES: list[tuple[int, str, type[APIStatusError], tuple[type[BaseException], ...]]] = [
    (400, "Traceback ...\nTypeError: bad field\n", BadRequestError, ()),
    (401, "Unauthorized: Missing authentication token", UnauthorizedError, (AuthenticationError,)),
    (403, "Forbidden: Invalid authentication token", PermissionDeniedError, (AuthenticationError,)),
    (404, "Job rjc_1 does not exist", JobNotFoundError, (NotFoundError,)),
    (405, "405: Method Not Allowed", MethodNotAllowedError, ()),
    (413, "Maximum request body size 104857600 exceeded.", PayloadTooLargeError, ()),
    (500, ALREADY_EXISTS, JobAlreadyExistsError, (ServerError,)),
    (500, NOT_TERMINAL, JobNotTerminalError, (ServerError,)),
    (500, GENERIC_500, ServerError, ()),
    (502, "Bad Gateway", ServerError, ()),
    (418, "teapot", UnexpectedResponseError, ()),
]


def _error(status: int, body: str, **kwargs: Any) -> APIStatusError:
    kwargs.setdefault("not_found", JobNotFoundError)
    return error_for_status(status, body, method="GET", path="/api/jobs/rjc_1", **kwargs)


@pytest.mark.parametrize(
    ("status", "body", "kind", "also"), CASES, ids=[f"{c[0]}-{c[2].__name__}" for c in CASES]
)
def test_status_maps_to_class(
    status: int, body: str, kind: type[APIStatusError], also: tuple[type[BaseException], ...]
) -> None:
    error = _error(status, body)
    assert type(error) is kind
    assert isinstance(error, RuntimeError)
    assert isinstance(error, APIStatusError)
    for base in also:
        assert isinstance(error, base)
    assert error.status_code == status
    assert error.body == body
    assert error.method == "GET"
    assert error.path == "/api/jobs/rjc_1"


@pytest.mark.parametrize(
    ("status", "body"),
    [(c[0], c[1]) for c in CASES if c[0] not in (401, 403)],
    ids=lambda value: str(value)[:12],
)
def test_message_is_rays(status: int, body: str) -> None:
    assert str(_error(status, body)) == f"Request failed with status code {status}: {body}."


def test_ray_examples_verbatim() -> None:
    assert str(_error(418, "teapot")) == "Request failed with status code 418: teapot."
    assert (
        str(_error(404, "Job nope does not exist"))
        == "Request failed with status code 404: Job nope does not exist."
    )


def test_auth_messages_start_like_rays() -> None:
    unauthorized = _error(401, "Unauthorized: Missing authentication token")
    assert str(unauthorized).startswith(
        "Authentication required: Unauthorized: Missing authentication token\n\n"
    )
    forbidden = _error(403, "Forbidden: Invalid authentication token")
    assert str(forbidden).startswith(
        "Authentication failed: Forbidden: Invalid authentication token\n\n"
        "Token authentication is enabled but the authentication token is invalid or incorrect."
    )


def test_route_miss_is_not_a_missing_job() -> None:
    error = _error(404, "404: Not Found")
    assert type(error) is NotFoundError
    assert not isinstance(error, JobNotFoundError)


def test_job_404_uses_the_calls_not_found_class() -> None:
    assert type(_error(404, "Job x does not exist", not_found=NotFoundError)) is NotFoundError
    assert type(_error(404, "Job x does not exist", not_found=JobNotFoundError)) is JobNotFoundError


def test_server_message_is_the_last_line_of_the_traceback() -> None:
    assert _error(500, ALREADY_EXISTS).server_message == (
        "ValueError: Job with submission_id rjc_1 already exists. Please use a different submission_id."
    )
    assert _error(400, "Traceback ...\nTypeError: bad field\n").server_message == "TypeError: bad field"


def test_server_message_of_an_old_dashboards_json_failure_is_its_tracebacks_last_line() -> None:
    """Ray < 2.45 answers some 500s as ``{"result": false, "msg": "<traceback>", "data": {}}``
    (seen live on Ray 2.9.3 for a submit body that is not a JSON object)."""
    traceback = 'Traceback (most recent call last):\n  File "x.py"\nJSONDecodeError: Expecting value\n'
    body = json.dumps({"result": False, "msg": traceback, "data": {}})
    assert _error(500, body).server_message == "JSONDecodeError: Expecting value"
    # Anything else that merely looks like it is taken as it is.
    assert _error(500, '{"result": false, "msg": 3}').server_message == '{"result": false, "msg": 3}'
    assert _error(500, '{"result": false, oops').server_message == '{"result": false, oops'


def test_long_bodies_keep_their_last_line() -> None:
    """Ray puts the whole body in the message; the useful line of a traceback is its last one."""
    padding = "".join(f'  File "frame_{i}.py", line {i}, in f\n    call()\n' for i in range(600))
    body = "Traceback (most recent call last):\n" + padding + "ValueError: the real reason\n"
    assert len(body) > 20_000
    error = _error(500, body)
    assert "ValueError: the real reason" in str(error)
    assert error.server_message == "ValueError: the real reason"


#: What Ray 2.60 and 2.9.3 answer a submission of more than 1 MiB (here 1.2 MB of metadata): the job
#: agent's aiohttp refuses the body, and the job server wraps that refusal in a 500 (shortened).
AGENT_REFUSED = (
    "Traceback (most recent call last):\n"
    '  File "ray/dashboard/modules/job/job_head.py", line 419, in submit_job\n'
    "    resp = await job_agent_client.submit_job_internal(submit_request)\n"
    "RuntimeError: Request failed with status code 500: Traceback (most recent call last):\n"
    '  File "aiohttp/web_request.py", line 759, in read\n'
    "    raise HTTPRequestEntityTooLarge(self._client_max_size)\n"
    "aiohttp.web_exceptions.HTTPRequestEntityTooLarge: Request Entity Too Large\n.\n"
)


def test_a_submission_the_job_agent_refuses_as_too_large_is_payload_too_large_naming_the_limit() -> None:
    """Before: a ``ServerError`` 500 with the traceback."""
    error = error_for_status(500, AGENT_REFUSED, method="POST", path="/api/jobs/")
    assert type(error) is PayloadTooLargeError and isinstance(error, RuntimeError)
    assert (error.status_code, error.limit, error.body) == (500, 1024 * 1024, AGENT_REFUSED)
    assert "accepts at most 1048576 bytes (1 MiB)" in str(error) and "its job agent" in str(error)
    assert str(error).startswith("Request failed with status code 500: ")


def test_the_servers_own_limit_is_named_too() -> None:
    stated = error_for_status(413, "Maximum request body size 104857600 exceeded.", method="PUT", path="/p")
    assert isinstance(stated, PayloadTooLargeError) and stated.limit == 104857600
    # Ray < 2.45: a 500 whose traceback (in the dashboard's JSON failure) ends with aiohttp's exception.
    old = json.dumps(
        {"result": False, "msg": "Traceback ...\nHTTPRequestEntityTooLarge: Request Entity Too Large"}
    )
    before_2_45 = error_for_status(500, old, method="PUT", path="/p")
    assert isinstance(before_2_45, PayloadTooLargeError) and before_2_45.limit == 100 * 1024 * 1024
    # A proxy's 413 says nothing of the job server's limit.
    proxy = error_for_status(413, "<html>413 Request Entity Too Large</html>", method="PUT", path="/p")
    assert isinstance(proxy, PayloadTooLargeError) and proxy.limit is None


# ------------------------------------------------------------------------------------ constructor


@pytest.fixture
def nowhere(monkeypatch: pytest.MonkeyPatch) -> str:
    """An address nothing listens on; the environment cannot redirect the client elsewhere."""
    for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    return f"http://127.0.0.1:{free_port()}"


BAD_ARGUMENTS = [
    ({"address": 5}, "address"),
    ({"create_cluster_if_needed": "x"}, "create_cluster_if_needed"),
    ({"cookies": []}, "cookies"),
    ({"metadata": []}, "metadata"),
    ({"headers": []}, "headers"),
    ({"verify": 1}, "verify"),
]


@pytest.mark.parametrize("client_class", [JobSubmissionClient, AsyncJobSubmissionClient])
@pytest.mark.parametrize(("arguments", "name"), BAD_ARGUMENTS, ids=[name for _, name in BAD_ARGUMENTS])
def test_wrong_argument_types_are_type_errors_before_any_io(
    nowhere: str, client_class: type[Any], arguments: dict[str, Any], name: str
) -> None:
    arguments = {"address": nowhere, **arguments}
    started = time.monotonic()
    with pytest.raises(TypeError, match=name):
        client_class(**arguments)
    # No connection attempt (and so no retry back-off) happened first.
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("client_class", [JobSubmissionClient, AsyncJobSubmissionClient])
def test_missing_ca_path_is_file_not_found(nowhere: str, client_class: type[Any]) -> None:
    with pytest.raises(
        FileNotFoundError, match=re.escape("Path to CA certificates: '/nonexistent', does not exist.")
    ):
        client_class(nowhere, verify="/nonexistent")
