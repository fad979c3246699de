"""The wheel and the sdist as users get them, installed (not editable) into a clean venv.

What a source-tree test cannot see: a module or marker missing from the wheel, an sdist that does
not rebuild it, a runtime dependency that only the dev venv happens to have, a version that differs
from pyproject.toml. The live tests run the venv's own ``python`` and ``ray-jobs`` against the
session's head (the token comes from the session's environment, as a user's would).
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from wheel_venv import (
    DIST,
    DISTRIBUTION,
    VENV,
    built,
    clean_env,
    project_version,
    run,
    shown,
    venv_bin,
)

MARKERS = ("ray_jobs_client/py.typed", "ray_jobs_api/py.typed")


def wheel_record(wheel: Path) -> list[str]:
    """The wheel's files with their hashes (its RECORD), sorted."""
    with zipfile.ZipFile(wheel) as archive:
        (record,) = (name for name in archive.namelist() if name.endswith(".dist-info/RECORD"))
        return sorted(archive.read(record).decode().splitlines())


def test_the_wheel_ships_both_packages_with_their_py_typed_markers() -> None:
    with zipfile.ZipFile(built("ray_jobs_client-*.whl")) as archive:
        names = set(archive.namelist())
    missing = [marker for marker in MARKERS if marker not in names]
    assert not missing, f"the wheel lacks {missing}"
    for package in ("ray_jobs_client", "ray_jobs_api"):
        assert f"{package}/__init__.py" in names
    assert not [name for name in names if name.startswith(("tests/", "wrapper/", "generated/"))]


def test_the_sdist_has_the_markers_and_rebuilds_the_same_wheel_as_the_tree() -> None:
    sdist = built("ray_jobs_client-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for path in (
        "pyproject.toml",
        "README.md",
        "wrapper/ray_jobs_client/py.typed",
        "generated/ray_jobs_api/py.typed",
    ):
        assert path in names, f"{sdist.name} lacks {path}"
    # `python -m build` built the wheel in build/dist from the unpacked sdist: it must hold the same
    # files, byte for byte, as the wheel built straight from the tree.
    from_sdist = wheel_record(built("ray_jobs_client-*.whl"))
    from_tree = wheel_record(built("ray_jobs_client-*.whl", DIST / "tree"))
    differences = sorted(set(from_sdist) ^ set(from_tree))
    assert from_sdist == from_tree, f"the wheel built from the sdist differs from the tree's: {differences}"


def test_the_venv_imports_the_installed_wheel_and_only_runtime_dependencies(tmp_path: Path) -> None:
    probe = (
        "import importlib.metadata as m, importlib.util as u, json, ray_jobs_api, ray_jobs_client\n"
        f"dist = m.distribution({DISTRIBUTION!r})\n"
        "print(json.dumps({'files': [ray_jobs_client.__file__, ray_jobs_api.__file__],\n"
        "    'direct_url': json.loads(dist.read_text('direct_url.json') or '{}'),\n"
        "    'ray': u.find_spec('ray') is not None, 'pytest': u.find_spec('pytest') is not None}))\n"
    )
    result = run([venv_bin("python"), "-c", probe], cwd=tmp_path)
    assert result.returncode == 0, shown(result)
    found = json.loads(result.stdout)
    for module_file in found["files"]:
        assert Path(module_file).is_relative_to(VENV), f"imported {module_file}, not the venv's copy"
    # Installed from the wheel file, not from the tree (an editable install records `dir_info`).
    assert found["direct_url"]["url"].endswith(".whl"), found["direct_url"]
    assert "dir_info" not in found["direct_url"]
    assert found["ray"] is False, "Ray is a test dependency only: the wheel must not pull it in"
    assert found["pytest"] is False


