"""A throwaway local Ray head for tests, demos and benchmarks.

``LocalRayHead`` runs ``ray start --head --block`` as a child process with its own temp dir and
free ports, waits until the job server answers, and on :meth:`LocalRayHead.stop` ends exactly the
processes it started (its process group, plus any process whose command line names its private temp
dir) — never a machine-wide ``ray stop``.

It needs the ``testing`` extra (``pip install 'ray-jobs-client[testing]'``: psutil, to find and stop
the head's processes), checked when a :class:`LocalRayHead` is created, before anything starts
(:class:`MissingExtraError` otherwise). And it needs a ``ray`` command (``pip install 'ray[default]'``,
here or in another venv); the client itself never does. Any Ray release from 2.9 on can be started:
pass the ``ray`` executable of a venv that has it, and entrypoints (``python …``) and the head's own
processes run with that venv's interpreter.

A start that fails raises :class:`HeadStartError` with ``ray start``'s own output, after stopping
whatever it started and removing its temp dir. The package never imports this module: only programs
that start heads pay for it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from .models import TERMINAL_STATUSES

if TYPE_CHECKING:
    import psutil

__all__ = ["HeadStartError", "HeadStartTimeout", "LocalRayHead", "MissingExtraError", "free_port"]

#: What ``pip install`` needs to bring in the packages of this module.
_EXTRA = "ray-jobs-client[testing]"
#: The packages of the ``testing`` extra (pyproject.toml), by import name.
_EXTRA_MODULES = ("psutil",)

# Every port `ray start` would otherwise take from a fixed default, so that a second head on the
# same machine (a developer's own cluster, another test run) never collides with ours.
_PORT_OPTIONS = (
    "--port",
    "--dashboard-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--metrics-export-port",
    "--runtime-env-agent-port",
    "--node-manager-port",
    "--object-manager-port",
    "--ray-client-server-port",
)


_WARM_UP_PREFIX = "rjc-warm-up-"


class MissingExtraError(ImportError):
    """A package of the ``testing`` extra is not installed (``pip install 'ray-jobs-client[testing]'``).

    Raised when a :class:`LocalRayHead` is created, before anything is started; ``name`` is the
    missing module's.
    """


class HeadStartError(RuntimeError):
    """The local head did not start: ``ray start`` (or ``ray start --help``) failed or exited, or the
    head was not ready in time. The message ends with the command's output (the last 4,000
    characters); whatever was started has been stopped and the temp dir removed."""


class HeadStartTimeout(HeadStartError, TimeoutError):
    """The head did not become ready within ``startup_timeout``."""


class _PortClash(HeadStartError):
    """``ray start`` failed because a port chosen for it was taken in the meantime."""


_CLEAN_FOR = 2.0  # seconds without a warm-up record before the head counts as fresh


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _choose_ports(count: int, range_size: int) -> tuple[list[int], tuple[int, int]]:
    """``count`` distinct free ports plus a range of ``range_size`` free ports overlapping none of them."""
    taken: set[int] = set()
    while len(taken) < count:
        taken.add(free_port())
    for _ in range(50):
        start = free_port()
        block = range(start, start + range_size)
        if block.stop < 65535 and taken.isdisjoint(block) and all(_port_is_free(port) for port in block):
            return sorted(taken), (block.start, block.stop - 1)
    raise RuntimeError(f"no range of {range_size} free ports found")


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LocalRayHead:
    """A single-node Ray cluster owned by this process.

    ``token`` enables Ray's token authentication on the head (``RAY_AUTH_MODE=token``); clients then
    need ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` (see :meth:`client_env`).
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        num_cpus: int = 2,
        num_gpus: int = 0,
        resources: Mapping[str, float] | None = None,
        ray_executable: str | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 120.0,
        dashboard_port: int | None = None,
    ) -> None:
        _require_extra()
        self.token = token
        self._num_cpus = num_cpus
        self._num_gpus = num_gpus
        self._resources = dict(resources or {})
        self._ray = ray_executable or _find_ray_executable()
        #: The head's Ray release, as its ``/api/version`` reports it (known once it started).
        self.ray_version: str | None = None
        self._extra_env = dict(env or {})
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._temp_dir: Path | None = None
        #: The dashboard's port: chosen free at each start unless given (e.g. the port of a head
        #: that was stopped, to play a cluster restarted at the same address).
        self._pinned_dashboard_port = dashboard_port
        self.dashboard_port = 0
        self.gcs_port = 0
        self._warm_ups = 0
        self._warmed = False
        self._clean_since: float | None = None

    @classmethod
    def with_token(cls, **kwargs: object) -> LocalRayHead:
        """A head with token authentication on, using a fresh random token."""
        return cls(token=secrets.token_urlsafe(24), **kwargs)  # type: ignore[arg-type]

    @property
    def temp_dir(self) -> Path:
        """The head's own temp dir (``ray start --temp-dir``), made by :meth:`start` and removed by
        :meth:`stop`."""
        if self._temp_dir is None:
            raise RuntimeError("this LocalRayHead has not been started: it has no temp dir")
        return self._temp_dir

    @property
    def log_path(self) -> Path:
        """The output of ``ray start`` (in :attr:`temp_dir`)."""
        return self.temp_dir / "ray-start.log"

    @property
    def python_executable(self) -> str:
        """The interpreter of the head's Ray (a driver script connecting to the head must use it)."""
        return str(Path(self._ray).parent / "python")

    @property
    def address(self) -> str:
        """The dashboard URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    def client_env(self) -> dict[str, str]:
        """Environment variables a Ray-compatible client needs to authenticate to this head."""
        if self.token is None:
            return {}
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a raw HTTP request to this head."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalRayHead:
        """Start the head and block until its job server accepts jobs.

        Free ports are chosen just before ``ray start``; if another process takes one in between,
        the start is retried with new ports. A start that fails raises :class:`HeadStartError`
        (``ray start``'s output in its message) once everything it started is stopped and its temp
        dir removed; a failure of that clean-up is added to the error as a note, never raised
        instead of it.
        """
        if self._temp_dir is not None:
            raise RuntimeError("this LocalRayHead was started already: create a new one")
        # Short on purpose: Ray puts unix sockets under it, and their paths are limited to 107 bytes.
        self._temp_dir = Path(tempfile.mkdtemp(prefix="rjc-"))
        try:
            for attempt in range(1, 4):
                self._launch()
                try:
                    self._wait_until_ready()
                    return self
                except _PortClash:
                    if attempt == 3:
                        raise
                    self._terminate()
            raise AssertionError("unreachable")
        except BaseException as exc:
            try:
                self.stop()
            except Exception as cleanup:  # the start's error is the one to see
                exc.add_note(f"Stopping what the failed start left also failed: {cleanup!r}")
            raise

    def _launch(self) -> None:
        chosen, (min_worker, max_worker) = _choose_ports(len(_PORT_OPTIONS), 64)
        ports = dict(zip(_PORT_OPTIONS, chosen, strict=True))
        if self._pinned_dashboard_port is not None:
            ports["--dashboard-port"] = self._pinned_dashboard_port
        self.gcs_port = ports["--port"]
        self.dashboard_port = ports["--dashboard-port"]
        command = [
            self._ray,
            "start",
            "--head",
            "--block",
            "--disable-usage-stats",
            "--include-dashboard=true",
            "--node-ip-address=127.0.0.1",
            "--dashboard-host=127.0.0.1",
            f"--temp-dir={self.temp_dir}",
            f"--num-cpus={self._num_cpus}",
            f"--num-gpus={self._num_gpus}",
            "--object-store-memory=100000000",
            f"--min-worker-port={min_worker}",
            f"--max-worker-port={max_worker}",
            *(f"{option}={port}" for option, port in ports.items() if option in _start_options(self._ray)),
        ]
        if self._resources:
            import json

            command.append(f"--resources={json.dumps(self._resources)}")
        env = dict(os.environ)
        # Entrypoints run `python`: make it the interpreter of this head's Ray, not the system one.
        env["PATH"] = f"{Path(self._ray).parent}{os.pathsep}{env.get('PATH', '')}"
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
            env.pop(name, None)
        env.update(self.client_env())
        env.update(self._extra_env)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        with httpx.Client(base_url=self.address, headers=self.auth_headers(), timeout=10) as http:
            self._wait_for(http, deadline, self._version_answers, "GET /api/version")
            # The job agent registers a little after the dashboard: a job only runs once it has.
            self._wait_for(http, deadline, self._warm_up_job_ran, "a warm-up job")

    def _wait_for(
        self, http: httpx.Client, deadline: float, ready: Callable[[httpx.Client], bool], what: str
    ) -> None:
        while True:
            if self._process is not None and self._process.poll() is not None:
                log = self._log_tail()
                kind = _PortClash if "port" in log.lower() and "use" in log.lower() else HeadStartError
                raise kind(f"`{self._ray} start` exited with {self._process.returncode}:\n{log}")
            with contextlib.suppress(httpx.HTTPError):
                if ready(http):
                    return
            if time.monotonic() > deadline:
                raise HeadStartTimeout(
                    f"Ray head not ready ({what}) after {self._startup_timeout}s:\n{self._log_tail()}"
                )
            time.sleep(0.25)

    def _version_answers(self, http: httpx.Client) -> bool:
        response = http.get("/api/version")
        if response.status_code != 200:
            return False
        self.ray_version = str(response.json()["ray_version"])
        return True

    def _warm_up_job_ran(self, http: httpx.Client) -> bool:
        """Submit `echo` until one run succeeds, then delete every warm-up record (the head looks new).

        A record deleted right after its job ended reappears once (Ray's job manager writes it again,
        as FAILED, when it notices the job's supervisor exit), so the head is ready only when no
        warm-up record has been listed for a while.
        """
        jobs = http.get("/api/jobs/").json()
        if not isinstance(jobs, list):  # not serving jobs yet (an error body): ask again
            return False
        warm_ups = [job for job in jobs if str(job.get("submission_id")).startswith(_WARM_UP_PREFIX)]
        if not self._warmed:
            self._warmed = any(job["status"] == "SUCCEEDED" for job in warm_ups)
            if not self._warmed and all(job["status"] in TERMINAL_STATUSES for job in warm_ups):
                self._warm_ups += 1
                # Early attempts may answer 500 "No available agent"; the next round tries again.
                http.post(
                    "/api/jobs/",
                    json={"entrypoint": "echo ready", "submission_id": f"{_WARM_UP_PREFIX}{self._warm_ups}"},
                )
            return False
        if warm_ups:
            self._clean_since = None
            for job in warm_ups:
                if job["status"] in TERMINAL_STATUSES:
                    http.delete(f"/api/jobs/{job['submission_id']}")
            return False
        now = time.monotonic()
        self._clean_since = self._clean_since or now
        return now - self._clean_since >= _CLEAN_FOR

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop every process this head started and remove its temp dir."""
        try:
            self._terminate()
        finally:
            if self._temp_dir is not None:
                shutil.rmtree(self._temp_dir, ignore_errors=True)

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # `ray start --block` stops its children on SIGTERM.
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._kill_leftovers(process.pid if process is not None else None)

    def _kill_leftovers(self, pgid: int | None) -> None:
        """Kill processes that escaped the process group but belong to this head (they name its temp dir)."""
        import psutil

        if self._temp_dir is None:
            return
        leftovers = list(_own_processes(str(self._temp_dir), pgid))
        for process in leftovers:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(leftovers, timeout=10)

    def __enter__(self) -> LocalRayHead:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _own_processes(marker: str, pgid: int | None) -> Iterator[psutil.Process]:
    """This head's processes: in its process group, or naming its private temp dir."""
    import psutil  # the testing extra's: checked when the head was created

    for process in psutil.process_iter(["cmdline"]):
        if process.pid == os.getpid():
            continue
        try:
            names_dir = any(marker in part for part in process.info["cmdline"] or ())
            ours = names_dir or (pgid is not None and os.getpgid(process.pid) == pgid)
        except (psutil.Error, OSError):
            continue  # gone meanwhile, or not ours to see
        if ours:
            yield process


@functools.cache
def _start_options(ray: str) -> frozenset[str]:
    """The ``--…`` options this ``ray start`` knows (older releases lack some port options)."""
    result = subprocess.run(
        [ray, "start", "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120
    )
    if result.returncode != 0:
        raise HeadStartError(
            f"`{ray} start --help` exited with {result.returncode}:\n{result.stdout[-4000:]}"
        )
    return frozenset(re.findall(r"(--[a-z][a-z0-9-]*)", result.stdout))


def _require_extra() -> None:
    """Raise :class:`MissingExtraError` unless every package of the ``testing`` extra imports."""
    for module in _EXTRA_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise MissingExtraError(
                f"LocalRayHead needs {module}, which is not installed: pip install '{_EXTRA}'",
                name=module,
            ) from exc


def _find_ray_executable() -> str:
    beside_python = Path(sys.executable).parent / "ray"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("ray")
    if found is None:
        raise RuntimeError("the `ray` command was not found: install 'ray[default]' to start a local head")
    return found
