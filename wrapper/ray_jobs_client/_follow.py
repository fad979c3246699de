"""The log follower and the streamed log download, written once for both clients.

They are flows (see :mod:`ray_jobs_client._core`): the decisions — what to skip after a reconnect,
when to trust the end of the stream, when to poll instead, how long to keep trying — are here, free
of I/O, and each client only performs the effects below (:class:`OpenStream`, :class:`Receive`…)
with its own I/O (``client._SyncLogIO``, ``async_client._AsyncLogIO``). Why the follower decides
as it does is in :mod:`ray_jobs_client.logs`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping

import attrs
import httpx

from . import _calls
from ._core import Call, Effect, Emit, Flow, Pause, StreamEvent, do, refused_upgrade_body
from ._flows import Flows
from .errors import APIConnectionError, APIStatusError, JobNotFoundError, LogDecodeError, ServerError
from .logs import (
    LogCursor,
    LogDownload,
    LogFile,
    stream_closed_by_server,
    tail_path,
    upgrade_refusal,
    warn_log_unsendable,
)
from .outage import Outage
from .releases import PLAIN_LOG_FILES_SINCE, release_tuple

logger = logging.getLogger("ray_jobs_client")

# --------------------------------------------------------------------------- effects


@attrs.frozen
class OpenStream(Effect[None]):
    """Open the log WebSocket at ``path`` (closing any stream still open). Refused or failed:
    :class:`StreamRefused` or :class:`StreamLost` is thrown instead."""

    path: str


@attrs.frozen
class Receive(Effect["str | None"]):
    """The next text of the open stream, or ``None`` when nothing came within ``timeout`` seconds.
    The stream's end is thrown as :class:`StreamClosed` (or :class:`StreamLost`)."""

    timeout: float


@attrs.frozen
class CloseStream(Effect[None]):
    """Close the log stream if one is open (errors of a stream already dead are ignored)."""


@attrs.frozen
class DownloadStart:
    """How ``GET …/logs`` began: its status and headers, and the whole body unless it is a 200."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes = b""


@attrs.frozen
class OpenDownload(Effect[DownloadStart]):
    """Start a streamed ``GET`` of ``call``'s route (closing any download still open); failures are
    the call's own errors (:class:`~ray_jobs_client.errors.APIConnectionError`…)."""

    call: Call[str]
    url_path: str


@attrs.frozen
class ReadDownload(Effect[bytes]):
    """The next bytes of the open download's body; ``b""`` once it is complete."""


class StreamClosed(StreamEvent):
    """The log stream was closed with a WebSocket close ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"closed with code {code}")
        self.code = code


class StreamRefused(StreamEvent):
    """The WebSocket handshake was answered with ``status_code`` instead of an upgrade."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(f"upgrade refused with {status_code}")
        self.status_code = status_code
        self.body = body


class StreamLost(StreamEvent):
    """The connection under the stream failed (``reason`` says how)."""


# --------------------------------------------------------------------------- flows


