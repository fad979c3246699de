"""What the live integration tests check with one client, checked here for both on the fake server.

Live, a test whose two clients would do the same I/O runs with the sync client only (see
``tests/integration/conftest.py``); each decision it asserts is asserted here for the sync and the
async client alike (the ``connect`` fixture), against the fake job server answering as a Ray 2.60
head does. The live test each one stands beside is named in its docstring.
"""

from __future__ import annotations

import logging

import pytest
from fake_job_server import Connect, FakeJobServer, Respond, open_driver
from ray_jobs_client import (
    AuthenticationError,
    JobAlreadyExistsError,
    JobDetails,
    JobNotFoundError,
    JobNotTerminalError,
    JobStatus,
    LogDecodeError,
)
from ray_jobs_client.errors import (
    BadRequestError,
    PermissionDeniedError,
    UnauthorizedError,
    UnsupportedServerError,
)
from ray_jobs_client.transport import RetryPolicy

pytestmark = pytest.mark.timeout(60)

QUICK = RetryPolicy(max_retries=2, backoff_initial=0.001, backoff_max=0.001)
MISSING = "rjc-nonexistent-job"


def test_a_submitted_job_is_listed_with_its_env_and_metadata(server: FakeJobServer, connect: Connect) -> None:
    """test_client.py::test_list_jobs_then_submit_with_env_vars_and_metadata."""
    runtime_env = {"env_vars": {"RJC_GREETING": "hello from env"}}
    metadata = {"owner": "tests", "unique": "rjc-unit-env"}
    client = connect()
    before = client.list_jobs()
    assert isinstance(before, list) and before == []

    assert (
        client.submit_job(
            entrypoint='echo "$RJC_GREETING"',
            submission_id="rjc-unit-env",
            runtime_env=runtime_env,
            metadata=metadata,
        )
        == "rjc-unit-env"
    )
    server.jobs["rjc-unit-env"].set_status("SUCCEEDED")
    server.jobs["rjc-unit-env"].log = "hello from env\n"

    (job,) = client.list_jobs()
    assert isinstance(job, JobDetails)
    assert (job.submission_id, job.entrypoint) == ("rjc-unit-env", 'echo "$RJC_GREETING"')
    assert job.status == JobStatus.SUCCEEDED
    assert (job.runtime_env, job.metadata) == (runtime_env, metadata)
    status = client.get_job_status("rjc-unit-env")
    assert status == JobStatus.SUCCEEDED and isinstance(status, JobStatus)
    assert "hello from env" in client.get_job_logs("rjc-unit-env")


def test_a_400_answer_to_a_submit_is_a_bad_request_error(server: FakeJobServer, connect: Connect) -> None:
    """test_client.py::test_submit_float_entrypoint_memory_is_a_bad_request (the live head's answer)."""
    body = "Traceback (most recent call last):\nTypeError: entrypoint_memory must be an integer, got 1.5\n"
    server.fail(Respond(400, body), when="POST /api/jobs/")
    client = connect()
    with pytest.raises(BadRequestError, match="entrypoint_memory must be an integer") as caught:
        client.submit_job(entrypoint="echo never")
    assert isinstance(caught.value, RuntimeError)
    assert len(server.sent("POST /api/jobs/")) == 1  # a definite answer: not sent again


def test_stop_then_delete(server: FakeJobServer, connect: Connect) -> None:
    """test_client.py::test_stop_and_delete_a_long_running_job."""
    server.add_job("rjc-unit-sleep", status="RUNNING")
    client = connect(retries=QUICK)
    with pytest.raises(JobNotTerminalError, match="but it is in a non-terminal state") as caught:
        client.delete_job("rjc-unit-sleep")
    assert isinstance(caught.value, RuntimeError)
    assert client.stop_job("rjc-unit-sleep") is True
    assert client.wait_until_finished("rjc-unit-sleep", poll=0.01, timeout=10).status == JobStatus.STOPPED
    assert client.stop_job("rjc-unit-sleep") is False
    server.jobs["rjc-unit-sleep"].set_status("STOPPED", ended_ago=60)
    assert client.delete_job("rjc-unit-sleep") is True
    assert client.list_jobs() == []
    with pytest.raises(JobNotFoundError):
        client.get_job_info("rjc-unit-sleep")


