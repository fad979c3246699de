"""A job server on a real local socket that answers too slowly, or without end, on the routes a test names.

What only a real network can do to a client, for the deadline and body-size tests
(``test_slow_servers.py``): send an answer's headers or body one byte at a time (each byte comes well
within the read timeout, so a timeout per read never fires), send a body that never ends, announce a
body bigger than the client accepts, or accept a TLS connection and never finish the handshake. Every
other request is answered at once by the fake job server (``fake_job_server.py``), which decides what
a Ray 2.60 head would answer; this module only puts its answers on the wire.

Nothing here needs Ray. Each connection is served by a thread of its own; :meth:`SlowServer.close`
(the fixtures call it) stops every one of them. A misbehaving answer gives up after ``give_up``
seconds and then ends as a normal answer would (a dripped body is complete, dripped headers are
followed by the real answer): a client without a deadline gets its answer, late, rather than hanging
the test run.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx
from fake_job_server import FakeJobServer, route_of

__all__ = ["Announce", "DripBody", "DripHeaders", "Endless", "Misbehaviour", "SlowServer", "TLSStall"]

#: Seconds a misbehaving answer lasts at most before it ends as a normal one would.
GIVE_UP = 10.0
#: Seconds between two bytes of a dripped answer: far below any read timeout of the tests.
DRIP_INTERVAL = 0.05


class Wire:
    """One accepted connection, as the misbehaviours see it: write, wait, know when to stop."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self._stopping = stopping

    def send(self, data: bytes) -> bool:
        """Send ``data``; False once the client has gone or the server is stopping."""
        if self._stopping.is_set():
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def drip(self, data: bytes, interval: float, give_up: float) -> bool:
        """Send ``data`` one byte every ``interval`` seconds, the rest at once after ``give_up``
        seconds; False once the client has gone or the server is stopping."""
        started = time.monotonic()
        for index in range(len(data)):
            if time.monotonic() - started > give_up:
                return self.send(data[index:])
            if not self.send(data[index : index + 1]) or self._stopping.wait(interval):
                return False
        return True


class Misbehaviour(Protocol):
    """How one answer goes wrong: ``answer`` is what the fake job server would send."""

    def send(self, wire: Wire, answer: Callable[[], httpx.Response]) -> None: ...


