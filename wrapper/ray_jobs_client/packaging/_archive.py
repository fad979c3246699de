"""The zip Ray builds for a directory, streamed file by file so that memory stays bounded.

The zip is ``ZIP_STORED`` with entries for files and for directories that have
no children at all; names are relative to the directory, prefixed with the
directory's name for ``py_modules``. It holds exactly what the URI covers (the
same walk), and the digest of what was written is returned, so that a package
can tell whether its directory changed since its URI was computed.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import PackagingError
from ._digest import _INITIAL_DIGEST, _copy_chunks, _path_hash, _xor
from ._walk import _check_excludes, _existing_directory, _gitignore_enabled, _Walker

if TYPE_CHECKING:
    from hashlib import _Hash


class _SizeExceeded(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def write_directory_zip(
    directory: str | os.PathLike[str],
    dest: BinaryIO,
    *,
    excludes: Sequence[str] = (),
    include_gitignore: bool | None = None,
    include_parent_dir: bool = False,
) -> None:
    """Stream the zip Ray would build for this directory into ``dest``.

    Same files as the URI covers; entries are stored uncompressed, file by file,
    so memory stays bounded. With ``include_parent_dir`` (how ``py_modules``
    directories are packaged) every name starts with the directory's name.
    ``dest`` should be seekable (a temporary file) for a byte-for-byte match.
    """
    _check_excludes(excludes)
    root = _existing_directory(directory)
    _write_zip(root, dest, excludes, _gitignore_enabled(include_gitignore), include_parent_dir)


def _write_zip(
    root: Path,
    dest: BinaryIO,
    excludes: Sequence[str],
    include_gitignore: bool,
    include_parent_dir: bool,
    limit: int | None = None,
) -> bytes:
    """Write the zip and return the digest of what was written (for the URI check)."""
    prefix = Path(_parent_dir_name(root)) if include_parent_dir else None
    digest = _INITIAL_DIGEST
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED, strict_timestamps=False) as archive:
        for entry in _Walker(root, excludes, include_gitignore):
            sha1 = _path_hash(entry)
            arcname = os.fspath(prefix / entry.rel if prefix else Path(entry.rel))
            if entry.kind == "file":
                _add_file(archive, entry.path, arcname, sha1)
            elif entry.kind == "dir" and entry.empty:
                archive.write(entry.path, arcname)
            digest = _xor(digest, sha1.digest())
            if limit is not None and dest.tell() > limit:
                raise _SizeExceeded(dest.tell())
    return digest


def _parent_dir_name(root: Path) -> str:
    # Ray uses the name as typed; a path ending in ".." would give "../" names.
    return root.name if root.name not in ("", "..") else Path(os.path.realpath(root)).name


def _add_file(archive: zipfile.ZipFile, path: Path, arcname: str, sha1: _Hash) -> None:
    try:
        info = zipfile.ZipInfo.from_file(path, arcname, strict_timestamps=False)
        source = path.open("rb")
    except OSError as exc:
        raise PackagingError(
            f"Cannot read {path}: {exc.strerror or exc}. Fix its permissions or exclude it "
            "with runtime_env['excludes'], a .rayignore or a .gitignore file."
        ) from exc
    info.compress_type = zipfile.ZIP_STORED
    with source, archive.open(info, "w") as sink:
        _copy_chunks(source, [sha1.update, sink.write], path)