def test_the_deprecated_job_id_kwarg_warns_and_a_duplicate_is_refused(
    server: FakeJobServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """test_client.py::test_deprecated_job_id_kwarg."""
    client = connect()
    with caplog.at_level(logging.WARNING):
        assert client.submit_job(entrypoint="echo hi", job_id="rjc-unit-dup") == "rjc-unit-dup"
    assert "job_id kwarg is deprecated" in caplog.text
    assert client.get_job_info("rjc-unit-dup").submission_id == "rjc-unit-dup"
    with pytest.raises(JobAlreadyExistsError, match="rjc-unit-dup already exists") as caught:
        client.submit_job(entrypoint="echo hi", job_id="rjc-unit-dup")
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.parametrize(
    "operation", ["get_job_info", "get_job_status", "stop_job", "delete_job", "get_job_logs"]
)
def test_an_unknown_job_is_not_found(connect: Connect, operation: str) -> None:
    """test_client.py::test_nonexistent_job."""
    client = connect()
    with pytest.raises(JobNotFoundError, match=f"{MISSING} does not exist") as caught:
        getattr(client, operation)(MISSING)
    assert isinstance(caught.value, RuntimeError)
    assert str(caught.value) == f"Request failed with status code 404: Job {MISSING} does not exist."


def test_the_version_and_the_address(connect: Connect) -> None:
    """test_client.py::test_get_version."""
    client = connect()
    assert client.get_version() == "4"
    assert client.client.get_address() == "http://jobs.example:8265"  # not a coroutine on either


@pytest.mark.parametrize(
    ("kwargs", "feature"),
    [
        ({"entrypoint_label_selector": {"rjc-zone": "nowhere"}}, "entrypoint_label_selector"),
    ],
)
def test_a_field_newer_than_the_server_is_refused_and_nothing_is_sent(
    kwargs: dict[str, object], feature: str
) -> None:
    """test_client.py::test_a_field_newer_than_the_server_is_refused_before_anything_is_sent and
    test_an_empty_label_selector_is_accepted_by_every_release, on a 2.53 server, for both clients."""
    old = FakeJobServer(ray_version="2.53.0")
    for kind in ("sync", "async"):
        client = open_driver(kind, old)
        try:
            with pytest.raises(UnsupportedServerError) as caught:
                client.submit_job(entrypoint="echo gated", submission_id=f"rjc-gated-{kind}", **kwargs)
            assert str(caught.value).startswith("Ray version 2.53.0 is running on the cluster. ")
            assert "Please ensure the cluster is running Ray 2.54 or higher." in str(caught.value)
            assert (caught.value.feature, caught.value.server_version) == (
                f"`{feature}` kwarg",
                "2.53.0",
            )
            assert old.sent("POST /api/jobs/") == []
            empty = client.submit_job(
                entrypoint="echo any", submission_id=f"rjc-empty-{kind}", entrypoint_label_selector={}
            )
            assert empty == f"rjc-empty-{kind}"
            assert feature not in old.sent("POST /api/jobs/")[-1].json()
        finally:
            client.close()
        old.requests.clear()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, "Unauthorized: Missing authentication token", UnauthorizedError),
        (403, "Forbidden: Invalid authentication token", PermissionDeniedError),
    ],
)
def test_a_refused_token_is_an_authentication_error(
    server: FakeJobServer, connect: Connect, status: int, body: str, error: type[Exception]
) -> None:
    """test_client.py::test_no_token_mode_is_refused_by_a_token_cluster and test_wrong_token_is_refused."""
    server.fail(Respond(status, body), when="GET /api/version", times=None)
    with pytest.raises(error, match=body) as caught:
        connect()
    assert isinstance(caught.value, AuthenticationError) and isinstance(caught.value, RuntimeError)
    assert caught.value.status_code == status  # type: ignore[attr-defined]


def test_the_callers_authorization_header_wins_over_the_environment(
    server: FakeJobServer, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """test_client.py::test_caller_authorization_header_wins_over_the_environment."""
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "not-the-token")
    client = connect(headers={"Authorization": "Bearer the-token"})
    assert client.get_version() == "4"
    assert {received.headers["authorization"] for received in server.requests} == {"Bearer the-token"}


def test_a_log_the_server_cannot_decode_is_a_log_decode_error(
    server: FakeJobServer, connect: Connect
) -> None:
    """test_undecodable_logs.py::test_reading_the_log_raises_log_decode_error (the live head's 500)."""
    server.add_job("rjc-unit-bad-log", status="SUCCEEDED")
    body = (
        "Traceback (most recent call last):\n"
        "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 3: invalid start byte\n"
    )
    server.fail(Respond(500, body), when="GET /api/jobs/{id}/logs", times=None)
    client = connect(retries=QUICK)
    with pytest.raises(LogDecodeError, match="can't decode byte 0xff"):
        client.get_job_logs("rjc-unit-bad-log")
