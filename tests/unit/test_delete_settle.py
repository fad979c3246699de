"""``delete_job`` end to end: the settle wait before deleting a job that just ended, and the
client's own retry of a DELETE whose response was lost.

Ray ≥ 2.50 writes a job's record again (FAILED, ``Entrypoint not found.``) when it is deleted too
soon after the job ended; the fake server plays that race with a window as long as the client's
settle time, so a client that deletes too soon loses its delete here. (The pure decisions are in
``test_delete.py``; the race on a live head in ``tests/integration/test_client.py``.)
"""

from __future__ import annotations

import pytest
from fake_job_server import Connect, FakeJobServer, LoseResponse
from ray_jobs_client.defaults import DELETE_SETTLE_SECONDS
from ray_jobs_client.errors import JobNotFoundError, JobNotTerminalError
from ray_jobs_client.retry import RetryPolicy

pytestmark = pytest.mark.timeout(60)

QUICK = RetryPolicy(max_retries=3, backoff_initial=0.001, backoff_max=0.001)
JOB = "raysubmit_ended"
#: How long ago the job ended: the client has the last fraction of its settle time left to wait.
JUST_ENDED = DELETE_SETTLE_SECONDS - 0.2


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
    assert [r.route for r in racy.after_connect()] == ["GET /api/jobs/{id}", "DELETE /api/jobs/{id}"]


def test_a_release_without_the_race_is_not_kept_waiting(racy: FakeJobServer, connect: Connect) -> None:
    """Ray 2.49 never re-creates a record: no look-up, no wait, even for a job that ended just now."""
    racy.ray_version = "2.49.2"
    racy.add_job(JOB, status="STOPPED", ended_ago=0.0)
    client = connect(retries=QUICK)

    assert client.delete_job(JOB) is True

    assert JOB not in racy.jobs
    assert [r.route for r in racy.after_connect()] == ["DELETE /api/jobs/{id}"]


def test_a_lost_delete_response_still_reports_deleted(server: FakeJobServer, connect: Connect) -> None:
    """The job was deleted, the answer lost; the client's retry hears "does not exist": its own
    first attempt did it. (A transport that repeated the DELETE blindly would raise here.)"""
    server.add_job(JOB, status="FAILED")
    client = connect(retries=QUICK)
    server.fail(LoseResponse(), when="DELETE /api/jobs/{id}")

    assert client.delete_job(JOB) is True

    assert JOB not in server.jobs
    assert len(server.sent("DELETE /api/jobs/{id}")) == 2


def test_deleting_an_unknown_job_is_not_found_at_the_first_answer(
    server: FakeJobServer, connect: Connect
) -> None:
    client = connect(retries=QUICK)

    with pytest.raises(JobNotFoundError, match="Job raysubmit_nope does not exist"):
        client.delete_job("raysubmit_nope")

    assert len(server.sent("DELETE /api/jobs/{id}")) == 1


def test_deleting_a_running_job_is_refused_once(server: FakeJobServer, connect: Connect) -> None:
    server.add_job(JOB, status="RUNNING")
    client = connect(retries=QUICK)

    with pytest.raises(JobNotTerminalError, match="non-terminal state RUNNING"):
        client.delete_job(JOB)

    assert JOB in server.jobs
    assert len(server.sent("DELETE /api/jobs/{id}")) == 1