def _head(response: httpx.Response, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    kept = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "connection")}
    lines += [f"{name}: {value}" for name, value in {**kept, **headers}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _whole(response: httpx.Response, body: bytes | None = None) -> tuple[bytes, bytes]:
    """The head and body of a complete answer (``body`` instead of the response's own)."""
    data = response.read() if body is None else body
    return _head(response, {"Content-Length": str(len(data))}), data


@dataclass(frozen=True)
class DripHeaders:
    """The status line at once, then a header one byte at a time: the answer's head never ends."""

    interval: float = DRIP_INTERVAL
    give_up: float = GIVE_UP

    def send(self, wire: Wire, answer: Callable[[], httpx.Response]) -> None:
        if not wire.send(b"HTTP/1.1 200 OK\r\n"):
            return
        if wire.drip(
            b"X-Drip: " + b"d" * int(self.give_up / self.interval + 1) + b"\r\n", self.interval, self.give_up
        ):
            head, body = _whole(answer())
            wire.send(head.split(b"\r\n", 1)[1] + body)


@dataclass(frozen=True)
class DripBody:
    """The whole head at once, then the body one byte at a time (padded with JSON whitespace so
    that it lasts about ``give_up`` seconds)."""

    interval: float = DRIP_INTERVAL
    give_up: float = GIVE_UP

    def send(self, wire: Wire, answer: Callable[[], httpx.Response]) -> None:
        response = answer()
        body = response.read()
        body += b" " * max(0, int(self.give_up / self.interval) - len(body))
        head, _ = _whole(response, body)
        if wire.send(head):
            wire.drip(body, self.interval, self.give_up)


@dataclass(frozen=True)
class Endless:
    """The head at once, without a length, then the start of a JSON string and ``fill`` without end
    (as fast as the client reads; at most ``total`` bytes, then the connection is closed)."""

    total: int = 256 * 2**20
    fill: bytes = b"a" * 65536
    start: bytes = b'{"logs": "'

    def send(self, wire: Wire, answer: Callable[[], httpx.Response]) -> None:
        sent = 0
        if not wire.send(_head(answer(), {"Connection": "close"}) + self.start):
            return
        while sent < self.total and wire.send(self.fill):
            sent += len(self.fill)


@dataclass(frozen=True)
class Announce:
    """A head announcing a body of ``length`` bytes, then an endless body as :class:`Endless`."""

    length: int
    body: Endless = field(default_factory=Endless)

    def send(self, wire: Wire, answer: Callable[[], httpx.Response]) -> None:
        if wire.send(_head(answer(), {"Content-Length": str(self.length)}) + self.body.start):
            sent = 0
            while sent < min(self.length, self.body.total) and wire.send(self.body.fill):
                sent += len(self.body.fill)


class _Listener:
    """A listening socket on ``127.0.0.1`` whose every connection is served by ``_serve`` in a
    thread of its own, until :meth:`close`."""

    scheme = "http"

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # how often the accepting thread looks for the end
        self.address = f"{self.scheme}://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._serving: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _serve(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            with self._lock:
                self._connections.append(connection)
                thread = threading.Thread(target=self._serve_then_shut, args=(connection,), daemon=True)
                self._serving.append(thread)
            thread.start()

    def _serve_then_shut(self, connection: socket.socket) -> None:
        try:
            self._serve(connection)
        except OSError:
            pass
        finally:
            _shut(connection)

    def close(self) -> None:
        """Stop accepting, end every connection and wait for the threads serving them."""
        self._stopping.set()
        self._accepting.join(timeout=5)
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                _shut(connection)
            serving = list(self._serving)
        for thread in serving:
            thread.join(timeout=5)


class SlowServer(_Listener):
    """The fake job server on ``127.0.0.1``, misbehaving as told on chosen routes.

    ``misbehave("GET /api/jobs/", DripHeaders())`` (a route as ``fake_job_server.route_of`` names it)
    makes every request of that route, after the first ``skip``, misbehave. ``jobs`` is the fake
    job server answering the rest.
    """

    def __init__(self) -> None:
        self.jobs = FakeJobServer()
        self._rules: dict[str, tuple[Misbehaviour, int]] = {}
        self._seen: dict[str, int] = {}
        super().__init__()

    def misbehave(self, route: str, misbehaviour: Misbehaviour, *, skip: int = 0) -> None:
        with self._lock:
            self._rules[route] = (misbehaviour, skip)

    def _serve(self, connection: socket.socket) -> None:
        wire = Wire(connection, self._stopping)
        reader = _Reader(connection)
        while (request := reader.request(self.address)) is not None:
            route = route_of(request)
            with self._lock:
                seen = self._seen[route] = self._seen.get(route, 0) + 1
                misbehaviour, skip = self._rules.get(route, (None, 0))
            if misbehaviour is not None and seen > skip:
                misbehaviour.send(wire, functools.partial(self.jobs, request))
                return
            head, body = _whole(self.jobs(request))
            if not wire.send(head + body):
                return


class TLSStall(_Listener):
    """Accepts TCP connections for ``https://`` and never finishes a TLS handshake: says nothing
    (``drip=False``), or announces a handshake record and sends it one byte at a time (``drip=True``)."""

    scheme = "https"
    #: A TLS 1.2 handshake record of 16,000 bytes: the client waits for all of them.
    RECORD = b"\x16\x03\x03\x3e\x80"

    def __init__(self, *, drip: bool) -> None:
        self._drip = drip
        super().__init__()

    def _serve(self, connection: socket.socket) -> None:
        wire = Wire(connection, self._stopping)
        if not self._drip:
            self._stopping.wait(GIVE_UP)
        elif wire.send(self.RECORD):
            wire.drip(b"\x00" * 16000, DRIP_INTERVAL, GIVE_UP)


class _Reader:
    """Requests read off one connection (a body by ``Content-Length`` or chunked)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        self._buffer += data
        return bool(data)

    def _until(self, marker: bytes) -> bytes | None:
        while marker not in self._buffer:
            if not self._fill():
                return None
        line, self._buffer = self._buffer.split(marker, 1)
        return line

    def _exactly(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            if not self._fill():
                return None
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def request(self, base: str) -> httpx.Request | None:
        head = self._until(b"\r\n\r\n")
        if head is None:
            return None
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = httpx.Headers([tuple(line.split(": ", 1)) for line in header_lines])  # type: ignore[misc]
        body: bytes | None = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked()
        elif "content-length" in headers:
            body = self._exactly(int(headers["content-length"]))
        if body is None:
            return None
        return httpx.Request(method, base + target, headers=headers, content=body)

    def _chunked(self) -> bytes | None:
        parts = []
        while (size_line := self._until(b"\r\n")) is not None:
            size = int(size_line.split(b";")[0], 16)
            chunk = self._exactly(size + 2)
            if chunk is None:
                return None
            if size == 0:
                return b"".join(parts)
            parts.append(chunk[:-2])
        return None


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
