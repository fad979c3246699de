"""Check live HTTP exchanges against ``openapi/jobs.yaml`` and record which spec entries they produced.

A *spec entry* is one declared response: (path template, method, status code). The contract tests
pass every live response through :meth:`ContractRecorder.check`, which fails at once when the
exchange breaks the spec (an undeclared status, a wrong media type, a body that does not validate,
a body where the spec declares none) and otherwise records the entry. A final test compares the
recorded entries with :meth:`OpenApiSpec.entries` so that a declared response no test produces is
a failure too.

Schemas are validated as JSON Schema 2020-12 in the OpenAPI 3.1 dialect (``OAS31Validator``), with
``$ref`` resolved into the spec document through a ``referencing`` registry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "jobs.yaml"

# The registry key of the spec document; every `$ref: "#/components/…"` resolves against it.
_SPEC_URI = "urn:ray-jobs-client:openapi:jobs.yaml"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, order=True)
class SpecEntry:
    """One declared response of one operation."""

    path: str
    method: str
    status: str

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} -> {self.status}"


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    pointer: str  # JSON pointer of the operation object inside the spec
    definition: Mapping[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.definition["operationId"])

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method.upper()} {self.path})"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def media_type_of(content_type: str | None) -> str | None:
    """``'text/plain; charset=utf-8'`` -> ``'text/plain'``."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def _media_type_matches(declared: str, actual: str) -> bool:
    declared = declared.lower()
    if declared in ("*/*", actual):
        return True
    kind, _, sub = declared.partition("/")
    return sub == "*" and actual.startswith(f"{kind}/")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _is_binary_string(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "string" and schema.get("format") in ("binary", "byte")


class OpenApiSpec:
    """The spec document, its operations and validators for the schemas it declares."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, DRAFT202012.create_resource(document)
        )
        self._validators: dict[str, OAS31Validator] = {}

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> OpenApiSpec:
        with path.open(encoding="utf-8") as file:
            return cls(yaml.safe_load(file))

    # ------------------------------------------------------------------ structure

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        found = []
        for path, item in self.document["paths"].items():
            for method in _HTTP_METHODS:
                if method in item:
                    pointer = f"/paths/{_escape(path)}/{method}"
                    found.append(Operation(path, method, pointer, item[method]))
        return tuple(found)

    def operation(self, operation_id: str) -> Operation:
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        raise KeyError(f"no operation {operation_id!r} in the spec")

    def entries(self) -> set[SpecEntry]:
        """Every (path template, method, status) the spec declares."""
        return {
            SpecEntry(op.path, op.method, str(status))
            for op in self.operations
            for status in op.definition["responses"]
        }

    def entries_served_by(self, release: tuple[int, ...]) -> set[SpecEntry]:
        """The declared entries a server of ``release`` can produce: those whose response (or
        operation) carries no ``x-ray-since`` newer than it."""

        def since(node: Mapping[str, Any]) -> tuple[int, ...]:
            return tuple(int(part) for part in str(node.get("x-ray-since", "0")).split("."))

        served = set()
        for op in self.operations:
            for status, response in op.definition["responses"].items():
                if max(since(op.definition), since(self.resolve(response))) <= release:
                    served.add(SpecEntry(op.path, op.method, str(status)))
        return served

    def operations_declaring(self, status: int | str) -> list[Operation]:
        return [op for op in self.operations if str(status) in op.definition["responses"]]

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """Follow local ``$ref``s (responses, parameters…) to the object they name."""
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local references are supported, got {ref!r}")
            target: Any = self.document
            for token in ref[2:].split("/"):
                target = target[token.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def match(self, method: str, raw_path: str) -> Operation | None:
        """The operation serving ``method raw_path`` (a percent-encoded path, no query).

        Templated segments match exactly one non-empty segment; literal paths win over templated
        ones, as OpenAPI requires.
        """
        segments = raw_path.split("/")
        candidates = []
        for operation in self.operations:
            if operation.method != method.lower():
                continue
            template = operation.path.split("/")
            if len(template) != len(segments):
                continue
            literal = 0
            for expected, actual in zip(template, segments, strict=True):
                if expected.startswith("{") and expected.endswith("}"):
                    if not actual:
                        break
                elif expected == actual:
                    literal += 1
                else:
                    break
            else:
                candidates.append((literal, operation))
        if not candidates:
            return None
        candidates.sort(key=lambda pair: pair[0], reverse=True)
        return candidates[0][1]

    # ------------------------------------------------------------------ validation

    def validator(self, pointer: str) -> OAS31Validator:
        """A validator for the schema at ``pointer`` (a JSON pointer into the spec)."""
        if pointer not in self._validators:
            self._validators[pointer] = OAS31Validator(
                {"$ref": f"{_SPEC_URI}#{pointer}"},
                registry=self._registry,
                format_checker=oas31_format_checker,
            )
        return self._validators[pointer]

    def schema_errors(self, pointer: str, instance: Any) -> list[str]:
        errors = sorted(self.validator(pointer).iter_errors(instance), key=lambda error: list(error.path))
        return [f"at {'/'.join(map(str, error.path)) or '<root>'}: {error.message}" for error in errors]

    def request_body_errors(
        self, operation_id: str, instance: Any, media_type: str = "application/json"
    ) -> list[str]:
        """Why ``instance`` is not a valid ``media_type`` request body of the operation (empty: it is)."""
        operation = self.operation(operation_id)
        pointer = f"{operation.pointer}/requestBody/content/{_escape(media_type)}/schema"
        return self.schema_errors(pointer, instance)

    def component_schema(self, name: str) -> Mapping[str, Any]:
        return self.document["components"]["schemas"][name]

    def response(self, operation: Operation, status: int | str) -> tuple[str, Mapping[str, Any]] | None:
        """``(pointer, response object)`` declared for ``status`` (exact code, then ``4XX``, then default)."""
        responses = operation.definition["responses"]
        code = str(status)
        for key in (code, f"{code[0]}XX", f"{code[0]}xx", "default"):
            if key in responses:
                pointer = f"{operation.pointer}/responses/{_escape(key)}"
                response = responses[key]
                if "$ref" in response:
                    pointer = response["$ref"][1:]
                    response = self.resolve(response)
                return pointer, response
        return None


@dataclass
class ContractRecorder:
    """Validates live exchanges against the spec and remembers the spec entries they produced."""

    spec: OpenApiSpec
    produced: dict[SpecEntry, list[str]] = field(default_factory=dict)

    def check(
        self,
        response: httpx.Response,
        *,
        expect: int | None = None,
        request_valid: bool | None = True,
        produced_by: str = "",
    ) -> httpx.Response:
        """Fail unless ``response`` (and its request) conform to the spec; record its spec entry.

        ``expect``: the status the caller provoked (checked first, with the body in the message).
        ``request_valid``: ``True`` — the request must satisfy the operation's ``requestBody`` (or
        carry no body when none is declared); ``False`` — the spec must agree that the request body
        is invalid (what the server rejects, the schema rejects too); ``None`` — not checked (the
        caller says why).
        """
        __tracebackhide__ = True
        request = response.request
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        operation = self.spec.match(request.method, raw_path)
        exchange = f"{request.method} {raw_path} -> {response.status_code}"
        assert operation is not None, f"{exchange}: no operation in the spec serves this path and method"

        if expect is not None:
            assert response.status_code == expect, (
                f"{exchange}: expected {expect} from {operation}; body: {_body_excerpt(response)}"
            )

        declared = self.spec.response(operation, response.status_code)
        assert declared is not None, (
            f"{exchange}: status {response.status_code} is not declared for {operation} "
            f"(declared: {', '.join(operation.definition['responses'])}); body: {_body_excerpt(response)}"
        )
        pointer, definition = declared

        if request_valid is not None:
            self._check_request(operation, request, valid=request_valid, exchange=exchange)

        if response.status_code == 101:
            # The body of an upgraded connection is the WebSocket stream, not an HTTP entity.
            assert response.headers.get("upgrade", "").lower() == "websocket", (
                f"{exchange}: not a WebSocket upgrade"
            )
        else:
            self._check_response_body(response, pointer, definition, exchange=exchange)

        entry = SpecEntry(operation.path, operation.method, str(response.status_code))
        self.produced.setdefault(entry, []).append(produced_by or exchange)
        return response

    def missing(self) -> list[SpecEntry]:
        """Declared entries no checked exchange has produced yet."""
        return sorted(self.spec.entries() - set(self.produced))

    # ------------------------------------------------------------------ internals

    def _check_request(
        self, operation: Operation, request: httpx.Request, *, valid: bool, exchange: str
    ) -> None:
        body_spec = operation.definition.get("requestBody")
        if body_spec is None:
            assert valid, f"{exchange}: {operation} declares no request body, so none can be invalid"
            assert _request_bytes(request) == b"", (
                f"{exchange}: {operation} declares no request body, one was sent"
            )
            return
        body_spec = self.spec.resolve(body_spec)
        media_type = media_type_of(request.headers.get("content-type"))
        content = body_spec["content"]
        declared = next((m for m in content if media_type and _media_type_matches(m, media_type)), None)
        schema_pointer = (
            f"{operation.pointer}/requestBody/content/{_escape(declared)}/schema"
            if declared is not None
            else None
        )
        problems: list[str] = []
        if declared is None:
            problems.append(f"request Content-Type {media_type!r} is not one of {list(content)}")
        elif _is_binary_string(content[declared].get("schema", {})):
            pass  # any bytes are a valid binary string; the body may be streamed, so it is not read
        else:
            raw = _request_bytes(request)
            if not raw:
                if body_spec.get("required"):
                    problems.append("the request body is required but empty")
            elif _is_json(declared):
                try:
                    instance = json.loads(raw)
                except ValueError as exc:
                    problems.append(f"the request body is not JSON: {exc}")
                else:
                    assert schema_pointer is not None
                    problems.extend(self.spec.schema_errors(schema_pointer, instance))
        if valid:
            assert not problems, f"{exchange}: the request breaks the spec of {operation}: {problems}"
        else:
            assert problems, (
                f"{exchange}: the server rejected a request body that the spec of {operation} accepts: "
                f"{_request_bytes(request)[:500]!r}"
            )

    def _check_response_body(
        self, response: httpx.Response, pointer: str, definition: Mapping[str, Any], *, exchange: str
    ) -> None:
        content = definition.get("content")
        if not content:
            assert response.content == b"", (
                f"{exchange}: the spec declares no content for this response, got {_body_excerpt(response)}"
            )
            return
        actual = media_type_of(response.headers.get("content-type"))
        assert actual is not None, f"{exchange}: no Content-Type, the spec declares {list(content)}"
        declared = next((m for m in content if _media_type_matches(m, actual)), None)
        assert declared is not None, (
            f"{exchange}: Content-Type {actual!r} is not one of the declared {list(content)}"
        )
        media = content[declared]
        if "schema" not in media:
            return
        if _is_json(declared):
            try:
                instance = response.json()
            except ValueError as exc:
                raise AssertionError(
                    f"{exchange}: {declared} body is not JSON ({exc}): {_body_excerpt(response)}"
                ) from exc
        elif declared.startswith("text/"):
            instance = response.text
        else:
            return  # binary content: nothing a JSON schema can say about it
        errors = self.spec.schema_errors(f"{pointer}/content/{_escape(declared)}/schema", instance)
        assert not errors, (
            f"{exchange}: the body does not match the declared schema: {errors}; body: {instance!r:.1000}"
        )


def _request_bytes(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:
        raise AssertionError("the request body was streamed: pass request_valid=None and say why") from None


def _body_excerpt(response: httpx.Response, limit: int = 600) -> str:
    try:
        text = response.text
    except (httpx.ResponseNotRead, httpx.StreamError):
        return "<not read>"
    return repr(text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}")
