"""Turn local ``working_dir`` / ``py_modules`` entries into the packages Ray expects.

Everything here is pure: no network I/O. It computes the content-addressed
``gcs://`` URIs exactly as Ray's ``JobSubmissionClient`` does and writes the same
zip archives, so a package uploaded by this client is interchangeable with one
uploaded by Ray (same URI, same files).

The package, one job a module, in the order a submission meets them:

* ``_plan``: :func:`plan_uploads` replaces the local entries of a runtime_env by
  their URIs and lists the packages to upload, every check done before any I/O.
* ``_uris``: which URIs Ray accepts (:func:`uri_protocol`,
  :func:`validate_package_uri`); an archive or wheel is uploaded unchanged as
  ``gcs://_ray_pkg_<sha1 of bytes><ext>`` or ``gcs://<wheel file name>``
  (:func:`get_uri_for_package`).
* ``_walk``: which paths a directory package holds: a depth-first walk following
  symlinks that skips what ``excludes`` (:func:`default_excludes` first, for a
  ``working_dir``) or any ``.gitignore`` / ``.rayignore`` on the way down matches.
* ``_digest``: the directory's URI, ``gcs://_ray_pkg_<16 hex>.zip``, an XOR of
  the SHA-1s of every walked path and its content (:func:`get_uri_for_directory`).
* ``_package``: :class:`Package`, one upload: its bytes on demand, checked
  against its URI and against the dashboard's limit (:data:`MAX_PACKAGE_SIZE`).
* ``_archive``: the ``ZIP_STORED`` zip of the same paths that a directory's
  package uploads (:func:`write_directory_zip`).
"""

from __future__ import annotations

from ._archive import write_directory_zip
from ._digest import get_uri_for_directory
from ._package import MAX_PACKAGE_SIZE, Package, PackageContent
from ._plan import plan_uploads
from ._uris import (
    PY_MODULES_EXTENSIONS,
    WORKING_DIR_EXTENSIONS,
    get_uri_for_package,
    uri_protocol,
    validate_package_uri,
)
from ._uris import PackageField as PackageField
from ._walk import DEFAULT_EXCLUDES, default_excludes

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
