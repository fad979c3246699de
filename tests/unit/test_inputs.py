"""Bad input is refused before anything is sent, with a typed error naming what is wrong.

The clients here talk to the fake job server (``fake_job_server.py``, passed as ``http_client=``),
which records every request: "nothing sent" is checked, not assumed. That the server really stores
the ids refused here, and what it does with them, is shown against a live head in
``tests/integration/test_inputs_live.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import select
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fake_job_server import ADDRESS, Connect, FakeJobServer, Refuse
from ray_jobs_client import (
    AsyncJobSubmissionClient,
    JobSubmissionClient,
    OutagePolicy,
    RetryPolicy,
    TailPolicy,
)
from ray_jobs_client.errors import (
    AddressModuleError,
    APIConnectionError,
    ClientClosedError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    JobsClientError,
    PayloadTooLargeError,
    RuntimeEnvError,
)
from ray_jobs_client.ids import MAX_SUBMISSION_ID_BYTES


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
    assert [r.method for r in server.after_connect()] == ["POST"]


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


# --------------------------------------------------------------------------- headers and cookies

SECRET = "s3cret-value"

ILLEGAL_HEADER_VALUES = {
    "CR LF": f"{SECRET}\r\nX-Injected: 1",
    "LF": f"{SECRET}\nmore",
    "NUL": f"{SECRET}\x00",
    "control character": f"{SECRET}\x01",
    "DEL": f"{SECRET}\x7f",
    "not ASCII": f"{SECRET}é",
}


def _names_the_header_not_the_value(error: BaseException, name: str) -> None:
    assert isinstance(error, InvalidArgumentError) and isinstance(error, ValueError), repr(error)
    assert repr(name) in str(error)
    assert (
        SECRET not in str(error)
        and SECRET not in repr(error.__cause__)
        and SECRET not in repr(error.__context__)
    )


@pytest.mark.parametrize("value", list(ILLEGAL_HEADER_VALUES.values()), ids=list(ILLEGAL_HEADER_VALUES))
def test_a_header_value_http_does_not_allow_is_refused_naming_the_header_not_the_value(
    connect: Connect, server: FakeJobServer, value: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        connect(headers={"X-Api-Token": value})
    _names_the_header_not_the_value(caught.value, "X-Api-Token")
    assert caught.value.parameter == "headers"
    assert server.requests == []


@pytest.mark.parametrize(
    "name",
    ["", "X Token", "X:Token", "X-Tökén", "X-Token\r\n"],
    ids=["empty", "space", "colon", "not ASCII", "CR LF"],
)
def test_a_header_name_that_is_not_a_token_is_refused(
    connect: Connect, server: FakeJobServer, name: str
) -> None:
    with pytest.raises(InvalidArgumentError, match="not a valid header name"):
        connect(headers={name: "v"})
    assert server.requests == []


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-Id": "1", "x-id": "2"}, "are the same header"),
        ({"Content-Length": "5"}, "cannot be set"),
        ({"transfer-encoding": "chunked"}, "cannot be set"),
    ],
)
def test_headers_that_would_be_lost_or_break_the_request_are_refused(
    connect: Connect, server: FakeJobServer, headers: dict[str, str], why: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=why):
        connect(headers=headers)
    assert server.requests == []


@pytest.mark.parametrize("value", [None, True, ["v"], {"v": 1}, object()], ids=repr)
def test_a_header_value_of_the_wrong_type_is_a_type_error_naming_the_header(
    connect: Connect, server: FakeJobServer, value: object
) -> None:
    with pytest.raises(InvalidArgumentTypeError, match="'X-Retry'") as caught:
        connect(headers={"X-Retry": value})
    assert isinstance(caught.value, TypeError)
    assert server.requests == []


def test_header_numbers_and_bytes_are_sent_as_text_and_outer_blanks_dropped(
    connect: Connect, server: FakeJobServer
) -> None:
    connect(headers={"X-Retry": 3, "X-Ratio": 0.5, "X-Raw": b"raw", "X-Padded": "  v  "})
    sent = server.requests[0].headers
    assert (sent["x-retry"], sent["x-ratio"], sent["x-raw"], sent["x-padded"]) == ("3", "0.5", "raw", "v")


def test_a_header_name_that_is_not_a_string_is_a_type_error(connect: Connect, server: FakeJobServer) -> None:
    with pytest.raises(TypeError, match="header names must be strings"):
        connect(headers={1: "v"})
    assert server.requests == []


def test_cookie_numbers_are_sent_as_text(connect: Connect, server: FakeJobServer) -> None:
    """Ray's client (requests) fails with an AttributeError on ``cookies={"a": 1}``; a number has one
    obvious text, so it is sent as that."""
    connect(cookies={"a": 1, "b": 2.5, "c": "text"})
    assert server.requests[0].headers["cookie"] == "a=1; b=2.5; c=text"


@pytest.mark.parametrize("value", [None, True, b"bytes", ["v"], object()], ids=repr)
def test_a_cookie_value_of_the_wrong_type_is_a_type_error_naming_the_cookie(
    connect: Connect, server: FakeJobServer, value: object
) -> None:
    with pytest.raises(InvalidArgumentTypeError, match="cookie 'session'") as caught:
        connect(cookies={"session": value})
    assert isinstance(caught.value, TypeError) and caught.value.parameter == "cookies"
    assert server.requests == []


@pytest.mark.parametrize(
    ("cookies", "why"),
    [
        ({"session": f"{SECRET};admin=1"}, "would start another cookie"),
        ({"session": f"{SECRET}\r\nX: 1"}, "carriage return"),
        ({"session": f"{SECRET}é"}, "not ASCII"),
        ({"session": math.nan}, "not a finite number"),
        ({"": "v"}, "not a valid cookie name"),
        ({"a=b": "v"}, "not a valid cookie name"),
        ({"a b": "v"}, "not a valid cookie name"),
    ],
    ids=["semicolon", "CR LF", "not ASCII", "NaN", "empty name", "= in name", "space in name"],
)
def test_a_cookie_that_cannot_be_sent_as_given_is_refused(
    connect: Connect, server: FakeJobServer, cookies: dict[str, Any], why: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=why) as caught:
        connect(cookies=cookies)
    assert SECRET not in str(caught.value)
    assert server.requests == []


def test_an_http_clients_own_headers_are_held_to_the_same_rules(server: FakeJobServer) -> None:
    with pytest.raises(InvalidArgumentError, match="http_client's headers") as caught:
        JobSubmissionClient(ADDRESS, http_client=server.http_client(headers={"X-Token": f"{SECRET}\n"}))
    _names_the_header_not_the_value(caught.value, "X-Token")
    assert server.requests == []


def test_an_http_clients_repeated_headers_are_its_own_choice(server: FakeJobServer) -> None:
    http = server.http_client(headers=httpx.Headers([("X-Tag", "a"), ("x-tag", "b")]))
    with JobSubmissionClient(ADDRESS, http_client=http):
        pass
    assert server.requests[0].headers.get_list("x-tag") == ["a", "b"]


def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(
    server: FakeJobServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", f"{SECRET}\x01tail")
    with pytest.raises(InvalidArgumentError, match="RAY_AUTH_TOKEN") as caught:
        JobSubmissionClient(ADDRESS, http_client=server.http_client())
    assert SECRET not in str(caught.value)
    assert server.requests == []


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket that listens and never answers: a connection to it shows in its backlog."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock


def _connections_waiting(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def test_an_illegal_header_is_refused_before_connecting_not_reported_as_a_connection_failure(
    listener: socket.socket,
) -> None:
    """The user's report: a header with CR LF came back as ``APIConnectionError`` "Failed to connect",
    quoting the value. A connection would be complete (in the backlog) before the call returned."""
    address = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for kind in (JobSubmissionClient, AsyncJobSubmissionClient):
        with pytest.raises(InvalidArgumentError) as caught:
            kind(address, headers={"X-Api-Token": f"{SECRET}\r\nX-Injected: 1"}, retries=0, timeout=5)
        assert not isinstance(caught.value, ConnectionError)
        _names_the_header_not_the_value(caught.value, "X-Api-Token")
    assert not _connections_waiting(listener)


def test_an_illegal_header_added_by_an_http_clients_hook_does_not_show_its_value(
    listener: socket.socket,
) -> None:
    def add_header(request: httpx.Request) -> None:
        request.headers["X-Api-Token"] = f"{SECRET}\r\nX-Injected: 1"

    address = f"http://127.0.0.1:{listener.getsockname()[1]}"
    with (
        httpx.Client(event_hooks={"request": [add_header]}) as http,
        pytest.raises(InvalidArgumentError, match="header holds characters HTTP does not allow") as caught,
    ):
        JobSubmissionClient(address, http_client=http, retries=0, timeout=5)
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None


# --------------------------------------------------------------------------- more addresses

NO_HOST_OR_MALFORMED = {
    "scheme only, https": ("https://", "names no host"),
    "scheme only, http": ("http://", "names no host"),
    "scheme and slash": ("http:///", "names no host"),
    "no scheme": ("://jobs.example", "has no scheme"),
    "leading space": (" http://jobs.example:8265", "whitespace"),
    "trailing newline": ("http://jobs.example:8265\n", "whitespace"),
    "query": ("http://jobs.example:8265?x=1", "query"),
    "fragment": ("http://jobs.example:8265#top", "fragment"),
    "one slash": ("http:/jobs.example:8265", "Invalid address format"),
    "no slashes": ("http:jobs.example:8265", "Invalid address format"),
}


@pytest.mark.parametrize(
    ("address", "why"), list(NO_HOST_OR_MALFORMED.values()), ids=list(NO_HOST_OR_MALFORMED)
)
def test_an_address_that_names_no_job_server_is_a_value_error_naming_it(
    server: FakeJobServer, address: str, why: str
) -> None:
    """Before, ``"https://"`` lost its scheme to the trailing-slash strip and became a lookup of the
    host ``https`` (``HostNotFoundError`` for ``http://https:``)."""
    for kind, http in (
        (JobSubmissionClient, server.http_client),
        (AsyncJobSubmissionClient, server.async_http_client),
    ):
        with pytest.raises(InvalidArgumentError, match=why) as caught:
            kind(address, http_client=http())  # type: ignore[arg-type]
        assert caught.value.parameter == "address"
        assert address.strip() in str(caught.value)
    assert server.requests == []


def test_an_address_from_the_environment_is_named_with_its_variable(
    server: FakeJobServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "http://jobs.example:8265\n")
    with pytest.raises(InvalidArgumentError, match="from RAY_ADDRESS"):
        JobSubmissionClient(None, http_client=server.http_client())
    assert server.requests == []


def test_the_scheme_ignores_case(server: FakeJobServer) -> None:
    with JobSubmissionClient("HTTP://jobs.example:8265", http_client=server.http_client()) as client:
        assert client.get_address() == "http://jobs.example:8265"
    assert str(server.requests[0].url) == "http://jobs.example:8265/api/version"


def test_a_scheme_naming_no_module_is_a_runtime_error_as_in_ray_and_an_argument_error(
    server: FakeJobServer,
) -> None:
    with pytest.raises(AddressModuleError, match="Module: ftp does not exist") as caught:
        JobSubmissionClient("ftp://jobs.example:8265", http_client=server.http_client())
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, InvalidArgumentError)
    assert server.requests == []


