"""The installed ``ray-jobs`` console script, driven as a subprocess against the session's live head.

Two parts:

* a parity table: the same command lines through ``ray-jobs`` and through Ray's own ``ray job``
  (when Ray is installed beside this interpreter), both held to the same exit code and the same
  essential output (ids, "succeeded"/"failed", log lines, "does not exist"...). The scenarios replay
  Ray's ``test_cli_integration.py``;
* checks of ``ray-jobs`` alone on the table's jobs: JSON output, runtime_env options, plain errors
  (no traceback) for user mistakes, an undecodable log. More of ``ray-jobs`` alone (resources,
  quoting, address resolution, headers, ``logs --follow``, Ctrl-C) is in ``test_cli_alone.py``, a
  file of its own so that an xdist worker runs it beside this one.

Ray's CLI takes seconds to start, so it only runs in the parity table; both sides of a scenario run
at the same time. Jobs a scenario needs beforehand are made with plain HTTP calls, so these tests
depend on nothing but the job server and the two command lines.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import httpx
import pytest
from ray_jobs_client.models import TERMINAL_STATUSES as TERMINAL

pytestmark = pytest.mark.live

BIN = Path(sys.executable).parent
RAY_JOBS = str(BIN / "ray-jobs")
RAY = BIN / "ray"
OURS, RAYS = "ray-jobs", "ray job"
COMMANDS = {OURS: [RAY_JOBS], RAYS: [str(RAY), "job"]}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: A job whose log holds a byte that is not UTF-8: the server cannot send its log (issue reproduction).
UNDECODABLE = "python -c \"import sys; sys.stdout.buffer.write(b'ok\\n\\xff bad\\n')\""
#: What the follower warns (once) when the server cannot send a log.
LOG_UNSENDABLE = "could not send the full log"

Result = tuple[int, str, str]


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float = 60,
    command: Sequence[str] = (RAY_JOBS,),
) -> Result:
    """Run a CLI to completion: (exit code, stdout, stderr), colour codes removed."""
    done = subprocess.run(
        [*command, *args],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, ANSI.sub("", done.stdout), ANSI.sub("", done.stderr)


def shown(result: Result) -> str:
    code, out, err = result
    return f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"


def new_id(tag: str) -> str:
    return f"cli-{tag}-{uuid.uuid4().hex[:10]}"


def with_env(env: Mapping[str, str], **changes: str | None) -> dict[str, str]:
    """A copy of ``env`` with variables set (or removed, for None)."""
    result = dict(env)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def assert_user_error(result: Result, *needles: str) -> None:
    """A user error: exit 1, an ``Error:`` line on stderr, no traceback."""
    code, _, err = result
    assert code == 1, shown(result)
    assert "Traceback" not in err, shown(result)
    assert any(line.startswith("Error: ") for line in err.splitlines()), shown(result)
    for needle in needles:
        assert needle in err, shown(result)


# ---------------------------------------------------------------------------------------- fixtures


class Jobs:
    """Jobs made over plain HTTP for the tests to act on; anything still running is stopped at the end."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.started: list[str] = []

    def submit(self, tag: str, entrypoint: str, **fields: object) -> str:
        job_id = new_id(tag)
        response = self.http.post(
            "/api/jobs/", json={"entrypoint": entrypoint, "submission_id": job_id, **fields}
        )
        response.raise_for_status()
        self.started.append(job_id)
        return job_id

    def track(self, job_id: str) -> str:
        self.started.append(job_id)
        return job_id

    def info(self, job_id: str) -> dict[str, object]:
        response = self.http.get(f"/api/jobs/{job_id}")
        response.raise_for_status()
        info: dict[str, object] = response.json()
        return info

    def wait(self, job_ids: Sequence[str], statuses: set[str], timeout: float = 120) -> None:
        """Poll until every job has one of ``statuses`` (a terminal status other than those fails)."""
        deadline = time.monotonic() + timeout
        pending = list(job_ids)
        while pending:
            for job_id in list(pending):
                info = self.info(job_id)
                if info["status"] in statuses:
                    pending.remove(job_id)
                elif info["status"] in TERMINAL:
                    raise AssertionError(f"job {job_id} ended {info['status']}, wanted {statuses}: {info}")
            if pending and time.monotonic() > deadline:
                raise AssertionError(f"jobs {pending} not {statuses} after {timeout}s")
            if pending:
                time.sleep(0.25)

    def stop_all(self) -> None:
        with contextlib.suppress(httpx.HTTPError):
            status = {job["submission_id"]: job["status"] for job in self.http.get("/api/jobs/").json()}
            for job_id in self.started:
                if status.get(job_id, "SUCCEEDED") not in TERMINAL:
                    self.http.post(f"/api/jobs/{job_id}/stop")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A working_dir whose script imports a module next to it, and a runtime_env YAML file."""
    root = tmp_path_factory.mktemp("cli")
    work = root / "workdir"
    work.mkdir()
    (work / "helper.py").write_text("def greet():\n    return 'helper says hello'\n")
    (work / "main.py").write_text("import helper\n\nprint(helper.greet())\n")
    runtime_env = root / "runtime_env.yaml"
    runtime_env.write_text("env_vars:\n  CLI_TEST_VAR: from-yaml\nworking_dir: /does/not/exist\n")
    return {"wd": str(work), "yaml": str(runtime_env)}


@pytest.fixture(scope="module")
def made(jobs: Jobs, files: dict[str, str]) -> dict[str, dict[str, str]]:
    """Jobs the parity scenarios act on, all made at once: shared ones, and one per CLI where the
    scenario changes the job."""
    shared = {
        "succeeded": jobs.submit("ok", "python -c \"print('parity-log-line')\""),
        "failed": jobs.submit("fail", "python -c \"import sys; print('parity-fail-line'); sys.exit(3)\""),
        "running": jobs.submit("run", "sleep 300"),
        "stopped": jobs.submit("stopped", "sleep 300"),
        "undecodable": jobs.submit("undecodable", UNDECODABLE),
        **files,
    }
    per_side = {
        side: {
            "finished": jobs.submit("done", "echo to-delete"),
            "stop": jobs.submit("stop", "sleep 300"),
            "stop_nowait": jobs.submit("stopnw", "sleep 300"),
        }
        for side in COMMANDS
    }
    jobs.wait(
        [shared["succeeded"], shared["undecodable"], *(ids["finished"] for ids in per_side.values())],
        {"SUCCEEDED"},
    )
    jobs.wait([shared["failed"]], {"FAILED"})
    running = [
        shared["running"],
        shared["stopped"],
        *(ids[name] for ids in per_side.values() for name in ("stop", "stop_nowait")),
    ]
    jobs.wait(running, {"RUNNING"})
    jobs.http.post(f"/api/jobs/{shared['stopped']}/stop").raise_for_status()
    jobs.wait([shared["stopped"]], {"STOPPED"})
    return {side: {**shared, **ids} for side, ids in per_side.items()}


# ------------------------------------------------------------------------------ parity with `ray job`


@dataclass(frozen=True)
class Scenario:
    """One command line for both CLIs (split like a shell does). ``$name`` in any string is a job id
    or a path from ``made``; ``$new`` is a fresh id per CLI."""

    line: str
    code: int
    stdout: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()
    anywhere: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60


SCENARIOS = {
    "submit-follow-working-dir": Scenario(
        """submit --submission-id $new --working-dir $wd --metadata-json '{"k": "v"}' -- python main.py""",
        0,
        stdout=(
            "Job '$new' submitted successfully",
            "Tailing logs until the job exits",
            "helper says hello",
            "Job '$new' succeeded",
        ),
        timeout=120,
    ),
    "submit-follow-failing-job": Scenario(
        '''submit --submission-id $new -- python -c "import sys; print('about to fail'); sys.exit(3)"''',
        1,
        stdout=("Tailing logs until the job exits", "about to fail", "Job '$new' failed"),
        timeout=120,
    ),
    "submit-no-wait": Scenario(
        "submit --no-wait --job-id $new -- echo nowait-marker",
        0,
        stdout=("Job '$new' submitted successfully",),
        absent=("Tailing logs", "nowait-marker"),
    ),
    "status-succeeded": Scenario("status $succeeded", 0, stdout=("Job '$succeeded' succeeded",)),
    "status-failed": Scenario("status $failed", 0, stdout=("Job '$failed' failed",)),
    "status-unknown": Scenario("status $new", 1, stderr=("Job $new does not exist",)),
    "logs": Scenario("logs $succeeded", 0, stdout=("parity-log-line",)),
    "logs-follow-finished-job": Scenario(
        "logs --follow $succeeded", 0, stdout=("parity-log-line", "Job '$succeeded' succeeded"), timeout=90
    ),
    "logs-follow-failed-job": Scenario(
        "logs --follow $failed", 0, stdout=("parity-fail-line", "Job '$failed' failed"), timeout=90
    ),
    "logs-follow-stopped-job": Scenario(
        "logs --follow $stopped", 0, anywhere=("Job '$stopped' was stopped",), timeout=90
    ),
    "logs-unknown": Scenario("logs $new", 1, stderr=("Job $new does not exist",)),
    # A log the server cannot send (a byte that is not UTF-8): following is not an error, reading is.
    "submit-follow-undecodable-log": Scenario(
        f"submit --submission-id $new -- {UNDECODABLE}", 0, stdout=("Job '$new' succeeded",), timeout=120
    ),
    "logs-follow-undecodable-log": Scenario(
        "logs --follow $undecodable", 0, stdout=("Job '$undecodable' succeeded",), timeout=90
    ),
    "logs-undecodable-log": Scenario("logs $undecodable", 1, stderr=("UnicodeDecodeError",)),
    "stop": Scenario(
        "stop $stop",
        0,
        stdout=(
            "Attempting to stop job '$stop'",
            "Waiting for job '$stop' to exit",
            "Job '$stop' was stopped",
        ),
    ),
    "stop-no-wait": Scenario(
        "stop --no-wait $stop_nowait",
        0,
        stdout=("Attempting to stop job '$stop_nowait'",),
        absent=("Waiting for job", "was stopped"),
    ),
    "stop-finished-job": Scenario(
        "stop $succeeded", 0, stdout=("Attempting to stop job '$succeeded'", "Job '$succeeded' succeeded")
    ),
    "list-with-RAY_JOB_HEADERS": Scenario(
        "list", 0, stdout=("$succeeded", "$failed"), env={"RAY_JOB_HEADERS": '{"key": "value"}'}
    ),
    "delete-finished": Scenario("delete $finished", 0, stdout=("Job '$finished' deleted successfully",)),
    "delete-running": Scenario("delete $running", 1, stderr=("it is in a non-terminal state",)),
    "delete-unknown": Scenario("delete $new", 1, stderr=("Job $new does not exist",)),
    "invalid-metadata-json": Scenario(
        "submit --metadata-json {bad -- echo hi", 1, anywhere=("metadata-json",)
    ),
    "invalid-RAY_JOB_HEADERS": Scenario(
        "submit -- echo hi",
        1,
        stderr=("Failed to parse headers into JSON",),
        env={"RAY_JOB_HEADERS": "{key value}"},
    ),
    "runtime-env-file-and-json": Scenario(
        "submit --runtime-env $yaml --runtime-env-json {} -- echo hi",
        1,
        stderr=("Only one of --runtime_env and --runtime-env-json can be provided.",),
    ),
    "missing-entrypoint": Scenario("submit", 2, stderr=("ENTRYPOINT",)),
    "unknown-option": Scenario("submit --bogus -- echo hi", 2, stderr=("--bogus",)),
}


def _fill(texts: Sequence[str], values: Mapping[str, str]) -> list[str]:
    return [Template(text).substitute(values) for text in texts]


def argv(line: str, values: Mapping[str, str]) -> list[str]:
    """A command line split like a shell does, then ``$name`` replaced in each argument."""
    return _fill(shlex.split(line), values)


def _check(side: str, scenario: Scenario, values: Mapping[str, str], result: Result) -> None:
    code, out, err = result
    context = f"{side} {shlex.join(argv(scenario.line, values))}\n{shown(result)}"
    assert code == scenario.code, context
    for text in _fill(scenario.stdout, values):
        assert text in out, f"{text!r} not on stdout of {context}"
    for text in _fill(scenario.stderr, values):
        assert text in err, f"{text!r} not on stderr of {context}"
    for text in _fill(scenario.anywhere, values):
        assert text in out + err, f"{text!r} not in the output of {context}"
    for text in _fill(scenario.absent, values):
        assert text not in out + err, f"{text!r} unexpectedly in the output of {context}"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_parity_with_ray_job(
    name: str, env: dict[str, str], made: dict[str, dict[str, str]], jobs: Jobs
) -> None:
    """The same command line through ``ray-jobs`` and ``ray job``: same exit code, same essentials."""
    scenario = SCENARIOS[name]
    sides = [OURS, RAYS] if RAY.exists() else [OURS]
    values = {side: {**made[side], "new": jobs.track(new_id("new"))} for side in sides}
    with ThreadPoolExecutor(len(sides)) as pool:
        futures = {
            side: pool.submit(
                run,
                argv(scenario.line, values[side]),
                env={**env, **scenario.env},
                timeout=scenario.timeout,
                command=COMMANDS[side],
            )
            for side in sides
        }
        results = {side: future.result() for side, future in futures.items()}
    if RAYS in results:
        assert results[OURS][0] == results[RAYS][0], (
            f"exit codes differ\nray-jobs: {shown(results[OURS])}\nray job: {shown(results[RAYS])}"
        )
    for side, result in results.items():
        _check(side, scenario, values[side], result)


# -------------------------------------------------------------------------------- ray-jobs alone


def test_help_runs(env: dict[str, str]) -> None:
    code, out, _ = run(["--help"], env=env, timeout=30)
    assert code == 0
    for command in ("submit", "status", "logs", "stop", "delete", "list"):
        assert command in out
    code, out, _ = run(["submit", "--help"], env=env, timeout=30)
    assert code == 0
    assert "--no-wait" in out and "--runtime-env-json" in out


def test_status_and_list_json_are_the_only_stdout(
    env: dict[str, str], made: dict[str, dict[str, str]]
) -> None:
    job_id = made[OURS]["succeeded"]
    code, out, err = run(["status", "--format", "json", job_id], env=env)
    assert code == 0, err
    details = json.loads(out)
    assert details["submission_id"] == job_id
    assert details["status"] == "SUCCEEDED"
    assert details["entrypoint"] == "python -c \"print('parity-log-line')\""

    code, out, err = run(["list", "--format", "json"], env=env)
    assert code == 0, err
    listed = json.loads(out)
    assert isinstance(listed, list)
    assert {job["submission_id"]: job["status"] for job in listed}[job_id] == "SUCCEEDED"


def test_status_json_of_unknown_job_prints_nothing_on_stdout(env: dict[str, str], unique_id: str) -> None:
    result = run(["status", "--format", "json", unique_id], env=env)
    assert_user_error(result, f"Job {unique_id} does not exist")
    assert result[1] == ""


def test_runtime_env_file_and_working_dir_override(
    env: dict[str, str], files: dict[str, str], jobs: Jobs, unique_id: str
) -> None:
    """``--runtime-env`` reads the YAML file; ``--working-dir`` replaces its working_dir, with a warning."""
    jobs.track(unique_id)
    line = "submit --no-wait --submission-id $id --runtime-env $yaml --working-dir $wd -- python main.py"
    code, out, err = run(argv(line, {"id": unique_id, **files}), env=env)
    assert code == 0, shown((code, out, err))
    assert "Overriding runtime_env working_dir with --working-dir option" in err
    runtime_env = jobs.info(unique_id)["runtime_env"]
    assert isinstance(runtime_env, dict)
    assert runtime_env["env_vars"] == {"CLI_TEST_VAR": "from-yaml"}
    assert str(runtime_env["working_dir"]).startswith("gcs://_ray_pkg_")


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("status $missing", "does not exist"),
        ("logs $missing", "does not exist"),
        ("logs --follow $missing", "does not exist"),
        ("stop $missing", "does not exist"),
        ("delete $missing", "does not exist"),
        ("submit --metadata-json {bad -- echo hi", "--metadata-json"),
        ("submit --metadata-json [1] -- echo hi", "--metadata-json"),
        ("submit --runtime-env-json {bad -- echo hi", "--runtime-env-json"),
        ("submit --entrypoint-resources {bad -- echo hi", "--entrypoint-resources"),
        ("submit --entrypoint-label-selector [] -- echo hi", "--entrypoint-label-selector"),
        ("submit --runtime-env $yaml --runtime-env-json {} -- echo hi", "Only one of"),
        ("submit --runtime-env /does/not/exist.yaml -- echo hi", "/does/not/exist.yaml"),
        ("list --headers '{key value}'", "Failed to parse headers into JSON"),
        ("list --headers '[\"a\"]'", "Failed to parse headers into JSON"),
    ],
)
def test_user_errors_are_reported_without_traceback(
    line: str, needle: str, env: dict[str, str], files: dict[str, str], unique_id: str
) -> None:
    assert_user_error(run(argv(line, {"missing": unique_id, **files}), env=env), needle)


def test_an_undecodable_log_is_one_warning_not_an_error(
    env: dict[str, str], made: dict[str, dict[str, str]], jobs: Jobs, unique_id: str
) -> None:
    """The server cannot send a log holding a byte that is not UTF-8: following it prints the job's
    status and exits as for any log, with one warning on stderr saying why the log is missing."""
    jobs.track(unique_id)
    for line, job_id in (
        (f"submit --submission-id {unique_id} -- {UNDECODABLE}", unique_id),
        ("logs --follow $undecodable", made[OURS]["undecodable"]),
    ):
        result = run(argv(line, made[OURS]), env=env, timeout=120)
        code, out, err = result
        assert code == 0, shown(result)
        assert f"Job '{job_id}' succeeded" in out, shown(result)
        assert err.count(LOG_UNSENDABLE) == 1, shown(result)
        assert "not UTF-8" in err and "Traceback" not in err, shown(result)
        assert not any(line.startswith("Error: ") for line in err.splitlines()), shown(result)

    result = run(["logs", made[OURS]["undecodable"]], env=env)
    assert_user_error(result, "holds bytes that are not UTF-8, so the server cannot send it")
