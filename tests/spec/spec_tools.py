"""Shared helpers of the spec-as-a-product tests: the pinned Node tools, Chromium, subprocesses.

A tool that is missing makes its tests skip with the reason — unless ``CI`` is set, where a missing
tool is a broken machine setup (``make test`` installs them: see the ``spec-tools`` target) and the
tests fail instead of passing silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_TOOLS = ROOT / "openapi" / "node_modules" / ".bin"


def require_tool(what: str, path: str | None, how: str) -> str:
    """Return ``path``, or skip (fail under CI) because ``what`` is not installed."""
    if path and Path(path).exists():
        return path
    message = f"{what} is not installed ({how})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it (make spec-tools)")
    pytest.skip(message)


def node_bin(name: str) -> str:
    """A pinned tool of openapi/package.json (installed by ``npm ci --prefix openapi``)."""
    require_tool("node", shutil.which("node"), "install Node.js >= 20.19")
    return require_tool(name, str(NODE_TOOLS / name), "run: npm ci --prefix openapi")


def chromium() -> str:
    found = shutil.which(os.environ.get("CHROMIUM", "chromium"))
    return require_tool("chromium", found, "run: make spec-tools (apt-get install -y chromium)")


def run(
    command: list[str], *, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` from the repository root; fail with its output when it fails."""
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            **os.environ,
            "REDOCLY_TELEMETRY": "off",
            "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
            **(env or {}),
        },
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited with {result.returncode}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result
