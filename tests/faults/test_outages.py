"""Long-running operations ride out an outage of the dashboard link.

A fault proxy in front of the live head goes down (live connections cut with RST, new ones reset)
in the middle of a job, or spanning the job's end, while at the same time the sync and async
followers, ``wait_until_finished`` (sync and async), ``ray-jobs logs -f`` and ``ray-jobs submit``
(following a job of its own) watch through it. Each must print every line exactly once and end with
the job's real status, saying once that the server was lost and once that it is back.

The outage is as long as the longest backoff needs, no longer: the CLI runs with the default
settings, so the outage outlasts every retry a single request of the default
:class:`~ray_jobs_client.transport.RetryPolicy` makes (then only the outage handling can carry the
operation through); the library's operations get policies with short backoffs, so that they too are
carried by the outage handling, capped backoff reached, and see the server back at once.

A cluster that comes back restarted (a new head on the same port): ``test_cluster_restart.py``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import HeadJobs, line_printer, printed_lines
from proxy import FaultProxy
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.defaults import MAX_RETRIES, RETRY_BACKOFF_INITIAL, RETRY_BACKOFF_MAX
from ray_jobs_client.logs import TailPolicy
from ray_jobs_client.outage import OutagePolicy
from ray_jobs_client.transport import RetryPolicy
from waiting import wait_for

pytestmark = [pytest.mark.live, pytest.mark.timeout(300)]

RAY_JOBS = str(Path(sys.executable).parent / "ray-jobs")
LOST, BACK = "Lost the job server", "is back after"


@dataclass(frozen=True)
class Scenario:
    lines: int  # the job prints one line a second
    down_at: float  # seconds after the four followers' log streams are open
    down_for: float

    @property
    def entrypoint(self) -> str:
        return line_printer(self.lines, 1.0)

    @property
    def expected(self) -> list[str]:
        return [f"line {i}" for i in range(self.lines)]


#: The longest a request of the default RetryPolicy keeps retrying a refused connection (the sum of
#: its backoff ceilings): an outage shorter than this might never reach the outage handling.
DEFAULT_RETRY_SPAN = sum(
    min(RETRY_BACKOFF_MAX, RETRY_BACKOFF_INITIAL * 2 ** (attempt - 1))
    for attempt in range(1, MAX_RETRIES + 1)
)
#: Long enough for the CLI's default retries to run out, with a margin on a loaded machine.
DOWN_FOR = DEFAULT_RETRY_SPAN + 4.0
#: The library's operations: short backoffs everywhere, so that the outage handling (not one request's
#: retries) carries them, its backoff reaches its cap within the outage, and they notice at once
#: when the server is back.
QUICK_SETTINGS: dict[str, object] = {
    "retries": RetryPolicy(backoff_initial=0.05, backoff_max=0.25),
    "outage_patience": OutagePolicy(backoff_initial=0.1, backoff_max=1.0),
    "tail_policy": TailPolicy(backoff_initial=0.1, backoff_max=0.5),
}

SCENARIOS = {
    "outage in mid-job": Scenario(lines=int(DOWN_FOR) + 20, down_at=3, down_for=DOWN_FOR),
    "outage spanning the job's end": Scenario(lines=8, down_at=1, down_for=DOWN_FOR),
}


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
    return subprocess.Popen(
        [RAY_JOBS, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_followers_and_waits_ride_out_an_outage(
    scenario: Scenario, proxy: FaultProxy, head: HeadJobs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ray_jobs_client")
    job_id = head.submit(scenario.entrypoint)
    address = proxy.address

    def follow_sync() -> str:
        with JobSubmissionClient(address, **QUICK_SETTINGS) as client:  # type: ignore[arg-type]
            return "".join(client.follow_job_logs(job_id))

    def follow_async() -> str:
        async def tail() -> str:
            async with AsyncJobSubmissionClient(address, **QUICK_SETTINGS) as client:  # type: ignore[arg-type]
                return "".join([chunk async for chunk in client.tail_job_logs(job_id)])

        return asyncio.run(tail())

    def wait_sync() -> str:
        with JobSubmissionClient(address, **QUICK_SETTINGS) as client:  # type: ignore[arg-type]
            return str(client.wait_until_finished(job_id).status)

    def wait_async() -> str:
        async def wait() -> str:
            async with AsyncJobSubmissionClient(address, **QUICK_SETTINGS) as client:  # type: ignore[arg-type]
                return str((await client.wait_until_finished(job_id)).status)

        return asyncio.run(wait())

    operations: dict[str, Callable[[], str]] = {
        "follow_job_logs": follow_sync,
        "tail_job_logs": follow_async,
        "wait_until_finished": wait_sync,
        "async wait_until_finished": wait_async,
    }
    cli_logs = _cli("logs", "--follow", job_id, "--address", address)
    cli_submit = _cli("submit", "--address", address, "--", *_argv(scenario.entrypoint))
    with concurrent.futures.ThreadPoolExecutor(len(operations)) as pool:
        futures = {name: pool.submit(operation) for name, operation in operations.items()}
        # The two followers and the two CLIs (which start slowly on a loaded machine) are streaming.
        wait_for(lambda: proxy.stats["websockets"] >= 4, timeout=120, what="the four log streams")
        time.sleep(scenario.down_at)
        proxy.go_down()
        time.sleep(scenario.down_for)
        proxy.come_back()
        results = {name: future.result(timeout=240) for name, future in futures.items()}
    logs_out, logs_err = cli_logs.communicate(timeout=240)
    submit_out, submit_err = cli_submit.communicate(timeout=240)

    final = head.wait(job_id)
    assert final["status"] == "SUCCEEDED"
    assert proxy.stats["refused_while_down"] > 0  # the outage was real: connections were refused
    whole_log = head.logs(job_id)
    for name in ("follow_job_logs", "tail_job_logs"):
        assert printed_lines(results[name]) == scenario.expected, name  # each line exactly once
        assert results[name] == whole_log, name
    assert results["wait_until_finished"] == results["async wait_until_finished"] == "SUCCEEDED"
    # One warning when the server was lost and one when it was back, per operation.
    for what, count in (
        (f"following the log of job {job_id}", 2),
        (f"waiting for job {job_id} to finish", 2),
    ):
        lost = [m for m in caplog.messages if m.startswith(LOST) and what in m]
        back = [m for m in caplog.messages if BACK in m and what in m]
        assert (len(lost), len(back)) == (count, count), (what, caplog.messages)

    assert cli_logs.returncode == 0, logs_err
    assert printed_lines(logs_out) == scenario.expected
    assert logs_err.count(LOST) == 1 and logs_err.count(BACK) == 1, logs_err
    assert cli_submit.returncode == 0, submit_err
    assert printed_lines(submit_out) == scenario.expected
    assert "succeeded" in submit_out
    assert submit_err.count(LOST) == 1 and submit_err.count(BACK) == 1, submit_err


def _argv(entrypoint: str) -> list[str]:
    import shlex

    return shlex.split(entrypoint)
