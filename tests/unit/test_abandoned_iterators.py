"""Async iterators left early: by ``break``, by an exception, closed with ``aclose()``, or dropped
unclosed — in the task that iterates, or in another one — then asked for again, three rounds.

The iterators are those the clients hand out: the async client's ``tail_job_logs`` (the log
WebSocket), ``iter_job_logs`` (a streamed download) and ``as_completed`` (status polls), and the sync
client's ``tail_job_logs`` (a private async client of its own). After each round the caller's task
must not be cancelled (``cancelling() == 0``, and its next ``await`` completes), no task the
iterator started may still run, and what it opened must be closed: the fake server's WebSockets,
response bodies and, for the sync client's tail, its private client's transport. The same against a
live head, with the process's sockets counted: ``tests/integration/test_abandoned_iterators_live.py``.

An abandoned async generator that holds httpx-ws's session (an anyio cancel scope entered in the
caller's task) is closed by asyncio's finaliser in another task, which cancels the caller's task
(``Cancelled via cancel scope … by <Task …>``) at every ``await`` after: the bug these tests pin.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import pytest
from abandoning import LEAVE, WHERE, check_not_cancelled, leave_early, settled
from fake_job_server import ADDRESS, FakeJobServer
from ray_jobs_client import AsyncJobSubmissionClient, JobDetails, JobSubmissionClient
from ray_jobs_client.errors import IteratorClosedError, JobNotFoundError
from ray_jobs_client.logs import TailPolicy

pytestmark = pytest.mark.timeout(60)

JOB = "raysubmit_abandoned"
FINISHED = (JOB, "raysubmit_done_2", "raysubmit_done_3")
RUNNING = "raysubmit_running"
QUICK = {"tail_policy": TailPolicy(idle_check_interval=0.02, poll_interval=0.01)}
ROUNDS = 3
#: How long an iterator left early may take to release what it holds (a few turns of the event loop).
SETTLE = 10.0


def lines(start: int, stop: int) -> str:
    return "".join(f"line {i}\n" for i in range(start, stop))


class Scenario:
    """One kind of iterator on a fake server: how to open it, what its first value is, what it
    holds open."""

    def __init__(self, kind: str, server: FakeJobServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.kind = kind
        self.server = server
        self.transports: list[_TrackedTransport] = []
        self.log = ""
        if kind == "download":
            server.chunk_bytes = 64  # many pieces: the download is left half read
            self.log = lines(0, 200)
            server.add_job(JOB, status="SUCCEEDED", log=self.log)
        elif kind == "as_completed":  # three values at once, then a job that runs on
            for job in FINISHED:
                server.add_job(job, status="SUCCEEDED")
            server.add_job(RUNNING, status="RUNNING")
        else:  # a job that runs on, its 30 lines in 3 frames, then nothing: the tail is left mid-stream
            self.log = lines(0, 30)
            server.add_job(JOB, status="RUNNING", log=self.log)
        if kind == "sync_tail":
            # The sync client's tail opens a private async client on httpx's own transports: both
            # kinds of transport lead to the fake server here.
            monkeypatch.setattr(httpx, "HTTPTransport", lambda **_: httpx.MockTransport(server))
            monkeypatch.setattr(httpx, "AsyncHTTPTransport", self._async_transport)
            self.sync_client = JobSubmissionClient(ADDRESS, **QUICK)
        else:
            self.http = server.async_http_client()
            self.async_client = AsyncJobSubmissionClient(ADDRESS, http_client=self.http, **QUICK)

    def _async_transport(self, **_: Any) -> httpx.AsyncBaseTransport:
        transport = _TrackedTransport(self.server)
        self.transports.append(transport)
        return transport

    def open(self) -> AsyncIterator[Any]:
        if self.kind == "tail":
            return self.async_client.tail_job_logs(JOB)
        if self.kind == "download":
            return self.async_client.iter_job_logs(JOB)
        if self.kind == "as_completed":
            return self.async_client.as_completed([*FINISHED, RUNNING])
        return self.sync_client.tail_job_logs(JOB)

    def check(self, value: Any, first: bool) -> None:
        """A value the iterator may yield (the first one: the start of the log)."""
        if self.kind == "as_completed":
            assert isinstance(value, JobDetails) and value.submission_id in FINISHED
        else:
            assert isinstance(value, str) and value and value in self.log
            assert value.startswith("line 0\n") or not first

    def still_open(self) -> list[str]:
        """What the iterators opened and have not closed yet."""
        return [
            *(f"a log WebSocket of job {feed.job.submission_id}" for feed in self.server.open_websockets()),
            *(f"a response body of {len(body._data)} bytes" for body in self.server.open_bodies()),
            *(f"the private client's transport #{n}" for n, t in enumerate(self.transports) if not t.closed),
        ]

    async def aclose(self) -> None:
        if self.kind == "sync_tail":
            self.sync_client.close()
        else:
            await self.async_client.aclose()
            await self.http.aclose()


class _TrackedTransport(httpx.MockTransport):
    """The fake server as an async transport that knows whether it was closed."""

    def __init__(self, server: FakeJobServer) -> None:
        super().__init__(server)
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture(params=["tail", "download", "as_completed", "sync_tail"])
def scenario(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    return Scenario(request.param, FakeJobServer(), monkeypatch)


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("leave", LEAVE)
def test_an_iterator_left_early_neither_cancels_the_caller_nor_leaks(
    scenario: Scenario, leave: str, where: str
) -> None:
    async def rounds() -> None:
        for _ in range(ROUNDS):
            await leave_early(scenario.open, scenario.check, leave, where)
            check_not_cancelled()
            await asyncio.sleep(0)  # the caller's next await completes
            await settled(scenario.still_open, timeout=SETTLE)
            check_not_cancelled()
        # and after it all, a whole iteration still works
        async for value in scenario.open():
            scenario.check(value, first=True)
            break
        await scenario.aclose()

    asyncio.run(rounds())
    assert scenario.still_open() == []


# --------------------------------------------------------------------------- waits and closes


def test_a_cancelled_wait_for_the_next_chunk_loses_nothing(server: FakeJobServer) -> None:
    """``asyncio.wait_for(anext(tail), …)`` on a quiet job times out; the chunk it was waiting for
    comes with the next call, and the iteration goes on."""
    job = server.add_job(JOB, status="RUNNING", log="")

    async def scenario() -> list[str]:
        async with AsyncJobSubmissionClient(
            ADDRESS, http_client=server.async_http_client(), **QUICK
        ) as client:
            tail = client.tail_job_logs(JOB)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(tail), 0.2)  # nothing was written: nothing can come
            check_not_cancelled()
            job.log = lines(0, 3)
            first = await anext(tail)
            job.set_status("SUCCEEDED")
            return [first, *[chunk async for chunk in tail]]

    assert "".join(asyncio.run(scenario())) == lines(0, 3)
    assert server.open_websockets() == []


def test_aclose_from_another_task_tells_the_waiting_task(server: FakeJobServer) -> None:
    server.add_job(JOB, status="RUNNING", log="")

    async def scenario() -> None:
        async with AsyncJobSubmissionClient(
            ADDRESS, http_client=server.async_http_client(), **QUICK
        ) as client:
            tail = client.tail_job_logs(JOB)
            waiting = asyncio.create_task(anext(tail))
            while not server.websockets:  # the worker has opened the stream
                await asyncio.sleep(0.01)
            with pytest.raises(RuntimeError, match="already waiting"):
                await anext(tail)  # two tasks at once: refused, as an async generator does
            await tail.aclose()  # type: ignore[attr-defined]
            with pytest.raises(IteratorClosedError, match="tail_job_logs"):
                await waiting
            assert [chunk async for chunk in tail] == []
            check_not_cancelled()

    asyncio.run(scenario())
    assert server.open_websockets() == []


def test_the_iterations_own_error_reaches_the_caller_once_its_task_has_ended(
    server: FakeJobServer,
) -> None:
    async def scenario() -> None:
        async with AsyncJobSubmissionClient(
            ADDRESS, http_client=server.async_http_client(), **QUICK
        ) as client:
            for _ in range(ROUNDS):
                with pytest.raises(JobNotFoundError, match="does not exist"):
                    async for _ in client.tail_job_logs("raysubmit_missing"):
                        pass
                check_not_cancelled()
                assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task()] == []

    asyncio.run(scenario())


def test_a_worker_cancelled_from_outside_tells_the_waiting_task(server: FakeJobServer) -> None:
    """Code that cancels every task (a shutdown handler) cancels the iterator's too: the task waiting
    for the next chunk learns that none will come, rather than hearing that the log ended."""
    server.add_job(JOB, status="RUNNING", log="")

    async def scenario() -> None:
        async with AsyncJobSubmissionClient(
            ADDRESS, http_client=server.async_http_client(), **QUICK
        ) as client:
            tail = client.tail_job_logs(JOB)
            waiting = asyncio.create_task(anext(tail))
            while not server.websockets:  # the worker has opened the stream
                await asyncio.sleep(0.01)
            (worker,) = [task for task in asyncio.all_tasks() if "tail_job_logs" in task.get_name()]
            worker.cancel()
            with pytest.raises(IteratorClosedError):
                await waiting
            check_not_cancelled()

    asyncio.run(scenario())
    assert server.open_websockets() == []


def test_a_clean_up_that_fails_after_the_caller_left_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """The worker hands the iteration's errors to the caller; one raised while closing, once the
    caller has gone, is logged rather than lost."""
    from ray_jobs_client._task_iterator import TaskIterator

    async def source() -> AsyncGenerator[int, None]:
        try:
            yield 1
            yield 2
        finally:
            raise OSError("the stream would not close")

    async def scenario() -> None:
        async for _ in TaskIterator(source, "values()"):
            break
        await settled(lambda: [], timeout=SETTLE)

    with caplog.at_level("WARNING", logger="ray_jobs_client"):
        asyncio.run(scenario())
    assert [record.getMessage() for record in caplog.records] == [
        "closing ray_jobs_client values() failed: OSError('the stream would not close')"
    ]
