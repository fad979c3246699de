"""Run the compat probe (tests/compat) against heads of older Ray releases: ``make compat``.

    python tools/compat.py 2.40.0 2.48.0
    python tools/compat.py --python python3.11 --keep-going 2.40.0

For each version: a venv ``build/compat/ray-<version>`` with ``ray[default]==<version>`` (created on
first use; reused afterwards), a head started from that venv's ``ray`` with
:class:`ray_jobs_client.testing.LocalRayHead` (no token: older Rays have no token authentication),
then ``pytest tests/compat`` against it. The pytest output of each run is kept in
``build/compat/ray-<version>.log``; the summary printed at the end lists every probe that found a
difference from ``openapi/jobs.yaml``, with the differences.

Differences are findings, not failures: the exit status is 0 when every probe ran, 1 with
``--strict`` when a difference was found, 2 when a venv or a head could not be set up.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from ray_jobs_client.testing import LocalRayHead

ROOT = Path(__file__).resolve().parents[1]
COMPAT_DIR = ROOT / "build" / "compat"


def ensure_venv(version: str, python: str) -> Path:
    """``build/compat/ray-<version>`` with that Ray installed; returns its ``ray`` executable."""
    venv = COMPAT_DIR / f"ray-{version}"
    ray = venv / "bin" / "ray"
    marker = venv / ".installed"
    if marker.exists() and ray.exists():
        return ray
    print(f"compat: creating {venv.relative_to(ROOT)} with ray[default]=={version}", flush=True)
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
        ],
        check=True,
    )
    marker.touch()
    return ray


def run_probe(version: str, ray: Path, pytest_args: list[str]) -> tuple[int, Path, Path]:
    """Start a head of ``version``, run tests/compat against it; ``(pytest exit, log, junit xml)``."""
    log = COMPAT_DIR / f"ray-{version}.log"
    junit = COMPAT_DIR / f"ray-{version}.xml"
    venv_bin = ray.parent
    head = LocalRayHead(
        num_cpus=2,
        ray_executable=str(ray),
        # Entrypoints (`python …`) and the job supervisor use this Ray's interpreter, not ours.
        env={"PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"},
        startup_timeout=240,
    )
    print(f"compat: starting a Ray {version} head", flush=True)
    with head:
        print(f"compat: probing {head.address} (Ray {version})", flush=True)
        env = {**os.environ, "RJC_COMPAT_ADDRESS": head.address, "RJC_COMPAT_RAY_VERSION": version}
        for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
            env.pop(name, None)
        with log.open("w") as out:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "tests/compat",
                    "-p",
                    "no:cacheprovider",
                    "-q",
                    "-rf",
                    f"--junitxml={junit}",
                    *pytest_args,
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    return result.returncode, log, junit


def differences(junit: Path) -> dict[str, str]:
    """``{test id: failure text}`` for every failed or erroring probe of a run."""
    found: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        for outcome in ("failure", "error"):
            element = case.find(outcome)
            if element is not None:
                # The element's text is the whole message (the attribute may be cut short).
                text = element.text or element.get("message") or ""
                hidden = "traceback entries are hidden"  # pytest's note under pytrace=False failures
                lines = [line for line in text.strip().splitlines() if hidden not in line]
                found[case.get("name", "?")] = "\n".join(lines)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="+", help="Ray releases to probe, e.g. 2.40.0 2.48.0")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the compat venvs")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any difference is found")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra pytest arguments")
    args = parser.parse_args(argv)
    COMPAT_DIR.mkdir(parents=True, exist_ok=True)

    report: dict[str, dict[str, str]] = {}
    broken: list[str] = []
    for version in args.versions:
        try:
            ray = ensure_venv(version, args.python)
            status, log, junit = run_probe(version, ray, [a for a in args.pytest_args if a != "--"])
        except (subprocess.CalledProcessError, RuntimeError, TimeoutError) as exc:
            print(f"compat: Ray {version}: could not run the probe: {exc}", file=sys.stderr)
            broken.append(version)
            continue
        if status not in (0, 1) or not junit.exists():
            print(
                f"compat: Ray {version}: pytest exited with {status}; see {log.relative_to(ROOT)}",
                file=sys.stderr,
            )
            broken.append(version)
            continue
        report[version] = differences(junit)

    print("\n==================== compat report: differences from openapi/jobs.yaml ====================")
    for version, found in report.items():
        print(
            f"\nRay {version}: {'no difference' if not found else f'{len(found)} probe(s) differ'}"
            f"  (log: build/compat/ray-{version}.log)"
        )
        for test, text in found.items():
            print(f"  {test}:")
            for line in text.splitlines():
                print(f"      {line}")
    for version in broken:
        print(f"\nRay {version}: NOT PROBED (see the messages above)")
    if broken:
        return 2
    return 1 if args.strict and any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
