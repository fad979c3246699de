"""Turn local ``working_dir`` / ``py_modules`` entries into the packages Ray expects.

Everything here is pure: no network I/O. It computes the content-addressed
``gcs://`` URIs exactly as Ray's ``JobSubmissionClient`` does and writes the same
zip archives, so a package uploaded by this client is interchangeable with one
uploaded by Ray (same URI, same files).

How a directory becomes a package (Ray's algorithm, reimplemented):

* The tree is walked depth first from the directory itself (relative path ``"."``),
  following symlinks. A path is skipped, with everything below it, when any active
  pattern set matches it: the ``excludes`` list (matched relative to the package
  root) and the ``.gitignore`` / ``.rayignore`` of every directory on the way down,
  including the path itself when it is a directory (matched relative to the
  directory holding the ignore file). Pattern sets are OR-ed, so a negation in a
  nested ignore file cannot re-include what another set excludes.
* The URI is ``gcs://_ray_pkg_<16 hex>.zip``: the XOR, starting from the ASCII
  bytes ``b"00000000"``, of the first 8 bytes of ``sha1(relative path + content)``
  of every visited path (directories contribute their relative path only).
* The zip is ``ZIP_STORED`` with entries for files and for directories that have
  no children at all; names are relative to the directory, prefixed with the
  directory's name for ``py_modules``.

Archives and wheels are uploaded unchanged: ``gcs://_ray_pkg_<sha1 of bytes><ext>``
and ``gcs://<wheel file name>``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import heapq
import logging
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePath, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Final, Literal, NamedTuple, cast
from urllib.parse import urlparse

from pathspec import PathSpec
from pathspec.patterns.gitignore import GitIgnorePatternError
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from .errors import PackageTooLargeError, PackagingError, PackagingTypeError

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = [
    "DEFAULT_EXCLUDES",
    "MAX_PACKAGE_SIZE",
    "PY_MODULES_EXTENSIONS",
    "WORKING_DIR_EXTENSIONS",
    "Package",
    "PackageContent",
    "default_excludes",
    "get_uri_for_directory",
    "get_uri_for_package",
    "plan_uploads",
    "uri_protocol",
    "validate_package_uri",
    "write_directory_zip",
]

logger = logging.getLogger(__name__)

MAX_PACKAGE_SIZE: Final = 100 * 1024 * 1024
"""The dashboard rejects request bodies above this size (HTTP 413)."""

DEFAULT_EXCLUDES: Final = (".git", ".venv", "venv", "__pycache__")
WORKING_DIR_EXTENSIONS: Final = (".zip", ".tar.gz", ".tgz", ".tar.xz")
PY_MODULES_EXTENSIONS: Final = (".zip", ".whl", ".tar.gz", ".tgz", ".tar.xz")

PackageField = Literal["working_dir", "py_modules"]

_EXTENSIONS: Final[dict[str, tuple[str, ...]]] = {
    "working_dir": WORKING_DIR_EXTENSIONS,
    "py_modules": PY_MODULES_EXTENSIONS,
}
_REMOTE_PROTOCOLS: Final = frozenset({"http", "https", "s3", "gs", "azure", "abfss", "file"})
_PROTOCOLS: Final = _REMOTE_PROTOCOLS | {"gcs", "conda", "pip", "uv", "local"}
_COMPOUND_SUFFIXES: Final = (".tar.gz", ".tar.bz2", ".tar.xz")
_WINDOWS_DRIVE: Final = re.compile(r"^[a-zA-Z]:[\\/]")
_LOCAL_PREFIX: Final = "local://"

_PKG_PREFIX: Final = "_ray_pkg_"
_INITIAL_DIGEST: Final = b"0" * 8  # Ray starts from the ASCII text "00000000", not zero bytes
_CHUNK: Final = 1024 * 1024
_LARGE_FILE: Final = 10 * 1024 * 1024
_ZIP_ENTRY_OVERHEAD: Final = 30 + 46  # local + central header per entry, name counted twice
_ZIP_END_RECORD: Final = 22
_TOP_N: Final = 5

_warned_default_excludes: set[str] = set()


# --------------------------------------------------------------------------- settings


def default_excludes() -> list[str]:
    """The patterns always excluded from a ``working_dir`` package.

    ``RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES`` replaces them (comma-separated;
    an empty value disables them), as with Ray's client.
    """
    raw = os.environ.get("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES", ",".join(DEFAULT_EXCLUDES))
    return [item.strip() for item in raw.split(",") if item.strip()]


def _gitignore_enabled(include_gitignore: bool | None) -> bool:
    if include_gitignore is not None:
        return include_gitignore
    return os.environ.get("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "0") != "1"


# --------------------------------------------------------------------------- URIs


def uri_protocol(value: str) -> str | None:
    """The runtime_env protocol of ``value`` (``"gcs"``, ``"s3"``, ``"local"``...),
    or None when Ray treats it as a local path (no scheme, or an unknown one)."""
    scheme = urlparse(value).scheme
    return scheme if scheme in _PROTOCOLS else None


def validate_package_uri(uri: str, field: PackageField) -> None:
    """Reject a ``working_dir`` / ``py_modules`` URI the way Ray's client does.

    ``local://`` URIs must name an absolute directory; ``gcs://`` and remote URIs
    must end in an archive format the field supports. Other protocols pass.
    """
    protocol = uri_protocol(uri)
    if protocol == "local":
        _check_local_uri(uri)
        return
    if protocol != "gcs" and protocol not in _REMOTE_PROTOCOLS:
        return
    extensions = _EXTENSIONS[field]
    if not _package_name_for_check(uri, protocol).endswith(extensions):
        raise PackagingError(
            f"Only {', '.join(extensions)} files are supported for {field} URIs; got {uri.split('?', 1)[0]}."
        )


def _package_name_for_check(uri: str, protocol: str) -> str:
    """The part of the URI whose ending Ray checks against the allowed formats."""
    parsed = urlparse(uri)
    if protocol == "gcs":
        return parsed.netloc
    if parsed.path.endswith(".whl"):
        return parsed.path.split("/")[-1]
    # Ray names remote packages "<protocol>_<sha1 of URI><suffix>"; only the suffix
    # (taken from host + path, so a query string does not count) can match.
    raw = parsed.netloc + parsed.path
    return next((s for s in _COMPOUND_SUFFIXES if raw.endswith(s)), PurePosixPath(raw).suffix)


def _check_local_uri(uri: str) -> None:
    if uri[: len(_LOCAL_PREFIX)].lower() != _LOCAL_PREFIX:
        raise PackagingError(
            f'Invalid "local://" runtime_env URI "{uri}": a local URI must start with '
            "local://. Write local:///path/in/image, or local://C:/path/in/image on Windows."
        )
    path = uri[len(_LOCAL_PREFIX) :]
    if path.startswith("/") and _WINDOWS_DRIVE.match(path[1:]):
        path = path[1:]
    if not (path.startswith("/") or _WINDOWS_DRIVE.match(path)):
        raise PackagingError(
            f'Invalid "local://" runtime_env URI "{uri}": the path must be absolute. '
            "Write local:///path/in/image, or local://C:/path/in/image on Windows."
        )
    archive = next((e for e in (".tar.gz", ".tar.xz", ".zip", ".whl", ".tgz") if path.endswith(e)), None)
    if archive is not None:
        raise PackagingError(
            f'Invalid "local://" runtime_env URI "{uri}": the path must be a directory, '
            f"not a {archive} archive. A local:// directory is used in place and is never unpacked."
        )


def get_uri_for_package(path: str | os.PathLike[str]) -> str:
    """The ``gcs://`` URI Ray gives a local archive or wheel.

    A wheel keeps its file name (it is already unique per version); other archives
    are named after the SHA-1 of their bytes, read in chunks.
    """
    package = Path(path)
    if package.suffix == ".whl":
        return f"gcs://{package.name}"
    try:
        with package.open("rb") as file:
            digest = hashlib.file_digest(file, "sha1").hexdigest()
    except OSError as exc:
        raise PackagingError(f"Cannot read package {package}: {exc.strerror or exc}") from exc
    return f"gcs://{_PKG_PREFIX}{digest}{_archive_extension(package.name)}"


def _archive_extension(name: str) -> str:
    if name.endswith((".tar.gz", ".tgz")):
        return ".tar.gz"
    if name.endswith(".tar.xz"):
        return ".tar.xz"
    return ".zip"


def _directory_uri(digest: bytes) -> str:
    return f"gcs://{_PKG_PREFIX}{digest.hex()}.zip"


# --------------------------------------------------------------------------- the walk


@dataclass(frozen=True, slots=True)
class _Entry:
    """One path the walk keeps."""

    path: Path
    rel: str  # relative to the package root, spelled as Ray hashes it ("." for the root)
    kind: Literal["dir", "file", "other"]  # "other": broken link, fifo, socket, device...
    empty: bool = False  # a directory with no children at all, before exclusion
    size: int = 0


@dataclass(frozen=True, slots=True)
class _Matcher:
    base: Path
    spec: PathSpec[GitIgnoreSpecPattern]

    def matches(self, path: Path) -> bool:
        return self.spec.match_file(str(path.relative_to(self.base)))


def _compile(lines: Iterable[str], origin: str) -> PathSpec[GitIgnoreSpecPattern]:
    # GitIgnoreSpecPattern is what pathspec's "gitwildmatch" name resolves to, minus
    # its deprecation warning. Ray's vendored pathspec strips both ends of every
    # line, so do the same for stray whitespace to behave alike.
    try:
        return PathSpec.from_lines(GitIgnoreSpecPattern, [line.strip() for line in lines])
    except GitIgnorePatternError as exc:
        raise PackagingError(f"Invalid pattern in {origin}: {exc}") from exc


def _ignore_file_matchers(directory: Path, include_gitignore: bool) -> list[_Matcher]:
    names = (".gitignore", ".rayignore") if include_gitignore else (".rayignore",)
    matchers = []
    for name in names:
        ignore_file = directory / name
        if not ignore_file.is_file():
            continue
        try:
            text = ignore_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PackagingError(f"Cannot read ignore file {ignore_file}: {exc}") from exc
        logger.debug("Applying ignore file %s", ignore_file)
        matchers.append(_Matcher(directory, _compile(text.split("\n"), str(ignore_file))))
    return matchers


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


class _Walker:
    """Depth-first walk of a package directory with Ray's exclusion rules."""

    def __init__(self, root: Path, excludes: Sequence[str], include_gitignore: bool) -> None:
        self._root = root
        self._include_gitignore = include_gitignore
        self._matchers = [_Matcher(root, _compile(excludes, "runtime_env['excludes']"))]
        self._ancestors: dict[tuple[int, int], Path] = {}

    def __iter__(self) -> Iterator[_Entry]:
        return self._visit(self._root)

    def _visit(self, path: Path) -> Iterator[_Entry]:
        if any(m.matches(path) for m in self._matchers):
            return
        st = _stat(path)
        rel = str(path.relative_to(self._root))
        if st is None or not stat.S_ISDIR(st.st_mode):
            if st is not None and stat.S_ISREG(st.st_mode):
                yield _Entry(path, rel, "file", size=st.st_size)
            else:
                yield _Entry(path, rel, "other")
            return
        own = _ignore_file_matchers(path, self._include_gitignore)
        if any(m.matches(path) for m in own):
            return
        identity = (st.st_dev, st.st_ino)
        if identity in self._ancestors:
            raise PackagingError(
                f"{path} leads back to {self._ancestors[identity]} (a symlink loop). "
                "Exclude it with runtime_env['excludes'], a .rayignore or a .gitignore file."
            )
        children = _list_dir(path)
        yield _Entry(path, rel, "dir", empty=not children)
        self._matchers.extend(own)
        self._ancestors[identity] = path
        try:
            for child in children:
                yield from self._visit(child)
        finally:
            del self._matchers[len(self._matchers) - len(own) :]
            del self._ancestors[identity]


