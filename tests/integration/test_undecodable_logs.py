"""A job whose log holds bytes that are not UTF-8, against the session's live head.

What the server does (the first test, on raw HTTP): it reads a job's log as strict UTF-8 text, so
``GET …/logs`` answers 500 (a ``UnicodeDecodeError`` traceback) and the log WebSocket sends nothing
of the 8 KiB block that holds the byte, nor anything after it: it closes with 1000, at once for a
finished job, and at that block for a running one (and again on every reconnect). Ray's own client
and ``ray job`` therefore fail (``get_job_logs``) or show nothing from there on (``tail_job_logs``).
The dashboard's log API (``/api/v0/logs/file``) sends the file's bytes as they are.

What the clients do: every log method shows the whole log, the bad bytes as U+FFFD, reading the log
file through that API when the job server cannot send it — with the same text the job server sends
for a readable log (line ends as ``\\n``), and each character once when a stream had begun.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from head_release import head_is_at_least
from httpx_ws import WebSocketDisconnect, connect_ws
from integration_support import (
    await_terminal,
    collect_download,
    collect_tail,
    iterate_tail,
    open_client,
    resolve,
    wait_terminal,
)
from ray_jobs_client import JobStatus

pytestmark = [pytest.mark.live, pytest.mark.anyio]

#: A good line, a bad byte, then lines with non-ASCII text and a CR LF line end; exits 0.
UNDECODABLE = "python -c " + shlex.quote(
    "import sys; sys.stdout.buffer.write("
    "b'ok\\n\\xff bad\\n' + '\\u00e9 \\u00fcn\\u00ef\\r\\n'.encode() + b'last\\n')"
)
#: How the log ends, as every log method shows it (after the supervisor's own lines, on Ray 2.52+).
UNDECODABLE_TEXT = "ok\n\ufffd bad\né ünï\nlast\n"
#: More than one 64 KiB block of the log API before Ray 2.45, the bad byte in the last 8 KiB.
LONG_LINES = 3000
LONG = "python -c " + shlex.quote(
    "import sys\n"
    f"for i in range({LONG_LINES}): print('line %05d' % i + ' 1 0' * 5)\n"
    "sys.stdout.flush(); sys.stdout.buffer.write(b'\\xfe\\xff tail\\n')"
)
LONG_TEXT = "".join(f"line {i:05d}" + " 1 0" * 5 + "\n" for i in range(LONG_LINES)) + "\ufffd\ufffd tail\n"


def _gated_script(before: Path, after: Path) -> str:
    """Prints ``good 0..2`` (CR LF line ends); once ``before`` exists writes a byte that is not UTF-8
    and ``after`` lines; exits 0 once ``after`` exists (1 if a flag never comes: a broken test leaves
    no job behind)."""
    return "\n".join(
        [
            "import os, sys, time",
            "def wait(path):",
            "    deadline = time.monotonic() + 120",
            "    while not os.path.exists(path):",
            "        if time.monotonic() > deadline:",
            "            sys.exit(1)",
            "        time.sleep(0.1)",
            "for i in range(3):",
            "    print('good', i, end='\\r\\n', flush=True)",
            f"wait({str(before)!r})",
            "sys.stdout.buffer.write(b'\\xff bad\\n')",
            "sys.stdout.flush()",
            "for i in range(3):",
            "    print('after', i, flush=True)",
            f"wait({str(after)!r})",
        ]
    )


class Warnings(logging.Handler):
    """Collects the ``ray_jobs_client`` logger's warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings() -> Iterator[Warnings]:
    handler = Warnings()
    logger = logging.getLogger("ray_jobs_client")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_what_the_server_sends_for_such_a_log(raw_http: httpx.Client, unique_id: str) -> None:
    """The premise, on raw HTTP: the job routes cannot send the log, the log API can."""
    submitted = raw_http.post("/api/jobs/", json={"entrypoint": UNDECODABLE, "submission_id": unique_id})
    assert submitted.status_code == 200, submitted.text

    class Raw:
        def get_job_status(self, job_id: str) -> str:
            return str(raw_http.get(f"/api/jobs/{job_id}").json()["status"])

    assert wait_terminal(Raw(), unique_id) == "SUCCEEDED"

    logs = raw_http.get(f"/api/jobs/{unique_id}/logs")
    assert logs.status_code == 500
    assert "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff" in logs.text

    frames = []
    tail = f"/api/jobs/{unique_id}/logs/tail"
    with (
        connect_ws(tail, raw_http, keepalive_ping_interval_seconds=None) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        while True:
            frames.append(ws.receive_text(timeout=60))
    assert closed.value.code == 1000
    assert frames == []  # nothing of the 8 KiB block that holds the byte: here, the whole log

    node = raw_http.get(f"/api/jobs/{unique_id}").json()["driver_node_id"]
    file = raw_http.get(
        "/api/v0/logs/file", params={"node_id": node, "filename": f"job-driver-{unique_id}.log", "lines": -1}
    )
    assert file.status_code == 200
    assert file.content.endswith(b"ok\n\xff bad\n\xc3\xa9 \xc3\xbcn\xc3\xaf\r\nlast\n")
    # Before Ray 2.45 the log API puts a status byte before each 64 KiB block.
    assert file.content.startswith(b"1") or head_is_at_least("2.45.0")


def test_rays_own_client_cannot_read_it(head_address: str, unique_id: str) -> None:
    """What Ray's ``JobSubmissionClient`` does with such a log (``ray job logs`` exits 1 with the same
    traceback; ``ray job submit`` and ``ray job logs -f`` print none of its lines)."""
    from ray.job_submission import JobSubmissionClient as RayClient

    ray = RayClient(head_address)
    ray.submit_job(entrypoint=UNDECODABLE, submission_id=unique_id)
    assert wait_terminal(ray, unique_id) == "SUCCEEDED"
    with pytest.raises(RuntimeError, match="UnicodeDecodeError"):
        ray.get_job_logs(unique_id)

    async def tail() -> str:
        return "".join([chunk async for chunk in ray.tail_job_logs(unique_id)])

    assert asyncio.run(tail()) == ""


async def test_reading_the_log_shows_it_with_the_bad_bytes_replaced(
    twin: str, head_address: str, unique_id: str, warnings: Warnings
) -> None:
    """``get_job_logs`` and ``iter_job_logs``. Before: ``LogDecodeError``."""
    async with open_client(twin, head_address) as client:
        await resolve(client.submit_job(entrypoint=UNDECODABLE, submission_id=unique_id))
        assert await await_terminal(client, unique_id) == "SUCCEEDED"

        text = await resolve(client.get_job_logs(unique_id))
        assert text.endswith(UNDECODABLE_TEXT), text
        assert "".join(await collect_download(client, unique_id)) == text
    assert warnings.messages == []


async def test_a_long_log_is_whole(twin: str, head_address: str, unique_id: str) -> None:
    """Over 64 KiB (several blocks of the log API before Ray 2.45), the bad bytes in its last 8 KiB:
    every line once, in order, and the stream's part joined to the file's without a seam."""
    async with open_client(twin, head_address) as client:
        await resolve(client.submit_job(entrypoint=LONG, submission_id=unique_id))
        assert await await_terminal(client, unique_id) == "SUCCEEDED"
        assert (await resolve(client.get_job_logs(unique_id))).endswith(LONG_TEXT)
        followed = "".join(await collect_tail(client, unique_id))
        assert followed.endswith(LONG_TEXT)
        assert followed.count("line 00000") == 1


async def test_following_a_finished_job_shows_the_whole_log(
    twin: str, head_address: str, unique_id: str, warnings: Warnings
) -> None:
    """``ray job logs -f`` on such a job prints none of its lines. Before: the same, and a warning."""
    async with open_client(twin, head_address) as client:
        await resolve(client.submit_job(entrypoint=UNDECODABLE, submission_id=unique_id))
        assert await await_terminal(client, unique_id) == "SUCCEEDED"
        followed = "".join(await collect_tail(client, unique_id))
    assert followed.endswith(UNDECODABLE_TEXT), followed
    assert warnings.messages == []


async def test_following_a_running_job_goes_on_past_the_bad_byte(
    twin: str, head_address: str, unique_id: str, warnings: Warnings, tmp_path: Path
) -> None:
    """The stream stops at the bad byte while the job runs on: the follower reads the log file from
    there on, until the job ends — every line once, the CR LF line ends as the stream sent them.
    Before: the lines after the byte were never shown."""
    before, after = tmp_path / "write-the-byte", tmp_path / "exit"
    async with open_client(twin, head_address) as client:
        entrypoint = "python -c " + shlex.quote(_gated_script(before, after))
        await resolve(client.submit_job(entrypoint=entrypoint, submission_id=unique_id))
        received = ""
        async for chunk in iterate_tail(client, unique_id):
            received += chunk
            if "good 2\n" in received:
                before.touch()
            if "after 2\n" in received:
                after.touch()  # the job may end only once the follower has shown every line
        assert await resolve(client.get_job_status(unique_id)) == JobStatus.SUCCEEDED

    lines = [line for line in received.splitlines() if line.startswith(("good", "after", "\ufffd"))]
    assert lines == ["good 0", "good 1", "good 2", "\ufffd bad", "after 0", "after 1", "after 2"], received
    assert warnings.messages == []
