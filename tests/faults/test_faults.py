"""The client against a network that misbehaves: resets, lost responses, gateway errors, dropped
keep-alive connections, cut and refused WebSockets, garbage bodies and silent servers.

Every fault is injected on demand by :class:`proxy.FaultProxy` between the client and the live head,
and every test also asserts that its fault really happened (the proxy counts what it did). Clients
run with their default settings unless a test is about a setting, sync and async alike.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from drivers import Connect
from harness import HeadJobs, follow_concurrently, line_printer, printed_lines
from proxy import CutResponse, FaultProxy, Hang, LoseResponse, Request, Reset, Respond
from ray_jobs_client.errors import APITimeoutError

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


def _is_submit(request: Request) -> bool:
    return request.method == "POST" and request.path == "/api/jobs/"


# ---------------------------------------------------------------------------------------- HTTP calls


@pytest.mark.both_clients
def test_construction_survives_reset_connections(proxy: FaultProxy, connect: Connect) -> None:
    """The constructor's version check is retried when the first two connections are reset."""
    proxy.add_rule(Reset(), times=2)

    client = connect(proxy.address)

    assert client.get_version() == "4"
    assert proxy.stats["reset"] == 2
    version_checks = [r for r in proxy.requests if r.path == "/api/version"]
    assert len(version_checks) == 4  # 2 reset + the one that got through + get_version()


@pytest.mark.parametrize("give_id", [True, False], ids=["submission_id", "generated_id"])
@pytest.mark.parametrize("lost", ["reset", "gateway_504"])
def test_lost_submit_response_creates_exactly_one_job(
    proxy: FaultProxy, connect: Connect, head: HeadJobs, give_id: bool, lost: str
) -> None:
    """The job is created but its response never arrives (the connection is reset, or a gateway
    answers 504): the retried submit returns the same id and the cluster has exactly one job,
    whether the caller or the client chose the submission id."""
    marker = f"rjc-lost-{uuid.uuid4().hex[:12]}"
    instead = Respond(504, "Gateway Timeout") if lost == "gateway_504" else None
    proxy.add_rule(LoseResponse(instead), times=1, when=_is_submit)
    client = connect(proxy.address)

    returned = client.submit_job(entrypoint=f"echo {marker}", submission_id=marker if give_id else None)

    jobs = head.with_entrypoint_containing(marker)
    head.submitted.extend(job["submission_id"] for job in jobs)
    assert [job["submission_id"] for job in jobs] == [returned]
    if give_id:
        assert returned == marker
    assert proxy.stats["lost_response"] == 1
    assert sum(map(_is_submit, proxy.requests)) == 2  # the lost one and the retry


@pytest.mark.both_clients
@pytest.mark.parametrize("drop", ["after_each_response", "when_idle"])
def test_polls_survive_dropped_connections_and_503_bursts(
    proxy: FaultProxy, connect: Connect, head: HeadJobs, drop: str
) -> None:
    """40 status/list polls all succeed while keep-alive connections keep being dropped (after each
    response, or after 20 ms idle) and every 10th request starts a burst of three 503s
    (Retry-After: 0)."""
    job_id = head.submit("echo polled")
    client = connect(proxy.address)
    if drop == "after_each_response":
        proxy.close_after_response = True
    else:
        proxy.idle_close_after = 0.02
    proxy.add_rule(
        Respond(503, "try again", headers={"Retry-After": "0"}), times=None, when=lambda r: r.index % 10 < 3
    )

    for poll in range(40):
        if poll % 2:
            assert job_id in {job.submission_id for job in client.list_jobs()}
        else:
            assert client.get_job_status(job_id) in ("PENDING", "RUNNING", "SUCCEEDED")
        if drop == "when_idle":
            time.sleep(0.04)  # leave the connection idle long enough for the proxy to drop it

    assert proxy.stats["respond_503"] >= 12
    dropped = proxy.stats["closed_after_response" if drop == "after_each_response" else "idle_closed"]
    assert dropped >= 20  # most polls found their connection gone (timing decides a few)
    assert proxy.stats["connections"] >= 20


