"""Against a live head: what the server does with the ids this client refuses, and that refusing them
leaves nothing behind; and an async client reused from a second event loop."""

from __future__ import annotations

import asyncio
import urllib.parse

import httpx
import pytest
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient

pytestmark = pytest.mark.live


def _unservable(kind: str, tag: str) -> str:
    if kind == "slash":
        return f"rjc-{tag}/slash"
    if kind == "NUL":
        return f"rjc-{tag}\x00nul"
    return f"rjc-{tag}-".ljust(241, "x")  # one byte more than a log file name can take


@pytest.mark.release
@pytest.mark.parametrize("kind", ["slash", "NUL", "241 bytes"])
def test_the_server_keeps_a_record_it_cannot_serve_for_ids_the_client_refuses(
    raw_http: httpx.Client, head_address: str, kind: str, unique_id: str
) -> None:
    """The defect: sent raw, such an id leaves a record that never runs — on Ray 2.60 the submit
    answers 500 yet a PENDING record stays; on 2.9 it answers 200 and the job fails or stays PENDING
    (and a '/' in the id makes the record undeletable). Through the client: a ValueError, no record."""
    ours = _unservable(kind, unique_id)
    with JobSubmissionClient(head_address) as client:
        with pytest.raises(ValueError, match="submission_id"):
            client.submit_job(entrypoint="echo never", submission_id=ours)
        assert ours not in {job.submission_id for job in client.list_jobs()}

    raw = _unservable(kind, f"{unique_id}-raw")
    answer = raw_http.post("/api/jobs/", json={"entrypoint": "echo raw", "submission_id": raw})
    assert answer.status_code in (200, 500)
    stored = [job for job in raw_http.get("/api/jobs/").json() if job["submission_id"] == raw]
    assert len(stored) == 1 and stored[0]["status"] in ("PENDING", "FAILED"), stored


@pytest.mark.release
@pytest.mark.parametrize("dots", [".", ".."])
def test_dot_ids_are_stored_but_cannot_be_looked_up(raw_http: httpx.Client, dots: str) -> None:
    """Why ``.`` and ``..`` are refused: the router normalises them away, so the record is unreachable.
    (Each can exist once per head: the test reuses it if an earlier run stored it.)"""
    raw_http.post("/api/jobs/", json={"entrypoint": "echo dots", "submission_id": dots})
    assert dots in {job["submission_id"] for job in raw_http.get("/api/jobs/").json()}
    lookup = raw_http.get(f"/api/jobs/{urllib.parse.quote(dots, safe='')}")
    assert lookup.status_code == 404 and lookup.text.startswith("404: Not Found")


def test_an_async_client_can_be_reused_from_a_second_event_loop(head_address: str) -> None:
    """``asyncio.run`` twice with one client: the second loop gets a fresh pool (httpx connections
    belong to the loop that opened them; before, this failed with 'Event loop is closed')."""
    client = AsyncJobSubmissionClient(head_address)

    async def submit_and_wait() -> str:
        job_id = await client.submit_job(entrypoint="echo twice")
        return str((await client.wait_until_finished(job_id, timeout=120)).status)

    assert asyncio.run(submit_and_wait()) == "SUCCEEDED"
    assert asyncio.run(submit_and_wait()) == "SUCCEEDED"
    asyncio.run(client.aclose())


def test_an_async_client_shared_with_a_running_loop_is_refused(head_address: str) -> None:
    import threading

    from ray_jobs_client.errors import EventLoopError

    client = AsyncJobSubmissionClient(head_address)
    first = asyncio.new_event_loop()
    ready = threading.Event()
    thread = threading.Thread(
        target=lambda: (asyncio.set_event_loop(first), ready.set(), first.run_forever())
    )
    thread.start()
    ready.wait()
    try:
        assert isinstance(asyncio.run_coroutine_threadsafe(client.list_jobs(), first).result(60), list)
        with pytest.raises(EventLoopError, match="one client per event loop"):
            asyncio.run(client.list_jobs())
    finally:
        first.call_soon_threadsafe(first.stop)
        thread.join()
        first.close()
