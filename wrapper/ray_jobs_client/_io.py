"""The few pieces of I/O that differ between the sync and the async client beyond ``await``.

Everything else the clients do is written once, async, in ``_async/`` and turned into the sync
client by ``tools/unasync.py``: these are the parts that cannot be, each given in both modes under
names that the tool maps (``AsyncLogStream`` → ``LogStream``, ``asleep`` → ``sleep``…):

* :func:`asleep` / :func:`sleep`: pausing;
* :func:`as_task_iterator` / :func:`as_iterator`: the iterators the clients hand out. An async one
  runs its generator in a task of its own (:class:`~ray_jobs_client._task_iterator.TaskIterator`), so
  that the log stream's cancel scope is entered and left in that task and the caller may abandon the
  iterator in any way without its own task being cancelled; a sync one is the generator itself;
* :class:`AsyncLogStream` / :class:`LogStream`: the log WebSocket;
* :class:`AsyncDownload` / :class:`Download`: a streamed ``GET …/logs``.

Their failures reach the follower as :class:`StreamEvent` s (the WebSocket) or as the operation's
own exceptions (the download).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import httpx

from ._responses import refused_upgrade_body, translating_errors
from .defaults import WEBSOCKET_READ_BYTES
from .retry import STREAMED

if TYPE_CHECKING:
    from httpx_ws import AsyncWebSocketSession, WebSocketSession

    from ._operations import Operation

T = TypeVar("T")

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
    "as_iterator",
    "as_task_iterator",
    "asleep",
    "sleep",
]


def as_task_iterator(source: Callable[[], AsyncGenerator[T, None]], name: str) -> AsyncIterator[T]:
    """The async iterator handed to a caller: ``source()`` run by a task of its own."""
    from ._task_iterator import TaskIterator

    return TaskIterator(source, name)


def as_iterator(source: Callable[[], Generator[T, None, None]], name: str) -> Iterator[T]:
    """The sync iterator handed to a caller: the generator itself (``name`` is for the async twin)."""
    return source()


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
    """The log WebSocket with ``await``: at most one connection open at a time. Its session holds an
    anyio cancel scope while open, so it is opened and closed by one task: the worker of the
    :class:`~ray_jobs_client._task_iterator.TaskIterator` that runs the follower."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._stack = contextlib.AsyncExitStack()
        self._ws: AsyncWebSocketSession | None = None

    async def open(self, path: str) -> None:
        """Connect (closing any earlier connection); raises :class:`StreamRefused` or :class:`StreamLost`."""
        from httpx_ws import aconnect_ws  # only programs that follow logs need the WebSocket stack

        await self.aclose()
        with _stream_events():
            self._ws = await self._stack.enter_async_context(
                aconnect_ws(
                    path,
                    self._client,
                    keepalive_ping_interval_seconds=None,  # the job server never answers pings
                    max_message_size_bytes=WEBSOCKET_READ_BYTES,
                )
            )

    async def receive(self, timeout: float) -> str | None:
        """The next text, or ``None`` when nothing came within ``timeout`` seconds; the stream's end
        raises :class:`StreamClosed` (or :class:`StreamLost`)."""
        assert self._ws is not None, "receive() before open()"
        with _stream_events():
            try:
                return await self._ws.receive_text(timeout=timeout)
            except TimeoutError:
                return None

    async def aclose(self) -> None:
        """Close the connection, if any (errors of a connection already dead are ignored)."""
        self._ws = None
        with contextlib.suppress(Exception):
            await self._stack.aclose()


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