def test_lost_upload_responses_are_retried(
    proxy: FaultProxy, connect: Connect, head: HeadJobs, tmp_path: Path
) -> None:
    """A package upload whose response is lost, then one whose connection is reset: the same bytes
    are sent again and the job runs with them."""
    marker = uuid.uuid4().hex
    (tmp_path / "marker.txt").write_text(marker)
    proxy.add_rule(LoseResponse(), times=1, when=lambda r: r.method == "PUT")
    proxy.add_rule(Reset(), times=1, when=lambda r: r.method == "PUT")
    client = connect(proxy.address)

    job_id = client.submit_job(entrypoint="cat marker.txt", runtime_env={"working_dir": str(tmp_path)})

    head.submitted.append(job_id)
    assert head.wait(job_id)["status"] == "SUCCEEDED"
    assert marker in head.logs(job_id)
    assert [r.method for r in proxy.requests].count("PUT") == 3


def test_lost_delete_response_still_reports_deleted(
    proxy: FaultProxy, connect: Connect, head: HeadJobs
) -> None:
    """The job is deleted but the response is lost; the automatic retry then finds no job. The
    caller's delete did succeed, so it must say so (not raise JobNotFoundError)."""
    job_id = head.submit("echo to-be-deleted")
    head.wait(job_id)
    proxy.add_rule(LoseResponse(), times=1, when=lambda r: r.method == "DELETE")
    client = connect(proxy.address)

    assert client.delete_job(job_id) is True

    # The first DELETE reached the head (its response was lost) and the client's own retry found the
    # job gone.
    assert [r.method for r in proxy.requests].count("DELETE") == 2
    assert proxy.stats["lost_response"] == 1
    assert head.http.get(f"/api/jobs/{job_id}").status_code == 404


def test_log_download_cut_short_is_resumed_without_repeats(
    proxy: FaultProxy, connect: Connect, head: HeadJobs
) -> None:
    """Two downloads of the log are cut halfway; the third completes. The pieces yielded add up to
    the log exactly once (the server sends it from the start every time)."""
    job_id = head.submit(line_printer(3000, 0))
    assert head.wait(job_id)["status"] == "SUCCEEDED"
    is_logs_download = lambda request: request.method == "GET" and request.path.endswith("/logs")  # noqa: E731
    proxy.add_rule(CutResponse(keep=0.5), times=2, when=is_logs_download)
    client = connect(proxy.address)

    pieces = client.download(job_id)

    assert "".join(pieces) == head.logs(job_id)
    assert len(printed_lines("".join(pieces))) == 3000
    assert proxy.stats["cut_response"] == 2
    assert sum(1 for request in proxy.requests if is_logs_download(request)) == 3


def test_log_download_that_keeps_being_cut_fails_clearly(
    proxy: FaultProxy, connect: Connect, head: HeadJobs
) -> None:
    job_id = head.submit(line_printer(3000, 0))
    head.wait(job_id)
    proxy.add_rule(CutResponse(keep=0.5), times=None, when=lambda r: r.path.endswith("/logs"))
    client = connect(proxy.address, retries=2)

    with pytest.raises(ConnectionError, match=f"GET /api/jobs/{job_id}/logs"):
        client.download(job_id)
    assert proxy.stats["cut_response"] == 3


def test_log_download_that_progresses_is_resumed_past_the_retry_budget(
    proxy: FaultProxy, connect: Connect, head: HeadJobs
) -> None:
    """Three cuts, each later in the body than the last, with ``retries=1``: every attempt delivered
    new text, so each cut counts as the first failure and the download completes."""
    job_id = head.submit(line_printer(3000, 0))
    head.wait(job_id)
    for keep in (0.3, 0.6, 0.9):
        proxy.add_rule(CutResponse(keep=keep), times=1, when=lambda r: r.path.endswith("/logs"))
    client = connect(proxy.address, retries=1)

    assert "".join(client.download(job_id)) == head.logs(job_id)
    assert proxy.stats["cut_response"] == 3


# ---------------------------------------------------------------------------------------- log tail

LINES = 30  # printed one every 0.2 s: the job runs for ~6 s
EXPECTED = [f"line {i}" for i in range(LINES)]
CUTS = {
    "rst_every_2s": {"ws_cut_with": "rst", "ws_cut_after_seconds": 2.0},
    "fin_every_1.5s": {"ws_cut_with": "fin", "ws_cut_after_seconds": 1.5},
    "going_away_every_2.5s": {"ws_cut_with": "going_away", "ws_cut_after_seconds": 2.5},
}


