"""Venvs holding older Ray releases, to start their heads in the tests (``make ray-releases``).

    python tools/ray_releases.py install 2.9.3 2.47.1     # create build/ray/<version> where missing
    python tools/ray_releases.py path 2.9.3               # print that venv's `ray` executable

Each release gets ``build/ray/<version>`` with ``ray[default]==<version>`` (about 400 MB) plus the few
pins an old release needs to start on today's Python and packages (:func:`pins`). A finished venv is
marked with ``.installed`` and reused; a half-made one is made again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ray_jobs_client.releases import release_tuple

ROOT = Path(__file__).resolve().parents[1]
RELEASES_DIR = ROOT / "build" / "ray"

#: Releases that ``make test`` starts besides the installed one (2.60): the oldest supported and one
#: from the middle of the range (after /api/version gained session_name and the dashboard its
#: WebSocket proxy, before token authentication, the browser guard and label selectors).
TESTED = ("2.9.3", "2.47.1")

#: Every release ``make compat`` proves (the README's table lists the same): the oldest and newest
#: supported, and the releases on each side of every change the spec dates (``x-ray-since``,
#: ``x-ray-behaviour-since``), plus a few between.
SUPPORTED = (
    "2.9.3",
    "2.12.0",
    "2.20.0",
    "2.24.0",
    "2.31.0",  # last without session_name
    "2.32.0",
    "2.40.0",
    "2.44.1",  # last with the dashboard's JSON failure bodies and 500 for oversized bodies
    "2.45.0",
    "2.47.1",
    "2.49.2",  # last with error_type always null
    "2.51.2",  # last without token authentication; last that needs a User-Agent
    "2.52.1",
    "2.53.0",  # last with the POST/PUT-only browser guard; last without entrypoint_label_selector
    "2.54.1",
    "2.58.1",  # last without env_vars redaction for browsers
    "2.59.0",
    "2.60.0",
)


def installed_ray() -> str | None:
    """The Ray release of this interpreter's environment (the tests' default head), if any."""
    from importlib import metadata

    try:
        return metadata.version("ray")
    except metadata.PackageNotFoundError:
        return None


def pins(version: str) -> list[str]:
    """Extra requirements that let ``version`` start from a fresh venv on Python 3.11 today."""
    extra = []
    if release_tuple(version) < (2, 6):
        # Before 2.6 the dashboard imports pydantic v1 APIs directly.
        extra.append("pydantic<2")
    if release_tuple(version) < (2, 9):
        # Old dashboards import async_timeout, which today's aiohttp no longer brings along, and
        # call protobuf's MessageToDict with an argument protobuf 5.26 removed.
        extra += ["async-timeout", "protobuf<5"]
    return extra


def venv_dir(version: str) -> Path:
    return RELEASES_DIR / version


def ray_executable(version: str) -> Path:
    return venv_dir(version) / "bin" / "ray"


def ensure(version: str, python: str = sys.executable) -> Path:
    """The ``ray`` executable of a venv with ``ray[default]==version``, created if missing (the
    release installed here needs none: the tests use it directly)."""
    if version == installed_ray():
        return Path(sys.executable).parent / "ray"
    venv = venv_dir(version)
    marker = venv / ".installed"
    ray = ray_executable(version)
    if marker.exists() and ray.exists():
        return ray
    print(f"ray-releases: installing ray[default]=={version} into {venv.relative_to(ROOT)}", flush=True)
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"ray[default]=={version}",
            *pins(version),
        ],
        check=True,
    )
    marker.touch()
    return ray


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter for the venvs")
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="create the venvs that are missing")
    install.add_argument("versions", nargs="*", help=f"default: {' '.join(TESTED)}")
    path = sub.add_parser("path", help="print a release's `ray` executable")
    path.add_argument("version")
    args = parser.parse_args(argv)
    if args.command == "path":
        print(ray_executable(args.version))
        return 0
    for version in args.versions or TESTED:
        ensure(version, args.python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
