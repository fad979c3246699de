# Generated from ray_jobs_client/_async/client.py by tools/unasync.py: edit that file, then run `make unasync`.
"""The client's methods, written once: Ray's API and what this client adds.

:class:`ClientBase` is the async client's body; ``tools/unasync.py`` turns this file into
``_sync/client.py``, the sync client's body (``make check-unasync`` fails when they differ). Each
method checks its arguments and hands the work to the module that owns it: one exchange goes to
:meth:`~ray_jobs_client._sync.server.JobServer.send`, more to ``jobs.py`` (submit, delete),
``watch.py`` (waiting) or ``follow.py`` (logs). The public classes,
:class:`~ray_jobs_client.JobSubmissionClient` and :class:`~ray_jobs_client.AsyncJobSubmissionClient`,
add only what differs between the two: when the server is first checked, and how they close.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Callable, Iterable
from contextlib import closing
from typing import TYPE_CHECKING, Any

import httpx

from ray_jobs_client import _operations as operations
from ray_jobs_client._sync import follow, jobs, watch
from ray_jobs_client._sync.server import JobServer
from ray_jobs_client._io import as_iterator
from ray_jobs_client._settings import DEFAULT_TIMEOUT, Settings
from ray_jobs_client.checks import check_job_id
from ray_jobs_client.defaults import MAX_RESPONSE_BYTES, OUTAGE_PATIENCE, POLL_SECONDS
from ray_jobs_client.submission import ProgressCallback, Submission

if TYPE_CHECKING:
    from ray_jobs_client.logs import TailPolicy
    from ray_jobs_client.models import JobDetails, JobStatus
    from ray_jobs_client.outage import OutagePolicy
    from ray_jobs_client.retry import RetryPolicy

__all__ = ["ClientBase"]


class ClientBase:
    """What the async client does (see the module's description)."""

    _http_client_type: type[httpx.Client] | type[httpx.Client] = httpx.Client

    def __init__(
        self,
        address: str | None = None,
        create_cluster_if_needed: bool = False,
        cookies: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        verify: str | bool | None = True,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int | None = None,
        tail_policy: TailPolicy | None = None,
        http_client: httpx.Client | httpx.Client | None = None,
        outage_patience: float | OutagePolicy | None = OUTAGE_PATIENCE,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        **kwargs: Any,
    ) -> None:
        """Ray's constructor arguments, then this client's own (keyword-only):

        * ``timeout``: seconds (or an ``httpx.Timeout``) for each network operation (connect, each
          read, each write); a positive number, never ``None``. A call, retries included, ends
          within twice the longest of them (see :class:`~ray_jobs_client.RetryPolicy`) whatever the
          server does — never answers, sends its headers or body a byte at a time, stalls the TLS
          handshake: with the default (60 s) it fails with :class:`~ray_jobs_client.APITimeoutError`
          within about 120 s. A package upload is one call too: it must be sent within that time.
          What runs long (the log followers, ``wait_until_finished``, ``as_completed``, the
          download of ``iter_job_logs``) is not cut while it makes progress: each of its reads is
          bounded by the read timeout.
        * ``max_response_bytes``: the largest answer held in memory (default 256 MiB); a longer body
          fails with :class:`~ray_jobs_client.errors.ResponseTooLargeError` before it fills the
          memory. ``iter_job_logs`` streams a log of any size.
        * ``retries``: how many times transient failures are retried, or a
          :class:`~ray_jobs_client.RetryPolicy`.
        * ``tail_policy``: how the log follower reconnects (:class:`~ray_jobs_client.TailPolicy`).
        * ``http_client``: your own ``httpx.Client`` (``httpx.Client`` for the async client), for
          proxies, client certificates (mTLS), event hooks or tracing. Requests go through its transport,
          auth and event hooks, and its headers and cookies are sent too; this client still adds the
          address, auth token, timeouts and retries. Configure TLS on it (``verify=`` here is refused).
          It stays yours: closing this client leaves it open. Its transport reads the socket, so the
          deadline is checked between the pieces of a body, but a server sending its headers a
          byte at a time is bounded only by the read timeout of each read.
        * ``outage_patience``: seconds that long-running operations (the log followers,
          ``wait_until_finished``, ``as_completed``, the resume of ``iter_job_logs``) keep trying
          while the server is unreachable, before :class:`~ray_jobs_client.ServerUnreachableError`;
          ``None`` waits indefinitely. Default: 300 s. Single calls keep their own deadline. An
          :class:`~ray_jobs_client.OutagePolicy` also sets the backoff between attempts.

        ``user:password@`` in the address is sent as HTTP basic auth and shown as ``<redacted>``
        everywhere (``repr``, :meth:`get_address`, messages, logs).

        All defaults are in :mod:`ray_jobs_client.defaults`.
        """
        settings = Settings.resolve(
            address=address,
            create_cluster_if_needed=create_cluster_if_needed,
            cookies=cookies,
            metadata=metadata,
            headers=headers,
            verify=verify,
            timeout=timeout,
            retries=retries,
            tail_policy=tail_policy,
            http_client=http_client,
            http_client_type=self._http_client_type,
            outage_patience=outage_patience,
            client_name=type(self).__name__,
            max_response_bytes=max_response_bytes,
            **kwargs,
        )
        self._server = JobServer(settings)
        self._opened()

    def _opened(self) -> None:
        """Called once the pool exists: the sync client checks the server here, as Ray's constructor
        does; the async client waits for ``with`` or its first call (no I/O in a constructor)."""

    def _ready(self) -> JobServer:
        """The server, open and checked (Ray's constructor check, made once)."""
        self._server.ensure_open(type(self).__name__)
        if self._server.known_version is None:
            self._server.check()
        return self._server

    def __repr__(self) -> str:
        # Never headers, cookies, tokens or the address's password.
        return f"{type(self).__name__}(address={self._server.address!r})"

    def get_address(self) -> str:
        """The job server's base URL this client talks to (a password in it shown as ``<redacted>``)."""
        return self._server.address

    def close(self) -> None:
        """Release the connection pool. The client cannot be used afterwards (calls raise
        :class:`~ray_jobs_client.errors.ClientClosedError`); an ``http_client=`` stays open."""
        self._server.close()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ Ray's API

    def get_version(self) -> str:
        """The job server's API version (``"4"`` for Ray 2.60; ``None`` from a server that does not
        say, as Ray's client returns)."""
        server = self._ready()
        return (server.send(operations.get_version())).version  # type: ignore[return-value]

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

        Every argument is checked as the server would check it, and a field the server's Ray
        release does not know is refused, before anything is sent. A local ``working_dir`` or
        ``py_modules`` entry in ``runtime_env`` is packaged and uploaded exactly as Ray's client
        does (same ``gcs://`` URI, so packages are shared with Ray's tools);
        ``upload_progress(uri, sent, total)`` is called as package bytes are sent.

        A submit whose reply is lost is retried and never creates a second job: the submission id
        is fixed before the first attempt. When the retry hears "already exists", the id is returned
        only if this call created the job — it did not exist before the first attempt (a
        ``submission_id`` or ``job_id`` you give is looked up once, just before it; a generated id is
        new) and it holds this call's entrypoint, metadata and runtime_env. A job that existed before
        raises :class:`~ray_jobs_client.errors.JobAlreadyExistsError`, exactly as without the lost
        reply.
        """
        job = Submission(
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
        return jobs.submit(self._ready(), job)

    def stop_job(self, job_id: str) -> bool:
        """Ask a job to stop. True if a stop was requested, False if the job had already ended."""
        operation = operations.stop_job(job_id)
        return (self._ready()).send(operation)

    def delete_job(self, job_id: str) -> bool:
        """Delete a finished job's record (raises :class:`~ray_jobs_client.errors.JobNotTerminalError`
        while it runs).

        The job is looked up first: one that does not exist raises
        :class:`~ray_jobs_client.errors.JobNotFoundError` (the server's 404 to the look-up) without a
        DELETE. A job that ended less than 3 s ago is deleted once Ray's job manager is done with it
        (a wait of at most 3 s, Ray 2.50+): deleted sooner, Ray may write it again as a FAILED job. A
        DELETE whose reply is lost is retried; when the retry hears "does not exist", True is
        returned only if the look-up had found the job.
        """
        return jobs.delete(self._ready(), job_id)

    def get_job_info(self, job_id: str) -> JobDetails:
        """Everything the server knows about a job (by submission id or Ray job id)."""
        operation = operations.get_job_info(job_id)
        return (self._ready()).send(operation)

    def list_jobs(self) -> list[JobDetails]:
        """All jobs on the cluster."""
        return (self._ready()).send(operations.list_jobs())

    def get_job_status(self, job_id: str) -> JobStatus:
        """The job's current status."""
        operation = operations.get_job_status(job_id)
        return (self._ready()).send(operation)

    def get_job_logs(self, job_id: str) -> str:
        """The job's whole log so far."""
        operation = operations.get_job_logs(job_id)
        return (self._ready()).send(operation)

    def _do_request(
        self,
        method: str,
        endpoint: str,
        *,
        data: bytes | None = None,
        json_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Ray's raw-request hook (``JobSubmissionClient._do_request``), for code written against it.

        Sends ``method`` to ``endpoint``, a path of the job server (``"/api/jobs/"``), with this
        client's address, headers, cookies, credentials, TLS settings and timeout, and returns the
        response whatever its status (as Ray's does; an ``httpx.Response`` — ``status_code``,
        ``text``, ``json()``, ``headers`` — where Ray's is a ``requests.Response``). ``data`` is sent
        as the body, ``json_data`` as JSON; other keywords go to httpx's ``request``
        (``params=``, ``headers=``, ``timeout=``…). Failures to connect raise
        :class:`~ray_jobs_client.errors.APIConnectionError` (a :class:`ConnectionError`); transient
        failures are retried as for any call, except that a ``POST`` is repeated only when it could
        not connect.
        """
        server = self._ready()
        return server.raw(method, endpoint, data=data, json=json_data, **kwargs)

    # ------------------------------------------------------------------ beyond Ray

    def iter_job_logs(self, job_id: str) -> Iterator[str]:
        """The job's log so far — the text ``get_job_logs`` returns — in pieces, as it downloads.

        Memory stays small whatever the log's size. A download cut short is resumed: the server
        sends the log from its start again and the part already yielded is skipped. Leaving the loop
        early (``break``, an exception) releases the download; so does closing the iterator.
        """
        check_job_id(job_id)
        return as_iterator(lambda: self._download(job_id), "iter_job_logs()")

    def _download(self, job_id: str) -> Generator[str, None, None]:
        server = self._ready()
        with closing(follow.download(server, job_id)) as pieces:
            for piece in pieces:
                yield piece

    def wait_until_finished(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll: float = POLL_SECONDS,
        stop_on_timeout: bool = False,
        on_poll: Callable[[JobDetails], None] | None = None,
    ) -> JobDetails:
        """Wait until the job has finished and return its final details.

        Raises :class:`~ray_jobs_client.errors.JobWaitTimeoutError` (a :class:`TimeoutError`) after
        ``timeout`` seconds, first asking the job to stop if ``stop_on_timeout``. ``on_poll`` sees
        the details of every look at the job while it runs. Outages of the server are ridden out
        (see ``outage_patience``).
        """
        server = self._ready()
        return watch.wait(server, job_id, timeout, poll, stop_on_timeout, on_poll)

    def as_completed(
        self, job_ids: Iterable[str], *, timeout: float | None = None, poll: float = POLL_SECONDS
    ) -> Iterator[JobDetails]:
        """Wait for many jobs at once: yield each job's final details as it finishes.

        Jobs already finished are yielded in the first round. Each round (every ``poll`` seconds)
        asks about all the jobs still unfinished with one ``GET /api/jobs/`` or with one GET per job,
        whichever costs the server less for the number of jobs and the cluster's size. Raises
        :class:`~ray_jobs_client.errors.JobWaitTimeoutError` naming the jobs still unfinished
        (``.unfinished``) once ``timeout`` seconds have passed since the call, and
        :class:`~ray_jobs_client.errors.JobNotFoundError` for a job the server does not know.
        Outages of the server are ridden out as in ``wait_until_finished``. Duplicate or bad ids,
        and a ``poll`` or ``timeout`` that is not a positive number, are refused at the call.
        """
        self._server.ensure_open(type(self).__name__)
        waiting = watch.as_completed(self._server, job_ids, timeout, poll)
        return as_iterator(lambda: self._after_ready(waiting), "as_completed()")

    def _after_ready(
        self, iterator: Generator[JobDetails, None, None]
    ) -> Generator[JobDetails, None, None]:
        self._ready()
        with closing(iterator) as items:
            for item in items:
                yield item

    def _follow(self, job_id: str) -> Generator[str, None, None]:
        """The log follower behind ``follow_job_logs`` / ``tail_job_logs`` (the id checked first)."""
        server = self._ready()
        with closing(follow.follow(server, job_id)) as texts:
            for text in texts:
                yield text
