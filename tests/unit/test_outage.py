"""Outage patience of long-running operations, on a fake job server that goes away and comes back.

The fake server (``httpx.MockTransport``) is down for a number of requests — every connection
refused — then answers again, possibly as another cluster (a new ``session_name``, the job gone).
The same with a real head behind a proxy that goes down is in ``tests/faults/test_outages.py``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.errors import (
    ClusterRestartedError,
    JobNotFoundError,
    JobWaitTimeoutError,
    ServerUnreachableError,
)
from ray_jobs_client.outage import Outage, OutagePolicy
from ray_jobs_client.transport import RetryPolicy

FAST = OutagePolicy(patience=30.0, backoff_initial=0.001, backoff_max=0.001)
NO_RETRIES = RetryPolicy(max_retries=0)
JOB = "raysubmit_outage"


def job(status: str) -> dict[str, Any]:
    return {
        "type": "SUBMISSION",
        "job_id": None,
        "submission_id": JOB,
        "driver_info": None,
        "status": status,
        "entrypoint": "sleep 1",
        "message": None,
        "error_type": None,
        "start_time": 1,
        "end_time": None if status == "RUNNING" else 2,
        "metadata": {},
        "runtime_env": {},
        "driver_agent_http_address": None,
        "driver_node_id": None,
        "driver_exit_code": None,
    }


class FlakyServer:
    """Answers ``statuses`` in turn to job lookups; refuses connections for ``down`` lookups after
    the first; after the outage it is ``session`` (another name: the cluster restarted, job gone)."""

    def __init__(self, statuses: list[str], down: int, session: str = "s1") -> None:
        self.statuses = statuses
        self.down = down
        self.session = session
        self.lookups = 0
        self.refused = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        back = self.lookups > 0 and self.refused >= self.down
        if request.url.path == "/api/version":
            session = "s1" if self.lookups == 0 else self.session
            return httpx.Response(
                200,
                json={"version": "4", "ray_version": "2.60.0", "ray_commit": "c", "session_name": session},
            )
        if self.lookups > 0 and not back:
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        self.lookups += 1
        if back and self.session != "s1":
            return httpx.Response(404, text=f"Job {JOB} does not exist.")
        status = self.statuses[min(self.lookups - 1, len(self.statuses) - 1)]
        return httpx.Response(200, json=job(status))


def client_for(server: FlakyServer, patience: OutagePolicy = FAST) -> JobSubmissionClient:
    return JobSubmissionClient(
        "http://jobs.example:8265",
        retries=NO_RETRIES,
        outage_patience=patience,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
    )


def test_waiting_rides_out_an_outage_and_says_so_once_each_way(caplog: pytest.LogCaptureFixture) -> None:
    server = FlakyServer(["RUNNING", "SUCCEEDED"], down=5)
    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"), client_for(server) as client:
        details = client.wait_until_finished(JOB, poll=0.01)
    assert details.status == "SUCCEEDED"
    assert server.refused == 5
    lost = [m for m in caplog.messages if m.startswith("Lost the job server")]
    back = [m for m in caplog.messages if "is back after" in m]
    assert len(lost) == 1 and len(back) == 1, caplog.messages
    assert f"waiting for job {JOB} to finish" in lost[0] and "retrying for up to 30 s" in lost[0]


def test_the_async_client_rides_it_out_too() -> None:
    server = FlakyServer(["RUNNING", "SUCCEEDED"], down=5)

    async def wait() -> str:
        async with AsyncJobSubmissionClient(
            "http://jobs.example:8265",
            retries=NO_RETRIES,
            outage_patience=FAST,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
        ) as client:
            return str((await client.wait_until_finished(JOB, poll=0.01)).status)

    assert asyncio.run(wait()) == "SUCCEEDED"
    assert server.refused == 5


def test_after_its_patience_an_outage_is_an_error_saying_how_long_and_what_for() -> None:
    server = FlakyServer(["RUNNING"], down=10**9)
    impatient = OutagePolicy(patience=0.2, backoff_initial=0.01, backoff_max=0.02)
    with client_for(server, impatient) as client, pytest.raises(ServerUnreachableError) as caught:
        client.wait_until_finished(JOB, poll=0.01)
    error = caught.value
    assert isinstance(error, ConnectionError)
    assert error.unreachable_for >= 0.2 and error.what == f"waiting for job {JOB} to finish"
    assert "was unreachable for" in str(error) and "patience: 0.2 s" in str(error)


def test_a_cluster_that_comes_back_restarted_ends_the_wait_with_a_typed_error() -> None:
    server = FlakyServer(["RUNNING"], down=3, session="s2")
    with client_for(server) as client, pytest.raises(ClusterRestartedError) as caught:
        client.wait_until_finished(JOB, poll=0.01)
    assert (caught.value.old_session, caught.value.new_session, caught.value.job_id) == ("s1", "s2", JOB)
    assert "came back as a new cluster" in str(caught.value)


@pytest.fixture(autouse=True)
def quick_rechecks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ray_jobs_client._flows.VANISHED_RECHECK_PAUSE", 0.001)


class DyingHead:
    """A head going down and coming back as a new cluster, as job lookups see it: RUNNING, then
    "does not exist" (the dying head), then refused connections, then the new cluster (no such job)."""

    def __init__(self) -> None:
        self.script = ["RUNNING", "gone", "refuse", "refuse", "refuse", "gone"]
        self.session = "s1"
        self.refused = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/version"):
            return httpx.Response(
                200,
                json={
                    "version": "4",
                    "ray_version": "2.60.0",
                    "ray_commit": "c",
                    "session_name": self.session,
                },
            )
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step == "refuse":
            self.refused += 1
            self.session = "s2"  # what answers next is the restarted cluster
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if step == "gone":
            return httpx.Response(404, text=f"Job {JOB} does not exist.")
        return httpx.Response(200, json=job(step))


def test_a_head_that_forgets_the_job_as_it_goes_down_is_asked_again() -> None:
    """The dying head's 404 is not believed at once: asked again, the server is away, then back as a
    new cluster — ClusterRestartedError, not JobNotFoundError."""
    server = DyingHead()
    client = JobSubmissionClient(
        "http://jobs.example:8265",
        retries=NO_RETRIES,
        outage_patience=FAST,
        http_client=httpx.Client(transport=httpx.MockTransport(server)),
    )
    with client, pytest.raises(ClusterRestartedError):
        client.wait_until_finished(JOB, poll=0.01)
    assert server.refused == 3


def test_a_job_deleted_during_the_outage_of_the_same_cluster_is_not_found() -> None:
    server = FlakyServer(["RUNNING"], down=3)
    server.session = "s1"
    original = server.__call__

    def deleted_after_outage(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if server.refused >= 3 and request.url.path.endswith(JOB):
            return httpx.Response(404, text=f"Job {JOB} does not exist.")
        return response

    client = JobSubmissionClient(
        "http://jobs.example:8265",
        retries=NO_RETRIES,
        outage_patience=FAST,
        http_client=httpx.Client(transport=httpx.MockTransport(deleted_after_outage)),
    )
    with client, pytest.raises(JobNotFoundError):
        client.wait_until_finished(JOB, poll=0.01)


def test_the_callers_wait_timeout_still_rules_during_an_outage() -> None:
    server = FlakyServer(["RUNNING"], down=10**9)
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
