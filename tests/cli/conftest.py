"""The fixtures both CLI test modules use: the jobs they start (stopped at the end), and the CLIs'
environment."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from ray_jobs_client.testing import LocalRayHead
from test_cli import BIN, Jobs, with_env


@pytest.fixture(scope="module")
def jobs(ray_head: LocalRayHead) -> Iterator[Jobs]:
    with httpx.Client(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=30) as http:
        tracker = Jobs(http)
        yield tracker
        tracker.stop_all()


@pytest.fixture(scope="module")
def env(head_address: str) -> dict[str, str]:
    """The CLIs' environment: the session's token variables, RAY_ADDRESS = the head, nothing else set."""
    return with_env(
        os.environ,
        RAY_ADDRESS=head_address,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        RAY_API_SERVER_ADDRESS=None,
        RAY_JOB_HEADERS=None,
        RAY_JOB_SUBMIT_HOOK=None,
        NO_COLOR="1",
        COLUMNS=None,  # output is piped: `list` cuts nothing unless a test sets a width
    )
