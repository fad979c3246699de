"""A Go consumer of the spec: kin-openapi validates live exchanges against the OpenAPI 3.0 rendition.

``clients/go/validate`` is built with Debian's Go and kin-openapi (v0.110, GOPATH mode: no module
proxy needed; ``make go-tools`` installs them) and run against the session's live head: version,
submit, stop, get, list, logs, delete, a 404 and a 400, each request and response validated with
``openapi3filter``. kin-openapi cannot read the 3.1 source, which is why the rendition exists; and
the rendition's nullable references must be ``allOf`` (a ``nullable`` beside a ``$ref`` is ignored
in OAS 3.0, so a live ``driver_info: null`` then fails).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ray_jobs_client.testing import LocalRayHead
from spec_tools import ROOT, require_tool

# Debian's golang-github-getkin-kin-openapi-dev and its dependencies live in this GOPATH.
DEBIAN_GOPATH = Path("/usr/share/gocode")
KIN_OPENAPI = DEBIAN_GOPATH / "src" / "github.com" / "getkin" / "kin-openapi"
SPEC_31 = "openapi/jobs.yaml"
SPEC_30 = "openapi/jobs-3.0.yaml"
EXPECTED = {
    # name: (status, whether the spec must accept the request)
    "version": (200, True),
    "submit": (200, True),
    "stop": (200, True),
    "get": (200, True),
    "list": (200, True),
    "logs": (200, True),
    "delete": (200, True),
    "not_found": (404, True),
    "bad_request": (400, False),
}


@pytest.fixture(scope="module")
def go_validate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = require_tool("go", shutil.which("go"), "run: make go-tools (apt-get install -y golang-go)")
    how = "run: make go-tools (apt-get install -y golang-github-getkin-kin-openapi-dev)"
    require_tool("kin-openapi", str(KIN_OPENAPI), how)
    binary = tmp_path_factory.mktemp("go-validate") / "go-validate"
    result = subprocess.run(
        [go, "build", "-o", str(binary), "./clients/go/validate"],
        cwd=ROOT,
        env={
            **os.environ,
            "GO111MODULE": "off",
            "GOPATH": str(DEBIAN_GOPATH),
            "GOCACHE": str(ROOT / "build" / "go-cache"),
            "GOFLAGS": "",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"go build failed:\n{result.stdout}{result.stderr}"
    return binary


def _run(binary: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "")}
    if token:
        env["RAY_AUTH_TOKEN"] = token
    return subprocess.run(
        [str(binary), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def _exchanges(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_kin_openapi_refuses_the_31_source_and_loads_the_30_rendition(go_validate: Path) -> None:
    refused = _run(go_validate, "-load-only", "-spec", SPEC_31)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "unsupported 'type' value \"null\"" in refused.stderr, refused.stderr

    loaded = _run(go_validate, "-load-only", "-spec", SPEC_30)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == f"kin-openapi loads {SPEC_30} (OpenAPI 3.0.3)"


@pytest.mark.live
def test_go_consumer_validates_live_exchanges(go_validate: Path, ray_head: LocalRayHead) -> None:
    result = _run(go_validate, "-address", ray_head.address, "-spec", SPEC_30, token=ray_head.token)
    exchanges = _exchanges(result.stdout)
    assert result.returncode == 0, f"{result.stderr}\n" + "\n".join(map(str, exchanges))
    assert {exchange["name"] for exchange in exchanges} == set(EXPECTED)
    for exchange in exchanges:
        status, request_valid = EXPECTED[exchange["name"]]
        assert exchange["status"] == status, exchange
        assert exchange["request_valid"] is request_valid, exchange
        assert exchange["response_valid"] is True, exchange
        assert exchange["ok"] is True, exchange
    # The 400's body breaks the spec where the server says it does: an unknown property.
    (bad,) = [exchange for exchange in exchanges if exchange["name"] == "bad_request"]
    assert "bogus" in bad["request_error"], bad


def _nullable_beside_ref(node: Any) -> Any:
    """The naive 3.0 fix-up: ``{$ref: X, nullable: true}`` where the rendition has ``allOf: [X]``."""
    if isinstance(node, list):
        return [_nullable_beside_ref(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("nullable") is True and len(node.get("allOf", [])) == 1 and "$ref" in node["allOf"][0]:
        rest = {key: value for key, value in node.items() if key != "allOf"}
        return {"$ref": node["allOf"][0]["$ref"], **rest}
    return {key: _nullable_beside_ref(value) for key, value in node.items()}


@pytest.mark.live
def test_a_nullable_beside_a_ref_rejects_the_live_null_driver_info(
    go_validate: Path, ray_head: LocalRayHead, tmp_path: Path
) -> None:
    """Why the rendition says ``allOf: [$ref]`` + ``nullable: true``: OAS 3.0 ignores the siblings of a
    ``$ref``, so kin-openapi loads the naive form but rejects the job the consumer submits (it never
    calls ``ray.init()``, so its ``driver_info`` is ``null``)."""
    naive = tmp_path / "jobs-3.0-naive.yaml"
    document = yaml.safe_load((ROOT / SPEC_30).read_text(encoding="utf-8"))
    naive.write_text(yaml.safe_dump(_nullable_beside_ref(document), sort_keys=False), encoding="utf-8")

    result = _run(go_validate, "-address", ray_head.address, "-spec", str(naive), token=ray_head.token)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = {exchange["name"]: exchange for exchange in _exchanges(result.stdout) if not exchange["ok"]}
    assert {"get", "list"} <= set(failed), failed
    assert "driver_info" in failed["get"]["response_error"], failed["get"]
    assert "Value is not nullable" in failed["get"]["response_error"], failed["get"]
