"""Fixtures for the integration tests (the live head itself comes from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (anyio's pytest plugin)."""
    return "asyncio"


@pytest.fixture(params=["sync", "async"])
def twin(request: pytest.FixtureRequest) -> str:
    """Which of our clients a test drives: ``JobSubmissionClient`` or ``AsyncJobSubmissionClient``."""
    return str(request.param)
