"""The few pieces of I/O that differ between the sync and the async client beyond ``await``.

Everything else the clients do is written once, async, in ``_async/`` and turned into the sync
client by ``tools/unasync.py``: these are the parts that cannot be, each given in both modes under
names that the tool maps (``AsyncLogStream`` → ``LogStream``, ``asleep`` → ``sleep``…):

* :func:`asleep` / :func:`sleep`: pausing;
* :class:`AsyncLogStream` / :class:`LogStream`: the log WebSocket. The async one runs the httpx-ws
  session inside a task of its own: the session holds an anyio cancel scope for as long as it is
  open, and a scope held by an async generator (the log follower) across its ``yield``\\ s is exited in
  whatever task finalises the generator — which, when a caller abandons the iteration, cancels the
  *caller's* task. Owned by one task, the scope is entered and left there, and the stream can be
  dropped from anywhere;
* :class:`AsyncDownload` / :class:`Download`: a streamed ``GET …/logs``.

Their failures reach the follower as :class:`StreamEvent` s (the WebSocket) or as the operation's
own exceptions (the download).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from ._responses import refused_upgrade_body, translating_errors
from .defaults import LOG_STREAM_READ_AHEAD, WEBSOCKET_READ_BYTES
from .retry import STREAMED

if TYPE_CHECKING:
    from httpx_ws import AsyncWebSocketSession, WebSocketSession

    from ._operations import Operation

__all__ = [
    "AsyncDownload",
    "AsyncLogStream",
    "Download",
    "DownloadStart",
    "LogStream",
    "StreamClosed",
    "StreamEvent",
    "StreamLost",
    "StreamRefused",
    "asleep",
    "sleep",
]


async def asleep(seconds: float) -> None:
    """Pause the async client's task."""
    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    """Pause the sync client's thread."""
    time.sleep(seconds)


# --------------------------------------------------------------------------- the log WebSocket


class StreamEvent(Exception):
    """What happened to the log stream, raised to the follower."""


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
    """The connection under the stream failed (the message says how)."""


@contextlib.contextmanager
def _stream_events() -> Iterator[None]:
    """Turn what httpx-ws raises into a :class:`StreamEvent`. Its async session runs in an anyio task
    group, which may wrap what escapes it (even a lone ``WebSocketDisconnect``) in an exception
    group: a lone exception is unwrapped first."""
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


