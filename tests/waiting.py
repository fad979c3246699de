"""Waiting helpers shared by the live-head test suites (importable because ``tests/conftest.py`` is)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ray_jobs_client.defaults import DELETE_SETTLE_SECONDS

T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll ``predicate`` every ``interval`` s until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def let_job_manager_finish(end_time_ms: int | None, settle: float = DELETE_SETTLE_SECONDS) -> None:
    """Sleep until ``settle`` s after a job's ``end_time`` (the test head runs on this machine's clock).

    Needed before deleting a just-finished job with anything but our client: Ray's job manager
    re-creates a record deleted in the moment after its job ended. (Our client waits by itself.)
    """
    if end_time_ms is not None:
        time.sleep(max(0.0, end_time_ms / 1000 + settle - time.time()))
