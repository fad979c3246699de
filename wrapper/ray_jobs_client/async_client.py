"""``AsyncJobSubmissionClient``: every method of :class:`JobSubmissionClient` as a coroutine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from ray_jobs_api.client import Client as ApiClient

from . import _calls
from ._base import ClientBase, ProgressCallback
from ._completion import completion_flow
from ._core import (
    Call,
    Effect,
    Flow,
    aiterate_flow,
    aremember_response,
    arun_flow,
    asend,
    translating_errors,
)
from ._follow import (
    CloseStream,
    DownloadStart,
    OpenDownload,
    OpenStream,
    ReadDownload,
    Receive,
    stream_events,
)
from .defaults import WEBSOCKET_READ_BYTES
from .errors import EventLoopError, LogDecodeError
from .logs import LogCursor
from .models import JobDetails, JobStatus
from .transport import STREAMED, AsyncRetryTransport, AsyncThroughClient

if TYPE_CHECKING:
    from .client import JobSubmissionClient

__all__ = ["AsyncJobSubmissionClient"]

T = TypeVar("T")


class AsyncJobSubmissionClient(ClientBase):
    """The async twin of :class:`~ray_jobs_client.JobSubmissionClient`.

    Construction does no I/O; the connection and version check happen on ``async with`` (or
    :meth:`connect`), or before the first call otherwise. Close it with ``async with`` or
    :meth:`aclose`.
    """

    _http_client_type = httpx.AsyncClient

    def _open(self) -> None:
        # No I/O here: the version check runs on `async with`, `connect()` or the first call.
        inner = None if self._settings.user_http is None else AsyncThroughClient(self._settings.user_http)
        self._http = httpx.AsyncClient(
            **self._settings.httpx_settings(),
            transport=AsyncRetryTransport(
                self._settings.retry_policy, inner, **self._settings.transport_settings()
            ),
            event_hooks={"response": [aremember_response]},
        )
        self._api = ApiClient(base_url=self._settings.address).set_async_httpx_client(self._http)
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def _from_settings(cls, sync: JobSubmissionClient) -> AsyncJobSubmissionClient:
        """An async client with exactly a sync client's resolved settings (no second resolution)."""
        sync._ensure_open()
        if sync._settings.user_http is not None:
            raise TypeError(
                "tail_job_logs() needs an async HTTP client, and this JobSubmissionClient was given a "
                "synchronous http_client=. Use follow_job_logs(), or "
                "AsyncJobSubmissionClient(http_client=httpx.AsyncClient(...))."
            )
        twin = cls.__new__(cls)
        twin._start(sync._settings, sync._server_version)
        return twin

    # ------------------------------------------------------------------ plumbing

    async def _use_here(self) -> None:
        """Check the client is open, and give it a connection pool of the running event loop.

        httpx connections belong to the event loop that opened them. A client used again from a new
        loop (a second ``asyncio.run``) after the first one closed gets a fresh pool; one shared
        with a loop that is still running is refused.
        """
        self._ensure_open()
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            if not self._loop.is_closed() or self._settings.user_http is not None:
                raise EventLoopError(
                    f"This {type(self).__name__} was first used in another event loop"
                    + (
                        ", and its http_client's connections belong to that loop. Create the client "
                        "and its httpx.AsyncClient inside the event loop that uses them."
                        if self._settings.user_http is not None
                        else ", which is still running. Use one client per event loop."
                    )
                )
            stale = self._http
            self._open()
            with contextlib.suppress(Exception):  # its connections died with their loop
                await stale.aclose()
        self._loop = loop
        self._connecting = asyncio.Lock()  # a lock belongs to the loop it is used in

    async def _ready(self) -> None:
        """Open, on this event loop's pool, and the server checked (once)."""
        await self._use_here()
        if self._server_version is None:
            async with self._connecting:  # concurrent first calls: one version check, not one each
                if self._server_version is None:
                    await arun_flow(self._connect_flow(), self._send_now)

    async def _send(self, call: Call[T]) -> T:
        await self._ready()
        return await self._send_now(call)

    async def _send_now(self, call: Call[T]) -> T:
        return await asend(call, self._api, self._settings.display_address)

    async def _run(self, flow: Flow[T]) -> T:
        await self._use_here()
        return await arun_flow(flow, self._send)

    async def connect(self) -> None:
        """Check that the server is a Ray job server we support (Ray's constructor check)."""
        await self._use_here()
        await arun_flow(self._connect_flow(), self._send_now)

    async def aclose(self) -> None:
        """Release the connection pool. The client cannot be used afterwards (calls raise
        :class:`~ray_jobs_client.errors.ClientClosedError`); an ``http_client=`` stays open."""
        self._closed = True
        if self._loop is not None and self._loop.is_closed():
            with contextlib.suppress(Exception):  # its connections died with the loop that opened them
                await self._http.aclose()
            return
        await self._http.aclose()

    async def __aenter__(self) -> AsyncJobSubmissionClient:
        try:
            if self._server_version is None:
                await self.connect()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ Ray's API, as coroutines

    async def get_version(self) -> str:
        """The job server's API version (``"4"`` for Ray 2.60)."""
        return await self._send(_calls.get_api_version())

    async def submit_job(
        self,
        *,
        entrypoint: str,
        job_id: str | None = None,
        runtime_env: dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
        submission_id: str | None = None,
        entrypoint_num_cpus: int | float | None = None,
        entrypoint_num_gpus: int | float | None = None,
        entrypoint_memory: int | None = None,
        entrypoint_resources: dict[str, float] | None = None,
        entrypoint_label_selector: dict[str, str] | None = None,
        upload_progress: ProgressCallback | None = None,
    ) -> str:
        """Submit a job and return its submission id (see :meth:`JobSubmissionClient.submit_job`)."""
        return await self._run(
            self._submit_flow(
                entrypoint=entrypoint,
                job_id=job_id,
                runtime_env=runtime_env,
                metadata=metadata,
                submission_id=submission_id,
                entrypoint_num_cpus=entrypoint_num_cpus,
                entrypoint_num_gpus=entrypoint_num_gpus,
                entrypoint_memory=entrypoint_memory,
                entrypoint_resources=entrypoint_resources,
                entrypoint_label_selector=entrypoint_label_selector,
                upload_progress=upload_progress,
            )
        )

    async def stop_job(self, job_id: str) -> bool:
        """Ask a job to stop. True if a stop was requested, False if the job had already ended."""
        return await self._send(_calls.stop_job(job_id))

    async def delete_job(self, job_id: str) -> bool:
        """Delete a terminal job's record (raises :class:`JobNotTerminalError` while it runs).

        A job that ended less than 3 s ago is deleted once Ray's job manager is done with it (a wait
        of at most 3 s): deleted sooner, Ray may write it again as a FAILED job.
        """
        return await self._run(self._delete_flow(job_id))

    async def get_job_info(self, job_id: str) -> JobDetails:
        """Everything the server knows about a job (by submission id or Ray job id)."""
        return await self._send(_calls.get_job_info(job_id))

    async def list_jobs(self) -> list[JobDetails]:
        """All jobs on the cluster."""
        return await self._send(_calls.list_jobs())

    async def get_job_status(self, job_id: str) -> JobStatus:
        """The job's current status."""
        return await self._send(_calls.get_job_status(job_id))

    async def get_job_logs(self, job_id: str) -> str:
        """The job's whole log so far (see :meth:`JobSubmissionClient.get_job_logs`)."""
        try:
            return await self._send(_calls.get_job_logs(job_id))
        except LogDecodeError as exc:  # bytes that are not UTF-8: read the log file instead
            return "".join([text async for text in self._iterate(self._log_text_flow(job_id, exc))])

    async def iter_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """The job's log so far — the text :meth:`get_job_logs` returns — in pieces, as it downloads.

        Memory stays small whatever the log's size. A download cut short is resumed: the server
        sends the log from its start again and the part already yielded is skipped.
        """
        await self._ready()
        async for piece in self._iterate(self._download_flow(job_id, LogCursor())):
            yield piece

    async def wait_until_finished(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll: float = 1.0,
        stop_on_timeout: bool = False,
        on_poll: Callable[[JobDetails], None] | None = None,
    ) -> JobDetails:
        """Wait until the job is terminal and return its final details.

        Raises :class:`~ray_jobs_client.errors.JobWaitTimeoutError` (a :class:`TimeoutError`) after
        ``timeout`` seconds, first asking the job to stop if ``stop_on_timeout``. ``on_poll`` sees
        every non-terminal status.
        """
        return await self._run(self._wait_flow(job_id, timeout, poll, stop_on_timeout, on_poll))

    async def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """Yield the job's log as it is written, until the job is terminal — each line exactly once.

        Ray's async iterator, made reliable: reconnects when the stream is cut, falls back to polling
        when WebSockets are refused, and fetches any last lines the stream missed. A log the job
        server cannot read (bytes that are not UTF-8) is read as a file through the dashboard's log
        API, those bytes shown as U+FFFD; if that fails too, the output ends early with one warning,
        never an error: the iterator still ends only once the job is terminal.
        """
        await self._ready()
        async for chunk in self._iterate(self._follow_flow(job_id)):
            yield chunk

    def as_completed(
        self, job_ids: Iterable[str], *, timeout: float | None = None, poll: float = 1.0
    ) -> AsyncIterator[JobDetails]:
        """Wait for many jobs at once: an async iterator of each job's final details as it finishes
        (``async for details in client.as_completed(ids)``; see
        :meth:`JobSubmissionClient.as_completed`). Bad arguments are refused at the call."""
        self._ensure_open()
        return self._iterate(completion_flow(self, job_ids, timeout, poll))

    async def _iterate(self, flow: Flow[None]) -> AsyncIterator[Any]:
        """Run a flow that emits values (log text, or jobs' details), yielding them."""
        io = _AsyncLogIO(self._http, self._send, self._settings.display_address)
        try:
            async for text in aiterate_flow(flow, io.perform):
                yield text
        finally:
            await io.aclose()


