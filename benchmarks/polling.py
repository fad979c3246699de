"""Figure 4: polling the status of many jobs at once.

Ours: one :class:`~ray_jobs_client.AsyncJobSubmissionClient` (connected beforehand) and
``asyncio.gather`` over all polls. Ray's client is synchronous: it is measured both sequentially and
from a pool of 8 threads (its calls open a connection each, so threads do overlap). Our sync client,
sequential, is there for reference, and so is plain ``httpx.AsyncClient`` with two pool sizes (what
httpx's connection pool costs by itself). Each repetition is the wall time of one full round of polls.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from ray.job_submission import JobSubmissionClient as RayClient
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient

from .common import OURS, RAYS, Figure, Summary, Table, interleave, ratio

THREADS = 8
PLAIN_DEFAULT = "httpx's pool (20 kept alive)"
PLAIN_KEEP_ALL = "all 100 kept alive"


def measure(address: str, job_ids: list[str], polls: int, repetitions: int) -> Figure:
    """Time ``polls`` status polls (cycling over ``job_ids``) per round, each way, interleaved."""
    targets = list(itertools.islice(itertools.cycle(job_ids), polls))
    loop = asyncio.new_event_loop()
    ours_async = AsyncJobSubmissionClient(address)
    loop.run_until_complete(ours_async.connect())
    rays = RayClient(address)
    pool = ThreadPoolExecutor(max_workers=THREADS)
    # Plain httpx, to show what its connection pool costs by itself: its default keeps 20 idle
    # connections; keeping all 100 avoids reconnecting but makes httpcore scan more connections.
    plain = {
        kept: httpx.AsyncClient(
            base_url=address, limits=httpx.Limits(max_connections=100, max_keepalive_connections=kept)
        )
        for kept in (20, 100)
    }
    try:
        with JobSubmissionClient(address) as ours_sync:

            async def gather() -> list[str]:
                statuses = await asyncio.gather(*(ours_async.get_job_status(job) for job in targets))
                return [str(status) for status in statuses]

            async def plain_gather(http: httpx.AsyncClient) -> list[str]:
                responses = await asyncio.gather(*(http.get(f"/api/jobs/{job}") for job in targets))
                return [str(response.raise_for_status().json()["status"]) for response in responses]

            async def one_by_one() -> list[str]:
                return [str(await ours_async.get_job_status(job)) for job in targets]

            rounds: dict[str, Callable[[], list[str]]] = {
                f"{OURS}, async, `asyncio.gather` of all {polls}": lambda: loop.run_until_complete(gather()),
                f"{OURS}, async, sequential `await`s": lambda: loop.run_until_complete(one_by_one()),
                f"{OURS}, sync, sequential": lambda: [str(ours_sync.get_job_status(job)) for job in targets],
                f"plain `httpx.AsyncClient`, `asyncio.gather`, {PLAIN_DEFAULT}": lambda: (
                    loop.run_until_complete(plain_gather(plain[20]))
                ),
                f"plain `httpx.AsyncClient`, `asyncio.gather`, {PLAIN_KEEP_ALL}": lambda: (
                    loop.run_until_complete(plain_gather(plain[100]))
                ),
                f"{RAYS}, sequential": lambda: [str(rays.get_job_status(job)) for job in targets],
                f"{RAYS}, thread pool of {THREADS}": lambda: [
                    str(status) for status in pool.map(rays.get_job_status, targets)
                ],
            }
            answers = {name: run() for name, run in rounds.items()}  # warm-up, and a correctness check
            if len({tuple(answer) for answer in answers.values()}) != 1:
                raise RuntimeError(f"the clients disagree on the statuses: {answers}")
            cpu: dict[str, list[float]] = {name: [] for name in rounds}
            samples = interleave({name: _timer(run, cpu[name]) for name, run in rounds.items()}, repetitions)
    finally:
        pool.shutdown()
        loop.run_until_complete(ours_async.aclose())
        for http in plain.values():
            loop.run_until_complete(http.aclose())
        loop.close()
    stats = {name: Summary.of(values) for name, values in samples.items()}
    best_ray = min(summary.median for name, summary in stats.items() if name.startswith(RAYS))
    cpu_per_poll = {name: Summary.of(values).median / polls for name, values in cpu.items()}
    table = Table(
        [
            "client",
            "median wall time (ms)",
            "min-max (ms)",
            "per poll (ms)",
            "client CPU per poll (ms)",
            "vs Ray's best",
        ]
    )
    for name, summary in stats.items():
        table.add(
            name,
            f"{summary.median * 1e3:.1f}",
            summary.range(1e3, 1),
            f"{summary.median / polls * 1e3:.2f}",
            f"{cpu_per_poll[name] * 1e3:.2f}",
            ratio(summary.median, best_ray),
        )
    return Figure(
        title=f"4. Polling {polls} job statuses",
        method=(
            f"{polls} `get_job_status` calls per round over {len(set(targets))} finished jobs (cycled), "
            f"{repetitions} rounds per way, rotated; one unmeasured warm-up round each (it also checks that "
            "every way reads the same statuses). The server is one asyncio process: concurrency helps "
            "only as far as it can overlap the client's work with its own."
        ),
        tables=[table],
        notes=_notes(stats, cpu_per_poll, polls),
    )


def _notes(stats: dict[str, Summary], cpu_per_poll: dict[str, float], polls: int) -> list[str]:
    """Why concurrency does or does not pay here, from the numbers."""
    gathered = next(name for name in stats if "gather" in name)
    one_by_one = next(name for name in stats if "sequential `await`" in name)
    sync = f"{OURS}, sync, sequential"
    default = next(name for name in stats if PLAIN_DEFAULT in name)
    keep_all = next(name for name in stats if PLAIN_KEEP_ALL in name)
    wall = {name: summary.median / polls for name, summary in stats.items()}
    notes = [
        f"With all {polls} polls in flight our async client spends {cpu_per_poll[gathered] * 1e3:.2f} ms "
        f"of CPU per poll against {wall[gathered] * 1e3:.2f} ms of wall time per poll: "
        + (
            "the client's own CPU, not the server, is what limits the gather on this 2-CPU machine "
            "(the server process needs the other CPU)."
            if cpu_per_poll[gathered] >= 0.6 * wall[gathered]
            else "the client is mostly waiting, so the server is what limits the gather."
        )
        + f" Our sync client needs {cpu_per_poll[sync] * 1e3:.2f} ms of CPU per poll; Ray's thread pool "
        f"overlaps its calls' waiting without an event loop.",
        f"Gathered, our async polls cost {cpu_per_poll[gathered] * 1e3:.2f} ms of CPU each against "
        f"{cpu_per_poll[one_by_one] * 1e3:.2f} ms one by one: with {polls} requests in flight the pool "
        "opens a connection per request, and httpx keeps at most 20 idle connections by default, so every "
        f"round opens {max(0, polls - 20)} of them anew.",
        "Keeping every connection alive is no cure: plain httpx gathers took "
        f"{wall[default] * polls * 1e3:.1f} ms "
        f"({cpu_per_poll[default] * 1e3:.2f} ms CPU per poll) with its default pool and "
        f"{wall[keep_all] * polls * 1e3:.1f} ms ({cpu_per_poll[keep_all] * 1e3:.2f} ms) keeping all 100 "
        "connections, because httpcore's pool looks through its connections for every queued request. "
        "Our async client keeps httpx's default.",
    ]
    if importlib.util.find_spec("sniffio") is None:
        extra = cpu_per_poll[one_by_one] - cpu_per_poll[sync]
        notes.append(
            f"Our async calls cost {extra * 1e3:.2f} ms more CPU per poll than our sync ones. A large "
            "part is httpcore looking for the optional `sniffio` package on every async request: it is "
            "not installed here (httpx 0.28 no longer depends on it), so each request runs four failed "
            "`import sniffio` searches over `sys.path`. Installing `sniffio` next to the client removes "
            "them."
        )
    return notes


def _timer(run: Callable[[], object], cpu: list[float]) -> Callable[[], float]:
    """Wall time of one round as the sample; this process's CPU time of the round into ``cpu``."""

    def timed() -> float:
        cpu_start = time.process_time()
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        cpu.append(time.process_time() - cpu_start)
        return elapsed

    return timed