@pytest.mark.filterwarnings("ignore:ssl=None is deprecated:DeprecationWarning")  # inside Ray's client
@pytest.mark.parametrize("cut", CUTS)
def test_log_tail_survives_websocket_cuts(proxy: FaultProxy, head: HeadJobs, cut: str) -> None:
    """Every WebSocket is cut while the job prints (RST or FIN without a close frame, or a 1001
    close frame): the sync and the async follower reconnect, skip what the server replays, and
    deliver each line exactly once. Ray's own client, following alongside, does not."""
    for name, value in CUTS[cut].items():
        setattr(proxy, name, value)
    job_id = head.submit(line_printer(LINES, 0.2))

    followed = follow_concurrently(proxy.address, job_id, with_ray=True)

    full_log = head.logs(job_id)
    for kind in ("sync", "async"):
        assert followed[kind].text == full_log, kind
        assert printed_lines(followed[kind].text) == EXPECTED, kind
        assert followed[kind].logs == full_log, kind
    assert proxy.stats["ws_cuts"] >= 4
    ray = followed["ray"]
    assert ray.error is not None or printed_lines(ray.text) != EXPECTED


def test_log_tail_of_a_finished_job_cut_after_each_frame(proxy: FaultProxy, head: HeadJobs) -> None:
    """Each stream is cut after its first frame: the rest comes from ``GET …/logs``, once."""
    job_id = head.submit(line_printer(25, 0))
    head.wait(job_id)
    proxy.ws_cut_after_frames = 1

    followed = follow_concurrently(proxy.address, job_id)

    for kind in ("sync", "async"):
        assert followed[kind].text == head.logs(job_id), kind
        assert printed_lines(followed[kind].text) == [f"line {i}" for i in range(25)], kind
    assert proxy.stats["ws_cuts"] >= 2


def test_log_tail_polls_when_websockets_are_refused(proxy: FaultProxy, head: HeadJobs) -> None:
    """A proxy that answers 502 to every upgrade: the followers poll ``GET …/logs`` instead."""
    proxy.refuse_websockets(502)
    job_id = head.submit(line_printer(20, 0.2))

    followed = follow_concurrently(proxy.address, job_id)

    for kind in ("sync", "async"):
        assert followed[kind].text == head.logs(job_id), kind
        assert printed_lines(followed[kind].text) == [f"line {i}" for i in range(20)], kind
    assert proxy.stats["respond_502"] >= 2
    assert proxy.stats["websockets"] == 0


# ---------------------------------------------------------------------------------------- timeouts


@pytest.mark.both_clients
def test_silent_server_times_out_construction(proxy: FaultProxy, connect: Connect) -> None:
    """A server that accepts and never answers: APITimeoutError within the configured timeout."""
    proxy.add_rule(Hang(), times=None)
    started = time.monotonic()

    with pytest.raises(APITimeoutError) as caught:
        connect(proxy.address, timeout=1.0, retries=0)

    assert 0.9 <= time.monotonic() - started < 5.0
    assert isinstance(caught.value, ConnectionError) and isinstance(caught.value, TimeoutError)
    assert proxy.stats["hang"] == 1


@pytest.mark.both_clients
def test_silent_server_times_out_a_call(proxy: FaultProxy, connect: Connect) -> None:
    proxy.add_rule(Hang(), times=None, when=lambda r: r.path == "/api/jobs/")
    client = connect(proxy.address, timeout=1.0, retries=0)
    started = time.monotonic()

    with pytest.raises(APITimeoutError, match="/api/jobs/"):
        client.list_jobs()

    assert 0.9 <= time.monotonic() - started < 5.0


@pytest.mark.both_clients
def test_a_silent_server_costs_at_most_twice_the_timeout_whatever_the_retries(
    proxy: FaultProxy, connect: Connect
) -> None:
    """Five retries allowed, but a request ends within twice its timeout: the second attempt gets what
    is left of that, and no third one starts. (Before: six attempts of a full timeout each.)"""
    proxy.add_rule(Hang(), times=None)
    started = time.monotonic()

    with pytest.raises(APITimeoutError):
        connect(proxy.address, timeout=0.5, retries=5)

    assert time.monotonic() - started < 2 * 0.5 + 3.0
    assert 2 <= proxy.stats["hang"] <= 3