def test_unknown_keyword_arguments_are_refused_for_an_http_address(server: FakeJobServer) -> None:
    """Ray's client ignores them for http(s):// addresses; a misspelt ``timout=5`` would then be lost."""
    with pytest.raises(TypeError, match=r"unexpected keyword argument.*'timout'"):
        JobSubmissionClient(ADDRESS, http_client=server.http_client(), timout=5)
    assert server.requests == []


def test_an_empty_verify_path_is_refused() -> None:
    """Ray (requests) takes ``verify=""`` as "do not verify"; as a path it would be the current directory."""
    with pytest.raises(InvalidArgumentError, match="verify must be True, False or the path"):
        JobSubmissionClient("https://jobs.example:8265", verify="")


# --------------------------------------------------------------------------- other arguments


@pytest.mark.parametrize(
    ("settings", "kind", "parameter"),
    [
        ({"timeout": 1e12}, InvalidArgumentError, "timeout's"),
        ({"timeout": httpx.Timeout(5, read="10")}, InvalidArgumentTypeError, "timeout's read"),
        ({"retries": -1}, InvalidArgumentError, "max_retries"),
        ({"retries": RetryPolicy(max_retries=2)}, None, ""),
        ({"tail_policy": "fast"}, InvalidArgumentTypeError, "tail_policy"),
        ({"outage_patience": "5"}, InvalidArgumentTypeError, "outage_patience"),
        ({"outage_patience": -1}, InvalidArgumentError, "outage patience"),
        ({"create_cluster_if_needed": 1}, InvalidArgumentTypeError, "create_cluster_if_needed"),
        ({"metadata": {"team": 7}}, InvalidArgumentTypeError, "metadata values must be strings"),
    ],
    ids=repr,
)
def test_constructor_arguments(
    connect: Connect,
    server: FakeJobServer,
    settings: dict[str, Any],
    kind: type[Exception] | None,
    parameter: str,
) -> None:
    if kind is None:
        connect(**settings)
        return
    with pytest.raises(kind, match=parameter):
        connect(**settings)
    assert server.requests == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: RetryPolicy(max_retries=True),
        lambda: RetryPolicy(backoff_initial=math.nan),
        lambda: RetryPolicy(backoff_max=-1),
        lambda: RetryPolicy(retry_after_max=math.inf),
        lambda: RetryPolicy(deadline_factor=math.inf),
        lambda: RetryPolicy(retry_statuses=frozenset({"503"})),
        lambda: TailPolicy(max_reconnects=-1),
        lambda: TailPolicy(poll_interval=0),
        lambda: TailPolicy(idle_check_interval=math.nan),
        lambda: OutagePolicy(backoff_max=math.inf),
        lambda: OutagePolicy(patience="300"),
        lambda: OutagePolicy(vanished_rechecks=1.5),
    ],
)
def test_policies_refuse_values_that_cannot_work(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        make()
    assert caught.value.parameter in str(caught.value) or caught.value.parameter == "outage_patience"


WAIT_ARGUMENTS = {
    "poll NaN": ({"poll": math.nan}, "poll"),
    "poll infinite": ({"poll": math.inf}, "poll"),
    "poll too long to sleep": ({"poll": 1e10}, "poll"),
    "poll a string": ({"poll": "1"}, "poll"),
    "poll a bool": ({"poll": True}, "poll"),
    "timeout NaN": ({"timeout": math.nan}, "timeout"),
    "timeout negative": ({"timeout": -1}, "timeout"),
    "timeout infinite": ({"timeout": math.inf}, "timeout"),
    "stop_on_timeout an int": ({"stop_on_timeout": 1}, "stop_on_timeout"),
    "on_poll not callable": ({"on_poll": "print"}, "on_poll"),
}


@pytest.mark.parametrize(("kwargs", "parameter"), list(WAIT_ARGUMENTS.values()), ids=list(WAIT_ARGUMENTS))
def test_wait_until_finished_refuses_bad_arguments_before_anything_is_sent(
    connect: Connect, server: FakeJobServer, kwargs: dict[str, Any], parameter: str
) -> None:
    """Before: a NaN timeout waited for ever, a NaN poll failed in ``time.sleep``, ``"1"`` was a bare
    ``TypeError`` from a comparison."""
    server.add_job("raysubmit_x", status="RUNNING")
    client = connect()
    with pytest.raises(InvalidArgumentError, match=parameter) as caught:
        client.wait_until_finished("raysubmit_x", **kwargs)
    assert caught.value.parameter == parameter
    assert server.after_connect() == []


def test_a_job_id_with_a_lone_surrogate_is_refused(
    client: JobSubmissionClient, server: FakeJobServer
) -> None:
    with pytest.raises(InvalidArgumentError, match="lone surrogate"):
        client.get_job_info("raysubmit_\udcff")
    assert server.after_connect() == []


# --------------------------------------------------------------------------- submissions

SUBMIT_ARGUMENTS = {
    "NUL in entrypoint": ({"entrypoint": "echo a\x00b"}, InvalidArgumentError, "entrypoint"),
    "cpus NaN": ({"entrypoint_num_cpus": math.nan}, InvalidArgumentError, "entrypoint_num_cpus"),
    "cpus negative": ({"entrypoint_num_cpus": -1}, InvalidArgumentError, "entrypoint_num_cpus"),
    "gpus infinite": ({"entrypoint_num_gpus": math.inf}, InvalidArgumentError, "entrypoint_num_gpus"),
    "cpus a bool": ({"entrypoint_num_cpus": True}, InvalidArgumentTypeError, "entrypoint_num_cpus"),
    "memory negative": ({"entrypoint_memory": -1}, InvalidArgumentError, "entrypoint_memory"),
    "memory a bool": ({"entrypoint_memory": True}, InvalidArgumentTypeError, "entrypoint_memory"),
    "resource negative": (
        {"entrypoint_resources": {"TPU": -2}},
        InvalidArgumentError,
        "entrypoint_resources",
    ),
    "resource NaN": (
        {"entrypoint_resources": {"TPU": math.nan}},
        InvalidArgumentError,
        "entrypoint_resources",
    ),
    "surrogate in metadata": ({"metadata": {"k": "\udcff"}}, InvalidArgumentError, "metadata"),
    "surrogate in entrypoint": ({"entrypoint": "echo \udcff"}, InvalidArgumentError, "entrypoint"),
    "NaN in runtime_env": ({"runtime_env": {"custom_plugin": math.nan}}, InvalidArgumentError, "runtime_env"),
    "set in runtime_env": (
        {"runtime_env": {"custom_plugin": {1, 2}}},
        InvalidArgumentTypeError,
        "runtime_env",
    ),
    "env var name with =": ({"runtime_env": {"env_vars": {"A=B": "x"}}}, RuntimeEnvError, "env_vars"),
    "empty env var name": ({"runtime_env": {"env_vars": {"": "x"}}}, RuntimeEnvError, "env_vars"),
    "NUL in env var value": ({"runtime_env": {"env_vars": {"A": "x\x00"}}}, RuntimeEnvError, "env_vars"),
    "upload_progress not callable": ({"upload_progress": 5}, InvalidArgumentTypeError, "upload_progress"),
}


@pytest.mark.parametrize(
    ("kwargs", "kind", "parameter"), list(SUBMIT_ARGUMENTS.values()), ids=list(SUBMIT_ARGUMENTS)
)
def test_submissions_that_cannot_work_are_refused_before_anything_is_sent(
    connect: Connect, server: FakeJobServer, kwargs: dict[str, Any], kind: type[Exception], parameter: str
) -> None:
    client = connect()
    with pytest.raises(kind, match=parameter) as caught:
        client.submit_job(**{"entrypoint": "echo hi", **kwargs})
    assert isinstance(caught.value, ValueError | TypeError)
    assert server.after_connect() == []


def _metadata_of_size(size: int) -> dict[str, str]:
    """Job metadata whose JSON, in a submission's body, makes the body ``size`` bytes."""
    base = len(
        json.dumps(
            {"entrypoint": "echo hi", "submission_id": "rjc-size", "runtime_env": {}, "metadata": {"k": ""}}
        )
    )
    return {"k": "x" * (size - base)}


def test_a_submission_over_the_job_agents_limit_is_refused_before_anything_is_sent(
    connect: Connect, server: FakeJobServer
) -> None:
    """The user's report: 1.2 MB of metadata came back as a ``ServerError`` 500 (the job agent behind
    the server refuses bodies over 1 MiB). Nothing is uploaded or submitted."""
    client = connect()
    with pytest.raises(PayloadTooLargeError) as caught:
        client.submit_job(
            entrypoint="echo hi", submission_id="rjc-size", metadata=_metadata_of_size(1_200_000)
        )
    error = caught.value
    assert error.limit == 1024 * 1024 and isinstance(error, RuntimeError)
    assert "1200000 bytes" in str(error) and "metadata" in str(error) and "nothing was sent" in str(error)
    assert server.after_connect() == []


def test_a_submission_at_the_limit_is_sent(connect: Connect, server: FakeJobServer) -> None:
    client = connect()
    client.submit_job(entrypoint="echo hi", submission_id="rjc-size", metadata=_metadata_of_size(1024 * 1024))
    assert [r.route for r in server.after_connect()] == ["POST /api/jobs/"]
