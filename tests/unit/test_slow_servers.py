"""One deadline per call, whatever the server does; bodies held in memory have a size bound.

A real local socket server (``slow_server.py``, no Ray) answers as a Ray head would, except on the
route a test names, where it sends the answer's headers or body one byte at a time — each byte well
within the read timeout, so a timeout per read never fires —, sends a body without end, or stalls
the TLS handshake. Every single call must then fail with :class:`APITimeoutError` within its
deadline (twice the timeout, retries included), for the sync and the async client; an answer over
``max_response_bytes`` fails with :class:`ResponseTooLargeError` before it is held. Timing is the
contract here, so it is asserted, with a generous margin for a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from drivers import Driver, open_driver
from ray_jobs_client.errors import APITimeoutError, ResponseTooLargeError
from slow_server import Announce, DripBody, DripHeaders, Endless, Misbehaviour, SlowServer, TLSStall

#: Each network operation's timeout in these tests: every call must end within twice this.
T = 0.3
#: The deadline (2 T) plus a margin for a machine busy with other work: a client without a
#: deadline takes the server's whole drip (``slow_server.GIVE_UP``, 10 s) or more.
LATEST = 2 * T + 1.0
JOB = "raysubmit_slow"
LOG = "line one\nline two\n"


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server() -> Iterator[SlowServer]:
    server = SlowServer()
    server.jobs.add_job(JOB, status="SUCCEEDED", log=LOG)
    yield server
    server.close()


@pytest.fixture
def clients(kind: str) -> Iterator[Callable[..., Driver]]:
    """``open(address, **settings)``: a client of the test's kind, closed after the test."""
    opened: list[Driver] = []

    def open_client(address: str, **settings: Any) -> Driver:
        driver = open_driver(kind, address, **{"timeout": T, **settings})
        opened.append(driver)
        return driver

    yield open_client
    for driver in opened:
        driver.close()


def _working_dir(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "job.py").write_text("print('hi')\n")
    return {"working_dir": str(tmp_path)}


#: (route that misbehaves, how, skipping its first N requests, the call that meets it)
CALLS: list[Any] = [
    pytest.param("GET /api/version", DripBody(), 1, lambda c, tmp: c.get_version(), id="get_version body"),
    pytest.param("GET /api/jobs/", DripHeaders(), 0, lambda c, tmp: c.list_jobs(), id="list_jobs headers"),
    pytest.param("GET /api/jobs/", DripBody(), 0, lambda c, tmp: c.list_jobs(), id="list_jobs body"),
    pytest.param(
        "GET /api/jobs/{id}", DripHeaders(), 0, lambda c, tmp: c.get_job_info(JOB), id="get_job_info headers"
    ),
    pytest.param(
        "GET /api/jobs/{id}", DripBody(), 0, lambda c, tmp: c.get_job_status(JOB), id="get_job_status body"
    ),
    pytest.param(
        "GET /api/jobs/{id}/logs", DripBody(), 0, lambda c, tmp: c.get_job_logs(JOB), id="get_job_logs body"
    ),
    pytest.param(
        "POST /api/jobs/{id}/stop", DripHeaders(), 0, lambda c, tmp: c.stop_job(JOB), id="stop_job headers"
    ),
    pytest.param(
        "POST /api/jobs/",
        DripBody(),
        0,
        lambda c, tmp: c.submit_job(entrypoint="echo hi"),
        id="submit_job body",
    ),
    pytest.param(
        "DELETE /api/jobs/{id}", DripHeaders(), 0, lambda c, tmp: c.delete_job(JOB), id="delete_job headers"
    ),
    pytest.param(
        "GET /api/packages/{protocol}/{name}",
        DripHeaders(),
        0,
        lambda c, tmp: c.submit_job(entrypoint="python job.py", runtime_env=_working_dir(tmp)),
        id="package GET headers",
    ),
    pytest.param(
        "PUT /api/packages/{protocol}/{name}",
        DripBody(),
        0,
        lambda c, tmp: c.submit_job(entrypoint="python job.py", runtime_env=_working_dir(tmp)),
        id="package PUT body",
    ),
]


@pytest.mark.parametrize(("route", "misbehaviour", "skip", "call"), CALLS)
def test_a_dripping_answer_fails_the_call_by_its_deadline(
    server: SlowServer,
    clients: Callable[..., Driver],
    tmp_path: Path,
    route: str,
    misbehaviour: Misbehaviour,
    skip: int,
    call: Callable[[Driver, Path], object],
) -> None:
    client = clients(server.address)
    server.misbehave(route, misbehaviour, skip=skip)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        call(client, tmp_path)
    elapsed = time.monotonic() - started
    assert elapsed < LATEST, f"{route} took {elapsed:.2f} s (deadline {2 * T} s)"
    method, path = route.split(" ")
    assert str(caught.value).startswith(f"{method} {path.split('{')[0]}"), caught.value  # names the call


def test_a_dripping_websocket_handshake_ends_by_its_deadline(
    server: SlowServer, clients: Callable[..., Driver]
) -> None:
    """The log follower's handshake is one call: past its deadline the follower moves on (here the
    job has ended, so it downloads the log) rather than waiting on the handshake."""
    client = clients(server.address)
    server.misbehave("GET /api/jobs/{id}/logs/tail", DripHeaders())
    started = time.monotonic()
    assert "".join(client.follow(JOB)) == LOG
    elapsed = time.monotonic() - started
    assert elapsed < LATEST, f"following took {elapsed:.2f} s (deadline {2 * T} s)"