def _list_dir(path: Path) -> list[Path]:
    try:
        return list(path.iterdir())
    except OSError as exc:
        raise PackagingError(
            f"Cannot list directory {path}: {exc.strerror or exc}. Fix its permissions or exclude "
            "it with runtime_env['excludes'], a .rayignore or a .gitignore file."
        ) from exc


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


# --------------------------------------------------------------------------- hashing


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


def _existing_directory(directory: str | os.PathLike[str]) -> Path:
    root = Path(directory).absolute()
    if not root.is_dir():
        raise PackagingError(f"directory {root} must be an existing directory")
    return root


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


def _check_excludes(excludes: object) -> None:
    if isinstance(excludes, str):
        raise PackagingTypeError(f"excludes must be a sequence of patterns, not a string: {excludes!r}")


# --------------------------------------------------------------------------- zipping


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


# --------------------------------------------------------------------------- packages


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
                digest = hashlib.file_digest(file, "sha1").hexdigest()
                if f"gcs://{_PKG_PREFIX}{digest}{_archive_extension(self.source.name)}" != self.uri:
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


# --------------------------------------------------------------------------- planning


def plan_uploads(
    runtime_env: Mapping[str, Any], *, max_size: int = MAX_PACKAGE_SIZE
) -> tuple[dict[str, Any], list[Package]]:
    """Replace local ``working_dir`` / ``py_modules`` entries by their ``gcs://`` URIs.

    Returns a deep copy of ``runtime_env`` with the URIs in place, and the
    packages to upload (each URI once, working_dir first). Nothing is read
    beyond what hashing needs, and nothing is sent: the caller uploads every
    package the server does not have yet, then submits the returned dict.
    Relative paths are resolved against the current directory. Errors
    (:class:`PackagingError`, a ``ValueError``; :class:`PackagingTypeError`, also a
    ``TypeError``) happen here, before any network call: a missing path, an
    unsupported format or URI, an unreadable file, or a package that cannot fit
    in ``max_size``.
    """
    env = copy.deepcopy(dict(runtime_env))
    planner = _Planner(_user_excludes(env.get("excludes")), _gitignore_enabled(None), max_size)
    if env.get("working_dir") is not None:
        env["working_dir"] = planner.working_dir(env["working_dir"])
    if env.get("py_modules") is not None:
        env["py_modules"] = planner.py_modules(env["py_modules"])
    return env, list(planner.packages.values())


