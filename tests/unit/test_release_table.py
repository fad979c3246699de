"""One table of tested Ray releases (``ray_jobs_client/releases.py``) that everything else reads.

The package's tested range, ``tools/ray_releases.py`` (the venvs, ``make compat``), the Makefile
(through ``python tools/ray_releases.py list``) and the release suite all take their releases from
``TESTED_RELEASES`` and ``MAKE_TEST_RELEASES``; what cannot import it (pyproject's pin of the test
venv's Ray, the README's table) is held to it here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import ray_releases
from ray_jobs_client.releases import (
    MAKE_TEST_RELEASES,
    NEWEST_TESTED,
    OLDEST_TESTED,
    TESTED_RELEASES,
    release_tuple,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_table_is_ordered_and_make_test_runs_some_of_it() -> None:
    tuples = [release_tuple(release) for release in TESTED_RELEASES]
    assert tuples == sorted(set(tuples)), "TESTED_RELEASES: oldest first, each once"
    assert set(MAKE_TEST_RELEASES) < set(TESTED_RELEASES)
    assert NEWEST_TESTED not in MAKE_TEST_RELEASES  # the installed release's head runs the whole suite
    assert OLDEST_TESTED == "2.9.0"
    assert TESTED_RELEASES[-1] == NEWEST_TESTED
    assert release_tuple(OLDEST_TESTED)[:2] == release_tuple(TESTED_RELEASES[0])[:2]


def test_pyprojects_ray_pin_is_the_newest_tested_release() -> None:
    """The test venv's Ray (whose head runs the whole suite) is the table's newest release."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    pins = [requirement for requirements in extras.values() for requirement in requirements]
    rays = [pin for pin in pins if re.match(r"ray(\[[^]]*\])?\s*[=<>!~]", pin)]
    assert rays == [f"ray[default]=={NEWEST_TESTED}"]


def test_the_tools_and_the_makefile_read_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert (ray_releases.TESTED, ray_releases.SUPPORTED) == (MAKE_TEST_RELEASES, TESTED_RELEASES)
    assert ray_releases.main(["list"]) == 0
    assert capsys.readouterr().out.split() == list(MAKE_TEST_RELEASES)
    assert ray_releases.main(["list", "--all"]) == 0
    assert capsys.readouterr().out.split() == list(TESTED_RELEASES)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^TEST_RAY_RELEASES \?= \$\(shell .*tools/ray_releases\.py list\)$", makefile, re.M)
    rules = "\n".join(line for line in makefile.splitlines() if not line.startswith("#"))
    assert not re.search(r"\b2\.\d+\.\d+\b", rules), "a Ray release written into the Makefile's rules"


def test_the_readmes_table_lists_exactly_the_tested_releases() -> None:
    """README: the rows of "Releases proven by `make compat`" that pass are the table's releases, and
    the row `make test` proves is its older releases plus the installed one."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("Releases proven by `make compat`", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if re.match(r"\| \d", line)]
    passing = {cells[0].strip(): cells[1].strip() for cells in rows if cells[1].strip().startswith("pass")}
    listed = [release.strip() for releases in passing for release in releases.split(",")]
    assert sorted(listed, key=release_tuple) == list(TESTED_RELEASES)
    every_run = [releases for releases, result in passing.items() if "every `make test`" in result]
    assert [release.strip() for release in every_run[0].split(",")] == [*MAKE_TEST_RELEASES, NEWEST_TESTED]
