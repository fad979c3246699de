"""What is retried, how often, and how long the client waits: ``RetryPolicy`` / ``RetryTransport``
(``transport.py``) and the client's own retries of the calls the transport must not repeat.

Each fault is scripted on the fake job server (``fake_job_server.py``) and every test checks what
reached the server, for the sync and the async client alike. The same faults against a live head,
through a proxy, are in ``tests/faults/test_faults.py``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fake_job_server import Connect, CutBody, FakeJobServer, LoseResponse, Refuse, Respond
from ray_jobs_client.errors import (
    APIConnectionError,
    BadRequestError,
    JobNotFoundError,
    ServerError,
)
from ray_jobs_client.transport import TRANSIENT_STATUSES, RetryPolicy, retry_after_seconds

pytestmark = pytest.mark.timeout(60)

QUICK = RetryPolicy(max_retries=3, backoff_initial=0.001, backoff_max=0.001)
JOB = "raysubmit_retried"

# Calls whose repetition cannot duplicate work: the transport retries them.
REPEATABLE: dict[str, tuple[Callable[[Any], object], str]] = {
    "get_version": (lambda c: c.get_version(), "GET /api/version"),
    "list_jobs": (lambda c: c.list_jobs(), "GET /api/jobs/"),
    "get_job_info": (lambda c: c.get_job_info(JOB), "GET /api/jobs/{id}"),
    "get_job_logs": (lambda c: c.get_job_logs(JOB), "GET /api/jobs/{id}/logs"),
    "stop_job": (lambda c: c.stop_job(JOB), "POST /api/jobs/{id}/stop"),
}


@pytest.fixture(autouse=True)
def running_job(server: FakeJobServer) -> None:
    server.add_job(JOB, status="RUNNING", log="hello\n")


@pytest.mark.parametrize("call", list(REPEATABLE))
def test_transient_answers_are_retried_until_one_succeeds(
    server: FakeJobServer, connect: Connect, call: str
) -> None:
    run, route = REPEATABLE[call]
    client = connect(retries=QUICK)
    server.fail(Respond(503, "busy"), when=route, times=2)

    run(client)

    assert len(server.sent(route)) - _connect_checks(route) == 3


@pytest.mark.parametrize("status", sorted(TRANSIENT_STATUSES))
def test_every_transient_status_is_retried(server: FakeJobServer, connect: Connect, status: int) -> None:
    client = connect(retries=QUICK)
    server.fail(Respond(status, "not now"), when="GET /api/jobs/")

    assert [job.submission_id for job in client.list_jobs()] == [JOB]
    assert len(server.sent("GET /api/jobs/")) == 2


@pytest.mark.parametrize("call", list(REPEATABLE))
def test_a_lost_response_of_a_repeatable_call_is_sent_again(
    server: FakeJobServer, connect: Connect, call: str
) -> None:
    run, route = REPEATABLE[call]
    client = connect(retries=QUICK)
    server.fail(LoseResponse(), when=route)

    run(client)

    assert len(server.sent(route)) - _connect_checks(route) == 2


def test_retries_end_after_max_retries_with_the_last_answer(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=QUICK)
    server.fail(Respond(503, "still busy"), when="GET /api/jobs/{id}", times=None)

    with pytest.raises(ServerError) as caught:
        client.get_job_info(JOB)

    assert caught.value.status_code == 503 and caught.value.body == "still busy"
    assert len(server.sent("GET /api/jobs/{id}")) == QUICK.max_retries + 1


def test_retries_0_sends_everything_once(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=0)
    server.fail(Respond(503, "busy"), when="GET /api/jobs/")
    server.fail(LoseResponse(), when="GET /api/jobs/{id}")

    with pytest.raises(ServerError):
        client.list_jobs()
    with pytest.raises(APIConnectionError):
        client.get_job_info(JOB)

    assert len(server.sent("GET /api/jobs/")) == 1
    assert len(server.sent("GET /api/jobs/{id}")) == 1


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (500, "500 Internal Server Error\n\nServer got itself in trouble", ServerError),
        (400, "Can only get logs of submission type jobs", BadRequestError),
        (404, f"Job {JOB} does not exist", JobNotFoundError),
    ],
)
def test_definite_answers_are_not_retried(
    server: FakeJobServer, connect: Connect, status: int, body: str, kind: type[Exception]
) -> None:
    client = connect(retries=QUICK)
    server.fail(Respond(status, body), when="GET /api/jobs/{id}/logs", times=None)

    with pytest.raises(kind):
        client.get_job_logs(JOB)

    assert len(server.sent("GET /api/jobs/{id}/logs")) == 1


# --------------------------------------------------------------------------- calls that may have acted


def test_a_submit_is_not_repeated_after_an_error_answer(server: FakeJobServer, connect: Connect) -> None:
    """A 500 may come after the job was created (an agent's error): sending it again is not safe."""
    client = connect(retries=QUICK)
    server.fail(
        Respond(500, "500 Internal Server Error\n\nServer got itself in trouble"), when="POST /api/jobs/"
    )

    with pytest.raises(ServerError):
        client.submit_job(entrypoint="echo once")

    assert len(server.sent("POST /api/jobs/")) == 1
    assert server.jobs.keys() == {JOB}


def test_a_submit_whose_connection_was_refused_is_sent_again(server: FakeJobServer, connect: Connect) -> None:
    """Nothing reached the server: any request is safe to repeat."""
    client = connect(retries=QUICK)
    server.fail(Refuse(), when="POST /api/jobs/", times=2)

    submission_id = client.submit_job(entrypoint="echo refused")

    assert len(server.sent("POST /api/jobs/")) == 3
    assert server.jobs[submission_id].entrypoint == "echo refused"


def test_a_transient_answer_to_a_submit_is_retried_by_the_client(
    server: FakeJobServer, connect: Connect
) -> None:
    client = connect(retries=QUICK)
    server.fail(Respond(503, "busy"), when="POST /api/jobs/", times=2)

    submission_id = client.submit_job(entrypoint="echo later")

    posts = server.sent("POST /api/jobs/")
    assert len(posts) == 3
    assert {post.json()["submission_id"] for post in posts} == {submission_id}
    assert server.jobs[submission_id].entrypoint == "echo later"


def test_a_transient_answer_to_a_delete_is_retried_by_the_client(
    server: FakeJobServer, connect: Connect
) -> None:
    server.add_job("raysubmit_done", status="SUCCEEDED")
    client = connect(retries=QUICK)
    server.fail(Respond(502, "Bad Gateway"), when="DELETE /api/jobs/{id}")

    assert client.delete_job("raysubmit_done") is True
    assert len(server.sent("DELETE /api/jobs/{id}")) == 2
    assert "raysubmit_done" not in server.jobs


def test_a_lost_upload_response_is_retried_with_the_same_bytes(
    server: FakeJobServer, connect: Connect, tmp_path: Path
) -> None:
    """The package is streamed from its file (the transport cannot repeat it): the client sends it
    again itself; PUT overwrites, so the same bytes twice are harmless."""
    (tmp_path / "main.py").write_text("print('hi')\n")
    client = connect(retries=QUICK)
    server.fail(LoseResponse(), when="PUT /api/packages/{protocol}/{name}")

    submission_id = client.submit_job(entrypoint="python main.py", runtime_env={"working_dir": str(tmp_path)})

    puts = server.sent("PUT /api/packages/{protocol}/{name}")
    assert len(puts) == 2 and puts[0].request.url == puts[1].request.url
    working_dir = server.jobs[submission_id].runtime_env["working_dir"]  # type: ignore[index]
    assert working_dir.startswith("gcs://_ray_pkg_") and working_dir in server.packages
    assert len(server.packages[working_dir]) > 0


def test_a_body_cut_mid_stream_is_retried_like_a_lost_response(
    server: FakeJobServer, connect: Connect
) -> None:
    client = connect(retries=QUICK)
    server.fail(CutBody(keep=0.5), when="GET /api/jobs/")

    assert [job.submission_id for job in client.list_jobs()] == [JOB]
    assert len(server.sent("GET /api/jobs/")) == 2


# --------------------------------------------------------------------------- Retry-After


def test_retry_after_is_waited_before_the_retry(server: FakeJobServer, connect: Connect) -> None:
    """The server's ``Retry-After`` replaces the (here tiny) backoff: the retry comes no sooner."""
    client = connect(retries=QUICK)
    server.fail(Respond(503, "busy", {"Retry-After": "0.2"}), when="GET /api/jobs/")

    client.list_jobs()

    first, second = server.sent("GET /api/jobs/")
    assert second.at - first.at >= 0.2


def test_a_submit_honours_retry_after_too(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=QUICK)
    server.fail(Respond(503, "busy", {"Retry-After": "0.2"}), when="POST /api/jobs/")

    client.submit_job(entrypoint="echo patient")

    first, second = server.sent("POST /api/jobs/")
    assert second.at - first.at >= 0.2


def test_a_long_retry_after_is_capped_at_retry_after_max(server: FakeJobServer, connect: Connect) -> None:
    """An hour is asked for; the policy waits at most ``retry_after_max``. Uncapped, the wait would
    not fit the call's deadline (twice the 1 s timeout) and the 503 would be the answer."""
    client = connect(retries=RetryPolicy(max_retries=1, retry_after_max=0.01), timeout=1.0)
    server.fail(Respond(503, "busy", {"Retry-After": "3600"}), when="GET /api/jobs/")

    assert [job.submission_id for job in client.list_jobs()] == [JOB]
    assert len(server.sent("GET /api/jobs/")) == 2


def test_a_retry_after_beyond_the_deadline_ends_the_call_at_once(
    server: FakeJobServer, connect: Connect
) -> None:
    """Waiting 30 s (the cap) cannot fit a 2 s deadline: the answer is the 503, with the server's wish."""
    client = connect(retries=QUICK, timeout=1.0)
    server.fail(Respond(503, "busy", {"Retry-After": "60"}), when="GET /api/jobs/{id}")

    with pytest.raises(ServerError) as caught:
        client.get_job_info(JOB)

    assert caught.value.retry_after == 60.0
    assert len(server.sent("GET /api/jobs/{id}")) == 1


def test_a_submit_ends_at_once_too_when_retry_after_exceeds_its_deadline(
    server: FakeJobServer, connect: Connect
) -> None:
    client = connect(retries=QUICK, timeout=1.0)
    server.fail(Respond(503, "busy", {"Retry-After": "60"}), when="POST /api/jobs/")

    with pytest.raises(ServerError) as caught:
        client.submit_job(entrypoint="echo impatient")

    assert caught.value.retry_after == 60.0
    assert len(server.sent("POST /api/jobs/")) == 1
    assert server.jobs.keys() == {JOB}


@pytest.mark.parametrize("retry_after", ["soon", "Wed, 99 Foo 2015 07:28:00 GMT", "", "-3"])
def test_an_unreadable_retry_after_falls_back_to_the_backoff(
    server: FakeJobServer, connect: Connect, retry_after: str
) -> None:
    client = connect(retries=QUICK, timeout=1.0)
    server.fail(Respond(503, "busy", {"Retry-After": retry_after}), when="GET /api/jobs/")

    client.list_jobs()

    assert len(server.sent("GET /api/jobs/")) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        # An id of its own: the date is made at collection, so it differs between xdist workers.
        pytest.param(email.utils.formatdate(time.time() - 60, usegmt=True), 0.0, id="an-http-date-just-past"),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str, expected: float | None) -> None:
    assert retry_after_seconds({"Retry-After": value}) == expected


def test_a_retry_after_date_in_the_future_counts_from_now() -> None:
    seconds = retry_after_seconds({"Retry-After": email.utils.formatdate(time.time() + 120, usegmt=True)})
    assert seconds is not None and 100 < seconds <= 120


# --------------------------------------------------------------------------- backoff


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(backoff_initial=0.25, backoff_max=2.0)
    for attempt, ceiling in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (5, 2.0), (10, 2.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays), attempt
        assert max(delays) > ceiling / 2  # spread over the whole range, not a fixed pause


def test_retry_after_wins_over_the_backoff_up_to_its_cap() -> None:
    policy = RetryPolicy(backoff_initial=0.25, backoff_max=2.0, retry_after_max=30.0)
    assert policy.delay(1, retry_after=7.0) == 7.0
    assert policy.delay(1, retry_after=3600.0) == 30.0


def _connect_checks(route: str) -> int:
    """Version checks made by opening the client (one, for either kind)."""
    return 1 if route == "GET /api/version" else 0
