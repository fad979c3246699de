"""``AsyncJobSubmissionClient``: every method of ``JobSubmissionClient`` as a coroutine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._async.client import AsyncClientBase
from ._async.server import AsyncJobServer
from ._io import as_task_iterator
from .checks import check_job_id
from .errors import EventLoopError

if TYPE_CHECKING:
    from ._settings import Settings
    from .models import ServerVersion

__all__ = ["AsyncJobSubmissionClient"]


class AsyncJobSubmissionClient(AsyncClientBase):
    """The async twin of :class:`~ray_jobs_client.JobSubmissionClient`.

    Construction does no I/O; the connection and version check happen on ``async with`` (or
    :meth:`connect`), or before the first call otherwise. Close it with ``async with`` or
    :meth:`aclose`.
    """

    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def _with_settings(cls, settings: Settings, version: ServerVersion | None) -> AsyncJobSubmissionClient:
        """An async client with already resolved settings (the sync client's ``tail_job_logs``)."""
        client = cls.__new__(cls)
        client._server = AsyncJobServer(settings, version)
        return client

    async def _ready(self) -> AsyncJobServer:
        """Open, on a connection pool of the running event loop, and the server checked (once).

        httpx connections belong to the event loop that opened them. A client used again from a new
        loop (a second ``asyncio.run``) after the first one closed gets a fresh pool; one shared
        with a loop that is still running is refused. Concurrent first calls share one check.
        """
        await self._bind_to_loop()
        if self._server.known_version is None:
            async with self._connecting:
                if self._server.known_version is None:
                    await self._server.check()
        return self._server

    async def _bind_to_loop(self) -> None:
        self._server.ensure_open(type(self).__name__)
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            await self._move_from(self._loop)
        self._loop = loop
        self._connecting = asyncio.Lock()  # a lock belongs to the loop it is used in

    async def _move_from(self, old: asyncio.AbstractEventLoop) -> None:
        settings = self._server.settings
        if not old.is_closed() or settings.user_http is not None:
            raise EventLoopError(
                f"This {type(self).__name__} was first used in another event loop"
                + (
                    ", and its http_client's connections belong to that loop. Create the client "
                    "and its httpx.AsyncClient inside the event loop that uses them."
                    if settings.user_http is not None
                    else ", which is still running. Use one client per event loop."
                )
            )
        stale, self._server = self._server, AsyncJobServer(settings, self._server.known_version)
        with contextlib.suppress(Exception):  # its connections died with their loop
            await stale.aclose()

    async def connect(self) -> None:
        """Check that the server is a Ray job server we support (Ray's constructor check)."""
        await self._bind_to_loop()
        await self._server.check()

    async def aclose(self) -> None:
        """Release the connection pool. The client cannot be used afterwards (calls raise
        :class:`~ray_jobs_client.errors.ClientClosedError`); an ``http_client=`` stays open."""
        if self._loop is not None and self._loop.is_closed():
            self._server.closed = True
            with contextlib.suppress(Exception):  # its connections died with the loop that opened them
                await self._server.aclose()
            return
        await self._server.aclose()

    async def __aenter__(self) -> AsyncJobSubmissionClient:
        try:
            await self._ready()
        except BaseException:
            await self.aclose()
            raise
        return self

    def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """Yield the job's log as it is written, until the job has finished — each line exactly once.

        Ray's async iterator, made reliable: reconnects when the stream is cut, falls back to polling
        when WebSockets are refused, and fetches any last lines the stream missed. A log the server
        cannot read (bytes that are not UTF-8) ends the output early with one warning, never an
        error: the iterator still ends only once the job has finished.

        It may be left at any point (``break``, an exception) and from any task, closed with
        ``aclose()`` or just dropped: the stream is closed in a task of the iterator's own, never by
        cancelling the caller's. A cancelled wait for the next chunk (``asyncio.wait_for``) loses
        nothing: the next call returns that chunk.
        """
        check_job_id(job_id)
        return as_task_iterator(lambda: self._follow(job_id), "tail_job_logs()")
