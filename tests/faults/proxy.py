"""A loopback proxy that injects network faults into HTTP/1.1 and WebSocket traffic, on demand.

A test puts :class:`FaultProxy` in front of the live head and scripts faults with rules: for each
request the first rule that matches and has uses left decides (reset, lose the response, answer with
a canned status, never answer…); otherwise the request is forwarded. Connection faults (dropped
keep-alive connections, cut WebSockets) are attributes. :attr:`FaultProxy.stats` counts what the proxy
did, so that a test can check its fault really happened. Just enough HTTP/1.1 is parsed to find
message boundaries; bytes are forwarded unchanged. Listens on 127.0.0.1 only; can terminate TLS.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import select
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["FaultProxy", "Hang", "LoseResponse", "Request", "Reset", "Respond", "Rule"]

_UPSTREAM_TIMEOUT = 120.0  # a job submission can take a while server-side; stop() unblocks anyway


@dataclass(frozen=True)
class Request:
    """A request as the proxy received it (``raw`` is forwarded unchanged)."""

    index: int  # 1-based, counted over the proxy's lifetime
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes
    received: float  # time.monotonic() when the whole request had arrived

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookie(self, name: str) -> str | None:
        for header in (v for k, v in self.headers if k.lower() == "cookie"):
            for pair in header.split(";"):
                key, _, value = pair.strip().partition("=")
                if key == name:
                    return value
        return None

    @property
    def is_websocket(self) -> bool:
        return (self.header("upgrade") or "").lower() == "websocket"


# ------------------------------------------------------------------------------------------ actions


@dataclass(frozen=True)
class Reset:
    """Reset the client connection (RST) instead of forwarding the request."""


@dataclass(frozen=True)
class LoseResponse:
    """Forward the request, then reset the client connection instead of passing the answer on
    (or send ``instead``: a gateway that timed out although the server did the work)."""

    instead: Respond | None = None


@dataclass(frozen=True)
class CutResponse:
    """Forward the request, pass on the answer's head and the first ``keep`` of its body, then
    reset the client connection (a download cut short)."""

    keep: float = 0.5


@dataclass(frozen=True)
class Hang:
    """Never answer (until the client gives up or the proxy stops)."""


@dataclass(frozen=True)
class Respond:
    """Answer with a canned response instead of forwarding."""

    status: int
    body: bytes | str = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        body = self.body.encode() if isinstance(self.body, str) else self.body
        lines = [
            f"HTTP/1.1 {self.status} Injected",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in self.headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Action = Reset | LoseResponse | CutResponse | Hang | Respond


@dataclass
class Rule:
    """Apply ``action`` to requests matching ``when`` (all if None), ``times`` times (None: always)."""

    action: Action
    times: int | None = 1
    when: Callable[[Request], bool] | None = None
    used: int = 0


# ------------------------------------------------------------------------------------------ parsing


class _Closed(Exception):
    """The peer closed the connection (at a message boundary if ``clean``)."""

    def __init__(self, clean: bool) -> None:
        super().__init__("clean close" if clean else "closed mid-message")
        self.clean = clean


class _Reader:
    """Buffered reads of HTTP/1.1 message pieces from a (possibly TLS) socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise _Closed(clean=not self.buffer)
        self.buffer += data

    def until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            self._fill()
        return self._take(end + len(marker))

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        return self._take(size)

    def _take(self, size: int) -> bytes:
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def head(self) -> tuple[str, list[tuple[str, str]], bytes]:
        """The start line, the headers and the raw bytes of a message head."""
        raw = self.until(b"\r\n\r\n")
        start, *lines = raw[:-4].decode("latin-1").split("\r\n")
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]
        return start, headers, raw

    def body(self, headers: list[tuple[str, str]], *, until_eof: bool = False) -> bytes:
        """A message body, raw (chunked bodies keep their framing)."""
        values = {k.lower(): v for k, v in headers}
        if "chunked" in values.get("transfer-encoding", "").lower():
            parts = []
            while True:
                line = self.until(b"\r\n")
                size = int(line.split(b";")[0], 16)
                parts += [line, self.exactly(size + 2) if size else b""]
                if size == 0:
                    while (trailer := self.until(b"\r\n")) != b"\r\n":
                        parts.append(trailer)
                    return b"".join([*parts, b"\r\n"])
        if "content-length" in values:
            return self.exactly(int(values["content-length"]))
        if not until_eof:
            return b""
        with contextlib.suppress(_Closed):
            while True:
                self._fill()
        return self._take(len(self.buffer))


