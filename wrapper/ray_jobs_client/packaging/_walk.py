"""Which paths a directory package holds: Ray's walk, with its default excludes and ignore files.

The tree is walked depth first from the directory itself (relative path ``"."``),
following symlinks. A path is skipped, with everything below it, when any active
pattern set matches it: the ``excludes`` list (matched relative to the package
root) and the ``.gitignore`` / ``.rayignore`` of every directory on the way down,
including the path itself when it is a directory (matched relative to the
directory holding the ignore file). Pattern sets are OR-ed, so a negation in a
nested ignore file cannot re-include what another set excludes.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pathspec import PathSpec
from pathspec.patterns.gitignore import GitIgnorePatternError
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from ..errors import PackagingError, PackagingTypeError

logger = logging.getLogger("ray_jobs_client.packaging")  # one logger for the whole package

DEFAULT_EXCLUDES: Final = (".git", ".venv", "venv", "__pycache__")


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


def _existing_directory(directory: str | os.PathLike[str]) -> Path:
    root = Path(directory).absolute()
    if not root.is_dir():
        raise PackagingError(f"directory {root} must be an existing directory")
    return root


def _check_excludes(excludes: object) -> None:
    if isinstance(excludes, str):
        raise PackagingTypeError(f"excludes must be a sequence of patterns, not a string: {excludes!r}")
