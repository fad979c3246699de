"""Contract tests: every operation and every status code of ``openapi/jobs.yaml``, produced live.

Each test provokes one or more declared responses from the session's Ray head (token auth on where
the release has it) and passes every exchange through :class:`ContractRecorder`, which fails at once
on anything the spec does not allow and records the (path, method, status) it produced. The last
test of this module fails when a declared response was never produced, so a status added to the spec
needs a test here.

The head may run an older release (``RJC_RAY_RELEASE``, see ``tests/head_release.py``): where the
spec says a release behaves differently, the test expects what that release does.
"""

from __future__ import annotations

import functools
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import wsproto.events
from head_release import HEAD_RELEASE, TOKEN_AUTH_SINCE, head_is_at_least
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, connect_ws
from live_head import (
    GENERIC_500_BODY,
    DriverJob,
    last_line,
    refused_websocket_handshake,
    running_driver,
    websocket_handshake_headers,
)
from openapi_spec_validator import validate as validate_openapi_document
from ray_jobs_client.models import TERMINAL_STATUSES
from ray_jobs_client.releases import release_tuple
from ray_jobs_client.testing import LocalRayHead
from spec_validator import SPEC_30_PATH, ContractRecorder, OpenApiSpec
from waiting import let_job_manager_finish, wait_for

pytestmark = [pytest.mark.live, pytest.mark.release]

SPEC = OpenApiSpec.load()
JOB_ID_PARAMETER = "{job_or_submission_id}"
MISSING_JOB = "rjc-contract-no-such-job"
BODY_LIMIT = 104857600  # 100 MiB, the server's client_max_size
Check = Callable[..., httpx.Response]


def _operation_ids(status: int, *, on_job_path: bool = False) -> list[str]:
    return [
        op.operation_id
        for op in SPEC.operations_declaring(status)
        if not on_job_path or JOB_ID_PARAMETER in op.path
    ]


# ---------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def spec() -> OpenApiSpec:
    return SPEC


@pytest.fixture(scope="module")
def contract(spec: OpenApiSpec) -> ContractRecorder:
    """The module-wide recorder every exchange goes through (read by the final coverage test); the
    OpenAPI 3.0 rendition must reach the same verdict as the spec on every body it checks."""
    return ContractRecorder(spec, rendition=OpenApiSpec.load(SPEC_30_PATH))


@pytest.fixture
def check(contract: ContractRecorder, request: pytest.FixtureRequest) -> Check:
    """``check(response, expect=…, request_valid=…)``: validate against the spec and record."""
    return functools.partial(contract.check, produced_by=request.node.nodeid)


@pytest.fixture(scope="module")
def http(ray_head: LocalRayHead) -> Iterator[httpx.Client]:
    """An authenticated client for the whole module (``raw_http`` is per test)."""
    with httpx.Client(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous_http(ray_head: LocalRayHead) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ray_head.address, timeout=30) as client:
        yield client


def _wait_for_status(
    http: httpx.Client,
    contract: ContractRecorder,
    job_id: str,
    statuses: frozenset[str] | set[str],
    timeout: float,
) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        details = contract.check(
            http.get(f"/api/jobs/{job_id}"), expect=200, produced_by="polling job status"
        ).json()
        return details if details["status"] in statuses else None

    return wait_for(reached, timeout=timeout, what=f"job {job_id} to reach {sorted(statuses)}")


@pytest.fixture(scope="module")
def finished_job(http: httpx.Client, contract: ContractRecorder) -> Iterator[str]:
    """A SUCCEEDED submission (explicit submission id) whose log spans several WebSocket frames."""
    submission_id = f"rjc-contract-{uuid.uuid4().hex[:12]}"
    response = http.post(
        "/api/jobs/", json={"entrypoint": "echo hi && seq 1 25", "submission_id": submission_id}
    )
    body = contract.check(response, expect=200, produced_by="finished_job fixture").json()
    # The deprecated `job_id` key carries the submission id, not the Ray job id.
    assert body == {"job_id": submission_id, "submission_id": submission_id}
    details = _wait_for_status(http, contract, submission_id, TERMINAL_STATUSES, timeout=60)
    assert details["status"] == "SUCCEEDED", details
    yield submission_id
    http.delete(f"/api/jobs/{submission_id}")


