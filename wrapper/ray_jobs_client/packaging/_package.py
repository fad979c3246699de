"""A package to upload: its bytes on demand, the dashboard's size limit, and what to say above it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO, Final, Literal, NamedTuple, cast

from ..errors import PackageTooLargeError, PackagingError
from ._archive import _SizeExceeded, _write_zip
from ._uris import PackageField, _archive_uri, _directory_uri

MAX_PACKAGE_SIZE: Final = 100 * 1024 * 1024
"""The dashboard rejects request bodies above this size (HTTP 413)."""


def _mib(size: int) -> str:
    return f"{size / 1024**2:.2f} MiB"


class PackageContent(NamedTuple):
    """What :meth:`Package.open` yields."""

    file: BinaryIO
    size: int


@dataclass(frozen=True)
class Package:
    """One local ``working_dir`` / ``py_modules`` entry to upload under ``uri``.

    ``kind="directory"`` packages are zipped on :meth:`open`; ``kind="file"``
    packages (archives, wheels) are uploaded byte for byte.
    """

    uri: str
    source: Path
    kind: Literal["directory", "file"]
    field: PackageField
    excludes: tuple[str, ...] = ()
    include_gitignore: bool = True
    include_parent_dir: bool = False
    estimated_size: int = 0
    largest_files: tuple[tuple[str, int], ...] = ()
    largest_dirs: tuple[tuple[str, int], ...] = ()
    max_size: int = MAX_PACKAGE_SIZE

    @property
    def protocol(self) -> str:
        """The URI's scheme (always ``"gcs"``): the first path segment of the package routes."""
        return self.uri.split("://", 1)[0]

    @property
    def package_name(self) -> str:
        """The URI without ``gcs://``: the second path segment of the package routes."""
        return self.uri.split("://", 1)[1]

    @contextlib.contextmanager
    def open(self) -> Iterator[PackageContent]:
        """Yield ``(file, size)``: the bytes to upload, positioned at 0, and their count.

        A directory is zipped into a temporary file first (deleted on exit); an
        archive or wheel is the file itself. Raises :class:`PackageTooLargeError`
        above ``max_size``, and :class:`PackagingError` if the source changed since
        the URI was computed (the bytes would no longer match their content address).
        """
        if self.kind == "file":
            with self._open_file() as file:
                yield PackageContent(file, os.fstat(file.fileno()).st_size)
            return
        with tempfile.TemporaryFile() as tmp:
            stream = cast(BinaryIO, tmp)
            try:
                digest = _write_zip(
                    self.source,
                    stream,
                    self.excludes,
                    self.include_gitignore,
                    self.include_parent_dir,
                    limit=self.max_size,
                )
            except _SizeExceeded as exc:
                raise PackageTooLargeError(self.too_large_message(exc.size, exact=False)) from None
            if _directory_uri(digest) != self.uri:
                raise PackagingError(
                    f"{self.source} changed while it was being packaged (planned {self.uri}, "
                    f"zipped {_directory_uri(digest)}); submit again."
                )
            size = stream.seek(0, os.SEEK_END)
            self._check_size(size)
            stream.seek(0)
            yield PackageContent(stream, size)

    @contextlib.contextmanager
    def _open_file(self) -> Iterator[BinaryIO]:
        try:
            file = self.source.open("rb")
        except OSError as exc:
            raise PackagingError(f"Cannot read package {self.source}: {exc.strerror or exc}") from exc
        with file:
            self._check_size(os.fstat(file.fileno()).st_size)
            if self.source.suffix != ".whl":
                if _archive_uri(file, self.source.name) != self.uri:
                    raise PackagingError(
                        f"{self.source} changed since its URI {self.uri} was computed; submit again."
                    )
                file.seek(0)
            yield file

    def _check_size(self, size: int) -> None:
        if size > self.max_size:
            raise PackageTooLargeError(self.too_large_message(size, exact=True))

    def too_large_message(self, size: int, *, exact: bool) -> str:
        """Explain that this package exceeds ``max_size``: sizes, biggest items, how to shrink it."""
        amount = _mib(size) if exact else f"at least {_mib(size)}"
        lines = [
            f"The {self.field} package for {self.source} is {amount} ({size} bytes), over the "
            f"{_mib(self.max_size)} ({self.max_size} bytes) upload limit of the Ray dashboard."
        ]
        if self.largest_files:
            files = ", ".join(f"{rel} ({_mib(n)})" for rel, n in self.largest_files)
            lines.append(f"Largest files: {files}")
        if self.largest_dirs:
            dirs = ", ".join(f"{rel}/ ({_mib(n)})" for rel, n in self.largest_dirs)
            lines.append(f"Largest top-level directories: {dirs}")
        if self.kind == "directory":
            example = PurePath(self.largest_files[0][0]).as_posix() if self.largest_files else "data"
            lines.append(
                "Leave out what the job does not need: add gitignore-style patterns, relative to "
                f"{self.source}, to runtime_env['excludes'] (e.g. {{'excludes': ['/{example}']}}) "
                "or to a .rayignore or .gitignore file in that directory; or put large data in "
                "remote storage and pass its URI."
            )
        else:
            lines.append("Put the archive in remote storage (s3://, gs://, https://...) and pass its URI.")
        return "\n".join(lines)
