"""Deleting a job that ended a moment ago waits until Ray's job manager is done with it.

(The live check, that such a job then stays deleted, is in tests/integration/test_client.py.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_job_server import ADDRESS, FakeJobServer, Respond
from ray_jobs_client import JobDetails, JobNotFoundError, JobStatus, JobSubmissionClient, JobType
from ray_jobs_client._async.jobs import _delete_settle_delay
from ray_jobs_client._operations import server_time
from ray_jobs_client.defaults import DELETE_SETTLE_SECONDS

NOW = 1_795_644_504.0  # a server clock reading (epoch seconds)


def _job(status: str, end_time: float | None) -> JobDetails:
    return JobDetails(
        type=JobType("SUBMISSION"),
        status=JobStatus(status),
        entrypoint="echo hi",
        end_time=None if end_time is None else int(end_time * 1000),
    )


@pytest.fixture
def local_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Set what ``time.time()`` answers in the client."""

    def set_to(value: float) -> None:
        monkeypatch.setattr("time.time", lambda: value)

    set_to(NOW + 0.25)  # in sync with the server: inside the second its `Date` header names
    return set_to


@pytest.mark.parametrize(
    ("ended_ago", "expected"),
    [
        (0.0, DELETE_SETTLE_SECONDS - 0.25),
        (1.0, DELETE_SETTLE_SECONDS - 1.25),
        (DELETE_SETTLE_SECONDS, 0.0),
        (60, 0.0),
    ],
)
def test_waits_out_the_rest_of_the_settle_time(
    local_clock: Callable[[float], None], ended_ago: float, expected: float
) -> None:
    assert _delete_settle_delay(_job("SUCCEEDED", NOW - ended_ago), NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("status", "end_time"), [("PENDING", NOW), ("RUNNING", NOW), ("STOPPED_BY_A_NEWER_RAY", None)]
)
def test_a_job_that_has_not_ended_is_deleted_at_once(
    local_clock: Callable[[float], None], status: str, end_time: float | None
) -> None:
    """The server refuses (or judges) those deletes itself; waiting would only delay its answer. A
    status this client does not know means a running job until the job has an end time."""
    assert _delete_settle_delay(_job(status, end_time), NOW) == 0.0


def test_a_job_in_an_unknown_status_with_an_end_time_has_ended(local_clock: Callable[[float], None]) -> None:
    assert _delete_settle_delay(_job("STOPPED_BY_A_NEWER_RAY", NOW), NOW) == pytest.approx(
        DELETE_SETTLE_SECONDS - 0.25
    )


def test_a_terminal_job_without_end_time_is_deleted_at_once(local_clock: Callable[[float], None]) -> None:
    assert _delete_settle_delay(_job("FAILED", None), NOW) == 0.0


def test_a_local_clock_ahead_of_the_server_counts_as_the_end_of_the_date_second(
    local_clock: Callable[[float], None],
) -> None:
    local_clock(NOW + 3600)
    assert _delete_settle_delay(_job("SUCCEEDED", NOW - 0.5), NOW) == pytest.approx(
        DELETE_SETTLE_SECONDS - 1.5
    )


def test_a_local_clock_behind_the_server_counts_as_the_start_of_the_date_second(
    local_clock: Callable[[float], None],
) -> None:
    local_clock(NOW - 3600)
    assert _delete_settle_delay(_job("SUCCEEDED", NOW - 0.5), NOW) == pytest.approx(
        DELETE_SETTLE_SECONDS - 0.5
    )


def test_a_node_clock_far_ahead_cannot_stall_a_delete(local_clock: Callable[[float], None]) -> None:
    """end_time comes from the node that ran the job; the head's clock may disagree."""
    assert _delete_settle_delay(_job("STOPPED", NOW + 3600), NOW) == DELETE_SETTLE_SECONDS


def test_without_a_date_header_the_local_clock_is_used(local_clock: Callable[[float], None]) -> None:
    local_clock(NOW)
    assert _delete_settle_delay(_job("SUCCEEDED", NOW - 0.25), None) == pytest.approx(
        DELETE_SETTLE_SECONDS - 0.25
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"date": "Wed, 25 Nov 2026 22:08:24 GMT"}, 1795644504.0),
        ({}, None),
        ({"date": "yesterday"}, None),
        ({"date": ""}, None),
    ],
)
def test_server_time_comes_from_the_date_header(headers: dict[str, str], expected: float | None) -> None:
    assert server_time(headers) == expected


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the sync client's delete takes (recorded, not slept)."""
    taken: list[float] = []
    monkeypatch.setattr("ray_jobs_client._sync.jobs.sleep", taken.append)
    return taken


def _delete(ray_version: str, status: str, ended_ago: float) -> list[str]:
    """Delete a job of the fake server that ended ``ended_ago`` seconds ago; the requests sent."""
    server = FakeJobServer(ray_version=ray_version)
    server.add_job("job", status=status, ended_ago=ended_ago)
    with JobSubmissionClient(ADDRESS, http_client=server.http_client()) as client:
        assert client.delete_job("job") is True
    return [request.route for request in server.after_connect()]


@pytest.mark.parametrize(("ray_version", "settles"), [("2.9.3", False), ("2.49.2", False), ("2.50.0", True)])
def test_only_releases_that_recreate_deleted_records_get_the_settle_wait(
    ray_version: str, settles: bool, pauses: list[float]
) -> None:
    """Measured live (releases.DELETE_RACE_SINCE): records came back from 2.50 on, never before."""
    assert _delete(ray_version, "SUCCEEDED", ended_ago=0.5) == ["GET /api/jobs/{id}", "DELETE /api/jobs/{id}"]
    assert bool(pauses) == settles


def test_a_job_that_just_ended_is_deleted_after_the_rest_of_the_settle_time(pauses: list[float]) -> None:
    _delete("2.60.0", "SUCCEEDED", ended_ago=0.5)
    (pause,) = pauses
    assert DELETE_SETTLE_SECONDS - 1.5 <= pause <= DELETE_SETTLE_SECONDS - 0.5


def test_an_old_job_is_deleted_without_a_pause(pauses: list[float]) -> None:
    assert _delete("2.60.0", "FAILED", ended_ago=3600) == ["GET /api/jobs/{id}", "DELETE /api/jobs/{id}"]
    assert pauses == []


def test_the_delete_is_sent_when_the_lookup_fails() -> None:
    """An error answer to the look-up (here a 500) is reported by the DELETE itself, as Ray's client would."""
    server = FakeJobServer()
    server.add_job("job", status="FAILED")
    server.fail(Respond(500, "boom"), when="GET /api/jobs/{id}", times=99)
    with JobSubmissionClient(ADDRESS, http_client=server.http_client(), retries=0) as client:
        assert client.delete_job("job") is True
    assert "job" not in server.jobs


def test_a_job_the_look_up_does_not_find_is_not_found_without_a_delete() -> None:
    """No job under that id: the server's 404 to the look-up is raised as is. The DELETE would answer
    the same (the server resolves the id alike for both routes), and its answer could be lost."""
    server = FakeJobServer()
    with (
        JobSubmissionClient(ADDRESS, http_client=server.http_client()) as client,
        pytest.raises(JobNotFoundError, match="Job job does not exist") as caught,
    ):
        client.delete_job("job")
    assert caught.value.method == "GET"
    assert [request.route for request in server.after_connect()] == ["GET /api/jobs/{id}"]
