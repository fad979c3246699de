"""A job whose log holds bytes that are not UTF-8, against the session's live head.

The server reads a job's log as UTF-8 text, so such a log breaks both ways of reading it:
``GET …/logs`` answers 500 (a ``UnicodeDecodeError`` traceback) and the log WebSocket closes with
1000 at the block holding the byte, even while the job still runs, and again at once on every
reconnect. Reading the log is then an error (:class:`LogDecodeError`, naming the cause); following
it is not: the follower delivers what the stream sent, warns once and ends when the job does.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration_support import JOB_TIMEOUT, collect_download, iterate_tail, open_client, resolve
from ray_jobs_client import JobStatus, JobSubmissionClient, LogDecodeError
from ray_jobs_client.errors import ServerError

pytestmark = [pytest.mark.live, pytest.mark.anyio]

#: Prints a good line, then bytes that are not UTF-8, then exits 0 (the issue's reproduction).
UNDECODABLE = "python -c " + shlex.quote("import sys; sys.stdout.buffer.write(b'ok\\n\\xff bad\\n')")


def _gated_script(before: Path, after: Path) -> str:
    """Prints ``good 0..2``; once ``before`` exists writes a byte that is not UTF-8 and ``after``
    lines; exits 0 once ``after`` exists (1 if a flag never comes: a broken test leaves no job)."""
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
            "    print('good', i, flush=True)",
            f"wait({str(before)!r})",
            "sys.stdout.buffer.write(b'\\xff bad\\n')",
            "sys.stdout.flush()",
            "for i in range(3):",
            "    print('after', i, flush=True)",
            f"wait({str(after)!r})",
        ]
    )


class Warnings(logging.Handler):
    """Collects the ``ray_jobs_client`` logger's warnings; runs ``on_warning`` at each."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.on_warning = lambda: None

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.on_warning()


@pytest.fixture
def warnings() -> Iterator[Warnings]:
    handler = Warnings()
    logger = logging.getLogger("ray_jobs_client")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _about_the_log(messages: list[str], job_id: str) -> list[str]:
    return [m for m in messages if "could not send the full log" in m and job_id in m]


@pytest.fixture(scope="module")
def undecodable_job(head_address: str) -> str:
    """One finished job whose log is not UTF-8, only read by the tests that use it."""
    with JobSubmissionClient(head_address) as client:
        job_id = client.submit_job(entrypoint=UNDECODABLE)
        assert (
            client.wait_until_finished(job_id, timeout=JOB_TIMEOUT, poll=0.25).status == JobStatus.SUCCEEDED
        )
    return job_id


@pytest.mark.release
async def test_reading_the_log_raises_log_decode_error(
    twin: str, head_address: str, undecodable_job: str
) -> None:
    unique_id = undecodable_job
    async with open_client(twin, head_address) as client:
        with pytest.raises(LogDecodeError) as caught:
            await resolve(client.get_job_logs(unique_id))
        error = caught.value
        assert isinstance(error, ServerError) and isinstance(error, RuntimeError)
        assert error.status_code == 500
        assert error.job_id == unique_id
        assert "UnicodeDecodeError" in error.server_message
        assert f"the log of job {unique_id} holds bytes that are not UTF-8" in str(error)
        assert "\n" not in str(error)

        with pytest.raises(LogDecodeError, match="not UTF-8"):  # the streamed download says the same
            await collect_download(client, unique_id)


@pytest.mark.both_clients
@pytest.mark.release
async def test_following_a_finished_job_with_an_undecodable_log_warns_once(
    twin: str, head_address: str, undecodable_job: str, warnings: Warnings
) -> None:
    """``ray job logs -f`` on such a job: no error, one warning naming the cause."""
    unique_id = undecodable_job
    async with open_client(twin, head_address) as client:
        async for _ in iterate_tail(client, unique_id):
            pass

    [warning] = _about_the_log(warnings.messages, unique_id)
    assert "not UTF-8" in warning and "UnicodeDecodeError" in warning


@pytest.mark.both_clients
@pytest.mark.release
async def test_following_a_running_job_survives_an_undecodable_byte(
    twin: str, head_address: str, unique_id: str, warnings: Warnings, tmp_path: Path
) -> None:
    """The stream stops at the byte while the job runs on: the follower delivers the lines sent
    before it, warns once, and returns only when the job has ended (its real status)."""
    before, after = tmp_path / "write-the-byte", tmp_path / "exit"
    # The job can only end after the follower has warned, so returning proves it waited for the end.
    warnings.on_warning = after.touch
    async with open_client(twin, head_address) as client:
        entrypoint = "python -c " + shlex.quote(_gated_script(before, after))
        await resolve(client.submit_job(entrypoint=entrypoint, submission_id=unique_id))
        received = ""
        async for chunk in iterate_tail(client, unique_id):
            received += chunk
            if "good 2\n" in received:
                before.touch()
        assert await resolve(client.get_job_status(unique_id)) == JobStatus.SUCCEEDED

    good = [line for line in received.splitlines() if line.startswith("good ")]
    assert good == ["good 0", "good 1", "good 2"]
    assert len(_about_the_log(warnings.messages, unique_id)) == 1
