"""Figure 8: ``list_jobs`` on a cluster holding thousands of jobs: wall time and Python heap peak.

A real job's JSON is taken from the live head (a job that called ``ray.init()``, with metadata and
a ``runtime_env``, so that every field is filled), and a stand-in job server in a child process
answers ``GET /api/jobs/`` with N copies of it (and ``/api/version`` with the head's own answer):
no head can be made to hold 20,000 jobs in reasonable time, and the clients cannot tell.

Each way runs in a clean child interpreter that imports only what it needs, as a user's program
would: a warm-up call (whose result every way must agree on), timed calls, then one call under
``tracemalloc`` for the peak of Python's heap. The ways rotate from round to round. Besides our
sync and async clients and Ray's, three references: the generated ``ray_jobs_api`` client (which
builds its attrs models), plain httpx with ``json.loads``, and ``json.loads`` of the body alone
(in memory, no request): the floor any client must pay.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from ray_jobs_client import JobSubmissionClient

from .common import (
    OURS,
    RAYS,
    Figure,
    Summary,
    Table,
    Target,
    interleave,
    mib,
    python_env,
    ratio,
    run_json_child,
)

TARGET_TIME = 0.8  # of Ray's client's time
TARGET_SIZE = 20_000  # the targets are judged at this many jobs

OURS_SYNC = f"{OURS}, sync"
OURS_ASYNC = f"{OURS}, async"
GENERATED = "`ray_jobs_api` (generated), models"
HTTPX_JSON = "plain `httpx` + `json.loads`"
JSON_ONLY = "`json.loads` of the body alone"

#: way → the child's setup: it defines ``run()`` (one listing) and ``canonical(result)`` (the jobs
#: as plain JSON, for the agreement check). ``address`` is the stand-in server.
_SETUP = {
    OURS_SYNC: """
from ray_jobs_client import JobSubmissionClient
client = JobSubmissionClient(address)
run = client.list_jobs
canonical = lambda jobs: [job.to_json_dict() for job in jobs]
""",
    OURS_ASYNC: """
import asyncio
from ray_jobs_client import AsyncJobSubmissionClient
loop = asyncio.new_event_loop()
client = AsyncJobSubmissionClient(address)
loop.run_until_complete(client.connect())
run = lambda: loop.run_until_complete(client.list_jobs())
canonical = lambda jobs: [job.to_json_dict() for job in jobs]
""",
    RAYS: """
from ray.job_submission import JobSubmissionClient
client = JobSubmissionClient(address)
run = client.list_jobs
canonical = lambda jobs: [job.dict() for job in jobs]
""",
    GENERATED: """
from ray_jobs_api import Client
from ray_jobs_api.api.jobs import list_jobs
api = Client(base_url=address)
run = lambda: list_jobs.sync_detailed(client=api).parsed
canonical = lambda jobs: [job.to_dict() for job in jobs]
""",
    HTTPX_JSON: """
import httpx
http = httpx.Client(base_url=address)
run = lambda: json.loads(http.get("/api/jobs/").content)
canonical = lambda jobs: jobs
""",
    JSON_ONLY: """
import httpx
body = httpx.get(address + "/api/jobs/").content
run = lambda: json.loads(body)
canonical = lambda jobs: jobs
""",
}

#: argv = [setup code, address, timed calls]. Prints {"seconds": [...], "cpu": [...], "gc": [...],
#: "peak": bytes, "jobs": n, "digest": sha256 of the canonical jobs}; "gc" is the CPU time each call
#: spent in the cyclic garbage collector.
_CHILD = """
import gc, hashlib, json, sys, time, tracemalloc
setup, address, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
exec(setup)
first = run()
digest = hashlib.sha256(json.dumps(canonical(first), sort_keys=True, default=str).encode()).hexdigest()
jobs = len(first)
del first
in_gc = [0.0, 0.0]

def on_gc(phase, info):
    if phase == "start":
        in_gc[1] = time.process_time()
    else:
        in_gc[0] += time.process_time() - in_gc[1]

gc.callbacks.append(on_gc)
seconds, cpu, collector = [], [], []
for _ in range(calls):
    gc.collect()
    in_gc[0] = 0.0
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    result = run()
    seconds.append(time.perf_counter() - wall_start)
    cpu.append(time.process_time() - cpu_start)
    collector.append(in_gc[0])
    del result
