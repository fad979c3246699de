"""A submit whose response is lost creates exactly one job, and the caller gets its id.

The submission id is fixed before the first attempt; when the retry hears "already exists", the
client looks the job up and, if it is the one this call sent, returns its id (``_flows.Flows._submit_once``).
A job someone else created under that id is still an error. The same against a live head behind a
proxy: ``tests/faults/test_faults.py::test_lost_submit_response_creates_exactly_one_job``.
"""

from __future__ import annotations

import pytest
from fake_job_server import Connect, FakeJobServer, LoseResponse, Respond
from ray_jobs_client.errors import JobAlreadyExistsError
from ray_jobs_client.retry import RetryPolicy

pytestmark = pytest.mark.timeout(60)

QUICK = RetryPolicy(max_retries=3, backoff_initial=0.001, backoff_max=0.001)
GATEWAY_TIMEOUT = Respond(504, "Gateway Timeout")


@pytest.mark.parametrize("give_id", [True, False], ids=["submission_id", "generated_id"])
@pytest.mark.parametrize("instead", [None, GATEWAY_TIMEOUT], ids=["dropped", "gateway_504"])
def test_a_lost_submit_response_creates_exactly_one_job(
    server: FakeJobServer, connect: Connect, give_id: bool, instead: Respond | None
) -> None:
    client = connect(retries=QUICK)
    server.fail(LoseResponse(instead), when="POST /api/jobs/")

    returned = client.submit_job(entrypoint="echo once", submission_id="rjc-lost" if give_id else None)

    assert list(server.jobs) == [returned]
    assert server.jobs[returned].entrypoint == "echo once"
    if give_id:
        assert returned == "rjc-lost"
    posts = server.sent("POST /api/jobs/")
    assert len(posts) == 2  # the lost one and the retry
    assert [post.json()["submission_id"] for post in posts] == [returned, returned]
    assert posts[0].json() == posts[1].json()


def test_the_job_is_recognised_with_metadata_and_runtime_env(server: FakeJobServer, connect: Connect) -> None:
    """ "Ours" means the same entrypoint, metadata (the client's defaults merged in) and runtime_env
    as this call sent."""
    client = connect(retries=QUICK, metadata={"team": "infra"})
    server.fail(LoseResponse(), when="POST /api/jobs/")

    returned = client.submit_job(
        entrypoint="echo once",
        metadata={"run": "7"},
        runtime_env={"env_vars": {"MODE": "test"}},
    )

    job = server.jobs[returned]
    assert (job.metadata, job.runtime_env) == ({"run": "7", "team": "infra"}, {"env_vars": {"MODE": "test"}})
    assert len(server.jobs) == 1
    assert [r.route for r in server.after_connect()] == [
        "POST /api/jobs/",
        "POST /api/jobs/",
        "GET /api/jobs/{id}",  # is the job that exists the one we sent?
    ]


def test_several_lost_responses_still_make_one_job(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=QUICK)
    server.fail(LoseResponse(GATEWAY_TIMEOUT), when="POST /api/jobs/", times=3)

    returned = client.submit_job(entrypoint="echo once")

    assert list(server.jobs) == [returned]
    assert len(server.sent("POST /api/jobs/")) == 4


def test_an_existing_job_of_someone_else_is_not_taken_for_ours(
    server: FakeJobServer, connect: Connect
) -> None:
    """First attempt: "already exists" with no retry before it — the caller's id was taken."""
    server.add_job("rjc-taken", entrypoint="echo theirs")
    client = connect(retries=QUICK)

    with pytest.raises(JobAlreadyExistsError, match="already exists"):
        client.submit_job(entrypoint="echo ours", submission_id="rjc-taken")

    assert server.jobs["rjc-taken"].entrypoint == "echo theirs"
    assert len(server.sent("POST /api/jobs/")) == 1


def test_a_job_created_by_someone_else_between_two_attempts_is_an_error(
    server: FakeJobServer, connect: Connect
) -> None:
    """The first attempt fails with a 503 (nothing created); before the retry, another client takes
    the id. The retry's "already exists" is checked, and the job found is not ours."""
    client = connect(retries=QUICK)
    server.fail(
        Respond(503, "busy"),
        when="POST /api/jobs/",
        afterwards=lambda: server.add_job("rjc-raced", entrypoint="echo theirs"),
    )

    with pytest.raises(JobAlreadyExistsError):
        client.submit_job(entrypoint="echo ours", submission_id="rjc-raced")

    assert server.jobs["rjc-raced"].entrypoint == "echo theirs"
    assert [r.route for r in server.after_connect()] == [
        "POST /api/jobs/",
        "POST /api/jobs/",
        "GET /api/jobs/{id}",
    ]


def test_retries_0_leaves_a_lost_response_to_the_caller(server: FakeJobServer, connect: Connect) -> None:
    """Without retries the job exists, but the caller only hears that the connection failed."""
    client = connect(retries=0)
    server.fail(LoseResponse(), when="POST /api/jobs/")

    with pytest.raises(ConnectionError):
        client.submit_job(entrypoint="echo once", submission_id="rjc-unanswered")

    assert list(server.jobs) == ["rjc-unanswered"]
    assert len(server.sent("POST /api/jobs/")) == 1


def test_the_fake_answers_a_duplicate_as_the_server_does(server: FakeJobServer) -> None:
    """What the recovery relies on: a second POST of the same id is a 500 whose traceback ends with
    Ray's "already exists" line (``ray-jobs-api.md`` §1.1)."""
    with server.http_client(base_url="http://jobs.example:8265") as http:
        first = http.post("/api/jobs/", json={"entrypoint": "echo", "submission_id": "rjc-dup"})
        second = http.post("/api/jobs/", json={"entrypoint": "echo", "submission_id": "rjc-dup"})
    assert first.json() == {"job_id": "rjc-dup", "submission_id": "rjc-dup"}
    assert second.status_code == 500
    assert second.headers["content-type"] == "text/plain; charset=utf-8"
    assert second.text.endswith(
        "ValueError: Job with submission_id rjc-dup already exists. "
        "Please use a different submission_id.\n.\n"
    )
