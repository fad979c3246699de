"""Prove every supported Ray release: the release suite against a head of each (``make compat``).

    python tools/compat.py                                   # every release in ray_releases.SUPPORTED
    python tools/compat.py 2.20.0 2.35.0 -- tests/contract   # some releases, some tests

For each release: the venv ``build/ray/<release>`` (made on first use, see ``ray_releases.py``), then
``RJC_RAY_RELEASE=<release> pytest <suite>``: the tests start a head of that release themselves, with
the expectations of that release (``@pytest.mark.ray_since`` and the spec's per-release notes). Each
run's output is kept in ``build/compat/<release>.log``; the summary at the end gives one line per
release (passed, failed, skipped) and names every failed test. Exit status 1 when any release failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import ray_releases

ROOT = Path(__file__).resolve().parents[1]
COMPAT_DIR = ROOT / "build" / "compat"
DEFAULT_SUITE = ["tests/contract", "tests/integration", "tests/cli"]


def run_suite(release: str, suite: list[str]) -> tuple[int, Path, Path, float]:
    """``(pytest exit status, log, junit xml, seconds)`` of the suite against a head of ``release``."""
    log = COMPAT_DIR / f"{release}.log"
    junit = COMPAT_DIR / f"{release}.xml"
    env = {**os.environ, "RJC_RAY_RELEASE": release}
    started = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", *suite, "-q", "-rfE", f"--junitxml={junit}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return result.returncode, log, junit, time.monotonic() - started


def outcomes(junit: Path) -> tuple[dict[str, int], list[str]]:
    """Counts of passed/failed/skipped tests and the ids of those that failed or errored."""
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failed = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '?')}"
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
            failed.append(name)
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("releases", nargs="*", help="Ray releases (default: every supported one)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the release venvs")
    parser.epilog = "After --: the test paths and pytest options to run (default: the release suite)."
    argv = sys.argv[1:] if argv is None else argv
    # Split by hand: argparse would hand the paths after `--` to the releases positional.
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    suite = argv[cut + 1 :] or DEFAULT_SUITE
    COMPAT_DIR.mkdir(parents=True, exist_ok=True)

    lines: list[str] = []
    bad = False
    for release in args.releases or ray_releases.SUPPORTED:
        try:
            ray_releases.ensure(release, args.python)
        except subprocess.CalledProcessError as exc:
            lines.append(f"Ray {release:8}  NOT RUN: its venv could not be made ({exc})")
            bad = True
            continue
        print(f"compat: the release suite against Ray {release}", flush=True)
        status, log, junit, seconds = run_suite(release, suite)
        if not junit.exists():
            lines.append(
                f"Ray {release:8}  NOT RUN: pytest exited with {status} (see {log.relative_to(ROOT)})"
            )
            bad = True
            continue
        counts, failed = outcomes(junit)
        verdict = "ok  " if status == 0 else "FAIL"
        lines.append(
            f"Ray {release:8}  {verdict}  {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped  in {seconds:.0f} s  (log: {log.relative_to(ROOT)})"
        )
        lines.extend(f"      failed: {name}" for name in failed)
        bad = bad or status != 0
    print("\n==================== compat: the release suite on each Ray release ====================")
    print("\n".join(lines))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
