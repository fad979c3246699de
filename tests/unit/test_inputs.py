"""Bad input is refused before anything is sent, with a typed error naming what is wrong.

The clients here talk to the fake job server (``fake_job_server.py``, passed as ``http_client=``),
which records every request: "nothing sent" is checked, not assumed. That the server really stores
the ids refused here, and what it does with them, is shown against a live head in
``tests/integration/test_inputs_live.py``.
"""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fake_job_server import ADDRESS, FakeJobServer, Refuse
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.checks import MAX_SUBMISSION_ID_BYTES
from ray_jobs_client.errors import (
    APIConnectionError,
    ClientClosedError,
    JobsClientError,
)


@pytest.fixture
def client(server: FakeJobServer) -> Iterator[JobSubmissionClient]:
    with JobSubmissionClient(ADDRESS, http_client=server.http_client()) as client:
        yield client


# --------------------------------------------------------------------------- timeout


@pytest.mark.parametrize(
    "timeout",
    [0, -1, 0.0, math.nan, math.inf, httpx.Timeout(5, read=0), httpx.Timeout(5, connect=-2)],
    ids=repr,
)
def test_a_timeout_that_is_not_a_positive_number_is_a_value_error(
    server: FakeJobServer, timeout: Any
) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive, finite number of seconds"):
        JobSubmissionClient(ADDRESS, timeout=timeout, http_client=server.http_client())
    assert server.requests == []


@pytest.mark.parametrize("timeout", [None, True, "5", httpx.Timeout(None)], ids=repr)
def test_a_timeout_of_the_wrong_type_or_none_is_a_type_error(timeout: Any) -> None:
    with pytest.raises(TypeError, match="timeout"):
        AsyncJobSubmissionClient("http://jobs.example:8265", timeout=timeout)


# --------------------------------------------------------------------------- job ids

BLANK_OR_DOT = ["", " ", "\t\n", ".", ".."]

SYNC_CALLS: dict[str, Callable[[JobSubmissionClient, str], object]] = {
    "get_job_info": lambda c, j: c.get_job_info(j),
    "get_job_status": lambda c, j: c.get_job_status(j),
    "get_job_logs": lambda c, j: c.get_job_logs(j),
    "stop_job": lambda c, j: c.stop_job(j),
    "delete_job": lambda c, j: c.delete_job(j),
    "wait_until_finished": lambda c, j: c.wait_until_finished(j),
    "iter_job_logs": lambda c, j: list(c.iter_job_logs(j)),
    "follow_job_logs": lambda c, j: list(c.follow_job_logs(j)),
}


@pytest.mark.parametrize("job_id", BLANK_OR_DOT, ids=repr)
@pytest.mark.parametrize("call", list(SYNC_CALLS))
def test_blank_or_dot_job_ids_are_refused_before_anything_is_sent(
    client: JobSubmissionClient, server: FakeJobServer, call: str, job_id: str
) -> None:
    with pytest.raises(ValueError, match="job_id") as caught:
        SYNC_CALLS[call](client, job_id)
    assert repr(job_id) in str(caught.value)
    assert server.after_connect() == []


@pytest.mark.parametrize("job_id", BLANK_OR_DOT, ids=repr)
def test_the_async_client_refuses_them_too(server: FakeJobServer, job_id: str) -> None:
    async def calls() -> None:
        async with AsyncJobSubmissionClient(ADDRESS, http_client=server.async_http_client()) as client:
            for call in (
                client.get_job_info,
                client.get_job_status,
                client.get_job_logs,
                client.stop_job,
                client.delete_job,
                client.wait_until_finished,
            ):
                with pytest.raises(ValueError, match="job_id"):
                    await call(job_id)
            with pytest.raises(ValueError, match="job_id"):
                async for _ in client.tail_job_logs(job_id):
                    pass

    asyncio.run(calls())
    assert server.after_connect() == []


