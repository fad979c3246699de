"""Address resolution: Ray's rules for turning ``address`` (and the environment) into the job server URL."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from ray_jobs_client import AsyncJobSubmissionClient
from ray_jobs_client.address import DEFAULT_DASHBOARD_ADDRESS, ClusterInfo, resolve_cluster_info

ADDRESS_VARIABLES = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS", "RAY_TMPDIR")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No address variables; Ray's temp root is an empty directory (so no local cluster is found)."""
    for name in ADDRESS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-ray-tmp"
    empty.mkdir()
    monkeypatch.setenv("RAY_TMPDIR", str(empty))
    return empty


def write_dashboard_log(ray_tmpdir: Path, line: str) -> None:
    logs = ray_tmpdir / "ray" / "session_latest" / "logs"
    logs.mkdir(parents=True)
    (logs / "dashboard.log").write_text(
        "2026-01-01 00:00:00,000\tINFO dashboard.py:1 -- Starting dashboard.\n" + line + "\n",
        encoding="utf-8",
    )


# ------------------------------------------------------------------------------------ environment


@pytest.mark.usefixtures("clean_environment")
def test_api_server_address_beats_ray_address_beats_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_cluster_info("http://argument:1").address == "http://argument:1"

    monkeypatch.setenv("RAY_ADDRESS", "http://ray-address:2")
    assert resolve_cluster_info("http://argument:1").address == "http://ray-address:2"

    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://api-server:3")
    assert resolve_cluster_info("http://argument:1").address == "http://api-server:3"
    assert resolve_cluster_info(None).address == "http://api-server:3"


@pytest.mark.usefixtures("clean_environment")
def test_empty_environment_values_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "")
    monkeypatch.setenv("RAY_ADDRESS", "http://ray-address:2")
    assert resolve_cluster_info("http://argument:1").address == "http://ray-address:2"

    monkeypatch.setenv("RAY_ADDRESS", "")
    assert resolve_cluster_info("http://argument:1").address == "http://argument:1"


def test_environ_parameter_replaces_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://from-process:1")
    environ = {"RAY_ADDRESS": "http://from-mapping:2"}
    assert resolve_cluster_info("http://argument:3", environ=environ).address == "http://from-mapping:2"
    assert resolve_cluster_info("http://argument:3", environ={}).address == "http://argument:3"
    both = {"RAY_API_SERVER_ADDRESS": "http://api:4", "RAY_ADDRESS": "http://ray:5"}
    assert resolve_cluster_info(None, environ=both).address == "http://api:4"


# ------------------------------------------------------------------------------------ URLs


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8265", "http://127.0.0.1:8265"),
        ("http://127.0.0.1:8265/", "http://127.0.0.1:8265"),
        ("http://127.0.0.1:8265///", "http://127.0.0.1:8265"),
        ("https://example.com:443/prefix/", "https://example.com:443/prefix"),
        ("https://example.com", "https://example.com"),  # no default port is added
        ("http://[::1]:8265/", "http://[::1]:8265"),
    ],
)
def test_http_addresses_are_kept_with_trailing_slashes_stripped(given: str, expected: str) -> None:
    info = resolve_cluster_info(given, environ={})
    assert info.address == expected


def test_http_address_keeps_the_callers_settings() -> None:
    info = resolve_cluster_info(
        "http://h:1", cookies={"c": "1"}, metadata={"m": "1"}, headers={"H": "v"}, environ={}
    )
    assert info == ClusterInfo(
        address="http://h:1", cookies={"c": "1"}, metadata={"m": "1"}, headers={"H": "v"}
    )


def test_ray_client_address_maps_to_the_dashboard_port_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        info = resolve_cluster_info("ray://h:10001", environ={})
    assert info.address == "http://h:8265"
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings, "mapping a ray:// address is a guess and must be logged"
    assert "ray://h:10001" in warnings[0].getMessage()


def test_ray_client_address_from_the_environment_maps_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        info = resolve_cluster_info("http://argument:1", environ={"RAY_ADDRESS": "ray://10.1.2.3:10001"})
    assert info.address == "http://10.1.2.3:8265"
    assert any(record.levelno == logging.WARNING for record in caplog.records)


# ------------------------------------------------------------------------------------ local cluster


