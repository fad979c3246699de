"""Figure 2: disk taken by a runtime install, ours vs Ray's, in fresh virtual environments.

Three venvs live under ``<work dir>/venvs``: ``empty`` (the baseline every venv carries: pip and
setuptools), ``ours`` (``pip install <our wheel>``, the wheel built from this checkout) and ``ray``
(``pip install "ray[default]==2.60.0"``). Each figure is the apparent size of the files in
``site-packages`` (``.pyc`` files compiled by pip included) minus the empty venv's. The venvs are
kept: Ray's is rebuilt only when its requirement changes, ours whenever the wheel changes. Other
figures reuse them, so that each client is measured with only its own dependencies installed.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ray_jobs_client.releases import NEWEST_TESTED

from .common import OURS, RAYS, Figure, Log, Table, Target, mib

RAY_REQUIREMENT = f"ray[default]=={NEWEST_TESTED}"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Venvs:
    """The three benchmark venvs' interpreters."""

    empty: Path
    ours: Path
    ray: Path


@dataclass(frozen=True)
class SitePackages:
    """What one venv's ``site-packages`` holds."""

    size: int
    files: int
    #: apparent size per distribution (the files its ``RECORD`` lists, ``.pyc`` files included)
    per_project: dict[str, int]


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def venv_python(venv: Path) -> str:
    """The interpreter of a benchmark venv, as a command-line string."""
    return str(_python(venv).absolute())


def _run_quietly(command: list[str]) -> None:
    """Run a build or install step; its chatter is shown only when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def _pip(venv: Path, *args: str) -> None:
    _run_quietly([str(_python(venv)), "-m", "pip", "--disable-pip-version-check", "-q", *args])


def _fresh_venv(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    # The base interpreter, not this venv's: a venv made from a venv would share nothing with it anyway.
    base = getattr(sys, "_base_executable", sys.executable)
    _run_quietly([base, "-m", "venv", str(venv)])


def _stamp_matches(venv: Path, stamp: str) -> bool:
    marker = venv / ".bench-installed"
    return _python(venv).exists() and marker.exists() and marker.read_text() == stamp


def _write_stamp(venv: Path, stamp: str) -> None:
    (venv / ".bench-installed").write_text(stamp)


def build_wheel(work_dir: Path, log: Log) -> Path:
    """Build this checkout's wheel (no dependencies) into ``<work dir>/wheel`` and return its path."""
    out = work_dir / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    log("building our wheel")
    _run_quietly([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(PROJECT_ROOT)])
    (wheel,) = out.glob("*.whl")
    return wheel


def _wheel_digest(wheel: Path) -> str:
    """A digest of the wheel's members (names and CRCs), blind to the archive's timestamps."""
    with zipfile.ZipFile(wheel) as archive:
        members = sorted(f"{info.filename}:{info.CRC}" for info in archive.infolist())
    return hashlib.sha256("\n".join(members).encode()).hexdigest()


def prepare_venvs(work_dir: Path, log: Log) -> Venvs:
    """Create (or reuse) the empty, ours and Ray's venvs; return their directories."""
    root = work_dir / "venvs"
    empty, ours, ray = root / "empty", root / "ours", root / "ray"
    base_stamp = f"{sys.version} baseline"
    if not _stamp_matches(empty, base_stamp):
        log("creating the empty baseline venv")
        _fresh_venv(empty)
        _write_stamp(empty, base_stamp)
    wheel = build_wheel(work_dir, log)
    wheel_stamp = f"{sys.version} {_wheel_digest(wheel)}"
    if not _stamp_matches(ours, wheel_stamp):
        log(f"installing {wheel.name} into a fresh venv")
        _fresh_venv(ours)
        _pip(ours, "install", str(wheel))
        _write_stamp(ours, wheel_stamp)
    ray_stamp = f"{sys.version} {RAY_REQUIREMENT}"
    if not _stamp_matches(ray, ray_stamp):
        log(f"installing {RAY_REQUIREMENT} into a fresh venv (once; about a minute)")
        _fresh_venv(ray)
        _pip(ray, "install", RAY_REQUIREMENT)
        _write_stamp(ray, ray_stamp)
    return Venvs(empty=empty, ours=ours, ray=ray)


def site_packages(venv: Path) -> SitePackages:
    """Sizes of everything under the venv's ``site-packages``, also per installed distribution."""
    (root,) = (venv / "lib").glob("python*/site-packages")
    owner: dict[Path, str] = {}
    for record in root.glob("*.dist-info/RECORD"):
        project = record.parent.name.split("-")[0]
        with record.open(newline="") as rows:
            for row in csv.reader(rows):
                if row:
                    owner[(root / row[0]).resolve()] = project
    total = files = 0
    per_project: dict[str, int] = defaultdict(int)
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        total += size
        files += 1
        per_project[owner.get(path.resolve(), "(not in any RECORD)")] += size
    return SitePackages(size=total, files=files, per_project=dict(per_project))


def measure(venvs: Venvs) -> Figure:
    """Compare the site-packages of the two installs against the empty baseline."""
    baseline = site_packages(venvs.empty)
    installs = {OURS: site_packages(venvs.ours), RAYS: site_packages(venvs.ray)}
    rays = installs[RAYS].size - baseline.size
    table = Table(["install", "site-packages", "minus empty venv", "files added", "vs Ray's"])
    table.add("empty venv (pip, setuptools)", mib(baseline.size), "", "", "")
    for name, install in installs.items():
        added = install.size - baseline.size
        requirement = "our wheel" if name == OURS else f'"{RAY_REQUIREMENT}"'
        table.add(
            f"{name} (`pip install {requirement}`)",
            mib(install.size),
            mib(added),
            install.files - baseline.files,
            f"{added / rays:.1%}",
        )
    tables = [table]
    for name, install in installs.items():
        by_project = {
            project: size - baseline.per_project.get(project, 0)
            for project, size in install.per_project.items()
        }
        top = Table(["distribution", "size"], caption=f"Largest distributions in the {name} install:")
        for project, size in sorted(by_project.items(), key=lambda item: -item[1])[:8]:
            if size > 0:
                top.add(f"`{project}`", mib(size))
        tables.append(top)
    ours = installs[OURS].size - baseline.size
    return Figure(
        title="2. Installed size of the runtime dependencies",
        method=(
            "Fresh venvs made by the same interpreter: `pip install <our wheel>` (built from this "
            f'checkout with `pip wheel --no-deps .`) and `pip install "{RAY_REQUIREMENT}"`; apparent size '
            "of every file in `site-packages`, including the `.pyc` files pip compiles, minus an empty "
            "venv's."
        ),
        tables=tables,
        targets=[
            Target(
                "install size",
                "≤ 5% of Ray's",
                f"{mib(ours)} = {ours / rays:.1%} of Ray's",
                ours <= 0.05 * rays,
            )
        ],
    )