class LogStream:
    """The log WebSocket with blocking I/O: at most one connection open at a time."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client
        self._stack = contextlib.ExitStack()
        self._ws: WebSocketSession | None = None

    def open(self, path: str) -> None:
        """Connect (closing any earlier connection); raises :class:`StreamRefused` or :class:`StreamLost`."""
        from httpx_ws import connect_ws  # only programs that follow logs need the WebSocket stack

        self.close()
        with _stream_events():
            self._ws = self._stack.enter_context(
                connect_ws(
                    path,
                    self._client,
                    keepalive_ping_interval_seconds=None,  # the job server never answers pings
                    max_message_size_bytes=WEBSOCKET_READ_BYTES,
                )
            )

    def receive(self, timeout: float) -> str | None:
        """The next text, or ``None`` when nothing came within ``timeout`` seconds; the stream's end
        raises :class:`StreamClosed` (or :class:`StreamLost`)."""
        assert self._ws is not None, "receive() before open()"
        with _stream_events():
            try:
                return self._ws.receive_text(timeout=timeout)
            except queue.Empty:
                return None

    def close(self) -> None:
        """Close the connection, if any (errors of a connection already dead are ignored)."""
        self._ws = None
        with contextlib.suppress(Exception):
            self._stack.close()


class AsyncLogStream:
    """The log WebSocket for the async client, run by a task of its own (see the module's description)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._task: asyncio.Task[None] | None = None
        self._texts: asyncio.Queue[str | Exception] = asyncio.Queue(LOG_STREAM_READ_AHEAD)

    async def open(self, path: str) -> None:
        """Connect (closing any earlier connection); raises :class:`StreamRefused` or :class:`StreamLost`."""
        await self.aclose()
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._texts = asyncio.Queue(LOG_STREAM_READ_AHEAD)
        self._task = asyncio.create_task(self._run(path, opened, self._texts))
        await opened

    async def _run(
        self, path: str, opened: asyncio.Future[None], texts: asyncio.Queue[str | Exception]
    ) -> None:
        from httpx_ws import aconnect_ws  # only programs that follow logs need the WebSocket stack

        try:
            with _stream_events():
                connection: contextlib.AbstractAsyncContextManager[AsyncWebSocketSession] = aconnect_ws(
                    path,
                    self._client,
                    keepalive_ping_interval_seconds=None,  # the job server never answers pings
                    max_message_size_bytes=WEBSOCKET_READ_BYTES,
                )
                async with connection as ws:
                    opened.set_result(None)
                    while True:
                        await texts.put(await ws.receive_text())
        except Exception as exc:  # for whoever waits: the opener, else the reader
            if opened.done():
                await texts.put(exc)
            else:
                opened.set_exception(exc)
        finally:
            if not opened.done():  # cancelled during the handshake
                opened.cancel()

    async def receive(self, timeout: float) -> str | None:
        """The next text, or ``None`` when nothing came within ``timeout`` seconds; the stream's end
        raises :class:`StreamClosed` (or :class:`StreamLost`)."""
        try:
            item = await asyncio.wait_for(self._texts.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, Exception):
            raise item
        return item

    async def aclose(self) -> None:
        """Close the connection, if any: its task is cancelled and awaited (from any task)."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait([task])


# --------------------------------------------------------------------------- the streamed GET …/logs


@attrs.frozen
class DownloadStart:
    """How ``GET …/logs`` began: its status and headers, and the whole body unless it is a 200."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes = b""


class Download:
    """A streamed ``GET`` of an operation's route (the log download) with blocking I/O."""

    def __init__(self, client: httpx.Client, operation: Operation[Any], base_url: str) -> None:
        self._client, self._operation, self._base_url = client, operation, base_url
        self._stack = contextlib.ExitStack()
        self._body: Iterator[bytes] = iter(())

    def open(self) -> DownloadStart:
        """Send the request (closing any earlier one); failures are the operation's own errors."""
        self.close()
        with translating_errors(self._operation, self._base_url):
            response = self._stack.enter_context(
                self._client.stream("GET", self._operation.url, extensions={STREAMED: True})
            )
            if response.status_code != 200:
                return DownloadStart(response.status_code, response.headers, response.read())
        self._body = response.iter_bytes()
        return DownloadStart(200, response.headers)

    def read(self) -> bytes:
        """The next bytes of the body; ``b""`` once it is complete."""
        with translating_errors(self._operation, self._base_url):
            return next(self._body, b"")

    def close(self) -> None:
        self._body = iter(())
        with contextlib.suppress(Exception):
            self._stack.close()


class AsyncDownload:
    """The async twin of :class:`Download`."""

    def __init__(self, client: httpx.AsyncClient, operation: Operation[Any], base_url: str) -> None:
        self._client, self._operation, self._base_url = client, operation, base_url
        self._stack = contextlib.AsyncExitStack()
        self._body: AsyncIterator[bytes] | None = None

    async def open(self) -> DownloadStart:
        """Send the request (closing any earlier one); failures are the operation's own errors."""
        await self.aclose()
        with translating_errors(self._operation, self._base_url):
            response = await self._stack.enter_async_context(
                self._client.stream("GET", self._operation.url, extensions={STREAMED: True})
            )
            if response.status_code != 200:
                return DownloadStart(response.status_code, response.headers, await response.aread())
        self._body = response.aiter_bytes()
        return DownloadStart(200, response.headers)

    async def read(self) -> bytes:
        """The next bytes of the body; ``b""`` once it is complete."""
        if self._body is None:
            return b""
        with translating_errors(self._operation, self._base_url):
            return await anext(self._body, b"")

    async def aclose(self) -> None:
        self._body = None
        with contextlib.suppress(Exception):
            await self._stack.aclose()
