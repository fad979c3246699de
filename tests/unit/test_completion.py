"""``as_completed`` without a server: the choice between one list and one GET per job, the input
checks, timeouts, outages and early exits, on a fake cluster (``httpx.MockTransport``).

The fake cluster keeps ``records`` finished jobs plus the jobs a test waits on; each waited job is
RUNNING until it has been looked at (by a list or its own GET) ``finish_after`` times. Every request
is recorded, so the tests count what each strategy sends. The same against a real head is
``tests/integration/test_as_completed.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from ray_jobs_client import AsyncJobSubmissionClient, JobDetails, JobSubmissionClient
from ray_jobs_client._completion import Completion, list_is_cheaper
from ray_jobs_client.defaults import FIRST_LIST_MIN_JOBS, LISTED_RECORD_COST
from ray_jobs_client.errors import (
    ClusterRestartedError,
    JobNotFoundError,
    JobWaitTimeoutError,
)
from ray_jobs_client.models import JobStatus, JobType
from ray_jobs_client.outage import OutagePolicy
from ray_jobs_client.retry import RetryPolicy

LIST = "GET /api/jobs/"
FAST = OutagePolicy(patience=30.0, backoff_initial=0.001, backoff_max=0.001)


def record(
    submission_id: str | None, status: str, job_id: str | None = None, kind: str = "SUBMISSION"
) -> dict[str, Any]:
    return {
        "type": kind,
        "job_id": job_id,
        "submission_id": submission_id,
        "driver_info": None,
        "status": status,
        "entrypoint": "echo",
        "message": None,
        "error_type": None,
        "start_time": 1,
        "end_time": None if status in ("PENDING", "RUNNING") else 2,
        "metadata": {},
        "runtime_env": {},
        "driver_agent_http_address": None,
        "driver_node_id": None,
        "driver_exit_code": None,
    }


class FakeCluster:
    """``records`` finished jobs, plus ``waited``: job id → (looks before it ends, its final status)."""

    def __init__(
        self,
        waited: dict[str, tuple[int, str]],
        records: int = 0,
        *,
        aliases: dict[str, str] | None = None,
        down_after: int | None = None,
        down_for: int = 0,
        session_after_outage: str = "s1",
    ) -> None:
        self.waited = waited
        self.looks: Counter[str] = Counter()
        self.requests: list[str] = []
        #: Ray job id → submission id: what the server's own lookup resolves (GET only).
        self.aliases = aliases or {}
        self._filler = [record(f"old-{i}", "SUCCEEDED") for i in range(records)]
        self.down_after = down_after
        self.down_for = down_for
        self.refused = 0
        self.session_after_outage = session_after_outage

    def status(self, job_id: str) -> str:
        self.looks[job_id] += 1
        finish_after, final = self.waited[job_id]
        return final if self.looks[job_id] >= finish_after else "RUNNING"

    def jobs_requests(self) -> list[str]:
        return [r for r in self.requests if r != "GET /api/version"]

    def _down(self) -> bool:
        looked = len(self.jobs_requests())
        return self.down_after is not None and looked > self.down_after and self.refused < self.down_for

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/version":
            self.requests.append("GET /api/version")
            session = "s1" if self.refused == 0 else self.session_after_outage
            return httpx.Response(
                200,
                json={"version": "4", "ray_version": "2.60.0", "ray_commit": "c", "session_name": session},
            )
        if self._down():
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        self.requests.append(f"{request.method} {path}")
        if self.refused and self.session_after_outage != "s1":
            return httpx.Response(404, text=f"Job {path.rsplit('/', 1)[-1]} does not exist")
        if path == "/api/jobs/":
            listed = [
                record(job_id, self.status(job_id), f"0{n}000000") for n, job_id in enumerate(self.waited)
            ]
            return httpx.Response(200, content=json.dumps(self._filler + listed).encode())
        job_id = path.removeprefix("/api/jobs/")
        submission_id = self.aliases.get(job_id, job_id)
        if submission_id not in self.waited:
            return httpx.Response(404, text=f"Job {job_id} does not exist")
        return httpx.Response(200, json=record(submission_id, self.status(submission_id)))


def sync_client(cluster: FakeCluster, **kwargs: Any) -> JobSubmissionClient:
    return JobSubmissionClient(
        "http://jobs.example:8265",
        retries=RetryPolicy(max_retries=0),
        outage_patience=FAST,
        http_client=httpx.Client(transport=httpx.MockTransport(cluster)),
        **kwargs,
    )


def async_client(cluster: FakeCluster) -> AsyncJobSubmissionClient:
    return AsyncJobSubmissionClient(
        "http://jobs.example:8265",
        retries=RetryPolicy(max_retries=0),
        outage_patience=FAST,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(cluster)),
    )


def finished(cluster: FakeCluster, ids: list[str], **kwargs: Any) -> list[JobDetails]:
    with sync_client(cluster) as client:
        return list(client.as_completed(ids, poll=0.001, **kwargs))


def jobs(count: int, finish_after: int = 1, final: str = "SUCCEEDED") -> dict[str, tuple[int, str]]:
    return {f"job-{i}": (finish_after, final) for i in range(count)}


# --------------------------------------------------------------------------- the rule


def test_the_rule_polls_a_few_jobs_on_a_big_cluster_one_by_one_and_most_of_a_small_one_by_list() -> None:
    assert not list_is_cheaper(3, 20_000)
    assert list_is_cheaper(200, 250)
    assert not list_is_cheaper(1, 0)  # one GET is never dearer than one list
    # The break-even point: one request plus the listed records' cost.
    size = 1_000
    break_even = 1 + size * LISTED_RECORD_COST
    assert not list_is_cheaper(math.floor(break_even), size)
    assert list_is_cheaper(math.floor(break_even) + 1, size)


def test_before_any_list_only_enough_jobs_justify_trying_one() -> None:
    assert not list_is_cheaper(FIRST_LIST_MIN_JOBS - 1, None)
    assert list_is_cheaper(FIRST_LIST_MIN_JOBS, None)


def test_jobs_a_list_does_not_show_are_asked_for_one_by_one_from_then_on() -> None:
    state = Completion.of(["a", "b", "02000000", "c"])
    listed = [
        JobDetails(type=JobType.SUBMISSION, status=JobStatus.RUNNING, entrypoint="x", submission_id="a"),
        # "02000000" is this job's Ray job id: the server's lookup would prefer it, so the GET decides.
        JobDetails(
            type=JobType.SUBMISSION, status=JobStatus.RUNNING, entrypoint="x", submission_id="b", job_id="c"
        ),
        JobDetails(type=JobType.SUBMISSION, status=JobStatus.RUNNING, entrypoint="x", submission_id="c"),
    ]
    found = state.take_list(listed)
    assert set(found) == {"a", "b"}
    assert state.unlisted == {"02000000", "c"}
    assert state.list_size == 3
    assert state.listable == 2


# --------------------------------------------------------------------------- both strategies, end to end


def test_three_jobs_on_a_cluster_of_20000_records_are_polled_one_by_one() -> None:
    cluster = FakeCluster(jobs(3, finish_after=3), records=20_000)
    done = finished(cluster, list(cluster.waited))
    assert sorted(job.submission_id or "" for job in done) == ["job-0", "job-1", "job-2"]
    sent = cluster.jobs_requests()
    assert LIST not in sent
    assert Counter(sent) == {f"GET /api/jobs/job-{i}": 3 for i in range(3)}


def test_200_jobs_of_250_are_polled_with_one_list_per_round() -> None:
    cluster = FakeCluster(jobs(200, finish_after=3), records=50)
    done = finished(cluster, list(cluster.waited))
    assert len(done) == 200
    assert cluster.jobs_requests() == [LIST] * 3  # three rounds, one request each


def test_a_wait_switches_to_single_gets_once_few_jobs_are_left() -> None:
    # 40 jobs on a cluster of 500 records: 40 > 1 + 540 * cost, so listed; once only 5 are left,
    # five GETs are cheaper than a list of 540 records.
    waited = {f"job-{i}": (1 if i < 35 else 3, "SUCCEEDED") for i in range(40)}
    cluster = FakeCluster(waited, records=500)
    assert list_is_cheaper(40, 540) and not list_is_cheaper(5, 540)
    done = finished(cluster, list(waited))
    assert len(done) == 40
    sent = cluster.jobs_requests()
    assert sent[0] == LIST
    assert sent[1:] == [f"GET /api/jobs/job-{i}" for _ in range(2) for i in range(35, 40)]


def test_a_first_list_learns_that_the_cluster_is_too_big_for_it() -> None:
    cluster = FakeCluster(jobs(FIRST_LIST_MIN_JOBS, finish_after=2), records=5_000)
    finished(cluster, list(cluster.waited))
    sent = cluster.jobs_requests()
    assert sent[0] == LIST
    assert LIST not in sent[1:]
    assert len(sent[1:]) == FIRST_LIST_MIN_JOBS


def test_finished_jobs_come_in_the_first_round_in_the_callers_order_and_nothing_more_is_sent() -> None:
    waited = {"b": (1, "FAILED"), "a": (1, "SUCCEEDED"), "c": (1, "STOPPED")}
    cluster = FakeCluster(waited)
    done = finished(cluster, ["c", "a", "b"])
    assert [(job.submission_id, str(job.status)) for job in done] == [
        ("c", "STOPPED"),
        ("a", "SUCCEEDED"),
        ("b", "FAILED"),
    ]
    assert cluster.jobs_requests() == ["GET /api/jobs/c", "GET /api/jobs/a", "GET /api/jobs/b"]


def test_each_job_is_yielded_as_it_finishes() -> None:
    waited = {"slow": (4, "SUCCEEDED"), "fast": (2, "FAILED"), "faster": (1, "SUCCEEDED")}
    cluster = FakeCluster(waited)
    assert [job.submission_id for job in finished(cluster, list(waited))] == ["faster", "fast", "slow"]


def test_a_job_missing_from_the_list_gets_its_own_get_and_an_unknown_one_is_not_found() -> None:
    cluster = FakeCluster(jobs(10, finish_after=2))
    with pytest.raises(JobNotFoundError, match="Job nope does not exist"):
        finished(cluster, [*cluster.waited, "nope"])
    assert cluster.jobs_requests() == [LIST, "GET /api/jobs/nope"]


def test_a_job_named_by_its_ray_job_id_is_found_by_its_own_get() -> None:
    cluster = FakeCluster(jobs(10, finish_after=2), aliases={"0a000000": "job-9"})
    ids = [f"job-{i}" for i in range(9)] + ["0a000000"]
    done = finished(cluster, ids)
    assert done[0].submission_id == "job-9"  # its GET was the job's second look
    assert len(done) == 10
    assert cluster.jobs_requests() == [LIST, "GET /api/jobs/0a000000", LIST]


def test_leaving_the_loop_early_sends_nothing_more() -> None:
    cluster = FakeCluster({"a": (1, "SUCCEEDED"), "b": (1000, "SUCCEEDED")})
    with sync_client(cluster) as client:
        for job in client.as_completed(["a", "b"], poll=0.001):
            assert job.submission_id == "a"
            break
        sent = len(cluster.requests)
        client.get_version()
    assert cluster.requests[sent:] == ["GET /api/version"]


def test_the_async_client_yields_the_same_with_the_same_requests() -> None:
    cluster = FakeCluster(jobs(200, finish_after=2), records=50)

    async def wait() -> list[JobDetails]:
        async with async_client(cluster) as client:
            return [job async for job in client.as_completed(list(cluster.waited), poll=0.001)]

    assert len(asyncio.run(wait())) == 200
    assert cluster.jobs_requests() == [LIST] * 2


# --------------------------------------------------------------------------- timeout and outages


def test_a_timeout_names_the_jobs_still_unfinished_after_yielding_the_rest() -> None:
    cluster = FakeCluster({"done": (1, "SUCCEEDED"), "slow-1": (10**9, "SUCCEEDED"), "slow-2": (10**9, "X")})
    seen = []
    with sync_client(cluster) as client, pytest.raises(JobWaitTimeoutError) as caught:
        for job in client.as_completed(["slow-1", "done", "slow-2"], timeout=0.05, poll=0.01):
            seen.append(job.submission_id)
    assert seen == ["done"]
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert error.unfinished == {"slow-1": "RUNNING", "slow-2": "RUNNING"}
    assert (error.job_id, error.last_status) == ("slow-1", "RUNNING")
    assert "2 of 3 jobs still unfinished after 0.05 s: slow-1 (RUNNING), slow-2 (RUNNING)" in str(error)


def test_a_long_timeout_message_names_ten_jobs_and_counts_the_others() -> None:
    cluster = FakeCluster(jobs(30, finish_after=10**9))
    with pytest.raises(JobWaitTimeoutError) as caught:
        finished(cluster, list(cluster.waited), timeout=0.05)
    assert len(caught.value.unfinished) == 30
    assert str(caught.value).endswith("job-9 (RUNNING) and 20 more.")


def test_an_outage_is_ridden_out_with_one_warning_each_way(caplog: pytest.LogCaptureFixture) -> None:
    cluster = FakeCluster(jobs(10, finish_after=3), down_after=1, down_for=5)
    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        done = finished(cluster, list(cluster.waited))
    assert len(done) == 10
    assert cluster.refused == 5
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert "Lost the job server" in warnings[0] and "waiting for 10 jobs to finish" in warnings[0]
    assert "is back after" in warnings[1]


def test_a_cluster_that_comes_back_restarted_ends_the_wait() -> None:
    cluster = FakeCluster(jobs(3, finish_after=3), down_after=1, down_for=2, session_after_outage="s2")
    with pytest.raises(ClusterRestartedError, match="session s1 is now s2"):
        finished(cluster, list(cluster.waited))


# --------------------------------------------------------------------------- bad input, before any I/O

SyncCall = Callable[[JobSubmissionClient], object]

BAD: dict[str, tuple[type[Exception], str, dict[str, Any]]] = {
    "a single string": (TypeError, "not a single str: write \\['job-1'\\]", {"job_ids": "job-1"}),
    "not a collection": (TypeError, "collection of job ids", {"job_ids": 42}),
    "empty": (ValueError, "job_ids is empty", {"job_ids": []}),
    "duplicates": (ValueError, "names 1 job\\(s\\) more than once: 'a'", {"job_ids": ["a", "b", "a"]}),
    "a blank id": (ValueError, "job_id must not be empty", {"job_ids": ["a", " "]}),
    "a dot id": (ValueError, "router drops", {"job_ids": ["..", "a"]}),
    "an id that is no string": (TypeError, "job_id must be a string", {"job_ids": ["a", 7]}),
    "poll 0": (ValueError, "poll must be a positive, finite number", {"poll": 0}),
    "poll negative": (ValueError, "poll must be a positive", {"poll": -1.0}),
    "poll nan": (ValueError, "poll must be a positive", {"poll": math.nan}),
    "poll a string": (TypeError, "poll must be a number of seconds", {"poll": "1"}),
    "poll True": (TypeError, "poll must be a number of seconds", {"poll": True}),
    "timeout 0": (ValueError, "timeout must be a positive, finite number", {"timeout": 0}),
    "timeout negative": (ValueError, "timeout must be a positive", {"timeout": -5}),
    "timeout infinite": (ValueError, "timeout must be a positive, finite", {"timeout": math.inf}),
    "timeout a string": (TypeError, "timeout must be a number of seconds", {"timeout": "60"}),
}


def _arguments(overrides: dict[str, Any]) -> dict[str, Any]:
    return {"job_ids": ["a", "b"], **overrides}


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster({"a": (1, "SUCCEEDED"), "b": (1, "SUCCEEDED")})


@pytest.fixture
def client(cluster: FakeCluster) -> Iterator[JobSubmissionClient]:
    with sync_client(cluster) as client:
        yield client


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_are_refused_at_the_call_before_anything_is_sent(
    client: JobSubmissionClient, cluster: FakeCluster, case: str
) -> None:
    kind, message, overrides = BAD[case]
    arguments = _arguments(overrides)
    with pytest.raises(kind, match=message):
        client.as_completed(arguments.pop("job_ids"), **arguments)  # not even iterated
    assert cluster.jobs_requests() == []


@pytest.mark.parametrize("case", list(BAD))
def test_the_async_client_refuses_them_at_the_call_too(case: str) -> None:
    cluster = FakeCluster({"a": (1, "SUCCEEDED"), "b": (1, "SUCCEEDED")})
    kind, message, overrides = BAD[case]
    arguments = _arguments(overrides)

    async def call() -> None:
        async with async_client(cluster) as client:
            with pytest.raises(kind, match=message):
                client.as_completed(arguments.pop("job_ids"), **arguments)

    asyncio.run(call())
    assert cluster.jobs_requests() == []


def test_any_iterable_of_ids_is_taken(cluster: FakeCluster, client: JobSubmissionClient) -> None:
    done = list(client.as_completed(job_id for job_id in ("a", "b")))
    assert [job.submission_id for job in done] == ["a", "b"]
