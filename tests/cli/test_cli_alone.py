"""``ray-jobs`` alone, driven as a subprocess against the session's live head: resources, quoting,
``logs --follow``, usage errors, ``list``, Ctrl-C while following, address resolution, fields newer
than the server, headers. (The parity table with Ray's ``ray job`` is in ``test_cli.py``, whose
helpers these tests share; the two files run on different xdist workers.)
"""

from __future__ import annotations

import json
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from head_release import HEAD_RELEASE, TOKEN_AUTH_SINCE, head_is_at_least
from ray_jobs_client.testing import LocalRayHead, free_port
from test_cli import (
    RAY_JOBS,
    Jobs,
    Result,
    argv,
    assert_user_error,
    new_id,
    run,
    shown,
    with_env,
)

pytestmark = pytest.mark.live


@pytest.mark.release
def test_entrypoint_resources_wait_for_resources(env: dict[str, str], jobs: Jobs) -> None:
    """A job asking for a resource another job holds waits ("waiting for resources"), then runs.

    (Ray's test asks for more CPUs than the cluster has; such a job can never be scheduled, and the
    server cannot stop it either — ``stop`` would wait for it forever. Holding the head's only
    ``Custom`` resource makes the wait real and lets the waiting job finish.)
    """
    holder, waiter = jobs.track(new_id("holder")), jobs.track(new_id("waiter"))
    line = """submit --no-wait --submission-id $id --entrypoint-resources '{"Custom": 1}' -- sleep 300"""
    code, _, err = run(argv(line, {"id": holder}), env=env)
    assert code == 0, err
    jobs.wait([holder], {"RUNNING"})
    line = (
        "submit --no-wait --submission-id $id --entrypoint-num-cpus 1 "
        """--entrypoint-resources '{"Custom": 1}' -- echo got-resources"""
    )
    code, _, err = run(argv(line, {"id": waiter}), env=env)
    assert code == 0, err
    result = run(["status", waiter], env=env)
    assert result[0] == 0, shown(result)
    assert f"Status for job '{waiter}': PENDING" in result[1], shown(result)
    assert "waiting for resources" in result[1], shown(result)

    result = run(["stop", holder], env=env, timeout=90)
    assert result[0] == 0 and f"Job '{holder}' was stopped" in result[1], shown(result)
    jobs.wait([waiter], {"SUCCEEDED"})
    result = run(["logs", waiter], env=env)
    assert result[0] == 0 and "got-resources" in result[1], shown(result)


def test_quote_escaping(env: dict[str, str], jobs: Jobs, unique_id: str) -> None:
    jobs.track(unique_id)
    line = '''submit --submission-id $id -- echo "hello 'world'"'''
    result = run(argv(line, {"id": unique_id}), env=env, timeout=120)
    code, out, _ = result
    assert code == 0, shown(result)
    assert "hello 'world'" in out.splitlines(), shown(result)
    assert f"Job '{unique_id}' succeeded" in out, shown(result)


def test_logs_follow_until_the_end(env: dict[str, str], jobs: Jobs) -> None:
    """``logs -f`` on a job that has not started yet prints every line as it comes, then the status."""
    script = "import time\nfor i in range(4):\n    print(f'follow-line-{i}', flush=True)\n    time.sleep(0.5)"
    job_id = jobs.submit("follow", f"python -u -c {shlex.quote(script)}")
    result = run(["logs", "--follow", job_id], env=env, timeout=120)
    code, out, _ = result
    assert code == 0, shown(result)
    positions = [out.find(f"follow-line-{i}") for i in range(4)]
    assert -1 not in positions and positions == sorted(positions), shown(result)
    assert out.rfind(f"Job '{job_id}' succeeded") > positions[-1], shown(result)


@pytest.mark.parametrize(
    "line", ["submit --bogus -- echo hi", "list --bogus", "logs --bogus x", "status x --format yaml"]
)
def test_usage_errors_show_the_subcommands_usage(line: str, env: dict[str, str]) -> None:
    result = run(shlex.split(line), env=env, timeout=30)
    code, out, err = result
    command = line.split()[0]
    assert code == 2, shown(result)
    assert out == "" and "Traceback" not in err, shown(result)
    assert err.startswith(f"usage: ray-jobs {command} "), shown(result)
    assert f"ray-jobs {command}: error: " in err, shown(result)


