"""``python -m benchmarks``: measure every figure side by side with Ray's client and write BENCHMARKS.md.

Order of work: the figures that need no server first (install size, which also prepares the clean
venvs the others use; import time; packaging), then one local Ray head (no token) for the rest
(latency, polling, waiting for many jobs, log tail, log download, memory, list_jobs at scale). A
figure that fails is reported as failed and the others still run; the exit status is then 1.
``--only 9`` (figure numbers, repeatable) measures only those figures and writes their report beside
the cached inputs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from ray_jobs_client import JobSubmissionClient
from ray_jobs_client.testing import LocalRayHead

from . import (
    install_size,
    latency,
    list_scale,
    log_download,
    log_tail,
    memory,
    packaging_speed,
    polling,
    startup,
    waiting,
)
from .common import DEFAULT_WORK_DIR, Figure, load_average, wait_for_quiet


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does; ``--quick`` shrinks everything for development."""

    import_repetitions: int = 10
    rss_repetitions: int = 5
    calls: int = 300
    block: int = 30
    setup_jobs: int = 10
    polls: int = 50
    poll_repetitions: int = 7
    delay_jobs: int = 3
    delay_lines: int = 40
    delay_interval: float = 0.1
    log_bytes: int = 50 * 2**20
    log_repetitions: int = 3
    packaging_repetitions: int = 3
    tree_scale: float = 1.0
    waiting_jobs: int = 200
    list_counts: tuple[int, ...] = (1_000, 20_000)
    list_rounds: int = 5
    list_calls: int = 5