@pytest.mark.parametrize("drip", [False, True], ids=["silent TLS handshake", "dripping TLS handshake"])
def test_a_stalled_tls_handshake_ends_by_the_deadline(kind: str, drip: bool) -> None:
    server = TLSStall(drip=drip)
    try:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match="GET /api/version"):
            open_driver(kind, server.address, timeout=T, verify=False)  # Ray's constructor connects
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert elapsed < LATEST, f"the TLS handshake took {elapsed:.2f} s (deadline {2 * T} s)"


def test_your_own_http_client_still_ends_a_dripping_body_by_the_deadline(
    server: SlowServer, kind: str
) -> None:
    """With ``http_client=`` its transport reads the socket; the deadline is checked between the
    pieces of the body (a dripped head is bounded by each read's timeout only: documented)."""
    http = httpx.Client() if kind == "sync" else httpx.AsyncClient()
    client = open_driver(kind, server.address, timeout=T, http_client=http, owned=http)
    try:
        server.misbehave("GET /api/jobs/{id}", DripBody())
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.get_job_status(JOB)
        elapsed = time.monotonic() - started
    finally:
        client.close()
    assert elapsed < LATEST, f"get_job_status took {elapsed:.2f} s (deadline {2 * T} s)"


def test_a_streamed_download_that_keeps_coming_is_not_cut_at_the_deadline(
    server: SlowServer, clients: Callable[..., Driver]
) -> None:
    """``iter_job_logs`` has no overall deadline: only each read is bounded (by the read timeout)."""
    client = clients(server.address)
    server.misbehave("GET /api/jobs/{id}/logs", DripBody(interval=0.02, give_up=4 * T))
    started = time.monotonic()
    text = "".join(client.download(JOB))
    assert text == LOG
    assert time.monotonic() - started > 2 * T  # it outlived a single call's deadline


# --------------------------------------------------------------------------- the size bound

LIMIT = 2**20


def test_an_endless_body_fails_at_the_bound(server: SlowServer, clients: Callable[..., Driver]) -> None:
    client = clients(server.address, max_response_bytes=LIMIT, timeout=10.0)
    server.misbehave("GET /api/jobs/{id}/logs", Endless())
    with pytest.raises(ResponseTooLargeError, match="iter_job_logs") as caught:
        client.get_job_logs(JOB)
    error = caught.value
    assert isinstance(error, RuntimeError)  # what Ray's client raises for a failed request
    assert error.limit == LIMIT
    assert LIMIT < error.received <= LIMIT + 65536 + 16  # stopped within one read past the bound
    assert (error.method, error.path) == ("GET", f"/api/jobs/{JOB}/logs")


def test_a_body_announced_over_the_bound_fails_before_it_is_read(
    server: SlowServer, clients: Callable[..., Driver]
) -> None:
    client = clients(server.address, max_response_bytes=LIMIT, timeout=10.0)
    server.misbehave("GET /api/jobs/", Announce(length=10 * LIMIT))
    with pytest.raises(ResponseTooLargeError, match="iter_job_logs") as caught:
        client.list_jobs()
    assert (caught.value.announced, caught.value.received) == (10 * LIMIT, 0)


def test_a_streamed_log_is_not_bounded(server: SlowServer, clients: Callable[..., Driver]) -> None:
    """The bound is for what is held whole: ``iter_job_logs`` hands on each piece."""
    big = "x" * (3 * 65536) + "\n"
    server.jobs.jobs[JOB].log = big
    client = clients(server.address, max_response_bytes=65536, timeout=10.0)
    with pytest.raises(ResponseTooLargeError):
        client.get_job_logs(JOB)
    assert "".join(client.download(JOB)) == big


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (True, TypeError),
        (1.5, TypeError),
        ("1", TypeError),
        (None, TypeError),
    ],
)
def test_a_bound_that_makes_no_sense_is_refused_before_any_io(kind: str, value: object, error: type) -> None:
    with pytest.raises(error, match="max_response_bytes"):
        open_driver(kind, "http://127.0.0.1:9", max_response_bytes=value)


def test_a_body_your_http_client_read_already_still_arrives(server: SlowServer, kind: str) -> None:
    """A response hook of the caller's client may read the body before this client sees it."""
    if kind == "sync":
        http: httpx.Client | httpx.AsyncClient = httpx.Client(event_hooks={"response": [httpx.Response.read]})
    else:

        async def read(response: httpx.Response) -> None:
            await response.aread()

        http = httpx.AsyncClient(event_hooks={"response": [read]})
    client = open_driver(kind, server.address, timeout=T, http_client=http, owned=http)
    try:
        assert [job.submission_id for job in client.list_jobs()] == [JOB]
        assert client.get_job_logs(JOB) == LOG
    finally:
        client.close()


def test_a_connection_pool_kept_where_this_client_cannot_reach_it_fails_loudly() -> None:
    """If httpx changed how its transport keeps its pool, calls would silently lose their deadline:
    constructing the transport fails instead."""
    from ray_jobs_client._network import with_deadlines

    unknown = httpx.HTTPTransport()
    unknown._pool = object()  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="could not keep their deadline"):
        with_deadlines(unknown)
