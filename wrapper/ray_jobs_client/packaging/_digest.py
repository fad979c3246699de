"""The content address of a directory, computed as Ray computes it, in one walk that also sizes its zip.

The URI is ``gcs://_ray_pkg_<16 hex>.zip``: the XOR, starting from the ASCII
bytes ``b"00000000"``, of the first 8 bytes of ``sha1(relative path + content)``
of every visited path (directories contribute their relative path only).
Modification times do not count. The same walk estimates the zip's size and
notes the largest files and directories, for the size checks made before upload.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING, Final

from ..errors import PackagingError
from ._uris import _directory_uri
from ._walk import _check_excludes, _Entry, _existing_directory, _gitignore_enabled, _Walker

if TYPE_CHECKING:
    from hashlib import _Hash

logger = logging.getLogger("ray_jobs_client.packaging")  # one logger for the whole package

_INITIAL_DIGEST: Final = b"0" * 8  # Ray starts from the ASCII text "00000000", not zero bytes
_CHUNK: Final = 1024 * 1024
_LARGE_FILE: Final = 10 * 1024 * 1024
_ZIP_ENTRY_OVERHEAD: Final = 30 + 46  # local + central header per entry, name counted twice
_ZIP_END_RECORD: Final = 22
_TOP_N: Final = 5


def _path_hash(entry: _Entry) -> _Hash:
    try:
        return hashlib.sha1(entry.rel.encode())
    except UnicodeEncodeError as exc:
        raise PackagingError(f"File name {entry.path!r} is not valid UTF-8; rename or exclude it.") from exc


def _xor(left: bytes, right: bytes) -> bytes:
    # zip() truncates to the 8-byte accumulator: only the first 8 bytes of each SHA-1 count.
    return bytes(a ^ b for a, b in zip(left, right, strict=False))


def _copy_chunks(source: IO[bytes], consumers: Sequence[Callable[[bytes], object]], path: Path) -> None:
    """Read ``source`` in bounded chunks, handing each chunk to every consumer."""
    try:
        for chunk in iter(partial(source.read, _CHUNK), b""):
            for consume in consumers:
                consume(chunk)
    except OSError as exc:
        raise PackagingError(f"Cannot read {path}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class _Scan:
    digest: bytes
    estimated_size: int  # a lower bound of the zip's size
    largest_files: tuple[tuple[str, int], ...]
    largest_dirs: tuple[tuple[str, int], ...]  # top-level directories only
    large_files: tuple[tuple[str, int], ...]
    unreadable: tuple[str, ...]
    entries: int


def _scan_directory(root: Path, excludes: Sequence[str], include_gitignore: bool) -> _Scan:
    digest = _INITIAL_DIGEST
    estimated = _ZIP_END_RECORD
    top_files: list[tuple[int, str]] = []
    dir_sizes: dict[str, int] = {}
    large: list[tuple[str, int]] = []
    unreadable: list[str] = []
    entries = 0
    for entry in _Walker(root, excludes, include_gitignore):
        entries += 1
        sha1 = _path_hash(entry)
        if entry.kind == "file":
            if not _hash_contents(entry.path, sha1):
                unreadable.append(entry.rel)
            estimated += entry.size + _ZIP_ENTRY_OVERHEAD + 2 * len(entry.rel.encode())
            _keep_largest(top_files, (entry.size, entry.rel))
            top = PurePath(entry.rel).parts[0]
            if top != entry.rel:
                dir_sizes[top] = dir_sizes.get(top, 0) + entry.size
            if entry.size >= _LARGE_FILE:
                large.append((entry.rel, entry.size))
        elif entry.kind == "dir" and entry.empty:
            estimated += _ZIP_ENTRY_OVERHEAD + 2 * (len(entry.rel.encode()) + 1)
        digest = _xor(digest, sha1.digest())
    return _Scan(
        digest=digest,
        estimated_size=estimated,
        largest_files=tuple((rel, size) for size, rel in sorted(top_files, reverse=True)),
        largest_dirs=tuple(heapq.nlargest(_TOP_N, dir_sizes.items(), key=lambda item: item[1])),
        large_files=tuple(large),
        unreadable=tuple(unreadable),
        entries=entries,
    )


def _keep_largest(heap: list[tuple[int, str]], item: tuple[int, str]) -> None:
    if len(heap) < _TOP_N:
        heapq.heappush(heap, item)
    else:
        heapq.heappushpop(heap, item)


def _hash_contents(path: Path, sha1: _Hash) -> bool:
    """Feed the file's bytes into ``sha1``; False if it cannot be opened.

    Like Ray, an unopenable file still counts, by its path only.
    """
    try:
        source = path.open("rb")
    except OSError as exc:
        logger.debug("Hashing only the name of %s: %s", path, exc)
        return False
    with source:
        _copy_chunks(source, [sha1.update], path)
    return True


def get_uri_for_directory(
    directory: str | os.PathLike[str],
    *,
    excludes: Sequence[str] = (),
    include_gitignore: bool | None = None,
) -> str:
    """The ``gcs://_ray_pkg_<hash>.zip`` URI Ray gives this directory's contents.

    ``excludes`` are gitignore-style patterns relative to the directory.
    ``include_gitignore=None`` honours ``.gitignore`` files unless the environment
    variable ``RAY_RUNTIME_ENV_IGNORE_GITIGNORE`` is ``"1"``; ``.rayignore`` files
    always apply. Modification times do not affect the URI.
    """
    _check_excludes(excludes)
    root = _existing_directory(directory)
    return _directory_uri(_scan_directory(root, excludes, _gitignore_enabled(include_gitignore)).digest)
