"""Job records off the spec are read tolerantly, nothing of them is lost, and each oddity is told once.

Both clients on the fake job server, whose records a test changes (``FakeJob.edits``,
``FakeJobServer.stray_records``) the way a broken or newer server might: keys left out, numbers sent
as text or as whole floats, an integer pid, values of no usable type, records that are no job. That
the spec flags each of these (the contract tests' validator) is checked at the end: the strictness
lives there, not in the client.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fake_job_server import OMIT, Connect, FakeJobServer
from ray_jobs_client import JobDetails, JobStatus
from ray_jobs_client.errors import UnexpectedResponseError

DRIVER = {"id": "03000000", "node_ip_address": "192.0.2.2", "pid": "6558"}


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "ray_jobs_client" and r.levelno == logging.WARNING
    ]


def served(server: FakeJobServer, job_id: str) -> dict[str, Any]:
    """The record the fake sends for the job (what ``to_json_dict()`` must give back)."""
    return server.jobs[job_id].details()


def every_view(connect: Connect, server: FakeJobServer, job_id: str) -> tuple[JobDetails, JobDetails]:
    """The job as ``get_job_info`` and as ``list_jobs`` show it (``get_job_status`` must agree)."""
    client = connect()
    alone = client.get_job_info(job_id)
    (listed,) = [job for job in client.list_jobs() if job.submission_id == job_id]
    assert client.get_job_status(job_id) == alone.status == listed.status
    return alone, listed


# --------------------------------------------------------------------------- read, nothing lost


def test_missing_message_and_driver_exit_code_are_none(connect: Connect, server: FakeJobServer) -> None:
    server.add_job("raysubmit_a", status="SUCCEEDED", edits={"message": OMIT, "driver_exit_code": OMIT})

    for job in every_view(connect, server, "raysubmit_a"):
        assert job.status is JobStatus.SUCCEEDED and job.is_finished()
        assert job.message is None and job.driver_exit_code is None
        assert job.to_json_dict() == served(server, "raysubmit_a")  # the keys stay out
        assert "message" not in job.to_json_dict()


def test_numbers_sent_as_text_or_as_whole_floats_are_read_as_integers(
    connect: Connect, server: FakeJobServer
) -> None:
    server.add_job(
        "raysubmit_a", status="FAILED", edits={"start_time": "12", "end_time": 1.0, "driver_exit_code": "3"}
    )

    for job in every_view(connect, server, "raysubmit_a"):
        assert (job.start_time, job.end_time, job.driver_exit_code) == (12, 1, 3)
        assert all(type(value) is int for value in (job.start_time, job.end_time, job.driver_exit_code))
        sent = job.to_json_dict()
        assert sent == served(server, "raysubmit_a")
        assert sent["start_time"] == "12" and type(sent["end_time"]) is float


def test_an_integer_pid_is_read_as_text(connect: Connect, server: FakeJobServer) -> None:
    server.add_job("raysubmit_a", edits={"driver_info": {**DRIVER, "pid": 6558}})

    for job in every_view(connect, server, "raysubmit_a"):
        assert job.driver_info is not None and job.driver_info.pid == "6558"
        assert job.to_json_dict()["driver_info"] == {**DRIVER, "pid": 6558}


def test_values_of_no_usable_type_are_none_and_given_back_as_sent(
    connect: Connect, server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    odd = {
        "start_time": "yesterday",
        "end_time": True,
        "message": ["Job", "failed"],
        "metadata": {"owner": ["a", "b"]},
        "runtime_env": "pip",
        "driver_info": {"id": "03000000", "pid": "6558"},  # no node_ip_address
        "driver_node_id": 1.5,
    }
    server.add_job("raysubmit_a", status="RUNNING", edits=odd)

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        for job in every_view(connect, server, "raysubmit_a"):
            assert job.status is JobStatus.RUNNING
            for key in odd:
                assert getattr(job, key) is None, key
            assert job.to_json_dict() == served(server, "raysubmit_a")

    told = warnings_of(caplog)
    assert len(told) == len(odd)  # one each, although the job was read three times
    assert (
        "Job records from http://jobs.example:8265 do not follow the spec: 'start_time' is sent as str "
        "'yesterday' (job raysubmit_a), not an integer: read as None; to_json_dict() gives back what was "
        "sent (said once per client)." in told
    )
    assert (
        "Job records from http://jobs.example:8265 do not follow the spec: 'driver_info.node_ip_address' "
        "is missing (job raysubmit_a): driver_info read as None (said once per client)." in told
    )


def test_unknown_fields_stay_in_extra_even_inside_driver_info(
    connect: Connect, server: FakeJobServer
) -> None:
    server.add_job("raysubmit_a", edits={"priority": 3, "driver_info": {**DRIVER, "node_id": "ab"}})

    for job in every_view(connect, server, "raysubmit_a"):
        assert job.extra == {"priority": 3}
        assert job.driver_info is not None and job.driver_info.pid == "6558"
        assert job.to_json_dict()["driver_info"] == {**DRIVER, "node_id": "ab"}


def test_one_odd_record_does_not_fail_the_list(connect: Connect, server: FakeJobServer) -> None:
    server.add_job("raysubmit_a", status="SUCCEEDED")
    server.add_job(
        "raysubmit_b", edits={"start_time": "12", "message": OMIT, "driver_info": {**DRIVER, "pid": 1}}
    )
    server.add_job("raysubmit_c", status="FAILED")

    jobs = connect().list_jobs()

    assert [(job.submission_id, job.status) for job in jobs] == [
        ("raysubmit_a", "SUCCEEDED"),
        ("raysubmit_b", "RUNNING"),
        ("raysubmit_c", "FAILED"),
    ]
    assert [job.to_json_dict() for job in jobs] == [job.details() for job in server.jobs.values()]


# --------------------------------------------------------------------------- records that are no job


def test_a_record_that_is_no_job_is_left_out_of_a_list_and_named(
    connect: Connect, server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_job("raysubmit_a", status="SUCCEEDED")
    server.add_job("raysubmit_nostatus", edits={"status": OMIT})
    server.add_job("raysubmit_c")
    server.stray_records[:] = ["raysubmit_x", None, {**served(server, "raysubmit_a"), "status": 7.5}]
    client = connect()

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        jobs = client.list_jobs()

    assert [job.submission_id for job in jobs] == ["raysubmit_a", "raysubmit_c"]
    left_out = [message for message in warnings_of(caplog) if "left out of the list" in message]
    assert len(left_out) == 4, warnings_of(caplog)
    assert any("raysubmit_nostatus" in m and "without 'status'" in m for m in left_out)
    assert any("'raysubmit_x'" in m and "expected an object, got str" in m for m in left_out)
    assert any("got NoneType None" in m for m in left_out)
    assert any("'status': expected a name, got float 7.5" in m for m in left_out)


def test_a_record_that_is_no_job_asked_for_alone_is_an_unexpected_response(
    connect: Connect, server: FakeJobServer
) -> None:
    server.add_job("raysubmit_a", edits={"status": OMIT})
    server.add_job("raysubmit_b", edits={"entrypoint": None})
    client = connect()

    with pytest.raises(UnexpectedResponseError, match="a job without 'status'") as caught:
        client.get_job_info("raysubmit_a")
    assert caught.value.status_code == 200 and "/api/jobs/raysubmit_a" in str(caught.value)
    with pytest.raises(
        UnexpectedResponseError, match="a job's 'entrypoint': expected a string, got NoneType"
    ):
        client.get_job_status("raysubmit_b")


# --------------------------------------------------------------------------- told once per client


def test_each_oddity_is_told_once_per_client(
    connect: Connect, server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("raysubmit_a", "raysubmit_b", "raysubmit_c"):
        server.add_job(
            name, edits={"start_time": "12", "message": OMIT, "driver_info": {**DRIVER, "pid": 6558}}
        )
    server.add_job("raysubmit_nostatus", edits={"status": OMIT})
    server.stray_records[:] = [None]

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        first = connect()
        for _ in range(3):
            first.list_jobs()
            first.get_job_info("raysubmit_b")
            first.get_job_status("raysubmit_c")
        told_by_first = warnings_of(caplog)
        caplog.clear()
        connect().list_jobs()  # another client tells its own user again
        told_by_second = warnings_of(caplog)

    assert len(told_by_first) == 5, told_by_first
    assert told_by_second == told_by_first
    assert sorted(told_by_first) == sorted(
        [
            "Job records from http://jobs.example:8265 do not follow the spec: 'start_time' is sent as "
            "str '12' (job raysubmit_a): read as 12; to_json_dict() gives back what was sent (said once "
            "per client).",
            "Job records from http://jobs.example:8265 do not follow the spec: 'message' is missing (job "
            "raysubmit_a): read as None (said once per client).",
            "Job records from http://jobs.example:8265 do not follow the spec: 'driver_info.pid' is sent "
            "as int 6558 (job raysubmit_a): read as '6558'; to_json_dict() gives back what was sent (said "
            "once per client).",
            "A job record from http://jobs.example:8265 is no job (a job without 'status') and is left "
            "out of the list: {'type': 'SUBMISSION', 'job_id': '03000000', 'submission_id': "
            "'raysubmit_nostatus', 'driver_info': {'id': '03000000', 'node_ip_address': '192.0.2.2', "
            "'pid': '6558'}, 'entrypoint': 'python job.py', ...",
            "A job record from http://jobs.example:8265 is no job (a job: expected an object, got "
            "NoneType None) and is left out of the list: None",
        ]
    )


def test_records_left_out_are_named_up_to_a_limit_then_counted(
    connect: Connect, server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A server whose every record is broken gets a bounded warning, not one line per record."""
    from ray_jobs_client._reading import NAMED_LEFT_OUT

    server.add_job("raysubmit_a", status="SUCCEEDED")
    server.stray_records[:] = [f"raysubmit_{index}" for index in range(NAMED_LEFT_OUT + 15)]
    client = connect()

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        assert [job.submission_id for job in client.list_jobs()] == ["raysubmit_a"]
        first = warnings_of(caplog)
        caplog.clear()
        client.list_jobs()

    assert len(first) == NAMED_LEFT_OUT + 1
    assert all("'raysubmit_" in message for message in first[:NAMED_LEFT_OUT])
    assert first[-1] == (
        "15 more job records from http://jobs.example:8265 are no job and were left out of the list."
    )
    assert warnings_of(caplog) == []  # all of them were told