QUICK = Sizes(
    import_repetitions=3,
    rss_repetitions=2,
    calls=60,
    block=20,
    setup_jobs=3,
    polls=20,
    poll_repetitions=3,
    delay_jobs=1,
    delay_lines=10,
    log_bytes=5 * 2**20,
    log_repetitions=2,
    packaging_repetitions=2,
    tree_scale=0.05,
    waiting_jobs=20,
    list_rounds=2,
    list_calls=3,
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for developing the benchmarks")
    parser.add_argument(
        "--output",
        type=Path,
        help="report to write (default: BENCHMARKS.md; with --only, <work dir>/BENCHMARKS-only-<figures>.md)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="FIGURE",
        help="measure only this figure (its number: 1a, 1b, 2…9); may be repeated",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="cached venvs and inputs")
    parser.add_argument(
        "--quiet-load",
        type=float,
        default=1.5,
        help="wait for the 1-minute load average to drop below this before measuring",
    )
    parser.add_argument("--max-wait", type=float, default=120.0, help="longest wait for a quiet machine (s)")
    return parser.parse_args(argv)


class Run:
    """Collects the figures, timing each and catching failures so that the others still run."""

    def __init__(self, only: list[str] | None = None) -> None:
        self.figures: list[Figure] = []
        self.failed = False
        self.only = only

    def wants(self, *names: str) -> bool:
        """Whether any of these figures (``"2. installed size"`` or just ``"2"``) is to be measured."""
        return self.only is None or any(name.split(".")[0] in self.only for name in names)

    def figure(self, name: str, measure: Callable[[], Figure]) -> None:
        if not self.wants(name):
            return
        log(f"measuring {name}")
        start = time.monotonic()
        try:
            figure = measure()
        except Exception:
            self.failed = True
            log(f"{name} failed:\n{traceback.format_exc()}")
            figure = Figure(title=name, method=f"**Failed:**\n\n```\n{traceback.format_exc(limit=3)}```")
        figure.seconds = time.monotonic() - start
        self.figures.append(figure)


def finished_jobs(address: str, count: int) -> list[str]:
    """Submit ``count`` ``echo`` jobs and wait until all have finished (the head is idle afterwards)."""
    with JobSubmissionClient(address) as client:
        jobs = [client.submit_job(entrypoint=f"echo job {index}") for index in range(count)]
        for job in jobs:
            client.wait_until_finished(job, poll=0.25, timeout=300)
    return jobs


def _needed(venvs: install_size.Venvs | None) -> install_size.Venvs:
    if venvs is None:
        raise RuntimeError("the benchmark venvs were not prepared")
    return venvs


def measure_on_a_head(run: Run, sizes: Sizes, venvs: install_size.Venvs | None) -> None:
    """The figures that need a job server: one local Ray head (no token) for all of them."""
    log("starting a local Ray head")
    with LocalRayHead() as head:
        jobs: list[str] = []
        if run.wants("3", "4"):
            log(f"head up; submitting {sizes.setup_jobs} jobs to poll and wait for them")
            jobs = finished_jobs(head.address, sizes.setup_jobs)
        run.figure("3. latency", lambda: latency.measure(head.address, jobs[0], sizes.calls, sizes.block))
        run.figure(
            "4. polling", lambda: polling.measure(head.address, jobs, sizes.polls, sizes.poll_repetitions)
        )
        run.figure("8. waiting", lambda: waiting.measure(head.address, sizes.waiting_jobs, log))
        run.figure(
            "5. log tail",
            lambda: log_tail.measure(
                head.address,
                delay_repetitions=sizes.delay_jobs,
                lines=sizes.delay_lines,
                interval=sizes.delay_interval,
                size=sizes.log_bytes,
                throughput_repetitions=sizes.log_repetitions,
            ),
        )
        run.figure(
            "7. log download",
            lambda: log_download.measure(head.address, sizes.log_bytes, sizes.log_repetitions),
        )
        run.figure("1b. memory", lambda: memory.measure(_needed(venvs), head.address, sizes.rss_repetitions))
        run.figure(
            "9. list_jobs at scale",
            lambda: list_scale.measure(head.address, sizes.list_counts, sizes.list_rounds, sizes.list_calls),
        )
        log("stopping the head")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
        os.environ.pop(name, None)
    started = time.monotonic()
    quiet, waited = wait_for_quiet(args.quiet_load, args.max_wait, log)
    load_start = load_average()
    log(
        f"load average at start: {load_start[0]:.2f} "
        f"({'quiet' if quiet else 'NOT quiet'} after {waited:.0f} s)"
    )
    work_dir = args.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    run = Run(args.only)

    venvs = install_size.prepare_venvs(work_dir, log) if run.wants("2", "1a", "6", "1b") else None
    run.figure("2. installed size", lambda: install_size.measure(_needed(venvs)))
    run.figure("1a. import time", lambda: startup.measure(_needed(venvs), sizes.import_repetitions))
    tree_spec = packaging_speed.TreeSpec().scaled(sizes.tree_scale)
    run.figure(
        "6. packaging",
        lambda: packaging_speed.measure(
            _needed(venvs), work_dir, tree_spec, sizes.packaging_repetitions, log
        ),
    )
    if run.wants("3", "4", "5", "7", "1b", "8", "9"):
        measure_on_a_head(run, sizes, venvs)
    load_end = load_average()
    elapsed = time.monotonic() - started
    command = "make bench" if not argv else f"make bench BENCH_ARGS='{' '.join(argv)}'"
    output = args.output or (
        work_dir / f"BENCHMARKS-only-{'-'.join(args.only)}.md" if args.only else Path("BENCHMARKS.md")
    )
    output.write_text(render(run.figures, command, load_start, load_end, quiet, waited, args, elapsed))
    log(f"wrote {output} in {elapsed:.0f} s (load average at end: {load_end[0]:.2f})")
    return 1 if run.failed else 0


def _figure_order(figure: Figure) -> tuple[int, str]:
    number = figure.title.split(".")[0]
    return (int("".join(ch for ch in number if ch.isdigit()) or 0), number)


def render(
    figures: list[Figure],
    command: str,
    load_start: tuple[float, float, float],
    load_end: tuple[float, float, float],
    quiet: bool,
    waited: float,
    args: argparse.Namespace,
    elapsed: float,
) -> str:
    """The whole BENCHMARKS.md."""
    figures = sorted(figures, key=_figure_order)
    targets = [target for figure in figures for target in figure.targets]
    lines = [
        "# Benchmarks: ray_jobs_client side by side with Ray's own JobSubmissionClient",
        "",
        "Generated by `python -m benchmarks` (see `benchmarks/`); do not edit by hand, rerun instead.",
        "",
        "## Reproduce",
        "",
        "```sh",
        command,
        "```",
        "",
        f"`make bench` runs `.venv/bin/python -m benchmarks` after the usual install; "
        f"`BENCH_ARGS=--quick` gives a small development run. Inputs and the clean venvs are cached "
        f"in `{args.work_dir}/` (git-ignored); the first run builds them (about two more minutes). "
        f"This run took {elapsed / 60:.1f} minutes.",
        "",
        "## Machine",
        "",
        f"- CPUs: {os.cpu_count()} ({_cpu_model()}), memory: {_memory_gib():.0f} GiB, "
        f"{platform.system()} {platform.machine()}",
        f"- Python {platform.python_version()}; ray {version('ray')}, httpx {version('httpx')}, "
        f"ray_jobs_client {version('ray-jobs-client')}",
        f"- Load average (1, 5, 15 min) at start: {_load(load_start)}; at end: {_load(load_end)}"
        + _load_warning(quiet, waited, load_end[0], args.quiet_load),
        "- Every comparison is measured in one run, with the repetitions of the clients interleaved "
        "and rotated (ours, Ray's, Ray's, ours, …); medians with the interquartile range (IQR) or "
        "min-max.",
        "",
        "## Targets at a glance",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {target.name} | {target.goal} | {target.measured} | {'met' if target.met else '**missed**'} |"
        for target in targets
    ]
    for figure in figures:
        lines += ["", figure.markdown()]
    return "\n".join(lines) + "\n"


def _load_warning(quiet: bool, waited: float, end: float, threshold: float) -> str:
    """A warning for the report when other processes shared the CPUs during the run."""
    if quiet and end < threshold:
        return ""
    when = (
        f"the 1-minute load was still ≥ {threshold} after waiting {waited:.0f} s"
        if not quiet
        else f"the 1-minute load rose to {end:.2f} while it ran"
    )
    return (
        f" — **the machine was not quiet**: {when}. Other processes competed for the "
        f"{os.cpu_count()} CPUs, so absolute times are inflated and noisier; the interleaving keeps the "
        "comparisons fair."
    )


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown model"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
