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


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest) -> Iterator[Connect]:
    """``connect(address, **settings)`` opens a sync or an async client (the test runs for both)."""
    opened: list[Driver] = []

    def open_client(address: str, **settings: Any) -> Driver:
        driver = open_driver(request.param, address, **settings)
        opened.append(driver)
        return driver

    yield open_client
    for driver in opened:
        driver.close()
