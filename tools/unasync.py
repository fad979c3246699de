"""Write the sync client from the async one: ``wrapper/ray_jobs_client/_async/`` → ``_sync/``.

    python tools/unasync.py           # rewrite _sync/ from _async/
    python tools/unasync.py --check   # fail (exit 1) if _sync/ is not what _async/ gives

The client's logic is written once, async; the sync twin differs only by ``await`` and by names,
which the table below maps word for word (httpcore builds its sync code the same way). The pieces
of I/O that differ beyond that are hand-written in both modes in ``ray_jobs_client/_io.py`` and
named so that this table maps one onto the other.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "wrapper" / "ray_jobs_client" / "_async"
TARGET = ROOT / "wrapper" / "ray_jobs_client" / "_sync"

#: Whole words (or the exact phrases with a space) replaced, in order.
SUBSTITUTIONS = (
    ("async def", "def"),
    ("async with", "with"),
    ("async for", "for"),
    ("await ", ""),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("aclosing", "closing"),
    ("aclose", "close"),
    ("aread", "read"),
    ("anext", "next"),
    ("asleep", "sleep"),
    ("as_task_iterator", "as_iterator"),
    ("asyncio_detailed", "sync_detailed"),
    ("set_async_httpx_client", "set_httpx_client"),
    ("aremember_response", "remember_response"),
    ("AsyncGenerator", "Generator"),
    ("AsyncIterator", "Iterator"),
    ("AsyncIterable", "Iterable"),
    ("AsyncClient", "Client"),
    ("AsyncRetryTransport", "RetryTransport"),
    ("AsyncThroughClient", "ThroughClient"),
    ("AsyncUploadBody", "UploadBody"),
    ("AsyncLogStream", "LogStream"),
    ("AsyncDownload", "Download"),
    ("AsyncJobServer", "JobServer"),
    ("AsyncClientBase", "ClientBase"),
    ("_async", "_sync"),
)
_PATTERN = re.compile(
    "|".join(rf"\b{re.escape(old)}\b" if " " not in old else re.escape(old) for old, _ in SUBSTITUTIONS)
)
_NEW = dict(SUBSTITUTIONS)

HEADER = "# Generated from {source} by tools/unasync.py: edit that file, then run `make unasync`.\n"


#: ``AsyncGenerator[T, None]`` → ``Generator[T, None, None]`` (a generator also has a return type).
_GENERATOR = re.compile(r"\bAsyncGenerator\[([^\[\]]+), None\]")


def unasync_text(text: str) -> str:
    """The sync twin of one async module's source."""
    text = _GENERATOR.sub(r"Generator[\1, None, None]", text)
    return _PATTERN.sub(lambda match: _NEW[match.group(0)], text)


def expected() -> dict[Path, str]:
    """Each file of ``_sync/`` as ``_async/`` gives it."""
    out = {}
    for source in sorted(SOURCE.glob("*.py")):
        relative = source.relative_to(ROOT / "wrapper").as_posix()
        out[TARGET / source.name] = HEADER.format(source=relative) + unasync_text(source.read_text())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report differences instead of writing")
    args = parser.parse_args(argv)
    wanted = expected()
    present = {path for path in TARGET.glob("*.py")}
    stale = sorted(present - set(wanted))
    changed = sorted(path for path, text in wanted.items() if not path.exists() or path.read_text() != text)
    if args.check:
        for path in changed + stale:
            print(f"{path.relative_to(ROOT)} is not what tools/unasync.py makes of _async/", file=sys.stderr)
        if changed or stale:
            print("run `make unasync` and commit the result", file=sys.stderr)
            return 1
        print("_sync/ is up to date with _async/")
        return 0
    TARGET.mkdir(exist_ok=True)
    for path in stale:
        path.unlink()
    for path in changed:
        path.write_text(wanted[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
