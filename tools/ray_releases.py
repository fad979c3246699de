"""Venvs holding older Ray releases, to start their heads in the tests (``make ray-releases``).

    python tools/ray_releases.py install 2.9.3 2.47.1     # create build/ray/<version> where missing
    python tools/ray_releases.py path 2.9.3               # print that venv's `ray` executable
    python tools/ray_releases.py list                     # the releases `make test` runs (2.9.3 2.47.1)
    python tools/ray_releases.py list --all               # every release `make compat` proves

Each release gets ``build/ray/<version>`` with ``ray[default]==<version>`` (about 400 MB) plus the few
pins an old release needs to start on today's Python and packages (:func:`pins`). A finished venv is
marked with ``.installed`` and reused; a half-made one is made again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from ray_jobs_client.releases import MAKE_TEST_RELEASES, TESTED_RELEASES, release_tuple

ROOT = Path(__file__).resolve().parents[1]
RELEASES_DIR = ROOT / "build" / "ray"

#: Releases that ``make test`` starts besides the installed one, and every release ``make compat``
#: proves: both from the one table of tested releases, ``ray_jobs_client/releases.py``.
TESTED = MAKE_TEST_RELEASES
SUPPORTED = TESTED_RELEASES


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
    listing = sub.add_parser("list", help="print the older releases `make test` runs, on one line")
    listing.add_argument("--all", action="store_true", help="every release `make compat` proves")
    args = parser.parse_args(argv)
    if args.command == "list":
        print(" ".join(SUPPORTED if args.all else TESTED))
        return 0
    if args.command == "path":
        print(ray_executable(args.version))
        return 0
    for version in args.versions or TESTED:
        ensure(version, args.python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
