"""``openapi/jobs-3.0.yaml``: the OpenAPI 3.0.3 rendition of the 3.1 spec, for tools that read only 3.0.

* it is what ``tools/spec_oas30.py`` makes of ``openapi/jobs.yaml`` with the pinned converter, byte for
  byte (``make spec-30`` regenerates it; ``make check-spec-30`` is the same check);
* it is a valid 3.0 document declaring the same operations, responses and media types;
* its schemas reach the same verdicts as the source's: on every live exchange of the contract tests
  (``ContractRecorder`` judges each body against both) and, here, on the bodies that tell the 3.0
  nullable idioms apart.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest
import spec_oas30
from openapi_spec_validator import validate as validate_openapi_document
from spec_tools import ROOT, node_bin
from spec_validator import SPEC_30_PATH, SPEC_PATH, OpenApiSpec

SOURCE = OpenApiSpec.load(SPEC_PATH)
RENDITION = OpenApiSpec.load(SPEC_30_PATH)
JOB_DETAILS = "/components/schemas/JobDetails"
SUBMIT_BODY = "/paths/~1api~1jobs~1/post/requestBody/content/application~1json/schema"


def test_rendition_is_what_the_converter_makes_of_the_source(tmp_path: Any) -> None:
    """Else: ``make spec-30`` and commit."""
    scratch = tmp_path / "jobs-3.0.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "tools/spec_oas30.py",
            "--converter",
            node_bin("openapi-down-convert"),
            "openapi/jobs.yaml",
            "-o",
            str(scratch),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert scratch.read_bytes() == SPEC_30_PATH.read_bytes(), (
        "openapi/jobs-3.0.yaml is stale: run 'make spec-30' and commit it"
    )


def test_rendition_is_a_valid_openapi_3_0_document() -> None:
    validate_openapi_document(copy.deepcopy(dict(RENDITION.document)))
    assert RENDITION.document["openapi"] == "3.0.3"
    assert SPEC_30_PATH.read_text(encoding="utf-8").startswith("# GENERATED from openapi/jobs.yaml")


def _shape(spec: OpenApiSpec) -> dict[str, Any]:
    """Operations, their responses' media types and their request bodies' media types."""
    return {
        operation.operation_id: (
            operation.path,
            operation.method,
            {
                status: sorted(spec.resolve(response).get("content", {}))
                for status, response in operation.definition["responses"].items()
            },
            sorted(spec.resolve(operation.definition.get("requestBody", {})).get("content", {})),
        )
        for operation in spec.operations
    }


def test_rendition_declares_the_same_operations_responses_and_media_types() -> None:
    assert _shape(RENDITION) == _shape(SOURCE)
    assert RENDITION.entries() == SOURCE.entries()


NULL_JOB: dict[str, Any] = {
    "type": "SUBMISSION",
    "job_id": None,
    "submission_id": "rjc-oas30",
    "driver_info": None,
    "status": "PENDING",
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
CASES = {
    "every_nullable_null": (JOB_DETAILS, NULL_JOB),
    "driver_info_object": (
        JOB_DETAILS,
        {**NULL_JOB, "driver_info": {"id": "01", "node_ip_address": "x", "pid": "7"}},
    ),
    "driver_info_wrong_shape": (JOB_DETAILS, {**NULL_JOB, "driver_info": {"id": 1}}),
    "driver_info_not_an_object": (JOB_DETAILS, {**NULL_JOB, "driver_info": []}),
    "entrypoint_null": (JOB_DETAILS, {**NULL_JOB, "entrypoint": None}),
    "unknown_status": (JOB_DETAILS, {**NULL_JOB, "status": "PAUSED"}),
    "integral_float_time": (JOB_DETAILS, {**NULL_JOB, "start_time": 1.0}),
    "fractional_time": (JOB_DETAILS, {**NULL_JOB, "start_time": 1.5}),
    "submit_nulls": (SUBMIT_BODY, {"entrypoint": "x", "runtime_env": None, "metadata": None, "job_id": None}),
    "submit_unknown_key": (SUBMIT_BODY, {"entrypoint": "x", "bogus": 1}),
    "dashboard_failure": ("/components/schemas/DashboardFailure", {"result": False, "msg": "t"}),
    "dashboard_failure_true": ("/components/schemas/DashboardFailure", {"result": True, "msg": "t"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendition_reaches_the_sources_verdict(case: str) -> None:
    pointer, instance = CASES[case]
    assert bool(RENDITION.schema_errors(pointer, instance)) == bool(SOURCE.schema_errors(pointer, instance))


def test_a_nullable_beside_a_ref_would_not_admit_null() -> None:
    """OAS 3.0 ignores the siblings of a ``$ref``: the rendition says ``allOf: [$ref]`` instead."""
    driver_info = RENDITION.component_schema("JobDetails")["properties"]["driver_info"]
    assert driver_info == {"allOf": [{"$ref": "#/components/schemas/DriverInfo"}], "nullable": True}
    naive = copy.deepcopy(dict(RENDITION.document))
    naive["components"]["schemas"]["JobDetails"]["properties"]["driver_info"] = {
        "$ref": "#/components/schemas/DriverInfo",
        "nullable": True,
    }
    assert OpenApiSpec(naive, name="naive").schema_errors(JOB_DETAILS, NULL_JOB)
    assert not RENDITION.schema_errors(JOB_DETAILS, NULL_JOB)


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"prefixItems": [{"type": "string"}]}, "prefixItems"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}, "2 other alternatives"),
        ({"$ref": "#/components/schemas/X", "description": "d"}, "siblings of $ref"),
        ({"type": ["string", "integer"]}, "no OAS 3.0 form"),
    ],
)
def test_the_script_refuses_what_it_cannot_render(schema: dict[str, Any], reason: str) -> None:
    with pytest.raises(spec_oas30.UnsupportedConstruct, match=reason.replace("$", r"\$")):
        spec_oas30.convert_schema(schema, "#/x")
