"""Fixtures for the integration tests (the live head itself comes from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (anyio's pytest plugin)."""
    return "asyncio"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``twin``: which of our clients a test drives, ``JobSubmissionClient`` (``"sync"``) or
    ``AsyncJobSubmissionClient`` (``"async"``).

    Both only where their I/O differs (``@pytest.mark.both_clients``: the log WebSocket, streamed
    downloads); elsewhere the sync client alone, live: the two clients share every decision, and the
    fast tier (tests/unit, the fake job server's ``connect`` fixture) runs each of those for both.
    """
    if "twin" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_clients") is not None
        metafunc.parametrize("twin", ["sync", "async"] if both else ["sync"])