def test_none_finds_the_local_dashboard_in_the_session_log(tmp_path: Path) -> None:
    write_dashboard_log(
        tmp_path,
        "2026-01-01 00:00:01,000\tINFO http_server_head.py:492 -- "
        "Dashboard head http address: 127.0.0.1:9999",
    )
    assert (
        resolve_cluster_info(None, environ={"RAY_TMPDIR": str(tmp_path)}).address == "http://127.0.0.1:9999"
    )
    assert (
        resolve_cluster_info("auto", environ={"RAY_TMPDIR": str(tmp_path)}).address == "http://127.0.0.1:9999"
    )


def test_none_without_a_local_cluster_is_localhost_8265(tmp_path: Path) -> None:
    assert (
        resolve_cluster_info(None, environ={"RAY_TMPDIR": str(tmp_path)}).address == "http://localhost:8265"
    )
    assert DEFAULT_DASHBOARD_ADDRESS == "http://localhost:8265"


def test_none_uses_the_process_environment(clean_environment: Path) -> None:
    assert resolve_cluster_info(None).address == "http://localhost:8265"
    write_dashboard_log(clean_environment, "INFO x.py:1 -- Dashboard head http address: 127.0.0.1:7777")
    assert resolve_cluster_info(None).address == "http://127.0.0.1:7777"


def test_local_gcs_address_resolves_to_the_local_dashboard(tmp_path: Path) -> None:
    write_dashboard_log(tmp_path, "INFO x.py:1 -- Dashboard head http address: 127.0.0.1:9999")
    (tmp_path / "ray" / "ray_current_cluster").write_text("127.0.0.1:6379", encoding="utf-8")
    environ = {"RAY_TMPDIR": str(tmp_path)}
    assert resolve_cluster_info("127.0.0.1:6379", environ=environ).address == "http://127.0.0.1:9999"


def test_host_without_port_is_invalid() -> None:
    with pytest.raises(ValueError, match="Invalid address format: myhost"):
        resolve_cluster_info("myhost", environ={})


# ------------------------------------------------------------------------------------ module addresses


class _FakeClusterInfo:
    def __init__(self, address: str, cookies: Any, metadata: Any, headers: Any) -> None:
        self.address = address
        self.cookies = cookies
        self.metadata = metadata
        self.headers = headers


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """A module ``fakemod`` whose ``get_job_submission_client_cluster_info`` records its calls."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def get_job_submission_client_cluster_info(address: str, **kwargs: Any) -> _FakeClusterInfo:
        calls.append((address, kwargs))
        return _FakeClusterInfo(
            address="https://fake.example:8443/jobs/",
            cookies={"fake-cookie": "1"},
            metadata={"fake-meta": "1"},
            headers={"X-Fake": "1"},
        )

    module = types.ModuleType("fakemod")
    module.get_job_submission_client_cluster_info = get_job_submission_client_cluster_info  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fakemod", module)
    return calls


def test_module_address_replaces_the_callers_settings(fake_module: list[tuple[str, dict[str, Any]]]) -> None:
    info = resolve_cluster_info(
        "fakemod://cluster",
        create_cluster_if_needed=True,
        cookies={"user-cookie": "1"},
        metadata={"user-meta": "1"},
        headers={"H": "v"},
        environ={},
        extra_kw=5,
    )
    assert info.address == "https://fake.example:8443/jobs"
    assert info.cookies == {"fake-cookie": "1"}
    assert info.metadata == {"fake-meta": "1"}
    assert info.headers == {"X-Fake": "1"}
    assert fake_module == [
        (
            "cluster",
            {
                "create_cluster_if_needed": True,
                "cookies": {"user-cookie": "1"},
                "metadata": {"user-meta": "1"},
                "headers": {"H": "v"},
                "extra_kw": 5,
            },
        )
    ]


@pytest.mark.usefixtures("clean_environment")
def test_client_uses_the_module_address(fake_module: list[tuple[str, dict[str, Any]]]) -> None:
    client = AsyncJobSubmissionClient("fakemod://cluster", headers={"H": "v"})  # construction does no I/O
    assert client.get_address() == "https://fake.example:8443/jobs"
    assert len(fake_module) == 1


def test_unknown_module_address() -> None:
    with pytest.raises(RuntimeError, match="Module: rjc_no_such_module does not exist") as caught:
        resolve_cluster_info("rjc_no_such_module://cluster", environ={})
    assert "rjc_no_such_module://cluster" in str(caught.value)
