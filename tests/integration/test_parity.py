"""Side by side with Ray's own ``JobSubmissionClient`` on the same live head: same inputs, same observations.

Ray's client is the reference: where the two are compared, whatever Ray returns or raises is what
ours must return or raise (our exceptions are subclasses of the builtins Ray raises). Where Ray
does something we deliberately do not copy (mutating the caller's metadata dict), the test says so.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from integration_support import (
    HELLO_LINES,
    HELLO_SCRIPT,
    SLEEP_ENTRYPOINT,
    hello_lines,
    python_entrypoint,
    wait_status,
    wait_terminal,
    write_minimal_wheel,
    write_module_dir,
)
from ray_jobs_client import (
    AsyncJobSubmissionClient,
    JobAlreadyExistsError,
    JobDetails,
    JobNotFoundError,
    JobNotTerminalError,
    JobStatus,
    JobSubmissionClient,
)
from ray_jobs_client.errors import APIConnectionError
from ray_jobs_client.testing import free_port
from waiting import let_job_manager_finish

pytestmark = pytest.mark.live

#: Fields that differ between two submissions of the same inputs.
PER_SUBMISSION = ("submission_id", "job_id", "driver_info", "start_time", "end_time")


@pytest.fixture(scope="module")
def ray_module(head_address: str) -> Any:
    """``ray.job_submission``, imported once per module (slow) after the head set the auth env."""
    import ray.job_submission

    return ray.job_submission


@pytest.fixture(scope="module")
def ray_client(ray_module: Any, head_address: str) -> Any:
    return ray_module.JobSubmissionClient(head_address)


@pytest.fixture(scope="module")
def ours(head_address: str) -> Iterator[JobSubmissionClient]:
    with JobSubmissionClient(head_address) as client:
        yield client


def ray_dict(details: Any) -> dict[str, Any]:
    """Ray's ``JobDetails.dict()`` (pydantic warns that ``dict`` is deprecated; users still call it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return dict(details.dict())


def without(info: dict[str, Any], keys: tuple[str, ...] = PER_SUBMISSION) -> dict[str, Any]:
    return {key: value for key, value in info.items() if key not in keys}


def listed(jobs: list[Any], submission_id: str) -> Any:
    return next((job for job in jobs if job.submission_id == submission_id), None)