gc.callbacks.remove(on_gc)
gc.collect()
tracemalloc.start()
result = run()
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
report = {"seconds": seconds, "cpu": cpu, "gc": collector, "peak": peak, "jobs": jobs, "digest": digest}
print(json.dumps(report))
"""

#: The stand-in job server: argv = [file with {"job": …, "version": …}, count]. Prints its port,
#: then serves until terminated. The body is built once; each request only writes it.
_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
with open(sys.argv[1]) as source:
    recorded = json.load(source)
bodies = {
    "/api/jobs/": json.dumps([recorded["job"]] * int(sys.argv[2])).encode(),
    "/api/version": json.dumps(recorded["version"]).encode(),
}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the head and the body are written apart: no delayed-ACK stall

    def do_GET(self):
        body = bodies.get(self.path)
        if body is None:
            self.send_response(404)
            body = b"404: Not Found"
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class StandInServer:
    """The stand-in job server in a child process, answering ``count`` copies of the recorded job."""

    def __init__(self, recorded: Path, count: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(recorded), str(count)],
            stdout=subprocess.PIPE,
            text=True,
            env=python_env(),
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().strip()
        if not port:
            self.stop()
            raise RuntimeError("the stand-in job server did not start")
        self.address = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def record_real_job(address: str) -> dict[str, Any]:
    """Submit a job that connects to Ray, wait for it, and return its JSON and the version answer."""
    with JobSubmissionClient(address) as client:
        job_id = client.submit_job(
            entrypoint="python -c \"import ray; ray.init(); print('connected')\"",
            metadata={"benchmark": "list_scale"},
            runtime_env={"env_vars": {"BENCHMARK": "list_scale"}},
        )
        client.wait_until_finished(job_id, poll=0.25, timeout=300)
    with httpx.Client(base_url=address, timeout=30) as http:
        job = http.get(f"/api/jobs/{job_id}").raise_for_status().json()
        version = http.get("/api/version").raise_for_status().json()
    return {"job": job, "version": version}


def measure(address: str, counts: tuple[int, ...], rounds: int, calls: int) -> Figure:
    """Time and trace ``list_jobs`` of each way at each count: ``rounds`` child processes per way,
    ``calls`` timed calls in each."""
    recorded = record_real_job(address)
    results: dict[int, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="rjc-bench-list-") as scratch:
        recorded_file = Path(scratch) / "job.json"
        recorded_file.write_text(json.dumps(recorded))
        for count in counts:
            server = StandInServer(recorded_file, count)
            try:
                results[count] = _measure_count(server.address, rounds, calls)
            finally:
                server.stop()
    body_bytes = len(json.dumps(recorded["job"]).encode())
    return _figure(results, recorded["job"], body_bytes, rounds, calls)


def _measure_count(address: str, rounds: int, calls: int) -> dict[str, list[dict[str, Any]]]:
    """Every way in ``rounds`` child processes each, rotated; the children's reports per way."""
    reports: dict[str, list[dict[str, Any]]] = {way: [] for way in _SETUP}

    def child(way: str) -> float:
        report = run_json_child(_CHILD, _SETUP[way], address, str(calls), timeout=900)
        reports[way].append(report)
        return float(Summary.of(report["seconds"]).median)

    interleave({way: partial(child, way) for way in _SETUP}, rounds)
    return reports


