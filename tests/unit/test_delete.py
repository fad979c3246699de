"""Deleting a job that ended a moment ago waits until Ray's job manager is done with it.

(The live check, that such a job then stays deleted, is in tests/integration/test_client.py.)
"""

from __future__ import annotations

import pytest
from ray_jobs_client import JobDetails, JobStatus, JobType
from ray_jobs_client._base import DELETE_SETTLE_SECONDS, _delete_settle_delay
from ray_jobs_client._calls import _server_time

NOW = 1_795_644_504.0  # a server clock reading (epoch seconds)


def _job(status: str, end_time: float | None) -> JobDetails:
    return JobDetails(
        type=JobType("SUBMISSION"),
        status=JobStatus(status),
        entrypoint="echo hi",
        end_time=None if end_time is None else int(end_time * 1000),
    )


@pytest.mark.parametrize(
    ("ended_ago", "expected"),
    [
        (0.0, DELETE_SETTLE_SECONDS),
        (0.5, DELETE_SETTLE_SECONDS - 0.5),
        (DELETE_SETTLE_SECONDS, 0.0),
        (60, 0.0),
    ],
)
def test_waits_out_the_rest_of_the_settle_time(ended_ago: float, expected: float) -> None:
    assert _delete_settle_delay(_job("SUCCEEDED", NOW - ended_ago), NOW) == pytest.approx(expected)


@pytest.mark.parametrize("status", ["PENDING", "RUNNING", "STOPPED_BY_A_NEWER_RAY"])
def test_a_job_that_has_not_ended_is_deleted_at_once(status: str) -> None:
    """The server refuses (or judges) those deletes itself; waiting would only delay its answer."""
    assert _delete_settle_delay(_job(status, NOW), NOW) == 0.0


def test_a_terminal_job_without_end_time_is_deleted_at_once() -> None:
    assert _delete_settle_delay(_job("FAILED", None), NOW) == 0.0


def test_a_clock_far_behind_the_jobs_node_cannot_stall_a_delete() -> None:
    """end_time comes from the node that ran the job; the head's clock may disagree."""
    delay = _delete_settle_delay(_job("STOPPED", NOW + 3600), NOW)
    assert delay == DELETE_SETTLE_SECONDS + 1.0


def test_without_a_date_header_the_local_clock_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.time", lambda: NOW)
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
