"""Shared fixtures: one live Ray head for the whole session.

The head runs the installed Ray (2.60) or the release named by ``RJC_RAY_RELEASE`` (see
``head_release.py``). Where the release has it (≥ 2.52), the head runs with token authentication on,
so that every test also exercises auth (headers on HTTP and on the log WebSocket).

The token is chosen when pytest starts and put into the process environment
(``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``) before any test can import Ray: Ray reads its auth mode
once per process, so this client and Ray's own both find the token the way users' clients do,
whatever test runs first. Subprocesses (the CLIs) inherit it.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from head_release import HEAD_RELEASE, TOKEN_AUTH_SINCE, head_is_at_least, ray_executable
from ray_jobs_client.testing import LocalRayHead

_SESSION_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")
_saved_env: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    _saved_env.update({name: os.environ.get(name) for name in _SESSION_ENV})
    # A developer's own cluster address must not leak into the tests.
    os.environ.pop("RAY_ADDRESS", None)
    os.environ.pop("RAY_API_SERVER_ADDRESS", None)
    if head_is_at_least(TOKEN_AUTH_SINCE):
        os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_urlsafe(24)})
    else:
        os.environ.pop("RAY_AUTH_MODE", None)
        os.environ.pop("RAY_AUTH_TOKEN", None)


def pytest_report_header(config: pytest.Config) -> str:
    auth = "token authentication on" if head_is_at_least(TOKEN_AUTH_SINCE) else "no authentication"
    return f"Ray head: release {HEAD_RELEASE} ({auth})"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.ray_since(version, what)``: skip on a head older than ``version``."""
    for marker in item.iter_markers("ray_since"):
        version, what = marker.args
        if not head_is_at_least(version):
            pytest.skip(f"needs Ray >= {version} ({what}); the head runs Ray {HEAD_RELEASE}")


#: The session head's fixtures: a test that uses one (directly or through another fixture) is live.
_HEAD_FIXTURES = frozenset({"ray_head", "head_address"})
#: Directories whose tests run external tools (Node, Chromium, Go, tsc, pyright, a wheel in a fresh
#: venv, every README block): minutes, not seconds, even where no head is needed.
_TOOLS_DIRS = frozenset({"spec", "docs", "readme", "packaging"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test by what it needs, so that ``-m "not live and not tools"`` runs in seconds:
    ``live`` for the session head's users (a test cannot forget it), ``tools`` for ``_TOOLS_DIRS``."""
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        if _HEAD_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)
        try:
            top = item.path.resolve().relative_to(tests_dir).parts[0]
        except ValueError:
            continue
        if top in _TOOLS_DIRS:
            item.add_marker(pytest.mark.tools)


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def ray_head() -> Iterator[LocalRayHead]:
    """A live Ray head (token auth on where the release has it), started once per test session."""
    head = LocalRayHead(
        token=os.environ.get("RAY_AUTH_TOKEN"),
        num_cpus=2,
        num_gpus=1,
        resources={"Custom": 1},
        ray_executable=ray_executable(),
        startup_timeout=240,
    )
    head.start()
    assert head.ray_version == HEAD_RELEASE, f"asked for Ray {HEAD_RELEASE}, the head runs {head.ray_version}"
    try:
        yield head
    finally:
        head.stop()


@pytest.fixture(scope="session")
def head_address(ray_head: LocalRayHead) -> str:
    return ray_head.address


@pytest.fixture
def raw_http(ray_head: LocalRayHead) -> Iterator[httpx.Client]:
    """A plain httpx client authenticated to the session head (for raw wire checks)."""
    with httpx.Client(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=30) as http:
        yield http


@pytest.fixture
def unique_id() -> str:
    """A fresh submission id, so tests never collide on the shared head."""
    return f"rjc-{uuid.uuid4().hex[:12]}"
