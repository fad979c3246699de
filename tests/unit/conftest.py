"""Fixtures of the fast tier: the fake job server and a client of each kind on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fake_job_server import Connect, Driver, FakeJobServer, open_driver


@pytest.fixture
def server() -> FakeJobServer:
    """A fresh fake job server (Ray 2.60, no jobs)."""
    return FakeJobServer()


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest, server: FakeJobServer) -> Iterator[Connect]:
    """``connect(**settings)`` opens a sync or an async client on ``server`` (the test runs for both)."""
    opened: list[Driver] = []

    def open_client(**settings: Any) -> Driver:
        driver = open_driver(request.param, server, **settings)
        opened.append(driver)
        return driver

    yield open_client
    for driver in opened:
        driver.close()
