"""What ``make test`` builds once before the tests run (the API reference, the compiled TypeScript
smoke client), found by the tests that check it instead of being built a second time.

Each Makefile target writes a stamp file after a successful build. A test uses the build only when
its stamp is newer than every source it was built from; otherwise (a plain ``pytest`` run, or an
edit since) the test builds its own copy, as before, so that a stale build can never pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: ``make docs``: ``mkdocs build --strict`` into build/docs, then this stamp.
DOCS_SITE = ROOT / "build" / "docs"
DOCS_STAMP = ROOT / "build" / "docs-built.stamp"
DOCS_SOURCES = ("mkdocs.yml", "pyproject.toml", "docs", "wrapper", "generated")

#: ``make ts-smoke``: ``tsc -p clients/typescript --strict`` into build/ts-client, then this stamp.
TS_OUT = ROOT / "build" / "ts-client"
TS_STAMP = ROOT / "build" / "ts-client-built.stamp"
TS_SOURCES = ("clients/typescript", "openapi/package-lock.json")


def _files(sources: Iterable[str]) -> Iterable[Path]:
    for name in sources:
        path = ROOT / name
        if path.is_dir():
            yield from (
                file for file in path.rglob("*") if file.is_file() and "__pycache__" not in file.parts
            )
        elif path.exists():
            yield path


def up_to_date(stamp: Path, sources: Iterable[str]) -> bool:
    """Did the build that wrote ``stamp`` see every current source (nothing changed since)?"""
    if not stamp.exists():
        return False
    built = stamp.stat().st_mtime
    return all(file.stat().st_mtime <= built for file in _files(sources))
