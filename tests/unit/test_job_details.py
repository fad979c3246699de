"""A job as the server sends it becomes the public ``JobDetails`` in one conversion, read tolerantly.

``list_jobs`` and ``get_job_info`` take the decoded JSON from the generated endpoints (``as_json=True``)
and build the public model straight from it (``models.job_details_from_json``). The clients here talk
to a fake job server on ``httpx.MockTransport`` (passed as ``http_client=``) so that the whole path
runs: what a real head sends is covered live by ``tests/integration`` and ``tests/contract``; what
only a broken or newer server would send (unknown fields and statuses, other types, missing keys) is
played here. Such answers used to fail the call (the whole list); now they are read as well as they
can be, nothing of them lost (``to_json_dict()``), and only a record that is no job is refused.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest
from ray_jobs_api import Client as ApiClient
from ray_jobs_api.api.jobs import get_job_info, list_jobs
from ray_jobs_api.models import JobDetails as ApiJobDetails
from ray_jobs_api.models import JobStatus as ApiJobStatus
from ray_jobs_api.models import JobSubmitRequest
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.errors import UnexpectedResponseError
from ray_jobs_client.models import (
    DriverInfo,
    JobDetails,
    JobStatus,
    JobType,
    job_details_from_api,
    job_details_from_json,
)

VERSION = {"version": "4", "ray_version": "2.60.0", "ray_commit": "abc", "session_name": "s"}

#: A finished submission whose entrypoint called `ray.init()`, as a Ray 2.60 head reports it.
FINISHED: dict[str, Any] = {
    "type": "SUBMISSION",
    "job_id": "02000000",
    "submission_id": "raysubmit_cYxDRtKPnEBUG5Xz",
    "driver_info": {"id": "02000000", "node_ip_address": "192.0.2.2", "pid": "6558"},
    "status": "SUCCEEDED",
    "entrypoint": "python -c 'import ray; ray.init()'",
    "message": "Job finished successfully.",
    "error_type": None,
    "start_time": 1764095893848,
    "end_time": 1764095899012,
    "metadata": {"owner": "team-a"},
    "runtime_env": {"env_vars": {"A": "1"}, "pip": ["requests"]},
    "driver_agent_http_address": "http://192.0.2.2:52365",
    "driver_node_id": "8a0c3c3a2c3e1f7f2a6b7d2e8f1c2b3a4d5e6f708192a3b4c5d6e7f8",
    "driver_exit_code": 0,
}

#: A driver job (a script that called `ray.init()` itself): most fields null.
DRIVER: dict[str, Any] = {
    "type": "DRIVER",
    "job_id": "03000000",
    "submission_id": None,
    "driver_info": {"id": "03000000", "node_ip_address": "192.0.2.2", "pid": "7001"},
    "status": "RUNNING",
    "entrypoint": "",
    "message": None,
    "error_type": None,
    "start_time": 1764095900000,
    "end_time": 0,
    "metadata": None,
    "runtime_env": {},
    "driver_agent_http_address": None,
    "driver_node_id": None,
    "driver_exit_code": None,
}


class JobServer:
    """Answers the version check, ``GET /api/jobs/`` with ``jobs`` and ``GET /api/jobs/<id>`` with
    ``job``, each as the raw JSON it is given (so that it can be wrong)."""

    def __init__(self, jobs: object = (), job: object = None) -> None:
        self.jobs = jobs
        self.job = job

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/version":
            return httpx.Response(200, json=VERSION)
        if path == "/api/jobs/":
            return httpx.Response(200, json=list(self.jobs) if isinstance(self.jobs, tuple) else self.jobs)
        if path.startswith("/api/jobs/") and self.job is not None:
            return httpx.Response(200, json=self.job)
        return httpx.Response(404, text="404: Not Found")


def list_sync(server: JobServer) -> list[JobDetails]:
    with JobSubmissionClient(
        "http://jobs.example:8265", retries=0, http_client=httpx.Client(transport=httpx.MockTransport(server))
    ) as client:
        return client.list_jobs()


def list_async(server: JobServer) -> list[JobDetails]:
    async def scenario() -> list[JobDetails]:
        async with AsyncJobSubmissionClient(
            "http://jobs.example:8265",
            retries=0,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
        ) as client:
            return await client.list_jobs()

    return asyncio.run(scenario())


def info_sync(server: JobServer) -> JobDetails:
    with JobSubmissionClient(
        "http://jobs.example:8265", retries=0, http_client=httpx.Client(transport=httpx.MockTransport(server))
    ) as client:
        return client.get_job_info("raysubmit_cYxDRtKPnEBUG5Xz")


def info_async(server: JobServer) -> JobDetails:
    async def scenario() -> JobDetails:
        async with AsyncJobSubmissionClient(
            "http://jobs.example:8265",
            retries=0,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
        ) as client:
            return await client.get_job_info("raysubmit_cYxDRtKPnEBUG5Xz")

    return asyncio.run(scenario())


LISTS = [pytest.param(list_sync, id="sync"), pytest.param(list_async, id="async")]
INFOS = [pytest.param(info_sync, id="sync"), pytest.param(info_async, id="async")]


# --------------------------------------------------------------------------- what the server sends


@pytest.mark.parametrize("listing", LISTS)
def test_list_jobs_builds_every_field_of_every_job(listing: Any) -> None:
    jobs = listing(JobServer(jobs=(FINISHED, DRIVER)))

    assert [type(job) for job in jobs] == [JobDetails, JobDetails]
    finished, driver = jobs
    assert finished == JobDetails(
        type=JobType.SUBMISSION,
        status=JobStatus.SUCCEEDED,
        entrypoint="python -c 'import ray; ray.init()'",
        job_id="02000000",
        submission_id="raysubmit_cYxDRtKPnEBUG5Xz",
        driver_info=DriverInfo(id="02000000", node_ip_address="192.0.2.2", pid="6558"),
        message="Job finished successfully.",
        error_type=None,
        start_time=1764095893848,
        end_time=1764095899012,
        metadata={"owner": "team-a"},
        runtime_env={"env_vars": {"A": "1"}, "pip": ["requests"]},
        driver_agent_http_address="http://192.0.2.2:52365",
        driver_node_id="8a0c3c3a2c3e1f7f2a6b7d2e8f1c2b3a4d5e6f708192a3b4c5d6e7f8",
        driver_exit_code=0,
        extra={},
    )
    assert finished.status is JobStatus.SUCCEEDED and finished.type is JobType.SUBMISSION
    assert driver.type is JobType.DRIVER and driver.status is JobStatus.RUNNING
    assert driver.submission_id is None and driver.metadata is None and driver.end_time == 0
    assert [job.to_json_dict() for job in jobs] == [FINISHED, DRIVER]


@pytest.mark.parametrize("info", INFOS)
def test_get_job_info_builds_every_field(info: Any) -> None:
    job = info(JobServer(job=FINISHED))

    assert job.to_json_dict() == FINISHED
    assert job.driver_info == DriverInfo(id="02000000", node_ip_address="192.0.2.2", pid="6558")
    assert job.status.is_terminal()


@pytest.mark.parametrize("listing", LISTS)
def test_an_empty_cluster_lists_no_jobs(listing: Any) -> None:
    assert listing(JobServer(jobs=())) == []


# --------------------------------------------------------------------------- what a newer server may send


@pytest.mark.parametrize("listing", LISTS)
def test_unknown_fields_are_kept_in_extra(listing: Any) -> None:
    newer = {**FINISHED, "priority": 3, "labels": {"zone": "b"}}

    (job,) = listing(JobServer(jobs=(newer,)))

    assert job.extra == {"priority": 3, "labels": {"zone": "b"}}
    assert job.to_json_dict() == newer
    assert "priority" not in job.dict()


@pytest.mark.parametrize("info", INFOS)
def test_unknown_status_and_type_are_kept(info: Any) -> None:
    job = info(JobServer(job={**FINISHED, "status": "QUEUED", "type": "SERVICE"}))

    assert isinstance(job.status, JobStatus) and job.status == "QUEUED" and str(job.status) == "QUEUED"
    assert not job.status.is_terminal()  # as Ray's enum: the status alone says nothing
    assert job.is_finished()  # it has an end_time (see tests/unit/test_unknown_status.py)
    assert isinstance(job.type, JobType) and job.type == "SERVICE"
    assert job.to_json_dict()["status"] == "QUEUED"


# --------------------------------------------------------------------------- answers off the spec

#: field → a value of another type than the spec's, and what is read from it: converted where nothing
#: is lost (the number as text, the integer as a string field's text), else None (what was sent is
#: still given back by to_json_dict()).
OFF_TYPES: list[tuple[str, object, object]] = [
    ("type", 1, JobType("1")),  # a type this client does not know, as the text of the number
    ("job_id", 2, "2"),
    ("submission_id", {"id": "x"}, None),
    ("message", False, None),
    ("error_type", 7, "7"),
    ("start_time", "1764095893848", 1764095893848),
    ("start_time", "1764095893848.00", 1764095893848),
    ("start_time", True, None),
    ("start_time", "12.5", None),
    ("end_time", 1764095899012.0, 1764095899012),
    ("end_time", 1.5, None),
    ("end_time", "١٢", None),  # digits, but not ASCII ones
    ("driver_exit_code", "0", 0),
    ("driver_exit_code", "-1", -1),
    ("metadata", ["owner"], None),
    ("metadata", {"owner": 1}, {"owner": "1"}),
    ("metadata", {"owner": None}, None),
    ("runtime_env", "pip", None),
    ("driver_info", "02000000", None),
    (
        "driver_info",
        {"id": "02000000", "node_ip_address": "192.0.2.2", "pid": 6558},
        DriverInfo(id="02000000", node_ip_address="192.0.2.2", pid="6558"),
    ),
    ("driver_info", {"id": "02000000", "pid": "6558"}, None),
    ("driver_agent_http_address", 52365, "52365"),
    ("driver_node_id", [], None),
]


@pytest.mark.parametrize(("field", "value", "read"), OFF_TYPES, ids=[f"{f}={v!r}" for f, v, _ in OFF_TYPES])
@pytest.mark.parametrize("listing", LISTS)
def test_a_field_of_another_type_is_read_tolerantly(
    listing: Any, field: str, value: object, read: object
) -> None:
    """Was an UnexpectedResponseError for the whole list: now the field is read as well as it can be."""
    odd = {**FINISHED, field: value}

    driver, job = listing(JobServer(jobs=(DRIVER, odd)))

    assert getattr(job, field) == read and type(getattr(job, field)) is type(read)
    assert job.to_json_dict() == odd  # what the server sent, exactly
    assert driver.to_json_dict() == DRIVER


#: The fields without which a record is no job (the spec's, Ray's model's and this client's types).
REQUIRED = ["type", "status", "entrypoint"]
NOT_A_JOB: list[tuple[str, object]] = [
    ("type", None),
    ("type", ["SUBMISSION"]),
    ("status", None),
    ("status", ["RUNNING"]),
    ("status", ""),
    ("entrypoint", None),
    ("entrypoint", 1.5),
]


@pytest.mark.parametrize(("field", "value"), NOT_A_JOB, ids=[f"{f}={v!r}" for f, v in NOT_A_JOB])
@pytest.mark.parametrize("info", INFOS)
def test_a_required_field_of_no_usable_type_is_an_unexpected_response(
    info: Any, field: str, value: object
) -> None:
    with pytest.raises(UnexpectedResponseError) as caught:
        info(JobServer(job={**FINISHED, field: value}))

    assert caught.value.status_code == 200 and isinstance(caught.value, RuntimeError)
    assert "GET /api/jobs/raysubmit_cYxDRtKPnEBUG5Xz answered 200" in str(caught.value)
    assert f"a job's {field!r}: expected" in str(caught.value)


@pytest.mark.parametrize("field", REQUIRED)
@pytest.mark.parametrize("info", INFOS)
def test_a_missing_required_field_is_an_unexpected_response(info: Any, field: str) -> None:
    incomplete = {key: value for key, value in FINISHED.items() if key != field}

    with pytest.raises(UnexpectedResponseError) as caught:
        info(JobServer(job=incomplete))

    assert "/api/jobs/raysubmit_cYxDRtKPnEBUG5Xz" in str(caught.value)
    assert f"a job without {field!r}" in str(caught.value)


OPTIONAL = [key for key in FINISHED if key not in REQUIRED]


@pytest.mark.parametrize("field", OPTIONAL)
@pytest.mark.parametrize("info", INFOS)
def test_a_missing_optional_field_is_none(info: Any, field: str) -> None:
    """Was an UnexpectedResponseError: Ray's own client reads such a record, and so does this one."""
    incomplete = {key: value for key, value in FINISHED.items() if key != field}

    job = info(JobServer(job=incomplete))

    assert getattr(job, field) is None
    assert job.to_json_dict() == incomplete  # the key stays out
    assert job.dict()[field] is None  # Ray's .dict() has all 15