def raised(call: Any, *args: Any, **kwargs: Any) -> BaseException:
    """The exception ``call`` raises (fails the test if it returns)."""
    with pytest.raises(BaseException) as caught:
        call(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------------------------ job lifecycle


@pytest.mark.release
def test_same_job_is_reported_identically(
    ray_module: Any, ray_client: Any, ours: JobSubmissionClient, unique_id: str
) -> None:
    inputs: dict[str, Any] = {
        "entrypoint": 'echo "parity $RJC_VALUE"',
        "runtime_env": {"env_vars": {"RJC_VALUE": "42"}, "config": {"setup_timeout_seconds": 120}},
        "metadata": {"team": "parity"},
    }
    ray_id, our_id = f"{unique_id}-ray", f"{unique_id}-ours"
    assert ray_client.submit_job(submission_id=ray_id, **inputs) == ray_id
    assert ours.submit_job(submission_id=our_id, **inputs) == our_id
    assert wait_terminal(ray_client, ray_id) == "SUCCEEDED"
    assert wait_terminal(ray_client, our_id) == "SUCCEEDED"

    for submission_id in (ray_id, our_id):
        # One job, two readers: every observation is equal.
        ray_status, our_status = ray_client.get_job_status(submission_id), ours.get_job_status(submission_id)
        assert our_status == ray_status == ray_module.JobStatus.SUCCEEDED
        assert our_status.value == ray_status.value == "SUCCEEDED"
        assert isinstance(our_status, JobStatus)
        assert ours.get_job_info(submission_id).dict() == ray_dict(ray_client.get_job_info(submission_id))
        assert ours.get_job_logs(submission_id) == ray_client.get_job_logs(submission_id)
        ray_listed, our_listed = (
            listed(ray_client.list_jobs(), submission_id),
            listed(ours.list_jobs(), submission_id),
        )
        assert ray_listed is not None and our_listed is not None
        assert isinstance(our_listed, JobDetails)
        assert our_listed.dict() == ray_dict(ray_listed)

    # Two submissions of the same inputs, one per client: the server stored the same job.
    ray_info, our_info = ray_dict(ray_client.get_job_info(ray_id)), ours.get_job_info(our_id).dict()
    assert without(our_info) == without(ray_info)
    assert our_info["runtime_env"]["config"] == ray_info["runtime_env"]["config"]  # Ray's defaults added
    assert "parity 42" in ours.get_job_logs(our_id)


@pytest.mark.release
def test_stop_and_delete_return_the_same_values(
    ray_client: Any, ours: JobSubmissionClient, unique_id: str
) -> None:
    ray_id, our_id = f"{unique_id}-ray", f"{unique_id}-ours"
    assert ray_client.submit_job(entrypoint=SLEEP_ENTRYPOINT, submission_id=ray_id) == ray_id
    assert ours.submit_job(entrypoint=SLEEP_ENTRYPOINT, submission_id=our_id) == our_id
    try:
        wait_status(ray_client, ray_id, "RUNNING")
        wait_status(ray_client, our_id, "RUNNING")
        ray_error = raised(ray_client.delete_job, ray_id)
        our_error = raised(ours.delete_job, our_id)
        assert type(ray_error) is RuntimeError
        assert isinstance(our_error, RuntimeError)
        assert isinstance(our_error, JobNotTerminalError)
        for error, submission_id in ((ray_error, ray_id), (our_error, our_id)):
            assert (
                f"Attempted to delete job '{submission_id}', but it is in a non-terminal state RUNNING"
                in str(error)
            )
    finally:
        ray_stopped = ray_client.stop_job(ray_id)
        our_stopped = ours.stop_job(our_id)
    assert ray_stopped is True
    assert our_stopped is True
    assert wait_terminal(ray_client, ray_id) == wait_terminal(ray_client, our_id) == "STOPPED"
    assert ray_client.stop_job(ray_id) is False
    assert ours.stop_job(our_id) is False

    assert without(ours.get_job_info(our_id).dict()) == without(ray_dict(ray_client.get_job_info(ray_id)))

    let_job_manager_finish(ray_client.get_job_info(ray_id).end_time)
    assert ray_client.delete_job(ray_id) is True
    assert ours.delete_job(our_id) is True
    for client in (ray_client, ours):
        ids = {job.submission_id for job in client.list_jobs()}
        assert ray_id not in ids and our_id not in ids


@pytest.mark.release
def test_metadata_merge(ray_module: Any, head_address: str, unique_id: str) -> None:
    defaults = {"k": "client", "c": "1"}
    ray_client = ray_module.JobSubmissionClient(head_address, metadata=dict(defaults))
    ray_id, our_id = f"{unique_id}-ray", f"{unique_id}-ours"
    ray_metadata = {"k": "job", "j": "1"}
    our_metadata = {"k": "job", "j": "1"}
    with JobSubmissionClient(head_address, metadata=dict(defaults)) as ours:
        ray_client.submit_job(entrypoint="echo hi", submission_id=ray_id, metadata=ray_metadata)
        ours.submit_job(entrypoint="echo hi", submission_id=our_id, metadata=our_metadata)
        merged = {"k": "client", "j": "1", "c": "1"}  # the client's default wins on a clash
        assert ray_client.get_job_info(ray_id).metadata == merged
        assert ours.get_job_info(our_id).metadata == merged
        # Ray updates the caller's dict in place; ours leaves it alone (deliberate difference).
        assert ray_metadata == merged
        assert our_metadata == {"k": "job", "j": "1"}
        wait_terminal(ours, ray_id)
        wait_terminal(ours, our_id)


# ------------------------------------------------------------------------------------ errors


@pytest.mark.release
@pytest.mark.parametrize(
    "operation", ["get_job_info", "get_job_status", "stop_job", "delete_job", "get_job_logs"]
)
def test_unknown_job_errors_match(ray_client: Any, ours: JobSubmissionClient, operation: str) -> None:
    ray_error = raised(getattr(ray_client, operation), "rjc-parity-no-such-job")
    our_error = raised(getattr(ours, operation), "rjc-parity-no-such-job")
    assert type(ray_error) is RuntimeError
    assert isinstance(our_error, RuntimeError)
    assert isinstance(our_error, JobNotFoundError)
    assert "rjc-parity-no-such-job does not exist" in str(ray_error)
    assert str(our_error) == str(ray_error)


@pytest.mark.release
def test_duplicate_submission_id(ray_client: Any, ours: JobSubmissionClient, unique_id: str) -> None:
    ray_client.submit_job(entrypoint="echo first", submission_id=unique_id)
    ray_error = raised(ray_client.submit_job, entrypoint="echo again", submission_id=unique_id)
    our_error = raised(ours.submit_job, entrypoint="echo again", submission_id=unique_id)
    assert type(ray_error) is RuntimeError
    assert isinstance(our_error, JobAlreadyExistsError)
    ending = f"Job with submission_id {unique_id} already exists. Please use a different submission_id.\n.\n."
    assert str(ray_error).endswith(ending)
    assert str(our_error).endswith(ending)
    assert str(our_error).startswith("Request failed with status code 500: ")
    wait_terminal(ours, unique_id)


@pytest.mark.parametrize(
    "arguments",
    [{"entrypoint_memory": 1.5}, {"entrypoint_num_cpus": "1"}, {"metadata": {"a": 1}}],
    ids=["memory-float", "cpus-str", "metadata-int-value"],
)
def test_wrongly_typed_submit_argument_is_a_type_error(
    ray_client: Any, ours: JobSubmissionClient, arguments: dict[str, Any]
) -> None:
    """Ray checks the request's types in the client and raises TypeError; nothing is submitted."""
    ray_error = raised(ray_client.submit_job, entrypoint="echo never", **arguments)
    our_error = raised(ours.submit_job, entrypoint="echo never", **arguments)
    assert type(ray_error) is TypeError
    assert isinstance(our_error, TypeError), f"ours raised {our_error!r}, Ray raised {ray_error!r}"
    assert str(ray_error) in str(our_error)


def test_unreachable_server_is_a_connection_error(ray_module: Any) -> None:
    address = f"http://127.0.0.1:{free_port()}"
    ray_error = raised(ray_module.JobSubmissionClient, address)
    our_error = raised(JobSubmissionClient, address)
    assert type(ray_error) is ConnectionError
    assert isinstance(our_error, ConnectionError)
    assert isinstance(our_error, APIConnectionError)
    assert str(ray_error).startswith(f"Failed to connect to Ray at address: {address}")
    assert str(our_error).startswith(f"Failed to connect to Ray at address: {address}")


# ------------------------------------------------------------------------------------ addresses


def test_address_from_the_environment(
    ray_module: Any, head_address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", head_address)
    monkeypatch.setenv("RAY_ADDRESS", nowhere)
    ray_client = ray_module.JobSubmissionClient(nowhere)
    with JobSubmissionClient(nowhere) as ours:
        assert ours.get_address() == ray_client.get_address() == head_address

    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "")  # empty: ignored
    monkeypatch.setenv("RAY_ADDRESS", head_address)
    ray_client = ray_module.JobSubmissionClient(nowhere)
    with JobSubmissionClient(nowhere) as ours:
        assert ours.get_address() == ray_client.get_address() == head_address
        assert ours.get_version() == ray_client.get_version() == "4"


def test_trailing_slashes_are_stripped(ray_module: Any, head_address: str) -> None:
    ray_client = ray_module.JobSubmissionClient(head_address + "///")
    with JobSubmissionClient(head_address + "///") as ours:
        assert ours.get_address() == ray_client.get_address() == head_address
        assert ours.get_version() == ray_client.get_version()


# ------------------------------------------------------------------------------------ logs


@pytest.mark.release
@pytest.mark.filterwarnings("ignore:ssl=None is deprecated:DeprecationWarning")  # inside Ray's client
def test_tail_logs_match_rays(ray_client: Any, head_address: str, unique_id: str) -> None:
    ray_client.submit_job(entrypoint=python_entrypoint(HELLO_SCRIPT), submission_id=unique_id)

    followed: list[str] = []
    follow_errors: list[BaseException] = []

    def follow() -> None:
        try:
            with JobSubmissionClient(head_address) as sync_client:
                followed.extend(sync_client.follow_job_logs(unique_id))
        except BaseException as exc:
            follow_errors.append(exc)

    async def collect(client: Any) -> str:
        return "".join([chunk async for chunk in client.tail_job_logs(unique_id)])

    async def tail_all() -> tuple[str, str, str]:
        with JobSubmissionClient(head_address) as sync_client:
            async with AsyncJobSubmissionClient(head_address) as async_client:
                results = await asyncio.gather(
                    collect(ray_client), collect(sync_client), collect(async_client)
                )
        return results[0], results[1], results[2]

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        ray_text, our_sync_tail, our_async_tail = asyncio.run(tail_all())
    finally:
        follower.join(timeout=120)
    assert not follower.is_alive()
    assert not follow_errors, follow_errors

    assert hello_lines(ray_text) == HELLO_LINES
    assert our_sync_tail == ray_text
    assert our_async_tail == ray_text
    assert "".join(followed) == ray_text
    assert ray_client.get_job_logs(unique_id) == ray_text
    assert wait_terminal(ray_client, unique_id) == "SUCCEEDED"


# ------------------------------------------------------------------------------------ packages


@pytest.mark.release
def test_local_working_dir_and_py_modules(
    ray_client: Any, ours: JobSubmissionClient, unique_id: str, tmp_path: Path
) -> None:
    # Contents unique to this run, so that our client really uploads (Ray then finds the packages).
    working_dir = tmp_path / "work"
    working_dir.mkdir()
    (working_dir / "main.py").write_text(
        "from rjc_helper import greet\nimport rjc_wheel\nprint(greet(), rjc_wheel.VALUE)\n", encoding="utf-8"
    )
    module_dir = write_module_dir(tmp_path / "modules", "rjc_helper", f"hello {unique_id}")
    wheel = write_minimal_wheel(tmp_path, "rjc_wheel", "0.1", f"VALUE = 'wheel {unique_id}'\n")
    runtime_env = {"working_dir": str(working_dir), "py_modules": [str(module_dir), str(wheel)]}

    our_id, ray_id = f"{unique_id}-ours", f"{unique_id}-ray"
    given = {"working_dir": str(working_dir), "py_modules": [str(module_dir), str(wheel)]}
    assert (
        ours.submit_job(entrypoint="python main.py", submission_id=our_id, runtime_env=runtime_env) == our_id
    )
    assert runtime_env == given  # the caller's dict is left alone (Ray deep-copies it too)
    assert (
        ray_client.submit_job(entrypoint="python main.py", submission_id=ray_id, runtime_env=runtime_env)
        == ray_id
    )

    our_env = ours.get_job_info(our_id).runtime_env
    ray_env = ray_dict(ray_client.get_job_info(ray_id))["runtime_env"]
    assert our_env == ray_env
    assert our_env is not None
    assert our_env["working_dir"].startswith("gcs://_ray_pkg_")
    assert our_env["py_modules"][0].startswith("gcs://_ray_pkg_")
    assert our_env["py_modules"][1] == "gcs://rjc_wheel-0.1-py3-none-any.whl"

    for submission_id in (our_id, ray_id):
        status = wait_terminal(ours, submission_id)
        logs = ours.get_job_logs(submission_id)
        assert status == "SUCCEEDED", logs
        assert f"hello {unique_id} wheel {unique_id}" in logs
