"""Planning a submission's uploads: local ``working_dir`` / ``py_modules`` entries become URIs.

Every check that needs no server is made here, before any network call; the client
then uploads the packages the server does not have and submits the rewritten runtime_env.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import PackageTooLargeError, PackagingError, PackagingTypeError
from ._digest import _scan_directory
from ._package import MAX_PACKAGE_SIZE, Package, _mib
from ._uris import (
    WORKING_DIR_EXTENSIONS,
    PackageField,
    _directory_uri,
    get_uri_for_package,
    uri_protocol,
    validate_package_uri,
)
from ._walk import _gitignore_enabled, default_excludes

logger = logging.getLogger("ray_jobs_client.packaging")  # one logger for the whole package

_warned_default_excludes: set[str] = set()


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