def test_the_testing_extra_brings_psutil_and_a_head_without_it_names_the_extra(tmp_path: Path) -> None:
    """``ray_jobs_client.testing`` ships in the wheel (an extra cannot add a module) but its package
    comes only with ``[testing]``: the clean venv, without it, refuses to create a head and says so."""
    with zipfile.ZipFile(built("ray_jobs_client-*.whl")) as archive:
        (metadata,) = (name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        requirements = archive.read(metadata).decode().splitlines()
        assert "ray_jobs_client/testing.py" in archive.namelist()
    assert "Provides-Extra: testing" in requirements
    assert "Requires-Dist: psutil>=5.9; extra == 'testing'" in requirements
    probe = (
        "import importlib.util\n"
        "from ray_jobs_client.testing import LocalRayHead, MissingExtraError\n"
        "assert importlib.util.find_spec('psutil') is None, 'psutil is in the clean venv'\n"
        "try:\n"
        "    LocalRayHead(ray_executable='ray')\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    result = run([venv_bin("python"), "-c", probe], cwd=tmp_path)
    assert result.returncode == 0, shown(result)
    assert result.stdout.strip() == (
        "LocalRayHead needs psutil, which is not installed: pip install 'ray-jobs-client[testing]'"
    )


def test_the_version_is_pyprojects_in_the_package_and_the_cli(tmp_path: Path) -> None:
    version = project_version()
    result = run(
        [venv_bin("python"), "-c", "import ray_jobs_client; print(ray_jobs_client.__version__)"], cwd=tmp_path
    )
    assert result.returncode == 0, shown(result)
    assert result.stdout.strip() == version
    cli = run([venv_bin("ray-jobs"), "--version"], cwd=tmp_path)
    assert cli.returncode == 0, shown(cli)
    assert cli.stdout.strip() == f"ray-jobs {version}"


def test_the_version_is_read_from_the_installed_metadata(tmp_path: Path) -> None:
    """Defined once: a distribution found first on the path with another version wins everywhere."""
    shadow = tmp_path / "shadow"
    metadata = shadow / "ray_jobs_client-7.7.7.dist-info" / "METADATA"
    metadata.parent.mkdir(parents=True)
    metadata.write_text(f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 7.7.7\n")
    env = clean_env(PYTHONPATH=str(shadow))
    result = run(
        [venv_bin("python"), "-c", "import ray_jobs_client; print(ray_jobs_client.__version__)"],
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, shown(result)
    assert result.stdout.strip() == "7.7.7"
    cli = run([venv_bin("ray-jobs"), "--version"], cwd=tmp_path, env=env)
    assert cli.returncode == 0, shown(cli)
    assert cli.stdout.strip() == "ray-jobs 7.7.7"


# --------------------------------------------------------------------------- against the live head

FOLLOW = """\
import asyncio, json, sys
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient

address, working_dir, submission_id = sys.argv[1:]
with JobSubmissionClient(address) as client:
    client.submit_job(
        entrypoint="python job.py", runtime_env={"working_dir": working_dir}, submission_id=submission_id
    )
    followed = "".join(client.follow_job_logs(submission_id))
    status = client.get_job_status(submission_id)


async def tail() -> str:
    async with AsyncJobSubmissionClient(address) as client:
        return "".join([chunk async for chunk in client.tail_job_logs(submission_id)])

print(json.dumps({"followed": followed, "status": status, "tailed": asyncio.run(tail())}))
"""


@pytest.fixture
def working_dir(tmp_path: Path, unique_id: str) -> tuple[Path, str]:
    """A local working_dir whose job prints a line that exists only in a file of that directory."""
    directory = tmp_path / "project"
    directory.mkdir()
    line = f"uploaded-{unique_id}"
    (directory / "message.txt").write_text(line + "\n")
    (directory / "job.py").write_text("print(open('message.txt').read().strip())\n")
    return directory, line


@pytest.mark.live
def test_the_installed_client_uploads_a_working_dir_and_follows_the_logs(
    head_address: str, working_dir: tuple[Path, str], unique_id: str, tmp_path: Path
) -> None:
    directory, line = working_dir
    script = tmp_path / "follow.py"
    script.write_text(FOLLOW)
    result = run([venv_bin("python"), str(script), head_address, str(directory), unique_id], cwd=tmp_path)
    assert result.returncode == 0, shown(result)
    found = json.loads(result.stdout)
    assert found["status"] == "SUCCEEDED", shown(result)
    # The line exists only in a file of the uploaded directory; the sync follower and the async
    # iterator (of the finished job) each deliver it once.
    assert found["followed"].splitlines().count(line) == 1, shown(result)
    assert found["tailed"].splitlines().count(line) == 1, shown(result)


@pytest.mark.live
def test_the_installed_cli_submits_a_working_dir_and_reports_the_status(
    head_address: str, working_dir: tuple[Path, str], unique_id: str, tmp_path: Path
) -> None:
    directory, line = working_dir
    ray_jobs = venv_bin("ray-jobs")
    env = clean_env(NO_COLOR="1")
    submitted = run(
        [
            *(ray_jobs, "submit", "--address", head_address, "--working-dir", str(directory)),
            *("--submission-id", unique_id, "--", "python", "job.py"),
        ],
        cwd=tmp_path,
        env=env,
    )
    assert submitted.returncode == 0, shown(submitted)
    assert line in submitted.stdout, shown(submitted)
    assert f"Job '{unique_id}' succeeded" in submitted.stdout, shown(submitted)
    status = run(
        [ray_jobs, "status", unique_id, "--address", head_address, "--format", "json"], cwd=tmp_path, env=env
    )
    assert status.returncode == 0, shown(status)
    details = json.loads(status.stdout)
    assert details["status"] == "SUCCEEDED"
    assert details["runtime_env"]["working_dir"].startswith("gcs://_ray_pkg_"), details["runtime_env"]
