"""Deadlines and what is never retried, decided in the retry layer (``transport.py``, ``_flows``).

The fake job server (``fake_job_server.py``) plays what a real one cannot do on demand: it "never
answers" (:class:`Silent`: each attempt waits out its read timeout, as the network would, and then
times out), and it fails connections with the exact exceptions TLS and DNS failures raise
(:class:`Refuse`). The same situations against real sockets are in
``tests/faults/test_permanent_failures.py`` and ``test_faults.py``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable

import httpx
import pytest
from fake_job_server import ADDRESS, FakeJobServer, Refuse, Silent
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.errors import (
    APIConnectionError,
    APITimeoutError,
    CertificateError,
    HostNotFoundError,
    TLSError,
)
from ray_jobs_client.retry import Deadline, RetryPolicy

QUICK = RetryPolicy(max_retries=5, backoff_initial=0.01, backoff_max=0.01)
T = 0.3


def silent() -> FakeJobServer:
    """A server that answers the version check and nothing else."""
    server = FakeJobServer()
    server.fail(Silent(), when=lambda request: not request.url.path.endswith("/api/version"), times=None)
    return server


def attempts(server: FakeJobServer) -> list[dict[str, float | None]]:
    """The timeouts each attempt after the version check was given."""
    return [received.timeout for received in server.after_connect()]


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.list_jobs(), id="list_jobs (retried by the transport)"),
        pytest.param(lambda c: c.get_job_status("raysubmit_x"), id="get_job_status"),
        pytest.param(lambda c: c.submit_job(entrypoint="echo hi"), id="submit_job (retried by the client)"),
    ],
)
def test_a_server_that_never_answers_costs_at_most_twice_the_timeout(
    call: Callable[[JobSubmissionClient], object],
) -> None:
    server = silent()
    with (
        JobSubmissionClient(ADDRESS, timeout=T, retries=QUICK, http_client=server.http_client()) as client,
        pytest.raises(APITimeoutError),
    ):
        call(client)
    # Without a deadline every one of the 6 attempts would wait the whole timeout (6 T).
    tried = attempts(server)
    waited = sum(attempt["read"] for attempt in tried)
    assert 2 <= len(tried) < QUICK.max_retries + 1, tried
    assert tried[0]["read"] == T
    assert waited <= QUICK.deadline_factor * T + 1e-6, tried


def test_the_async_client_keeps_the_same_deadline() -> None:
    server = silent()

    async def scenario() -> None:
        async with AsyncJobSubmissionClient(
            ADDRESS, timeout=T, retries=QUICK, http_client=server.async_http_client()
        ) as client:
            with pytest.raises(APITimeoutError):
                await client.list_jobs()

    asyncio.run(scenario())
    tried = attempts(server)
    assert 2 <= len(tried) < QUICK.max_retries + 1
    assert sum(a["read"] for a in tried) <= QUICK.deadline_factor * T + 1e-6


# --------------------------------------------------------------------------- permanent failures


def _failing_connect(cause: BaseException) -> FakeJobServer:
    """A server every connection to which fails with ``cause``."""
    server = FakeJobServer()
    server.fail(Refuse(cause), when=lambda request: True, times=None)
    return server


WRONG_VERSION = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:992)")
CERT_REQUIRED = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")
UNTRUSTED = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")
NO_SUCH_HOST = socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize(
    ("cause", "kind", "hint"),
    [
        (WRONG_VERSION, TLSError, "is the address http:// rather than https://"),
        (CERT_REQUIRED, TLSError, "client certificate"),
        (UNTRUSTED, CertificateError, "verify="),
        (NO_SUCH_HOST, HostNotFoundError, "does not resolve"),
    ],
    ids=["https to plain HTTP", "client certificate refused", "untrusted certificate", "unknown host"],
)
def test_permanent_connection_failures_fail_at_once(
    cause: BaseException, kind: type[APIConnectionError], hint: str
) -> None:
    server = _failing_connect(cause)
    with pytest.raises(kind, match=hint) as caught:
        JobSubmissionClient("https://jobs.example:8265", retries=QUICK, http_client=server.http_client())
    assert len(server.requests) == 1
    assert isinstance(caught.value, ConnectionError)


@pytest.mark.parametrize(
    "cause",
    [
        socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
    ids=["resolver down for a while", "TLS connection cut", "refused"],
)
def test_transient_connection_failures_are_retried(cause: BaseException) -> None:
    server = _failing_connect(cause)
    with pytest.raises(APIConnectionError) as caught:
        JobSubmissionClient("https://jobs.example:8265", retries=QUICK, http_client=server.http_client())
    assert len(server.requests) == QUICK.max_retries + 1
    assert not isinstance(caught.value, TLSError | HostNotFoundError)


# --------------------------------------------------------------------------- the rule itself


def test_the_deadline_is_twice_the_longest_timeout() -> None:
    before = time.monotonic()
    deadline = RetryPolicy().deadline(httpx.Timeout(60.0, connect=10.0).as_dict())
    assert deadline.at is not None
    assert before + 120.0 <= deadline.at <= time.monotonic() + 120.0


def test_attempt_timeouts_are_cut_to_what_remains() -> None:
    deadline = Deadline.after(5.0)
    capped = deadline.cap({"connect": 10.0, "read": 60.0, "write": 1.0, "pool": None})
    assert capped["write"] == 1.0
    assert 4.0 < capped["connect"] == capped["read"] <= 5.0
    assert capped["pool"] is not None and capped["pool"] <= 5.0
    assert not deadline.allows(6.0) and deadline.allows(0.5)


@pytest.mark.parametrize("bad", [{"max_retries": -1}, {"deadline_factor": 0.5}])
def test_a_retry_policy_that_makes_no_sense_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]
