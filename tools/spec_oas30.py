"""Render ``openapi/jobs.yaml`` (OpenAPI 3.1) as ``openapi/jobs-3.0.yaml`` (OpenAPI 3.0.3).

    python tools/spec_oas30.py --converter openapi/node_modules/.bin/openapi-down-convert \\
        openapi/jobs.yaml -o openapi/jobs-3.0.yaml          # or: make spec-30

For tools that read only OpenAPI 3.0 (kin-openapi, oapi-codegen, openapi-generator, NSwag…). The
pinned ``@apiture/openapi-down-convert`` does most of the work (the version header, schema
``examples`` → ``example``, ``license.identifier``); this script then rewrites what it leaves in
3.1 form, in schemas only (never inside examples or ``x-`` extensions):

* ``anyOf: [X, {type: 'null'}]`` → ``X`` with ``nullable: true`` — and, when ``X`` is a ``$ref``,
  ``allOf: [{$ref: …}]`` with ``nullable: true``, because OAS 3.0 ignores the siblings of a ``$ref``
  (``nullable: true`` beside it would not admit ``null``);
* ``type: [X, 'null']`` → ``type: X`` with ``nullable: true``;
* ``const: V`` → ``enum: [V]``;
* ``info.summary`` (3.1 only) → ``info.x-summary``.

Anything else that only 3.1 allows makes the script fail, so a spec change that needs a new rewrite
is noticed rather than shipped. The output is deterministic: a rerun is byte-identical (``make
check-spec-30`` regenerates and diffs).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

HEADER = (
    "# GENERATED from openapi/jobs.yaml (OpenAPI 3.1) by `make spec-30`: do not edit by hand.\n"
    "# OpenAPI 3.0.3 rendition for tools that cannot read 3.1 (see README: For other-language teams).\n"
    "# Nullable references are the usual 3.0 idiom `allOf: [$ref]` + `nullable: true`: kin-openapi\n"
    "# admits null there, validators that read 3.0.3's `nullable` strictly (only beside `type`), such\n"
    "# as openapi-core, do not: use the 3.1 file with those.\n"
)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (descriptions) as readable ``|`` blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)

# Keywords that hold one subschema, a list of subschemas, or a map of subschemas.
_ONE = ("items", "not", "additionalProperties", "additionalItems")
_LIST = ("allOf", "anyOf", "oneOf")
_MAP = ("properties", "patternProperties")
# JSON Schema keywords OAS 3.0 does not have: a schema still holding one is not 3.0.
_ONLY_31 = frozenset(
    {
        "const",
        "examples",
        "$schema",
        "$id",
        "$defs",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$comment",
        "prefixItems",
        "unevaluatedProperties",
        "unevaluatedItems",
        "contentMediaType",
        "contentEncoding",
        "contentSchema",
        "dependentRequired",
        "dependentSchemas",
        "propertyNames",
        "contains",
        "if",
        "then",
        "else",
    }
)


class UnsupportedConstruct(ValueError):
    """The 3.1 document holds something this script cannot render as 3.0."""


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema == {"type": "null"}


def convert_schema(schema: dict[str, Any], where: str) -> dict[str, Any]:
    """Return ``schema`` (and its subschemas) in OAS 3.0 form."""
    if "$ref" in schema:
        if len(schema) > 1:
            raise UnsupportedConstruct(f"{where}: siblings of $ref are ignored in OAS 3.0: {sorted(schema)}")
        return dict(schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-"):
            out[key] = value
        elif key in _ONE and isinstance(value, dict):
            out[key] = convert_schema(value, f"{where}/{key}")
        elif key in _LIST:
            out[key] = [
                item if _is_null(item) else convert_schema(item, f"{where}/{key}/{i}")
                for i, item in enumerate(value)
            ]
        elif key in _MAP:
            out[key] = {name: convert_schema(sub, f"{where}/{key}/{name}") for name, sub in value.items()}
        else:
            out[key] = value

    if "anyOf" in out and any(_is_null(item) for item in out["anyOf"]):
        others = [item for item in out.pop("anyOf") if not _is_null(item)]
        if len(others) != 1:
            raise UnsupportedConstruct(f"{where}: anyOf with null and {len(others)} other alternatives")
        (other,) = others
        merged = {"allOf": [other]} if "$ref" in other else other
        if clash := set(merged) & set(out):
            raise UnsupportedConstruct(f"{where}: the non-null alternative repeats {sorted(clash)}")
        out = {**merged, **out, "nullable": True}

    if isinstance(out.get("type"), list):
        types = [kind for kind in out["type"] if kind != "null"]
        if len(types) != 1:
            raise UnsupportedConstruct(f"{where}: type {out['type']} has no OAS 3.0 form")
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0]

    if "const" in out:
        if "enum" in out:
            raise UnsupportedConstruct(f"{where}: both const and enum")
        out["enum"] = [out.pop("const")]

    if leftover := _ONLY_31 & set(out):
        raise UnsupportedConstruct(f"{where}: {sorted(leftover)} have no OAS 3.0 form")
    if out.get("type") == "null":
        raise UnsupportedConstruct(f"{where}: type 'null' outside a nullable anyOf")
    return out


def _schema_slots(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Every ``(parent, key, pointer)`` whose ``parent[key]`` is a top-level Schema Object."""
    components = document.get("components", {})
    for name in components.get("schemas", {}):
        yield components["schemas"], name, f"#/components/schemas/{name}"

    def in_content(content: dict[str, Any], where: str) -> Iterator[tuple[dict[str, Any], str, str]]:
        for media_type, media in content.items():
            if "schema" in media:
                yield media, "schema", f"{where}/content/{media_type}/schema"

    def in_parameters(parameters: list[Any], where: str) -> Iterator[tuple[dict[str, Any], str, str]]:
        for i, parameter in enumerate(parameters):
            if "schema" in parameter:
                yield parameter, "schema", f"{where}/parameters/{i}/schema"

    def in_response(response: dict[str, Any], where: str) -> Iterator[tuple[dict[str, Any], str, str]]:
        yield from in_content(response.get("content", {}), where)
        for name, header in response.get("headers", {}).items():
            if "schema" in header:
                yield header, "schema", f"{where}/headers/{name}/schema"

    for name, parameter in components.get("parameters", {}).items():
        if "schema" in parameter:
            yield parameter, "schema", f"#/components/parameters/{name}/schema"
    for name, response in components.get("responses", {}).items():
        yield from in_response(response, f"#/components/responses/{name}")
    for name, body in components.get("requestBodies", {}).items():
        yield from in_content(body.get("content", {}), f"#/components/requestBodies/{name}")
    for path, item in document.get("paths", {}).items():
        yield from in_parameters(item.get("parameters", []), f"#/paths/{path}")
        for method, operation in item.items():
            if method == "parameters" or method.startswith("x-") or not isinstance(operation, dict):
                continue
            where = f"#/paths/{path}/{method}"
            yield from in_parameters(operation.get("parameters", []), where)
            yield from in_content(operation.get("requestBody", {}).get("content", {}), f"{where}/requestBody")
            for status, response in operation.get("responses", {}).items():
                yield from in_response(response, f"{where}/responses/{status}")


