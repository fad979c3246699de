"""The package as users install it: the built distributions and the clean venv that holds the wheel.

``make wheel-venv`` (a prerequisite of ``make test``) builds ``build/dist`` (the sdist, the wheel built
from it, and a wheel built straight from the tree in ``build/dist/tree``) and installs that wheel —
not editable — with its runtime dependencies and the ``typecheck`` extra into ``build/wheel-venv``.
The tests run that venv's programs as subprocesses, from a scratch directory and without
``PYTHONPATH``, so that nothing of the source tree can stand in for what the wheel installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "build" / "dist"
VENV = ROOT / "build" / "wheel-venv"
PYRIGHT = ROOT / "openapi" / "node_modules" / ".bin" / "pyright"
DISTRIBUTION = "ray-jobs-client"


def project_version() -> str:
    """The version, as defined once: in pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def venv_bin(name: str) -> str:
    """A program of the clean venv; fails (never skips) when the venv has not been built."""
    program = VENV / "bin" / name
    if not program.exists():
        pytest.fail(f"{program.relative_to(ROOT)} is missing: run make wheel-venv")
    return str(program)


def built(pattern: str, where: Path = DIST) -> Path:
    """The one file of ``make dist`` matching ``pattern``; fails when there is not exactly one."""
    found = sorted(where.glob(pattern))
    if len(found) != 1:
        pytest.fail(
            f"expected one {pattern} in {where.relative_to(ROOT)}, found {found}: run make wheel-venv"
        )
    return found[0]


def pyright() -> str:
    """The pinned pyright (openapi/package.json); skips without Node, fails under CI."""
    node = shutil.which("node")
    if node is None or not PYRIGHT.exists():
        message = "pyright is not installed (install Node.js >= 20.19, then: npm ci --prefix openapi)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it (make spec-tools)")
        pytest.skip(message)
    return str(PYRIGHT)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment (the session's RAY_AUTH_* included) minus anything that could
    point an interpreter or a type checker at the source tree."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "PYTHONHOME", "MYPYPATH", "VIRTUAL_ENV")
    }
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def run(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion (never failing by itself): the caller checks what it needs."""
    return subprocess.run(
        command,
        cwd=cwd,
        env=env if env is not None else clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    """A finished command, for an assertion message."""
    return (
        f"{' '.join(result.args)}\nexit {result.returncode}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