def test_a_well_formed_record_is_read_without_a_word(
    connect: Connect, server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_job("raysubmit_a", status="SUCCEEDED")

    with caplog.at_level(logging.DEBUG, logger="ray_jobs_client"):
        (job,) = connect().list_jobs()

    assert job.to_json_dict() == served(server, "raysubmit_a")
    assert warnings_of(caplog) == []


# --------------------------------------------------------------------------- the spec still flags them

#: Every record change the tests above make that breaks the spec: the contract tests must flag each.
OFF_SPEC: list[dict[str, Any]] = [
    {"message": OMIT},
    {"driver_exit_code": OMIT},
    {"status": OMIT},
    {"start_time": "12"},
    {"driver_exit_code": "3"},
    {"driver_info": {**DRIVER, "pid": 6558}},
    {"driver_info": {"id": "03000000", "pid": "6558"}},
    {"metadata": {"owner": ["a", "b"]}},
    {"runtime_env": "pip"},
    {"end_time": True},
    {"driver_node_id": 1.5},
]
#: Changes the spec allows: a whole number written `1.0` is an integer to JSON Schema, and `status` is
#: an open enum (a newer Ray's status is drift, which `make spec-drift` reports, not a broken answer).
IN_SPEC: list[dict[str, Any]] = [{"end_time": 1.0}, {"status": "PREEMPTED"}]


def _validate(server: FakeJobServer, edits: dict[str, Any], *, valid: bool) -> None:
    spec_validator = pytest.importorskip("spec_validator", reason="the spec validators of the test extra")
    spec = spec_validator.OpenApiSpec
    # As the contract tests build theirs: the OpenAPI 3.0 rendition must reach the same verdicts.
    recorder = spec_validator.ContractRecorder(spec.load(), rendition=spec.load(spec_validator.SPEC_30_PATH))
    server.add_job("raysubmit_a", status="SUCCEEDED")
    with server.http_client(base_url="http://jobs.example:8265") as http:
        recorder.check(http.get("/api/jobs/raysubmit_a"), expect=200)  # as a Ray 2.60 head sends it
        server.jobs["raysubmit_a"].edits = dict(edits)
        for path in ("/api/jobs/raysubmit_a", "/api/jobs/"):
            if valid:
                recorder.check(http.get(path), expect=200)
            else:
                with pytest.raises(AssertionError, match="does not match the declared schema"):
                    recorder.check(http.get(path), expect=200)


@pytest.mark.parametrize("edits", OFF_SPEC, ids=[repr(e) for e in OFF_SPEC])
def test_the_contract_validator_flags_every_departure_read_tolerantly(
    server: FakeJobServer, edits: dict[str, Any]
) -> None:
    """The contract tests hold every answer of the live head to the spec with this validator, on the
    raw response (not through the client's reading): each departure the client tolerates fails there."""
    _validate(server, edits, valid=False)


@pytest.mark.parametrize("edits", IN_SPEC, ids=[repr(e) for e in IN_SPEC])
def test_what_the_spec_allows_passes_the_contract_validator(
    server: FakeJobServer, edits: dict[str, Any]
) -> None:
    _validate(server, edits, valid=True)


def test_a_whole_number_sent_as_a_float_is_read_without_a_word(
    connect: Connect, server: FakeJobServer, caplog: pytest.LogCaptureFixture
) -> None:
    """JSON Schema's integers include 1.0, so the spec allows it: converted, not reported."""
    server.add_job("raysubmit_a", status="SUCCEEDED", edits={"end_time": 1764095899012.0})

    with caplog.at_level(logging.WARNING, logger="ray_jobs_client"):
        for job in every_view(connect, server, "raysubmit_a"):
            assert job.end_time == 1764095899012 and type(job.end_time) is int
            assert job.to_json_dict() == served(server, "raysubmit_a")

    assert warnings_of(caplog) == []
