"""Figure 7: downloading a finished job's big log (``GET …/logs``): time and Python memory.

Ours whole (``get_job_logs``), ours streamed (``iter_job_logs``, pieces consumed as they arrive),
our ``follow_job_logs`` of the finished job, Ray's ``get_job_logs`` and Ray's ``tail_job_logs``,
alternating. Time is measured without tracing; the peak of Python's heap (``tracemalloc``) in
separate runs, since tracing slows allocation down. What each way delivered must be byte-identical.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import tracemalloc
from collections.abc import Callable, Iterable

from ray.job_submission import JobSubmissionClient as RayClient
from ray_jobs_client import JobSubmissionClient

from .common import OURS, RAYS, Figure, Summary, Table, interleave, ratio
from .log_tail import writing_job

WHOLE = f"{OURS}, `get_job_logs` (whole)"
STREAMED = f"{OURS}, `iter_job_logs` (streamed)"
RAYS_WHOLE = f"{RAYS}, `get_job_logs`"
FOLLOWED = f"{OURS}, `follow_job_logs` (WebSocket, then the final check)"
RAYS_TAILED = f"{RAYS}, `tail_job_logs` (WebSocket)"


def measure(address: str, size: int, repetitions: int) -> Figure:
    ours = JobSubmissionClient(address)
    rays = RayClient(address)
    # Ray's client logs every WebSocket close at INFO level; keep the benchmark's output readable.
    logging.getLogger("ray.dashboard.modules.job.sdk").setLevel(logging.WARNING)
    try:
        entrypoint, expected = writing_job(size)
        job_id = ours.submit_job(entrypoint=entrypoint)
        ours.wait_until_finished(job_id, poll=0.2, timeout=300)

        def digest(pieces: Iterable[str]) -> str:
            sha = hashlib.sha256()
            for piece in pieces:
                sha.update(piece.encode())
            return sha.hexdigest()

        async def rays_tail() -> str:
            sha = hashlib.sha256()
            async for chunk in rays.tail_job_logs(job_id):
                sha.update(chunk.encode())
            return sha.hexdigest()

        ways: dict[str, Callable[[], str]] = {
            WHOLE: lambda: digest([ours.get_job_logs(job_id)]),
            STREAMED: lambda: digest(ours.iter_job_logs(job_id)),
            FOLLOWED: lambda: digest(ours.follow_job_logs(job_id)),
            RAYS_WHOLE: lambda: digest([rays.get_job_logs(job_id)]),
            RAYS_TAILED: lambda: asyncio.run(rays_tail()),
        }
        digests: dict[str, set[str]] = {name: set() for name in ways}

        def timed(name: str) -> Callable[[], float]:
            def run() -> float:
                start = time.perf_counter()
                digests[name].add(ways[name]())
                return time.perf_counter() - start

            return run

        def traced(name: str) -> Callable[[], float]:
            def run() -> float:
                tracemalloc.start()
                try:
                    digests[name].add(ways[name]())
                    return float(tracemalloc.get_traced_memory()[1])
                finally:
                    tracemalloc.stop()

            return run

        seconds = interleave({name: timed(name) for name in ways}, repetitions)
        peaks = interleave({name: traced(name) for name in ways}, 2)
        whole_log = ours.get_job_logs(job_id)
        complete = expected in whole_log
        reference = digest([whole_log])
    finally:
        ours.close()
    time_stats = {name: Summary.of(values) for name, values in seconds.items()}
    peak = {name: max(values) for name, values in peaks.items()}
    megabytes = len(whole_log.encode()) / 2**20
    table = Table(["way", "median (s)", "min-max (s)", "MiB/s", "vs Ray's", "Python heap peak (MiB)"])
    for name, summary in time_stats.items():
        table.add(
            name,
            f"{summary.median:.2f}",
            summary.range(1, 2),
            f"{megabytes / summary.median:.0f}",
            ratio(summary.median, time_stats[RAYS_WHOLE].median),
            f"{peak[name] / 2**20:.1f}",
        )
    identical = all(found == {reference} for found in digests.values())
    verdict = (
        f"Verified: every way delivered the same {megabytes:.1f} MiB log byte for byte "
        f"(sha256 `{reference[:16]}…`), which holds every line the job wrote, in order."
        if identical and complete
        else f"**Verification failed**: digests {digests}, reference {reference}, lines present: {complete}."
    )
    notes = [
        verdict,
        f"Holding a log whole costs a multiple of its size ({peak[WHOLE] / 2**20:.0f} MiB of heap for a "
        f"{megabytes:.0f} MiB log here: the body, the decoded JSON and the string). Streamed, the heap "
        f"peaks at {peak[STREAMED] / 2**20:.1f} MiB whatever the log's size: each network read is decoded "
        "and handed on, cut where no escape sequence or character is split. Following the finished job "
        f"over the WebSocket peaks at {peak[FOLLOWED] / 2**20:.1f} MiB: its final check of the whole "
        "log (which recovers lines the stream can miss) is the same streamed download.",
    ]
    return Figure(
        title="7. Downloading a big log",
        method=(
            f"One finished job with a {megabytes:.1f} MiB log; {repetitions} timed downloads per way, "
            "rotated, then 2 per way under `tracemalloc` for the heap peak. The streamed way hashes each "
            "piece and drops it, as a program writing the log to a file would."
        ),
        tables=[table],
        notes=notes,
    )
