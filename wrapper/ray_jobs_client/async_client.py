"""``AsyncJobSubmissionClient``: every method of :class:`JobSubmissionClient` as a coroutine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from httpx_ws import (
    AsyncWebSocketSession,
    WebSocketDisconnect,
    WebSocketNetworkError,
    WebSocketUpgradeError,
    aconnect_ws,
)
from ray_jobs_api.client import Client as ApiClient

from . import _calls
from ._base import ClientBase, ProgressCallback
from ._completion import completion_flow
from ._core import (
    Call,
    Flow,
    aiter_flow,
    aremember_response,
    arun_flow,
    asend,
    refused_upgrade_body,
    translating_errors,
)
from .errors import APIConnectionError, EventLoopError, JobNotFoundError, LogDecodeError, ServerError
from .logs import (
    WEBSOCKET_READ_BYTES,
    LogCursor,
    LogDownload,
    stream_closed_by_server,
    tail_path,
    upgrade_refusal,
    warn_log_unsendable,
)
from .models import JobDetails, JobStatus
from .outage import Outage
from .transport import AsyncRetryTransport, AsyncThroughClient

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
        inner = None if self._user_http is None else AsyncThroughClient(self._user_http)
        self._http = httpx.AsyncClient(
            **self._httpx_settings(),
            transport=AsyncRetryTransport(self._retry_policy, inner, verify=self._verify),
            event_hooks={"response": [aremember_response]},
        )
        self._api = ApiClient(base_url=self._address).set_async_httpx_client(self._http)
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def _from_settings(cls, sync: JobSubmissionClient) -> AsyncJobSubmissionClient:
        """An async client with exactly a sync client's resolved settings (no second resolution)."""
        sync._ensure_open()
        if sync._user_http is not None:
            raise TypeError(
                "tail_job_logs() needs an async HTTP client, and this JobSubmissionClient was given a "
                "synchronous http_client=. Use follow_job_logs(), or "
                "AsyncJobSubmissionClient(http_client=httpx.AsyncClient(...))."
            )
        twin = cls.__new__(cls)
        twin.__dict__.update({k: v for k, v in sync.__dict__.items() if k not in ("_http", "_api")})
        twin._open()
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
            if not self._loop.is_closed() or self._user_http is not None:
                raise EventLoopError(
                    f"This {type(self).__name__} was first used in another event loop"
                    + (
                        ", and its http_client's connections belong to that loop. Create the client "
                        "and its httpx.AsyncClient inside the event loop that uses them."
                        if self._user_http is not None
                        else ", which is still running. Use one client per event loop."
                    )
                )
            stale = self._http
            self._open()
            with contextlib.suppress(Exception):  # its connections died with their loop
                await stale.aclose()
        self._loop = loop

    async def _ready(self) -> None:
        """Open, on this event loop's pool, and the server checked (once)."""
        await self._use_here()
        if self._server_version is None:
            await arun_flow(self._connect_flow(), self._send_now)

    async def _send(self, call: Call[T]) -> T:
        await self._ready()
        return await self._send_now(call)

    async def _send_now(self, call: Call[T]) -> T:
        return await asend(call, self._api, self._display_address)

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
        return await self._run(self._get_version_flow())

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
        return await self._run(self._status_flow(job_id))

    async def get_job_logs(self, job_id: str) -> str:
        """The job's whole log so far."""
        return await self._send(_calls.get_job_logs(job_id))

    async def iter_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """The job's log so far — the text :meth:`get_job_logs` returns — in pieces, as it downloads.

        Memory stays small whatever the log's size. A download cut short is resumed: the server
        sends the log from its start again and the part already yielded is skipped.
        """
        await self._ready()
        async for piece in self._download_logs(job_id, LogCursor()):
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
        when WebSockets are refused, and fetches any last lines the stream missed. A log the server
        cannot read (bytes that are not UTF-8) ends the output early with one warning, never an
        error: the iterator still ends only once the job is terminal.
        """
        await self._ready()
        try:
            async for chunk in self._follow_logs(job_id):
                yield chunk
        except LogDecodeError as exc:
            warn_log_unsendable(exc)
            await self.wait_until_finished(job_id, poll=self._tail_policy.poll_interval)

    async def _follow_logs(self, job_id: str) -> AsyncIterator[str]:
        policy = self._tail_policy
        cursor = LogCursor()
        failures = 0
        reason = ""
        path = tail_path(job_id)
        outage = self._outage(f"following the log of job {job_id}")
        while True:
            cursor.new_connection()
            closed_by_server = False
            try:
                async with _open_websocket(path, self._http) as ws:
                    outage.seen()
                    while True:
                        try:
                            fresh = cursor.accept(await ws.receive_text(timeout=policy.idle_check_interval))
                        except TimeoutError:
                            if (await self._run(self._job_status_flow(outage, job_id))).is_terminal():
                                break
                            continue
                        if fresh:
                            failures = 0
                            yield fresh
            except WebSocketDisconnect as exc:
                reason = f"closed with code {exc.code}"
                closed_by_server = stream_closed_by_server(exc.code)
            except WebSocketUpgradeError as exc:
                refusal = upgrade_refusal(
                    job_id, exc.response.status_code, refused_upgrade_body(exc.response)
                )
                if refusal is None:
                    async for chunk in self._poll_logs(job_id, cursor, outage):
                        yield chunk
                    return
                if not outage.in_doubt(refusal):
                    raise refusal from exc
                reason = f"refused: {refusal}"  # a head going down? the status check decides
            except (WebSocketNetworkError, httpx.TransportError) as exc:
                reason = f"connection lost: {exc!r}"
            # The stream's end is never trusted (a proxy's cut looks like the server's normal close):
            # the status decides, and a final download recovers what the stream did not deliver.
            if (await self._run(self._job_status_flow(outage, job_id))).is_terminal():
                async for piece in self._download_logs(job_id, cursor, outage):
                    yield piece
                return
            if closed_by_server:  # raises LogDecodeError if the server cannot read the log
                try:
                    async for piece in self._download_logs(job_id, cursor, outage):
                        yield piece
                except JobNotFoundError as exc:
                    if not outage.in_doubt(exc):
                        raise
            failures += 1
            error = policy.give_up(job_id, failures, reason)
            if error is not None:
                raise error
            await asyncio.sleep(policy.backoff(failures))

    async def _poll_logs(self, job_id: str, cursor: LogCursor, outage: Outage) -> AsyncIterator[str]:
        while True:
            final = (await self._run(self._job_status_flow(outage, job_id))).is_terminal()  # then complete
            async for piece in self._download_logs(job_id, cursor, outage):
                yield piece
            if final:
                return
            await asyncio.sleep(self._tail_policy.poll_interval)

    async def _download_logs(
        self, job_id: str, cursor: LogCursor, outage: Outage | None = None
    ) -> AsyncIterator[str]:
        """``GET …/logs`` streamed: what ``cursor`` has not delivered yet, in pieces, resumed if cut
        (and through an outage of the server, within its patience)."""
        call = _calls.get_job_logs(job_id)
        download = LogDownload(job_id, cursor)
        outage = outage or self._outage(f"downloading the log of job {job_id}")
        attempt = 0
        while True:
            download.restart()
            receiving = False
            try:
                with translating_errors(call, self._display_address):
                    async with self._http.stream("GET", download.url_path) as response:
                        if response.status_code != 200:
                            body = await response.aread()
                            raise download.refused(response.status_code, body, response.headers)
                        receiving = True
                        outage.succeeded()
                        async for data in response.aiter_bytes():
                            if piece := download.feed(data):
                                yield piece
                if piece := download.finish():
                    yield piece
                return
            except (APIConnectionError, ServerError) as exc:
                pause, attempt = self._download_pause(outage, download, exc, receiving, attempt)
                await asyncio.sleep(pause)

    def as_completed(
        self, job_ids: Iterable[str], *, timeout: float | None = None, poll: float = 1.0
    ) -> AsyncIterator[JobDetails]:
        """Wait for many jobs at once: an async iterator of each job's final details as it finishes
        (``async for details in client.as_completed(ids)``; see
        :meth:`JobSubmissionClient.as_completed`). Bad arguments are refused at the call."""
        return aiter_flow(completion_flow(self, job_ids, timeout, poll), self._send)


@contextlib.asynccontextmanager
async def _open_websocket(path: str, http: httpx.AsyncClient) -> AsyncIterator[AsyncWebSocketSession]:
    """httpx-ws's async session runs in an anyio task group, which wraps whatever escapes the block
    (even our own ``WebSocketDisconnect``) in an exception group; unwrap a lone exception."""
    ws: AsyncWebSocketSession
    try:
        async with aconnect_ws(
            path, http, keepalive_ping_interval_seconds=None, max_message_size_bytes=WEBSOCKET_READ_BYTES
        ) as ws:
            yield ws
    except BaseExceptionGroup as group:
        leaf = _lone_exception(group)
        if leaf is None:
            raise
        raise leaf from group


def _lone_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    while len(group.exceptions) == 1:
        only = group.exceptions[0]
        if not isinstance(only, BaseExceptionGroup):
            return only
        group = only
    return None
