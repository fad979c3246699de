"""Shared fixtures: one live Ray head for the whole session.

The head runs the installed Ray (2.60) or the release named by ``RJC_RAY_RELEASE`` (see
``head_release.py``). Where the release has it (≥ 2.52), the head runs with token authentication on,
so that every test also exercises auth (headers on HTTP and on the log WebSocket).

The token is chosen when pytest starts and put into the process environment
(``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``) before any test can import Ray: Ray reads its auth mode
once per process, so this client and Ray's own both find the token the way users' clients do,
whatever test runs first. Subprocesses (the CLIs) inherit it.

With pytest-xdist (``make test`` runs ``-n``), the controller process starts the one head, in a
thread while the workers start and collect, and stops it at the end; it hands each worker the token
and where to read the head's address (``workerinput``), so the workers share that head and its token
instead of starting one each.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from head_release import HEAD_RELEASE, TOKEN_AUTH_SINCE, head_is_at_least, ray_executable
from ray_jobs_client.testing import LocalRayHead
from waiting import wait_for

_SESSION_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")
_saved_env: dict[str, str | None] = {}


#: ``workerinput`` keys: the session's token, and the file where the controller's head is described.
_TOKEN_KEY = "rjc_auth_token"
_SHARED_HEAD_KEY = "rjc_shared_head"


def pytest_configure(config: pytest.Config) -> None:
    _saved_env.update({name: os.environ.get(name) for name in _SESSION_ENV})
    # A developer's own cluster address must not leak into the tests.
    os.environ.pop("RAY_ADDRESS", None)
    os.environ.pop("RAY_API_SERVER_ADDRESS", None)
    if head_is_at_least(TOKEN_AUTH_SINCE):
        worker_input: dict[str, Any] = getattr(config, "workerinput", {})
        token = worker_input.get(_TOKEN_KEY) or secrets.token_urlsafe(24)  # a worker: the controller's
        os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    else:
        os.environ.pop("RAY_AUTH_MODE", None)
        os.environ.pop("RAY_AUTH_TOKEN", None)
    if _is_xdist_controller(config) and _may_need_the_head(config):
        shared = _ControllerHead()
        config.stash[_CONTROLLER_HEAD] = shared
        shared.start()


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook, called in the controller for each worker
def pytest_configure_node(node: Any) -> None:
    node.workerinput[_TOKEN_KEY] = os.environ.get("RAY_AUTH_TOKEN")
    shared = node.config.stash.get(_CONTROLLER_HEAD, None)
    if shared is not None:
        node.workerinput[_SHARED_HEAD_KEY] = str(shared.info)


def _is_xdist_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no"


def _may_need_the_head(config: pytest.Config) -> bool:
    """False when no live test can be selected (``-m "not live…"``, or only tests/unit given)."""
    if "not live" in (config.option.markexpr or ""):
        return False
    unit = Path(__file__).resolve().parent / "unit"
    paths = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
    return not paths or not all(path.is_relative_to(unit) for path in paths)


def _new_head() -> LocalRayHead:
    """The session's head (not started yet): token auth on where the release has it."""
    return LocalRayHead(
        token=os.environ.get("RAY_AUTH_TOKEN"),
        num_cpus=2,
        num_gpus=1,
        resources={"Custom": 1},
        ray_executable=ray_executable(),
        startup_timeout=240,
    )


class _ControllerHead:
    """The head the xdist controller starts for its workers, in a thread: they start and collect
    meanwhile. Once it is up (or has failed) ``info`` holds its address, ports, release and temp dir
    (or the error), written whole at once; each worker's ``ray_head`` waits for it."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="rjc-shared-head-"))
        self.info = self._dir / "head.json"
        self.head: LocalRayHead | None = None
        self._thread = threading.Thread(target=self._run, name="rjc-shared-head", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        described: dict[str, Any]
        try:
            self.head = _new_head()
            self.head.start()
            described = {
                "dashboard_port": self.head.dashboard_port,
                "gcs_port": self.head.gcs_port,
                "ray_version": self.head.ray_version,
                "temp_dir": str(self.head.temp_dir),
            }
        except BaseException as exc:
            described = {"error": f"the shared Ray head did not start: {exc!r}"}
        scratch = self.info.with_suffix(".part")
        scratch.write_text(json.dumps(described), encoding="utf-8")
        scratch.replace(self.info)

    def stop(self) -> None:
        self._thread.join()
        if self.head is not None:
            self.head.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


_CONTROLLER_HEAD = pytest.StashKey[_ControllerHead]()


def _shared_head(info: Path) -> LocalRayHead:
    """A worker's view of the controller's head: the same address, ports, token and temp dir. It
    never stops that head (the controller does)."""

    def described() -> dict[str, Any] | None:
        return json.loads(info.read_text(encoding="utf-8")) if info.exists() else None

    found = wait_for(described, timeout=600, what="the Ray head the xdist controller starts", interval=0.5)
    if "error" in found:
        raise RuntimeError(found["error"])
    head = _new_head()
    shutil.rmtree(head.temp_dir, ignore_errors=True)  # its own, unused: the shared head has one
    head.temp_dir = Path(found["temp_dir"])
    head.dashboard_port, head.gcs_port = found["dashboard_port"], found["gcs_port"]
    head.ray_version = found["ray_version"]
    return head


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
    shared = config.stash.get(_CONTROLLER_HEAD, None)
    if shared is not None:
        shared.stop()
    for name, value in _saved_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def ray_head(pytestconfig: pytest.Config) -> Iterator[LocalRayHead]:
    """A live Ray head (token auth on where the release has it), started once per test session (by
    the xdist controller when the tests run in workers: shared by them all)."""
    shared = getattr(pytestconfig, "workerinput", {}).get(_SHARED_HEAD_KEY)
    if shared is not None:
        head = _shared_head(Path(shared))
        assert head.ray_version == HEAD_RELEASE, (
            f"asked for Ray {HEAD_RELEASE}, the head runs {head.ray_version}"
        )
        yield head
        return
    head = _new_head()
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
