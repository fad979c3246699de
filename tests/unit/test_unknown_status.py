"""A status this client does not know (a newer Ray's ``PREEMPTED``) ends every wait once the job has an
end time, and none before: ``JobDetails.is_finished`` decides, for every wait of both clients and
the CLI.

Ray sets ``end_time`` when a job moves into a terminal state; ``0`` is what a running driver job
reports, so it is no end time. The fake job server plays a newer Ray: its ``PREEMPTED`` ends the job
(``ends=True``: an end time, and the log WebSocket closes as for any job that is over) or not.
Waits that would never end on a client that gets this wrong are bounded by a ``timeout`` or the
``timeout`` mark, so that such a client fails instead of hanging.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from fake_job_server import ADDRESS, Connect, FakeJobServer, Respond, SilentWebSocket, Step
from ray_jobs_client import JobDetails, JobStatus, JobType, cli
from ray_jobs_client.logs import TailPolicy

#: Prompt status checks while a log stream is quiet, so that tests of the followers run fast.
QUICK_TAIL = TailPolicy(idle_check_interval=0.02, poll_interval=0.02, backoff_initial=0.01, backoff_max=0.02)
#: Long enough for any of these waits; a client that never ends them fails instead of hanging.
SAFETY = 10.0


def statuses(*steps: tuple[str, dict[str, object]]) -> list[Step]:
    """One tick per (status, edits): ``PREEMPTED`` here never ends the job by itself."""
    return [
        Step(status=status, ends=status in ("STOPPED", "SUCCEEDED", "FAILED"), edits=edits)
        for status, edits in steps
    ]


def details(status: str, end_time: int | None) -> JobDetails:
    return JobDetails(type=JobType.SUBMISSION, status=JobStatus(status), entrypoint="x", end_time=end_time)


# --------------------------------------------------------------------------- the one decision


@pytest.mark.parametrize(
    ("status", "end_time", "finished"),
    [
        ("PREEMPTED", 1764095899012, True),
        ("PREEMPTED", None, False),
        ("PREEMPTED", 0, False),
        ("SUCCEEDED", None, True),
        ("FAILED", 1764095899012, True),
        ("STOPPED", 0, True),
        ("RUNNING", 0, False),  # a running driver job
        ("RUNNING", 1764095899012, False),
        ("PENDING", None, False),
    ],
)
def test_is_finished(status: str, end_time: int | None, finished: bool) -> None:
    job = details(status, end_time)

    assert job.is_finished() is finished
    assert job.status.is_terminal() is (status in ("STOPPED", "SUCCEEDED", "FAILED"))  # as Ray's enum


# --------------------------------------------------------------------------- wait_until_finished


def test_wait_until_finished_ends_on_an_unknown_status_with_an_end_time(
    connect: Connect, server: FakeJobServer
) -> None:
    server.add_job("raysubmit_a", status="PREEMPTED", ends=True)

    job = connect().wait_until_finished("raysubmit_a", poll=0.01, timeout=SAFETY)

    assert job.status == "PREEMPTED" and job.end_time is not None and job.is_finished()


@pytest.mark.parametrize("end_time", [None, 0], ids=["no end_time", "end_time 0"])
def test_wait_until_finished_goes_on_through_an_unknown_status_without_an_end_time(
    connect: Connect, server: FakeJobServer, end_time: int | None
) -> None:
    edits = {} if end_time is None else {"end_time": end_time}
    server.add_job(
        "raysubmit_a", steps=statuses(("PREEMPTED", edits), ("PREEMPTED", edits), ("SUCCEEDED", {}))
    )
    seen: list[str] = []

    job = connect().wait_until_finished(
        "raysubmit_a", poll=0.01, timeout=SAFETY, on_poll=lambda d: seen.append(str(d.status))
    )

    assert job.status is JobStatus.SUCCEEDED
    assert seen == ["RUNNING", "PREEMPTED", "PREEMPTED"]


# --------------------------------------------------------------------------- the log followers


@pytest.mark.timeout(SAFETY)
def test_the_log_followers_end_on_an_unknown_status_with_an_end_time(
    connect: Connect, server: FakeJobServer
) -> None:
    """``follow_job_logs`` (sync), ``tail_job_logs`` (async): the log whole, then the end."""
    server.add_job("raysubmit_a", status="PREEMPTED", ends=True, log="one\ntwo\n")

    assert "".join(connect(tail_policy=QUICK_TAIL).follow("raysubmit_a")) == "one\ntwo\n"


@pytest.mark.timeout(SAFETY)
def test_the_log_followers_end_when_a_quiet_stream_ends_in_an_unknown_status(
    connect: Connect, server: FakeJobServer
) -> None:
    """The stream stays open and silent (a buffering proxy): the followers' own status checks see
    the job end."""
    server.add_job("raysubmit_a", steps=[Step(log="one\n"), Step(status="PREEMPTED", ends=True, log="two\n")])
    server.fail(SilentWebSocket(), when="GET /api/jobs/{id}/logs/tail", times=None)

    assert "".join(connect(tail_policy=QUICK_TAIL).follow("raysubmit_a")) == "one\ntwo\n"


@pytest.mark.timeout(SAFETY)
def test_the_log_followers_polling_instead_end_on_an_unknown_status_with_an_end_time(
    connect: Connect, server: FakeJobServer
) -> None:
    """A proxy refuses WebSockets: the followers poll ``GET …/logs``, and stop once the job ended."""
    server.add_job("raysubmit_a", steps=[Step(log="one\n"), Step(status="PREEMPTED", ends=True, log="two\n")])
    server.fail(Respond(502, "Bad Gateway"), when="GET /api/jobs/{id}/logs/tail", times=None)

    assert "".join(connect(tail_policy=QUICK_TAIL).follow("raysubmit_a")) == "one\ntwo\n"
    assert server.websockets == []


@pytest.mark.timeout(SAFETY)
@pytest.mark.parametrize("end_time", [None, 0], ids=["no end_time", "end_time 0"])
def test_the_log_followers_go_on_through_an_unknown_status_without_an_end_time(
    connect: Connect, server: FakeJobServer, end_time: int | None
) -> None:
    edits = {} if end_time is None else {"end_time": end_time}
    server.add_job(
        "raysubmit_a",
        steps=[
            Step(log="one\n", status="PREEMPTED", ends=False, edits=edits),
            Step(log="two\n"),
            Step(log="three\n", status="SUCCEEDED", edits={}),
        ],
    )

    assert "".join(connect(tail_policy=QUICK_TAIL).follow("raysubmit_a")) == "one\ntwo\nthree\n"
    assert server.jobs["raysubmit_a"].status == "SUCCEEDED"


# --------------------------------------------------------------------------- as_completed


@dataclass
class PassThrough:
    """A fault that is none: the request is served as usual (a rule's ``afterwards`` hook is wanted)."""

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        return serve()


@pytest.mark.parametrize("others", [0, 8], ids=["one GET per job", "one list per round"])
def test_as_completed_yields_a_job_in_an_unknown_status_once_it_has_an_end_time(
    connect: Connect, server: FakeJobServer, others: int
) -> None:
    """``raysubmit_a`` ended in PREEMPTED; ``raysubmit_b`` is PREEMPTED with ``end_time`` 0 for three
    rounds, then SUCCEEDED: it must not be yielded before."""
    server.add_job("raysubmit_a", status="PREEMPTED", ends=True)
    late = server.add_job("raysubmit_b", status="PREEMPTED", ends=False, edits={"end_time": 0})
    waited = ["raysubmit_a", "raysubmit_b"]
    for index in range(others):  # enough jobs waited on for a list to be cheaper than a GET each
        waited.append(server.add_job(f"raysubmit_{index}", status="SUCCEEDED").submission_id)

    def asked(request: httpx.Request) -> bool:  # a look at raysubmit_b: its GET, or a list
        return request.url.path in ("/api/jobs/", "/api/jobs/raysubmit_b")

    def finish() -> None:
        late.edits.clear()
        late.set_status("SUCCEEDED")

    server.fail(PassThrough(), when=asked, skip=2, afterwards=finish)

    done = connect().completed(waited, poll=0.01, timeout=SAFETY)

    assert sorted(str(job.submission_id) for job in done) == sorted(waited)
    by_id = {job.submission_id: job for job in done}
    assert by_id["raysubmit_a"].status == "PREEMPTED"
    assert by_id["raysubmit_b"].status is JobStatus.SUCCEEDED
    assert done[-1].submission_id == "raysubmit_b"
    assert len(server.sent(asked)) == 4
    assert (len(server.sent("GET /api/jobs/")) > 0) == (others > 0)


# --------------------------------------------------------------------------- told once per client


def test_each_unknown_status_is_told_once_per_client(
    connect: Connect, server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_job("raysubmit_a", steps=statuses(("PREEMPTED", {}), ("PREEMPTED", {}), ("SUCCEEDED", {})))
    server.add_job("raysubmit_b", status="PREEMPTED", ends=True)
    server.add_job("raysubmit_c", status="SUSPENDED", ends=False)

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        client = connect()
        client.wait_until_finished("raysubmit_a", poll=0.01, timeout=SAFETY)
        client.wait_until_finished("raysubmit_b", poll=0.01, timeout=SAFETY)
        client.list_jobs()
        client.list_jobs()

    told = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert told == [
        "The job server at http://jobs.example:8265 reports the status 'PREEMPTED' (job raysubmit_a), "
        "which this client does not know: a job in it counts as finished once it has an end_time, as "
        "running until then (said once per client).",
        "The job server at http://jobs.example:8265 reports the status 'SUSPENDED' (job raysubmit_c), "
        "which this client does not know: a job in it counts as finished once it has an end_time, as "
        "running until then (said once per client).",
    ]


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def on_the_fake(server: FakeJobServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ray-jobs`` (``cli.main``) builds its client on the fake server (it has no option for an
    ``http_client``): the class it imports is replaced by one that passes the fake's."""
    from ray_jobs_client import client as client_module

    real = client_module.JobSubmissionClient

    class OnTheFake(real):  # type: ignore[misc, valid-type]
        def __init__(self, address: str | None, **settings: object) -> None:
            super().__init__(address, http_client=server.http_client(), tail_policy=QUICK_TAIL, **settings)

    monkeypatch.setattr(client_module, "JobSubmissionClient", OnTheFake)


@pytest.mark.usefixtures("on_the_fake")
def test_cli_wait_ends_on_an_unknown_status_with_an_end_time(
    server: FakeJobServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add_job("raysubmit_a", status="PREEMPTED", ends=True)
    server.add_job("raysubmit_b", status="SUCCEEDED")
    server.add_job("raysubmit_c", steps=statuses(("PREEMPTED", {}), ("SUCCEEDED", {})))

    code = cli.main(
        [
            "wait",
            "raysubmit_a",
            "raysubmit_b",
            "raysubmit_c",
            "--address",
            ADDRESS,
            "--poll",
            "0.01",
            "--timeout",
            str(SAFETY),
        ]
    )

    out = capsys.readouterr().out
    assert code == 1, out  # not every job SUCCEEDED
    assert "Job 'raysubmit_a' ended in status PREEMPTED" in out
    assert "Job 'raysubmit_b' succeeded" in out and "Job 'raysubmit_c' succeeded" in out
    assert "3 jobs: 2 succeeded, 1 PREEMPTED." in out


@pytest.mark.timeout(SAFETY)
@pytest.mark.usefixtures("on_the_fake")
def test_cli_logs_follow_ends_on_an_unknown_status_with_an_end_time(
    server: FakeJobServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add_job("raysubmit_a", steps=[Step(log="one\n"), Step(log="two\n", status="PREEMPTED", ends=True)])

    code = cli.main(["logs", "-f", "raysubmit_a", "--address", ADDRESS])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "one\ntwo\n" in out
    assert "Status for job 'raysubmit_a': PREEMPTED" in out
