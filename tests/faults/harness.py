"""Helpers for the fault-injection tests: direct (proxy-free) access to the head for set-up and
checks, a job that prints numbered lines, and sync and async clients behind one sync interface."""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

import httpx
from drivers import open_driver
from ray_jobs_client.models import TERMINAL_STATUSES as TERMINAL
from waiting import wait_for


def line_printer(lines: int, interval: float) -> str:
    """An entrypoint printing ``line 0`` … ``line <lines-1>``, one every ``interval`` seconds."""
    script = (
        f"import time\nfor i in range({lines}):\n"
        f"    print(f'line {{i}}', flush=True)\n    time.sleep({interval})"
    )
    return f'python -c "{script}"'


def printed_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("line ")]


class HeadJobs:
    """The session head reached directly, bypassing any proxy: the ground truth for assertions."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.submitted: list[str] = []

    def submit(self, entrypoint: str) -> str:
        response = self.http.post("/api/jobs/", json={"entrypoint": entrypoint})
        response.raise_for_status()
        job_id: str = response.json()["submission_id"]
        self.submitted.append(job_id)
        return job_id

    def info(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"/api/jobs/{job_id}")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def wait(self, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            info = self.info(job_id)
            return info if info["status"] in TERMINAL else None

        return wait_for(finished, timeout=timeout, what=f"job {job_id} to finish", interval=0.2)

    def logs(self, job_id: str) -> str:
        response = self.http.get(f"/api/jobs/{job_id}/logs")
        response.raise_for_status()
        return response.json()["logs"]  # type: ignore[no-any-return]

    def with_entrypoint_containing(self, marker: str) -> list[dict[str, Any]]:
        return [job for job in self.http.get("/api/jobs/").json() if marker in job["entrypoint"]]

    def stop_unfinished(self) -> None:
        for job_id in self.submitted:
            response = self.http.get(f"/api/jobs/{job_id}")
            if response.status_code == 200 and response.json()["status"] not in TERMINAL:
                self.http.post(f"/api/jobs/{job_id}/stop")


@dataclass
class Followed:
    chunks: list[str] = field(default_factory=list)
    logs: str = ""  # get_job_logs through the same address afterwards
    error: BaseException | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def follow_concurrently(
    address: str, job_id: str, *, with_ray: bool = False, **settings: Any
) -> dict[str, Followed]:
    """Follow one job's log with the sync and the async client (built with ``settings``) at once,
    and with Ray's own client if ``with_ray``, each in its own thread; then each of ours reads the
    whole log with ``get_job_logs`` through the same address."""

    def ours(kind: str) -> Followed:
        driver = open_driver(kind, address, **settings)
        try:
            chunks = driver.follow(job_id)
            return Followed(chunks, driver.get_job_logs(job_id))
        finally:
            driver.close()

    def rays() -> Followed:
        from ray.job_submission import JobSubmissionClient as RayClient

        followed = Followed()

        async def tail() -> None:
            async for chunk in RayClient(address).tail_job_logs(job_id):
                followed.chunks.append(chunk)

        try:
            asyncio.run(tail())
        except Exception as exc:  # Ray's client raises on an abnormal close: that is what we compare
            followed.error = exc
        return followed

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futures = {kind: pool.submit(ours, kind) for kind in ("sync", "async")}
        if with_ray:
            futures["ray"] = pool.submit(rays)
        return {kind: future.result() for kind, future in futures.items()}
