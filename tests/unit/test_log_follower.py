"""The log follower's decisions, through the public API only (``follow_job_logs`` and the async
``tail_job_logs``), on the fake server's log WebSocket.

The fake WebSocket replays the log from its start on every connection, in frames of whole lines,
and closes with 1000 once the job is over, as the server does; faults cut it (with or without a
close frame), keep it silent, or refuse the upgrade. Every test checks that each line arrived
exactly once. The same with a live head behind a proxy: ``tests/faults/test_faults.py`` (log tail).
"""

from __future__ import annotations

import logging

import pytest
from fake_job_server import Connect, CutWebSocket, FakeJobServer, Refuse, Respond, SilentWebSocket, Step
from ray_jobs_client.errors import (
    BadRequestError,
    JobNotFoundError,
    LogDecodeError,
    LogStreamError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
)
from ray_jobs_client.logs import TailPolicy
from ray_jobs_client.outage import OutagePolicy
from ray_jobs_client.transport import RetryPolicy

pytestmark = pytest.mark.timeout(60)

JOB = "raysubmit_followed"
TAIL = "GET /api/jobs/{id}/logs/tail"
LOGS = "GET /api/jobs/{id}/logs"
STATUS = "GET /api/jobs/{id}"
QUICK_TAIL = TailPolicy(
    max_reconnects=10, backoff_initial=0.001, backoff_max=0.002, idle_check_interval=0.02, poll_interval=0.001
)
QUICK = {
    "tail_policy": QUICK_TAIL,
    "retries": RetryPolicy(max_retries=2, backoff_initial=0.001, backoff_max=0.001),
    "outage_patience": OutagePolicy(
        patience=30, backoff_initial=0.001, backoff_max=0.001, vanished_recheck_pause=0.001
    ),
}


def lines(start: int, stop: int) -> str:
    return "".join(f"line {i}\n" for i in range(start, stop))


def printing(server: FakeJobServer, *, ticks: int = 6, per_tick: int = 2) -> str:
    """A running job that prints ``per_tick`` lines a tick, then succeeds; returns its whole log."""
    start = 3
    steps = [Step(log=lines(start + per_tick * i, start + per_tick * (i + 1))) for i in range(ticks)]
    server.add_job(JOB, status="RUNNING", log=lines(0, start), steps=[*steps, Step(status="SUCCEEDED")])
    return lines(0, start + per_tick * ticks)


# --------------------------------------------------------------------------- streaming


def test_a_running_job_is_followed_until_it_ends_then_checked_with_one_download(
    server: FakeJobServer, connect: Connect
) -> None:
    log = printing(server)

    chunks = connect(**QUICK).follow(JOB)

    assert "".join(chunks) == log
    routes = [r.route for r in server.after_connect()]
    assert routes.count(TAIL) == 1
    assert routes[-2:] == [STATUS, LOGS]  # the stream's end is not trusted: the status, a last download


def test_a_finished_job_cut_after_each_frame_gets_the_rest_from_one_download(
    server: FakeJobServer, connect: Connect
) -> None:
    server.add_job(JOB, status="SUCCEEDED", log=lines(0, 25))
    server.fail(CutWebSocket(after_frames=1), when=TAIL, times=None)

    chunks = connect(**QUICK).follow(JOB)

    assert "".join(chunks) == lines(0, 25)
    assert chunks[0] == lines(0, 10)  # the one frame the stream delivered
    assert len(server.sent(TAIL)) == 1  # terminal: no reconnect
    assert len(server.sent(LOGS)) == 1


@pytest.mark.parametrize("how", ["eof", "going_away", "normal"])
def test_cuts_while_the_job_runs_are_reconnected_and_the_replay_skipped(
    server: FakeJobServer, connect: Connect, how: str
) -> None:
    """Every connection is cut after its first frame (dropped, 1001, or 1000 as when the server's log
    reader fails); the server replays the log on each new one."""
    log = printing(server, ticks=5, per_tick=1)
    server.fail(CutWebSocket(after_frames=1, how=how), when=TAIL, times=None)  # type: ignore[arg-type]

    chunks = connect(**QUICK).follow(JOB)

    assert "".join(chunks) == log
    assert len(server.sent(TAIL)) >= 2


def test_a_silent_stream_ends_when_the_status_says_so(server: FakeJobServer, connect: Connect) -> None:
    """Nothing ever arrives on the socket: the idle status checks find the job over, and the log comes
    from the last download."""
    server.add_job(
        JOB, status="RUNNING", log=lines(0, 3), steps=[Step(log=lines(3, 5)), Step(status="FAILED")]
    )
    server.fail(SilentWebSocket(), when=TAIL)

    chunks = connect(**QUICK).follow(JOB)

    assert "".join(chunks) == lines(0, 5)
    assert len(server.sent(TAIL)) == 1
    assert len(server.sent(STATUS)) >= 2


def test_a_stream_that_never_works_gives_up_after_max_reconnects(
    server: FakeJobServer, connect: Connect
) -> None:
    server.add_job(JOB, status="RUNNING", log=lines(0, 3))
    server.fail(CutWebSocket(after_frames=0), when=TAIL, times=None)
    policy = TailPolicy(max_reconnects=3, backoff_initial=0.001, backoff_max=0.001)

    with pytest.raises(LogStreamError, match=r"kept failing .* after 3 reconnects"):
        connect(**{**QUICK, "tail_policy": policy}).follow(JOB)
    assert len(server.sent(TAIL)) == 4


