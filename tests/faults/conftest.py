"""Fixtures for the fault-injection tests (helpers live in ``harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from drivers import Connect, Driver, open_driver
from harness import HeadJobs
from proxy import FaultProxy
from ray_jobs_client.testing import LocalRayHead


@pytest.fixture
def head(raw_http: httpx.Client) -> Iterator[HeadJobs]:
    jobs = HeadJobs(raw_http)
    yield jobs
    jobs.stop_unfinished()


@pytest.fixture
def proxy(ray_head: LocalRayHead) -> Iterator[FaultProxy]:
    """A fault proxy in front of the session head, stopped (threads joined) at teardown."""
    proxy = FaultProxy(ray_head.address).start()
    try:
        yield proxy
    finally:
        proxy.stop()
    assert proxy.problems == []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``connect`` opens the sync client, and also the async one where their I/O differs under the
    fault (``@pytest.mark.both_clients``: TLS, timeouts of a silent server, resets while connecting,
    credentials on the log WebSocket). Their shared decisions (what is retried, what an answer
    means) run for both clients in the fast tier, on the fake job server."""
    if "connect" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_clients") is not None
        metafunc.parametrize("connect", ["sync", "async"] if both else ["sync"], indirect=True)


@pytest.fixture
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """``connect(address, **settings)`` opens a client of the kind the test runs for."""
    opened: list[Driver] = []

    def open_client(address: str, **settings: Any) -> Driver:
        driver = open_driver(request.param, address, **settings)
        opened.append(driver)
        return driver

    yield open_client
    for driver in opened:
        driver.close()
