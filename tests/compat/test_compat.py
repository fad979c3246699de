"""Compat probe: the exchanges a client makes, validated against ``openapi/jobs.yaml`` on *any* head.

The contract tests (tests/contract) need the session's own Ray 2.60 head with token auth; this probe
instead targets an external address, so that ``make compat`` (tools/compat.py) can point it at heads
of older Ray releases. It is opt-in: without ``RJC_COMPAT_ADDRESS`` the module is skipped.

    RJC_COMPAT_ADDRESS=http://127.0.0.1:8265 pytest tests/compat

Every exchange goes through the contract tests' :class:`ContractRecorder` (status declared, media
type, request and response schemas) and through ``tools/spec_drift.py``'s strict check (unknown
fields and enum values). Checks are *soft*: a test collects every difference of its exchanges and
fails once, listing them all — the failure messages are the compat report.

It submits only ``echo``/``sleep`` jobs and deletes every job it creates.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = os.environ.get("RJC_COMPAT_ADDRESS", "")
if not ADDRESS:
    pytest.skip(
        "opt-in compat probe: set RJC_COMPAT_ADDRESS to a dashboard URL (make compat does)",
        allow_module_level=True,
    )

sys.path.insert(0, str(ROOT / "tests" / "contract"))
sys.path.insert(0, str(ROOT / "tools"))
import spec_drift  # noqa: E402
from spec_validator import ContractRecorder, OpenApiSpec  # noqa: E402

SPEC = OpenApiSpec.load()
STRICT = spec_drift.Spec(SPEC.document)
TERMINAL = {"STOPPED", "SUCCEEDED", "FAILED"}
TOKEN = os.environ.get("RJC_COMPAT_TOKEN", "")
_NO_HTTP = httpx.Client()  # DriftCheck.check only judges responses; it never sends with this


class Differences:
    """Soft checks: every exchange is validated, every problem kept, the test fails once at its end."""

    def __init__(self) -> None:
        self.recorder = ContractRecorder(SPEC)
        self.problems: list[str] = []

    def check(
        self,
        response: httpx.Response,
        *,
        expect: int | None = None,
        operation: str | None = None,
        request_valid: bool | None = True,
    ) -> httpx.Response:
        if expect is not None and response.status_code != expect:
            request = response.request
            body = response.text if response.is_stream_consumed or not response.is_closed else ""
            self.problems.append(
                f"{request.method} {request.url.raw_path.decode()}: expected {expect}, got "
                f"{response.status_code}: {_last_line(body)!r}"
            )
        try:
            self.recorder.check(response, request_valid=request_valid)
        except AssertionError as exc:
            self.problems.append(str(exc).split("\nassert ")[0])
        if operation is not None:
            drift = spec_drift.DriftCheck(STRICT, _NO_HTTP)
            request = response.request
            drift.check(
                operation,
                response,
                f"{request.method} {request.url.raw_path.decode()} -> {response.status_code}",
            )
            # Content types and statuses were judged above; keep what only the strict pass sees.
            self.problems.extend(
                f"{finding.exchange}: {finding.kind}: {finding.detail}"
                for finding in drift.findings
                if finding.kind in ("unknown-field", "unknown-enum")
            )
        return response

    def note(self, problem: str) -> None:
        self.problems.append(problem)

    def assert_none(self) -> None:
        __tracebackhide__ = True
        if self.problems:
            unique = list(dict.fromkeys(self.problems))
            pytest.fail(
                "differs from the spec:\n" + "\n".join(f"  - {problem}" for problem in unique), pytrace=False
            )


def _last_line(text: str) -> str:
    """A traceback's useful last line (``ExceptionType: message``), or the short body itself."""
    lines = [line for line in text.splitlines() if line.strip() and line.strip() != "."]
    return lines[-1][:300] if lines else ""


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
    with httpx.Client(base_url=ADDRESS.rstrip("/"), headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
def diff() -> Differences:
    """The test's soft checks; conftest.py fails the test at its end if they found differences."""
    return Differences()


def _job_id() -> str:
    return f"rjc-compat-{uuid.uuid4().hex[:12]}"


def _wait(
    http: httpx.Client, diff: Differences, job_id: str, statuses: set[str], timeout: float = 90
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/api/jobs/{job_id}")
        if response.status_code == 200:
            details: dict[str, Any] = response.json()
            if details.get("status") in statuses:
                diff.check(response, expect=200, operation="get_job_info")
                return details
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} did not reach {sorted(statuses)} in {timeout}s: {response.text[:500]}")
        time.sleep(0.5)


def test_version(http: httpx.Client, diff: Differences) -> None:
    body = diff.check(http.get("/api/version"), expect=200, operation="get_version").json()
    if str(body.get("version")) != SPEC.document["info"]["version"]:
        diff.note(
            f"Jobs API version {body.get('version')!r}, the spec describes "
            f"{SPEC.document['info']['version']!r}"
        )
    expected = os.environ.get("RJC_COMPAT_RAY_VERSION")
    assert expected is None or body.get("ray_version") == expected, body


def test_list_jobs(http: httpx.Client, diff: Differences) -> None:
    diff.check(http.get("/api/jobs/"), expect=200, operation="list_jobs")


def test_submission_lifecycle(http: httpx.Client, diff: Differences) -> None:
    """submit → details until SUCCEEDED → logs → stop (already terminal) → delete → 404."""
    job_id = _job_id()
    body = {"entrypoint": "echo compat", "submission_id": job_id}
    submitted = diff.check(http.post("/api/jobs/", json=body), expect=200, operation="submit_job").json()
    if submitted != {"job_id": job_id, "submission_id": job_id}:
        diff.note(f"submit answered {submitted!r}")
    try:
        details = _wait(http, diff, job_id, TERMINAL)
        if details["status"] != "SUCCEEDED":
            diff.note(f"`echo compat` ended {details['status']}: {details.get('message')}")
        logs = diff.check(http.get(f"/api/jobs/{job_id}/logs"), expect=200, operation="get_job_logs").json()
        if "compat\n" not in logs.get("logs", ""):
            diff.note(f"logs lack the job's output: {logs!r:.300}")
        stopped = diff.check(http.post(f"/api/jobs/{job_id}/stop"), expect=200, operation="stop_job").json()
        if stopped != {"stopped": False}:
            diff.note(f"stopping a terminal job answered {stopped!r}")
    finally:
        deleted = diff.check(http.delete(f"/api/jobs/{job_id}"), expect=200, operation="delete_job").json()
    if deleted != {"deleted": True}:
        diff.note(f"delete answered {deleted!r}")
    diff.check(http.get(f"/api/jobs/{job_id}"), expect=404)


def test_stop_a_running_job(http: httpx.Client, diff: Differences) -> None:
    """A running job: delete refused (500) → stop → STOPPED → delete."""
    job_id = _job_id()
    diff.check(http.post("/api/jobs/", json={"entrypoint": "sleep 60", "submission_id": job_id}), expect=200)
    try:
        _wait(http, diff, job_id, {"RUNNING"})
        refused = diff.check(http.delete(f"/api/jobs/{job_id}"), expect=500)
        if "non-terminal state" not in refused.text:
            diff.note(f"deleting a running job answered: {refused.text[-300:]!r}")
        stopped = diff.check(http.post(f"/api/jobs/{job_id}/stop"), expect=200, operation="stop_job").json()
        if stopped != {"stopped": True}:
            diff.note(f"stopping a running job answered {stopped!r}")
        details = _wait(http, diff, job_id, TERMINAL)
        if details["status"] != "STOPPED":
            diff.note(f"a stopped job ended {details['status']}")
    finally:
        http.post(f"/api/jobs/{job_id}/stop")
        _wait(http, diff, job_id, TERMINAL)
        diff.check(http.delete(f"/api/jobs/{job_id}"), expect=200)


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", "/stop"), ("DELETE", ""), ("GET", "/logs")]
)
def test_unknown_job_404(http: httpx.Client, diff: Differences, method: str, suffix: str) -> None:
    missing = f"rjc-compat-missing-{uuid.uuid4().hex[:8]}"
    response = diff.check(http.request(method, f"/api/jobs/{missing}{suffix}"), expect=404)
    if response.text != f"Job {missing} does not exist":
        diff.note(f"{method} …{suffix} 404 body: {response.text!r:.200}")


