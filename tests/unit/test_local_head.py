"""``ray_jobs_client.testing.LocalRayHead`` when it cannot work: no Ray started, no waiting.

Without the ``testing`` extra (psutil), a head refuses to be created, naming the extra, before it
runs anything or makes its temp dir. A ``ray`` that fails (here a script in place of Ray's command)
makes ``start()`` raise :class:`HeadStartError` with what ``ray`` printed, after stopping what it
started and removing its temp dir; a failure of that clean-up never hides the start's error. The
package itself never imports the module. (Heads that do start: every live test's session head.)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from ray_jobs_client.testing import HeadStartError, LocalRayHead, MissingExtraError

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(sys.platform == "win32", reason="the stand-in `ray` commands are shell scripts"),
]


def fake_ray(directory: Path, body: str) -> Path:
    """An executable ``ray`` running the shell script ``body``."""
    ray = directory / "ray"
    ray.write_text("#!/bin/sh\n" + textwrap.dedent(body), encoding="utf-8")
    ray.chmod(0o755)
    return ray


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where ``tempfile`` makes directories during the test (so that what is left there is seen)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent to reap it counts as exited)."""
    import psutil

    try:
        return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return True


# --------------------------------------------------------------------------- without the extra


def test_without_psutil_no_head_is_created_and_nothing_runs(
    tmp_path: Path, temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = tmp_path / "calls"
    ray = fake_ray(tmp_path, f'echo "$@" >> {calls}\nexit 1\n')
    monkeypatch.setitem(sys.modules, "psutil", None)  # `import psutil` fails, as when it is missing

    with pytest.raises(MissingExtraError, match=r"pip install 'ray-jobs-client\[testing\]'") as caught:
        LocalRayHead(ray_executable=str(ray))

    assert isinstance(caught.value, ImportError)
    assert caught.value.name == "psutil"
    assert "needs psutil" in str(caught.value)
    assert not calls.exists(), "ray was run"
    assert list(temp_root.iterdir()) == [], "a temp dir was made"


def test_the_package_never_imports_the_testing_helper() -> None:
    """Importing the clients and the CLI loads neither ``ray_jobs_client.testing`` nor psutil."""
    code = (
        "import sys\n"
        "import ray_jobs_client, ray_jobs_client.cli\n"
        "from ray_jobs_client import AsyncJobSubmissionClient\n"
        "print(sorted(name for name in ('ray_jobs_client.testing', 'psutil') if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- a failed start


def test_a_ray_that_fails_at_once_is_reported_with_its_output(tmp_path: Path, temp_root: Path) -> None:
    ray = fake_ray(tmp_path, 'echo "fake ray: broken install (no module named ray._raylet)"\nexit 1\n')

    with pytest.raises(HeadStartError, match=r"no module named ray\._raylet"):
        LocalRayHead(ray_executable=str(ray)).start()

    assert list(temp_root.iterdir()) == []


def test_a_ray_start_that_exits_is_reported_and_leaves_nothing(tmp_path: Path, temp_root: Path) -> None:
    """``ray start`` starts a process of its own, prints why it gives up, and exits: the error shows
    that output, and the process it started is stopped, and the temp dir removed."""
    child_pid = tmp_path / "child.pid"
    ray = fake_ray(
        tmp_path,
        """\
        if [ "$2" = "--help" ]; then echo "--port --dashboard-port --node-manager-port"; exit 0; fi
        sleep 300 &
        echo $! > "$RJC_CHILD_PID"
        echo "fake ray: the GCS server did not come up (reason 4711)"
        exit 3
        """,
    )
    head = LocalRayHead(ray_executable=str(ray), env={"RJC_CHILD_PID": str(child_pid)})

    with pytest.raises(
        HeadStartError, match=r"exited with 3:\n(.|\n)*the GCS server did not come up \(reason 4711\)"
    ):
        head.start()

    pid = int(child_pid.read_text())
    assert gone(pid), f"the process ray start left ({pid}) still runs"
    assert list(temp_root.iterdir()) == []


def test_a_failed_clean_up_does_not_hide_why_the_start_failed(
    tmp_path: Path, temp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ray = fake_ray(
        tmp_path,
        """\
        if [ "$2" = "--help" ]; then echo "--port"; exit 0; fi
        echo "fake ray: raylet crashed (reason 1234)"
        exit 1
        """,
    )

    def failing_terminate(self: LocalRayHead) -> None:
        raise OSError("cannot signal the head's processes")

    monkeypatch.setattr(LocalRayHead, "_terminate", failing_terminate)

    with pytest.raises(HeadStartError, match=r"raylet crashed \(reason 1234\)") as caught:
        LocalRayHead(ray_executable=str(ray)).start()

    assert any("cannot signal the head's processes" in note for note in caught.value.__notes__)
    assert list(temp_root.iterdir()) == []


def test_a_head_that_was_not_started_has_no_temp_dir(tmp_path: Path, temp_root: Path) -> None:
    head = LocalRayHead(ray_executable=str(fake_ray(tmp_path, "exit 1\n")))

    with pytest.raises(RuntimeError, match="has not been started"):
        _ = head.temp_dir
    head.stop()  # stopping a head that never started is harmless

    assert list(temp_root.iterdir()) == []