def _frame_size(buffer: bytearray) -> int | None:
    """Size of the WebSocket frame at the start of ``buffer``; None while its header is incomplete."""
    length = buffer[1] & 0x7F if len(buffer) >= 2 else -1
    extra = {-1: 0, 126: 2, 127: 8}.get(length, 0)
    if length < 0 or len(buffer) < 2 + extra:
        return None
    if extra:
        length = int.from_bytes(buffer[2 : 2 + extra], "big")
    return 2 + extra + (4 if buffer[1] & 0x80 else 0) + length


def _stat_name(action: Action | None) -> str:
    if isinstance(action, Respond):
        return f"respond_{action.status}"
    return {Reset: "reset", LoseResponse: "lost_response", CutResponse: "cut_response", Hang: "hang"}.get(
        type(action), "forward"
    )


def _abort(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), the way a crashed or impatient middlebox does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


# ------------------------------------------------------------------------------------------ proxy


class _Upstream:
    """The kept-alive connection to the upstream server that one client connection uses."""

    def __init__(self, address: tuple[str, int], track: Callable[[socket.socket], socket.socket]) -> None:
        self._address, self._track = address, track
        self.sock: socket.socket | None = None
        self.reader: _Reader | None = None

    def exchange(self, method: str, raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send a request, return (status, headers, raw response); retry once on a stale connection."""
        while True:
            fresh = self.sock is None
            if self.sock is None:
                self.sock = self._track(socket.create_connection(self._address, timeout=_UPSTREAM_TIMEOUT))
                self.reader = _Reader(self.sock)
            assert self.reader is not None
            try:
                self.sock.sendall(raw)
                start, headers, head = self.reader.head()
            except (_Closed, ConnectionError) as exc:
                self.close()
                if fresh or (isinstance(exc, _Closed) and not exc.clean):
                    raise
                continue
            status = int(start.split(" ", 2)[1])
            no_body = method == "HEAD" or status < 200 or status in (204, 304)
            body = b"" if no_body else self.reader.body(headers, until_eof=True)
            if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers):
                self.close()
            return status, headers, head + body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class FaultProxy:
    """A fault-injecting proxy on 127.0.0.1 in front of ``upstream`` (``http://127.0.0.1:<port>``).

    ``ssl_context`` (server side) makes it terminate TLS; the upstream is always plain HTTP.
    """

    def __init__(self, upstream: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise ValueError(f"upstream must be http://127.0.0.1:<port>, got {upstream}")
        self._upstream = (parts.hostname, parts.port)
        self._ssl = ssl_context
        #: Close the client connection (FIN) after every response: keep-alive never gets reused.
        self.close_after_response = False
        #: Close a client connection that has been idle this long between requests (seconds).
        self.idle_close_after: float | None = None
        #: Cut (RST, no close frame) every WebSocket after this many seconds / server frames.
        self.ws_cut_after_seconds: float | None = None
        self.ws_cut_after_frames: int | None = None
        #: How to cut: "rst" (abortive close), "fin" (orderly TCP close, still no close frame) or
        #: "going_away" (a close frame with code 1001, as a proxy shutting down sends, then FIN).
        self.ws_cut_with = "rst"
        #: Request headers (lower-case names) removed before forwarding, as a gateway that checks
        #: credentials of its own removes them (nginx: ``proxy_set_header Authorization ""``).
        self.strip_request_headers: set[str] = set()
        self.stats: collections.Counter[str] = collections.Counter()
        self.requests: list[Request] = []
        self.problems: list[str] = []  # unexpected exceptions in proxy threads, for debugging
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._down = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]

    @property
    def address(self) -> str:
        return f"{'https' if self._ssl else 'http'}://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ scripting

    def add_rule(
        self, action: Action, times: int | None = 1, when: Callable[[Request], bool] | None = None
    ) -> Rule:
        """Apply ``action`` to the next ``times`` requests matching ``when`` (None: every time)."""
        rule = Rule(action, times, when)
        with self._lock:
            self._rules.append(rule)
        return rule

    def refuse_websockets(self, status: int = 502) -> Rule:
        return self.add_rule(Respond(status, "upgrades are not allowed here"), None, lambda r: r.is_websocket)

    def require_header(self, name: str, value: str) -> Rule:
        """Answer 401 to every request without header ``name: value``."""
        return self.add_rule(
            Respond(401, "proxy authentication required"), None, lambda r: r.header(name) != value
        )

    def require_basic_auth(self, username: str, password: str) -> Rule:
        """A gateway with HTTP basic auth: 401 (with a challenge) without these credentials; the
        ``Authorization`` header is not passed on to the upstream."""
        expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.strip_request_headers.add("authorization")
        return self.add_rule(
            Respond(401, "basic auth required", headers={"WWW-Authenticate": 'Basic realm="jobs"'}),
            None,
            lambda r: r.header("authorization") != expected,
        )

    def require_cookie(self, name: str, value: str) -> Rule:
        """Answer 401 to every request without cookie ``name=value``."""
        return self.add_rule(Respond(401, "proxy session required"), None, lambda r: r.cookie(name) != value)

    def _decide(self, method: str, target: str, headers: list[tuple[str, str]], raw: bytes) -> Action | None:
        with self._lock:
            request = Request(len(self.requests) + 1, method, target, tuple(headers), raw, time.monotonic())
            self.requests.append(request)
            for rule in self._rules:
                if rule.times is not None and rule.used >= rule.times:
                    continue
                if rule.when is None or rule.when(request):
                    rule.used += 1
                    return rule.action
        return None  # forward

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FaultProxy:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        """Stop accepting, break every open connection and join every thread."""
        self._stopping.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # the plain socket's shutdown also unblocks TLS reads
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(timeout=10)
        self._listener.close()
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            raise RuntimeError(f"proxy threads did not stop: {alive}")

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=f"fault-proxy-{self.port}", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        if self._stopping.is_set():  # stop() may have listed the sockets before this one
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        return sock

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            if self._down.is_set():
                self._count("refused_while_down")
                _abort(sock)
                continue
            self._count("connections")
            self._spawn(self._serve, self._track(sock))

    # ------------------------------------------------------------------ outages

    def go_down(self) -> None:
        """An outage of the server behind the proxy: every live connection is cut (RST, no close
        frame) and new ones are reset at once, until :meth:`come_back`."""
        self._down.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # wakes the thread serving it
        self._count("outages")

    def come_back(self) -> None:
        self._down.clear()

    # ------------------------------------------------------------------ one client connection

    def _serve(self, sock: socket.socket) -> None:
        client, upstream = sock, _Upstream(self._upstream, self._track)
        try:
            if self._ssl is not None:
                sock.settimeout(30)
                try:
                    client = self._track(self._ssl.wrap_socket(sock, server_side=True))
                except ssl.SSLError:
                    return self._count("tls_failures")
            self._serve_requests(client, _Reader(client), upstream)
        except (_Closed, ConnectionError, ssl.SSLError):
            pass  # peers may go away at any moment: that is what these tests are about
        except Exception as exc:  # a bug in the proxy, or a timeout: keep it visible
            if not self._stopping.is_set():
                self.problems.append(repr(exc))
        finally:
            upstream.close()
            client.close()
            sock.close()
        return None

    def _serve_requests(self, client: socket.socket, reader: _Reader, upstream: _Upstream) -> None:
        while not self._stopping.is_set():
            client.settimeout(self.idle_close_after)
            try:
                start, headers, head = reader.head()
            except TimeoutError:
                return self._count("idle_closed")
            except _Closed:
                return None
            client.settimeout(30)
            method, target, _ = start.split(" ", 2)
            raw = head + reader.body(headers)
            action = self._decide(method, target, headers, raw)
            self._count(_stat_name(action))
            response_headers: list[tuple[str, str]] = []
            if isinstance(action, Reset):
                return _abort(client)
            if isinstance(action, Hang):
                return self._hang(client)
            if isinstance(action, Respond):
                client.sendall(action.encode())
            else:
                status, response_headers, response = upstream.exchange(method, self._strip(raw))
                if isinstance(action, LoseResponse):
                    if action.instead is None:
                        return _abort(client)
                    status, response = action.instead.status, action.instead.encode()
                if isinstance(action, CutResponse):
                    body_start = response.index(b"\r\n\r\n") + 4
                    client.sendall(response[: body_start + int((len(response) - body_start) * action.keep)])
                    return _abort(client)
                client.sendall(response)
                if status == 101:
                    return self._pipe(client, reader, upstream)
            closing = [v.lower() for k, v in (*headers, *response_headers) if k.lower() == "connection"]
            if self.close_after_response or "close" in closing:
                return self._count("closed_after_response")
        return None

    def _strip(self, raw: bytes) -> bytes:
        if not self.strip_request_headers:
            return raw
        head, sep, body = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        kept = [lines[0]] + [
            line
            for line in lines[1:]
            if line.partition(b":")[0].strip().decode("latin-1").lower() not in self.strip_request_headers
        ]
        return b"\r\n".join(kept) + sep + body

    def _hang(self, client: socket.socket) -> None:
        client.settimeout(0.1)
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                if not client.recv(65536):
                    return

    def _pipe(self, client: socket.socket, reader: _Reader, upstream: _Upstream) -> None:
        """After a 101: relay both ways until either side closes or a cut rule fires."""
        server, server_reader = upstream.sock, upstream.reader
        assert server is not None and server_reader is not None
        self._count("websockets")
        cut_at = None if self.ws_cut_after_seconds is None else time.monotonic() + self.ws_cut_after_seconds
        frames, pending = 0, bytearray(server_reader.buffer)
        server.sendall(bytes(reader.buffer))
        client.settimeout(10)
        server.settimeout(10)
        while not self._stopping.is_set():
            # Only whole server frames are passed on, so that they can be counted.
            while (size := _frame_size(pending)) is not None and size <= len(pending):
                client.sendall(bytes(pending[:size]))
                del pending[:size]
                frames += 1
                if self.ws_cut_after_frames is not None and frames >= self.ws_cut_after_frames:
                    return self._cut(client)
            if cut_at is not None and time.monotonic() >= cut_at:
                return self._cut(client)
            # TLS may hold decrypted bytes that select() cannot see.
            ready = [client] if isinstance(client, ssl.SSLSocket) and client.pending() else []
            for sock in ready or select.select([client, server], [], [], 0.05)[0]:
                data = sock.recv(65536)
                if not data:  # an orderly close on either side ends the relay
                    return None
                if sock is client:
                    server.sendall(data)
                else:
                    pending += data
        return None

    def _cut(self, client: socket.socket) -> None:
        self._count("ws_cuts")
        if self.ws_cut_with == "rst":
            return _abort(client)
        if self.ws_cut_with == "going_away":
            client.sendall(b"\x88\x02\x03\xe9")
        client.close()
        return None
