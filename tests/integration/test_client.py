"""Our client alone against the session's live head (token auth on where the release has it), each
point for both twins.

Every test runs once with ``JobSubmissionClient`` and once with ``AsyncJobSubmissionClient``
(the ``twin`` fixture); ``resolve`` awaits a result when the twin is async, so one scenario
serves both. The scenarios replay Ray's own ``test_http_job_server.py`` tests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from head_release import HEAD_RELEASE, TOKEN_AUTH_SINCE, head_is_at_least
from integration_support import (
    HELLO_LINES,
    HELLO_SCRIPT,
    JOB_TIMEOUT,
    SLEEP_ENTRYPOINT,
    VERSION_BODY,
    await_status,
    await_terminal,
    collect_download,
    collect_tail,
    connect,
    hello_lines,
    iterate_tail,
    open_client,
    python_entrypoint,
    resolve,
    stub_server,
)
from ray_jobs_client import (
    AsyncJobSubmissionClient,
    AuthenticationError,
    JobAlreadyExistsError,
    JobDetails,
    JobNotFoundError,
    JobNotTerminalError,
    JobStatus,
    JobSubmissionClient,
)
from ray_jobs_client.errors import (
    BadRequestError,
    PermissionDeniedError,
    UnauthorizedError,
    UnsupportedServerError,
)
from ray_jobs_client.releases import (
    ENTRYPOINT_LABEL_SELECTOR,
    ENTRYPOINT_MEMORY,
    ENTRYPOINT_RESOURCES,
    Feature,
)
from ray_jobs_client.testing import LocalRayHead, free_port

pytestmark = [pytest.mark.live, pytest.mark.anyio]


def _find(jobs: list[JobDetails], submission_id: str) -> JobDetails | None:
    return next((job for job in jobs if job.submission_id == submission_id), None)


# ------------------------------------------------------------------------------------ jobs


@pytest.mark.release
async def test_list_jobs_then_submit_with_env_vars_and_metadata(
    twin: str, head_address: str, unique_id: str
) -> None:
    runtime_env = {"env_vars": {"RJC_GREETING": "hello from env"}}
    metadata = {"owner": "tests", "unique": unique_id}
    async with open_client(twin, head_address) as client:
        before = await resolve(client.list_jobs())
        assert isinstance(before, list)
        assert all(isinstance(job, JobDetails) for job in before)
        # The head is shared by the session, so "empty" means: none of this test's jobs yet.
        assert _find(before, unique_id) is None

        submitted = await resolve(
            client.submit_job(
                entrypoint='echo "$RJC_GREETING"',
                submission_id=unique_id,
                runtime_env=runtime_env,
                metadata=metadata,
            )
        )
        assert submitted == unique_id
        assert await await_terminal(client, unique_id) == "SUCCEEDED"

        job = _find(await resolve(client.list_jobs()), unique_id)
        assert job is not None
        assert job.entrypoint == 'echo "$RJC_GREETING"'
        assert job.status == JobStatus.SUCCEEDED
        assert job.message is not None
        assert job.start_time is not None and job.end_time is not None
        assert job.end_time >= job.start_time
        assert job.runtime_env == runtime_env
        assert job.metadata == metadata

        status = await resolve(client.get_job_status(unique_id))
        assert status == JobStatus.SUCCEEDED
        assert isinstance(status, JobStatus)
        assert "hello from env" in await resolve(client.get_job_logs(unique_id))


@pytest.mark.release
async def test_submit_float_entrypoint_memory_is_a_bad_request(twin: str, head_address: str) -> None:
    async with open_client(twin, head_address) as client:
        with pytest.raises(BadRequestError, match="entrypoint_memory must be an integer") as caught:
            await resolve(client.submit_job(entrypoint="echo never", entrypoint_memory=1.5))  # type: ignore[arg-type]
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.release
async def test_entrypoint_needing_more_cpus_than_the_cluster_waits_for_resources(
    twin: str, head_address: str, unique_id: str
) -> None:
    async with open_client(twin, head_address) as client:
        await resolve(
            client.submit_job(entrypoint="echo never", submission_id=unique_id, entrypoint_num_cpus=3)
        )
        try:
            info = await resolve(client.get_job_info(unique_id))
            assert info.status == JobStatus.PENDING
            assert info.message is not None
            assert "waiting for resources" in info.message
        finally:
            # The server accepts the stop, but a job whose supervisor cannot be scheduled stays
            # PENDING until its start timeout (Ray's server behaviour, also with Ray's client).
            assert await resolve(client.stop_job(unique_id)) is True


@pytest.mark.release
async def test_exception_in_driver_fails_the_job(twin: str, head_address: str, unique_id: str) -> None:
    script = "print('Hello !', flush=True)\nraise RuntimeError('Intentionally failed.')\n"
    async with open_client(twin, head_address) as client:
        await resolve(client.submit_job(entrypoint=python_entrypoint(script), submission_id=unique_id))
        assert await await_terminal(client, unique_id) == "FAILED"
        logs = await resolve(client.get_job_logs(unique_id))
        assert "Hello !" in logs
        assert "RuntimeError: Intentionally failed." in logs
        info = await resolve(client.get_job_info(unique_id))
        # Ray sets error_type since 2.50; before, it is always null (openapi/jobs.yaml).
        assert info.error_type == ("JOB_ENTRYPOINT_COMMAND_ERROR" if head_is_at_least("2.50.0") else None)
        assert info.driver_exit_code == 1


@pytest.mark.release
@pytest.mark.parametrize(
    ("feature", "kwargs"),
    [
        (ENTRYPOINT_RESOURCES, {"entrypoint_num_cpus": 0.5, "entrypoint_resources": {"Custom": 0.5}}),
        (ENTRYPOINT_MEMORY, {"entrypoint_memory": 1024}),
        (ENTRYPOINT_LABEL_SELECTOR, {"entrypoint_label_selector": {"rjc-zone": "nowhere"}}),
    ],
    ids=["resources", "memory", "label_selector"],
)
async def test_a_field_newer_than_the_server_is_refused_before_anything_is_sent(
    twin: str, head_address: str, unique_id: str, feature: Feature, kwargs: dict[str, Any]
) -> None:
    """On a head that predates the field: UnsupportedServerError naming the field and the release,
    and the server never saw the job (it would have answered a 400 TypeError and stored nothing; the
    unit tests show no request is made). On a head that has it: the job is accepted."""
    async with open_client(twin, head_address) as client:
        if not feature.supported_by(HEAD_RELEASE):
            with pytest.raises(UnsupportedServerError) as caught:
                await resolve(client.submit_job(entrypoint="echo gated", submission_id=unique_id, **kwargs))
            assert str(caught.value).startswith(f"Ray version {HEAD_RELEASE} is running on the cluster. ")
            assert f"Please ensure the cluster is running Ray {feature.since_text} or higher." in str(
                caught.value
            )
            assert (caught.value.feature, caught.value.server_version) == (feature.name, HEAD_RELEASE)
            with pytest.raises(JobNotFoundError):
                await resolve(client.get_job_info(unique_id))
            return
        submitted = client.submit_job(entrypoint="echo gated", submission_id=unique_id, **kwargs)
        assert await resolve(submitted) == unique_id
        info = await resolve(client.get_job_info(unique_id))
        assert info.submission_id == unique_id
        await resolve(client.stop_job(unique_id))  # a selector no node matches keeps it PENDING


@pytest.mark.release
async def test_an_empty_label_selector_is_accepted_by_every_release(
    twin: str, head_address: str, unique_id: str
) -> None:
    """``{}`` asks for nothing: sent to servers that know the field, left out for older ones (which
    would refuse the key itself)."""
    async with open_client(twin, head_address) as client:
        await resolve(
            client.submit_job(entrypoint="echo any", submission_id=unique_id, entrypoint_label_selector={})
        )
        assert await await_terminal(client, unique_id) == "SUCCEEDED"


@pytest.mark.release
async def test_stop_and_delete_a_long_running_job(twin: str, head_address: str, unique_id: str) -> None:
    async with open_client(twin, head_address) as client:
        await resolve(client.submit_job(entrypoint=SLEEP_ENTRYPOINT, submission_id=unique_id))
        try:
            await await_status(client, unique_id, lambda s: s == "RUNNING", what="to run")
            with pytest.raises(JobNotTerminalError, match="but it is in a non-terminal state") as caught:
                await resolve(client.delete_job(unique_id))
            assert isinstance(caught.value, RuntimeError)
            assert _find(await resolve(client.list_jobs()), unique_id) is not None
        finally:
            assert await resolve(client.stop_job(unique_id)) is True
        assert await await_terminal(client, unique_id) == "STOPPED"
        assert await resolve(client.stop_job(unique_id)) is False

        assert await resolve(client.delete_job(unique_id)) is True
        assert _find(await resolve(client.list_jobs()), unique_id) is None
        with pytest.raises(JobNotFoundError):
            await resolve(client.get_job_info(unique_id))


@pytest.mark.release
async def test_a_job_deleted_the_moment_it_ends_stays_deleted(
    twin: str, head_address: str, unique_id: str
) -> None:
    """Ray's job manager re-creates a record deleted right after its job ended (as a FAILED job with
    entrypoint "Entrypoint not found."); Ray's client lets that happen, ours waits it out."""
    finished, stopped = f"{unique_id}-finished", f"{unique_id}-stopped"
    async with open_client(twin, head_address) as client:
        # One job at a time, each deleted the moment its end is seen (polling every 20 ms).
        for job_id, entrypoint, status in (
            (finished, "echo done", "SUCCEEDED"),
            (stopped, SLEEP_ENTRYPOINT, "STOPPED"),
        ):
            await resolve(client.submit_job(entrypoint=entrypoint, submission_id=job_id))
            if status == "STOPPED":
                await await_status(client, job_id, lambda s: s == "RUNNING", what="to run")
                assert await resolve(client.stop_job(job_id)) is True
            details = await resolve(client.wait_until_finished(job_id, poll=0.02, timeout=JOB_TIMEOUT))
            assert details.status == status
            assert await resolve(client.delete_job(job_id)) is True

        # Ray's manager notices the end within about a second; watch well past that.
        watch_until = time.monotonic() + 4.0
        while time.monotonic() < watch_until:
            listed = {job.submission_id for job in await resolve(client.list_jobs())}
            assert finished not in listed and stopped not in listed
            for job_id in (finished, stopped):
                with pytest.raises(JobNotFoundError):
                    await resolve(client.get_job_info(job_id))
            await asyncio.sleep(0.2)