@pytest.mark.parametrize(
    "body",
    [
        {"entrypoint": "echo hi", "bogus": 1},
        {"metadata": {"owner": "compat"}},
        {"entrypoint": "echo hi", "entrypoint_memory": 1.5},
    ],
    ids=["unknown_field", "missing_entrypoint", "memory_not_an_integer"],
)
def test_submit_400(http: httpx.Client, diff: Differences, body: dict[str, Any]) -> None:
    response = diff.check(http.post("/api/jobs/", json=body), expect=400, request_valid=False)
    if response.status_code == 200:  # never leave a job behind
        job_id = response.json()["submission_id"]
        http.post(f"/api/jobs/{job_id}/stop")


def test_entrypoint_label_selector_is_accepted(http: httpx.Client, diff: Differences) -> None:
    """The newest field of JobSubmitRequest: a server that predates it rejects it as unknown (400)."""
    job_id = _job_id()
    body = {"entrypoint": "echo labels", "submission_id": job_id, "entrypoint_label_selector": {}}
    response = diff.check(http.post("/api/jobs/", json=body), expect=200)
    if response.status_code == 200:
        _wait(http, diff, job_id, TERMINAL)
        http.delete(f"/api/jobs/{job_id}")


def test_packages(http: httpx.Client, diff: Differences) -> None:
    name = f"_rjc_compat_{uuid.uuid4().hex}.zip"
    diff.check(http.get(f"/api/packages/gcs/{name}"), expect=404)
    diff.check(
        http.put(
            f"/api/packages/gcs/{name}",
            content=b"PK\x05\x06" + b"\0" * 18,
            headers={"Content-Type": "application/octet-stream"},
        ),
        expect=200,
    )
    diff.check(http.get(f"/api/packages/gcs/{name}"), expect=200)