def _assert_unhandled_error(response: httpx.Response, traceback_ends: str = "") -> None:
    """The body of an error that escaped a handler: aiohttp's page (Ray >= 2.45) or, before, the
    dashboard's own ``DashboardFailure`` JSON with the traceback in ``msg``."""
    if head_is_at_least("2.45.0"):
        assert response.text == GENERIC_500_BODY
        return
    failure = response.json()
    assert failure["result"] is False
    assert "Traceback (most recent call last)" in failure["msg"]
    assert last_line(failure["msg"]).endswith(traceback_ends), failure["msg"][-500:]


OVER_LIMIT_BEFORE_2_45 = "HTTPRequestEntityTooLarge: Request Entity Too Large"


def _send(
    operation_id: str,
    client: httpx.Client,
    *,
    job: str = MISSING_JOB,
    package: str = "_rjc_contract_unused.zip",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One well-formed request for ``operation_id`` (the recipe the auth/404/405 tests share)."""
    headers = dict(headers or {})
    if operation_id == "get_version":
        return client.get("/api/version", headers=headers)
    if operation_id == "list_jobs":
        return client.get("/api/jobs/", headers=headers)
    if operation_id == "submit_job":
        return client.post("/api/jobs/", json={"entrypoint": "echo hi"}, headers=headers)
    if operation_id == "get_job_info":
        return client.get(f"/api/jobs/{job}", headers=headers)
    if operation_id == "delete_job":
        return client.delete(f"/api/jobs/{job}", headers=headers)
    if operation_id == "stop_job":
        return client.post(f"/api/jobs/{job}/stop", headers=headers)
    if operation_id == "get_job_logs":
        return client.get(f"/api/jobs/{job}/logs", headers=headers)
    if operation_id == "tail_job_logs":
        return refused_websocket_handshake(client, f"/api/jobs/{job}/logs/tail", headers=headers)
    if operation_id == "get_package":
        return client.get(f"/api/packages/gcs/{package}", headers=headers)
    if operation_id == "upload_package":
        headers.setdefault("Content-Type", "application/octet-stream")
        return client.put(f"/api/packages/gcs/{package}", content=b"contract", headers=headers)
    pytest.fail(f"no request recipe for operation {operation_id!r}: add one to _send()")


# ---------------------------------------------------------------------------------------- the document


def test_spec_is_a_valid_openapi_3_1_document(spec: OpenApiSpec) -> None:
    validate_openapi_document(dict(spec.document))
    assert spec.document["openapi"].startswith("3.1.")


# ---------------------------------------------------------------------------------------- 200s


def test_get_version_200(http: httpx.Client, check: Check, spec: OpenApiSpec) -> None:
    body = check(http.get("/api/version"), expect=200).json()
    assert body["version"] == spec.document["info"]["version"]
    assert body["ray_version"] == HEAD_RELEASE
    # Optional in the spec because releases before 2.32 leave it out.
    assert ("session_name" in body) == head_is_at_least("2.32.0"), body


def test_list_jobs_200_lists_submissions(http: httpx.Client, check: Check, finished_job: str) -> None:
    jobs = check(http.get("/api/jobs/"), expect=200).json()
    assert finished_job in {job["submission_id"] for job in jobs}


def test_get_job_info_200_has_exactly_the_declared_keys(
    http: httpx.Client, check: Check, spec: OpenApiSpec, finished_job: str
) -> None:
    details = check(http.get(f"/api/jobs/{finished_job}"), expect=200).json()
    schema = spec.component_schema("JobDetails")
    assert len(schema["required"]) == 15
    assert set(details) == set(schema["required"]) == set(schema["properties"])
    assert details["type"] == "SUBMISSION"
    assert details["submission_id"] == finished_job
    assert details["status"] == "SUCCEEDED"
    assert details["driver_exit_code"] == 0
    # `echo` never calls ray.init(): no Ray job id, no driver.
    assert details["job_id"] is None
    assert details["driver_info"] is None
    assert isinstance(details["end_time"], int)
    assert details["end_time"] >= details["start_time"]


def test_get_job_logs_200(http: httpx.Client, check: Check, finished_job: str) -> None:
    logs = check(http.get(f"/api/jobs/{finished_job}/logs"), expect=200).json()["logs"]
    supervisor = f"Running entrypoint for job {finished_job}: echo hi && seq 1 25"
    # The supervisor announces the entrypoint since Ray 2.52.
    assert (supervisor in logs.splitlines()) == head_is_at_least("2.52.0"), logs
    # The supervisor writes its lines concurrently with the entrypoint: they are not always first.
    output = [line for line in logs.splitlines() if line != supervisor and " job_manager.py:" not in line]
    assert output == ["hi", *map(str, range(1, 26))]


def test_get_job_logs_500_log_not_utf8(http: httpx.Client, check: Check, contract: ContractRecorder) -> None:
    """A job that wrote a byte that is not UTF-8: its log cannot be read at all (a traceback)."""
    entrypoint = "python -c \"import sys; sys.stdout.buffer.write(b'ok\\n\\xff bad\\n')\""
    job_id = http.post("/api/jobs/", json={"entrypoint": entrypoint}).json()["submission_id"]
    details = _wait_for_status(http, contract, job_id, TERMINAL_STATUSES, timeout=60)
    assert details["status"] == "SUCCEEDED", details
    response = check(http.get(f"/api/jobs/{job_id}/logs"), expect=500)
    assert last_line(response.text).startswith("UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff")
    assert response.text.endswith("\n.\n")


def test_stop_job_200_of_a_terminal_job_is_not_an_error(
    http: httpx.Client, check: Check, finished_job: str
) -> None:
    assert check(http.post(f"/api/jobs/{finished_job}/stop"), expect=200).json() == {"stopped": False}


def test_running_job_lifecycle(http: httpx.Client, check: Check, contract: ContractRecorder) -> None:
    """Submit (generated id) → RUNNING → delete refused (500) → stop → STOPPED → delete → 404."""
    body = check(http.post("/api/jobs/", json={"entrypoint": "sleep 30"}), expect=200).json()
    job_id = body["submission_id"]
    assert body["job_id"] == job_id
    assert job_id.startswith("raysubmit_")
    try:
        _wait_for_status(http, contract, job_id, {"RUNNING"}, timeout=60)

        refused = check(http.delete(f"/api/jobs/{job_id}"), expect=500)
        assert (
            f"Attempted to delete job '{job_id}', but it is in a non-terminal state RUNNING." in refused.text
        )
        assert refused.text.endswith("\n.\n")

        assert check(http.post(f"/api/jobs/{job_id}/stop"), expect=200).json() == {"stopped": True}
        details = _wait_for_status(http, contract, job_id, TERMINAL_STATUSES, timeout=60)
        assert details["status"] == "STOPPED"
        assert details["driver_exit_code"] is None

        let_job_manager_finish(details["end_time"])
        assert check(http.delete(f"/api/jobs/{job_id}"), expect=200).json() == {"deleted": True}
        assert check(http.get(f"/api/jobs/{job_id}"), expect=404).text == f"Job {job_id} does not exist"
    finally:
        http.post(f"/api/jobs/{job_id}/stop")


# ---------------------------------------------------------------------------------------- log WebSocket


def test_tail_job_logs_101_streams_whole_lines_then_closes_1000(
    http: httpx.Client, check: Check, finished_job: str
) -> None:
    logs = http.get(f"/api/jobs/{finished_job}/logs").json()["logs"]
    frames: list[str] = []
    partial = ""
    # The server never answers pings: keep-alive pings must be off.
    with connect_ws(f"/api/jobs/{finished_job}/logs/tail", http, keepalive_ping_interval_seconds=None) as ws:
        assert ws.response is not None
        handshake = check(ws.response, expect=101)
        assert "sec-websocket-protocol" not in handshake.headers

        deadline = time.monotonic() + 30
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no close within 30 s; frames so far: {frames!r}"
            try:
                event = ws.receive(timeout=remaining)
            except queue.Empty:
                pytest.fail(f"no close within 30 s; frames so far: {frames!r}")
            except WebSocketDisconnect as exc:
                closed = exc
                break
            assert isinstance(event, wsproto.events.TextMessage), f"server sent a non-text frame: {event!r}"
            partial += event.data
            if event.message_finished:
                frames.append(partial)
                partial = ""

    assert (closed.code, closed.reason) == (1000, "")
    assert partial == ""
    assert frames, "a finished job with a log must produce at least one frame"
    for frame in frames:
        assert frame.endswith("\n"), f"a frame split a line: {frame!r}"
        assert frame.count("\n") <= 10, f"a frame holds more than 10 lines: {frame!r}"
    assert "".join(frames) == logs


def test_tail_job_logs_101_negotiates_permessage_deflate(
    ray_head: LocalRayHead, check: Check, finished_job: str
) -> None:
    headers = {**websocket_handshake_headers(), "Sec-WebSocket-Extensions": "permessage-deflate"}
    # A client of its own: the upgraded connection is dropped right after the handshake.
    with (
        httpx.Client(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=30) as client,
        client.stream("GET", f"/api/jobs/{finished_job}/logs/tail", headers=headers) as response,
    ):
        check(response, expect=101)
        assert response.headers.get("sec-websocket-extensions", "").startswith("permessage-deflate")


def test_tail_job_logs_500_without_upgrade(http: httpx.Client, check: Check, finished_job: str) -> None:
    # (The server takes about 5 s to give up on a plain GET here.)
    response = check(http.get(f"/api/jobs/{finished_job}/logs/tail"), expect=500)
    if head_is_at_least("2.45.0"):
        assert response.text == "500: WebSocket proxy error"
    else:  # the dashboard's own JSON failure body, with aiohttp's complaint as the traceback's end
        _assert_unhandled_error(response)


# ---------------------------------------------------------------------------------------- 404 unknown job


@pytest.mark.parametrize("operation_id", _operation_ids(404, on_job_path=True))
def test_unknown_job_404(http: httpx.Client, check: Check, operation_id: str) -> None:
    response = check(_send(operation_id, http, job=MISSING_JOB), expect=404)
    assert response.text == f"Job {MISSING_JOB} does not exist"
    if operation_id == "tail_job_logs":
        # What a WebSocket client sees: the handshake is refused, nothing is upgraded.
        with (
            pytest.raises(WebSocketUpgradeError) as refused,
            connect_ws(f"/api/jobs/{MISSING_JOB}/logs/tail", http, keepalive_ping_interval_seconds=None),
        ):
            pass
        assert refused.value.response.status_code == 404


# ---------------------------------------------------------------------------------------- 400 driver job


@pytest.fixture(scope="class")
def driver(ray_head: LocalRayHead, http: httpx.Client, contract: ContractRecorder) -> Iterator[DriverJob]:
    """A running DRIVER job, alive only while the tests of the class that uses it run."""

    def list_jobs() -> list[dict[str, object]]:
        response = contract.check(http.get("/api/jobs/"), expect=200, produced_by="driver fixture")
        return list(response.json())

    with running_driver(
        f"127.0.0.1:{ray_head.gcs_port}", ray_head.client_env(), list_jobs, python=ray_head.python_executable
    ) as running:
        yield running


class TestDriverJob:
    """A script that calls ``ray.init()`` itself is a DRIVER job: readable, but not stoppable etc."""

    def test_get_job_info_200_of_a_driver(self, http: httpx.Client, check: Check, driver: DriverJob) -> None:
        details = check(http.get(f"/api/jobs/{driver.job_id}"), expect=200).json()
        assert details["type"] == "DRIVER"
        assert details["submission_id"] is None
        assert details["status"] == "RUNNING"
        assert details["end_time"] == 0
        assert details["driver_info"]["id"] == driver.job_id
        # The spec types the pid as a string; so does the server.
        assert details["driver_info"]["pid"] == str(driver.pid)

    @pytest.mark.parametrize("operation_id", _operation_ids(400, on_job_path=True))
    def test_submission_only_operation_400(
        self, http: httpx.Client, check: Check, driver: DriverJob, operation_id: str
    ) -> None:
        response = check(_send(operation_id, http, job=driver.job_id), expect=400)
        assert response.text.startswith("Can only ")
        assert response.text.endswith(" submission type jobs")


# ---------------------------------------------------------------------------------------- 401 / 403


TOKEN_AUTH = pytest.mark.ray_since(TOKEN_AUTH_SINCE, "token authentication")


@TOKEN_AUTH
def test_every_declared_security_scheme_authenticates(
    ray_head: LocalRayHead, anonymous_http: httpx.Client, check: Check, spec: OpenApiSpec
) -> None:
    token = ray_head.token
    assert token
    schemes = spec.document["components"]["securitySchemes"]
    assert set(schemes) == {"bearerAuth", "rayAuthorizationHeader", "rayAuthenticationCookie"}
    variants = {
        "bearerAuth": {"Authorization": f"Bearer {token}"},
        "rayAuthorizationHeader": {schemes["rayAuthorizationHeader"]["name"]: f"Bearer {token}"},
        "rayAuthenticationCookie": {"Cookie": f"{schemes['rayAuthenticationCookie']['name']}={token}"},
    }
    for headers in variants.values():
        check(anonymous_http.get("/api/version", headers=headers), expect=200)
    wrong = check(
        anonymous_http.get("/api/version", headers={"X-Ray-Authorization": "Bearer not-the-token"}),
        expect=403,
    )
    assert wrong.text == "Forbidden: Invalid authentication token"


@TOKEN_AUTH
@pytest.mark.parametrize("operation_id", _operation_ids(401))
def test_missing_token_401(anonymous_http: httpx.Client, check: Check, operation_id: str) -> None:
    response = check(_send(operation_id, anonymous_http), expect=401)
    assert response.text == "Unauthorized: Missing authentication token"


@TOKEN_AUTH
@pytest.mark.parametrize("operation_id", _operation_ids(403))
def test_wrong_token_403(anonymous_http: httpx.Client, check: Check, operation_id: str) -> None:
    wrong = {"Authorization": "Bearer not-the-token"}
    response = check(_send(operation_id, anonymous_http, headers=wrong), expect=403)
    assert response.text == "Forbidden: Invalid authentication token"


def test_a_server_without_token_authentication_ignores_tokens(
    anonymous_http: httpx.Client, check: Check
) -> None:
    """Before 2.52 (x-ray-behaviour-since: token-authentication) a token is neither needed nor checked."""
    if head_is_at_least(TOKEN_AUTH_SINCE):
        pytest.skip(f"Ray {HEAD_RELEASE} has token authentication (tested above)")
    check(anonymous_http.get("/api/version"), expect=200)
    check(anonymous_http.get("/api/version", headers={"Authorization": "Bearer not-the-token"}), expect=200)


# ---------------------------------------------------------------------------------------- 405 browser


BROWSER_HEADERS = {
    "mozilla_user_agent": {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    },
    "origin": {"Origin": "http://example.com"},
    "sec_fetch_mode": {"Sec-Fetch-Mode": "cors"},
}


def _counts_as_browser(browser: str) -> bool:
    """Whether the head's guard takes these headers for a browser's (the spec's 405 table: the wider
    checks came in 2.52.0 and 2.52.1 and were backported to the patch release 2.51.2)."""
    release = release_tuple(HEAD_RELEASE)
    if browser == "sec_fetch_mode":
        return release >= (2, 51, 2)
    if browser == "origin":
        return release >= (2, 51, 2) and release != (2, 52, 0)
    return True  # a Mozilla User-Agent, in every release


def _browser_guard_body(method: str, browser: str) -> str | None:
    """What the head's guard answers a browser-like ``method`` with (``None``: it lets it through)."""
    if head_is_at_least("2.54.0"):
        return f"'{method}' method not allowed for browser traffic."
    if method in ("POST", "PUT") and _counts_as_browser(browser):
        return "Method Not Allowed for browser traffic."
    return None


def test_a_request_without_user_agent(http: httpx.Client) -> None:
    """Before 2.51.2 the old guard reads the header unconditionally: every such request is a 500."""
    request = http.build_request("GET", "/api/version")
    del request.headers["User-Agent"]
    response = http.send(request)
    assert response.status_code == (200 if head_is_at_least("2.51.2") else 500), response.text


@pytest.mark.parametrize("browser", sorted(BROWSER_HEADERS))
@pytest.mark.parametrize("operation_id", _operation_ids(405))
def test_browser_traffic_405(http: httpx.Client, check: Check, operation_id: str, browser: str) -> None:
    package = f"_rjc_contract_{uuid.uuid4().hex}.zip"
    method = SPEC.operation(operation_id).method.upper()
    expected = _browser_guard_body(method, browser)
    response = check(
        _send(operation_id, http, package=package, headers=BROWSER_HEADERS[browser]),
        expect=None if expected is None else 405,
    )
    if expected is None:  # an older guard: the request is handled like any other
        assert response.status_code != 405, response.text
    else:
        assert response.text == expected


def test_env_vars_are_redacted_for_browsers_only_since_2_59(
    http: httpx.Client, check: Check, contract: ContractRecorder
) -> None:
    """x-ray-behaviour-since runtime-env-redaction: a browser-like GET sees ``<redacted>`` values."""
    job_id = f"rjc-contract-{uuid.uuid4().hex[:12]}"
    runtime_env = {"env_vars": {"RJC_SECRET": "s3cret"}}
    body = {"entrypoint": "echo env", "submission_id": job_id, "runtime_env": runtime_env}
    check(http.post("/api/jobs/", json=body), expect=200)
    details = _wait_for_status(http, contract, job_id, TERMINAL_STATUSES, timeout=60)
    try:
        assert details["runtime_env"] == runtime_env
        browser = check(http.get(f"/api/jobs/{job_id}", headers=BROWSER_HEADERS["mozilla_user_agent"]))
        expected = {"RJC_SECRET": "<redacted>"} if head_is_at_least("2.59.0") else runtime_env["env_vars"]
        assert browser.json()["runtime_env"]["env_vars"] == expected
    finally:
        let_job_manager_finish(details["end_time"])
        check(http.delete(f"/api/jobs/{job_id}"), expect=200)


# ---------------------------------------------------------------------------------------- submit errors


SUBMIT_400_BODIES: dict[str, dict[str, Any]] = {
    "unknown_field": {"entrypoint": "echo hi", "bogus": 1},
    "missing_entrypoint": {"metadata": {"owner": "contract"}},
    "null_entrypoint": {"entrypoint": None},
    "entrypoint_not_a_string": {"entrypoint": 5},
    "submission_id_not_a_string": {"entrypoint": "echo hi", "submission_id": 5},
    "runtime_env_not_an_object": {"entrypoint": "echo hi", "runtime_env": []},
    "metadata_value_not_a_string": {"entrypoint": "echo hi", "metadata": {"a": 1}},
    "num_cpus_not_a_number": {"entrypoint": "echo hi", "entrypoint_num_cpus": "1"},
    "memory_not_an_integer": {"entrypoint": "echo hi", "entrypoint_memory": 1.5},
    "resources_value_not_a_number": {"entrypoint": "echo hi", "entrypoint_resources": {"Custom": "1"}},
    "label_selector_value_not_a_string": {"entrypoint": "echo hi", "entrypoint_label_selector": {"a": 1}},
}


@pytest.mark.parametrize("case", sorted(SUBMIT_400_BODIES))
def test_submit_job_400_wrong_shape(http: httpx.Client, check: Check, case: str) -> None:
    # request_valid=False: the spec's JobSubmitRequest must reject what the server rejects.
    response = check(http.post("/api/jobs/", json=SUBMIT_400_BODIES[case]), expect=400, request_valid=False)
    assert response.text.startswith("Traceback (most recent call last):")
    assert last_line(response.text).startswith("TypeError: ")
    if case == "unknown_field":
        assert last_line(response.text) == (
            "TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument 'bogus'"
        )


_BOOLEAN_NUMBERS: dict[str, Any] = {
    "entrypoint_num_cpus": True,
    "entrypoint_num_gpus": False,
    "entrypoint_memory": False,
    "entrypoint_resources": {"Custom": False},
}


@pytest.mark.parametrize("field", sorted(_BOOLEAN_NUMBERS))
def test_submit_job_documented_leniency_booleans_for_numbers(
    http: httpx.Client, check: Check, contract: ContractRecorder, field: str
) -> None:
    """The server (Python, where bool is an int) accepts JSON booleans where the spec declares numbers.

    The spec keeps declaring numbers (what clients must send) and documents the leniency in the
    operation's description; this test pins both, so a server that starts rejecting booleans, or a
    spec that forgets to say it, is noticed.
    """
    body = {"entrypoint": "true", field: _BOOLEAN_NUMBERS[field]}
    assert contract.spec.request_body_errors("submit_job", body), "the spec accepts this body"
    description = contract.spec.operation("submit_job").definition["description"]
    assert "`true`/`false` pass where a number is declared" in description
    response = http.post("/api/jobs/", json=body)
    check(response, request_valid=False)
    assert response.status_code == 200, f"{response.status_code}: {response.text[-300:]!r}"
    job_id = response.json()["submission_id"]
    details = _wait_for_status(http, contract, job_id, TERMINAL_STATUSES, timeout=60)
    let_job_manager_finish(details["end_time"])
    check(http.delete(f"/api/jobs/{job_id}"), expect=200)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"entrypoint"', b"null", b""], ids=repr)
def test_submit_job_500_body_not_a_json_object(http: httpx.Client, check: Check, body: bytes) -> None:
    response = http.post("/api/jobs/", content=body, headers={"Content-Type": "application/json"})
    check(response, expect=500, request_valid=False)
    _assert_unhandled_error(response)


def test_submit_job_500_duplicate_submission_id(http: httpx.Client, check: Check, finished_job: str) -> None:
    response = http.post("/api/jobs/", json={"entrypoint": "echo again", "submission_id": finished_job})
    # The body is valid: only the id's uniqueness, which no schema can express, is violated.
    check(response, expect=500, request_valid=True)
    assert last_line(response.text) == (
        f"ValueError: Job with submission_id {finished_job} already exists. "
        "Please use a different submission_id."
    )
    assert response.text.endswith("\n.\n")


def _oversized_submission() -> Iterator[bytes]:
    """A syntactically valid JobSubmitRequest of 100 MiB + 10 bytes, streamed in 1 MiB chunks."""
    head, tail = b'{"entrypoint": "echo ', b'"}'
    padding = BODY_LIMIT + 10 - len(head) - len(tail)
    yield head
    chunk = b"x" * (1 << 20)
    while padding > 0:
        yield chunk[: min(padding, len(chunk))]
        padding -= len(chunk)
    yield tail


def _oversized_package() -> Iterator[bytes]:
    chunk = b"\0" * (1 << 20)
    remaining = BODY_LIMIT + 10
    while remaining > 0:
        yield chunk[: min(remaining, len(chunk))]
        remaining -= len(chunk)


def test_submit_job_413_body_over_100_mib(http: httpx.Client, check: Check) -> None:
    response = http.post(
        "/api/jobs/", content=_oversized_submission(), headers={"Content-Type": "application/json"}
    )
    # request_valid=None: the streamed body is, by construction, a valid JobSubmitRequest whose only
    # fault is its size, which the schema does not bound (the limit is documented as a 413).
    if not head_is_at_least("2.45.0"):  # then a 500 with the limit's exception in a DashboardFailure
        check(response, expect=500, request_valid=None)
        _assert_unhandled_error(response, OVER_LIMIT_BEFORE_2_45)
        return
    check(response, expect=413, request_valid=None)
    assert response.text == f"Maximum request body size {BODY_LIMIT} exceeded."


# ---------------------------------------------------------------------------------------- packages


def test_upload_then_get_package_200(http: httpx.Client, check: Check) -> None:
    name = f"_rjc_contract_{uuid.uuid4().hex}.zip"
    uploaded = http.put(
        f"/api/packages/gcs/{name}",
        content=b"PK\x05\x06" + b"\0" * 18,
        headers={"Content-Type": "application/octet-stream"},
    )
    check(uploaded, expect=200)
    assert "content-type" not in uploaded.headers
    found = check(http.get(f"/api/packages/gcs/{name}"), expect=200)
    assert "content-type" not in found.headers


def test_get_package_404_missing(http: httpx.Client, check: Check) -> None:
    name = f"_rjc_contract_{uuid.uuid4().hex}.zip"
    response = check(http.get(f"/api/packages/gcs/{name}"), expect=404)
    assert response.text == f"Package gcs://{name} does not exist"


def test_get_package_500_protocol_not_gcs(http: httpx.Client, check: Check) -> None:
    response = check(http.get("/api/packages/s3/_rjc_contract_x.zip"), expect=500)
    _assert_unhandled_error(response)


def test_upload_package_500_protocol_not_gcs(http: httpx.Client, check: Check) -> None:
    response = http.put(
        "/api/packages/s3/_rjc_contract_x.zip",
        content=b"contract",
        headers={"Content-Type": "application/octet-stream"},
    )
    check(response, expect=500)
    assert (
        last_line(response.text)
        == "ValueError: upload_package_to_gcs should not be called with a remote path."
    )


def test_get_package_500_gcs_name_with_bracket(http: httpx.Client, check: Check) -> None:
    """`gcs://<name>` is parsed as a URL server-side: a bracket makes it an invalid IPv6 host."""
    response = http.get("/api/packages/gcs/_rjc_contract_%5D.zip")
    check(response, expect=500)
    _assert_unhandled_error(response, "ValueError: Invalid IPv6 URL")


def test_upload_package_500_gcs_name_with_bracket(http: httpx.Client, check: Check) -> None:
    response = http.put(
        "/api/packages/gcs/_rjc_contract_%5B.zip",
        content=b"contract",
        headers={"Content-Type": "application/octet-stream"},
    )
    check(response, expect=500)
    assert last_line(response.text).startswith("ValueError: Invalid IPv6 URL")


def test_upload_package_413_body_over_100_mib(http: httpx.Client, check: Check) -> None:
    name = f"_rjc_contract_{uuid.uuid4().hex}.zip"
    response = http.put(
        f"/api/packages/gcs/{name}",
        content=_oversized_package(),
        headers={"Content-Type": "application/octet-stream"},
    )
    if head_is_at_least("2.45.0"):
        check(response, expect=413)
        assert response.text == f"Maximum request body size {BODY_LIMIT} exceeded."
    else:  # a 500 whose text traceback ends with the limit's exception
        check(response, expect=500)
        assert last_line(response.text) == f"aiohttp.web_exceptions.{OVER_LIMIT_BEFORE_2_45}"
    # Nothing was stored.
    check(http.get(f"/api/packages/gcs/{name}"), expect=404)


# ---------------------------------------------------------------------------------------- paths


def test_jobs_collection_needs_its_trailing_slash(http: httpx.Client, spec: OpenApiSpec) -> None:
    """Why the spec says ``/api/jobs/``: without the slash the route does not exist (no redirect)."""
    assert "/api/jobs/" in spec.document["paths"]
    assert "/api/jobs" not in spec.document["paths"]
    assert spec.match("post", "/api/jobs") is None
    for method in ("POST", "GET"):
        response = http.request(
            method, "/api/jobs", json={"entrypoint": "echo hi"} if method == "POST" else None
        )
        assert response.status_code == 404, response.text
        assert response.text == "404: Not Found"


# ------------------------------------------------------------------------------- coverage (keep last)


def _partial_run_reason(request: pytest.FixtureRequest) -> str | None:
    """Why this session does not run the whole module (then the coverage check cannot judge)."""
    module = request.node.module
    prefix = request.node.nodeid.split("::", 1)[0] + "::"
    # -k, -m, --deselect and --lf report what they drop through `pytest_deselected`.
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    deselected = [
        item
        for item in getattr(reporter, "stats", {}).get("deselected", [])
        if item.nodeid.startswith(prefix)
    ]
    if deselected:
        return f"{len(deselected)} of its tests were deselected"
    if any("::" in str(arg) for arg in request.config.args):
        return "tests were selected by node id"
    ran = {item.originalname for item in request.session.items if getattr(item, "module", None) is module}
    defined = {name for name in vars(module) if name.startswith("test_")}
    defined |= {
        name
        for cls_name, cls in vars(module).items()
        if cls_name.startswith("Test")
        for name in vars(cls)
        if name.startswith("test_")
    }
    if missing := defined - ran:
        return f"tests of this module were not selected: {sorted(missing)}"
    return None


def test_every_declared_response_was_produced(
    request: pytest.FixtureRequest, contract: ContractRecorder
) -> None:
    """Fail for every (path, method, status) the spec declares that no test above produced."""
    if reason := _partial_run_reason(request):
        pytest.skip(f"the coverage check needs the whole module: {reason}")
    module = request.node.module
    own_items = [item for item in request.session.items if getattr(item, "module", None) is module]
    assert own_items[-1] is request.node, "this check must run after every other test of its module"
    # A response the spec dates after the head's release cannot be produced by it.
    served = contract.spec.entries_served_by(release_tuple(HEAD_RELEASE))
    missing = sorted(served - set(contract.produced))
    assert not missing, "declared in the spec but produced by no contract test:\n" + "\n".join(
        f"  {entry}" for entry in missing
    )
    assert set(contract.produced) == served
    # Every exchange with a JSON body or a text body was judged against the 3.0 rendition too.
    assert contract.verdicts_compared >= len(served), contract.verdicts_compared
