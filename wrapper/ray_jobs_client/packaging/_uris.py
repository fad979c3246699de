"""The runtime_env URI rules: which URIs Ray accepts, and the ``gcs://`` name of a local package.

A ``working_dir`` / ``py_modules`` value that has a known scheme is a URI and is
checked here as Ray's client checks it. A local package is uploaded under a
content address: an archive as ``gcs://_ray_pkg_<sha1 of its bytes><ext>``, a
wheel as ``gcs://<wheel file name>``, a directory as ``gcs://_ray_pkg_<16 hex>.zip``
(its digest is computed in ``_digest``).
"""

from __future__ import annotations

import hashlib
import os
import re
from io import BufferedReader
from pathlib import Path, PurePosixPath
from typing import Final, Literal
from urllib.parse import urlparse

from ..errors import PackagingError

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
            return _archive_uri(file, package.name)
    except OSError as exc:
        raise PackagingError(f"Cannot read package {package}: {exc.strerror or exc}") from exc


def _archive_uri(file: BufferedReader, name: str) -> str:
    """The URI of the archive called ``name`` whose bytes ``file`` holds (read to its end)."""
    digest = hashlib.file_digest(file, "sha1").hexdigest()
    return f"gcs://{_PKG_PREFIX}{digest}{_archive_extension(name)}"


def _archive_extension(name: str) -> str:
    if name.endswith((".tar.gz", ".tgz")):
        return ".tar.gz"
    if name.endswith(".tar.xz"):
        return ".tar.xz"
    return ".zip"


def _directory_uri(digest: bytes) -> str:
    return f"gcs://{_PKG_PREFIX}{digest.hex()}.zip"
