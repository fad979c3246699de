"""Credentials for a gateway in front of the head (an SSO proxy's header, an ingress session cookie,
HTTP basic auth), given with ``headers=`` / ``cookies=`` / ``http://user:password@host``: sent on every
HTTP call and on the log WebSocket, refused without them, and never shown in ``repr``,
``get_address()``, exception messages or log records.
"""

from __future__ import annotations

import base64
import logging
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from drivers import Connect, open_driver
from harness import HeadJobs, follow_concurrently
from proxy import FaultProxy, Request, Reset, Respond
from ray_jobs_client.errors import (
    APIConnectionError,
    AuthenticationError,
    JobNotFoundError,
    UnauthorizedError,
)
from ray_jobs_client.testing import LocalRayHead

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

HEADER_NAME, HEADER_VALUE = "X-Proxy-Auth", "sekret"
# Long and random, so that finding it in a message or a log record cannot be a coincidence.
COOKIE_NAME, COOKIE_VALUE = "proxy_session", f"abc-{uuid.uuid4().hex}"
BASIC_USER, BASIC_PASSWORD = "jobs-user", f"pw-{uuid.uuid4().hex}"
LOGGERS = ("ray_jobs_client", "httpx", "httpcore", "httpx_ws")


class Gate:
    """What the proxy demands, and the client settings that satisfy it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.settings: dict[str, Any]
        if kind == "header":
            self.secret, self.settings = HEADER_VALUE, {"headers": {HEADER_NAME: HEADER_VALUE}}
        elif kind == "cookie":
            self.secret, self.settings = COOKIE_VALUE, {"cookies": {COOKIE_NAME: COOKIE_VALUE}}
        else:  # the credentials travel in the address
            self.secret, self.settings = BASIC_PASSWORD, {}

    def close(self, proxy: FaultProxy) -> None:
        if self.kind == "header":
            proxy.require_header(HEADER_NAME, HEADER_VALUE)
        elif self.kind == "cookie":
            proxy.require_cookie(COOKIE_NAME, COOKIE_VALUE)
        else:
            proxy.require_basic_auth(BASIC_USER, BASIC_PASSWORD)

    def address(self, proxy: FaultProxy, password: str = BASIC_PASSWORD) -> str:
        if self.kind != "basic":
            return proxy.address
        return proxy.address.replace("://", f"://{BASIC_USER}:{password}@")

    def wrong(self, proxy: FaultProxy, value: str) -> tuple[str, dict[str, Any]]:
        """An address and settings with a wrong credential."""
        if self.kind == "header":
            return proxy.address, {"headers": {HEADER_NAME: value}}
        if self.kind == "cookie":
            return proxy.address, {"cookies": {COOKIE_NAME: value}}
        return self.address(proxy, value), {}

    def admits(self, request: Request) -> bool:
        if self.kind == "header":
            return request.header(HEADER_NAME) == HEADER_VALUE
        if self.kind == "cookie":
            return request.cookie(COOKIE_NAME) == COOKIE_VALUE
        expected = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
        return request.header("authorization") == f"Basic {expected}"


@pytest.fixture(params=["header", "cookie", "basic"])
def gate(request: pytest.FixtureRequest, proxy: FaultProxy) -> Gate:
    gate = Gate(request.param)
    gate.close(proxy)
    return gate


@pytest.fixture(scope="module")
def finished_job(ray_head: LocalRayHead) -> Iterator[str]:
    """A job that has printed its line and ended (submitted directly to the head)."""
    with httpx.Client(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=30) as http:
        head = HeadJobs(http)
        job_id = head.submit("echo behind-the-gate")
        assert head.wait(job_id)["status"] == "SUCCEEDED"
        yield job_id


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_not_leaked(secrets: list[str], *texts: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


def exception_text(exc: BaseException) -> str:
    """The whole traceback, chained causes included, as a user's error report would show it."""
    return "".join(traceback.format_exception(exc))


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)


@pytest.mark.both_clients
def test_credentials_reach_http_calls_and_the_log_websocket(
    gate: Gate,
    proxy: FaultProxy,
    head: HeadJobs,
    finished_job: str,
    ray_head: LocalRayHead,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    """Sync and async clients with the gateway's credentials: every request, the WebSocket upgrade
    included, carries them; nothing shows them."""
    address = gate.address(proxy)
    followed = follow_concurrently(address, finished_job, **gate.settings)
    secrets = [gate.secret, str(ray_head.token)]
    for kind in ("sync", "async"):
        assert followed[kind].text == head.logs(finished_job), kind
        assert followed[kind].logs == head.logs(finished_job), kind
        driver = open_driver(kind, address, **gate.settings)
        try:
            assert finished_job in {job.submission_id for job in driver.list_jobs()}
            assert driver.get_job_status(finished_job) == "SUCCEEDED"
            with pytest.raises(JobNotFoundError) as not_found:
                driver.get_job_info("rjc-no-such-job")
            shown = driver.client.get_address()
            assert_not_leaked(secrets, repr(driver.client), shown, exception_text(not_found.value))
            if gate.kind == "basic":
                assert shown == f"http://{BASIC_USER}:<redacted>@127.0.0.1:{proxy.port}"
        finally:
            driver.close()

    assert proxy.stats["respond_401"] == 0
    assert proxy.stats["websockets"] >= 2  # the log came over the WebSocket, not by polling
    assert all(map(gate.admits, proxy.requests))
    assert any(r.is_websocket for r in proxy.requests)
    assert debug_logs.records  # the next check does look at something
    assert_not_leaked(secrets, log_text(debug_logs))


@pytest.mark.both_clients
def test_missing_or_wrong_credentials_are_refused(
    gate: Gate, proxy: FaultProxy, connect: Connect, debug_logs: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-right-value-7f3a"
    for address, settings in ((proxy.address, {}), gate.wrong(proxy, wrong)):
        with pytest.raises(UnauthorizedError) as caught:
            connect(address, **settings)
        assert isinstance(caught.value, AuthenticationError) and isinstance(caught.value, RuntimeError)
        assert caught.value.status_code == 401
        assert_not_leaked([wrong, gate.secret], exception_text(caught.value), log_text(debug_logs))
    assert proxy.stats["respond_401"] == 2


@pytest.mark.both_clients
def test_connection_errors_do_not_show_credentials(
    gate: Gate, proxy: FaultProxy, connect: Connect, debug_logs: pytest.LogCaptureFixture
) -> None:
    client = connect(gate.address(proxy), retries=0, **gate.settings)
    proxy.add_rule(Reset(), times=1)

    with pytest.raises(APIConnectionError) as caught:
        client.list_jobs()

    assert_not_leaked([gate.secret], exception_text(caught.value), log_text(debug_logs))


@pytest.mark.both_clients
def test_websocket_refused_with_401_is_an_error_not_a_fallback(
    proxy: FaultProxy, connect: Connect, finished_job: str
) -> None:
    """A gateway that lets HTTP calls through but answers 401 to the upgrade: the follower reports
    the credential problem instead of silently polling."""
    proxy.add_rule(Respond(401, "websocket needs a ticket"), times=None, when=lambda r: r.is_websocket)
    client = connect(proxy.address)

    with pytest.raises(UnauthorizedError):
        client.follow(finished_job)
