"""HTTPS and WSS: a TLS-terminating proxy, with a certificate from a throwaway CA, in front of the head.

``verify`` takes what Ray's client takes: a CA bundle file, a CA directory (OpenSSL hashed names),
``False``, or ``True`` (the default trust store, which does not know the throwaway CA).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from drivers import Connect
from harness import HeadJobs, follow_concurrently, line_printer, printed_lines
from proxy import FaultProxy
from ray_jobs_client.errors import APIConnectionError
from ray_jobs_client.testing import LocalRayHead
from waiting import wait_for

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_proxy(ray_head: LocalRayHead, ca: trustme.CA) -> Iterator[FaultProxy]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    proxy = FaultProxy(ray_head.address, ssl_context=context).start()
    try:
        yield proxy
    finally:
        proxy.stop()
    assert proxy.problems == []


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def ca_dir(ca: trustme.CA, tmp_path: Path) -> str:
    """A CA directory as OpenSSL looks certificates up in it: by subject hash (``<hash>.0``)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to name a CA directory's files (openssl rehash)")
    directory = tmp_path / "certs"
    directory.mkdir()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    subprocess.run([openssl, "rehash", str(directory)], check=True, capture_output=True, timeout=30)
    assert any(path.suffix == ".0" for path in directory.iterdir())
    return str(directory)


@pytest.mark.both_clients
def test_verify_with_ca_file_covers_https_and_wss(
    tls_proxy: FaultProxy, head: HeadJobs, ca_file: str
) -> None:
    """The sync and the async client construct, follow the log over wss (cut every 2 s, so also
    resumed over TLS) and read it over HTTPS: each line exactly once."""
    tls_proxy.ws_cut_after_seconds = 2.0
    job_id = head.submit(line_printer(20, 0.2))

    followed = follow_concurrently(tls_proxy.address, job_id, verify=ca_file)

    for kind in ("sync", "async"):
        assert followed[kind].text == head.logs(job_id), kind
        assert printed_lines(followed[kind].text) == [f"line {i}" for i in range(20)], kind
        assert followed[kind].logs == head.logs(job_id), kind
    assert tls_proxy.stats["websockets"] >= 4  # streamed over wss (and resumed), not polled
    assert tls_proxy.stats["ws_cuts"] >= 2


@pytest.mark.both_clients
def test_verify_with_ca_directory(tls_proxy: FaultProxy, connect: Connect, ca_dir: str) -> None:
    client = connect(tls_proxy.address, verify=ca_dir)

    assert isinstance(client.list_jobs(), list)


@pytest.mark.both_clients
def test_verify_false_skips_certificate_checks(tls_proxy: FaultProxy, connect: Connect) -> None:
    client = connect(tls_proxy.address, verify=False)

    assert isinstance(client.list_jobs(), list)


@pytest.mark.both_clients
def test_default_verify_rejects_unknown_ca(tls_proxy: FaultProxy, connect: Connect) -> None:
    """The default trust store does not know the CA: a ConnectionError that names the problem."""
    with pytest.raises(APIConnectionError) as caught:
        connect(tls_proxy.address, retries=0)

    assert isinstance(caught.value, ConnectionError)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    wait_for(
        lambda: tls_proxy.stats["tls_failures"] >= 1,
        timeout=15,
        what="the proxy to count a TLS failure",
        interval=0.02,
    )


@pytest.mark.both_clients
def test_certificate_failure_is_not_retried(tls_proxy: FaultProxy, connect: Connect) -> None:
    """A certificate the client does not trust will not become trusted: retrying only delays the
    error (by up to ~8 s with the default backoff)."""
    with pytest.raises(APIConnectionError):
        connect(tls_proxy.address)

    wait_for(
        lambda: tls_proxy.stats["tls_failures"] >= 1,
        timeout=15,
        what="the proxy to count a TLS failure",
        interval=0.02,
    )
    assert tls_proxy.stats["tls_failures"] == 1


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_rays_own_client_with_the_same_settings(tls_proxy: FaultProxy, ca_file: str, ca_dir: str) -> None:
    """For comparison: Ray's client accepts the same ``verify`` values, and its default fails with a
    plain ConnectionError too (which does not say why)."""
    from ray.job_submission import JobSubmissionClient as RayClient

    assert isinstance(RayClient(tls_proxy.address, verify=ca_file).list_jobs(), list)
    assert isinstance(RayClient(tls_proxy.address, verify=ca_dir).list_jobs(), list)
    assert isinstance(RayClient(tls_proxy.address, verify=False).list_jobs(), list)
    with pytest.raises(ConnectionError):
        RayClient(tls_proxy.address)
