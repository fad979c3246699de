"""``tools/spec_diff.py`` (``make spec-diff``): breaking changes of the spec are reported as breaking,
compatible ones as compatible, and a breaking change without a ``CHANGELOG.md`` Spec entry fails.

Changes are injected into copies of today's ``openapi/jobs.yaml``; the targets (a response
property, an enum, an operation…) are looked up in the spec, not named here. The command line and
the CHANGELOG rule run in a throwaway git repository holding copies of the spec and the CHANGELOG.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import spec_diff
import yaml
from spec_tools import ROOT, require_tool

Spec = dict[str, Any]
SPEC: Spec = yaml.safe_load((ROOT / spec_diff.SPEC).read_text(encoding="utf-8"))


def _schemas(spec: Spec) -> dict[str, Any]:
    return spec["components"]["schemas"]


def _response_schema_name(spec: Spec) -> str:
    """A component schema that a 200 response answers, with required properties."""
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for media in operation["responses"].get("200", {}).get("content", {}).values():
                name = media.get("schema", {}).get("$ref", "").rpartition("/")[2]
                if name and _schemas(spec)[name].get("required"):
                    return name
    raise AssertionError("no 200 response with a named object schema")


def _request_schema_name(spec: Spec) -> str:
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                for media in operation["requestBody"]["content"].values():
                    if ref := media.get("schema", {}).get("$ref"):
                        return str(ref.rpartition("/")[2])
    raise AssertionError("no request body with a named schema")


def _enum_name(spec: Spec) -> str:
    return next(name for name, schema in _schemas(spec).items() if len(schema.get("enum", [])) > 1)


def remove_response_field(spec: Spec) -> str:
    schema = _schemas(spec)[_response_schema_name(spec)]
    field = schema["required"][-1]
    del schema["properties"][field]
    schema["required"].remove(field)
    return field


def narrow_enum(spec: Spec) -> str:
    values = _schemas(spec)[_enum_name(spec)]["enum"]
    return str(values.pop())


def remove_operation(spec: Spec) -> str:
    path = next(path for path, item in spec["paths"].items() if "post" in item)
    del spec["paths"][path]["post"]
    return f"POST {path}"


def remove_response(spec: Spec) -> str:
    operation = next(op for item in spec["paths"].values() for op in item.values() if "responses" in op)
    status = next(status for status in operation["responses"] if status != "200")
    del operation["responses"][status]
    return str(status)


def require_request_field(spec: Spec) -> str:
    schema = _schemas(spec)[_request_schema_name(spec)]
    field = next(name for name in schema["properties"] if name not in schema.get("required", []))
    schema.setdefault("required", []).append(field)
    return field


def change_response_field_type(spec: Spec) -> str:
    schema = _schemas(spec)[_response_schema_name(spec)]
    field = next(name for name, prop in schema["properties"].items() if prop.get("type") == "string")
    schema["properties"][field]["type"] = "integer"
    return field


BREAKING: dict[str, tuple[Callable[[Spec], str], str]] = {
    "removed response field": (remove_response_field, "property removed"),
    "narrowed enum": (narrow_enum, "enum value removed"),
    "removed operation": (remove_operation, "operation removed"),
    "removed response": (remove_response, "response removed"),
    "request field newly required": (require_request_field, "now required"),
    "response field type changed": (change_response_field_type, "type string → integer"),
}


@pytest.mark.parametrize("name", BREAKING)
def test_breaking_change_is_reported_as_breaking(name: str) -> None:
    inject, expected = BREAKING[name]
    changed = copy.deepcopy(SPEC)
    target = inject(changed)
    changes = spec_diff.compare_specs(SPEC, changed)
    hits = [c for c in changes if expected in c.what and target in f"{c.where} {c.what}"]
    assert hits, f"{name} ({target}) not reported as {expected!r}: {[str(c) for c in changes]}"
    assert all(c.breaking for c in hits), [str(c) for c in hits]


def add_optional_response_field(spec: Spec) -> str:
    schema = _schemas(spec)[_response_schema_name(spec)]
    schema["properties"]["added_by_a_test"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    return "added_by_a_test"


def add_optional_request_field(spec: Spec) -> str:
    schema = _schemas(spec)[_request_schema_name(spec)]
    schema["properties"]["added_by_a_test"] = {"type": "integer"}
    return "added_by_a_test"


def add_response_example(spec: Spec) -> str:
    schema = _schemas(spec)[_response_schema_name(spec)]
    field = schema["required"][0]
    schema["properties"][field]["examples"] = ["added-by-a-test"]
    return field


def reword_description(spec: Spec) -> str:
    operation = next(op for item in spec["paths"].values() for op in item.values() if "responses" in op)
    operation["description"] = "Reworded by a test."
    return str(operation["operationId"])


COMPATIBLE: dict[str, Callable[[Spec], str]] = {
    "added optional response field": add_optional_response_field,
    "added optional request field": add_optional_request_field,
    "added response example": add_response_example,
    "reworded description": reword_description,
}


@pytest.mark.parametrize("name", COMPATIBLE)
def test_compatible_change_is_reported_as_compatible(name: str) -> None:
    changed = copy.deepcopy(SPEC)
    COMPATIBLE[name](changed)
    changes = spec_diff.compare_specs(SPEC, changed)
    assert changes, f"{name} was not reported at all"
    assert not [str(c) for c in changes if c.breaking]


def test_an_unchanged_spec_has_no_changes() -> None:
    assert spec_diff.compare_specs(SPEC, copy.deepcopy(SPEC)) == []


# ------------------------------------------------------------------ the command and the CHANGELOG rule


def _git_checkout() -> str:
    git = require_tool("git", shutil.which("git"), "install git")
    if not (ROOT / ".git").exists():
        require_tool("a git checkout of the repository", None, "run the tests from a clone")
    return git


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=spec-diff test", "-c", "user.email=spec-diff@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def _tool(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "tools" / "spec_diff.py"), "--root", str(repo), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _write_spec(repo: Path, spec: Spec) -> None:
    (repo / spec_diff.SPEC).write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")


def _add_changelog_entry(repo: Path, text: str) -> None:
    changelog = repo / spec_diff.CHANGELOG
    lines = changelog.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("### "))
    changelog.write_text("\n".join([*lines[:at], "### Next", "", f"- {text}", "", *lines[at:]]) + "\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose one commit holds today's spec and CHANGELOG."""
    _git_checkout()
    (tmp_path / "openapi").mkdir()
    shutil.copy(ROOT / spec_diff.SPEC, tmp_path / spec_diff.SPEC)
    shutil.copy(ROOT / spec_diff.CHANGELOG, tmp_path / spec_diff.CHANGELOG)
    _git(tmp_path, "init", "--quiet")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "--quiet", "-m", "spec and CHANGELOG")
    return tmp_path