def fix_up(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite, in place, what the down-converter leaves in 3.1 form; return the document."""
    if not str(document.get("openapi", "")).startswith("3.0."):
        raise UnsupportedConstruct(f"the converter's output is OpenAPI {document.get('openapi')!r}, not 3.0")
    for unsupported in ("webhooks", "jsonSchemaDialect"):
        if unsupported in document:
            raise UnsupportedConstruct(f"{unsupported} has no OAS 3.0 form")
    info = document["info"]
    if "summary" in info:
        # Keep the key order of `info`: x-summary takes summary's place.
        document["info"] = {("x-summary" if key == "summary" else key): value for key, value in info.items()}
    for parent, key, pointer in _schema_slots(document):
        parent[key] = convert_schema(parent[key], pointer)
    return document


def render(source: Path, converter: str) -> str:
    """The 3.0 rendition of ``source`` as YAML text."""
    with tempfile.TemporaryDirectory() as scratch:
        converted = Path(scratch) / "converted.yaml"
        subprocess.run([converter, "--input", str(source), "--output", str(converted)], check=True)
        document = yaml.safe_load(converted.read_text(encoding="utf-8"))
    body = yaml.dump(fix_up(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path, help="the OpenAPI 3.1 document")
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the 3.0 document")
    parser.add_argument("--converter", required=True, help="the openapi-down-convert executable")
    args = parser.parse_args(argv)
    try:
        text = render(args.source, args.converter)
    except UnsupportedConstruct as exc:
        print(f"{args.source}: cannot render as OpenAPI 3.0: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
