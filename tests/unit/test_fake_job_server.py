"""The fake job server answers as the live one does: a test on the fake is only as good as the fake.

Every exchange below is checked against ``openapi/jobs.yaml`` (the spec the contract tests hold the
live head to, ``tests/contract/spec_validator.py``): status codes, content types and bodies. Those
checks need the spec validators of the ``test`` extra and skip without them (``make unit``); the
texts and shapes the clients' decisions rely on are checked here directly, with or without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fake_job_server import ADDRESS, FakeJobServer

JOB = "raysubmit_fake"


@pytest.fixture
def http(server: FakeJobServer) -> Iterator[httpx.Client]:
    with server.http_client(base_url=ADDRESS) as http:
        yield http


UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def _exchanges(server: FakeJobServer, http: httpx.Client) -> list[tuple[httpx.Response, bool | None]]:
    """One request for every answer the fake gives, with whether its request body is valid."""
    server.add_job("raysubmit_done", status="SUCCEEDED", log="done\n")
    out: list[tuple[httpx.Response, bool | None]] = [
        (http.get("/api/version"), True),
        (http.post("/api/jobs/", json={"entrypoint": "echo hi", "submission_id": JOB, "metadata": {}}), True),
        (http.post("/api/jobs/", json={"entrypoint": "echo hi", "submission_id": JOB}), True),  # duplicate
        (http.post("/api/jobs/", json={"submission_id": "x"}), False),
        (http.post("/api/jobs/", json={"entrypoint": "echo", "bogus": 1}), False),
        (http.post("/api/jobs/", content=b"not json", headers={"Content-Type": "application/json"}), False),
        (http.get("/api/jobs/"), True),
        (http.get(f"/api/jobs/{JOB}"), True),
        (http.get("/api/jobs/raysubmit_nope"), True),
        (http.delete(f"/api/jobs/{JOB}"), True),  # not terminal
        (http.post(f"/api/jobs/{JOB}/stop"), True),
        (http.post("/api/jobs/raysubmit_done/stop"), True),
        (http.post("/api/jobs/raysubmit_nope/stop"), True),
        (http.get("/api/jobs/raysubmit_done/logs"), True),
        (http.get("/api/jobs/raysubmit_nope/logs"), True),
        (http.get("/api/jobs/raysubmit_done/logs/tail"), True),  # no upgrade asked
        (http.get("/api/jobs/raysubmit_nope/logs/tail", headers=UPGRADE), True),
        (http.get("/api/jobs/raysubmit_done/logs/tail", headers=UPGRADE), True),
        (http.delete("/api/jobs/raysubmit_done"), True),
        (http.delete("/api/jobs/raysubmit_done"), True),  # gone
        (http.get("/api/packages/gcs/_ray_pkg_0123456789abcdef.zip"), True),
        (
            http.put("/api/packages/gcs/_ray_pkg_0123456789abcdef.zip", content=b"PK\x05\x06" + bytes(18)),
            None,
        ),
        (http.get("/api/packages/gcs/_ray_pkg_0123456789abcdef.zip"), True),
        (http.get("/api/packages/s3/_ray_pkg_0123456789abcdef.zip"), True),
    ]
    return out


def test_every_answer_of_the_fake_is_one_the_spec_declares(server: FakeJobServer, http: httpx.Client) -> None:
    pytest.importorskip("openapi_schema_validator", reason="the spec validators come with the test extra")
    from spec_validator import ContractRecorder, OpenApiSpec

    recorder = ContractRecorder(OpenApiSpec.load())
    exchanges = _exchanges(server, http)
    for response, request_valid in exchanges:
        recorder.check(response, request_valid=request_valid)
    statuses = {(r.request.method, r.status_code) for r, _ in exchanges}
    assert {("GET", 101), ("GET", 404), ("GET", 500), ("POST", 400), ("DELETE", 500)} <= statuses


def test_what_the_clients_rely_on_reads_as_the_live_server_writes_it(
    server: FakeJobServer, http: httpx.Client
) -> None:
    """The texts and shapes of ``ray-jobs-api.md`` that the clients' decisions key on."""
    server.add_job(JOB, status="RUNNING")
    details = http.get(f"/api/jobs/{JOB}").json()
    assert list(details) == [
        "type",
        "job_id",
        "submission_id",
        "driver_info",
        "status",
        "entrypoint",
        "message",
        "error_type",
        "start_time",
        "end_time",
        "metadata",
        "runtime_env",
        "driver_agent_http_address",
        "driver_node_id",
        "driver_exit_code",
    ]
    missing = http.get("/api/jobs/raysubmit_nope")
    assert (missing.status_code, missing.text) == (404, "Job raysubmit_nope does not exist")
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    assert http.get("/api/jobs").text == "404: Not Found"  # trailing slashes matter
    assert http.get(f"/api/jobs/{JOB}/").text == "404: Not Found"
    wrong = http.get(f"/api/jobs/{JOB}/stop")
    assert (wrong.status_code, wrong.text, wrong.headers["allow"]) == (405, "405: Method Not Allowed", "POST")
    refused = http.delete(f"/api/jobs/{JOB}")
    assert refused.status_code == 500
    assert refused.text.endswith(
        f"Attempted to delete job '{JOB}', but it is in a non-terminal state RUNNING.\n.\n"
    )
    assert http.get(f"/api/jobs/{JOB}/logs/tail").text == "500: WebSocket proxy error"
    assert "date" in http.get("/api/version").headers


def test_a_stop_is_fire_and_forget(server: FakeJobServer, http: httpx.Client) -> None:
    server.add_job(JOB, status="RUNNING")

    assert http.post(f"/api/jobs/{JOB}/stop").json() == {"stopped": True}
    assert http.get(f"/api/jobs/{JOB}").json()["status"] == "RUNNING"  # not at once...
    assert http.get(f"/api/jobs/{JOB}").json()["status"] == "STOPPED"  # ...but soon
    assert http.post(f"/api/jobs/{JOB}/stop").json() == {"stopped": False}


def test_a_job_moves_one_step_per_look(server: FakeJobServer, http: httpx.Client) -> None:
    from fake_job_server import Step

    server.add_job(JOB, status="PENDING", steps=[Step(log="a\n", status="RUNNING"), Step(status="SUCCEEDED")])

    seen: list[Any] = [http.get(f"/api/jobs/{JOB}").json()["status"] for _ in range(3)]

    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert http.get(f"/api/jobs/{JOB}/logs").json() == {"logs": "a\n"}


def test_submitted_fields_are_kept_as_sent(server: FakeJobServer, http: httpx.Client) -> None:
    """Top-level nulls are dropped (the server strips them); the rest is stored and echoed."""
    body = {"entrypoint": "echo", "submission_id": JOB, "runtime_env": {"pip": None}, "metadata": None}

    http.post("/api/jobs/", json=body)

    details = http.get(f"/api/jobs/{JOB}").json()
    assert (details["runtime_env"], details["metadata"], details["status"]) == (
        {"pip": None},
        None,
        "PENDING",
    )


def test_every_request_is_recorded_with_its_route(server: FakeJobServer, http: httpx.Client) -> None:
    http.get("/api/version")
    http.get("/api/jobs/a%2Fb/logs")
    http.put("/api/packages/gcs/x.zip", content=b"")

    assert [r.route for r in server.requests] == [
        "GET /api/version",
        "GET /api/jobs/{id}/logs",
        "PUT /api/packages/{protocol}/{name}",
    ]
    assert server.packages == {"gcs://x.zip": b""}
