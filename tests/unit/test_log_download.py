"""``iter_job_logs``: a ``GET …/logs`` download cut short is resumed, and the pieces add up to the
log exactly once (``LogCursor``, ``LogDownload``, the clients' ``_download_logs``).

The server sends the whole log again on every attempt; the client skips what it delivered. Cuts are
scripted on the fake server at chosen bytes of the body, including inside an escape sequence and a
surrogate pair. The same against a live head behind a proxy: ``tests/faults/test_faults.py``.
"""

from __future__ import annotations

import json

import pytest
from fake_job_server import Connect, CutBody, FakeJobServer, Respond
from ray_jobs_client.errors import JobNotFoundError
from ray_jobs_client.outage import OutagePolicy
from ray_jobs_client.retry import RetryPolicy

pytestmark = pytest.mark.timeout(60)

JOB = "raysubmit_logged"
#: Escaped by the server's JSON (``\\u001b``, ``\\u00e9``, a surrogate pair for the emoji, ``\\"``).
LOG = "".join(f'line {i}: caf\u00e9 \x1b[1m"bold"\x1b[0m \U0001f600 \\ done\n' for i in range(3000))
BODY = json.dumps({"logs": LOG}).encode()
LOGS = "GET /api/jobs/{id}/logs"


def retries(count: int) -> RetryPolicy:
    return RetryPolicy(max_retries=count, backoff_initial=0.001, backoff_max=0.001)


@pytest.fixture(autouse=True)
def finished_job(server: FakeJobServer) -> None:
    server.add_job(JOB, status="SUCCEEDED", log=LOG)


def test_a_download_arrives_in_pieces(server: FakeJobServer, connect: Connect) -> None:
    pieces = connect().download(JOB)

    assert "".join(pieces) == LOG
    assert len(pieces) > 10  # streamed as it arrives, not read whole
    assert len(server.sent(LOGS)) == 1


def test_a_download_cut_twice_is_resumed_without_repeats(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=retries(3))
    server.fail(CutBody(keep=0.5), when=LOGS, times=2)

    pieces = client.download(JOB)

    assert "".join(pieces) == LOG
    assert len(server.sent(LOGS)) == 3


def _at(marker: bytes, offset: int = 0) -> int:
    return BODY.index(marker, len(BODY) // 3) + offset


CUTS = {
    "in the opening": 5,
    "right after the opening": len(b'{"logs": "'),
    "inside \\u001b": _at(b"\\u001b", 3),
    "between the halves of a surrogate pair": _at(b"\\ud83d", 6),
    "inside the second half": _at(b"\\ude00", 2),
    "after a lone backslash": _at(b"\\\\", 1),
    "inside an escaped quote": _at(b'\\"', 1),
    "before the closing quote": len(BODY) - 2,
    "before the closing brace": len(BODY) - 1,
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_a_cut_anywhere_in_the_body_loses_and_repeats_nothing(
    server: FakeJobServer, connect: Connect, cut: str
) -> None:
    client = connect(retries=retries(1))
    server.fail(CutBody(keep_bytes=CUTS[cut]), when=LOGS)

    assert "".join(client.download(JOB)) == LOG
    assert len(server.sent(LOGS)) == 2


def test_a_download_that_keeps_being_cut_at_the_same_place_fails_clearly(
    server: FakeJobServer, connect: Connect
) -> None:
    """The first cut came after new text (retry budget restarts); the next two deliver nothing new:
    with ``retries=2`` the third cut is the end, naming the call."""
    client = connect(retries=retries(2))
    server.fail(CutBody(keep=0.5), when=LOGS, times=None)

    with pytest.raises(ConnectionError, match=f"GET /api/jobs/{JOB}/logs"):
        client.download(JOB)
    assert len(server.sent(LOGS)) == 3


def test_a_download_that_progresses_is_resumed_past_the_retry_budget(
    server: FakeJobServer, connect: Connect
) -> None:
    """Three cuts, each later than the last, with ``retries=1``: every attempt delivered new text,
    so each cut counts as the first failure."""
    client = connect(retries=retries(1))
    for keep in (0.3, 0.6, 0.9):
        server.fail(CutBody(keep=keep), when=LOGS)

    assert "".join(client.download(JOB)) == LOG
    assert len(server.sent(LOGS)) == 4


def test_a_server_away_before_the_body_starts_is_waited_for(server: FakeJobServer, connect: Connect) -> None:
    """503s before any byte of the log (the transport's retries off): outage patience, not the
    retry budget, decides."""
    client = connect(
        retries=0, outage_patience=OutagePolicy(patience=30, backoff_initial=0.001, backoff_max=0.001)
    )
    server.fail(Respond(503, "Service Unavailable"), when=LOGS, times=4)

    assert "".join(client.download(JOB)) == LOG
    assert len(server.sent(LOGS)) == 5


def test_the_log_of_an_unknown_job_is_not_found_at_once(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=retries(3))

    with pytest.raises(JobNotFoundError, match="Job raysubmit_nope does not exist"):
        client.download("raysubmit_nope")
    assert len(server.sent(LOGS)) == 1


def test_get_job_logs_reads_the_same_text(connect: Connect) -> None:
    assert connect().get_job_logs(JOB) == LOG