def _user_excludes(value: object) -> list[str]:
    # Ray fails later (in RuntimeEnv) on these; failing now avoids a useless upload.
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PackagingTypeError(f"runtime_env['excludes'] must be of type List[str], got {type(value)}")
    return list(value)


class _Planner:
    def __init__(self, user_excludes: list[str], include_gitignore: bool, max_size: int) -> None:
        self.user_excludes = user_excludes
        self.include_gitignore = include_gitignore
        self.max_size = max_size
        self.packages: dict[str, Package] = {}

    def working_dir(self, value: object) -> str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str):
            raise PackagingTypeError(
                "working_dir must be a string or Path (either a local path or remote URI), "
                f"got {type(value)}."
            )
        if uri_protocol(value) is not None:
            validate_package_uri(value, "working_dir")
            return value
        defaults = default_excludes()
        path = Path(value).absolute()
        _warn_default_excludes(path, defaults)
        if path.is_dir():
            return self._add_directory(path, "working_dir", defaults + self.user_excludes, parent_dir=False)
        if not path.is_file() or not path.name.endswith(WORKING_DIR_EXTENSIONS):
            message = (
                f"directory {Path(value)} must be an existing directory or a supported archive "
                f"({', '.join(WORKING_DIR_EXTENSIONS)})"
            )
            raise PackagingError(message if path.exists() else f"{message}; {path} does not exist")
        return self._add_file(path, "working_dir")

    def py_modules(self, value: object) -> list[str]:
        if not isinstance(value, list):
            raise PackagingTypeError(
                f"py_modules must be a List of local paths, imported modules, or URIs, got {type(value)}."
            )
        return [self._py_module(module) for module in value]

    def _py_module(self, module: object) -> str:
        if isinstance(module, os.PathLike):
            module = os.fspath(module)
        if not isinstance(module, str):
            raise PackagingTypeError(
                f"py_modules must be a list of file paths, URIs, or imported modules, got {type(module)}."
            )
        if uri_protocol(module) is not None:
            validate_package_uri(module, "py_modules")
            return module
        path = Path(module).absolute()
        if path.is_dir():
            return self._add_directory(path, "py_modules", self.user_excludes, parent_dir=True)
        if path.suffix == ".py":
            raise PackagingError(
                f"directory {path} must be an existing directory: job submission cannot upload a "
                "single-file py_module (only ray.init can); put it in a directory and pass that."
            )
        if path.suffix == ".whl":
            if not path.is_file():
                raise PackagingError(f"py_modules wheel {module} does not exist ({path})")
            return self._add_file(path, "py_modules")
        raise PackagingError(
            f"py_modules entry must be a .py file, a directory, or a .whl file; got {module}"
        )

    def _add_directory(
        self, path: Path, field: PackageField, excludes: list[str], *, parent_dir: bool
    ) -> str:
        scan = _scan_directory(path, excludes, self.include_gitignore)
        package = Package(
            uri=_directory_uri(scan.digest),
            source=path,
            kind="directory",
            field=field,
            excludes=tuple(excludes),
            include_gitignore=self.include_gitignore,
            include_parent_dir=parent_dir,
            estimated_size=scan.estimated_size,
            largest_files=scan.largest_files,
            largest_dirs=scan.largest_dirs,
            max_size=self.max_size,
        )
        if scan.unreadable:
            shown = ", ".join(scan.unreadable[:10]) + (", ..." if len(scan.unreadable) > 10 else "")
            raise PackagingError(
                f"Cannot read {len(scan.unreadable)} file(s) of {field} {path}: {shown}. Fix their "
                "permissions or exclude them with runtime_env['excludes'], a .rayignore or a .gitignore file."
            )
        if scan.entries == 0:
            logger.warning("%s %s is excluded entirely by its own patterns: empty package.", field, path)
        if package.estimated_size > self.max_size:
            raise PackageTooLargeError(package.too_large_message(package.estimated_size, exact=False))
        for rel, size in scan.large_files:
            logger.warning("File %s in %s is large (%s); consider excluding it.", rel, path, _mib(size))
        return self._register(package)

    def _add_file(self, path: Path, field: PackageField) -> str:
        size = path.stat().st_size
        package = Package(
            uri=get_uri_for_package(path),
            source=path,
            kind="file",
            field=field,
            estimated_size=size,
            largest_files=((path.name, size),),
            max_size=self.max_size,
        )
        if size > self.max_size:
            raise PackageTooLargeError(package.too_large_message(size, exact=True))
        return self._register(package)

    def _register(self, package: Package) -> str:
        known = self.packages.setdefault(package.uri, package)
        if known.include_parent_dir != package.include_parent_dir:
            # Same contents hash, different zip layout: whichever is uploaded first wins (as with Ray).
            logger.warning(
                "%s and %s have the same URI %s but are zipped differently; the server keeps one "
                "zip for both, so one of them will not see the layout it expects.",
                known.source,
                package.source,
                package.uri,
            )
        return package.uri


def _warn_default_excludes(path: Path, defaults: list[str]) -> None:
    for name in defaults:
        if name not in _warned_default_excludes and (path / name).exists():
            _warned_default_excludes.add(name)
            logger.warning(
                "Directory %r is left out of working_dir packages by default. To include it, set "
                "RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES to the defaults you want ('' for none).",
                name,
            )