class LogFlows(Flows):
    """The flows that emit a job's log (see :class:`~ray_jobs_client._core.Emit`)."""

    def _follow_flow(self, job_id: str) -> Flow[None]:
        """Emit the job's log as it is written, each character once, until the job is terminal.

        A log the job server cannot read (bytes that are not UTF-8) is read as a file instead (see
        :class:`~ray_jobs_client.logs.LogFile`); if that fails too, the output ends early with one
        warning, and the flow still ends only when the job does.
        """
        try:
            yield from self._stream_flow(job_id)
        except LogDecodeError as exc:
            warn_log_unsendable(exc)
            yield from self._wait_flow(job_id, None, self._settings.tail_policy.poll_interval, False, None)

    def _stream_flow(self, job_id: str) -> Flow[None]:
        policy = self._settings.tail_policy
        cursor = LogCursor()
        failures = 0
        path = tail_path(job_id)
        outage = self._outage(f"following the log of job {job_id}")
        while True:
            cursor.new_connection()
            closed_by_server = False
            try:
                yield from do(OpenStream(path))
                outage.seen()
                while True:
                    text = yield from do(Receive(policy.idle_check_interval))
                    if text is None:  # quiet for a while: is the job still running?
                        if (yield from self._job_status_flow(outage, job_id)).is_terminal():
                            break
                    elif fresh := cursor.accept(text):
                        failures = 0
                        yield from do(Emit(fresh))
                reason = "the job ended"
            except StreamClosed as exc:
                reason = str(exc)
                closed_by_server = stream_closed_by_server(exc.code)
            except StreamRefused as exc:
                refusal = upgrade_refusal(job_id, exc.status_code, exc.body)
                if refusal is None:  # the WebSocket itself is refused (a proxy): poll instead
                    yield from self._poll_flow(job_id, cursor, outage)
                    return
                if not outage.in_doubt(refusal):
                    raise refusal from exc
                reason = f"refused: {refusal}"  # a head going down? the status check decides
            except StreamLost as exc:
                reason = f"connection lost: {exc}"
            yield from do(CloseStream())
            # The stream's end is never trusted (a proxy's cut looks like the server's normal close):
            # the status decides, and a final download recovers what the stream did not deliver.
            if (yield from self._job_status_flow(outage, job_id)).is_terminal():
                yield from self._fetch_log_flow(job_id, cursor, outage)
                return
            if closed_by_server:
                try:
                    log_file = yield from self._fetch_log_flow(job_id, cursor, outage, final=False)
                except JobNotFoundError as exc:
                    if not outage.in_doubt(exc):
                        raise
                else:
                    if log_file is not None:  # the stream will stop at the same bytes every time
                        yield from self._poll_flow(job_id, cursor, outage, log_file)
                        return
            failures += 1
            error = policy.give_up(job_id, failures, reason)
            if error is not None:
                raise error
            yield from do(Pause(policy.backoff(failures)))

    def _poll_flow(
        self, job_id: str, cursor: LogCursor, outage: Outage, log_file: LogFile | None = None
    ) -> Flow[None]:
        """Follow by downloading the log again every ``poll_interval`` (WebSockets refused, or a log
        the job server cannot read: then its ``log_file``)."""
        while True:
            final = (yield from self._job_status_flow(outage, job_id)).is_terminal()  # then complete
            log_file = yield from self._fetch_log_flow(job_id, cursor, outage, final=final, log_file=log_file)
            if final:
                return
            yield from do(Pause(self._settings.tail_policy.poll_interval))

    def _download_flow(self, job_id: str, cursor: LogCursor, outage: Outage | None = None) -> Flow[None]:
        """Emit what ``cursor`` has not delivered yet of the job's log (see :meth:`_fetch_log_flow`)."""
        yield from self._fetch_log_flow(job_id, cursor, outage)

    def _fetch_log_flow(
        self,
        job_id: str,
        cursor: LogCursor,
        outage: Outage | None = None,
        *,
        final: bool = True,
        log_file: LogFile | None = None,
    ) -> Flow[LogFile | None]:
        """``GET …/logs`` streamed: emit what ``cursor`` has not delivered yet, resumed if cut (and
        through an outage of the server, within its patience).

        If the job server cannot read the log (bytes that are not UTF-8), the log file is read
        through the dashboard's log API instead, the bad bytes as U+FFFD; that file is returned, and
        read directly when given as ``log_file``. ``final=False``: the job still writes the file.
        Raises :class:`LogDecodeError` only if the file cannot be read either.
        """
        outage = outage or self._outage(f"downloading the log of job {job_id}")
        if log_file is None:
            try:
                yield from self._read_log_flow(LogDownload(job_id, cursor), outage)
                return None
            except LogDecodeError as exc:
                log_file = yield from self._log_file_flow(job_id, outage, exc)
        try:
            yield from self._read_log_flow(LogDownload(job_id, cursor, log_file), outage, final)
        except APIStatusError as exc:  # the log API refused or failed: the job server's answer stands
            raise log_file.cause from exc
        return log_file

    def _log_file_flow(self, job_id: str, outage: Outage, cause: LogDecodeError) -> Flow[LogFile]:
        """Where the dashboard's log API serves the job's log file (or ``cause`` if it cannot)."""
        details = yield from self._through_outage(outage, lambda: _calls.get_job_info(job_id), job_id)
        if not details.submission_id or not details.driver_node_id:
            raise cause
        version = yield from self._server_version_flow()
        logger.info(
            "The job server cannot send the log of job %s: it holds bytes that are not UTF-8. Reading "
            "the log file through the dashboard's log API instead, those bytes shown as U+FFFD.",
            job_id,
        )
        return LogFile(
            _calls.log_file(details.driver_node_id, details.submission_id),
            framed=release_tuple(version.ray_version)[:2] < PLAIN_LOG_FILES_SINCE,
            cause=cause,
        )

    def _read_log_flow(self, download: LogDownload, outage: Outage, final: bool = True) -> Flow[None]:
        """Stream ``download``'s body, emitting the new text; resumed when cut (see
        :meth:`_download_pause`)."""
        call = download.file.call if download.file is not None else _calls.get_job_logs(download.job_id)
        attempt = 0
        while True:
            download.restart()
            receiving = False
            try:
                start = yield from do(OpenDownload(call, download.url_path))
                if start.status_code != 200:
                    raise download.refused(start.status_code, start.body, start.headers)
                receiving = True
                outage.succeeded()
                while data := (yield from do(ReadDownload())):
                    if piece := download.feed(data):
                        yield from do(Emit(piece))
                if piece := download.finish(final):
                    yield from do(Emit(piece))
                return
            except (APIConnectionError, ServerError) as exc:
                pause, attempt = self._download_pause(outage, download, exc, receiving, attempt)
                yield from do(Pause(pause))

    def _log_text_flow(self, job_id: str, cause: LogDecodeError) -> Flow[None]:
        """``get_job_logs`` after the server answered ``cause``: emit the log file's text."""
        outage = self._outage(f"downloading the log of job {job_id}")
        log_file = yield from self._log_file_flow(job_id, outage, cause)
        yield from self._fetch_log_flow(job_id, LogCursor(), outage, log_file=log_file)


# --------------------------------------------------------------------------- for the drivers


@contextlib.contextmanager
def stream_events() -> Iterator[None]:
    """Turn what httpx-ws raises about the log stream into the :class:`StreamEvent` a flow expects.

    httpx-ws's async session runs in an anyio task group, which may wrap what escapes it (even a
    lone ``WebSocketDisconnect``) in an exception group: a lone exception is unwrapped first.
    """
    from httpx_ws import WebSocketDisconnect, WebSocketNetworkError, WebSocketUpgradeError

    try:
        try:
            yield
        except BaseExceptionGroup as group:
            leaf = _lone_exception(group)
            if leaf is None:
                raise
            raise leaf from group
    except WebSocketDisconnect as exc:
        raise StreamClosed(exc.code) from exc
    except WebSocketUpgradeError as exc:
        raise StreamRefused(exc.response.status_code, refused_upgrade_body(exc.response)) from exc
    except (WebSocketNetworkError, httpx.TransportError) as exc:
        raise StreamLost(repr(exc)) from exc


def _lone_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    while len(group.exceptions) == 1:
        only = group.exceptions[0]
        if not isinstance(only, BaseExceptionGroup):
            return only
        group = only
    return None
