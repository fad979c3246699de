"""Helpers to provoke responses from the live head: deadline polling, WebSocket handshakes, a driver job."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import httpx
from waiting import wait_for

T = TypeVar("T")


# aiohttp's page for an exception that escaped a handler.
GENERIC_500_BODY = "500 Internal Server Error\n\nServer got itself in trouble"


def websocket_handshake_headers() -> dict[str, str]:
    """The headers of an RFC 6455 opening handshake (no extensions, no subprotocol)."""
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode("ascii"),
    }


def refused_websocket_handshake(
    client: httpx.Client, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Open a WebSocket handshake that the server is expected to refuse; return its HTTP answer, body read.

    (httpx-ws raises ``WebSocketUpgradeError`` with an unread, already closed response in that case,
    so the body — which the contract needs — is read here instead.)
    """
    with client.stream("GET", path, headers={**websocket_handshake_headers(), **(headers or {})}) as response:
        if response.status_code == 101:
            raise AssertionError(f"GET {path}: the server upgraded a handshake it was expected to refuse")
        response.read()
    return response


def last_line(text: str) -> str:
    """The last non-empty line of a traceback body: the useful ``ExceptionType: message``."""
    lines = [line for line in text.splitlines() if line.strip() and line.strip() != "."]
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class DriverJob:
    job_id: str
    pid: int


@contextlib.contextmanager
def running_driver(
    gcs_address: str,
    env: dict[str, str],
    list_jobs: Callable[[], list[dict[str, object]]],
    *,
    python: str = sys.executable,
    timeout: float = 60.0,
) -> Iterator[DriverJob]:
    """Run a script that calls ``ray.init()`` itself (a DRIVER job) and yield its hex job id.

    ``python`` must have the head's own Ray release (a driver of another release cannot connect).

    The script sleeps at most 120 s, so even a killed test run leaves no process behind for long;
    normally it is terminated as soon as the ``with`` block ends.
    """
    code = f"import ray, time; ray.init(address={gcs_address!r}); time.sleep(120)"
    child_env = {**os.environ, **env}
    child_env.pop("RAY_ADDRESS", None)
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [python, "-c", code],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:

            def listed() -> dict[str, object] | None:
                if process.poll() is not None:
                    output.seek(0)
                    log = output.read().decode(errors="replace")[-3000:]
                    raise AssertionError(f"the driver script exited with {process.returncode}:\n{log}")
                for job in list_jobs():
                    info = job.get("driver_info")
                    if (
                        job.get("type") == "DRIVER"
                        and isinstance(info, dict)
                        and info.get("pid") == str(process.pid)
                        and job.get("status") == "RUNNING"
                    ):
                        return job
                return None

            job = wait_for(
                listed, timeout=timeout, what="the driver script to be listed as a RUNNING DRIVER job"
            )
            yield DriverJob(job_id=str(job["job_id"]), pid=process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