def test_list_prints_one_row_per_job(env: dict[str, str], jobs: Jobs) -> None:
    """An entrypoint holding newlines and tabs stays on its row (escaped); long cells are cut to the
    terminal's width (``COLUMNS`` here) unless ``--no-trunc``; JSON output keeps the entrypoint."""
    entrypoint = "echo first-line\necho 'second\tline' " + "x" * 600
    job_id = jobs.submit("multiline", entrypoint)
    escaped = "echo first-line\\necho 'second\\tline' "

    def rows(result: Result) -> list[str]:
        assert result[0] == 0, shown(result)
        assert not any(line.startswith("echo 'second") for line in result[1].splitlines()), shown(result)
        found = [line for line in result[1].splitlines() if job_id in line]
        assert len(found) == 1, shown(result)
        return found

    [row] = rows(run(["list"], env=env))  # piped, no COLUMNS: no width to fit, nothing cut
    assert escaped + "x" * 600 in row, row

    # 300 columns fewer than the whole table (whatever other jobs the head holds: long ids widen it).
    columns = str(len(row) - 300)
    [cut] = rows(run(["list"], env=with_env(env, COLUMNS=columns)))
    assert escaped in cut and "…" in cut and "x" * 600 not in cut, cut
    assert len(cut) <= int(columns), cut

    [row] = rows(run(["list", "--no-trunc"], env=with_env(env, COLUMNS=columns)))
    assert escaped + "x" * 600 in row, row

    code, out, err = run(["list", "--format", "json"], env=with_env(env, COLUMNS=columns))
    assert code == 0, err
    assert {job["submission_id"]: job["entrypoint"] for job in json.loads(out)}[job_id] == entrypoint


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_following_detaches_and_the_job_keeps_running(
    env: dict[str, str], jobs: Jobs, unique_id: str
) -> None:
    jobs.track(unique_id)
    ticker = "import time\nfor i in range(600):\n    print('tick', i, flush=True)\n    time.sleep(0.5)"
    process = subprocess.Popen(
        [RAY_JOBS, "submit", "--submission-id", unique_id, "--", "python", "-u", "-c", ticker],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run started in the background (`cmd &`) inherits SIGINT ignored.
        preexec_fn=_default_sigint,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + 90
    try:
        while not any(line.startswith("tick ") for line in seen):
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no job output after 90s:\n{''.join(seen)}") from None
            assert line is not None, f"ray-jobs ended before the job printed:\n{''.join(seen)}"
            seen.append(line)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    reader.join(timeout=10)
    while not lines.empty() and (line := lines.get_nowait()) is not None:
        seen.append(line)
    out = "".join(seen)
    assert process.stderr is not None
    err = process.stderr.read()
    assert code != 0, out
    assert "Traceback" not in err, err
    assert f"ray-jobs stop {unique_id}" in out, out
    assert f"ray-jobs logs --follow {unique_id}" in out, out

    result = run(["status", "--format", "json", unique_id], env=env)
    assert result[0] == 0 and json.loads(result[1])["status"] == "RUNNING", shown(result)
    result = run(["stop", unique_id], env=env, timeout=90)
    assert result[0] == 0 and f"Job '{unique_id}' was stopped" in result[1], shown(result)


# ------------------------------------------------------------------------------------- addresses


def _banner_address(out: str) -> str:
    match = re.search(r"Job submission server address: (\S+)", out)
    assert match, out
    return match.group(1)


def test_api_server_address_beats_ray_address_and_the_option(env: dict[str, str], head_address: str) -> None:
    """Ray's order: RAY_API_SERVER_ADDRESS, then RAY_ADDRESS, then --address (empty values are ignored)."""
    dead = f"http://127.0.0.1:{free_port()}"
    for changes, args in [
        ({"RAY_API_SERVER_ADDRESS": head_address, "RAY_ADDRESS": "ray://127.0.0.1:10001"}, ["list"]),
        ({"RAY_API_SERVER_ADDRESS": head_address, "RAY_ADDRESS": dead}, ["list", "--address", dead]),
        ({"RAY_API_SERVER_ADDRESS": "", "RAY_ADDRESS": head_address}, ["list", "--address", dead]),
    ]:
        result = run(args, env=with_env(env, **changes))
        assert result[0] == 0, f"{changes} {args}\n{shown(result)}"
        assert _banner_address(result[1]) == head_address


def test_unreachable_address_is_a_plain_error(env: dict[str, str]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    assert_user_error(run(["list"], env=with_env(env, RAY_ADDRESS=dead)), "Failed to connect", dead)


def test_address_without_scheme_or_port_is_rejected(env: dict[str, str]) -> None:
    assert_user_error(run(["list"], env=with_env(env, RAY_ADDRESS="myhost")), "Invalid address format")


@pytest.fixture
def ray_tmpdir_of_head(ray_head: LocalRayHead, tmp_path: Path) -> str:
    """A RAY_TMPDIR whose ``ray`` directory is the session head's: the head is "the local cluster"."""
    (tmp_path / "ray").symlink_to(ray_head.temp_dir, target_is_directory=True)
    return str(tmp_path)


@pytest.mark.release
def test_local_cluster_is_found_without_an_address(
    env: dict[str, str], head_address: str, ray_tmpdir_of_head: str
) -> None:
    result = run(["list"], env=with_env(env, RAY_ADDRESS=None, RAY_TMPDIR=ray_tmpdir_of_head))
    assert result[0] == 0, shown(result)
    assert _banner_address(result[1]) == head_address


@pytest.mark.release
def test_bare_gcs_address_of_the_local_cluster_maps_to_its_dashboard(
    env: dict[str, str], ray_head: LocalRayHead, ray_tmpdir_of_head: str
) -> None:
    gcs = f"127.0.0.1:{ray_head.gcs_port}"
    result = run(["list"], env=with_env(env, RAY_ADDRESS=gcs, RAY_TMPDIR=ray_tmpdir_of_head))
    assert result[0] == 0, shown(result)
    assert _banner_address(result[1]) == ray_head.address


@pytest.mark.release
@pytest.mark.parametrize("form", ["bare", "ray-client"])
def test_address_forms_ray_needs_gcs_for_are_guessed_with_a_warning(
    form: str, env: dict[str, str], ray_head: LocalRayHead, tmp_path: Path
) -> None:
    """Where Ray would ask the cluster's GCS, ours assumes the dashboard on port 8265 and says so.

    Nothing is asserted about port 8265 itself (another cluster on this machine may own it): only
    that the outcome is clear — the warning, then either success or a one-line error.
    """
    address = {
        "bare": f"127.0.0.1:{ray_head.dashboard_port}",
        "ray-client": "ray://127.0.0.1:10001",
    }[form]
    result = run(["list"], env=with_env(env, RAY_ADDRESS=address, RAY_TMPDIR=str(tmp_path)))
    code, _, err = result
    assert f"{address} " in err and "assumed at http://127.0.0.1:8265" in err, shown(result)
    assert "Traceback" not in err, shown(result)
    if code != 0:
        assert_user_error(result)


# --------------------------------------------------------------------------------------- releases


@pytest.mark.release
def test_a_field_newer_than_the_server_is_a_plain_error(env: dict[str, str], unique_id: str) -> None:
    """--entrypoint-label-selector needs Ray 2.54: older heads get a one-line error naming it, and
    no job; newer heads accept it (the selector matches no node, so the job is stopped)."""
    selector = '{"rjc-zone": "nowhere"}'
    args = ["submit", "--no-wait", "--submission-id", unique_id, "--entrypoint-label-selector", selector]
    result = run([*args, "--", "echo", "gated"], env=env)
    if head_is_at_least("2.54.0"):
        assert result[0] == 0, shown(result)
        assert run(["stop", "--no-wait", unique_id], env=env)[0] == 0
        return
    assert_user_error(
        result,
        f"Ray version {HEAD_RELEASE} is running on the cluster.",
        "`entrypoint_label_selector` kwarg is not supported",
        "Ray 2.54 or higher",
    )
    assert_user_error(run(["status", unique_id], env=env), "does not exist")


# --------------------------------------------------------------------------------------- headers


@pytest.mark.release
@pytest.mark.ray_since(TOKEN_AUTH_SINCE, "token authentication: a wrong token must be refused")
def test_headers_are_sent(env: dict[str, str], unique_id: str) -> None:
    """--headers and RAY_JOB_HEADERS reach the server (a wrong Authorization replaces the token);
    --headers wins over RAY_JOB_HEADERS; --verify takes false/true."""
    wrong = '{"Authorization": "Bearer not-the-token"}'
    ok = run(["list", "--headers", '{"X-Ray-Jobs-Test": "1"}', "--verify", "false"], env=env)
    assert ok[0] == 0, shown(ok)
    for result in (
        run(["status", unique_id, "--headers", wrong], env=env),
        run(["status", unique_id], env=with_env(env, RAY_JOB_HEADERS=wrong)),
    ):
        assert_user_error(result)
        assert "does not exist" not in result[2], shown(result)
        assert "token" in result[2].lower(), shown(result)
    bad_env = with_env(env, RAY_JOB_HEADERS="{key value}")
    wins = run(["list", "--headers", "{}", "--verify", "true"], env=bad_env)
    assert wins[0] == 0, shown(wins)


# ----------------------------------------------------------------------- known differences from Ray


@pytest.mark.release
def test_list_shows_runtime_env_values_like_ray(env: dict[str, str], jobs: Jobs) -> None:
    """Ray's ``TestJobList.test_list``: ``ray job list`` output contains a job's env var value."""
    job_id = jobs.submit("envlist", "echo hi", runtime_env={"env_vars": {"CLI_LIST_VAR": "value-4711"}})
    result = run(["list"], env=env)
    assert result[0] == 0, shown(result)
    assert job_id in result[1]
    assert "value-4711" in result[1], shown(result)