def test_browser_guard(http: httpx.Client, diff: Differences) -> None:
    """Browser-like POSTs are refused with 405 (sent with an invalid body: a server without the guard
    answers 400 and starts nothing)."""
    response = diff.check(
        http.post(
            "/api/jobs/", json={"metadata": {"probe": "browser"}}, headers={"Origin": "http://example.com"}
        ),
        expect=405,
        request_valid=None,
    )
    if response.status_code == 405 and response.text != "'POST' method not allowed for browser traffic.":
        diff.note(f"browser guard body: {response.text!r:.200}")


def test_runtime_env_redaction_for_browsers(http: httpx.Client, diff: Differences) -> None:
    job_id = _job_id()
    runtime_env = {"env_vars": {"RJC_SECRET": "s3cret"}}
    diff.check(
        http.post(
            "/api/jobs/", json={"entrypoint": "echo env", "submission_id": job_id, "runtime_env": runtime_env}
        ),
        expect=200,
    )
    try:
        _wait(http, diff, job_id, TERMINAL)
        plain = diff.check(http.get(f"/api/jobs/{job_id}"), expect=200).json()
        browser = diff.check(
            http.get(f"/api/jobs/{job_id}", headers={"User-Agent": "Mozilla/5.0"}), expect=200
        ).json()
        if plain["runtime_env"] != runtime_env:
            diff.note(f"runtime_env echoed as {plain['runtime_env']!r}")
        if browser["runtime_env"] != {"env_vars": {"RJC_SECRET": "<redacted>"}}:
            diff.note(f"a browser-like GET saw runtime_env {browser['runtime_env']!r} (not redacted)")
    finally:
        http.delete(f"/api/jobs/{job_id}")


def test_tail_logs(http: httpx.Client, diff: Differences) -> None:
    """The WebSocket: 101, whole-line text frames equal to /logs, close 1000; a plain GET is a 500."""
    from httpx_ws import WebSocketDisconnect, connect_ws
    from wsproto.events import TextMessage

    job_id = _job_id()
    diff.check(http.post("/api/jobs/", json={"entrypoint": "seq 1 25", "submission_id": job_id}), expect=200)
    try:
        _wait(http, diff, job_id, TERMINAL)
        logs = http.get(f"/api/jobs/{job_id}/logs").json()["logs"]
        plain = diff.check(http.get(f"/api/jobs/{job_id}/logs/tail"), expect=500)
        if plain.status_code == 500 and plain.text != "500: WebSocket proxy error":
            diff.note(f"plain GET of the WebSocket route: {plain.text!r:.200}")
        text, code = "", None
        with connect_ws(f"/api/jobs/{job_id}/logs/tail", http, keepalive_ping_interval_seconds=None) as ws:
            assert ws.response is not None
            diff.check(ws.response, expect=101)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    event = ws.receive(timeout=deadline - time.monotonic())
                except WebSocketDisconnect as closed:
                    code = closed.code
                    break
                except Exception as exc:  # a receive timeout: reported, not raised
                    diff.note(f"no close within 30 s ({exc!r})")
                    break
                if not isinstance(event, TextMessage):
                    diff.note(f"non-text frame {event!r}")
                    continue
                text += event.data
        if code != 1000:
            diff.note(f"the WebSocket closed with {code}, not 1000")
        if text != logs:
            diff.note(f"the WebSocket sent {len(text)} characters, /logs has {len(logs)}")
    finally:
        http.delete(f"/api/jobs/{job_id}")


def test_read_only_drift(http: httpx.Client) -> None:
    """tools/spec_drift.py's own run (what ``make spec-drift`` reports for this server)."""
    result = spec_drift.check_drift(ADDRESS, token=TOKEN or None, spec=STRICT)
    if result.findings:
        pytest.fail("drift:\n" + "\n".join(f"  - {finding}" for finding in result.findings), pytrace=False)
