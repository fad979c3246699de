"""Property-based pass over the spec with schemathesis, against the session's live head.

* Read-only operations (``get_version``, ``list_jobs``, ``get_job_info``, ``get_job_logs``,
  ``get_package``): the examples, coverage and fuzzing phases, positive and negative data.
* ``submit_job``: **negative data only** (coverage + fuzzing), so that no real job is started; see
  :func:`_prepare_submission` for the guards that make sure of it.

Every response goes through schemathesis's checks and through this project's own
:class:`ContractRecorder` (media types, empty bodies where the spec declares none, schemas), and
every 5xx must be one the spec documents for that operation. The run is bounded: a fixed seed,
``MAX_EXAMPLES`` per operation and phase, a per-example deadline and a per-request timeout.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from head_release import head_is_at_least
from live_head import GENERIC_500_BODY, last_line
from ray_jobs_client.errors import _dashboard_failure_message
from ray_jobs_client.models import TERMINAL_STATUSES
from ray_jobs_client.testing import LocalRayHead
from spec_validator import SPEC_30_PATH, SPEC_PATH, ContractRecorder, OpenApiSpec
from waiting import let_job_manager_finish, wait_for

pytestmark = [pytest.mark.live, pytest.mark.release, pytest.mark.timeout(300)]

MAX_EXAMPLES = 25
REQUEST_TIMEOUT = 10.0
EXAMPLE_DEADLINE = timedelta(seconds=15)
# Fixed so that a CI run is reproducible; set RJC_SCHEMATHESIS_SEED to explore other inputs.
SEED = int(os.environ.get("RJC_SCHEMATHESIS_SEED", "20261125"))

READ_ONLY_OPERATIONS = ["get_version", "list_jobs", "get_job_info", "get_job_logs", "get_package"]

SPEC = OpenApiSpec.load()
RECORDER = ContractRecorder(SPEC, rendition=OpenApiSpec.load(SPEC_30_PATH))


def _config(**overrides: Any) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "database": "none",
                **overrides.pop("generation", {}),
            },
            "checks": {
                # Replaced by `server_errors_are_documented`, which is stricter: the spec declares
                # 500s for get_package (protocol other than gcs) and submit_job (body not a JSON
                # object…), and those — and only those — are allowed.
                "not_a_server_error": {"enabled": False},
            },
            **overrides,
        }
    )


# Two schemas rather than one with `[[operations]]` overrides: in schemathesis 4.32, a schema
# loaded with `operations` config ignores a later `.include()` (its filters are OR-ed with an
# include-everything filter), which would fuzz DELETE/stop/PUT too.
READ_ONLY = schemathesis.openapi.from_path(SPEC_PATH, config=_config()).include(
    operation_id=READ_ONLY_OPERATIONS
)
SUBMIT_NEGATIVE = schemathesis.openapi.from_path(
    SPEC_PATH,
    config=_config(
        generation={"mode": "negative"},
        # The examples phase replays the spec's (valid) examples: it would start real jobs.
        phases={"examples": {"enabled": False}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
    ),
).include(operation_id="submit_job")


def _selected(schema: schemathesis.BaseSchema) -> set[str]:
    return {str(result.ok().definition.raw["operationId"]) for result in schema.get_all_operations()}


# Never fuzz anything that changes state beyond a rejected submission.
assert _selected(READ_ONLY) == set(READ_ONLY_OPERATIONS), _selected(READ_ONLY)
assert _selected(SUBMIT_NEGATIVE) == {"submit_job"}, _selected(SUBMIT_NEGATIVE)


# ---------------------------------------------------------------------------------------- checks


def server_errors_are_documented(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
) -> None:
    """A 5xx is only acceptable where the spec documents it, with the documented body.

    This mirrors the prose of the spec's 500 descriptions: change both together.
    """
    if response.status_code < 500:
        return
    operation_id = case.operation.definition.raw.get("operationId")
    text = response.content.decode("utf-8", errors="replace")
    if response.status_code == 500 and not head_is_at_least("2.45.0"):
        # Before 2.45 the dashboard answers an unhandled error itself (DashboardFailure), with the
        # traceback inside: judge the traceback as the newer releases' page would be judged.
        text = _unhandled_error_text(text)
    if response.status_code == 500:
        parameters = case.path_parameters or {}
        if operation_id == "get_package" and (
            parameters.get("protocol") != "gcs" or any(c in str(parameters.get("package_name")) for c in "[]")
        ):
            assert text == GENERIC_500_BODY, f"undocumented 500 body: {text[-500:]!r}"
            return
        if operation_id == "submit_job":
            if not isinstance(case.body, dict):
                assert text == GENERIC_500_BODY, f"undocumented 500 body: {text[-500:]!r}"
                return
            documented = ("already exists. Please use a different submission_id.", "Invalid label key name")
            if any(marker in last_line(text) for marker in documented) or text.startswith(
                "No available agent"
            ):
                return
    raise AssertionError(f"undocumented {response.status_code} from {case.operation.label}: {text[-500:]!r}")


def _unhandled_error_text(body: str) -> str:
    """An old dashboard's ``{"result": false, "msg": "<traceback>"}`` as the newer text page."""
    message = _dashboard_failure_message(body)
    return GENERIC_500_BODY if message != body and "Traceback" in message else body


