"""``JobSubmissionClient``: Ray's documented class, without Ray."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator

from ._io import as_task_iterator
from ._sync.client import ClientBase
from .checks import check_job_id

__all__ = ["JobSubmissionClient"]


class JobSubmissionClient(ClientBase):
    """Submit and manage Ray jobs over the job server's REST API.

    A drop-in replacement for ``ray.job_submission.JobSubmissionClient``: the same constructor,
    methods, return values and exception types. Beyond Ray's class it has a request ``timeout`` (no
    call can hang), a log follower that survives dropped connections (:meth:`follow_job_logs`, and
    :meth:`tail_job_logs` for Ray's async iterator), and typed exceptions (see
    :mod:`ray_jobs_client.errors`) that are still the builtin types Ray raises.

    The client owns one connection pool: use it as a context manager or call :meth:`close`.
    """

    def _opened(self) -> None:
        try:
            self._ready()  # Ray's constructor checks the server at once
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> JobSubmissionClient:
        return self

    def follow_job_logs(self, job_id: str) -> Iterator[str]:
        """Yield the job's log as it is written, until the job has finished — each line exactly once.

        Reconnects when the stream is cut, falls back to polling when WebSockets are refused, and
        fetches any last lines the stream missed. A log the server cannot read (bytes that are not
        UTF-8) ends the output early with one warning, never an error: the follower still returns
        only once the job has finished.
        """
        check_job_id(job_id)
        return self._follow(job_id)

    def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """Ray's async log iterator: yields chunks of the log until the job has finished.

        Runs on a private async client with this client's settings; outside an event loop, prefer
        :meth:`follow_job_logs`. As with the async client's
        :meth:`~ray_jobs_client.AsyncJobSubmissionClient.tail_job_logs`, it may be left at any point,
        from any task, closed with ``aclose()`` or dropped: its stream and private client are closed
        in a task of its own, never by cancelling the caller's.
        """
        check_job_id(job_id)
        return as_task_iterator(lambda: self._tail_on_twin(job_id), "tail_job_logs()")

    async def _tail_on_twin(self, job_id: str) -> AsyncGenerator[str, None]:
        from .async_client import AsyncJobSubmissionClient

        server = self._ready()
        if server.settings.user_http is not None:
            raise TypeError(
                "tail_job_logs() needs an async HTTP client, and this JobSubmissionClient was given a "
                "synchronous http_client=. Use follow_job_logs(), or "
                "AsyncJobSubmissionClient(http_client=httpx.AsyncClient(...))."
            )
        async with (
            AsyncJobSubmissionClient._with_settings(server.settings, server.known_version) as twin,
            contextlib.aclosing(twin._follow(job_id)) as chunks,
        ):
            async for chunk in chunks:
                yield chunk
