"""``ray-jobs wait JOB_ID...`` (which ``ray job`` lacks) as a subprocess against the session's live
head: each job printed as it finishes, a summary, and the exit code that says how they ended
(0 all SUCCEEDED, 1 some FAILED or STOPPED, 124 ``--timeout`` passed, 2 usage errors).

The jobs are made with plain HTTP calls (``Jobs`` from ``test_cli.py``), so these tests depend on
nothing but the job server and the command line.
"""

from __future__ import annotations

import queue
import shlex
import subprocess
import threading
import time

import pytest
from test_cli import ANSI, RAY_JOBS, Jobs, run, shown, with_env

pytestmark = pytest.mark.live

SLEEPER = "sleep 120"
FAILING = "echo about to fail; exit 3"
TIMED_OUT = 124


def test_each_job_is_printed_with_how_it_ended_and_some_failing_exits_1(
    env: dict[str, str], jobs: Jobs
) -> None:
    good = jobs.submit("wait-good", "echo fine")
    bad = jobs.submit("wait-bad", FAILING)
    stopped = jobs.submit("wait-stopped", SLEEPER)
    jobs.wait([stopped], {"RUNNING"})
    jobs.http.post(f"/api/jobs/{stopped}/stop").raise_for_status()
    jobs.wait([good], {"SUCCEEDED"})
    jobs.wait([bad], {"FAILED"})
    jobs.wait([stopped], {"STOPPED"})

    result = run(["wait", good, bad, stopped, "--poll", "0.2"], env=env, timeout=120)
    code, out, err = result
    assert code == 1, shown(result)
    lines = out.splitlines()
    assert lines[0].startswith("Job submission server address: "), shown(result)
    assert lines[1] == "Waiting for 3 jobs to finish:", shown(result)
    # All had ended: one round, in the order given.
    assert lines[2] == f"Job '{good}' succeeded", shown(result)
    assert lines[3].startswith(f"Job '{bad}' failed: Job entrypoint command failed with exit code 3"), shown(
        result
    )
    assert lines[4] == f"Job '{stopped}' was stopped", shown(result)
    assert lines[5:] == ["3 jobs: 1 succeeded, 1 failed, 1 stopped."], shown(result)
    assert err == "", shown(result)


def test_all_succeeded_exits_0_and_a_job_named_twice_is_shown_once(env: dict[str, str], jobs: Jobs) -> None:
    first = jobs.submit("wait-ok1", "echo one")
    second = jobs.submit("wait-ok2", "echo two")
    result = run(["wait", "--poll", "0.2", first, second, first], env=env, timeout=120)
    code, out, _ = result
    assert code == 0, shown(result)
    assert out.count(f"Job '{first}' succeeded") == 1, shown(result)
    assert out.count(f"Job '{second}' succeeded") == 1, shown(result)
    assert "Waiting for 2 jobs to finish:" in out, shown(result)
    assert out.rstrip().endswith("All 2 jobs succeeded."), shown(result)


def test_each_job_is_printed_the_moment_it_finishes(env: dict[str, str], jobs: Jobs) -> None:
    """The quick job's line appears while the command still waits for the other one."""
    quick = jobs.submit("wait-quick", "echo quick")
    sleeper = jobs.submit("wait-sleeper", SLEEPER)
    process = subprocess.Popen(
        [RAY_JOBS, "wait", "--poll", "0.2", sleeper, quick],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(ANSI.sub("", line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        printed = []
        deadline = time.monotonic() + 90
        while f"Job '{quick}' succeeded" not in printed:
            printed.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        assert process.poll() is None, f"the command ended before the sleeper did: {printed}"
        jobs.http.post(f"/api/jobs/{sleeper}/stop").raise_for_status()
        code = process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    while not lines.empty():
        printed.append(lines.get())
    assert code == 1, printed  # stopped is not succeeded
    assert printed[-2:] == [f"Job '{sleeper}' was stopped", "2 jobs: 1 succeeded, 1 stopped."], printed


def test_a_timeout_prints_what_finished_names_the_rest_and_exits_124(env: dict[str, str], jobs: Jobs) -> None:
    done = jobs.submit("wait-done", "echo done")
    sleeper = jobs.submit("wait-late", SLEEPER)
    jobs.wait([done], {"SUCCEEDED"})
    result = run(["wait", "--timeout", "2", "--poll", "0.2", done, sleeper], env=env, timeout=120)
    code, out, err = result
    assert code == TIMED_OUT, shown(result)
    assert f"Job '{done}' succeeded" in out, shown(result)
    assert out.rstrip().endswith("2 jobs: 1 succeeded, 1 unfinished."), shown(result)
    assert err.startswith(f"Timed out: 1 of 2 jobs still unfinished after 2 s: {sleeper} ("), shown(result)
    assert "Traceback" not in err, shown(result)
    assert jobs.info(sleeper)["status"] in ("PENDING", "RUNNING"), "a timeout must leave the job running"


def test_an_unknown_job_is_a_plain_error(env: dict[str, str], jobs: Jobs) -> None:
    known = jobs.submit("wait-known", "echo known")
    result = run(["wait", known, "wait-no-such-job"], env=env, timeout=120)
    code, _, err = result
    assert code == 1, shown(result)
    expected = "Error: Request failed with status code 404: Job wait-no-such-job does not exist."
    assert err.strip() == expected, shown(result)


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("wait", "the following arguments are required: JOB_ID"),
        ("wait --poll 0 a", "argument --poll: expected a positive number of seconds, got '0'"),
        ("wait --timeout soon a", "argument --timeout: expected seconds, got 'soon'"),
        ("wait --timeout -1 a", "argument --timeout: expected a positive number of seconds"),
        ("wait --poll 1e12 a", "argument --poll: expected a positive number of seconds, got '1e12'"),
    ],
)
def test_usage_errors_exit_2_before_anything_is_sent(line: str, complaint: str, env: dict[str, str]) -> None:
    result = run(shlex.split(line), env=with_env(env, RAY_ADDRESS="http://127.0.0.1:9"), timeout=30)
    code, out, err = result
    assert code == 2, shown(result)
    assert out == "", shown(result)
    assert err.startswith("usage: ray-jobs wait "), shown(result)
    assert complaint in err, shown(result)


def test_the_help_documents_the_exit_codes(env: dict[str, str]) -> None:
    result = run(["wait", "--help"], env=env, timeout=30)
    code, out, _ = result
    assert code == 0, shown(result)
    flat = " ".join(out.split())
    assert "exit codes: 0 every job SUCCEEDED; 1 some FAILED or were STOPPED, or an error;" in flat
    assert f"{TIMED_OUT} --timeout passed before every job finished" in flat
