"""``as_completed`` against the live head, each test for both twins: jobs that succeed, fail and are
stopped come out once each, as they finish, with the server's final details; a timeout names the jobs
still running; and the requests sent (counted by an event hook of the ``http_client=`` passed in) show
which way each round asked. Which way is cheaper for which cluster is decided and tested without a
server in ``tests/unit/test_completion.py``.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from integration_support import JOB_TIMEOUT, SLEEP_ENTRYPOINT, await_terminal, open_client, resolve
from ray_jobs_client import JobDetails, JobNotFoundError, JobSubmissionClient
from ray_jobs_client._completion import FIRST_LIST_MIN_JOBS
from ray_jobs_client.errors import JobWaitTimeoutError

pytestmark = [pytest.mark.live, pytest.mark.anyio]

LIST = "GET /api/jobs/"
FAILING = "echo about to fail; exit 3"


class Requests(list[str]):
    """Every request the client sent after connecting, as ``METHOD /path``."""

    def jobs(self) -> list[str]:
        return [r for r in self if r != "GET /api/version"]


@asynccontextmanager
async def counted_client(twin: str, address: str) -> AsyncIterator[tuple[Any, Requests]]:
    """Our sync or async client on an httpx client of our own whose event hook counts requests."""
    sent = Requests()

    def note(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    async def anote(request: httpx.Request) -> None:
        note(request)

    http: httpx.Client | httpx.AsyncClient
    if twin == "sync":
        http = httpx.Client(event_hooks={"request": [note]})
    else:
        http = httpx.AsyncClient(event_hooks={"request": [anote]})
    try:
        async with open_client(twin, address, http_client=http) as client:
            yield client, sent
    finally:
        await resolve(http.close() if isinstance(http, httpx.Client) else http.aclose())


async def completed(client: Any, job_ids: list[str], **kwargs: Any) -> AsyncIterator[JobDetails]:
    """``as_completed`` of either twin, as one async iterator."""
    if inspect.iscoroutinefunction(client.get_version):
        async for details in client.as_completed(job_ids, **kwargs):
            yield details
    else:
        for details in client.as_completed(job_ids, **kwargs):
            yield details


def new_id(tag: str) -> str:
    return f"rjc-many-{tag}-{uuid.uuid4().hex[:8]}"


class Submitter:
    """Submits the tests' jobs with a client of its own; stops any still running at the end."""

    def __init__(self, client: JobSubmissionClient) -> None:
        self.client = client
        self.started: list[str] = []

    def __call__(self, tag: str, entrypoint: str) -> str:
        job_id = self.client.submit_job(entrypoint=entrypoint, submission_id=new_id(tag))
        self.started.append(job_id)
        return job_id

    def finish(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.client.wait_until_finished(job_id, timeout=JOB_TIMEOUT, poll=0.25)


@pytest.fixture(scope="module")
def submit(head_address: str) -> Iterator[Submitter]:
    with JobSubmissionClient(head_address) as client:
        submitter = Submitter(client)
        yield submitter
        for job_id in submitter.started:
            if not client.get_job_status(job_id).is_terminal():
                client.stop_job(job_id)


async def test_jobs_that_succeed_fail_and_are_stopped_come_out_as_they_finish(
    twin: str, head_address: str, submit: Submitter
) -> None:
    sleeper = submit("sleeper", SLEEP_ENTRYPOINT)
    good = submit("good", "echo fine")
    bad = submit("bad", FAILING)
    seen: list[JobDetails] = []
    async with counted_client(twin, head_address) as (client, sent):
        async for details in completed(client, [sleeper, good, bad], timeout=JOB_TIMEOUT, poll=0.25):
            seen.append(details)
            if len(seen) == 2:  # the sleeper can only end now, so it must come last
                assert await resolve(client.stop_job(sleeper)) is True
    ids = [details.submission_id for details in seen]
    assert sorted(ids[:2]) == sorted([good, bad]) and ids[2] == sleeper
    final = {details.submission_id: details for details in seen}
    assert str(final[good].status) == "SUCCEEDED"
    assert str(final[bad].status) == "FAILED"
    assert final[bad].message is not None and "exit code 3" in final[bad].message
    assert str(final[sleeper].status) == "STOPPED"
    assert all(details.end_time is not None for details in seen)
    # Three jobs are fewer than a first list is tried for: every round asked for each job alone.
    assert len(seen) < FIRST_LIST_MIN_JOBS
    assert LIST not in sent.jobs()
    assert {request for request in sent.jobs() if request.startswith("GET")} == {
        f"GET /api/jobs/{job_id}" for job_id in (sleeper, good, bad)
    }


@pytest.fixture(scope="module")
def finished(submit: Submitter) -> list[str]:
    """Nine jobs that have ended, every third FAILED, the rest SUCCEEDED: only read by the tests."""
    quick = [submit(f"quick{i}", "echo quick" if i % 3 else FAILING) for i in range(9)]
    submit.finish(quick)
    return quick


async def test_many_jobs_are_looked_up_with_one_list(
    twin: str, head_address: str, submit: Submitter, finished: list[str]
) -> None:
    quick = finished
    sleeper = submit("sleeper", SLEEP_ENTRYPOINT)
    waited = [sleeper, *quick]
    assert len(waited) >= FIRST_LIST_MIN_JOBS
    seen: list[JobDetails] = []
    async with counted_client(twin, head_address) as (client, sent):
        async for details in completed(client, waited, timeout=JOB_TIMEOUT, poll=0.25):
            if not seen:
                # The first round: one request answered for all ten jobs, and nine had finished.
                assert sent.jobs() == [LIST]
            seen.append(details)
            if len(seen) == len(quick):
                await resolve(client.stop_job(sleeper))
    assert [details.submission_id for details in seen[:9]] == quick  # a round yields in the caller's order
    assert seen[9].submission_id == sleeper and str(seen[9].status) == "STOPPED"
    assert [str(details.status) for details in seen[:9]] == [
        "FAILED" if i % 3 == 0 else "SUCCEEDED" for i in range(9)
    ]


async def test_a_timeout_yields_what_finished_and_names_the_jobs_still_running(
    twin: str, head_address: str, submit: Submitter
) -> None:
    sleeper = submit("sleeper", SLEEP_ENTRYPOINT)
    good = submit("good", "echo fine")
    async with open_client(twin, head_address) as client:
        await await_terminal(client, good)
        seen = []
        with pytest.raises(JobWaitTimeoutError) as caught:
            async for details in completed(client, [sleeper, good], timeout=3, poll=0.25):
                seen.append(details.submission_id)
        await resolve(client.stop_job(sleeper))
    assert seen == [good]
    assert isinstance(caught.value, TimeoutError)
    assert set(caught.value.unfinished) == {sleeper}
    assert caught.value.unfinished[sleeper] in ("PENDING", "RUNNING")
    assert f"1 of 2 jobs still unfinished after 3 s: {sleeper} (" in str(caught.value)


@pytest.mark.parametrize("count", [2, FIRST_LIST_MIN_JOBS + 1], ids=["one by one", "by list"])
async def test_a_job_the_server_does_not_know_is_not_found(
    twin: str, head_address: str, finished: list[str], count: int
) -> None:
    known = finished[: count - 1]
    assert len(known) == count - 1
    missing = new_id("missing")
    async with counted_client(twin, head_address) as (client, sent):
        with pytest.raises(JobNotFoundError, match=f"Job {missing} does not exist"):
            async for _ in completed(client, [*known, missing], poll=0.25):
                pass
    # Missing from the list or not, the job's own GET is what said so.
    assert sent.jobs()[-1] == f"GET /api/jobs/{missing}"
    assert (LIST in sent.jobs()) == (count >= FIRST_LIST_MIN_JOBS)
