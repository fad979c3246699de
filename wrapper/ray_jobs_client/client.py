"""``JobSubmissionClient``: Ray's documented class, without Ray."""

from __future__ import annotations

import contextlib
import queue
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from ray_jobs_api.client import Client as ApiClient

from . import _calls
from ._base import ClientBase, ProgressCallback
from ._completion import completion_flow
from ._core import Call, Effect, Flow, iterate_flow, remember_response, run_flow, send, translating_errors
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
from .errors import LogDecodeError
from .logs import LogCursor
from .models import JobDetails, JobStatus
from .transport import STREAMED, RetryTransport, ThroughClient

if TYPE_CHECKING:
    from httpx_ws import WebSocketSession

__all__ = ["JobSubmissionClient"]

T = TypeVar("T")


class JobSubmissionClient(ClientBase):
    """Submit and manage Ray jobs over the job server's REST API.

    A drop-in replacement for ``ray.job_submission.JobSubmissionClient``: the same constructor,
    methods, return values and exception types. Beyond Ray's class it has a request ``timeout`` (no
    call can hang), a log follower that survives dropped connections (:meth:`follow_job_logs`, and
    :meth:`tail_job_logs` for Ray's async iterator), and typed exceptions (see
    :mod:`ray_jobs_client.errors`) that are still the builtin types Ray raises.

    The client owns one connection pool: use it as a context manager or call :meth:`close`.
    """

    def _open(self) -> None:
        inner = None if self._settings.user_http is None else ThroughClient(self._settings.user_http)
        self._http = httpx.Client(
            **self._settings.httpx_settings(),
            transport=RetryTransport(
                self._settings.retry_policy, inner, **self._settings.transport_settings()
            ),
            event_hooks={"response": [remember_response]},
        )
        self._api = ApiClient(base_url=self._settings.address).set_httpx_client(self._http)
        try:
            self._run(self._connect_flow())  # Ray's constructor checks the server at once
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def _send(self, call: Call[T]) -> T:
        self._ensure_open()
        return send(call, self._api, self._settings.display_address)

    def _run(self, flow: Flow[T]) -> T:
        self._ensure_open()
        return run_flow(flow, self._send)

    def close(self) -> None:
        """Release the connection pool. The client cannot be used afterwards (calls raise
        :class:`~ray_jobs_client.errors.ClientClosedError`); an ``http_client=`` stays open."""
        self._closed = True
        self._http.close()

    def __enter__(self) -> JobSubmissionClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ Ray's API

    def get_version(self) -> str:
        """The job server's API version (``"4"`` for Ray 2.60)."""
        return self._send(_calls.get_api_version())

    def submit_job(
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
        """Submit a job and return its submission id (the job runs asynchronously).

        A local ``working_dir`` or ``py_modules`` entry in ``runtime_env`` is packaged and uploaded
        exactly as Ray's client does (same ``gcs://`` URI, so packages are shared with Ray's tools).
        ``upload_progress(uri, sent, total)`` is called as package bytes are sent.
        """
        return self._run(
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

    def stop_job(self, job_id: str) -> bool:
        """Ask a job to stop. True if a stop was requested, False if the job had already ended."""
        return self._send(_calls.stop_job(job_id))

    def delete_job(self, job_id: str) -> bool:
        """Delete a terminal job's record (raises :class:`JobNotTerminalError` while it runs).

        A job that ended less than 3 s ago is deleted once Ray's job manager is done with it (a wait
        of at most 3 s): deleted sooner, Ray may write it again as a FAILED job.
        """
        return self._run(self._delete_flow(job_id))

    def get_job_info(self, job_id: str) -> JobDetails:
        """Everything the server knows about a job (by submission id or Ray job id)."""
        return self._send(_calls.get_job_info(job_id))

    def list_jobs(self) -> list[JobDetails]:
        """All jobs on the cluster."""
        return self._send(_calls.list_jobs())

    def get_job_status(self, job_id: str) -> JobStatus:
        """The job's current status."""
        return self._send(_calls.get_job_status(job_id))

    def get_job_logs(self, job_id: str) -> str:
        """The job's whole log so far.

        A log the job server cannot send (it holds bytes that are not UTF-8) is read as a file through
        the dashboard's log API instead, those bytes shown as U+FFFD (as in every log method here).
        """
        try:
            return self._send(_calls.get_job_logs(job_id))
        except LogDecodeError as exc:  # bytes that are not UTF-8: read the log file instead
            return "".join(self._iterate(self._log_text_flow(job_id, exc)))

    def iter_job_logs(self, job_id: str) -> Iterator[str]:
        """The job's log so far — the text :meth:`get_job_logs` returns — in pieces, as it downloads.

        Memory stays small whatever the log's size. A download cut short is resumed: the server
        sends the log from its start again and the part already yielded is skipped.
        """
        self._ensure_open()
        yield from self._iterate(self._download_flow(job_id, LogCursor()))

    async def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """Ray's async log iterator: yields chunks of the log until the job has finished.

        Runs on a private async client with this client's settings; outside an event loop, prefer
        :meth:`follow_job_logs`.
        """
        from .async_client import AsyncJobSubmissionClient

        async with AsyncJobSubmissionClient._from_settings(self) as twin:
            async for chunk in twin.tail_job_logs(job_id):
                yield chunk

    # ------------------------------------------------------------------ beyond Ray

    def wait_until_finished(
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
        return self._run(self._wait_flow(job_id, timeout, poll, stop_on_timeout, on_poll))

    def follow_job_logs(self, job_id: str) -> Iterator[str]:
        """Yield the job's log as it is written, until the job is terminal — each line exactly once.

        Reconnects when the stream is cut, falls back to polling when WebSockets are refused, and
        fetches any last lines the stream missed. A log the job server cannot read (bytes that are not
        UTF-8) is read as a file through the dashboard's log API, those bytes shown as U+FFFD; if that
        fails too, the output ends early with one warning, never an error: the follower still returns
        only once the job is terminal.
        """
        self._ensure_open()
        yield from self._iterate(self._follow_flow(job_id))

    def as_completed(
        self, job_ids: Iterable[str], *, timeout: float | None = None, poll: float = 1.0
    ) -> Iterator[JobDetails]:
        """Wait for many jobs at once: yield each job's final details as it finishes.

        Jobs already finished are yielded in the first round. Each round (every ``poll`` seconds)
        asks about all the jobs still unfinished with one ``GET /api/jobs/`` or with one GET per job,
        whichever costs the server less for the number of jobs and the cluster's size. Raises
        :class:`~ray_jobs_client.errors.JobWaitTimeoutError` naming the jobs still unfinished
        (``.unfinished``) once ``timeout`` seconds have passed since the call, and
        :class:`~ray_jobs_client.errors.JobNotFoundError` for a job the server does not know.
        Outages of the server are ridden out as in :meth:`wait_until_finished`. Duplicate or bad
        ids, and a ``poll`` or ``timeout`` that is not a positive number, are refused at the call.
        """
        self._ensure_open()
        return self._iterate(completion_flow(self, job_ids, timeout, poll))

    def _iterate(self, flow: Flow[None]) -> Iterator[Any]:
        """Run a flow that emits values (log text, or jobs' details), yielding them."""
        io = _SyncLogIO(self._http, self._send, self._settings.display_address)
        try:
            yield from iterate_flow(flow, io.perform)
        finally:
            io.close()


class _SyncLogIO:
    """The log flows' effects with blocking I/O, for one run of a flow: at most one log stream and
    one download open at a time, both closed when the run ends."""

    def __init__(self, http: httpx.Client, send: Callable[[Call[Any]], Any], base_url: str) -> None:
        self._http, self._send, self._base_url = http, send, base_url
        self._stream = contextlib.ExitStack()
        self._ws: WebSocketSession | None = None
        self._download = contextlib.ExitStack()
        self._body: Iterator[bytes] = iter(())
        self._download_call: Call[Any] | None = None

    def perform(self, effect: Effect[Any]) -> Any:
        if isinstance(effect, Call):
            return self._send(effect)
        if isinstance(effect, Receive):
            return self._receive(effect.timeout)
        if isinstance(effect, ReadDownload):
            assert self._download_call is not None, "ReadDownload before OpenDownload"
            with translating_errors(self._download_call, self._base_url):
                return next(self._body, b"")
        if isinstance(effect, OpenStream):
            return self._open_stream(effect.path)
        if isinstance(effect, OpenDownload):
            return self._open_download(effect)
        if isinstance(effect, CloseStream):
            return self._close_stream()
        raise TypeError(f"no driver for {effect!r}")

    def _open_stream(self, path: str) -> None:
        # Imported here: the WebSocket stack is only needed by programs that follow logs.
        from httpx_ws import connect_ws

        self._close_stream()
        with stream_events():
            self._ws = self._stream.enter_context(
                connect_ws(
                    path,
                    self._http,
                    keepalive_ping_interval_seconds=None,
                    max_message_size_bytes=WEBSOCKET_READ_BYTES,
                )
            )

    def _receive(self, timeout: float) -> str | None:
        assert self._ws is not None, "Receive before OpenStream"
        with stream_events():
            try:
                return self._ws.receive_text(timeout=timeout)
            except queue.Empty:
                return None

    def _close_stream(self) -> None:
        self._ws = None
        with contextlib.suppress(Exception):  # a stream that failed may fail to close, too
            self._stream.close()

    def _open_download(self, effect: OpenDownload) -> DownloadStart:
        self._download.close()
        self._download_call = effect.call
        with translating_errors(effect.call, self._base_url):
            response = self._download.enter_context(
                self._http.stream("GET", effect.url_path, extensions={STREAMED: True})
            )
            if response.status_code != 200:
                return DownloadStart(response.status_code, response.headers, response.read())
        self._body = response.iter_bytes()
        return DownloadStart(200, response.headers)

    def close(self) -> None:
        self._close_stream()
        with contextlib.suppress(Exception):
            self._download.close()
