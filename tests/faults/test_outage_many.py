"""Waiting for many jobs through an outage of the job server: ``as_completed`` (sync and async) and
``ray-jobs wait`` talk to the session head through a fault proxy that refuses every connection for a
while (``go_down`` / ``come_back``), as a dashboard restart or a dropped port-forward would.

Some jobs end while the server is away; every job still comes out exactly once, with the server's
final status, and each waiter says once that the server was lost and once that it is back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import HeadJobs
from proxy import FaultProxy
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client._completion import FIRST_LIST_MIN_JOBS
from waiting import wait_for

pytestmark = pytest.mark.live

RAY_JOBS = str(Path(sys.executable).parent / "ray-jobs")
LOST, BACK = "Lost the job server", "is back after"
JOBS = FIRST_LIST_MIN_JOBS + 1  # enough for a list per round
DOWN_AT, DOWN_FOR = 3.0, 12.0


def test_as_completed_and_ray_jobs_wait_ride_out_an_outage(
    proxy: FaultProxy, head: HeadJobs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ray_jobs_client")
    job_ids = [head.submit(f"sleep {2 + index}") for index in range(JOBS)]
    address = proxy.address

    def sync_wait() -> list[tuple[str, str]]:
        with JobSubmissionClient(address) as client:
            return [(str(d.submission_id), str(d.status)) for d in client.as_completed(job_ids)]

    def async_wait() -> list[tuple[str, str]]:
        async def wait() -> list[tuple[str, str]]:
            async with AsyncJobSubmissionClient(address) as client:
                return [(str(d.submission_id), str(d.status)) async for d in client.as_completed(job_ids)]

        return asyncio.run(wait())

    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
    cli = subprocess.Popen(
        [RAY_JOBS, "wait", "--address", address, *job_ids],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {"sync": pool.submit(sync_wait), "async": pool.submit(async_wait)}
        # All three waiters are connected (the CLI starts slowly on a loaded machine): the outage
        # must meet them waiting, not connecting.
        wait_for(
            lambda: sum(request.path == "/api/version" for request in proxy.requests) >= 3,
            timeout=120,
            what="the three waiters' version checks",
        )
        time.sleep(DOWN_AT)
        proxy.go_down()
        time.sleep(DOWN_FOR)
        proxy.come_back()
        results = {name: future.result(timeout=240) for name, future in futures.items()}
    out, err = cli.communicate(timeout=240)

    assert proxy.stats["refused_while_down"] > 0  # the outage was real: connections were refused
    ended = {job_id: head.info(job_id) for job_id in job_ids}
    assert {info["status"] for info in ended.values()} == {"SUCCEEDED"}
    # The jobs sleep 2 to 10 s, so most end while the server is away or after it is back.
    for name, result in results.items():
        assert sorted(job_id for job_id, _ in result) == sorted(job_ids), name  # each exactly once
        assert {status for _, status in result} == {"SUCCEEDED"}, name
    what = f"waiting for {JOBS} jobs to finish"
    lost = [m for m in caplog.messages if m.startswith(LOST) and what in m]
    back = [m for m in caplog.messages if BACK in m and what in m]
    assert (len(lost), len(back)) == (2, 2), caplog.messages

    assert cli.returncode == 0, err
    assert all(f"Job '{job_id}' succeeded" in out for job_id in job_ids), out
    assert out.rstrip().endswith(f"All {JOBS} jobs succeeded."), out
    assert err.count(LOST) == 1 and err.count(BACK) == 1, err
