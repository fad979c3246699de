"""What every figure shares: interleaved repetitions, robust statistics, subprocesses, report pieces."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where generated inputs, cached venvs and scratch files live (git-ignored).
DEFAULT_WORK_DIR = Path(".bench")

OURS = "ray_jobs_client"
RAYS = "Ray's client"

#: Progress messages go through one of these (the orchestrator prints them to stderr).
Log = Callable[[str], None]


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0-1) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Median and spread of a set of samples (all in the unit the samples were taken in)."""

    n: int
    median: float
    q1: float
    q3: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        samples = list(values)
        return cls(
            n=len(samples),
            median=statistics.median(samples),
            q1=percentile(samples, 0.25),
            q3=percentile(samples, 0.75),
            low=min(samples),
            high=max(samples),
        )

    def iqr(self, scale: float = 1.0, digits: int = 0) -> str:
        """``q1-q3`` scaled, e.g. ``"1210-1302"``."""
        return f"{self.q1 * scale:.{digits}f}-{self.q3 * scale:.{digits}f}"

    def range(self, scale: float = 1.0, digits: int = 0) -> str:
        """``min-max`` scaled."""
        return f"{self.low * scale:.{digits}f}-{self.high * scale:.{digits}f}"


def interleave(variants: Mapping[str, Callable[[], float]], repetitions: int) -> dict[str, list[float]]:
    """Run each variant ``repetitions`` times, alternating between them, and collect their samples.

    Every round runs each variant once; the order rotates from round to round (A B, B A, A B, …) so
    that no variant always runs first, right after a change of phase. A variant returns one sample.
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repetitions):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(variants[name]())
    return samples


def ratio(value: float, reference: float) -> str:
    """``value / reference`` as ``"1.23x"``."""
    return f"{value / reference:.2f}x" if reference else "n/a"


def mib(size: float) -> str:
    return f"{size / 2**20:.1f} MiB"


# --------------------------------------------------------------------------- subprocesses


def python_env() -> dict[str, str]:
    """The environment for child interpreters: no stray Ray addresses, unbuffered output."""
    env = dict(os.environ)
    for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_python(
    args: Sequence[str], *, python: str = sys.executable, timeout: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python <args>`` and return the finished process; raise with its stderr if it fails."""
    done = subprocess.run(
        [python, *args], capture_output=True, text=True, env=python_env(), timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python} {' '.join(args)[:200]} exited with {done.returncode}:\n{done.stderr}")
    return done


def run_json_child(
    code: str, *args: str, python: str = sys.executable, timeout: float = 300.0
) -> dict[str, Any]:
    """Run ``python -c code args…`` whose last stdout line is a JSON object, and return that object."""
    done = run_python(["-c", code, *args], python=python, timeout=timeout)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not isinstance(result, dict):
        raise RuntimeError(f"child printed {result!r}, not a JSON object")
    return result


def timed_process(args: Sequence[str], python: str = sys.executable) -> float:
    """Seconds from spawning ``python <args>`` to its exit (a failure raises)."""
    start = time.perf_counter()
    run_python(args, python=python)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- machine


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def wait_for_quiet(threshold: float, max_wait: float, log: Log) -> tuple[bool, float]:
    """Wait until the 1-minute load average drops below ``threshold``, at most ``max_wait`` seconds.

    Returns whether it got quiet and how long it waited. Other processes on the machine (a test run,
    a build) distort every figure, so the report records the load at both ends either way.
    """
    start = time.monotonic()
    while True:
        one_minute = load_average()[0]
        waited = time.monotonic() - start
        if one_minute < threshold:
            return True, waited
        if waited >= max_wait:
            return False, waited
        log(f"load average {one_minute:.2f} ≥ {threshold}: waiting ({waited:.0f}/{max_wait:.0f} s)")
        time.sleep(min(30.0, max_wait - waited))


# --------------------------------------------------------------------------- report pieces


@dataclass
class Table:
    """A Markdown table."""

    headers: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    caption: str = ""

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> str:
        lines = []
        if self.caption:
            lines += [self.caption, ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append(
            "|" + "|".join("---:" if self._numeric(i) else "---" for i in range(len(self.headers))) + "|"
        )
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)

    def _numeric(self, column: int) -> bool:
        """Right-align a column whose filled cells all start like a number."""
        cells = [row[column] for row in self.rows if column < len(row) and row[column]]
        return bool(cells) and all(cell[0].isdigit() or cell[0] in "+-" for cell in cells)


@dataclass(frozen=True)
class Target:
    """One goal of the issue and where the measurement puts us."""

    name: str
    goal: str
    measured: str
    met: bool


@dataclass
class Figure:
    """One section of BENCHMARKS.md: what was measured, the tables, the verdicts, the explanation."""

    title: str
    method: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def markdown(self) -> str:
        parts = [f"## {self.title}", "", self.method.strip()]
        for table in self.tables:
            parts += ["", table.markdown()]
        for target in self.targets:
            verdict = "**met**" if target.met else "**missed**"
            parts += ["", f"Target — {target.name}: {target.goal}. Measured: {target.measured} → {verdict}."]
        for note in self.notes:
            parts += ["", note.strip()]
        parts += ["", f"<sub>This figure took {self.seconds:.0f} s to measure.</sub>"]
        return "\n".join(parts)