def test_spec_diff_command_marks_breaking_changes_and_exits_1(repo: Path) -> None:
    changed = copy.deepcopy(SPEC)
    value = narrow_enum(changed)
    add_optional_response_field(changed)
    _write_spec(repo, changed)
    result = _tool(repo, "HEAD")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if line.startswith("BREAKING") and f"enum value removed: {value}" in line]
    assert [line for line in lines if line.startswith("compatible") and "added_by_a_test" in line]


def test_spec_diff_command_exits_0_for_compatible_changes(repo: Path) -> None:
    changed = copy.deepcopy(SPEC)
    add_response_example(changed)
    _write_spec(repo, changed)
    result = _tool(repo)  # BASE defaults to HEAD
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("compatible"), result.stdout


def test_spec_diff_command_refuses_an_unknown_ref(repo: Path) -> None:
    result = _tool(repo, "no-such-ref")
    assert result.returncode == 2
    assert "no-such-ref" in result.stderr


def test_changelog_guard_fails_on_a_breaking_change_without_an_entry(repo: Path) -> None:
    changed = copy.deepcopy(SPEC)
    field = remove_response_field(changed)
    _write_spec(repo, changed)
    _git(repo, "commit", "--quiet", "-am", "a breaking spec change, no CHANGELOG entry")

    _, breaking = spec_diff.unlogged_breaking_changes(repo)
    assert [c for c in breaking if c.where.endswith(f".{field}")], [str(c) for c in breaking]
    result = _tool(repo, "--changelog-guard")
    assert result.returncode == 1
    assert field in result.stderr and spec_diff.CHANGELOG in result.stderr

    # An entry in the working copy satisfies the rule, and so does the committed entry.
    _add_changelog_entry(repo, f"**Breaking:** `{field}` removed.")
    assert spec_diff.unlogged_breaking_changes(repo)[1] == []
    _git(repo, "commit", "--quiet", "-am", "CHANGELOG entry")
    assert spec_diff.unlogged_breaking_changes(repo)[1] == []
    assert _tool(repo, "--changelog-guard").returncode == 0


def test_changelog_guard_ignores_edits_outside_the_spec_section(repo: Path) -> None:
    changed = copy.deepcopy(SPEC)
    narrow_enum(changed)
    _write_spec(repo, changed)
    changelog = repo / spec_diff.CHANGELOG
    changelog.write_text(changelog.read_text() + "\n## Python client\n\n- something else\n")
    _git(repo, "commit", "--quiet", "-am", "a breaking spec change and an unrelated CHANGELOG edit")
    assert [str(c) for c in spec_diff.unlogged_breaking_changes(repo)[1]]


def test_no_breaking_spec_change_without_a_changelog_entry() -> None:
    """The rule on this tree: see the module docstring of tools/spec_diff.py."""
    _git_checkout()
    try:
        anchor, breaking = spec_diff.unlogged_breaking_changes(ROOT)
    except spec_diff.SpecDiffError as exc:
        pytest.fail(str(exc))
    assert not breaking, spec_diff.guard_message(anchor, breaking)
