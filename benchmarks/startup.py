"""Figure 1a: how long a fresh process takes to import the client class, ours vs Ray's.

Each repetition is a new interpreter (``python -c "from … import JobSubmissionClient"``) timed from
spawn to exit, so nothing is cached in memory between repetitions (the ``.pyc`` files are: one
unmeasured warm-up run of each command writes them first). Each client is imported in its own clean
venv (figure 2's), as a user would have it; ``python -c pass`` is measured in the same rotation as
the floor every interpreter pays, and our import in the development venv (where Ray and all its
dependencies are installed too) shows what optional packages next to ours cost. ``-X importtime``
then shows where our import time goes.
"""

from __future__ import annotations

import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from .common import OURS, RAYS, Figure, Summary, Table, Target, interleave, ratio, run_python, timed_process
from .install_size import Venvs, venv_python

OUR_PACKAGE = "ray_jobs_client"
OUR_IMPORT = f"from {OUR_PACKAGE} import JobSubmissionClient"
RAY_IMPORT = "from ray.job_submission import JobSubmissionClient"
TARGET_SHARE = 0.25

_IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


@dataclass(frozen=True)
class ImportedModule:
    """One line of ``-X importtime``: a module, its own time and its time including what it imported."""

    name: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(stderr: str) -> list[ImportedModule]:
    """The modules listed by ``python -X importtime`` (its report goes to stderr), in its order."""
    modules = []
    for line in stderr.splitlines():
        match = _IMPORTTIME_LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            modules.append(ImportedModule(name, int(self_us), int(cumulative_us), (len(indent) - 1) // 2))
    return modules


def importers(modules: list[ImportedModule]) -> dict[str, str]:
    """Which module first imported each module (``-X importtime`` lists a parent after its children)."""
    parents: dict[str, str] = {}
    for index, module in enumerate(modules):
        for later in modules[index + 1 :]:
            if later.depth < module.depth:
                parents[module.name] = later.name
                break
    return parents


@dataclass(frozen=True)
class ImportProfile:
    """Median ``-X importtime`` figures of one import statement (µs)."""

    modules: int
    self_per_package: dict[str, float]
    #: what our own modules import directly (outside the package), with everything below it
    pulled_in: dict[str, tuple[str, float]]


def importtime_profile(python: str, statement: str, runs: int, package: str = OUR_PACKAGE) -> ImportProfile:
    """Median ``-X importtime`` figures over ``runs`` processes."""
    self_times: dict[str, list[int]] = defaultdict(list)
    pulled: dict[str, list[int]] = defaultdict(list)
    importer_of: dict[str, str] = {}
    counts = []
    for _ in range(runs):
        modules = parse_importtime(run_python(["-X", "importtime", "-c", statement], python=python).stderr)
        counts.append(len(modules))
        parents = importers(modules)
        for module in modules:
            self_times[module.name].append(module.self_us)
            parent = parents.get(module.name, "")
            if parent.split(".")[0] == package and module.name.split(".")[0] != package:
                pulled[module.name].append(module.cumulative_us)
                importer_of[module.name] = parent
    per_package: dict[str, float] = defaultdict(float)
    for name, values in self_times.items():
        per_package[_package_of(name)] += statistics.median(values)
    return ImportProfile(
        modules=int(statistics.median(counts)),
        self_per_package=dict(per_package),
        pulled_in={name: (importer_of[name], statistics.median(values)) for name, values in pulled.items()},
    )


def _package_of(module: str) -> str:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "(standard library)"
    return top


BARE = "bare interpreter"
OURS_DEV = f"{OURS}, development venv"


def measure(venvs: Venvs, repetitions: int) -> Figure:
    """Time the imports (and a bare interpreter) in fresh processes, interleaved."""
    ours_python, ray_python = venv_python(venvs.ours), venv_python(venvs.ray)
    commands: dict[str, tuple[str, str, str]] = {
        BARE: (ours_python, "pass", "its own clean venv"),
        OURS: (ours_python, OUR_IMPORT, "its own clean venv"),
        RAYS: (ray_python, RAY_IMPORT, "its own clean venv"),
        OURS_DEV: (sys.executable, OUR_IMPORT, "development venv: Ray, rich, click… installed too"),
    }
    for python, statement, _ in commands.values():  # compile the .pyc files outside the measurement
        run_python(["-c", statement], python=python)
    samples = interleave(
        {name: _timer(python, statement) for name, (python, statement, _) in commands.items()}, repetitions
    )
    stats = {name: Summary.of(values) for name, values in samples.items()}
    floor = stats[BARE].median
    ours, rays = stats[OURS], stats[RAYS]

    table = Table(["client", "command", "venv", "median", "IQR", "min-max", "minus bare", "vs Ray's"])
    for name, summary in stats.items():
        _, statement, where = commands[name]
        table.add(
            name.split(",")[0] if name != BARE else "—",
            f'`python -c "{statement}"`',
            where,
            f"{summary.median * 1e3:.0f} ms",
            f"{summary.iqr(1e3)} ms",
            f"{summary.range(1e3)} ms",
            f"{(summary.median - floor) * 1e3:.0f} ms",
            "" if name == BARE else ratio(summary.median, rays.median),
        )

    profile = importtime_profile(ours_python, OUR_IMPORT, runs=3)
    dev = importtime_profile(sys.executable, OUR_IMPORT, runs=1)
    ray = importtime_profile(ray_python, RAY_IMPORT, runs=1, package="ray")
    packages = Table(
        ["package", "self time (ms)", "share"],
        caption=f"`-X importtime` of our import in its clean venv, self time summed per package "
        f"({profile.modules} modules; median of 3 runs):",
    )
    total = sum(profile.self_per_package.values())
    for name, value in sorted(profile.self_per_package.items(), key=lambda item: -item[1])[:10]:
        packages.add(f"`{name}`", f"{value / 1e3:.1f}", f"{value / total:.0%}")
    offenders = Table(
        ["imported module", "imported by", "cumulative (ms)"],
        caption="Top offenders: what our modules import directly, with everything it imports in turn "
        "(`-X importtime` cumulative column, same runs; a module shared by two imports counts for the "
        "first):",
    )
    for name, (parent, value) in sorted(profile.pulled_in.items(), key=lambda item: -item[1][1])[:10]:
        offenders.add(f"`{name}`", f"`{parent}`", f"{value / 1e3:.1f}")

    share = ours.median / rays.median
    import_only = (ours.median - floor) / (rays.median - floor)
    extra = sorted(
        set(dev.self_per_package) - set(profile.self_per_package),
        key=lambda name: -dev.self_per_package[name],
    )
    async_only = [name for name in ("httpx_ws", "asyncio") if name in profile.pulled_in]
    async_cost = sum(profile.pulled_in[name][1] for name in async_only)
    return Figure(
        title="1a. Cold-process import time of the client class",
        method=(
            f"{repetitions} fresh interpreters per row, rotated, wall time from spawn to exit; one "
            "unmeasured warm-up run of each first. Every venv is made by the same interpreter."
        ),
        tables=[table, packages, offenders],
        targets=[
            Target(
                "import time",
                "≤ 25% of Ray's",
                f"{share:.0%} of Ray's for the whole process ({import_only:.0%} counting only the import, "
                "i.e. minus the bare interpreter)",
                share <= TARGET_SHARE,
            )
        ],
        notes=[
            f"Ray's import loads {ray.modules} modules; ours loads {profile.modules} in its clean venv "
            f"and {dev.modules} in the development venv, where `httpx` also imports its optional "
            "command-line extras because they happen to be installed: "
            + ", ".join(f"`{name}`" for name in extra[:6])
            + ".",
            ("**Why we miss the import target**: " if share > TARGET_SHARE else "**What our import costs**: ")
            + "the floor under any httpx-based client is `ssl`, "
            "`logging`, `http`/`email`/`urllib` (through `httpx`) and `attrs`, then the generated models "
            "and our wrapper. "
            + (
                ", ".join(f"`{name}`" for name in async_only)
                + f" ({async_cost / 1e3:.0f} ms together in the table above) are still imported at start-up "
                "although only the async client and the log WebSocket need them."
                if async_only
                else "The async client, `asyncio` and the WebSocket stack (`httpx_ws`, `anyio`, `wsproto`) "
                "are imported on first use, so `from ray_jobs_client import JobSubmissionClient` does not "
                "pay for them."
            ),
        ],
    )


def _timer(python: str, statement: str) -> Callable[[], float]:
    return lambda: timed_process(["-c", statement], python=python)
