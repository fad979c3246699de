"""Both clients behind one interface, so that a test runs once for each (the ``connect`` fixtures).

Shared by the unit tier (clients on the fake job server) and the fault tests (clients on a live head
behind the fault proxy); importable because ``tests/conftest.py`` is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from ray_jobs_client import AsyncJobSubmissionClient, JobDetails, JobSubmissionClient


class SyncDriver:
    """A :class:`JobSubmissionClient`; ``follow``, ``download`` and ``completed`` collect
    :meth:`follow_job_logs`, :meth:`iter_job_logs` and :meth:`as_completed`. An ``owned`` httpx
    client (its ``http_client=``) is closed with it."""

    kind = "sync"

    def __init__(self, address: str, *, owned: httpx.Client | None = None, **settings: Any) -> None:
        self.http = owned
        try:
            self.client = JobSubmissionClient(address, **settings)
        except BaseException:
            if owned is not None:
                owned.close()
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def follow(self, job_id: str) -> list[str]:
        return list(self.client.follow_job_logs(job_id))

    def download(self, job_id: str) -> list[str]:
        return list(self.client.iter_job_logs(job_id))

    def completed(self, job_ids: list[str], **kwargs: Any) -> list[JobDetails]:
        """What :meth:`as_completed` yields, in order."""
        return list(self.client.as_completed(job_ids, **kwargs))

    def close(self) -> None:
        self.client.close()
        if self.http is not None:
            self.http.close()


class AsyncDriver:
    """An :class:`AsyncJobSubmissionClient` driven from sync test code on one event loop (opening it
    runs ``async with``'s version check); ``follow`` collects :meth:`tail_job_logs`, ``download``
    :meth:`iter_job_logs`, ``completed`` :meth:`as_completed`. An ``owned`` httpx client (its
    ``http_client=``) is closed with it."""

    kind = "async"

    def __init__(self, address: str, *, owned: httpx.AsyncClient | None = None, **settings: Any) -> None:
        self._runner = asyncio.Runner()
        self.http = owned
        self.client = AsyncJobSubmissionClient(address, **settings)
        try:
            self._runner.run(self.client.__aenter__())
        except BaseException:
            self._close_owned()
            self._runner.close()
            raise

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        return lambda *args, **kwargs: self._runner.run(method(*args, **kwargs))

    def follow(self, job_id: str) -> list[str]:
        async def collect() -> list[str]:
            return [chunk async for chunk in self.client.tail_job_logs(job_id)]

        return self._runner.run(collect())

    def download(self, job_id: str) -> list[str]:
        async def collect() -> list[str]:
            return [piece async for piece in self.client.iter_job_logs(job_id)]

        return self._runner.run(collect())

    def completed(self, job_ids: list[str], **kwargs: Any) -> list[JobDetails]:
        """What :meth:`as_completed` yields, in order."""

        async def collect() -> list[JobDetails]:
            return [details async for details in self.client.as_completed(job_ids, **kwargs)]

        return self._runner.run(collect())

    def close(self) -> None:
        self._runner.run(self.client.aclose())
        self._close_owned()
        self._runner.close()

    def _close_owned(self) -> None:
        if self.http is not None:
            self._runner.run(self.http.aclose())


Driver = SyncDriver | AsyncDriver
#: ``connect(**settings)``: a client of the kind the test runs for (the ``connect`` fixtures).
Connect = Callable[..., Driver]


def open_driver(kind: str, address: str, **settings: Any) -> Driver:
    """A sync or async client (``kind``) on ``address``."""
    return SyncDriver(address, **settings) if kind == "sync" else AsyncDriver(address, **settings)
