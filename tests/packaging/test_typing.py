"""Users' type checkers see the public API's declared types, from the installed wheel.

``tests/typing/public_api.py`` spells the public API out in ``assert_type`` calls. It is checked by
``mypy --strict`` and by pyright in strict mode, both run in the clean venv of ``make wheel-venv`` on a
copy of the file in a scratch directory: no project configuration and no path reaches the source
tree, so the types come from the wheel through its ``py.typed`` markers. Pyright is told not to read
untyped libraries (``useLibraryCodeForTypes: false``) so that a wheel without a marker fails it too.
A second file with one deliberate mistake proves each checker really checks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from wheel_venv import ROOT, pyright, run, shown, venv_bin

PUBLIC_API = ROOT / "tests" / "typing" / "public_api.py"

MISTAKE = """\
from typing import assert_type

from ray_jobs_client import JobSubmissionClient


def wrong(client: JobSubmissionClient) -> None:
    assert_type(client.get_job_status("job"), str)  # it is a JobStatus
"""


@pytest.fixture
def checked(tmp_path: Path) -> Path:
    """A scratch directory with the public API file and the deliberate mistake, nothing else."""
    shutil.copy(PUBLIC_API, tmp_path / "public_api.py")
    (tmp_path / "mistake.py").write_text(MISTAKE)
    return tmp_path


def mypy(directory: Path, file: str) -> tuple[int, str]:
    config = directory / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\n")
    result = run(
        [venv_bin("python"), "-m", "mypy", "--config-file", str(config), "--cache-dir", ".mypy_cache", file],
        cwd=directory,
    )
    return result.returncode, shown(result)


def test_mypy_strict_sees_the_declared_types_of_the_installed_wheel(checked: Path) -> None:
    code, output = mypy(checked, "public_api.py")
    assert code == 0, output
    code, output = mypy(checked, "mistake.py")
    assert code == 1, output
    assert 'Expression is of type "JobStatus", not "str"  [assert-type]' in output, output


def run_pyright(directory: Path, file: str) -> tuple[int, dict[str, Any], str]:
    (directory / "pyrightconfig.json").write_text(
        json.dumps({"typeCheckingMode": "strict", "useLibraryCodeForTypes": False})
    )
    result = run(
        [pyright(), "--pythonpath", venv_bin("python"), "--project", str(directory), "--outputjson", file],
        cwd=directory,
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no JSON report\n{shown(result)}")
    return result.returncode, report, shown(result)


def test_pyright_strict_sees_the_declared_types_of_the_installed_wheel(checked: Path) -> None:
    code, report, output = run_pyright(checked, "public_api.py")
    assert code == 0, json.dumps(report["generalDiagnostics"], indent=1)
    assert report["summary"]["filesAnalyzed"] == 1, output
    code, report, output = run_pyright(checked, "mistake.py")
    assert code == 1, output
    messages = [diagnostic["message"] for diagnostic in report["generalDiagnostics"]]
    assert messages == ['"assert_type" mismatch: expected "str" but received "JobStatus"'], output
