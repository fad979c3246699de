"""The public API as a type checker sees it from the installed package: never run, only checked.

``tests/packaging/test_typing.py`` runs ``mypy --strict`` and ``pyright --strict`` on this file in the
clean venv that has only the installed wheel (``make wheel-venv``), so it checks what users get: the
annotations shipped in the wheel, found through its ``py.typed`` markers. Without a marker mypy
refuses the package (``import-untyped``) and pyright, told not to read untyped libraries, cannot
resolve it. ``assert_type`` is exact: an ``Any`` where a type is declared fails too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from typing import Any, assert_type

import httpx
import ray_jobs_client
from ray_jobs_api import AuthenticatedClient, Client
from ray_jobs_api.api.jobs import get_job_info, list_jobs, submit_job
from ray_jobs_api.api.version import get_version
from ray_jobs_api.models import JobDetails as ApiJobDetails
from ray_jobs_api.models import JobStatus as ApiJobStatus
from ray_jobs_api.models import JobSubmitRequest, JobSubmitResponse, VersionResponse
from ray_jobs_api.types import Response
from ray_jobs_client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncJobSubmissionClient,
    AuthenticationError,
    ClientClosedError,
    ClusterRestartedError,
    DriverInfo,
    HostNotFoundError,
    JobAlreadyExistsError,
    JobDetails,
    JobInfo,
    JobNotFoundError,
    JobNotTerminalError,
    JobsClientError,
    JobStatus,
    JobSubmissionClient,
    JobType,
    LogDecodeError,
    LogStreamError,
    OutagePolicy,
    RetryPolicy,
    ServerUnreachableError,
    TailPolicy,
    TLSError,
)
from ray_jobs_client.errors import JobWaitTimeoutError, UnsupportedServerError


def version() -> None:
    assert_type(ray_jobs_client.__version__, str)


def sync_client(address: str) -> None:
    with JobSubmissionClient(address, headers={"X-Team": "a"}, timeout=30, retries=2) as client:
        assert_type(client, JobSubmissionClient)
        job_id = client.submit_job(
            entrypoint="python run.py",
            runtime_env={"working_dir": "."},
            metadata={"owner": "me"},
            entrypoint_num_cpus=1,
        )
        assert_type(job_id, str)
        assert_type(client.get_version(), str)
        assert_type(client.get_job_status(job_id), JobStatus)
        assert_type(client.get_job_info(job_id), JobDetails)
        assert_type(client.list_jobs(), list[JobDetails])
        assert_type(client.get_job_logs(job_id), str)
        assert_type(client.iter_job_logs(job_id), Iterator[str])
        assert_type(client.follow_job_logs(job_id), Iterator[str])
        assert_type(client.tail_job_logs(job_id), AsyncIterator[str])
        assert_type(client.wait_until_finished(job_id, timeout=60), JobDetails)
        assert_type(client.as_completed([job_id, "other"], timeout=60, poll=0.5), Iterator[JobDetails])
        for finished in client.as_completed((job_id,)):
            assert_type(finished, JobDetails)
        assert_type(client.stop_job(job_id), bool)
        assert_type(client.delete_job(job_id), bool)
    client.close()


def own_http_client(address: str) -> None:
    with (
        httpx.Client(verify="ca.pem", cert=("client.pem", "client.key")) as http,
        JobSubmissionClient(
            address,
            http_client=http,
            retries=RetryPolicy(max_retries=3, deadline_factor=2.0),
            outage_patience=OutagePolicy(patience=None),
        ) as client,
    ):
        assert_type(client.get_address(), str)
    AsyncJobSubmissionClient(address, http_client=httpx.AsyncClient(), outage_patience=60)


async def async_client(address: str) -> None:
    async with AsyncJobSubmissionClient(address, tail_policy=TailPolicy(max_reconnects=3)) as client:
        assert_type(client, AsyncJobSubmissionClient)
        job_id = await client.submit_job(entrypoint="echo hi")
        assert_type(job_id, str)
        assert_type(await client.get_version(), str)
        assert_type(await client.get_job_status(job_id), JobStatus)
        assert_type(await client.get_job_info(job_id), JobDetails)
        assert_type(await client.list_jobs(), list[JobDetails])
        assert_type(await client.get_job_logs(job_id), str)
        async for chunk in client.tail_job_logs(job_id):
            assert_type(chunk, str)
        async for piece in client.iter_job_logs(job_id):
            assert_type(piece, str)
        assert_type(await client.wait_until_finished(job_id), JobDetails)
        assert_type(client.as_completed([job_id], timeout=60), AsyncIterator[JobDetails])
        async for finished in client.as_completed({job_id}, poll=2):
            assert_type(finished, JobDetails)
        assert_type(await client.stop_job(job_id), bool)
        assert_type(await client.delete_job(job_id), bool)
    await client.aclose()


def models(details: JobDetails, info: JobInfo) -> None:
    assert_type(details.status, JobStatus)
    assert_type(details.status.is_terminal(), bool)
    assert_type(details.is_finished(), bool)
    assert_type(details.type, JobType)
    assert_type(details.submission_id, str | None)
    assert_type(details.driver_info, DriverInfo | None)
    if details.driver_info is not None:
        assert_type(details.driver_info.pid, str)
    assert_type(details.start_time, int | None)
    assert_type(details.metadata, dict[str, str] | None)
    assert_type(details.extra, dict[str, Any])
    assert_type(details.dict(), dict[str, Any])
    assert_type(details.to_json_dict(), dict[str, Any])
    assert_type(info.entrypoint_memory, int | None)
    assert_type(JobStatus("RUNNING"), JobStatus)


def errors(exc: Exception) -> None:
    if isinstance(exc, APIStatusError):
        assert_type(exc.status_code, int)
        assert_type(exc.body, str)
        assert_type(exc.server_message, str)
        assert_type(exc.retry_after, float | None)
    if isinstance(exc, JobNotFoundError | JobAlreadyExistsError | JobNotTerminalError):
        assert_type(exc.status_code, int)
    # Ray's builtin types are part of the contract: `except RuntimeError` catches HTTP failures.
    runtime: RuntimeError = JobNotFoundError(404, "not found")
    connection: ConnectionError = APIConnectionError("refused")
    timeout: TimeoutError = APITimeoutError("slow")
    base: JobsClientError = AuthenticationError("no token")
    stream: RuntimeError = LogStreamError("cut")
    del runtime, connection, timeout, base, stream
    waited = JobWaitTimeoutError("too slow", job_id="j", last_status="RUNNING")
    assert_type(waited.job_id, str)
    assert_type(waited.last_status, str | None)
    assert_type(waited.unfinished, dict[str, str | None])
    unsupported = UnsupportedServerError("old", feature="x", required_version="2.40.0", server_version=None)
    assert_type(unsupported.server_version, str | None)
    if isinstance(exc, ServerUnreachableError):
        assert_type(exc.unreachable_for, float)
        assert_type(exc.what, str)
    if isinstance(exc, ClusterRestartedError):
        assert_type(exc.old_session, str)
        assert_type(exc.new_session, str)
    if isinstance(exc, LogDecodeError):
        assert_type(exc.job_id, str)
    permanent: ConnectionError = TLSError("handshake") if exc else HostNotFoundError("nxdomain")
    closed: RuntimeError = ClientClosedError("closed")
    del permanent, closed


def generated(address: str, token: str) -> None:
    client = AuthenticatedClient(base_url=address, token=token, timeout=httpx.Timeout(10))
    plain = Client(base_url=address)
    assert_type(get_version.sync(client=plain), VersionResponse | str | None)
    info = get_job_info.sync_detailed("job", client=client)
    assert_type(info, Response[ApiJobDetails | str])
    assert_type(info.status_code, HTTPStatus)
    if isinstance(info.parsed, ApiJobDetails):
        assert_type(info.parsed.status, ApiJobStatus | str)
        assert_type(info.parsed.entrypoint, str)
    jobs = list_jobs.sync_detailed(client=client)
    assert_type(jobs.parsed, list[ApiJobDetails] | str | None)
    assert_type(jobs.content, bytes)
    submitted = submit_job.sync_detailed(client=client, body=JobSubmitRequest(entrypoint="echo hi"))
    if isinstance(submitted.parsed, JobSubmitResponse):
        assert_type(submitted.parsed.submission_id, str)


async def generated_async(address: str) -> None:
    async with Client(base_url=address) as client:
        assert_type(await get_version.asyncio(client=client), VersionResponse | str | None)
