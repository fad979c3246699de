"""Helpers shared by the integration tests: deadline polling, entrypoints, the process's connections,
a stub HTTP server."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import os
import shlex
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ray_jobs_client.models import TERMINAL_STATUSES as TERMINAL
from waiting import wait_for

#: How long any job of these tests may take to reach the awaited state (a 2-core machine, shared).
JOB_TIMEOUT = 90.0

#: Prints "Hello 0" … "Hello 29", one line every 0.1 s (Ray's test_tail_job_logs, shortened).
HELLO_SCRIPT = "import time\nfor i in range(30):\n    print('Hello', i, flush=True)\n    time.sleep(0.1)\n"
HELLO_LINES = [f"Hello {i}" for i in range(30)]

#: Runs until stopped (bounded, so a crashed test run leaves nothing behind for long).
SLEEP_ENTRYPOINT = "sleep 120"


def python_entrypoint(code: str) -> str:
    """A shell entrypoint running ``code`` with the cluster's ``python``."""
    return f"python -c {shlex.quote(code)}"


def status_value(status: Any) -> str:
    """The plain string of a status from either client (Ray's or ours)."""
    return str(getattr(status, "value", status))


def wait_terminal(client: Any, submission_id: str, *, timeout: float = JOB_TIMEOUT) -> str:
    """Wait until the job is terminal (works with Ray's client and ours); return its status."""

    def terminal() -> str | None:
        status = status_value(client.get_job_status(submission_id))
        return status if status in TERMINAL else None

    return str(wait_for(terminal, what=f"job {submission_id} to finish", timeout=timeout))


def wait_status(client: Any, submission_id: str, wanted: str, *, timeout: float = JOB_TIMEOUT) -> None:
    def reached() -> bool:
        status = status_value(client.get_job_status(submission_id))
        if status in TERMINAL and status != wanted:
            raise AssertionError(f"job {submission_id} ended {status} while waiting for {wanted}")
        return status == wanted

    wait_for(reached, what=f"job {submission_id} to be {wanted}", timeout=timeout)


async def resolve(value: Any) -> Any:
    """Await ``value`` if it is awaitable: lets one scenario drive the sync and the async twin."""
    if inspect.isawaitable(value):
        return await value
    return value


async def await_status(
    client: Any, submission_id: str, wanted: Callable[[str], bool], *, what: str, timeout: float = JOB_TIMEOUT
) -> str:
    """Poll a (sync or async) client until ``wanted(status)``; return that status."""
    deadline = time.monotonic() + timeout
    while True:
        status = status_value(await resolve(client.get_job_status(submission_id)))
        if wanted(status):
            return status
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for job {submission_id} {what}")
        await asyncio.sleep(0.25)


async def await_terminal(client: Any, submission_id: str, *, timeout: float = JOB_TIMEOUT) -> str:
    return await await_status(client, submission_id, TERMINAL.__contains__, what="to finish", timeout=timeout)


def hello_lines(log: str) -> list[str]:
    """The ``Hello i`` lines of a log, in order (the log also has the supervisor's lines)."""
    return [line for line in log.splitlines() if line.startswith("Hello ")]


# ------------------------------------------------------------------------------------- connections
# Counted from /proc (Linux): the sockets among this process's file descriptors, by their peer's port.


def open_fds() -> dict[int, str]:
    """This process's file descriptors and what each points at."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except FileNotFoundError:  # the descriptor listdir itself used, closed by now
            continue
    return fds


def connections_to(port: int) -> int:
    """How many TCP sockets of this process have ``port`` as their peer's port (any state)."""
    inodes = {target[len("socket:[") : -1] for target in open_fds().values() if target.startswith("socket:[")}
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)  # the header
            for line in lines:
                fields = line.split()
                peer, inode = fields[2], fields[9]
                if inode in inodes and int(peer.rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def dashboard_port(address: str) -> int:
    port = urlsplit(address).port
    assert port is not None
    return port


def connection_pool(client: Any) -> Any:
    """The httpcore connection pool under one of our clients' transports (``.connections``, limits)."""
    layer: Any = client._server.http
    while not hasattr(layer, "_max_connections"):
        inner = next(
            (getattr(layer, name) for name in ("_transport", "_inner", "_pool") if hasattr(layer, name)), None
        )
        assert inner is not None, f"no connection pool found under {type(layer).__name__}"
        layer = inner
    return layer


# ------------------------------------------------------------------------------------- packages


def write_module_dir(root: Path, name: str, greeting: str) -> Path:
    """A py_modules directory: package ``name`` whose ``greet()`` returns ``greeting``."""
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"def greet():\n    return {greeting!r}\n", encoding="utf-8")
    return package


def write_minimal_wheel(directory: Path, name: str, version: str, init_source: str) -> Path:
    """A pure-Python wheel holding ``<name>/__init__.py`` plus its dist-info (METADATA, WHEEL, RECORD)."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": init_source.encode(),
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_lines = []
    for arcname, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{arcname},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for arcname, data in files.items():
            archive.writestr(arcname, data)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record_lines) + "\n")
    return wheel


# ------------------------------------------------------------------------------------- stub server


@dataclass
class StubServer:
    """A local HTTP server answering every GET with one fixed response; records request headers."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    requests: list[dict[str, str]] = field(default_factory=list)
    address: str = ""


VERSION_BODY = json.dumps(
    {"version": "4", "ray_version": "2.60.0", "ray_commit": "0" * 40, "session_name": "session_stub"}
).encode()


@contextmanager
def stub_server(
    status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
) -> Iterator[StubServer]:
    """Serve ``status``/``body`` on 127.0.0.1 (a free port) in a thread for the ``with`` block."""
    stub = StubServer(status=status, body=body, content_type=content_type)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stub.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            self.send_response(stub.status)
            self.send_header("Content-Type", stub.content_type)
            self.send_header("Content-Length", str(len(stub.body)))
            self.end_headers()
            self.wfile.write(stub.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.address = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ------------------------------------------------------------------------------------- twins


@asynccontextmanager
async def open_client(twin: str, address: str, **kwargs: Any) -> AsyncIterator[Any]:
    """Our sync (``with``) or async (``async with``) client, connected and closed the documented way."""
    from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient

    if twin == "sync":
        with JobSubmissionClient(address, **kwargs) as client:
            yield client
    else:
        async with AsyncJobSubmissionClient(address, **kwargs) as aclient:
            yield aclient


async def connect(twin: str, address: str, **kwargs: Any) -> None:
    """Construct-and-connect the given twin once (for tests that expect connecting to fail)."""
    async with open_client(twin, address, **kwargs):
        pass


async def iterate_tail(client: Any, submission_id: str) -> AsyncIterator[str]:
    """Follow a job's log: ``follow_job_logs`` on the sync twin, ``tail_job_logs`` on the async."""
    if inspect.iscoroutinefunction(client.get_version):
        async for chunk in client.tail_job_logs(submission_id):
            yield chunk
    else:
        for chunk in client.follow_job_logs(submission_id):
            yield chunk


async def collect_tail(client: Any, submission_id: str) -> list[str]:
    """Follow a job's log to its end; every chunk."""
    return [chunk async for chunk in iterate_tail(client, submission_id)]


async def collect_download(client: Any, submission_id: str) -> list[str]:
    """The pieces ``iter_job_logs`` yields, from either twin."""
    if inspect.iscoroutinefunction(client.get_version):
        return [piece async for piece in client.iter_job_logs(submission_id)]
    return list(client.iter_job_logs(submission_id))
