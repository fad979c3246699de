"""``JobSubmissionClient``: Ray's documented class, without Ray."""

from __future__ import annotations

import queue
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
from ray_jobs_api.client import Client as ApiClient

from . import _calls
from ._base import ClientBase, ProgressCallback
from ._completion import completion_flow
from ._core import (
    Call,
    Flow,
    iter_flow,
    refused_upgrade_body,
    remember_response,
    run_flow,
    send,
    translating_errors,
)
from .errors import APIConnectionError, JobNotFoundError, LogDecodeError, ServerError
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
from .transport import RetryTransport, ThroughClient

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
        inner = None if self._user_http is None else ThroughClient(self._user_http)
        self._http = httpx.Client(
            **self._httpx_settings(),
            transport=RetryTransport(self._retry_policy, inner, verify=self._verify),
            event_hooks={"response": [remember_response]},
        )
        self._api = ApiClient(base_url=self._address).set_httpx_client(self._http)
        try:
            self._run(self._connect_flow())  # Ray's constructor checks the server at once
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def _send(self, call: Call[T]) -> T:
        self._ensure_open()
        return send(call, self._api, self._display_address)

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
        return self._run(self._get_version_flow())

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
        return self._run(self._status_flow(job_id))

    def get_job_logs(self, job_id: str) -> str:
        """The job's whole log so far."""
        return self._send(_calls.get_job_logs(job_id))

    def iter_job_logs(self, job_id: str) -> Iterator[str]:
        """The job's log so far — the text :meth:`get_job_logs` returns — in pieces, as it downloads.

        Memory stays small whatever the log's size. A download cut short is resumed: the server
        sends the log from its start again and the part already yielded is skipped.
        """
        self._ensure_open()
        yield from self._download_logs(job_id, LogCursor())

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
        fetches any last lines the stream missed. A log the server cannot read (bytes that are not
        UTF-8) ends the output early with one warning, never an error: the follower still returns
        only once the job is terminal.
        """
        self._ensure_open()
        try:
            yield from self._follow_logs(job_id)
        except LogDecodeError as exc:
            warn_log_unsendable(exc)
            self.wait_until_finished(job_id, poll=self._tail_policy.poll_interval)

    def _follow_logs(self, job_id: str) -> Iterator[str]:
        policy = self._tail_policy
        cursor = LogCursor()
        failures = 0
        reason = ""
        path = tail_path(job_id)
        outage = self._outage(f"following the log of job {job_id}")
        # Imported here: the WebSocket stack is only needed by programs that follow logs.
        from httpx_ws import (
            WebSocketDisconnect,
            WebSocketNetworkError,
            WebSocketSession,
            WebSocketUpgradeError,
            connect_ws,
        )

        ws: WebSocketSession
        while True:
            cursor.new_connection()
            closed_by_server = False
            try:
                with connect_ws(
                    path,
                    self._http,
                    keepalive_ping_interval_seconds=None,
                    max_message_size_bytes=WEBSOCKET_READ_BYTES,
                ) as ws:
                    outage.seen()
                    while True:
                        try:
                            fresh = cursor.accept(ws.receive_text(timeout=policy.idle_check_interval))
                        except queue.Empty:
                            if self._run(self._job_status_flow(outage, job_id)).is_terminal():
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
                    yield from self._poll_logs(job_id, cursor, outage)
                    return
                if not outage.in_doubt(refusal):
                    raise refusal from exc
                reason = f"refused: {refusal}"  # a head going down? the status check decides
            except (WebSocketNetworkError, httpx.TransportError) as exc:
                reason = f"connection lost: {exc!r}"
            # The stream's end is never trusted (a proxy's cut looks like the server's normal close):
            # the status decides, and a final download recovers what the stream did not deliver.
            if self._run(self._job_status_flow(outage, job_id)).is_terminal():
                yield from self._download_logs(job_id, cursor, outage)
                return
            if closed_by_server:  # raises LogDecodeError if the server cannot read the log
                try:
                    yield from self._download_logs(job_id, cursor, outage)
                except JobNotFoundError as exc:
                    if not outage.in_doubt(exc):
                        raise
            failures += 1
            error = policy.give_up(job_id, failures, reason)
            if error is not None:
                raise error
            time.sleep(policy.backoff(failures))

    def _poll_logs(self, job_id: str, cursor: LogCursor, outage: Outage) -> Iterator[str]:
        while True:
            final = self._run(self._job_status_flow(outage, job_id)).is_terminal()  # then complete
            yield from self._download_logs(job_id, cursor, outage)
            if final:
                return
            time.sleep(self._tail_policy.poll_interval)

    def _download_logs(self, job_id: str, cursor: LogCursor, outage: Outage | None = None) -> Iterator[str]:
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
                with (
                    translating_errors(call, self._display_address),
                    self._http.stream("GET", download.url_path) as response,
                ):
                    if response.status_code != 200:
                        raise download.refused(response.status_code, response.read(), response.headers)
                    receiving = True
                    outage.succeeded()
                    for data in response.iter_bytes():
                        if piece := download.feed(data):
                            yield piece
                if piece := download.finish():
                    yield piece
                return
            except (APIConnectionError, ServerError) as exc:
                pause, attempt = self._download_pause(outage, download, exc, receiving, attempt)
                time.sleep(pause)

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
        return iter_flow(completion_flow(self, job_ids, timeout, poll), self._send)
