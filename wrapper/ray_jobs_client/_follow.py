"""The log follower and the streamed log download, written once for both clients.

They are flows (see :mod:`ray_jobs_client._core`): the decisions — what to skip after a reconnect,
when to trust the end of the stream, when to poll instead, how long to keep trying — are here, free
of I/O, and each client only performs the effects below (:class:`OpenStream`, :class:`Receive`…)
with its own I/O (``client._SyncLogIO``, ``async_client._AsyncLogIO``). Why the follower decides
as it does is in :mod:`ray_jobs_client.logs`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import attrs
import httpx

from . import _calls
from ._core import Call, Effect, Emit, Flow, Pause, StreamEvent, do, refused_upgrade_body
from ._flows import Flows
from .errors import APIConnectionError, JobNotFoundError, LogDecodeError, ServerError
from .logs import (
    LogCursor,
    LogDownload,
    stream_closed_by_server,
    tail_path,
    upgrade_refusal,
    warn_log_unsendable,
)
from .outage import Outage

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

        A log the server cannot read ends the output early with one warning; the flow still ends
        only when the job does.
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
                        if (yield from self._job_finished_flow(outage, job_id)):
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
            if (yield from self._job_finished_flow(outage, job_id)):
                yield from self._download_flow(job_id, cursor, outage)
                return
            if closed_by_server:  # raises LogDecodeError if the server cannot read the log
                try:
                    yield from self._download_flow(job_id, cursor, outage)
                except JobNotFoundError as exc:
                    if not outage.in_doubt(exc):
                        raise
            failures += 1
            error = policy.give_up(job_id, failures, reason)
            if error is not None:
                raise error
            yield from do(Pause(policy.backoff(failures)))

    def _poll_flow(self, job_id: str, cursor: LogCursor, outage: Outage) -> Flow[None]:
        """Follow by downloading the log again every ``poll_interval`` (WebSockets refused)."""
        while True:
            final = yield from self._job_finished_flow(outage, job_id)  # then complete
            yield from self._download_flow(job_id, cursor, outage)
            if final:
                return
            yield from do(Pause(self._settings.tail_policy.poll_interval))

    def _download_flow(self, job_id: str, cursor: LogCursor, outage: Outage | None = None) -> Flow[None]:
        """``GET …/logs`` streamed: emit what ``cursor`` has not delivered yet, resumed if cut (and
        through an outage of the server, within its patience)."""
        call = _calls.get_job_logs(job_id)
        download = LogDownload(job_id, cursor)
        outage = outage or self._outage(f"downloading the log of job {job_id}")
        attempt = 0
        while True:
            download.restart()
            receiving = False
            try:
                start = yield from do(OpenDownload(call, call.url))
                if start.status_code != 200:
                    raise download.refused(start.status_code, start.body, start.headers)
                receiving = True
                outage.succeeded()
                while data := (yield from do(ReadDownload())):
                    if piece := download.feed(data):
                        yield from do(Emit(piece))
                if piece := download.finish():
                    yield from do(Emit(piece))
                return
            except (APIConnectionError, ServerError) as exc:
                pause, attempt = self._download_pause(outage, download, exc, receiving, attempt)
                yield from do(Pause(pause))


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
