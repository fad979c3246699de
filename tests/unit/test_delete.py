"""Deleting a job that ended a moment ago waits until Ray's job manager is done with it.

(The live check, that such a job then stays deleted, is in tests/integration/test_client.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from ray_jobs_api.models import VersionResponse
from ray_jobs_client import AsyncJobSubmissionClient, JobDetails, JobNotFoundError, JobStatus, JobType
from ray_jobs_client._calls import _server_time
from ray_jobs_client._core import Call, Pause
from ray_jobs_client._flows import _delete_settle_delay
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
    ("status", "end_time"),
    [("PENDING", NOW), ("RUNNING", NOW), ("STOPPED_BY_A_NEWER_RAY", None), ("STOPPED_BY_A_NEWER_RAY", 0)],
)
def test_a_job_that_has_not_ended_is_deleted_at_once(
    local_clock: Callable[[float], None], status: str, end_time: float | None
) -> None:
    """The server refuses (or judges) those deletes itself; waiting would only delay its answer. A
    status this client does not know has not ended without an end time (JobDetails.is_finished)."""
    assert _delete_settle_delay(_job(status, end_time), NOW) == 0.0


def test_a_job_in_an_unknown_status_with_an_end_time_waits_as_a_terminal_one(
    local_clock: Callable[[float], None],
) -> None:
    """Ray sets end_time when a job moves into a terminal state: the record may be re-created too."""
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
    assert _server_time(headers) == expected


def _client_of(ray_version: str) -> AsyncJobSubmissionClient:
    """An async client (constructing one does no I/O, so its flows can be driven by hand) that has
    already asked the server its version."""
    client = AsyncJobSubmissionClient("http://127.0.0.1:9")
    client._server_version = VersionResponse(version="4", ray_version=ray_version, ray_commit="0" * 40)
    return client


@pytest.fixture
def client() -> Iterator[AsyncJobSubmissionClient]:
    client = _client_of("2.60.0")
    yield client
    asyncio.run(client.aclose())


@pytest.mark.parametrize(("ray_version", "settles"), [("2.9.3", False), ("2.49.2", False), ("2.50.0", True)])
def test_only_releases_that_recreate_deleted_records_get_the_settle_wait(
    ray_version: str, settles: bool
) -> None:
    """Measured live (releases.DELETE_RACE_SINCE): records came back from 2.50 on, never before."""
    client = _client_of(ray_version)
    try:
        first = next(client._delete_flow("job"))
        assert isinstance(first, Call)
        assert (first.method, first.path) == (
            ("GET", "/api/jobs/job") if settles else ("DELETE", "/api/jobs/job")
        )
    finally:
        asyncio.run(client.aclose())


def test_delete_flow_pauses_then_deletes_a_job_that_just_ended(
    client: AsyncJobSubmissionClient, local_clock: Callable[[float], None]
) -> None:
    flow = client._delete_flow("job")
    lookup = next(flow)
    assert (lookup.method, lookup.path, lookup.reads_headers) == ("GET", "/api/jobs/job", True)
    pause = flow.send((_job("SUCCEEDED", NOW - 0.5), NOW))
    assert isinstance(pause, Pause)
    assert pause.seconds == pytest.approx(DELETE_SETTLE_SECONDS - 0.75)
    delete = flow.send(None)
    assert (delete.method, delete.path) == ("DELETE", "/api/jobs/job")
    with pytest.raises(StopIteration) as done:
        flow.send(True)
    assert done.value.value is True


def test_delete_flow_of_an_old_job_does_not_pause(
    client: AsyncJobSubmissionClient, local_clock: Callable[[float], None]
) -> None:
    flow = client._delete_flow("job")
    next(flow)
    delete = flow.send((_job("FAILED", NOW - 3600), NOW))
    assert isinstance(delete, Call) and delete.method == "DELETE"


def test_delete_flow_sends_the_delete_when_the_lookup_fails(client: AsyncJobSubmissionClient) -> None:
    """A missing job (or any error answer) is reported by the DELETE itself, as Ray's client would."""
    flow = client._delete_flow("job")
    next(flow)
    missing = JobNotFoundError(404, "Job job does not exist", method="GET", path="/api/jobs/job")
    delete = flow.throw(missing)
    assert isinstance(delete, Call) and delete.method == "DELETE"