def test_a_job_id_that_is_not_a_string_is_a_type_error(client: JobSubmissionClient) -> None:
    with pytest.raises(TypeError, match="job_id must be a string"):
        client.get_job_info(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- submission ids

UNSERVABLE = {
    "slash": "a/b",
    "only a slash": "/",
    "dot": ".",
    "dot dot": "..",
    "NUL": "a\x00b",
    "whitespace": "   ",
    "241 bytes": "x" * (MAX_SUBMISSION_ID_BYTES + 1),
    "242 bytes of é": "é" * (MAX_SUBMISSION_ID_BYTES // 2 + 1),
}


@pytest.mark.parametrize("kwarg", ["submission_id", "job_id"])
@pytest.mark.parametrize("bad", list(UNSERVABLE.values()), ids=list(UNSERVABLE))
def test_submission_ids_the_server_cannot_serve_are_refused_before_anything_is_sent(
    client: JobSubmissionClient, server: FakeJobServer, bad: str, kwarg: str
) -> None:
    with pytest.raises(ValueError, match=kwarg):
        client.submit_job(entrypoint="echo hi", **{kwarg: bad})
    assert server.after_connect() == []


@pytest.mark.parametrize(
    "good", ["x" * MAX_SUBMISSION_ID_BYTES, "é" * (MAX_SUBMISSION_ID_BYTES // 2), "a b?#%"]
)
def test_ids_up_to_the_limit_are_sent(client: JobSubmissionClient, server: FakeJobServer, good: str) -> None:
    assert client.submit_job(entrypoint="echo hi", submission_id=good) == good
    # A caller's id is looked up before the submit (a lost answer then cannot pass an old job off as new).
    assert [r.route for r in server.after_connect()] == ["GET /api/jobs/{id}", "POST /api/jobs/"]


def test_an_empty_submission_id_asks_for_a_generated_one_as_in_ray(
    client: JobSubmissionClient, server: FakeJobServer
) -> None:
    assert client.submit_job(entrypoint="echo hi", submission_id="").startswith("raysubmit_")


# --------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("http://127.0.0.1:99999", "Port out of range"),
        ("http://127.0.0.1:0", "port 0"),
        ("http://127.0.0.1:http", "Port could not be cast"),
        ("http://:8265", "names no host"),
    ],
)
def test_an_address_that_cannot_be_connected_to_is_a_value_error(address: str, why: str) -> None:
    for kind in (JobSubmissionClient, AsyncJobSubmissionClient):
        with pytest.raises(ValueError, match=why) as caught:
            kind(address)
        assert str(caught.value).startswith(f"Invalid job server address {address}")


# --------------------------------------------------------------------------- credentials in the address

PASSWORD = "s3cret-in-the-url"


def test_credentials_in_the_address_are_sent_as_basic_auth_and_never_shown(server: FakeJobServer) -> None:
    client = JobSubmissionClient(
        f"http://user:{PASSWORD}@jobs.example:8265/prefix", http_client=server.http_client()
    )
    expected = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert server.requests[0].headers["authorization"] == expected
    assert server.requests[0].url == "http://jobs.example:8265/prefix/api/version"
    assert client.get_address() == "http://user:<redacted>@jobs.example:8265/prefix"
    assert PASSWORD not in repr(client)


def test_a_connection_failure_names_the_address_without_its_password(server: FakeJobServer) -> None:
    server.fail(Refuse(), when=lambda request: True, times=None)

    with pytest.raises(APIConnectionError) as caught:
        JobSubmissionClient(
            f"http://user:{PASSWORD}@jobs.example:8265", retries=0, http_client=server.http_client()
        )
    assert "Failed to connect to Ray at address: http://user:<redacted>@jobs.example:8265" in str(
        caught.value
    )
    assert PASSWORD not in str(caught.value)


def test_the_token_moves_to_x_ray_authorization_when_the_address_has_basic_credentials(
    server: FakeJobServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "tok-123")
    JobSubmissionClient(f"http://user:{PASSWORD}@jobs.example:8265", http_client=server.http_client())
    sent = server.requests[0].headers
    assert sent["x-ray-authorization"] == "Bearer tok-123"
    assert sent["authorization"].startswith("Basic ")


# --------------------------------------------------------------------------- closed clients


def test_a_closed_client_raises_client_closed_error(
    client: JobSubmissionClient, server: FakeJobServer
) -> None:
    client.close()
    for call in (
        lambda: client.list_jobs(),
        lambda: client.get_job_status("raysubmit_x"),
        lambda: client.submit_job(entrypoint="echo hi"),
        lambda: list(client.iter_job_logs("raysubmit_x")),
        lambda: list(client.follow_job_logs("raysubmit_x")),
    ):
        with pytest.raises(ClientClosedError, match="closed") as caught:
            call()
        assert isinstance(caught.value, JobsClientError) and isinstance(caught.value, RuntimeError)
    assert server.after_connect() == []


def test_a_closed_async_client_raises_client_closed_error(server: FakeJobServer) -> None:
    async def scenario() -> None:
        client = AsyncJobSubmissionClient(ADDRESS, http_client=server.async_http_client())
        async with client:
            pass
        with pytest.raises(ClientClosedError):
            await client.list_jobs()
        with pytest.raises(ClientClosedError):
            async for _ in client.tail_job_logs("raysubmit_x"):
                pass

    asyncio.run(scenario())
    assert server.after_connect() == []


# --------------------------------------------------------------------------- http_client=


def test_http_client_must_suit_the_client() -> None:
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        JobSubmissionClient("http://jobs.example:8265", http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        AsyncJobSubmissionClient("http://jobs.example:8265", http_client=httpx.Client())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="verify= cannot be combined with http_client="):
        JobSubmissionClient("http://jobs.example:8265", verify=False, http_client=httpx.Client())
    closed = httpx.Client()
    closed.close()
    with pytest.raises(ValueError, match="http_client is closed"):
        JobSubmissionClient("http://jobs.example:8265", http_client=closed)


def test_http_client_hooks_headers_and_cookies_apply_and_it_stays_open(server: FakeJobServer) -> None:
    seen: list[str] = []
    http = server.http_client(
        headers={"X-Trace": "t-1"},
        cookies={"session": "c-1"},
        event_hooks={"request": [lambda request: seen.append(request.url.path)]},
    )
    with JobSubmissionClient(ADDRESS, http_client=http) as client:
        client.submit_job(entrypoint="echo hi")
    assert seen == ["/api/version", "/api/jobs/"]
    assert all(r.headers["x-trace"] == "t-1" for r in server.requests)
    assert all("session=c-1" in r.headers["cookie"] for r in server.requests)
    assert all(r.headers["user-agent"].startswith("ray-jobs-client/") for r in server.requests)
    assert not http.is_closed
    http.close()


def test_a_sync_http_client_cannot_serve_the_async_log_iterator(client: JobSubmissionClient) -> None:
    async def tail() -> None:
        async for _ in client.tail_job_logs("raysubmit_x"):
            pass

    with pytest.raises(TypeError, match="follow_job_logs"):
        asyncio.run(tail())
