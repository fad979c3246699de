"""The spec carries a second language: TypeScript types generated from it drive a typed client.

* ``clients/typescript/src/schema.d.ts`` is what the pinned openapi-typescript yields from the spec
  (committed, like ``generated/``: ``make ts-client`` regenerates it);
* ``smoke.ts`` type-checks with ``tsc --strict`` against those types, compiles, and — run with node —
  reads the version and the job list of the session's live head (token auth on);
* Node's own ``fetch`` cannot make mutating calls to the job server (it always sends
  ``Sec-Fetch-Mode: cors``, which the server treats as browser traffic), while ``node:http`` can:
  the spec's description says so, and this checks it.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from prebuilt import TS_OUT, TS_SOURCES, TS_STAMP, up_to_date
from ray_jobs_client.testing import LocalRayHead
from spec_tools import ROOT, node_bin, require_tool, run

TS_DIR = ROOT / "clients" / "typescript"
SCHEMA = TS_DIR / "src" / "schema.d.ts"


def _node() -> str:
    import shutil

    return require_tool("node", shutil.which("node"), "install Node.js >= 20.19")


def test_schema_types_are_generated_from_the_spec() -> None:
    """``schema.d.ts`` is what openapi-typescript makes of openapi/jobs.yaml (else: make ts-client)."""
    result = subprocess.run(
        [node_bin("openapi-typescript"), "openapi/jobs.yaml", "-o", str(SCHEMA.relative_to(ROOT)), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        "clients/typescript/src/schema.d.ts is stale: run 'make ts-client' and commit it\n"
        f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
    )


@pytest.fixture(scope="module")
def smoke_js(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``smoke.ts`` compiled by ``tsc --strict`` (which fails on any type error): the build ``make
    test`` made (``make ts-smoke``) when nothing changed since, else compiled here, once per run."""
    tsc = node_bin("tsc")
    if up_to_date(TS_STAMP, TS_SOURCES):
        return TS_OUT / "smoke.js"
    out = tmp_path_factory.mktemp("ts-client")
    run([tsc, "-p", str(TS_DIR.relative_to(ROOT)), "--strict", "--outDir", str(out)], timeout=180)
    return out / "smoke.js"


def test_smoke_client_type_checks_strictly(smoke_js: Path) -> None:
    """``tsc --strict`` passed on ``smoke.ts`` (``run`` fails on its exit code, ``make ts-smoke``
    writes its stamp only when it passed) and compiled it."""
    assert smoke_js.is_file()
    assert "/api/version" in smoke_js.read_text(encoding="utf-8")


@pytest.mark.live
def test_smoke_client_reads_the_live_head(ray_head: LocalRayHead, smoke_js: Path) -> None:
    result = subprocess.run(
        [_node(), str(smoke_js)],
        env={
            "PATH": os.environ.get("PATH", ""),
            "RAY_ADDRESS": ray_head.address,
            "RAY_AUTH_TOKEN": ray_head.token or "",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    version_line, jobs_line = result.stdout.splitlines()
    version = json.loads(version_line)
    assert version["version"] == "4"
    assert version["ray_version"] == "2.60.0"
    jobs = json.loads(jobs_line)
    assert isinstance(jobs, list)
    for job in jobs:
        assert {"type", "status", "entrypoint", "submission_id"} <= set(job)


@pytest.mark.live
def test_smoke_client_without_the_token_reports_401(ray_head: LocalRayHead, smoke_js: Path) -> None:
    result = subprocess.run(
        [_node(), str(smoke_js)],
        env={"PATH": os.environ.get("PATH", ""), "RAY_ADDRESS": ray_head.address},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "GET /api/version answered 401: Unauthorized: Missing authentication token" in result.stderr


# An invalid body (no entrypoint): a server that lets the request through answers 400, so no job starts.
_POST_PROBE = textwrap.dedent(
    """
    const http = require("node:http");
    const [address, token] = process.argv.slice(1);
    const headers = { "Content-Type": "application/json", Authorization: `Bearer ${token}` };
    const body = JSON.stringify({ metadata: { probe: "node" } });
    (async () => {
      const viaFetch = await fetch(`${address}/api/jobs/`, { method: "POST", headers, body });
      const fetched = { status: viaFetch.status, body: await viaFetch.text() };
      const viaHttp = await new Promise((resolve, reject) => {
        const request = http.request(`${address}/api/jobs/`, { method: "POST", headers }, (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk) => (text += chunk));
          response.on("end", () => resolve({ status: response.statusCode, body: text }));
        });
        request.on("error", reject);
        request.end(body);
      });
      console.log(JSON.stringify({ fetch: fetched, http: viaHttp }));
    })();
    """
)


@pytest.mark.live
def test_node_fetch_counts_as_browser_traffic(ray_head: LocalRayHead) -> None:
    result = subprocess.run(
        [_node(), "-e", _POST_PROBE, ray_head.address, ray_head.token or ""],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    # fetch: refused by the browser guard before the body is even looked at.
    assert answers["fetch"] == {"status": 405, "body": "'POST' method not allowed for browser traffic."}
    # node:http: reaches the job server, which rejects the (deliberately) invalid body.
    assert answers["http"]["status"] == 400
    assert "missing 1 required positional argument: 'entrypoint'" in answers["http"]["body"]
