"""Which Ray release the session's head runs: the installed Ray (2.60), or ``RJC_RAY_RELEASE``.

``RJC_RAY_RELEASE=2.9.3 pytest tests/contract`` starts the head from ``build/ray/2.9.3`` (made by
``make ray-releases`` or, when missing, on first use). Tests that need a newer server carry
``@pytest.mark.ray_since("2.52.0", "token authentication")``: on an older head they are skipped with
that reason, and the tests of what the older release does instead run in their place.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from ray_jobs_client.releases import release_tuple

ROOT = Path(__file__).resolve().parents[1]
RELEASE_ENV = "RJC_RAY_RELEASE"

#: Token authentication arrived in the dashboard in 2.52 (openapi/jobs.yaml, x-ray-behaviour-since).
TOKEN_AUTH_SINCE = "2.52.0"


def _installed_ray() -> str:
    try:
        return metadata.version("ray")
    except metadata.PackageNotFoundError:
        return "0"


#: The release string of the head this test session starts.
HEAD_RELEASE: str = os.environ.get(RELEASE_ENV) or _installed_ray()


def head_is_at_least(version: str) -> bool:
    return release_tuple(HEAD_RELEASE) >= release_tuple(version)


def uses_installed_ray() -> bool:
    return not os.environ.get(RELEASE_ENV) or os.environ[RELEASE_ENV] == _installed_ray()


def ray_executable() -> str | None:
    """The `ray` command of the head's release (``None``: the installed one), installed if missing."""
    if uses_installed_ray():
        return None
    installer = ROOT / "tools" / "ray_releases.py"
    subprocess.run([sys.executable, str(installer), "install", HEAD_RELEASE], check=True)
    return str(ROOT / "build" / "ray" / HEAD_RELEASE / "bin" / "ray")