def _figure(
    results: dict[int, dict[str, list[dict[str, Any]]]],
    job: dict[str, Any],
    job_bytes: int,
    rounds: int,
    calls: int,
) -> Figure:
    tables: list[Table] = []
    targets: list[Target] = []
    notes: list[str] = []
    for count, reports in results.items():
        wall = {way: Summary.of(s for r in runs for s in r["seconds"]) for way, runs in reports.items()}
        cpu = {way: Summary.of(s for r in runs for s in r["cpu"]) for way, runs in reports.items()}
        in_gc = {way: Summary.of(s for r in runs for s in r["gc"]) for way, runs in reports.items()}
        peak = {way: max(r["peak"] for r in runs) for way, runs in reports.items()}
        rays_time, rays_peak = wall[RAYS].median, peak[RAYS]
        table = Table(
            [
                "way",
                "median (ms)",
                "IQR (ms)",
                "CPU (ms)",
                "of which GC (ms)",
                "vs Ray's time",
                "heap peak",
                "vs Ray's heap",
            ],
            caption=f"**{count:,} jobs** (a {count * (job_bytes + 2) / 2**20:.1f} MiB body; {rounds} child "
            f"processes per way, {calls} timed calls each):",
        )
        for way in _SETUP:
            table.add(
                way,
                f"{wall[way].median * 1e3:.1f}",
                wall[way].iqr(1e3, 1),
                f"{cpu[way].median * 1e3:.1f}",
                f"{in_gc[way].median * 1e3:.1f}",
                ratio(wall[way].median, rays_time),
                mib(peak[way]),
                f"{peak[way] / rays_peak:.0%}",
            )
        tables.append(table)
        notes.append(_agreement(count, reports))
        if count == max(results):
            notes.append(_where_the_time_goes(count, cpu, in_gc))
        if count == TARGET_SIZE:
            for way in (OURS_SYNC, OURS_ASYNC):
                share = wall[way].median / rays_time
                targets.append(
                    Target(
                        f"`list_jobs` of {count:,} jobs, {way.split(', ')[1]}: time",
                        f"≤ {TARGET_TIME}x Ray's client",
                        f"{share:.2f}x ({wall[way].median * 1e3:.0f} vs {rays_time * 1e3:.0f} ms)",
                        share <= TARGET_TIME,
                    )
                )
                targets.append(
                    Target(
                        f"`list_jobs` of {count:,} jobs, {way.split(', ')[1]}: heap peak",
                        "≤ Ray's client",
                        f"{mib(peak[way])} vs {mib(rays_peak)}",
                        peak[way] <= rays_peak,
                    )
                )
    shown = json.dumps(job)
    return Figure(
        title="9. `list_jobs` at scale",
        method=(
            "A stand-in job server (a child process) answers `GET /api/jobs/` with N copies of a real "
            f"job's JSON, recorded from the benchmark's head ({job_bytes} bytes: `{_clip(shown)}`). Each "
            "way runs in fresh child interpreters that import only what it needs; the ways rotate. In "
            "each child: one warm-up call, the timed calls (wall and CPU time, after a `gc.collect()`), "
            "then one call under `tracemalloc` for the peak of Python's heap, the result included."
        ),
        tables=tables,
        targets=targets,
        notes=notes,
    )


def _where_the_time_goes(count: int, cpu: dict[str, Summary], in_gc: dict[str, Summary]) -> str:
    """The note that reads the largest table: decoding, converting, collecting garbage."""

    def ms(summaries: dict[str, Summary], way: str) -> str:
        return f"{summaries[way].median * 1e3:.0f} ms"

    converting = cpu[OURS_SYNC].median - cpu[HTTPX_JSON].median
    return (
        f"Where the CPU goes at {count:,} jobs: the request and `json.loads` take {ms(cpu, HTTPX_JSON)} "
        f"(decoding alone {ms(cpu, JSON_ONLY)}); our sync client adds {converting * 1e3:.0f} ms on top "
        f"to build the public `JobDetails`, once per job, from the decoded JSON (`ray_jobs_api`'s "
        f"`as_json=True`, then `job_details_from_json`). Python's cyclic garbage collector runs while "
        f"the objects pile up and walks the growing heap again and again: {ms(in_gc, OURS_SYNC)} of our "
        f"sync client's {ms(cpu, OURS_SYNC)}, {ms(in_gc, RAYS)} of Ray's {ms(cpu, RAYS)}, and "
        f"{ms(in_gc, GENERATED)} of the generated client's {ms(cpu, GENERATED)}, which builds attrs models "
        "(a job, its driver info, metadata and runtime_env: four objects) beside the decoded JSON: what "
        "our clients would pay if they converted those models instead of the JSON."
    )


def _agreement(count: int, reports: dict[str, list[dict[str, Any]]]) -> str:
    digests = {way: {r["digest"] for r in runs} for way, runs in reports.items()}
    jobs = {r["jobs"] for runs in reports.values() for r in runs}
    if jobs == {count} and len(set().union(*digests.values())) == 1:
        return (
            f"Verified at {count:,} jobs: every way returned the same {count:,} jobs, field for field "
            "(a digest of each way's jobs as plain JSON)."
        )
    return f"**Verification failed** at {count:,} jobs: job counts {sorted(jobs)}, digests {digests}."


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