#: Prints 20,000 lines (about 1.9 MB) with a quote, a backslash, a tab, é, 中 and an emoji in each: every
#: kind of escape the server's JSON body has, spread over many network reads.
NOISY_LOG_SCRIPT = (
    "for i in range(20000):\n"
    "    print(i, chr(34), chr(92), chr(9), chr(233), chr(0x4E2D), chr(0x1F600), 'x' * 60)\n"
)


@pytest.fixture(scope="module")
def noisy_job(head_address: str) -> str:
    """One finished job with a large log full of escapes, only read by the tests that use it."""
    with JobSubmissionClient(head_address) as client:
        job_id = client.submit_job(entrypoint=python_entrypoint(NOISY_LOG_SCRIPT))
        assert (
            client.wait_until_finished(job_id, timeout=JOB_TIMEOUT, poll=0.25).status == JobStatus.SUCCEEDED
        )
    return job_id


@pytest.mark.both_clients
@pytest.mark.release
async def test_iter_job_logs_streams_exactly_what_get_job_logs_returns(
    twin: str, head_address: str, noisy_job: str
) -> None:
    unique_id = noisy_job
    async with open_client(twin, head_address) as client:
        whole = await resolve(client.get_job_logs(unique_id))
        pieces = await collect_download(client, unique_id)
        assert "".join(pieces) == whole
        assert len(pieces) > 1, "the log arrived in one piece: nothing was streamed"
        assert f'19999 " \\ \t é 中 😀 {"x" * 60}\n' in whole
        with pytest.raises(JobNotFoundError) as caught:
            await collect_download(client, f"{unique_id}-missing")
        with pytest.raises(JobNotFoundError) as expected:
            await resolve(client.get_job_logs(f"{unique_id}-missing"))
        assert str(caught.value) == str(expected.value)


