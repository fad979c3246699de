"""What changed in ``openapi/jobs.yaml`` since a git ref, and which changes break clients built on it.

    python tools/spec_diff.py              # or: make spec-diff              (the working copy vs HEAD)
    python tools/spec_diff.py v0.1.0       # or: make spec-diff BASE=v0.1.0
    python tools/spec_diff.py --changelog-guard   # breaking changes since the last CHANGELOG Spec edit

One line per change, ``BREAKING`` or ``compatible`` first, then where (``GET /api/jobs/ 200
application/json [].driver_exit_code``) and what. Exit status: 0 no breaking change, 1 at least one,
2 the comparison could not be made (unknown ref, no git checkout, a spec that does not parse).

"Breaking" means: a client generated from (or written against) the old document can stop working,
at run time or when it is regenerated and recompiled. Both sides are taken into account, so the rules
depend on the direction in which a schema travels:

* removed: a path, an operation, a response status, a media type, a parameter, a property, an enum
  value, a component schema (generated clients have a model for each), a request body;
* renamed: an ``operationId`` or an operation's tags (generated function and module names);
* requests: a new required property or parameter, a property or parameter that becomes required,
  a narrower type, ``null`` no longer accepted, an enum that becomes closed, unknown keys refused;
* responses: a property that may now be absent (no longer required), ``null`` where it was not,
  a wider or different type, a new value in a closed enum (``x-open-enum`` enums may grow);
* any other changed validation keyword (``format``, ``maxLength``…), which this tool does not
  classify: it is reported as breaking so that a person looks at it.

Everything else is compatible: additions (an optional property, a response, an operation, an
example), descriptions, ``x-`` extensions, ``deprecated``. The differ is our own because no kept
tool judged OpenAPI 3.1 correctly (see the commit that added this file).

The CHANGELOG rule (``--changelog-guard``, and ``tests/spec/test_spec_diff.py`` in ``make test``): a
breaking change of the spec must come with an edit of ``CHANGELOG.md``'s *Spec* section. The spec as
of the newest commit that changed that section (or the working copy, when the section has
uncommitted edits) is compared with the working copy: any breaking change since then fails.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = "openapi/jobs.yaml"
CHANGELOG = "CHANGELOG.md"
CHANGELOG_SECTION = "## Spec"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Keywords that only document; a change of these is always compatible.
ANNOTATIONS = frozenset(
    {"description", "summary", "title", "examples", "example", "deprecated", "default", "externalDocs"}
)
# Keywords whose changes compare_schema() classifies itself.
SCHEMA_HANDLED = frozenset(
    {"type", "anyOf", "oneOf", "enum", "const", "properties", "required", "additionalProperties", "items"}
)


class SpecDiffError(Exception):
    """The comparison could not be made (unknown ref, not a git checkout, unreadable spec)."""


@dataclass(frozen=True)
class Change:
    """One difference between two versions of the spec."""

    breaking: bool
    where: str
    what: str

    def __str__(self) -> str:
        return f"{'BREAKING' if self.breaking else 'compatible':<11}{self.where}: {self.what}"


# ------------------------------------------------------------------ reading the two documents


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise SpecDiffError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def file_at(root: Path, ref: str, path: str) -> str:
    """The text of ``path`` at git ``ref`` (``""`` when the file does not exist there)."""
    try:
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except SpecDiffError:
        raise SpecDiffError(f"{ref!r} is not a commit of the git checkout {root}") from None
    result = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=root, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


def load_spec(text: str, origin: str) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecDiffError(f"{origin}: not YAML: {exc}") from exc
    if not isinstance(spec, dict) or "paths" not in spec:
        raise SpecDiffError(f"{origin}: not an OpenAPI document")
    return spec


def _dereference(node: Any, spec: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by its target (a cycle keeps its ``$ref``)."""
    if isinstance(node, list):
        return [_dereference(item, spec, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return _dereference({**target, **siblings}, spec, (*seen, ref))
    return {key: _dereference(value, spec, seen) for key, value in node.items()}


# ------------------------------------------------------------------ schemas


def _branches(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [b for b in schema.get("anyOf", schema.get("oneOf", [])) if isinstance(b, Mapping)]


def _types(schema: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema admits (``any`` when it does not say)."""
    if "type" in schema:
        declared = schema["type"]
        return set(declared) if isinstance(declared, list) else {declared}
    if _branches(schema):
        return set().union(*(_types(branch) for branch in _branches(schema)))
    values = schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else None
    if values is not None:
        names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
        return {names.get(type(value), "object") for value in values}
    return {"any"}


def _enum(schema: Mapping[str, Any]) -> tuple[set[Any], bool] | None:
    """The enum values a schema lists, and whether other values of their type pass too (open)."""
    if "enum" in schema:
        return {v for v in schema["enum"] if v is not None}, False
    if "const" in schema:
        return ({schema["const"]} if schema["const"] is not None else set()), False
    branches = [b for b in _branches(schema) if _types(b) != {"null"}]
    found = [(b, _enum(b)) for b in branches]
    listed = [result for _, result in found if result is not None]
    if not listed:
        return None
    values = set().union(*(result[0] for result in listed))
    is_open = bool(schema.get("x-open-enum")) or any(result is None or result[1] for _, result in found)
    return values, is_open


def _core(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema without a nullable ``anyOf`` wrapper: ``anyOf: [X, {type: 'null'}]`` → X."""
    branches = [b for b in _branches(schema) if _types(b) != {"null"}]
    return branches[0] if len(branches) == 1 else schema


def _wider(old: set[str], new: set[str]) -> bool:
    if "any" in old:
        return False
    if "any" in new:
        return True
    return bool(new - old - ({"integer"} if "number" in old else set()))


def _fmt(values: set[Any]) -> str:
    return ", ".join(sorted(map(str, values)))


def compare_schema(old: Any, new: Any, where: str, direction: str) -> Iterator[Change]:
    """Changes of one (dereferenced) schema that travels in ``direction`` (request or response)."""
    if old == new or not isinstance(old, Mapping) or not isinstance(new, Mapping):
        if old != new:
            yield Change(True, where, "schema replaced")
        return
    request = direction == "request"
    old_types, new_types = _types(old), _types(new)
    old_plain, new_plain = old_types - {"null"}, new_types - {"null"}
    if old_plain != new_plain:
        breaking = _wider(new_plain, old_plain) if request else _wider(old_plain, new_plain)
        yield Change(breaking, where, f"type {_fmt(old_plain)} → {_fmt(new_plain)}")
    if "null" in old_types and "null" not in new_types:
        yield Change(request, where, "null no longer " + ("accepted" if request else "sent"))
    if "null" in new_types and "null" not in old_types:
        yield Change(not request, where, "may now be null" if not request else "now accepts null")

    yield from _compare_enum(_enum(old), _enum(new), where, request)

    old_core, new_core = _core(old), _core(new)
    old_props, new_props = old_core.get("properties", {}), new_core.get("properties", {})
    old_required, new_required = set(old_core.get("required", [])), set(new_core.get("required", []))
    for name in old_props.keys() - new_props.keys():
        yield Change(True, f"{where}.{name}", "property removed")
    for name in sorted(new_props.keys() - old_props.keys()):
        required = name in new_required
        yield Change(
            request and required,
            f"{where}.{name}",
            "required property added" if required else "property added",
        )
    for name in sorted(old_props.keys() & new_props.keys()):
        at = f"{where}.{name}"
        if name in new_required and name not in old_required:
            yield Change(request, at, "now required")
        if name in old_required and name not in new_required:
            yield Change(not request, at, "no longer required" + ("" if request else ": may be absent"))
        yield from compare_schema(old_props[name], new_props[name], at, direction)

    old_extra, new_extra = old_core.get("additionalProperties"), new_core.get("additionalProperties")
    if old_extra is not False and new_extra is False:
        yield Change(request, where, "other keys no longer allowed")
    elif old_extra is False and new_extra is not False:
        yield Change(False, where, "other keys allowed")
    elif isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
        yield from compare_schema(old_extra, new_extra, f"{where}.*", direction)
    if "items" in old_core or "items" in new_core:
        yield from compare_schema(old_core.get("items"), new_core.get("items"), f"{where}[]", direction)

    yield from _compare_other_keys(old, new, where, SCHEMA_HANDLED)
    if old_core is not old and new_core is not new:
        yield from _compare_other_keys(old_core, new_core, where, SCHEMA_HANDLED)


def _compare_enum(
    old: tuple[set[Any], bool] | None, new: tuple[set[Any], bool] | None, where: str, request: bool
) -> Iterator[Change]:
    if old is None and new is None:
        return
    if old is None:
        assert new is not None
        yield Change(request and not new[1], where, f"restricted to {_fmt(new[0])}")
        return
    if new is None:
        yield Change(not request and not old[1], where, "enum lifted: any value")
        return
    (old_values, old_open), (new_values, new_open) = old, new
    if removed := old_values - new_values:
        reason = "servers refuse it" if request else "generated enums lose it"
        yield Change(True, where, f"enum value removed: {_fmt(removed)} ({reason})")
    if added := new_values - old_values:
        breaking = not request and not old_open
        yield Change(
            breaking, where, f"enum value added: {_fmt(added)}" + (" (closed enum)" if breaking else "")
        )
    if old_open and not new_open:
        yield Change(request, where, "enum closed: only the listed values")
    if new_open and not old_open:
        yield Change(not request, where, "enum opened: other values may come")


def _compare_other_keys(
    old: Mapping[str, Any], new: Mapping[str, Any], where: str, handled: frozenset[str]
) -> Iterator[Change]:
    """Changes of keys nobody classified: annotations are compatible, anything else is flagged."""
    for key in sorted(old.keys() | new.keys()):
        if key in handled or old.get(key) == new.get(key):
            continue
        if key in ANNOTATIONS or key.startswith("x-"):
            if key == "deprecated" and new.get(key):
                yield Change(False, where, "deprecated")
            else:
                state = "added" if key not in old else "removed" if key not in new else "changed"
                yield Change(False, where, f"{key} {state}")
        else:
            yield Change(True, where, f"`{key}` changed (not classified: check by hand)")


# ------------------------------------------------------------------ operations


def _operations(spec: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation, dereferenced, with its path's parameters merged into its own."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in _dereference(spec.get("paths", {}), spec).items():
        shared = {(p["in"], p["name"]): p for p in item.get("parameters", [])}
        for method in HTTP_METHODS:
            if method in item:
                operation = dict(item[method])
                own = {(p["in"], p["name"]): p for p in operation.get("parameters", [])}
                operation["parameters"] = {**shared, **own}
                found[(method.upper(), path)] = operation
    return found


def _compare_content(
    old: Mapping[str, Any], new: Mapping[str, Any], where: str, direction: str
) -> Iterator[Change]:
    for media in sorted(old.keys() - new.keys()):
        yield Change(True, f"{where} {media}", "media type removed")
    for media in sorted(new.keys() - old.keys()):
        yield Change(direction == "request" and not old, f"{where} {media}", "media type added")
    for media in sorted(old.keys() & new.keys()):
        at = f"{where} {media}"
        old_schema, new_schema = old[media].get("schema", {}), new[media].get("schema", {})
        yield from compare_schema(old_schema, new_schema, f"{at} body", direction)
        yield from _compare_other_keys(old[media], new[media], at, frozenset({"schema"}))


def compare_operation(old: dict[str, Any], new: dict[str, Any], where: str) -> Iterator[Change]:
    for key, what in (("operationId", "operationId"), ("tags", "tags (generated module)")):
        if old.get(key) != new.get(key):
            yield Change(True, where, f"{what} {old.get(key)} → {new.get(key)}")

    old_params, new_params = old["parameters"], new["parameters"]
    for key in sorted(old_params.keys() - new_params.keys()):
        yield Change(True, f"{where} {key[0]} parameter {key[1]}", "parameter removed")
    for key in sorted(new_params.keys() - old_params.keys()):
        required = bool(new_params[key].get("required"))
        what = "required parameter added" if required else "parameter added"
        yield Change(required, f"{where} {key[0]} parameter {key[1]}", what)
    for key in sorted(old_params.keys() & new_params.keys()):
        at = f"{where} {key[0]} parameter {key[1]}"
        before, after = old_params[key], new_params[key]
        if after.get("required") and not before.get("required"):
            yield Change(True, at, "now required")
        yield from compare_schema(before.get("schema", {}), after.get("schema", {}), at, "request")
        handled = frozenset({"schema", "required", "in", "name"})
        yield from _compare_other_keys(before, after, at, handled)

    old_body, new_body = old.get("requestBody"), new.get("requestBody")
    at = f"{where} request body"
    if old_body and not new_body:
        yield Change(True, at, "request body removed")
    elif new_body and not old_body:
        yield Change(bool(new_body.get("required")), at, "request body added")
    elif old_body and new_body:
        if new_body.get("required") and not old_body.get("required"):
            yield Change(True, at, "now required")
        yield from _compare_content(old_body.get("content", {}), new_body.get("content", {}), at, "request")
        yield from _compare_other_keys(old_body, new_body, at, frozenset({"content", "required"}))

    old_responses, new_responses = old.get("responses", {}), new.get("responses", {})
    for status in sorted(old_responses.keys() - new_responses.keys(), key=str):
        yield Change(True, f"{where} {status}", "response removed")
    for status in sorted(new_responses.keys() - old_responses.keys(), key=str):
        yield Change(False, f"{where} {status}", "response added")
    for status in sorted(old_responses.keys() & new_responses.keys(), key=str):
        before, after = old_responses[status], new_responses[status]
        at = f"{where} {status}"
        yield from _compare_content(before.get("content", {}), after.get("content", {}), at, "response")
        yield from _compare_other_keys(before, after, at, frozenset({"content"}))

    handled = frozenset({"operationId", "tags", "parameters", "requestBody", "responses"})
    for key in sorted(old.keys() | new.keys()):
        if key not in handled and old.get(key) != new.get(key):
            # security, callbacks, servers and extensions: listed, not judged.
            state = "added" if key not in old else "removed" if key not in new else "changed"
            yield Change(False, where, f"{key} {state}")


def compare_specs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new``, breaking ones marked."""
    changes: list[Change] = []
    old_ops, new_ops = _operations(old), _operations(new)
    for key in sorted(old_ops.keys() - new_ops.keys(), key=lambda k: (k[1], k[0])):
        changes.append(Change(True, f"{key[0]} {key[1]}", "operation removed"))
    for key in sorted(new_ops.keys() - old_ops.keys(), key=lambda k: (k[1], k[0])):
        changes.append(Change(False, f"{key[0]} {key[1]}", "operation added"))
    for key in sorted(old_ops.keys() & new_ops.keys(), key=lambda k: (k[1], k[0])):
        changes.extend(compare_operation(old_ops[key], new_ops[key], f"{key[0]} {key[1]}"))

    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        changes.append(Change(True, f"components/schemas/{name}", "schema removed (a generated model)"))
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        changes.append(Change(False, f"components/schemas/{name}", "schema added"))

    # The rest of the document (info, servers, security, tags, security schemes): listed, not judged.
    for key in sorted((old.keys() | new.keys()) - {"paths", "components"}):
        changes.extend(_listed(old.get(key), new.get(key), key))
    old_components, new_components = old.get("components", {}), new.get("components", {})
    if old_components.get("securitySchemes") != new_components.get("securitySchemes"):
        changes.append(Change(False, "components/securitySchemes", "changed"))
    return changes


def _listed(old: Any, new: Any, where: str) -> Iterator[Change]:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(old.keys() | new.keys()):
            yield from _listed(old.get(key), new.get(key), f"{where}.{key}")
    else:
        state = "added" if old is None else "removed" if new is None else "changed"
        yield Change(False, where, state)


# ------------------------------------------------------------------ the CHANGELOG rule


def changelog_section(text: str) -> str:
    """The *Spec* section of CHANGELOG.md: from its heading to the next ``## `` heading."""
    lines = text.splitlines()
    try:
        start = lines.index(CHANGELOG_SECTION)
    except ValueError:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "\n".join(lines[start:end]).strip()


def last_changelog_entry(root: Path) -> str | None:
    """The newest commit that changed the CHANGELOG's Spec section; None if the working copy does."""
    working = changelog_section((root / CHANGELOG).read_text(encoding="utf-8"))
    if working != changelog_section(file_at(root, "HEAD", CHANGELOG)):
        return None
    for commit in _git(root, "log", "--format=%H", "--", CHANGELOG).split():
        parents = _git(root, "rev-list", "--parents", "-n", "1", commit).split()[1:]
        before = changelog_section(file_at(root, parents[0], CHANGELOG)) if parents else ""
        if changelog_section(file_at(root, commit, CHANGELOG)) != before:
            return commit
    raise SpecDiffError(
        f"no commit changed the {CHANGELOG_SECTION!r} section of {CHANGELOG}"
        " (a shallow clone? fetch the whole history)"
    )


def unlogged_breaking_changes(root: Path = ROOT) -> tuple[str, list[Change]]:
    """The breaking changes of the working spec since the last CHANGELOG Spec edit, and that edit."""
    anchor = last_changelog_entry(root)
    if anchor is None:
        return "the working copy of CHANGELOG.md", []
    old = load_spec(file_at(root, anchor, SPEC), f"{SPEC} at {anchor[:12]}")
    new = load_spec((root / SPEC).read_text(encoding="utf-8"), SPEC)
    return anchor, [change for change in compare_specs(old, new) if change.breaking]


def guard_message(anchor: str, breaking: list[Change]) -> str:
    listed = "\n".join(f"  {change}" for change in breaking)
    return (
        f"{SPEC} has {len(breaking)} breaking change(s) since the last {CHANGELOG} Spec entry "
        f"(commit {anchor[:12]}):\n{listed}\n"
        f"Add an entry to the {CHANGELOG_SECTION!r} section of {CHANGELOG} saying what breaks and for "
        f"whom (newest first, as the entries there do), or undo the change."
    )


# ------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", nargs="?", default="HEAD", help="git ref of the old spec (default: HEAD)")
    parser.add_argument("--against", metavar="REF", help="compare with the spec at REF, not the working copy")
    parser.add_argument(
        "--changelog-guard",
        action="store_true",
        help="fail on breaking changes since the last CHANGELOG Spec entry",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the git checkout (default: this one)")
    args = parser.parse_args(argv)
    root: Path = args.root
    try:
        if args.changelog_guard:
            anchor, breaking = unlogged_breaking_changes(root)
            if breaking:
                print(guard_message(anchor, breaking), file=sys.stderr)
                return 1
            print(f"no breaking change of {SPEC} since the last {CHANGELOG} Spec entry ({anchor[:12]})")
            return 0
        old = load_spec(file_at(root, args.base, SPEC), f"{SPEC} at {args.base}")
        if args.against:
            new_origin, new_text = f"{SPEC} at {args.against}", file_at(root, args.against, SPEC)
        else:
            new_origin, new_text = f"{SPEC} (working copy)", (root / SPEC).read_text(encoding="utf-8")
        changes = compare_specs(old, load_spec(new_text, new_origin))
    except SpecDiffError as exc:
        print(f"spec-diff: {exc}", file=sys.stderr)
        return 2
    for change in changes:
        print(change)
    breaking = sum(change.breaking for change in changes)
    print(f"{len(changes)} change(s), {breaking} breaking: {SPEC} at {args.base} → {new_origin}")
    return 1 if breaking else 0


if __name__ == "__main__":
    sys.exit(main())