class _AsyncLogIO:
    """The log flows' effects with ``await``, for one run of a flow (see ``client._SyncLogIO``)."""

    def __init__(
        self, http: httpx.AsyncClient, send: Callable[[Call[Any]], Awaitable[Any]], base_url: str
    ) -> None:
        self._http, self._send, self._base_url = http, send, base_url
        self._stream = contextlib.AsyncExitStack()
        self._ws: AsyncWebSocketSession | None = None
        self._download = contextlib.AsyncExitStack()
        self._body: AsyncIterator[bytes] | None = None
        self._download_call: Call[Any] | None = None

    async def perform(self, effect: Effect[Any]) -> Any:
        if isinstance(effect, Call):
            return await self._send(effect)
        if isinstance(effect, Receive):
            return await self._receive(effect.timeout)
        if isinstance(effect, ReadDownload):
            assert self._body is not None and self._download_call is not None, "ReadDownload first"
            with translating_errors(self._download_call, self._base_url):
                return await anext(self._body, b"")
        if isinstance(effect, OpenStream):
            return await self._open_stream(effect.path)
        if isinstance(effect, OpenDownload):
            return await self._open_download(effect)
        if isinstance(effect, CloseStream):
            return await self._close_stream()
        raise TypeError(f"no driver for {effect!r}")

    async def _open_stream(self, path: str) -> None:
        await self._close_stream()
        with stream_events():
            self._ws = await self._stream.enter_async_context(
                aconnect_ws(
                    path,
                    self._http,
                    keepalive_ping_interval_seconds=None,
                    max_message_size_bytes=WEBSOCKET_READ_BYTES,
                )
            )

    async def _receive(self, timeout: float) -> str | None:
        assert self._ws is not None, "Receive before OpenStream"
        with stream_events():
            try:
                return await self._ws.receive_text(timeout=timeout)
            except TimeoutError:
                return None

    async def _close_stream(self) -> None:
        self._ws = None
        with contextlib.suppress(Exception):  # a stream that failed may fail to close, too
            await self._stream.aclose()

    async def _open_download(self, effect: OpenDownload) -> DownloadStart:
        await self._download.aclose()
        self._download_call = effect.call
        with translating_errors(effect.call, self._base_url):
            response = await self._download.enter_async_context(
                self._http.stream("GET", effect.url_path, extensions={STREAMED: True})
            )
            if response.status_code != 200:
                return DownloadStart(response.status_code, response.headers, await response.aread())
        self._body = response.aiter_bytes()
        return DownloadStart(200, response.headers)

    async def aclose(self) -> None:
        await self._close_stream()
        with contextlib.suppress(Exception):
            await self._download.aclose()
