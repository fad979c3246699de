"""Features a server's Ray release lacks are refused before anything is sent, naming the release.

The live side (an old head refuses nothing because nothing reaches it; a new head accepts the field)
is in tests/integration/test_client.py; this file checks the decision and the table against the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_job_server import ADDRESS, FakeJobServer, Received
from ray_jobs_client import JobSubmissionClient
from ray_jobs_client.errors import UnsupportedServerError
from ray_jobs_client.releases import (
    ENTRYPOINT_LABEL_SELECTOR,
    ENTRYPOINT_MEMORY,
    ENTRYPOINT_RESOURCES,
    GATED_FEATURES,
    OLDEST_TESTED,
    Feature,
    release_tuple,
)

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi" / "jobs.yaml").read_text())

SUBMIT_DEFAULTS: dict[str, Any] = {
    "entrypoint": "echo hi",
    "job_id": None,
    "runtime_env": None,
    "metadata": None,
    "submission_id": None,  # generated: no look-up before the submit, the POST is the only call
    "entrypoint_num_cpus": None,
    "entrypoint_num_gpus": None,
    "entrypoint_memory": None,
    "entrypoint_resources": None,
    "entrypoint_label_selector": None,
    "upload_progress": None,
}


def _submit(ray_version: str, **kwargs: Any) -> list[Received]:
    """Submit to a fake server of ``ray_version``; return the POSTs that reached it."""
    server = FakeJobServer(ray_version=ray_version)
    with JobSubmissionClient(ADDRESS, http_client=server.http_client()) as client:
        client.submit_job(**{**SUBMIT_DEFAULTS, **kwargs})
    return [request for request in server.after_connect() if request.method == "POST"]


@pytest.mark.parametrize(
    ("version", "expected"),
    [("2.9.3", (2, 9, 3)), ("2.60.0", (2, 60, 0)), ("2.54.0rc1", (2, 54, 0)), ("3.0.0.dev0", (3, 0, 0))],
)
def test_release_tuple(version: str, expected: tuple[int, ...]) -> None:
    assert release_tuple(version) == expected


@pytest.mark.parametrize(
    ("feature", "kwargs"),
    [
        (ENTRYPOINT_RESOURCES, {"entrypoint_num_cpus": 1}),
        (ENTRYPOINT_RESOURCES, {"entrypoint_resources": {"Custom": 1}}),
        (ENTRYPOINT_MEMORY, {"entrypoint_memory": 1024}),
        (ENTRYPOINT_LABEL_SELECTOR, {"entrypoint_label_selector": {"zone": "a"}}),
    ],
    ids=["num_cpus", "resources", "memory", "label_selector"],
)
def test_a_field_the_server_is_too_old_for_is_refused_before_io(
    feature: Feature, kwargs: dict[str, Any]
) -> None:
    major, minor = feature.since
    too_old = f"{major}.{minor - 1}.9"
    with pytest.raises(UnsupportedServerError) as caught:
        _submit(too_old, **kwargs)
    error = caught.value
    assert str(error) == (
        f"Ray version {too_old} is running on the cluster. {feature.name} "
        f"{'are' if len(feature.fields) > 1 else 'is'} not supported on the Ray cluster. "
        f"Please ensure the cluster is running Ray {major}.{minor} or higher."
    )
    assert (error.feature, error.required_version, error.server_version) == (
        feature.name,
        f"{major}.{minor}",
        too_old,
    )
    assert isinstance(error, RuntimeError)  # what Ray's client raises there
    # The same call against the first release that has the field is sent, with the field.
    (call,) = _submit(f"{major}.{minor}.0", **kwargs)
    sent = call.json()
    assert {name: sent[name] for name in kwargs} == kwargs


def test_an_empty_label_selector_is_left_out_for_a_server_without_the_field() -> None:
    """``{}`` selects nothing, and a 2.53 server would refuse the key itself with a TypeError (400)."""
    (old,) = _submit("2.53.0", entrypoint_label_selector={})
    assert "entrypoint_label_selector" not in old.json()
    (new,) = _submit("2.54.0", entrypoint_label_selector={})
    assert new.json()["entrypoint_label_selector"] == {}


def test_zero_resources_need_no_check() -> None:
    """Ray's client checks truthiness: 0 asks for nothing, so an old server is not refused for it."""
    (call,) = _submit("2.1.0", entrypoint_num_cpus=0, entrypoint_memory=0)
    assert call.method == "POST"


@pytest.mark.parametrize(
    ("ray_version", "warned"), [("2.3.1", True), (OLDEST_TESTED, False), ("2.60.0", False)]
)
def test_a_server_older_than_any_tested_release_is_named_in_a_warning(
    ray_version: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakeJobServer(ray_version=ray_version)
    with caplog.at_level("WARNING", logger="ray_jobs_client"):
        JobSubmissionClient(ADDRESS, http_client=server.http_client()).close()
    expected = (
        f"Ray {ray_version} is running on the cluster; this client is tested against Ray {OLDEST_TESTED}"
    )
    assert any(expected in message for message in caplog.messages) == warned, caplog.messages


def test_the_table_agrees_with_the_spec() -> None:
    """Every gated field carries the same ``x-ray-since`` in openapi/jobs.yaml, and every request field
    the spec dates at 2.9 or later is gated."""
    fields = SPEC["components"]["schemas"]["JobSubmitRequest"]["properties"]
    gated = {name: feature.since for feature in GATED_FEATURES for name in feature.fields}
    for name, since in gated.items():
        assert release_tuple(fields[name]["x-ray-since"])[:2] == since, name
    dated_in_range = {
        name
        for name, field in fields.items()
        if "x-ray-since" in field and release_tuple(field["x-ray-since"]) >= (2, 2)
    }
    assert dated_in_range <= set(gated)
