"""The async client checks the server once, however many first calls start at the same time."""

from __future__ import annotations

import asyncio
import json

import httpx
from ray_jobs_client import AsyncJobSubmissionClient

JOB = {
    "type": "SUBMISSION",
    "job_id": None,
    "submission_id": "raysubmit_a",
    "driver_info": None,
    "status": "SUCCEEDED",
    "entrypoint": "echo hi",
    "message": None,
    "error_type": None,
    "start_time": None,
    "end_time": None,
    "metadata": None,
    "runtime_env": None,
    "driver_agent_http_address": None,
    "driver_node_id": None,
    "driver_exit_code": None,
}


def test_concurrent_first_calls_share_one_version_check() -> None:
    paths: list[str] = []

    async def server(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        await asyncio.sleep(0.01)  # every first call is in flight before the version answer comes
        if request.url.path == "/api/version":
            body = {"version": "4", "ray_version": "2.60.0", "ray_commit": "0" * 40}
            return httpx.Response(200, content=json.dumps(body))
        return httpx.Response(200, content=json.dumps(JOB))

    async def main() -> list[str]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(server))
        client = AsyncJobSubmissionClient("http://jobs.example:8265", http_client=http)
        try:
            statuses = await asyncio.gather(*(client.get_job_status("raysubmit_a") for _ in range(50)))
        finally:
            await client.aclose()
            await http.aclose()
        return [str(status) for status in statuses]

    assert asyncio.run(main()) == ["SUCCEEDED"] * 50
    assert paths.count("/api/version") == 1
    assert paths.count("/api/jobs/raysubmit_a") == 50
