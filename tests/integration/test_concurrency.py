"""Many log followers at once on one client, against the session's live head.

What each test proves, for the async ``tail_job_logs`` (20 jobs on one client) and the sync
``follow_job_logs`` (8 threads sharing one client):

* the followers deliver every line exactly once per job, in order, and nothing of another job;
* the connections this process holds to the head's dashboard port (HTTP and log WebSockets) stay
  within the client's pool limit while they run;
* closing the client gives back every file descriptor it took.

One client shared by 16 threads and 1,000 gathered calls (pool bounds, keep-alive, descriptors after
closing) is the client's alone, and runs against a small local server in
tests/unit/test_pool_bounds.py. Connections are counted from ``/proc`` (``tests/sockets.py``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from integration_support import python_entrypoint
from ray_jobs_client import AsyncJobSubmissionClient, JobDetails, JobStatus, JobSubmissionClient
from sockets import HAS_PROC, ConnectionSampler, left_open, open_fds, sockets_to

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not HAS_PROC, reason="counts sockets and descriptors from /proc (Linux)"),
]

#: Jobs followed at once: by the async ``tail_job_logs`` on one client, and by the sync
#: ``follow_job_logs`` in as many threads sharing one client.
ASYNC_TAILS = 20
SYNC_FOLLOWERS = 8
#: Lines each followed job prints (one every 0.1 s, so that the followers see them arrive).
FOLLOWED_LINES = 30


# ------------------------------------------------------------------------------ measuring


def pool_limits(client: JobSubmissionClient | AsyncJobSubmissionClient) -> tuple[int, int]:
    """``(max_connections, max_keepalive_connections)`` of the client's connection pool.

    The clients pass no limits of their own, so their httpx transport has httpx's defaults; they are
    read from the pool itself (httpcore's, under the client's transports) so that these tests follow
    any change.
    """
    layer: Any = client._http
    while not hasattr(layer, "_max_connections"):
        inner = next(
            (getattr(layer, name) for name in ("_transport", "_inner", "_pool") if hasattr(layer, name)), None
        )
        assert inner is not None, f"no connection pool found under {type(layer).__name__}"
        layer = inner
    return int(layer._max_connections), int(layer._max_keepalive_connections)


def dashboard_port(address: str) -> int:
    port = urlsplit(address).port
    assert port is not None
    return port


def report(what: str, **numbers: object) -> None:
    """Print what was measured (shown with ``pytest -s`` or ``-rP``)."""
    print(f"{what}: " + ", ".join(f"{name}={value}" for name, value in numbers.items()))


# ------------------------------------------------------------------------------ jobs


def tagged_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("tag:")]


def counting_script(submission_id: str) -> str:
    """Python printing ``tag:<id>:0`` … ``tag:<id>:29``, one line every 0.1 s."""
    return (
        "import time\n"
        f"for i in range({FOLLOWED_LINES}):\n"
        f"    print('tag:{submission_id}:%d' % i, flush=True)\n"
        "    time.sleep(0.1)\n"
    )


def counted_lines(submission_id: str) -> list[str]:
    return [f"tag:{submission_id}:{i}" for i in range(FOLLOWED_LINES)]


# ------------------------------------------------------------------------------ followers


@pytest.mark.anyio
async def test_async_tail_of_20_jobs_at_once_yields_every_line_once(
    head_address: str, unique_id: str
) -> None:
    port = dashboard_port(head_address)
    jobs = [f"{unique_id}-tail-{n}" for n in range(ASYNC_TAILS)]
    fds_before = open_fds()
    sockets_before = sockets_to(port)
    connections_before = len(sockets_before)

    async def follow(submission_id: str) -> str:
        return "".join([chunk async for chunk in client.tail_job_logs(submission_id)])

    client = AsyncJobSubmissionClient(head_address)
    max_connections, _ = pool_limits(client)
    with ConnectionSampler(port) as sampler:
        await client.connect()
        await asyncio.gather(
            *(
                client.submit_job(entrypoint=python_entrypoint(counting_script(job)), submission_id=job)
                for job in jobs
            )
        )
        followed = await asyncio.gather(*(follow(job) for job in jobs))
        finals = await asyncio.gather(*(client.get_job_info(job) for job in jobs))
        logs = await asyncio.gather(*(client.get_job_logs(job) for job in jobs))
    await client.aclose()
    sockets_after = sockets_to(port)
    connections_after = len(sockets_after)
    fds_after = open_fds()

    report(
        "async tail_job_logs, 20 jobs",
        max_connections=max_connections,
        peak=sampler.peak - connections_before,
        samples=sampler.samples,
        connections_after_close=connections_after - connections_before,
        fds_before=len(fds_before),
        fds_after_close=len(fds_after),
    )
    for job, text, final, log in zip(jobs, followed, finals, logs, strict=True):
        assert final.status == JobStatus.SUCCEEDED, final
        assert tagged_lines(text) == counted_lines(job)  # every line once, in order, no other job's
        assert text == log  # and nothing else missing or repeated: the whole log, once
    assert sampler.peak - connections_before <= max_connections
    assert sockets_after <= sockets_before  # every connection it opened is closed
    assert left_open(fds_before, fds_after) == {}


def test_sync_follow_in_8_threads_yields_every_line_once(head_address: str, unique_id: str) -> None:
    port = dashboard_port(head_address)
    jobs = [f"{unique_id}-follow-{n}" for n in range(SYNC_FOLLOWERS)]
    fds_before = open_fds()
    sockets_before = sockets_to(port)
    connections_before = len(sockets_before)

    def follow(submission_id: str) -> tuple[str, JobDetails, str]:
        text = "".join(client.follow_job_logs(submission_id))
        return text, client.get_job_info(submission_id), client.get_job_logs(submission_id)

    with ConnectionSampler(port) as sampler:
        client = JobSubmissionClient(head_address)
        max_connections, _ = pool_limits(client)
        for job in jobs:
            client.submit_job(entrypoint=python_entrypoint(counting_script(job)), submission_id=job)
        with ThreadPoolExecutor(SYNC_FOLLOWERS) as pool:
            results = list(pool.map(follow, jobs))
    client.close()
    sockets_after = sockets_to(port)
    connections_after = len(sockets_after)
    fds_after = open_fds()

    report(
        "sync follow_job_logs, 8 threads",
        max_connections=max_connections,
        peak=sampler.peak - connections_before,
        samples=sampler.samples,
        connections_after_close=connections_after - connections_before,
        fds_before=len(fds_before),
        fds_after_close=len(fds_after),
    )
    for job, (text, final, log) in zip(jobs, results, strict=True):
        assert final.status == JobStatus.SUCCEEDED, final
        assert tagged_lines(text) == counted_lines(job)
        assert text == log
    assert sampler.peak - connections_before <= max_connections
    assert sockets_after <= sockets_before  # every connection it opened is closed
    assert left_open(fds_before, fds_after) == {}
