"""Outage patience of long-running operations, on a fake job server that goes away and comes back.

The fake job server (``fake_job_server.py``) is down for a number of job look-ups — every connection
refused — then answers again, possibly as another cluster (a new ``session_name``, the job gone).
The same with a real head behind a proxy that goes down is in ``tests/faults/test_outages.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from fake_job_server import ADDRESS, FakeJobServer, Refuse, Respond, Rule, Step
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.errors import (
    ClusterRestartedError,
    JobNotFoundError,
    JobWaitTimeoutError,
    ServerUnreachableError,
)
from ray_jobs_client.outage import Outage, OutagePolicy
from ray_jobs_client.retry import RetryPolicy

FAST = OutagePolicy(patience=30.0, backoff_initial=0.001, backoff_max=0.001, vanished_recheck_pause=0.001)
NO_RETRIES = RetryPolicy(max_retries=0)
JOB = "raysubmit_outage"
LOOKUP = "GET /api/jobs/{id}"


@pytest.fixture
def server() -> FakeJobServer:
    return FakeJobServer(session_name="s1")


def flaky(
    server: FakeJobServer, statuses: list[str], down: int, then: Callable[[], None] | None = None
) -> Rule:
    """The job answers ``statuses`` in turn to look-ups; after the first look-up, ``down`` more are
    refused; ``then`` runs as the server comes back (e.g. as a restarted cluster)."""
    server.add_job(
        JOB, entrypoint="sleep 1", status=statuses[0], steps=[Step(status=s) for s in statuses[1:]]
    )
    return server.fail(Refuse(), when=LOOKUP, skip=1, times=down, afterwards=then)


def client_for(server: FakeJobServer, patience: OutagePolicy = FAST) -> JobSubmissionClient:
    return JobSubmissionClient(
        ADDRESS, retries=NO_RETRIES, outage_patience=patience, http_client=server.http_client()
    )


def test_waiting_rides_out_an_outage_and_says_so_once_each_way(
    server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    outage = flaky(server, ["RUNNING", "SUCCEEDED"], down=5)
    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"), client_for(server) as client:
        details = client.wait_until_finished(JOB, poll=0.01)
    assert details.status == "SUCCEEDED"
    assert outage.fired == 5
    lost = [m for m in caplog.messages if m.startswith("Lost the job server")]
    back = [m for m in caplog.messages if "is back after" in m]
    assert len(lost) == 1 and len(back) == 1, caplog.messages
    assert f"waiting for job {JOB} to finish" in lost[0] and "retrying for up to 30 s" in lost[0]


def test_the_async_client_rides_it_out_too(server: FakeJobServer) -> None:
    outage = flaky(server, ["RUNNING", "SUCCEEDED"], down=5)

    async def wait() -> str:
        async with AsyncJobSubmissionClient(
            ADDRESS, retries=NO_RETRIES, outage_patience=FAST, http_client=server.async_http_client()
        ) as client:
            return str((await client.wait_until_finished(JOB, poll=0.01)).status)

    assert asyncio.run(wait()) == "SUCCEEDED"
    assert outage.fired == 5


def test_after_its_patience_an_outage_is_an_error_saying_how_long_and_what_for(
    server: FakeJobServer,
) -> None:
    flaky(server, ["RUNNING"], down=10**9)
    impatient = OutagePolicy(patience=0.2, backoff_initial=0.01, backoff_max=0.02)
    with client_for(server, impatient) as client, pytest.raises(ServerUnreachableError) as caught:
        client.wait_until_finished(JOB, poll=0.01)
    error = caught.value
    assert isinstance(error, ConnectionError)
    assert error.unreachable_for >= 0.2 and error.what == f"waiting for job {JOB} to finish"
    assert "was unreachable for" in str(error) and "patience: 0.2 s" in str(error)


def test_a_cluster_that_comes_back_restarted_ends_the_wait_with_a_typed_error(server: FakeJobServer) -> None:
    flaky(server, ["RUNNING"], down=3, then=lambda: server.restart_cluster("s2"))
    with client_for(server) as client, pytest.raises(ClusterRestartedError) as caught:
        client.wait_until_finished(JOB, poll=0.01)
    assert (caught.value.old_session, caught.value.new_session, caught.value.job_id) == ("s1", "s2", JOB)
    assert "came back as a new cluster" in str(caught.value)


def test_a_head_that_forgets_the_job_as_it_goes_down_is_asked_again(server: FakeJobServer) -> None:
    """The dying head's 404 is not believed at once: asked again, the server is away, then back as a
    new cluster — ClusterRestartedError, not JobNotFoundError."""
    # A head going down and coming back as a new cluster, as job look-ups see it: RUNNING, then "does
    # not exist" (the dying head), then refused connections, then the new cluster (no such job).
    server.add_job(JOB, entrypoint="sleep 1", status="RUNNING")
    server.fail(Respond(404, f"Job {JOB} does not exist."), when=LOOKUP, skip=1)
    outage = server.fail(
        Refuse(), when=LOOKUP, skip=2, times=3, afterwards=lambda: server.restart_cluster("s2")
    )
    client = client_for(server)
    with client, pytest.raises(ClusterRestartedError):
        client.wait_until_finished(JOB, poll=0.01)
    assert outage.fired == 3


def test_a_job_deleted_during_the_outage_of_the_same_cluster_is_not_found(server: FakeJobServer) -> None:
    flaky(server, ["RUNNING"], down=3, then=lambda: server.jobs.clear())
    with client_for(server) as client, pytest.raises(JobNotFoundError):
        client.wait_until_finished(JOB, poll=0.01)


def test_the_callers_wait_timeout_still_rules_during_an_outage(server: FakeJobServer) -> None:
    flaky(server, ["RUNNING"], down=10**9)
    forever = OutagePolicy(patience=None, backoff_initial=0.01, backoff_max=0.01)
    with (
        client_for(server, forever) as client,
        pytest.raises(JobWaitTimeoutError, match="unreachable") as caught,
    ):
        client.wait_until_finished(JOB, timeout=0.3, poll=0.01)
    assert caught.value.last_status == "RUNNING"


def test_a_definite_answer_is_not_an_outage() -> None:
    outage = Outage("waiting", "http://x", FAST)
    with pytest.raises(JobNotFoundError):
        outage.failed(JobNotFoundError(404, f"Job {JOB} does not exist."))
    assert not outage.ongoing


@pytest.mark.parametrize("patience", [-1.0, float("nan")])
def test_a_negative_patience_is_refused(patience: float) -> None:
    with pytest.raises(ValueError, match="outage patience"):
        OutagePolicy(patience=patience)


def test_patience_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match="outage_patience"):
        AsyncJobSubmissionClient("http://jobs.example:8265", outage_patience="5 minutes")  # type: ignore[arg-type]


def test_the_cli_default_patience_is_the_librarys() -> None:
    from ray_jobs_client import cli, outage

    assert cli.DEFAULT_OUTAGE_PATIENCE == outage.DEFAULT_OUTAGE_PATIENCE
    parser = cli.build_parser()
    assert parser.parse_args(["logs", "x", "--outage-patience", "forever"]).outage_patience is None
    assert parser.parse_args(["logs", "x", "--outage-patience", "90"]).outage_patience == 90.0
    assert parser.parse_args(["logs", "x"]).outage_patience == outage.DEFAULT_OUTAGE_PATIENCE
