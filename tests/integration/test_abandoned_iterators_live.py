"""Async iterators left early, then asked for again, against the live head: three rounds each.

A program tails a running job's log, leaves the loop (``break``, its own exception, ``aclose()``, or
by dropping the iterator unclosed and letting the garbage collector have it), in its own task or in
another, and tails again; the same with a large log's download left half read. What each round must
show:

* the caller's task is not cancelled (``cancelling() == 0``), and its next ``await`` and its next
  call to the head complete;
* no task the iterator started still runs, every connection left in the client's pool is idle, and
  this process holds no socket to the dashboard beyond those idle connections (a WebSocket, a
  half-read download or the sync client's private async client left open would be one more);
* once the client is closed, the process's sockets to the dashboard and its file descriptors are
  those it had before the test.

The same on the fake server, for every iterator and more places to leave it:
``tests/unit/test_abandoned_iterators.py``.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from abandoning import LEAVE, check_not_cancelled, leave_early, settled
from integration_support import (
    JOB_TIMEOUT,
    connection_pool,
    connections_to,
    dashboard_port,
    open_fds,
    python_entrypoint,
    wait_status,
)
from ray_jobs_client import AsyncJobSubmissionClient, JobStatus, JobSubmissionClient
from waiting import wait_for

pytestmark = [
    pytest.mark.live,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not Path("/proc/self/net/tcp").exists(), reason="counts sockets and descriptors from /proc (Linux)"
    ),
]

ROUNDS = 3
#: Prints a line every 0.2 s; stopped when the module's tests are done (and ends by itself in 10 min).
TICKING_SCRIPT = "import time\nfor i in range(3000):\n    print('tick', i, flush=True)\n    time.sleep(0.2)\n"
#: A log of about 4.5 MB: its download comes in many pieces, and is left after the first.
BIG_LOG_SCRIPT = "for i in range(40000):\n    print('line %06d ' % i + 'x' * 100)\n"
#: How long a left iterator may take to release its stream (a few turns of the event loop, really).
SETTLE = 30.0


@pytest.fixture(scope="module")
def ticking_job(head_address: str) -> Iterator[str]:
    """A job that keeps printing while the module's tests tail it."""
    submission_id = f"rjc-ticking-{uuid.uuid4().hex[:8]}"
    with JobSubmissionClient(head_address) as client:
        client.submit_job(entrypoint=python_entrypoint(TICKING_SCRIPT), submission_id=submission_id)
        wait_status(client, submission_id, JobStatus.RUNNING)
        wait_for(
            lambda: "tick 0\n" in client.get_job_logs(submission_id),
            what="the first tick",
            timeout=JOB_TIMEOUT,
        )
        try:
            yield submission_id
        finally:
            client.stop_job(submission_id)


@pytest.fixture(scope="module")
def big_log_job(head_address: str) -> str:
    submission_id = f"rjc-big-log-{uuid.uuid4().hex[:8]}"
    with JobSubmissionClient(head_address) as client:
        client.submit_job(entrypoint=python_entrypoint(BIG_LOG_SCRIPT), submission_id=submission_id)
        final = client.wait_until_finished(submission_id, timeout=JOB_TIMEOUT, poll=0.5)
        assert final.status == JobStatus.SUCCEEDED, final
    return submission_id


class Tailing:
    """One kind of iterator on the live head: the async client's ``tail_job_logs`` or
    ``iter_job_logs``, or the sync client's ``tail_job_logs``; and what this process holds."""

    def __init__(self, kind: str, address: str, job: str) -> None:
        self.kind = kind
        self.job = job
        self.port = dashboard_port(address)
        self.sockets_before = connections_to(self.port)
        # The log the values are checked against (the sync client: usable from the checks, which
        # are not coroutines).
        self.checker = JobSubmissionClient(address)
        self.big_log = self.checker.get_job_logs(job) if kind == "async_download" else ""
        self.client: JobSubmissionClient | AsyncJobSubmissionClient = (
            JobSubmissionClient(address) if kind == "sync_tail" else AsyncJobSubmissionClient(address)
        )

    def open(self) -> AsyncIterator[str]:
        if isinstance(self.client, JobSubmissionClient):
            return self.client.tail_job_logs(self.job)
        if self.kind == "async_download":
            return self.client.iter_job_logs(self.job)
        return self.client.tail_job_logs(self.job)

    def check(self, value: Any, first: bool) -> None:
        """The first value begins the log; any later one is a piece of it."""
        log = self.big_log or self.checker.get_job_logs(self.job)
        assert isinstance(value, str) and value
        assert log.startswith(value) if first else value in log

    async def call_the_head(self) -> None:
        """A call of the caller's own, after the round: it completes."""
        if isinstance(self.client, JobSubmissionClient):
            assert self.client.get_job_status(self.job) in (JobStatus.RUNNING, JobStatus.SUCCEEDED)
        else:
            assert await self.client.get_job_status(self.job) in (JobStatus.RUNNING, JobStatus.SUCCEEDED)

    def still_open(self) -> list[str]:
        """Connections in use, and sockets to the dashboard beyond the pools' idle connections."""
        connections = [
            c for client in (self.client, self.checker) for c in connection_pool(client).connections
        ]
        idle = [connection for connection in connections if connection.is_idle()]
        busy = [connection for connection in connections if not connection.is_idle()]
        extra = connections_to(self.port) - self.sockets_before - len(idle)
        return [
            *(f"a connection in use: {connection!r}" for connection in busy),
            *([f"{extra} socket(s) to the dashboard outside the client's pool"] if extra > 0 else []),
        ]

    async def aclose(self) -> None:
        if isinstance(self.client, AsyncJobSubmissionClient):
            await self.client.aclose()

    def close(self) -> None:
        if isinstance(self.client, JobSubmissionClient):
            self.client.close()
        self.checker.close()


@pytest.mark.parametrize("where", ["here", "task", "moved"])
@pytest.mark.parametrize("leave", LEAVE)
@pytest.mark.parametrize("kind", ["async_tail", "sync_tail", "async_download"])
def test_left_three_times_the_caller_goes_on_and_nothing_stays_open(
    head_address: str, ticking_job: str, big_log_job: str, kind: str, leave: str, where: str
) -> None:
    gc.collect()  # what earlier tests left for the collector is not counted as ours
    fds_before = open_fds()
    tailing = Tailing(kind, head_address, big_log_job if kind == "async_download" else ticking_job)

    async def rounds() -> None:
        try:
            for _ in range(ROUNDS):
                await leave_early(tailing.open, tailing.check, leave, where)
                check_not_cancelled()
                await asyncio.sleep(0)  # the caller's next await completes
                await tailing.call_the_head()
                await settled(tailing.still_open, timeout=SETTLE)
                check_not_cancelled()
        finally:
            await tailing.aclose()

    asyncio.run(rounds())
    tailing.close()
    assert connections_to(tailing.port) == tailing.sockets_before
    assert open_fds() == fds_before
