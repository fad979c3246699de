"""``tools/spec_drift.py`` (``make spec-drift``): no drift against the live head, drift against a fake.

The fake is a tiny ``http.server`` on 127.0.0.1 that answers like Ray 2.60 except where a future
server might differ: a job with an unknown field and an unknown status, an undeclared status code, a
wrong content type. The same fake shows what this project's wrapper does with such answers.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import spec_drift
from ray_jobs_client.testing import LocalRayHead
from spec_tools import ROOT

JOB: dict[str, Any] = {
    "type": "SUBMISSION",
    "job_id": None,
    "submission_id": "rjc-fake-1",
    "driver_info": None,
    "status": "SUCCEEDED",
    "entrypoint": "echo hi",
    "message": "Job finished successfully.",
    "error_type": None,
    "start_time": 1795634288064,
    "end_time": 1795634290275,
    "metadata": {},
    "runtime_env": {},
    "driver_agent_http_address": "http://127.0.0.1:52365",
    "driver_node_id": "7d1ba6582e11754214d2799cf983cdb646014e8418a23f662311becb",
    "driver_exit_code": 0,
}
VERSION = {"version": "4", "ray_version": "2.60.0", "ray_commit": "0" * 40, "session_name": "session_x"}


class FakeJobServer(ThreadingHTTPServer):
    """Answers the drift check's reads from ``jobs``; ``overrides`` maps a path to (status, type, body)."""

    def __init__(
        self, jobs: list[dict[str, Any]], overrides: dict[str, tuple[int, str, bytes]] | None = None
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.jobs = jobs
        self.overrides = overrides or {}

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeJobServer

    def do_GET(self) -> None:
        path = self.path
        if path in self.server.overrides:
            self._send(*self.server.overrides[path])
        elif path == "/api/version":
            self._json(VERSION)
        elif path == "/api/jobs/":
            self._json(self.server.jobs)
        elif path.startswith("/api/packages/gcs/"):
            name = path.rsplit("/", 1)[1]
            self._send(404, "text/plain; charset=utf-8", f"Package gcs://{name} does not exist".encode())
        elif path.startswith("/api/jobs/"):
            job_id, _, rest = path[len("/api/jobs/") :].partition("/")
            job = next((job for job in self.server.jobs if job["submission_id"] == job_id), None)
            if job is None:
                self._send(404, "text/plain; charset=utf-8", f"Job {job_id} does not exist".encode())
            elif rest == "logs":
                self._json({"logs": "hi\n"})
            else:
                self._json(job)
        else:
            self._send(404, "text/plain; charset=utf-8", b"404: Not Found")

    def _json(self, body: Any) -> None:
        self._send(200, "application/json; charset=utf-8", json.dumps(body).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_server(request: pytest.FixtureRequest) -> Iterator[FakeJobServer]:
    jobs, overrides = getattr(request, "param", ([copy.deepcopy(JOB)], {}))
    server = FakeJobServer(jobs, overrides)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _drift_cli(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "spec_drift.py"), address, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.live
def test_no_drift_against_the_live_head(ray_head: LocalRayHead) -> None:
    result = _drift_cli(ray_head.address, "--token", ray_head.token or "", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["findings"] == []
    checked = {exchange["operation"] for exchange in report["exchanges"]}
    assert checked == {"get_version", "list_jobs", "get_job_info", "get_package"} | (
        {"get_job_logs"} if report["skipped"] is None else set()
    )


@pytest.mark.live
def test_missing_token_is_not_drift_but_an_impossible_check(ray_head: LocalRayHead) -> None:
    result = _drift_cli(ray_head.address, "--token", "")
    assert result.returncode == 2
    assert "401" in result.stderr


def test_no_drift_against_a_faithful_fake(fake_server: FakeJobServer) -> None:
    result = _drift_cli(fake_server.address)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 drift finding(s) in 6 exchange(s)" in result.stdout


_FUTURE_JOB = {**JOB, "status": "PAUSED", "entrypoint_priority": 5}


@pytest.mark.parametrize("fake_server", [([_FUTURE_JOB], {})], indirect=True)
def test_unknown_field_and_unknown_status_are_drift(fake_server: FakeJobServer) -> None:
    result = _drift_cli(fake_server.address)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("DRIFT")]
    # Both in the list and in the details of the job.
    for operation, where in (("list_jobs", "at 0"), ("get_job_info", "at <root>")):
        assert any(
            "unknown-field" in line
            and operation in line
            and f"{where}: unknown key(s) 'entrypoint_priority'" in line
            for line in lines
        ), lines
        status = "at 0/status" if operation == "list_jobs" else "at status"
        assert any(
            "unknown-enum" in line and operation in line and f"{status}: 'PAUSED' is not one of" in line
            for line in lines
        ), lines
    assert len(lines) == 4, lines


@pytest.mark.parametrize(
    "fake_server",
    [
        (
            [JOB],
            {
                "/api/version": (200, "text/html", b"<html>proxy login</html>"),
                "/api/jobs/rjc-fake-1/logs": (202, "application/json", b"{}"),
            },
        )
    ],
    indirect=True,
)
def test_undeclared_status_and_content_type_are_drift(fake_server: FakeJobServer) -> None:
    check = spec_drift.check_drift(fake_server.address)
    kinds = {(finding.operation, finding.kind) for finding in check.findings}
    assert kinds == {("get_version", "content-type"), ("get_job_logs", "undeclared-status")}


@pytest.mark.parametrize(
    "fake_server",
    [([JOB], {"/api/version": (200, "application/json", json.dumps({**VERSION, "version": "5"}).encode())})],
    indirect=True,
)
def test_another_jobs_api_version_is_drift(fake_server: FakeJobServer) -> None:
    check = spec_drift.check_drift(fake_server.address)
    assert [(finding.kind, finding.detail) for finding in check.findings] == [
        ("api-version", "the server speaks Jobs API '5', the spec describes '4'")
    ]


# ------------------------------------------------------------------ what the wrapper does with drift


def _address_from_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    """Like Ray's, the client lets these variables override its address argument: drop them."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)


@pytest.mark.parametrize("fake_server", [([{**JOB, "entrypoint_priority": 5}], {})], indirect=True)
def test_wrapper_keeps_unknown_fields(fake_server: FakeJobServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from ray_jobs_client import JobSubmissionClient

    _address_from_argument(monkeypatch)
    with JobSubmissionClient(fake_server.address) as client:
        details = client.get_job_info("rjc-fake-1")
        assert details.extra == {"entrypoint_priority": 5}
        assert details.status == "SUCCEEDED"
        [listed] = client.list_jobs()
        assert listed.extra == {"entrypoint_priority": 5}


@pytest.mark.parametrize("fake_server", [([{**JOB, "status": "PAUSED"}, JOB], {})], indirect=True)
def test_wrapper_on_an_unknown_status(fake_server: FakeJobServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A status from a newer Ray is kept (not terminal as a status; the job has ended since it has an
    end_time, so a wait ends) and does not hide the other jobs of a list."""
    from ray_jobs_client import JobStatus, JobSubmissionClient

    _address_from_argument(monkeypatch)
    with JobSubmissionClient(fake_server.address) as client:
        details = client.get_job_info("rjc-fake-1")
        assert details.status == "PAUSED"
        assert isinstance(details.status, JobStatus)
        assert not details.status.is_terminal()
        assert details.is_finished()
        statuses = [job.status for job in client.list_jobs()]
        assert statuses == ["PAUSED", "SUCCEEDED"]
        assert statuses[1] is JobStatus.SUCCEEDED


#: Records the client reads tolerantly (tests/unit/test_odd_records.py), each a drift of the server.
_ODD_JOBS = {
    "message missing": {key: value for key, value in JOB.items() if key != "message"},
    "driver_exit_code missing": {key: value for key, value in JOB.items() if key != "driver_exit_code"},
    "start_time as text": {**JOB, "start_time": "1795634288064"},
    "pid as an integer": {
        **JOB,
        "driver_info": {"id": "02000000", "node_ip_address": "192.0.2.2", "pid": 6558},
    },
    "end_time of no usable type": {**JOB, "end_time": True},
    "no status": {key: value for key, value in JOB.items() if key != "status"},
}


@pytest.mark.parametrize(
    "fake_server", [([job], {}) for job in _ODD_JOBS.values()], ids=list(_ODD_JOBS), indirect=True
)
def test_what_the_wrapper_reads_tolerantly_is_drift(fake_server: FakeJobServer) -> None:
    """The client's tolerance takes nothing from the drift check: it reads the raw answers."""
    check = spec_drift.check_drift(fake_server.address)

    kinds = {(finding.operation, finding.kind) for finding in check.findings}
    assert kinds == {("list_jobs", "schema"), ("get_job_info", "schema")}, check.findings
