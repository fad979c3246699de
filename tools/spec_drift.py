"""Detect drift between a running Ray job server and ``openapi/jobs.yaml``, with read-only calls.

    python tools/spec_drift.py http://127.0.0.1:8265          # or: make spec-drift ADDRESS=...
    RAY_AUTH_TOKEN=... python tools/spec_drift.py http://head:8265 --json

It performs only reads — the version, the job list, one existing job's details and logs, a job and
a package that do not exist — and checks each answer against the operation it belongs to:

* ``undeclared-status``   the status code is not declared for the operation;
* ``content-type``        the media type is not one the spec declares (or a body where none is);
* ``unknown-field``       an object has a key its schema does not list (a newer server's field);
* ``unknown-enum``        a value outside a declared ``enum`` (a new job status, a new job type…);
* ``schema``              any other schema violation (a missing required key, a wrong type…);
* ``api-version``         ``GET /api/version`` reports a Jobs API version other than ``info.version``.

Values outside an ``x-open-enum`` property's enum are drift too, although the spec accepts any
string there for forward compatibility.

Unknown fields are drift even though the spec's objects are open (``additionalProperties`` is not
``false``, so that old clients keep working): they are what the spec has not described yet. Free-form
maps (``runtime_env``, ``metadata``) are never reported.

Exit status: 0 no drift, 1 drift found, 2 the check could not be made (unreachable server, missing or
wrong token…).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "jobs.yaml"
_SPEC_URI = "urn:ray-jobs-client:openapi:jobs.yaml"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Finding:
    """One difference between what the server answered and what the spec declares."""

    kind: str
    operation: str
    exchange: str
    detail: str

    def __str__(self) -> str:
        return f"DRIFT {self.kind:<17} {self.operation:<13} {self.exchange}: {self.detail}"


@dataclass(frozen=True)
class Exchange:
    operation: str
    method: str
    path: str
    status: int


class Spec:
    """The spec, with a *strict* twin of every schema: objects that list ``properties`` and do not
    declare ``additionalProperties`` get ``additionalProperties: false``, so unknown keys surface."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        strict = _strict_copy(document)
        self._registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, DRAFT202012.create_resource(strict)
        )
        self.operations: dict[str, tuple[str, str, Mapping[str, Any]]] = {}
        for path, item in document["paths"].items():
            for method in _HTTP_METHODS:
                if method in item:
                    self.operations[item[method]["operationId"]] = (path, method, item[method])

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> Spec:
        with path.open(encoding="utf-8") as file:
            return cls(yaml.safe_load(file))

    @property
    def api_version(self) -> str:
        return str(self.document["info"]["version"])

    def response(self, operation_id: str, status: int) -> tuple[str, Mapping[str, Any]] | None:
        """``(JSON pointer, response object)`` declared for ``status``, ``$ref`` followed."""
        path, method, operation = self.operations[operation_id]
        responses = operation["responses"]
        code = str(status)
        for key in (code, f"{code[0]}XX", f"{code[0]}xx", "default"):
            if key in responses:
                pointer = f"/paths/{_escape(path)}/{method}/responses/{_escape(key)}"
                response = responses[key]
                while "$ref" in response:
                    pointer = response["$ref"][1:]
                    response = self._resolve(response["$ref"])
                return pointer, response
        return None

    def _resolve(self, ref: str) -> Mapping[str, Any]:
        target: Any = self.document
        for token in ref[2:].split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        return target  # type: ignore[no-any-return]

    def errors(self, pointer: str, instance: Any) -> Iterator[ValidationError]:
        validator = OAS31Validator(
            {"$ref": f"{_SPEC_URI}#{pointer}"}, registry=self._registry, format_checker=oas31_format_checker
        )
        yield from validator.iter_errors(instance)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _strict_copy(document: Mapping[str, Any]) -> Any:
    strict = copy.deepcopy(dict(document))

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
                node["additionalProperties"] = False
            if node.get("x-open-enum") and isinstance(node.get("anyOf"), list):
                # An open enum accepts any string so clients don't break; a value outside the
                # referenced enum is still something the spec has not described yet.
                node["anyOf"] = [branch for branch in node["anyOf"] if "$ref" in branch]
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(strict.get("components", {}))
    visit(strict.get("paths", {}))
    return strict


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """The errors that explain ``error``: for ``anyOf``/``oneOf`` (nullable references), those of the
    branches that are not the ``null`` alternative."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        for sub in error.context:
            if sub.validator == "type" and sub.validator_value == "null":
                continue
            yield from _leaf_errors(sub)
    else:
        yield error


def _location(error: ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "<root>"


def _classify(error: ValidationError) -> tuple[str, str]:
    where = _location(error)
    if error.validator == "additionalProperties":
        known = set((error.schema or {}).get("properties", {}))
        unknown = sorted(set(error.instance) - known) if isinstance(error.instance, dict) else []
        return "unknown-field", f"at {where}: unknown key(s) {', '.join(map(repr, unknown))}"
    if error.validator == "enum":
        return "unknown-enum", f"at {where}: {error.instance!r} is not one of {error.validator_value}"
    return "schema", f"at {where}: {error.message}"


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower()


class DriftCheck:
    """Performs the read-only exchanges and collects :class:`Finding`s."""

    def __init__(self, spec: Spec, http: httpx.Client | None = None) -> None:
        self.spec = spec
        self.http = http or httpx.Client()  # only `call` uses it; `check` judges any response
        self.findings: list[Finding] = []
        self.exchanges: list[Exchange] = []
        #: Why part of the check was not made (the server lists no job), else None.
        self.skipped: str | None = None

    def call(self, operation_id: str, path: str) -> httpx.Response:
        response = self.http.get(path)
        exchange = f"GET {path} -> {response.status_code}"
        self.exchanges.append(Exchange(operation_id, "GET", path, response.status_code))
        if response.status_code in (401, 403):
            raise CheckImpossible(f"{exchange}: {response.text.strip()} (set RAY_AUTH_TOKEN or pass --token)")
        self.check(operation_id, response, exchange)
        return response

    def check(self, operation_id: str, response: httpx.Response, exchange: str) -> None:
        def found(kind: str, detail: str) -> None:
            self.findings.append(Finding(kind, operation_id, exchange, detail))

        declared = self.spec.response(operation_id, response.status_code)
        if declared is None:
            statuses = ", ".join(self.spec.operations[operation_id][2]["responses"])
            found("undeclared-status", f"declared: {statuses}; body: {response.text[:200]!r}")
            return
        pointer, definition = declared
        content = definition.get("content")
        actual = _media_type(response.headers.get("content-type"))
        if not content:
            if response.content:
                found("content-type", f"the spec declares no body, got {actual!r}: {response.text[:200]!r}")
            return
        if actual is None or actual not in content:
            found("content-type", f"{actual!r} is not one of {sorted(content)}")
            return
        if "schema" not in content[actual]:
            return
        if actual == "application/json" or actual.endswith("+json"):
            try:
                instance = response.json()
            except ValueError as exc:
                found("schema", f"the body is not JSON ({exc}): {response.text[:200]!r}")
                return
        elif actual.startswith("text/"):
            instance = response.text
        else:
            return
        schema_pointer = f"{pointer}/content/{_escape(actual)}/schema"
        seen: set[tuple[str, str]] = set()
        for error in self.spec.errors(schema_pointer, instance):
            for leaf in _leaf_errors(error):
                kind, detail = _classify(leaf)
                if (kind, detail) not in seen:
                    seen.add((kind, detail))
                    found(kind, detail)

    def run(self) -> None:
        version = self.call("get_version", "/api/version")
        if version.status_code == 200 and isinstance(body := _json(version), dict):
            reported = body.get("version")
            if reported is not None and str(reported) != self.spec.api_version:
                self.findings.append(
                    Finding(
                        "api-version",
                        "get_version",
                        "GET /api/version",
                        f"the server speaks Jobs API {reported!r}, "
                        f"the spec describes {self.spec.api_version!r}",
                    )
                )

        listed = self.call("list_jobs", "/api/jobs/")
        jobs = _json(listed) if listed.status_code == 200 else None
        jobs = [job for job in jobs if isinstance(job, dict)] if isinstance(jobs, list) else []
        # A submission job when there is one: it has logs; a driver job answers 400 for them.
        submissions = [job for job in jobs if job.get("type") == "SUBMISSION" and job.get("submission_id")]
        chosen = submissions[0] if submissions else (jobs[0] if jobs else None)
        if chosen is not None:
            job_id = str(chosen.get("submission_id") or chosen.get("job_id"))
            self.call("get_job_info", f"/api/jobs/{quote(job_id, safe='')}")
            self.call("get_job_logs", f"/api/jobs/{quote(job_id, safe='')}/logs")
        else:
            self.skipped = "the server lists no job: details and logs of an existing job were not checked"

        missing = f"rjc-drift-missing-{uuid.uuid4().hex[:12]}"
        self.call("get_job_info", f"/api/jobs/{missing}")
        self.call("get_package", f"/api/packages/gcs/_ray_pkg_{uuid.uuid4().hex[:16]}.zip")


class CheckImpossible(RuntimeError):
    """The drift check cannot be made (authentication, connection)."""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def check_drift(
    address: str, *, token: str | None = None, timeout: float = 30.0, spec: Spec | None = None
) -> DriftCheck:
    """Run the read-only exchanges against ``address``; the result lists the findings."""
    headers = {"User-Agent": "ray-jobs-client-spec-drift"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    check = DriftCheck(
        spec or Spec.load(), httpx.Client(base_url=address.rstrip("/"), headers=headers, timeout=timeout)
    )
    with check.http:
        check.run()
    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "address",
        nargs="?",
        default=os.environ.get("RAY_API_SERVER_ADDRESS") or os.environ.get("RAY_ADDRESS"),
        help="dashboard URL, e.g. http://127.0.0.1:8265 (default: $RAY_API_SERVER_ADDRESS, $RAY_ADDRESS)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("RAY_AUTH_TOKEN", "").strip() or None,
        help="cluster token (default: $RAY_AUTH_TOKEN)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help="the OpenAPI document to check against")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    if not args.address or "://" not in args.address:
        parser.error("give the dashboard URL (http://host:8265), or set RAY_ADDRESS to it")

    try:
        result = check_drift(args.address, token=args.token, timeout=args.timeout, spec=Spec.load(args.spec))
    except (CheckImpossible, httpx.HTTPError) as exc:
        print(f"spec-drift: cannot check {args.address}: {exc}", file=sys.stderr)
        return 2

    if args.json:
        print(
            json.dumps(
                {
                    "address": args.address,
                    "drift": bool(result.findings),
                    "findings": [asdict(finding) for finding in result.findings],
                    "exchanges": [asdict(exchange) for exchange in result.exchanges],
                    "skipped": result.skipped,
                },
                indent=2,
            )
        )
    else:
        for exchange in result.exchanges:
            print(f"checked  {exchange.operation:<13} {exchange.method} {exchange.path} -> {exchange.status}")
        if result.skipped:
            print(f"skipped  {result.skipped}")
        for finding in result.findings:
            print(finding)
        print(
            f"{len(result.findings)} drift finding(s) in {len(result.exchanges)} exchange(s) "
            f"with {args.address}"
        )
    return 1 if result.findings else 0


if __name__ == "__main__":
    sys.exit(main())