def test_a_server_lost_and_back_mid_follow_costs_no_line(
    server: FakeJobServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """The stream drops, and the next requests are refused for a while (an outage): the follower
    rides it out and delivers every line once."""
    log = printing(server)
    client = connect(**QUICK)
    server.fail(CutWebSocket(after_frames=1), when=TAIL)
    server.fail(Refuse(), when=lambda request: "/logs" not in request.url.path, times=4)

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        chunks = client.follow(JOB)

    assert "".join(chunks) == log
    assert any(message.startswith("Lost the job server") for message in caplog.messages)
    assert any("is back after" in message for message in caplog.messages)


# --------------------------------------------------------------------------- a refused upgrade


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (502, "Bad Gateway"),
        (404, "404: Not Found"),  # a proxy without the route: not "no such job"
        (426, "Upgrade Required"),
        (500, "500: WebSocket proxy error"),  # what the server answers a GET that lost its Upgrade
    ],
)
def test_a_refused_upgrade_falls_back_to_polling_the_log(
    server: FakeJobServer, connect: Connect, status: int, body: str
) -> None:
    log = printing(server)
    server.fail(Respond(status, body), when=TAIL, times=None)

    chunks = connect(**QUICK).follow(JOB)

    assert "".join(chunks) == log
    assert server.websockets == []
    assert len(server.sent(LOGS)) >= 2  # polled while the job ran
    assert server.after_connect()[-1].route == LOGS  # and once more after it ended


def test_an_unknown_job_is_not_found_without_polling(server: FakeJobServer, connect: Connect) -> None:
    with pytest.raises(JobNotFoundError, match="Job raysubmit_nope does not exist"):
        connect(**QUICK).follow("raysubmit_nope")
    assert server.sent(LOGS) == []


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, "Can only get logs of submission type jobs", BadRequestError),
        (401, "Unauthorized: missing or invalid authentication token", UnauthorizedError),
        (403, "Forbidden: invalid authentication token", PermissionDeniedError),
    ],
)
def test_a_refusal_about_the_job_or_the_credentials_is_raised(
    server: FakeJobServer, connect: Connect, status: int, body: str, kind: type[Exception]
) -> None:
    server.add_job(JOB, status="RUNNING", log=lines(0, 3), steps=[Step(status="SUCCEEDED")])
    server.fail(Respond(status, body), when=TAIL, times=None)

    with pytest.raises(kind):
        connect(**QUICK).follow(JOB)
    assert server.sent(LOGS) == []


# --------------------------------------------------------------------------- the job goes away


def test_a_job_deleted_while_followed_is_not_found_after_asking_again(
    server: FakeJobServer, connect: Connect
) -> None:
    server.add_job(JOB, status="RUNNING", log=lines(0, 3), steps=[Step(vanish=True)])
    client = connect(**QUICK)

    with pytest.raises(JobNotFoundError):
        client.follow(JOB)
    assert len(server.sent(STATUS)) >= 2  # "not found" of a job seen before is not believed at once


def test_a_log_the_server_cannot_read_ends_early_with_a_warning_and_waits_for_the_job(
    server: FakeJobServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """A byte that is not UTF-8 stops the server's log reader (1000 while the job runs) and makes
    every ``GET …/logs`` a 500: the follower delivers what came, warns once, returns at the job's end."""
    server.add_job(JOB, status="RUNNING", log=lines(0, 3), steps=[Step(), Step(), Step(status="SUCCEEDED")])
    server.fail(CutWebSocket(after_frames=1, how="normal"), when=TAIL, times=None)
    unreadable = (
        "Traceback (most recent call last):\nUnicodeDecodeError: 'utf-8' codec can't decode byte 0xff"
    )
    server.fail(Respond(500, unreadable), when=LOGS, times=None)

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        chunks = connect(**QUICK).follow(JOB)

    assert "".join(chunks) == lines(0, 3)
    warnings = [m for m in caplog.messages if "could not send the full log" in m]
    assert len(warnings) == 1
    assert server.jobs[JOB].status == "SUCCEEDED"  # it waited for the end
    # The log file was asked for through the dashboard's log API first: this fake is a gateway that
    # passes only the job routes (404), which the warning says.
    assert server.sent("GET /api/v0/logs/file")
    assert "the dashboard's log API could not send the file" in warnings[0]


def test_reading_a_log_neither_route_can_send_raises_log_decode_error_with_the_reason(
    server: FakeJobServer, connect: Connect
) -> None:
    """The job server cannot read the log, and the dashboard's log API is not reachable (a gateway
    that passes only the job routes): ``LogDecodeError``, its ``__cause__`` the log API's answer."""
    server.add_job(JOB, status="SUCCEEDED", log=lines(0, 3))
    unreadable = (
        "Traceback (most recent call last):\nUnicodeDecodeError: 'utf-8' codec can't decode byte 0xff"
    )
    server.fail(Respond(500, unreadable), when=LOGS, times=None)
    client = connect(**QUICK)

    for read in (client.get_job_logs, client.download):
        with pytest.raises(LogDecodeError) as caught:
            read(JOB)
        assert isinstance(caught.value.__cause__, NotFoundError)
        assert "/api/v0/logs/file" in str(server.sent("GET /api/v0/logs/file")[-1].request.url)
