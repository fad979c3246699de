"""``_do_request``, Ray's raw-request hook: the client's address, headers and cookies, the answer
returned whatever its status, and retries only where a repeat cannot do the work twice. (The live
head's answers to raw requests: tests/contract.)"""

from __future__ import annotations

import pytest
from fake_job_server import Connect, FakeJobServer, LoseResponse, Respond
from ray_jobs_client.errors import APIConnectionError
from ray_jobs_client.retry import RetryPolicy

QUICK = RetryPolicy(max_retries=3, backoff_initial=0.001, backoff_max=0.001)


def test_the_answer_comes_back_whatever_its_status(server: FakeJobServer, connect: Connect) -> None:
    server.add_job("raysubmit_a", status="SUCCEEDED")
    client = connect(headers={"X-Team": "data"}, cookies={"session": "s1"})

    listed = client._do_request("GET", "/api/jobs/")
    refused = client._do_request("POST", "/api/jobs/", json_data={"key": "baaaad request"})
    missing = client._do_request("GET", "/api/jobs/raysubmit_nope")

    assert listed.status_code == 200
    assert [job["submission_id"] for job in listed.json()] == ["raysubmit_a"]
    assert refused.status_code == 400
    assert "TypeError" in refused.text and "unexpected keyword argument 'key'" in refused.text
    assert (missing.status_code, missing.text) == (404, "Job raysubmit_nope does not exist")
    sent = server.requests[-1]
    assert sent.headers["x-team"] == "data"
    assert "session=s1" in sent.headers["cookie"]


def test_data_is_sent_as_the_body(server: FakeJobServer, connect: Connect) -> None:
    client = connect()
    answer = client._do_request("POST", "/api/jobs/", data=b'{"entrypoint": "echo hi"}')
    assert answer.status_code == 200
    assert server.jobs[answer.json()["submission_id"]].entrypoint == "echo hi"


def test_an_idempotent_request_is_retried(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=QUICK)
    server.fail(Respond(503, "busy"), when="GET /api/jobs/")
    assert client._do_request("GET", "/api/jobs/").status_code == 200
    assert len(server.sent("GET /api/jobs/")) == 2


def test_a_post_whose_reply_is_lost_is_not_repeated(server: FakeJobServer, connect: Connect) -> None:
    """The job was created; a repeat could create a second one (no submission id here to tell)."""
    client = connect(retries=QUICK)
    server.fail(LoseResponse(), when="POST /api/jobs/")
    with pytest.raises(APIConnectionError):
        client._do_request("POST", "/api/jobs/", json_data={"entrypoint": "echo once"})
    assert len(server.sent("POST /api/jobs/")) == 1
    assert len(server.jobs) == 1


def test_a_post_that_met_a_busy_gateway_is_not_repeated(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=QUICK)
    server.fail(Respond(503, "busy"), when="POST /api/jobs/")
    assert client._do_request("POST", "/api/jobs/", json_data={"entrypoint": "echo"}).status_code == 503
    assert len(server.sent("POST /api/jobs/")) == 1
