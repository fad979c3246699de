"""One client shared by many threads or tasks, against a small local server on real sockets.

The fake job server (``fake_job_server.py``) answers over HTTP/1.1 with keep-alive from a thread per
connection, each answer a few milliseconds late so that the callers overlap. What each test proves,
for the sync client in 16 threads and the async client with 1,000 gathered calls:

* no call fails, and every caller gets the answer to its own question (each checks the job it asked
  about: id, metadata, status, log);
* the connections this process holds to the server stay within the pool's limits
  (``defaults.MAX_CONNECTIONS``) while the work runs, and within its keep-alive limit
  (``defaults.MAX_KEEPALIVE_CONNECTIONS``) once it is idle;
* closing the client gives back every file descriptor it took (``/proc/self/fd`` is the same set,
  pointing at the same things, as before the client was created).

These ran against the live head before; what they count is the client's alone (the head only
answered). The followers, whose log streams are the head's, stay live in
tests/integration/test_concurrency.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fake_job_server import FakeJobServer, Step
from ray_jobs_client import AsyncJobSubmissionClient, JobDetails, JobStatus, JobSubmissionClient
from ray_jobs_client.defaults import MAX_CONNECTIONS, MAX_KEEPALIVE_CONNECTIONS
from sockets import HAS_PROC, ConnectionSampler, connections_to, left_open, open_fds, sockets_to

pytestmark = [
    pytest.mark.skipif(not HAS_PROC, reason="counts sockets and descriptors from /proc (Linux)"),
    pytest.mark.timeout(120),
]

#: Threads sharing one sync client, and the jobs each submits and waits for.
THREADS = 16
JOBS_PER_THREAD = 2
#: Rounds of reads (status, info, list, logs of a finished job) each thread makes besides its own jobs.
READ_ROUNDS = 8
#: Concurrent calls in one ``asyncio.gather`` on one async client.
GATHER_WIDTH = 1000
#: How late the server answers each request, so that concurrent callers need concurrent connections.
ANSWER_DELAY = 0.005


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the fake job server and writes its answer back (HTTP/1.1, keep-alive)."""

    protocol_version = "HTTP/1.1"
    server: _LocalServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = httpx.Request(
            self.command,
            f"{self.server.address}{self.path}",
            headers=[(name, value) for name, value in self.headers.items() if name.lower() != "host"],
            content=self.rfile.read(length) if length else b"",
        )
        time.sleep(ANSWER_DELAY)
        response = self.server.fake(request)
        body = response.read()
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a thousand connects at once must not be refused by the backlog

    def __init__(self, fake: FakeJobServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.port = int(self.server_address[1])
        self.address = f"http://127.0.0.1:{self.port}"


@pytest.fixture
def local() -> Iterator[_LocalServer]:
    server = _LocalServer(FakeJobServer())
    thread = threading.Thread(target=server.serve_forever, name="local-job-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def tag_line(submission_id: str) -> str:
    return f"tag:{submission_id}"


def tag_entrypoint(submission_id: str) -> str:
    return f"printf 'tag:%s\\n' {submission_id}"


def tagged_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("tag:")]


@pytest.fixture
def finished_jobs(local: _LocalServer) -> dict[str, dict[str, str]]:
    """Four jobs that have SUCCEEDED, by submission id, with their metadata: stable answers to read."""
    jobs = {f"rjc-conc-done-{n}": {"n": str(n), "prefix": "rjc-conc"} for n in range(4)}
    for submission_id, metadata in jobs.items():
        job = local.fake.add_job(
            submission_id,
            entrypoint=tag_entrypoint(submission_id),
            status="SUCCEEDED",
            log=f"{tag_line(submission_id)}\n",
        )
        job.metadata = metadata
    return jobs


def check_finished(details: JobDetails, submission_id: str, metadata: dict[str, str]) -> None:
    assert details.submission_id == submission_id
    assert details.metadata == metadata
    assert details.entrypoint == tag_entrypoint(submission_id)
    assert details.status == JobStatus.SUCCEEDED


def test_one_sync_client_shared_by_16_threads(
    local: _LocalServer, finished_jobs: dict[str, dict[str, str]]
) -> None:
    port = local.port
    done = sorted(finished_jobs)
    fds_before = open_fds()
    sockets_before = sockets_to(port)
    connections_before = len(sockets_before)

    def worker(n: int) -> list[str]:
        """Reads of the finished jobs, then this thread's own jobs; every answer checked."""
        for round_ in range(READ_ROUNDS):
            submission_id = done[(n + round_) % len(done)]
            assert client.get_job_status(submission_id) == JobStatus.SUCCEEDED
            check_finished(client.get_job_info(submission_id), submission_id, finished_jobs[submission_id])
            assert tagged_lines(client.get_job_logs(submission_id)) == [tag_line(submission_id)]
            listed = {job.submission_id: job for job in client.list_jobs()}
            check_finished(listed[submission_id], submission_id, finished_jobs[submission_id])
        mine = [f"rjc-conc-t{n}-{k}" for k in range(JOBS_PER_THREAD)]
        for k, submission_id in enumerate(mine):
            metadata = {"thread": str(n), "k": str(k)}
            got = client.submit_job(
                entrypoint=tag_entrypoint(submission_id), submission_id=submission_id, metadata=metadata
            )
            assert got == submission_id
            assert isinstance(client.get_job_status(submission_id), JobStatus)
            # The job runs: it prints its tag and succeeds at the server's next look.
            local.fake.jobs[submission_id].steps.append(
                Step(log=f"{tag_line(submission_id)}\n", status="SUCCEEDED")
            )
            details = client.get_job_info(submission_id)
            assert (details.submission_id, details.metadata) == (submission_id, metadata)
            assert submission_id in {job.submission_id for job in client.list_jobs()}
        for k, submission_id in enumerate(mine):
            final = client.wait_until_finished(submission_id, timeout=60, poll=0.05)
            check_finished(final, submission_id, {"thread": str(n), "k": str(k)})
            assert client.get_job_status(submission_id) == JobStatus.SUCCEEDED
            assert tagged_lines(client.get_job_logs(submission_id)) == [tag_line(submission_id)]
        return mine

    with ConnectionSampler(port) as sampler:
        client = JobSubmissionClient(local.address)
        with ThreadPoolExecutor(THREADS) as pool:
            submitted = [future.result() for future in [pool.submit(worker, n) for n in range(THREADS)]]
        idle = connections_to(port) - connections_before
    client.close()
    sockets_after = sockets_to(port)
    fds_after = open_fds()

    assert sorted(job for jobs in submitted for job in jobs) == sorted(
        f"rjc-conc-t{n}-{k}" for n in range(THREADS) for k in range(JOBS_PER_THREAD)
    )
    assert sampler.peak > connections_before, "the sampler never saw a connection: the count is broken"
    assert sampler.peak - connections_before <= MAX_CONNECTIONS
    assert idle <= MAX_KEEPALIVE_CONNECTIONS
    assert sockets_after <= sockets_before  # every connection it opened is closed
    assert left_open(fds_before, fds_after) == {}


def test_1000_concurrent_status_polls_and_infos_on_one_async_client(
    local: _LocalServer, finished_jobs: dict[str, dict[str, str]]
) -> None:
    port = local.port
    done = sorted(finished_jobs)
    asked = [done[i % len(done)] for i in range(GATHER_WIDTH)]

    async def run() -> tuple[list[Any], list[Any], int, int, ConnectionSampler, ConnectionSampler]:
        client = AsyncJobSubmissionClient(local.address)
        await client.connect()
        with ConnectionSampler(port) as statuses_sampler:
            statuses = await asyncio.gather(
                *(client.get_job_status(job) for job in asked), return_exceptions=True
            )
        idle_after_statuses = connections_to(port) - connections_before
        with ConnectionSampler(port) as infos_sampler:
            infos = await asyncio.gather(*(client.get_job_info(job) for job in asked), return_exceptions=True)
        idle_after_infos = connections_to(port) - connections_before
        await client.aclose()
        return statuses, infos, idle_after_statuses, idle_after_infos, statuses_sampler, infos_sampler

    runner = asyncio.Runner()  # the loop's own descriptors are taken before counting and given back after
    try:
        runner.run(asyncio.sleep(0))
        fds_before = open_fds()
        sockets_before = sockets_to(port)
        connections_before = len(sockets_before)
        statuses, infos, idle_after_statuses, idle_after_infos, *samplers = runner.run(run())
        sockets_after = sockets_to(port)
        fds_after = open_fds()
    finally:
        runner.close()

    failures = [result for result in [*statuses, *infos] if isinstance(result, BaseException)]
    assert not failures, f"{len(failures)} of {2 * GATHER_WIDTH} calls failed, first: {failures[0]!r}"
    assert statuses == [JobStatus.SUCCEEDED] * GATHER_WIDTH
    for details, submission_id in zip(infos, asked, strict=True):
        assert isinstance(details, JobDetails)
        check_finished(details, submission_id, finished_jobs[submission_id])
    for sampler in samplers:
        assert sampler.peak > connections_before, "the sampler never saw a connection: the count is broken"
        assert sampler.peak - connections_before <= MAX_CONNECTIONS
    assert idle_after_statuses <= MAX_KEEPALIVE_CONNECTIONS
    assert idle_after_infos <= MAX_KEEPALIVE_CONNECTIONS
    assert sockets_after <= sockets_before  # every connection it opened is closed
    assert left_open(fds_before, fds_after) == {}