@pytest.mark.parametrize("body", [{"jobs": []}, "SUCCEEDED", None], ids=["object", "string", "null"])
@pytest.mark.parametrize("listing", LISTS)
def test_a_list_that_is_not_a_list_is_an_unexpected_response(listing: Any, body: object) -> None:
    with pytest.raises(UnexpectedResponseError, match="GET /api/jobs/ answered 200"):
        listing(JobServer(jobs=body))


@pytest.mark.parametrize(
    "stray",
    ["raysubmit_x", None, [FINISHED], {**FINISHED, "status": None}],
    ids=["a string", "null", "a nested list", "no status"],
)
@pytest.mark.parametrize("listing", LISTS)
def test_a_record_that_is_no_job_is_left_out_of_the_list(listing: Any, stray: object) -> None:
    """Was an UnexpectedResponseError for the whole list: now the other jobs are listed (the record
    left out is named in a warning: tests/unit/test_odd_records.py)."""
    jobs = listing(JobServer(jobs=(FINISHED, stray, DRIVER)))

    assert [job.to_json_dict() for job in jobs] == [FINISHED, DRIVER]


@pytest.mark.parametrize("info", INFOS)
def test_a_job_that_is_not_an_object_is_an_unexpected_response(info: Any) -> None:
    with pytest.raises(UnexpectedResponseError, match="a job: expected an object, got list"):
        info(JobServer(job=[FINISHED]))


