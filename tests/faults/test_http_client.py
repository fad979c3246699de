"""``http_client=``: the caller's own httpx client, here for mutual TLS, against a TLS front that
requires a client certificate (issued by a throwaway CA) in front of the live head.

Auth (the head's token), retries, timeouts and the log WebSocket all go through the caller's client.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from harness import HeadJobs, line_printer, printed_lines
from proxy import FaultProxy, Reset
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.errors import TLSError
from ray_jobs_client.retry import RetryPolicy
from ray_jobs_client.testing import LocalRayHead
from waiting import wait_for

pytestmark = [pytest.mark.live, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def mtls_front(ray_head: LocalRayHead, ca: trustme.CA) -> Iterator[FaultProxy]:
    """HTTPS in front of the head that refuses any client without a certificate from ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    proxy = FaultProxy(ray_head.address, ssl_context=context).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """Trusts ``ca`` and presents a client certificate it issued."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    ca.issue_cert("jobs-client@example.com").configure_cert(context)
    return context


def test_mutual_tls_through_the_callers_sync_client(
    mtls_front: FaultProxy, head: HeadJobs, client_context: ssl.SSLContext, tmp_path: Path
) -> None:
    """Submit with a local working_dir (package upload), follow over wss with a cut, read the log:
    every request goes through the caller's client (its event hook sees each one)."""
    (tmp_path / "job.py").write_text("for i in range(5):\n    print(f'line {i}', flush=True)\n")
    seen: list[str] = []
    http = httpx.Client(verify=client_context, event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    mtls_front.ws_cut_after_frames = 2
    with JobSubmissionClient(mtls_front.address, http_client=http) as client:
        job_id = client.submit_job(entrypoint="python job.py", runtime_env={"working_dir": str(tmp_path)})
        followed = "".join(client.follow_job_logs(job_id))
        assert client.get_job_status(job_id) == "SUCCEEDED"
        assert printed_lines(followed) == [f"line {i}" for i in range(5)]
        assert followed == client.get_job_logs(job_id) == head.logs(job_id)
    assert not http.is_closed  # the caller's client stays the caller's
    http.close()
    assert any(path.startswith("/api/packages/") for path in seen)
    assert any(path.endswith("/logs/tail") for path in seen)
    assert mtls_front.stats["websockets"] >= 1


def test_mutual_tls_through_the_callers_async_client(
    mtls_front: FaultProxy, head: HeadJobs, client_context: ssl.SSLContext
) -> None:
    job_id = head.submit(line_printer(5, 0.1))

    async def follow() -> tuple[str, str]:
        async with (
            httpx.AsyncClient(verify=client_context) as http,
            AsyncJobSubmissionClient(mtls_front.address, http_client=http) as client,
        ):
            chunks = [chunk async for chunk in client.tail_job_logs(job_id)]
            return "".join(chunks), await client.get_job_logs(job_id)

    followed, logs = asyncio.run(follow())
    assert printed_lines(followed) == [f"line {i}" for i in range(5)]
    assert followed == logs == head.logs(job_id)


def test_retries_go_through_the_callers_client(
    mtls_front: FaultProxy, client_context: ssl.SSLContext
) -> None:
    with httpx.Client(verify=client_context) as http:
        client = JobSubmissionClient(mtls_front.address, http_client=http)
        mtls_front.add_rule(Reset(), times=2, when=lambda r: r.path == "/api/jobs/")
        assert isinstance(client.list_jobs(), list)
        client.close()
    assert mtls_front.stats["reset"] == 2


def test_without_a_client_certificate_the_handshake_fails_at_once(
    mtls_front: FaultProxy, ca: trustme.CA
) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)  # trusts the server, but has no certificate of its own
    with httpx.Client(verify=context) as http, pytest.raises(TLSError, match="client certificate"):
        JobSubmissionClient(mtls_front.address, http_client=http, retries=RetryPolicy(max_retries=5))
    wait_for(lambda: mtls_front.stats["tls_failures"] >= 1, timeout=15, what="a refused handshake")
    assert mtls_front.stats["tls_failures"] == 1  # not retried
