"""``delete_job`` end to end: the settle wait before deleting a job that just ended, and the
client's own retry of a DELETE whose response was lost — which reports the job deleted only if the
look-up before the first attempt found it (on every release).

Ray ≥ 2.50 writes a job's record again (FAILED, ``Entrypoint not found.``) when it is deleted too
soon after the job ended; the fake server plays that race with a window as long as the client's
settle time, so a client that deletes too soon loses its delete here. (The pure decisions are in
``test_delete.py``; the race on a live head in ``tests/integration/test_client.py``, lost replies on a
live head in ``tests/faults/test_faults.py``.)
"""

from __future__ import annotations

import logging

import pytest
from fake_job_server import Connect, FakeJobServer, LoseResponse, Refuse, Respond
from ray_jobs_client.defaults import DELETE_SETTLE_SECONDS
from ray_jobs_client.errors import APIConnectionError, JobNotFoundError, JobNotTerminalError
from ray_jobs_client.retry import RetryPolicy

pytestmark = pytest.mark.timeout(60)

QUICK = RetryPolicy(max_retries=3, backoff_initial=0.001, backoff_max=0.001)
JOB = "raysubmit_ended"
LOOK_UP, DELETE = "GET /api/jobs/{id}", "DELETE /api/jobs/{id}"
#: A release that waits before deleting a job that just ended, and two that do not.
RELEASES = ["2.60.0", "2.49.2", "2.9.3"]
#: How long ago the job ended: the client has the last fraction of its settle time left to wait.
JUST_ENDED = DELETE_SETTLE_SECONDS - 0.2


def _routes(server: FakeJobServer) -> list[str]:
    return [received.route for received in server.after_connect()]


@pytest.fixture
def racy(server: FakeJobServer) -> FakeJobServer:
    server.recreate_deleted_within = DELETE_SETTLE_SECONDS
    return server


def test_the_race_is_real_in_the_fake(racy: FakeJobServer) -> None:
    """Without the wait, the record comes back (else the next test could not fail)."""
    racy.add_job(JOB, status="SUCCEEDED", ended_ago=JUST_ENDED)
    with racy.http_client(base_url="http://jobs.example:8265") as http:
        assert http.delete(f"/api/jobs/{JOB}").json() == {"deleted": True}
        ghost = http.get(f"/api/jobs/{JOB}").json()
    assert (ghost["status"], ghost["entrypoint"]) == ("FAILED", "Entrypoint not found.")


def test_a_job_that_just_ended_is_deleted_once_ray_is_done_with_it(
    racy: FakeJobServer, connect: Connect
) -> None:
    client = connect(retries=QUICK)
    racy.add_job(JOB, status="SUCCEEDED", ended_ago=JUST_ENDED)

    assert client.delete_job(JOB) is True

    assert JOB not in racy.jobs
    assert _routes(racy) == [LOOK_UP, DELETE]


def test_a_release_without_the_race_is_not_kept_waiting(racy: FakeJobServer, connect: Connect) -> None:
    """Ray 2.49 never re-creates a record: the look-up (which proves the job exists), no wait, even
    for a job that ended just now."""
    racy.ray_version = "2.49.2"
    racy.add_job(JOB, status="STOPPED", ended_ago=0.0)
    client = connect(retries=QUICK)

    assert client.delete_job(JOB) is True

    assert JOB not in racy.jobs
    assert _routes(racy) == [LOOK_UP, DELETE]


# ------------------------------------------------------------------ a lost response, on every release


@pytest.fixture(params=RELEASES)
def release(request: pytest.FixtureRequest, server: FakeJobServer) -> FakeJobServer:
    """The server, running a release with the settle wait (2.60) or without it (2.49, 2.9)."""
    server.ray_version = request.param
    return server


def test_a_lost_delete_response_still_reports_deleted(
    release: FakeJobServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """The job was deleted, the answer lost; the client's retry hears "does not exist". The look-up
    found the job before the first attempt, so that attempt deleted it. (A transport that repeated
    the DELETE blindly would raise here.)"""
    release.add_job(JOB, status="FAILED")
    client = connect(retries=QUICK)
    release.fail(LoseResponse(), when=DELETE)

    with caplog.at_level(logging.INFO, logger="ray_jobs_client"):
        assert client.delete_job(JOB) is True

    assert JOB not in release.jobs
    assert _routes(release) == [LOOK_UP, DELETE, DELETE]
    assert (
        f"Job {JOB} existed before this delete's first attempt and is gone now: deleted by an earlier "
        "attempt whose answer was lost."
    ) in [r.getMessage() for r in caplog.records]


def test_deleting_a_job_that_never_existed_is_not_found_even_when_a_response_would_be_lost(
    release: FakeJobServer, connect: Connect
) -> None:
    """The look-up answers 404: that answer is raised, the DELETE never sent (so no lost answer of
    it can be taken for a success)."""
    client = connect(retries=QUICK)
    lose = release.fail(LoseResponse(), when=DELETE)

    with pytest.raises(
        JobNotFoundError, match=r"^Request failed with status code 404: Job never-existed does not"
    ):
        client.delete_job("never-existed")

    assert _routes(release) == [LOOK_UP]
    assert lose.fired == 0


def test_deleting_an_unknown_job_is_not_found_at_the_first_answer(
    release: FakeJobServer, connect: Connect
) -> None:
    client = connect(retries=QUICK)

    with pytest.raises(JobNotFoundError, match="Job raysubmit_nope does not exist"):
        client.delete_job("raysubmit_nope")

    assert _routes(release) == [LOOK_UP]


def test_a_look_up_that_fails_proves_nothing(
    release: FakeJobServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """The look-up is answered with a 500; the DELETE is sent (the server decides), its answer lost,
    and the retry's "does not exist" cannot be told from a job that never was: it is raised, with a
    warning saying what is not known. (The job is gone: the state the caller asked for holds.)"""
    release.add_job(JOB, status="FAILED")
    client = connect(retries=QUICK)
    release.fail(Respond(500, "Server got itself in trouble"), when=LOOK_UP)
    release.fail(LoseResponse(), when=DELETE)

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"), pytest.raises(JobNotFoundError):
        client.delete_job(JOB)

    assert JOB not in release.jobs
    assert _routes(release) == [LOOK_UP, DELETE, DELETE]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning == (
        f"Job {JOB} does not exist, but whether this delete's earlier attempt (whose answer was lost) "
        "deleted it is not known: the look-up before the first attempt was answered 500 Server got "
        "itself in trouble."
    )


def test_a_server_unreachable_for_the_look_up_fails_the_delete_before_it_is_sent(
    release: FakeJobServer, connect: Connect
) -> None:
    release.add_job(JOB, status="FAILED")
    client = connect(retries=QUICK)
    release.fail(Refuse(), when=LOOK_UP, times=None)

    with pytest.raises(APIConnectionError):
        client.delete_job(JOB)

    assert JOB in release.jobs
    assert release.sent(DELETE) == []


def test_deleting_a_running_job_is_refused_once(release: FakeJobServer, connect: Connect) -> None:
    release.add_job(JOB, status="RUNNING")
    client = connect(retries=QUICK)

    with pytest.raises(JobNotTerminalError, match="non-terminal state RUNNING"):
        client.delete_job(JOB)

    assert JOB in release.jobs
    assert _routes(release) == [LOOK_UP, DELETE]