# --------------------------------------------------------------------------- the conversion functions


def test_the_decoded_job_is_not_copied_and_the_caller_keeps_its_dict() -> None:
    data = copy.deepcopy(FINISHED)

    job = job_details_from_json(data)

    assert data == FINISHED  # nothing was popped or changed
    assert job.metadata is data["metadata"] and job.runtime_env is data["runtime_env"]


@pytest.mark.parametrize(
    "data",
    [FINISHED, DRIVER, {**FINISHED, "status": "QUEUED", "priority": 3}, {**FINISHED, "start_time": "12"}],
)
def test_the_generated_model_converts_to_the_same_public_model(data: dict[str, Any]) -> None:
    """``job_details_from_api`` (used where a generated model is at hand) follows the same rules."""
    assert job_details_from_api(ApiJobDetails.from_dict(data)) == job_details_from_json(copy.deepcopy(data))


# --------------------------------------------------------------------------- the generated client


def generated_client(server: JobServer) -> ApiClient:
    transport = httpx.MockTransport(server)
    return ApiClient(base_url="http://jobs.example:8265", httpx_args={"transport": transport})


def test_generated_endpoints_build_models_by_default_and_hand_over_json_with_as_json() -> None:
    server = JobServer(jobs=(FINISHED, DRIVER), job=FINISHED)
    with generated_client(server) as client:
        models = list_jobs.sync_detailed(client=client)
        decoded = list_jobs.sync_detailed(client=client, as_json=True)
        one = get_job_info.sync_detailed("raysubmit_cYxDRtKPnEBUG5Xz", client=client, as_json=True)

    assert isinstance(models.parsed, list) and all(isinstance(job, ApiJobDetails) for job in models.parsed)
    assert [job.to_dict() for job in models.parsed] == [FINISHED, DRIVER]
    assert models.parsed[0].status is ApiJobStatus.SUCCEEDED
    assert decoded.parsed == [FINISHED, DRIVER] and decoded.content == models.content
    assert one.parsed == FINISHED


