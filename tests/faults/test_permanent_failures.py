"""Permanent failures against real sockets: ``https://`` to the live head's plain-HTTP port, a host
name that does not exist. Neither is retried.

The retry decisions themselves are unit-tested in ``tests/unit/test_deadlines.py``; a silent server's
deadline is in ``test_faults.py``. Here the network is real, and what is counted is connections.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.errors import HostNotFoundError, TLSError
from ray_jobs_client.retry import RetryPolicy
from ray_jobs_client.testing import LocalRayHead

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


def test_https_to_the_heads_plain_http_port_fails_at_once_with_a_hint(ray_head: LocalRayHead) -> None:
    counted = _CountingFront(ray_head.address)
    try:
        for kind in (JobSubmissionClient, AsyncJobSubmissionClient):
            counted.connections = 0
            with pytest.raises(TLSError, match=r"http:// rather than https://"):
                if kind is JobSubmissionClient:
                    kind(counted.address.replace("http://", "https://"), retries=RetryPolicy(max_retries=5))
                else:
                    asyncio.run(_aconnect(counted.address.replace("http://", "https://")))
            assert counted.connections == 1, kind
    finally:
        counted.close()


async def _aconnect(address: str) -> None:
    async with AsyncJobSubmissionClient(address, retries=RetryPolicy(max_retries=5)):
        pass


def test_a_host_name_that_does_not_exist_fails_at_once() -> None:
    name = "rjc-no-such-host.invalid"  # .invalid never resolves (RFC 2606)
    try:
        socket.getaddrinfo(name, 8265)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:
            pytest.skip(f"this machine's resolver is unreachable ({exc}): cannot tell 'no such host'")
    with pytest.raises(HostNotFoundError, match="does not resolve"):
        JobSubmissionClient(f"http://{name}:8265")


class _CountingFront:
    """A TCP relay to ``upstream`` that counts the connections made to it."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        self._upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.address = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client, socket.create_connection(self._upstream, timeout=10) as server:
            client.settimeout(10)
            try:
                data = client.recv(65536)  # a TLS ClientHello, which the head answers with a 400
                server.sendall(data)
                client.sendall(server.recv(65536))
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