def conforms_to_contract_recorder(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
) -> None:
    """Run the exchange through the contract tests' own validator too (empty bodies, media types…)."""
    prepared = response.request
    if (prepared.method or "").upper() != case.operation.method.upper():
        return  # the coverage phase's "unsupported method" probes are not operations of the spec
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    request = httpx.Request(
        str(prepared.method), str(prepared.url), headers=dict(prepared.headers), content=body
    )
    # `requests` has already decoded any content coding: do not let httpx try again.
    headers = [
        (name, value)
        for name, values in response.headers.items()
        if name not in ("content-encoding", "content-length", "transfer-encoding")
        for value in values
    ]
    converted = httpx.Response(
        response.status_code, headers=headers, content=response.content, request=request
    )
    RECORDER.check(converted, request_valid=None, produced_by=f"schemathesis {case.operation.label}")


ADDITIONAL_CHECKS = [server_errors_are_documented, conforms_to_contract_recorder]


def _call(case: Any, ray_head: LocalRayHead) -> schemathesis.Response:
    return case.call(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=REQUEST_TIMEOUT)


def _validate(case: Any, response: schemathesis.Response, ray_head: LocalRayHead) -> None:
    headers = ray_head.auth_headers()
    case.validate_response(
        response,
        additional_checks=ADDITIONAL_CHECKS,
        headers=headers,
        transport_kwargs={"base_url": ray_head.address, "headers": headers, "timeout": REQUEST_TIMEOUT},
    )


# ---------------------------------------------------------------------------------------- read-only


@READ_ONLY.parametrize()
@hypothesis.settings(deadline=EXAMPLE_DEADLINE)
def test_read_only_operations_conform(case: Any, ray_head: LocalRayHead) -> None:
    _validate(case, _call(case, ray_head), ray_head)


# ---------------------------------------------------------------------------------------- submit (negative)

_NUMERIC_FIELDS = ("entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory")


def _booleans_read_as_numbers(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as the server reads it: Python's ``bool`` is an ``int``, so JSON booleans pass as numbers."""
    read = {
        key: int(value) if key in _NUMERIC_FIELDS and isinstance(value, bool) else value
        for key, value in body.items()
    }
    resources = read.get("entrypoint_resources")
    if isinstance(resources, dict):
        read["entrypoint_resources"] = {k: int(v) if isinstance(v, bool) else v for k, v in resources.items()}
    return read


def _prepare_submission(case: Any) -> bool:
    """Make a negative submission safe to send; ``False`` when it must not be sent at all.

    * A string ``entrypoint`` is replaced by ``true``: the spec puts no constraint on it (so the
      case stays exactly as invalid), and a random string must never reach a shell.
    * A POST whose body the spec accepts is never sent: it would start a job. (The coverage phase
      makes such cases when the negated part is elsewhere, e.g. a ``Content-Type`` other than
      JSON — which the spec documents the server ignores.)
    * Nor is a body whose only fault is a JSON boolean where the spec wants a number: the server
      accepts it and would start a job. That deviation is pinned by
      ``test_contract.py::test_submit_job_server_rejects_booleans_for_numbers`` (strict xfail).
    """
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("entrypoint"), str):
        body["entrypoint"] = "true"
    if case.method.upper() != "POST":
        return True  # an "unsupported method" probe of the coverage phase: nothing can be submitted
    if not SPEC.request_body_errors("submit_job", body):
        return False
    return not (
        isinstance(body, dict) and not SPEC.request_body_errors("submit_job", _booleans_read_as_numbers(body))
    )


def _remove_accepted_job(ray_head: LocalRayHead, response: schemathesis.Response) -> None:
    """Safety net: stop and delete a job the server accepted (the checks then report the case)."""
    submission_id = response.json().get("submission_id")
    with httpx.Client(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=30) as http:
        http.post(f"/api/jobs/{submission_id}/stop")

        def stopped() -> dict[str, Any] | None:
            job: dict[str, Any] = http.get(f"/api/jobs/{submission_id}").json()
            return job if job["status"] in TERMINAL_STATUSES else None

        details = wait_for(
            stopped,
            timeout=60,
            what=f"accepted job {submission_id} to stop",
        )
        let_job_manager_finish(details["end_time"])
        http.delete(f"/api/jobs/{submission_id}")


@SUBMIT_NEGATIVE.parametrize()
@hypothesis.settings(deadline=EXAMPLE_DEADLINE)
def test_submit_job_rejects_malformed_bodies(case: Any, ray_head: LocalRayHead) -> None:
    if not _prepare_submission(case):
        return
    response = _call(case, ray_head)
    if 200 <= response.status_code < 300:
        _remove_accepted_job(ray_head, response)
    # Includes `negative_data_rejection`: an accepted invalid body fails here.
    _validate(case, response, ray_head)