def test_generated_async_endpoint_hands_over_json_and_text_errors_stay_text() -> None:
    async def scenario() -> tuple[Any, Any]:
        async with generated_client(JobServer(job=FINISHED)) as client:
            decoded = await get_job_info.asyncio_detailed("x", client=client, as_json=True)
        async with generated_client(JobServer()) as client:
            missing = await get_job_info.asyncio_detailed("x", client=client, as_json=True)
        return decoded, missing

    decoded, missing = asyncio.run(scenario())

    assert decoded.status_code == 200 and decoded.parsed == FINISHED
    assert missing.status_code == 404 and missing.parsed == "404: Not Found"


NEWER = {**FINISHED, "status": "QUEUED", "type": "SERVICE", "priority": 3}


@pytest.mark.parametrize("data", [FINISHED, DRIVER, NEWER])
def test_generated_job_details_round_trip(data: dict[str, Any]) -> None:
    """The generated model's ``from_dict``/``to_dict`` (custom templates in ``openapi/templates``)
    keep every value, unknown ones included, and build nested models and known enum members."""
    model = ApiJobDetails.from_dict(data)

    assert model.to_dict() == data
    if data["driver_info"] is not None:
        assert model.driver_info is not None and model.driver_info.pid == data["driver_info"]["pid"]
    assert isinstance(model.status, ApiJobStatus) == (data["status"] in {m.value for m in ApiJobStatus})


def test_generated_request_model_round_trip_leaves_unset_fields_out() -> None:
    full = {
        "entrypoint": "echo hi",
        "submission_id": "s1",
        "runtime_env": {"env_vars": {"A": "1"}},
        "metadata": {"owner": "me"},
        "entrypoint_num_cpus": 1.5,
        "entrypoint_memory": None,
    }

    assert JobSubmitRequest.from_dict(full).to_dict() == full
    assert JobSubmitRequest.from_dict({"entrypoint": "echo hi"}).to_dict() == {"entrypoint": "echo hi"}
    assert json.loads(json.dumps(JobSubmitRequest(entrypoint="x").to_dict())) == {"entrypoint": "x"}
