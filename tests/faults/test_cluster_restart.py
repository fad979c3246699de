"""A cluster that comes back restarted (a new head on the same port) ends a wait with a typed error.

Two heads of the test's own (not the session's): a file of its own, so that an xdist worker runs it
beside the outage scenarios of ``test_outages.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from ray_jobs_client import JobSubmissionClient
from ray_jobs_client.errors import ClusterRestartedError
from ray_jobs_client.testing import LocalRayHead

pytestmark = [pytest.mark.live, pytest.mark.timeout(300)]


def test_a_cluster_restarted_on_the_same_port_ends_the_wait_with_a_typed_error() -> None:
    """A head of its own (not the session's), replaced while a job runs by a new head on the same
    port: the follower and the wait each end with ClusterRestartedError naming both sessions."""
    first = LocalRayHead(num_cpus=1, startup_timeout=240).start()
    replacement: LocalRayHead | None = None
    try:
        address = first.address
        old_session = httpx.get(f"{address}/api/version", timeout=30).json()["session_name"]
        with JobSubmissionClient(address) as client:
            job_id = client.submit_job(entrypoint="sleep 600")
        errors: dict[str, BaseException] = {}

        def watch(name: str, operation: Callable[[JobSubmissionClient], object]) -> None:
            try:
                with JobSubmissionClient(address) as watcher:
                    operation(watcher)
            except BaseException as exc:
                errors[name] = exc

        threads = [
            threading.Thread(target=watch, args=("follow", lambda c: list(c.follow_job_logs(job_id)))),
            threading.Thread(target=watch, args=("wait", lambda c: c.wait_until_finished(job_id))),
        ]
        for thread in threads:
            thread.start()
        time.sleep(3)
        first.stop()
        replacement = LocalRayHead(num_cpus=1, startup_timeout=240, dashboard_port=first.dashboard_port)
        replacement.start()
        for thread in threads:
            thread.join(timeout=240)
        assert set(errors) == {"follow", "wait"}, errors
        for name, error in errors.items():
            assert isinstance(error, ClusterRestartedError), (name, error)
            assert (error.job_id, error.old_session) == (job_id, old_session), name
            assert error.new_session not in (None, "", old_session), name
    finally:
        first.stop()
        if replacement is not None:
            replacement.stop()