@pytest.mark.release
async def test_deprecated_job_id_kwarg(
    twin: str, head_address: str, unique_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_client(twin, head_address) as client:
        with caplog.at_level(logging.WARNING):
            assert await resolve(client.submit_job(entrypoint="echo hi", job_id=unique_id)) == unique_id
        assert "job_id kwarg is deprecated" in caplog.text
        info = await resolve(client.get_job_info(unique_id))
        assert info.submission_id == unique_id

        with pytest.raises(JobAlreadyExistsError, match=f"{unique_id} already exists") as caught:
            await resolve(client.submit_job(entrypoint="echo hi", job_id=unique_id))
        assert isinstance(caught.value, RuntimeError)
        assert await await_terminal(client, unique_id) == "SUCCEEDED"


@pytest.mark.release
@pytest.mark.parametrize(
    "operation", ["get_job_info", "get_job_status", "stop_job", "delete_job", "get_job_logs"]
)
async def test_nonexistent_job(twin: str, head_address: str, operation: str) -> None:
    async with open_client(twin, head_address) as client:
        with pytest.raises(JobNotFoundError, match="rjc-nonexistent-job does not exist") as caught:
            await resolve(getattr(client, operation)("rjc-nonexistent-job"))
    assert isinstance(caught.value, RuntimeError)
    assert str(caught.value) == "Request failed with status code 404: Job rjc-nonexistent-job does not exist."


@pytest.mark.both_clients
@pytest.mark.release
async def test_tail_of_a_nonexistent_job_raises(twin: str, head_address: str) -> None:
    async with open_client(twin, head_address) as client:
        with pytest.raises(JobNotFoundError, match="rjc-nonexistent-job does not exist") as caught:
            await collect_tail(client, "rjc-nonexistent-job")
    assert isinstance(caught.value, RuntimeError)


@pytest.mark.both_clients
@pytest.mark.release
async def test_tail_job_logs_yields_every_line_in_order(twin: str, head_address: str, unique_id: str) -> None:
    async with open_client(twin, head_address) as client:
        await resolve(client.submit_job(entrypoint=python_entrypoint(HELLO_SCRIPT), submission_id=unique_id))
        chunks = await collect_tail(client, unique_id)
        assert hello_lines("".join(chunks)) == HELLO_LINES
        assert await resolve(client.get_job_status(unique_id)) == JobStatus.SUCCEEDED
        assert "".join(chunks) == await resolve(client.get_job_logs(unique_id))


@pytest.mark.both_clients
@pytest.mark.release
async def test_a_long_line_comes_whole_over_the_websocket(
    twin: str, head_address: str, unique_id: str
) -> None:
    """A 1 MB line (many WebSocket reads) arrives whole while the job still runs, i.e. from the
    stream itself, not from the final ``GET …/logs`` check."""
    script = "import time\nprint('L' * 1_000_000, flush=True)\nprint('after', flush=True)\ntime.sleep(4)\n"
    async with open_client(twin, head_address) as client:
        await resolve(client.submit_job(entrypoint=python_entrypoint(script), submission_id=unique_id))
        received, status_when_seen = "", None
        async for chunk in iterate_tail(client, unique_id):
            received += chunk
            if status_when_seen is None and "after\n" in received:
                status_when_seen = await resolve(client.get_job_status(unique_id))
        assert status_when_seen == JobStatus.RUNNING
        assert "L" * 1_000_000 + "\nafter\n" in received
        assert received == await resolve(client.get_job_logs(unique_id))


# ------------------------------------------------------------------------------------ client


@pytest.mark.release
async def test_get_version(twin: str, head_address: str) -> None:
    async with open_client(twin, head_address) as client:
        assert await resolve(client.get_version()) == "4"
        assert client.get_address() == head_address


@pytest.mark.both_clients
async def test_version_check_404_is_not_a_job_server(twin: str) -> None:
    with stub_server(404, b"404: Not Found") as stub:
        with pytest.raises(RuntimeError, match="Version check returned 404"):
            await connect(twin, stub.address)
        assert stub.requests and stub.requests[0]["path"] == "/api/version"


async def test_async_construction_does_no_io_and_connecting_fails_on_enter() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    client = AsyncJobSubmissionClient(address)  # nothing listens there: no error yet
    assert client.get_address() == address
    with pytest.raises(ConnectionError):
        async with client:
            pass


def test_context_manager_closes_the_pool(head_address: str) -> None:
    with JobSubmissionClient(head_address) as client:
        assert client.get_version() == "4"
    with pytest.raises(RuntimeError, match="closed"):
        client.get_version()


async def test_async_context_manager_closes_the_pool(head_address: str) -> None:
    async with AsyncJobSubmissionClient(head_address) as client:
        assert await client.get_version() == "4"
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_version()


@pytest.mark.both_clients
async def test_repr_shows_only_the_address(twin: str) -> None:
    secrets = {"headers": {"Authorization": "Bearer secret-xyz"}, "cookies": {"session": "cookie-secret"}}
    with stub_server(200, VERSION_BODY, "application/json") as stub:
        async with open_client(twin, stub.address, **secrets) as client:
            text = repr(client)
        sent = stub.requests[0]
    assert text == f"{type(client).__name__}(address={stub.address!r})"
    assert "secret-xyz" not in text and "cookie-secret" not in text
    # The caller's Authorization header won over the session's RAY_AUTH_TOKEN; cookies were sent.
    assert sent["authorization"] == "Bearer secret-xyz"
    assert "session=cookie-secret" in sent.get("cookie", "")


# ------------------------------------------------------------------------------------ token auth

TOKEN_AUTH = pytest.mark.ray_since(TOKEN_AUTH_SINCE, "token authentication")


@pytest.mark.release
@TOKEN_AUTH
async def test_no_token_mode_is_refused_by_a_token_cluster(
    twin: str, head_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_AUTH_MODE")
    with pytest.raises(AuthenticationError, match="Unauthorized: Missing authentication token") as caught:
        await connect(twin, head_address)
    assert isinstance(caught.value, RuntimeError)
    assert isinstance(caught.value, UnauthorizedError)
    assert caught.value.status_code == 401


@pytest.mark.release
@TOKEN_AUTH
async def test_wrong_token_is_refused(twin: str, head_address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_TOKEN", "not-the-token")
    with pytest.raises(PermissionDeniedError, match="Forbidden: Invalid authentication token") as caught:
        await connect(twin, head_address)
    assert isinstance(caught.value, AuthenticationError)
    assert isinstance(caught.value, RuntimeError)
    assert caught.value.status_code == 403


@pytest.mark.release
@TOKEN_AUTH
async def test_caller_authorization_header_wins_over_the_environment(
    twin: str, ray_head: LocalRayHead, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = {"Authorization": f"Bearer {ray_head.token}"}
    monkeypatch.setenv("RAY_AUTH_TOKEN", "not-the-token")
    async with open_client(twin, ray_head.address, headers=good) as client:
        assert await resolve(client.get_version()) == "4"

    monkeypatch.setenv("RAY_AUTH_TOKEN", str(ray_head.token))
    bad: dict[str, Any] = {"authorization": "Bearer not-the-token"}
    with pytest.raises(PermissionDeniedError):
        await connect(twin, ray_head.address, headers=bad)
