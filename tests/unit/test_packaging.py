"""Packaging must give Ray's URIs and zips: checked against Ray itself and against pinned values.

Every tree is built here with fixed contents, so its URIs (which ignore modification
times and the tree's location) are pinned as literals and hold without Ray installed.
Where Ray is installed its own functions are run on the same tree as well.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ray_jobs_client import packaging
from ray_jobs_client.errors import PackageTooLargeError, PackagingError
from ray_jobs_client.packaging import (
    Package,
    _digest,
    _plan,
    get_uri_for_directory,
    get_uri_for_package,
    plan_uploads,
    write_directory_zip,
)

BINARY = bytes(range(256)) * 16


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def build_main_tree(root: Path) -> Path:
    """Nested ignore files (one with a negation), default-excluded dirs, odd names, a link."""
    write(root / "main.py", "print('main')\n")
    write(root / "blob.bin", BINARY)
    write(root / "notes.log", "log\n")
    write(root / ".gitignore", "*.log\nbuild/\n")
    write(root / "build" / "out.o", "object\n")
    write(root / "logs" / ".gitignore", "*.txt\n!keep.txt\n")
    write(root / "logs" / "keep.txt", "keep\n")
    write(root / "logs" / "drop.txt", "drop\n")
    write(root / "data" / ".rayignore", "secret*\n")
    write(root / "data" / "secret.txt", "secret\n")
    write(root / "data" / "ünïcødé.txt", "unicode\n")
    write(root / "data" / "plain.txt", "plain\n")
    write(root / "pkg" / "__init__.py", "")
    write(root / "pkg" / "sub" / "deeper" / "d.txt", "deep\n")
    write(root / "pkg" / "__pycache__" / "x.cpython-311.pyc", b"\x00pyc")
    write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(root / ".venv" / "pyvenv.cfg", "home = /usr\n")
    write(root / "venv" / "bin" / "python", "#!/bin/sh\n")
    write(root / "__pycache__" / "main.cpython-311.pyc", b"\x00pyc")
    (root / "emptydir").mkdir()
    (root / "pkg" / "link.py").symlink_to(Path("..") / "main.py")
    return root


def build_pattern_tree(root: Path) -> Path:
    """Comments, blank lines, anchored and ** patterns, trailing spaces, hidden files."""
    write(root / ".gitignore", "# a comment\n\n/x\na/**/c\n*.tmp   \n.hidden*\n")
    write(root / ".rayignore", "\n# nothing but a comment\nsub/\n")
    write(root / "x", "top x\n")
    write(root / "q" / "x", "nested x\n")
    write(root / "a" / "b" / "c", "c file\n")
    write(root / "a" / "c", "direct c\n")
    write(root / "a" / "keep", "keep\n")
    write(root / "t.tmp", "tmp\n")
    write(root / ".hidden_file", "hidden\n")
    write(root / "sub" / "in_sub.txt", "sub\n")
    write(root / "z" / "sub" / "also.txt", "also\n")
    return root


@pytest.fixture
def main_tree(tmp_path: Path) -> Path:
    return build_main_tree(tmp_path / "project")


@pytest.fixture
def pattern_tree(tmp_path: Path) -> Path:
    return build_pattern_tree(tmp_path / "patterns")


@pytest.fixture
def ray_pkg() -> Any:
    """Ray's own packaging module (imported lazily: it is heavy)."""
    return pytest.importorskip("ray._private.runtime_env.packaging")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", raising=False)
    monkeypatch.delenv("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES", raising=False)
    monkeypatch.setattr(_plan, "_warned_default_excludes", set())


DEFAULTS = [".git", ".venv", "venv", "__pycache__"]

# (tree, excludes, include_gitignore, pinned URI)
URI_CASES = {
    "all-gitignore": ("main", [], True, "gcs://_ray_pkg_bc3fcda8ef979e8f.zip"),
    "defaults": ("main", DEFAULTS, True, "gcs://_ray_pkg_a8feae6bac104d85.zip"),
    "defaults-bin-anchored": (
        "main",
        [*DEFAULTS, "*.bin", "/main.py"],
        True,
        "gcs://_ray_pkg_e3e331670b6e3e8a.zip",
    ),
    "no-gitignore-subdir": ("main", ["pkg/sub/deeper"], False, "gcs://_ray_pkg_4a7ea21a549668a2.zip"),
    "dir-glob-doublestar": (
        "main",
        ["build/", "data/*.txt", "**/d.txt"],
        True,
        "gcs://_ray_pkg_597ff153b4b72b54.zip",
    ),
    "everything": ("main", ["*"], True, "gcs://_ray_pkg_3030303030303030.zip"),
    "patterns": ("patterns", [], True, "gcs://_ray_pkg_1fd8f16cd70dffa5.zip"),
    "patterns-no-gitignore": ("patterns", [], False, "gcs://_ray_pkg_55efe9abb84ce1d6.zip"),
    "patterns-excludes": (
        "patterns",
        ["/q/", "a/b", "z/**/*.txt"],
        True,
        "gcs://_ray_pkg_c074356378e325da.zip",
    ),
}


def tree_for(name: str, main_tree: Path, pattern_tree: Path) -> Path:
    return main_tree if name == "main" else pattern_tree


def zip_contents(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def our_zip(directory: Path, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    write_directory_zip(directory, buffer, **kwargs)
    return buffer.getvalue()


def ray_zip(
    ray_pkg: Any,
    directory: Path,
    tmp_path: Path,
    *,
    excludes: list[str],
    include_gitignore: bool,
    include_parent_dir: bool,
) -> bytes:
    target = tmp_path / f"ray-{len(list(tmp_path.iterdir()))}.zip"
    ray_pkg.create_package(
        str(directory), target, include_gitignore, include_parent_dir=include_parent_dir, excludes=excludes
    )
    return target.read_bytes()


# --------------------------------------------------------------------------- URIs of directories


@pytest.mark.parametrize("case", URI_CASES)
def test_directory_uri_is_pinned(case: str, main_tree: Path, pattern_tree: Path) -> None:
    tree, excludes, include_gitignore, expected = URI_CASES[case]
    directory = tree_for(tree, main_tree, pattern_tree)
    assert (
        get_uri_for_directory(directory, excludes=excludes, include_gitignore=include_gitignore) == expected
    )


@pytest.mark.parametrize("case", URI_CASES)
def test_directory_uri_matches_ray(case: str, main_tree: Path, pattern_tree: Path, ray_pkg: Any) -> None:
    tree, excludes, include_gitignore, _ = URI_CASES[case]
    directory = tree_for(tree, main_tree, pattern_tree)
    ours = get_uri_for_directory(directory, excludes=excludes, include_gitignore=include_gitignore)
    assert ours == ray_pkg.get_uri_for_directory(str(directory), include_gitignore, excludes=excludes)


def test_uri_ignores_mtimes_and_location(main_tree: Path, tmp_path: Path) -> None:
    before = get_uri_for_directory(main_tree, include_gitignore=True)
    os.utime(main_tree / "main.py", (0, 0))
    assert get_uri_for_directory(main_tree, include_gitignore=True) == before
    copy = build_main_tree(tmp_path / "elsewhere" / "other-name")
    assert get_uri_for_directory(copy, include_gitignore=True) == before


def test_uri_changes_with_content(main_tree: Path) -> None:
    before = get_uri_for_directory(main_tree, include_gitignore=True)
    write(main_tree / "data" / "plain.txt", "changed\n")
    assert get_uri_for_directory(main_tree, include_gitignore=True) != before


def test_gitignore_switch_from_environment(main_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_uri_for_directory(main_tree) == URI_CASES["all-gitignore"][3]
    monkeypatch.setenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "1")
    assert get_uri_for_directory(main_tree) == get_uri_for_directory(main_tree, include_gitignore=False)
    assert get_uri_for_directory(main_tree) != URI_CASES["all-gitignore"][3]


def test_relative_directory_is_resolved_against_cwd(main_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(main_tree.parent)
    assert get_uri_for_directory("project", include_gitignore=True) == URI_CASES["all-gitignore"][3]
    monkeypatch.chdir(main_tree)
    assert get_uri_for_directory(".", include_gitignore=True) == URI_CASES["all-gitignore"][3]


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PackagingError, match=r"directory .*nope must be an existing directory"):
        get_uri_for_directory(tmp_path / "nope")


def test_no_pathspec_deprecation_warning(main_tree: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_uri_for_directory(main_tree, excludes=["*.bin"], include_gitignore=True)


# --------------------------------------------------------------------------- what the walk keeps


def test_exclusion_rules_on_the_main_tree(main_tree: Path) -> None:
    names = set(zip_contents(our_zip(main_tree, excludes=DEFAULTS, include_gitignore=True)))
    assert names == {
        "main.py",
        "blob.bin",
        ".gitignore",
        "logs/.gitignore",
        "logs/keep.txt",  # re-included by the nested negation
        "data/.rayignore",
        "data/ünïcødé.txt",
        "data/plain.txt",
        "pkg/__init__.py",
        "pkg/link.py",
        "pkg/sub/deeper/d.txt",
        "emptydir/",
    }


def test_nested_negation_cannot_reinclude_what_a_parent_excludes(tmp_path: Path) -> None:
    root = tmp_path / "neg"
    write(root / ".gitignore", "*.txt\n")
    write(root / "d" / ".gitignore", "!keep.txt\n")
    write(root / "d" / "keep.txt", "k\n")
    names = set(zip_contents(our_zip(root, include_gitignore=True)))
    assert names == {".gitignore", "d/.gitignore"}


def test_directory_pattern_keeps_the_directory_name_in_the_hash(tmp_path: Path) -> None:
    # "build/" does not match the path "build" (no trailing slash is added), only what is inside.
    with_build = tmp_path / "a"
    write(with_build / "build" / "o", "x")
    without_build = tmp_path / "b"
    without_build.mkdir()
    assert get_uri_for_directory(with_build, excludes=["build/"]) != get_uri_for_directory(
        without_build, excludes=["build/"]
    )
    # The non-empty directory whose contents are all excluded is not a zip entry.
    assert zip_contents(our_zip(with_build, excludes=["build/"])) == {}


def test_ignore_file_can_exclude_its_own_directory(tmp_path: Path) -> None:
    # As with Ray: "*" in d/.gitignore matches d itself (relative path ".").
    root = tmp_path / "own"
    write(root / "top.txt", "t")
    write(root / "d" / ".gitignore", "*\n!.gitignore\n")
    write(root / "d" / "inside.txt", "i")
    assert set(zip_contents(our_zip(root, include_gitignore=True))) == {"top.txt"}


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    write(root / "f.txt", "f")
    (root / "again").symlink_to(root)
    with pytest.raises(PackagingError, match="symlink loop"):
        get_uri_for_directory(root)
    assert get_uri_for_directory(root, excludes=["again"]) == get_uri_for_directory(
        write_tree_without_link(tmp_path / "loop2")
    )


def write_tree_without_link(root: Path) -> Path:
    write(root / "f.txt", "f")
    return root


def expected_uri(*pieces: bytes) -> str:
    """Ray's definition: XOR of the first 8 bytes of sha1(path [+ content]), from b"00000000"."""
    acc = b"00000000"
    for piece in pieces:
        acc = bytes(x ^ y for x, y in zip(acc, hashlib.sha1(piece).digest()[:8], strict=True))
    return f"gcs://_ray_pkg_{acc.hex()}.zip"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_counts_by_name_and_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "fifo"
    write(root / "f.txt", "f")
    os.mkfifo(root / "pipe")  # opening it would block (Ray's client hangs here)
    assert get_uri_for_directory(root, excludes=["f.txt"]) == expected_uri(b".", b"pipe")
    assert set(zip_contents(our_zip(root))) == {"f.txt"}


def test_hash_definition_on_a_tiny_tree(tmp_path: Path) -> None:
    root = tmp_path / "tiny"
    write(root / "a.txt", b"hello")
    (root / "empty").mkdir()
    assert get_uri_for_directory(root) == expected_uri(b".", b"a.txt" + b"hello", b"empty")


# --------------------------------------------------------------------------- zips


ZIP_CASES = ["all-gitignore", "defaults-bin-anchored", "dir-glob-doublestar", "everything", "patterns"]


@pytest.mark.parametrize("parent", [False, True], ids=["no-parent", "parent"])
@pytest.mark.parametrize("case", ZIP_CASES)
def test_zip_matches_ray(
    case: str, parent: bool, main_tree: Path, pattern_tree: Path, tmp_path: Path, ray_pkg: Any
) -> None:
    tree, excludes, include_gitignore, _ = URI_CASES[case]
    directory = tree_for(tree, main_tree, pattern_tree)
    ours = zip_contents(
        our_zip(directory, excludes=excludes, include_gitignore=include_gitignore, include_parent_dir=parent)
    )
    theirs = zip_contents(
        ray_zip(
            ray_pkg,
            directory,
            tmp_path,
            excludes=excludes,
            include_gitignore=include_gitignore,
            include_parent_dir=parent,
        )
    )
    assert set(ours) == set(theirs)
    assert ours == theirs


def test_zip_layout(main_tree: Path) -> None:
    data = our_zip(
        main_tree, excludes=[*DEFAULTS, "/data", "/logs"], include_gitignore=True, include_parent_dir=True
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        assert set(infos) == {
            "project/main.py",
            "project/blob.bin",
            "project/.gitignore",
            "project/pkg/__init__.py",
            "project/pkg/link.py",
            "project/pkg/sub/deeper/d.txt",
            "project/emptydir/",
        }
        assert {info.compress_type for info in infos.values()} == {zipfile.ZIP_STORED}
        assert archive.read("project/blob.bin") == BINARY
        assert archive.read("project/pkg/link.py") == b"print('main')\n"  # links are followed


@pytest.mark.parametrize("parent", [False, True], ids=["no-parent", "parent"])
def test_zip_of_empty_directory(parent: bool, tmp_path: Path) -> None:
    root = tmp_path / "void"
    root.mkdir()
    assert zip_contents(our_zip(root, include_parent_dir=parent)) == {"void/" if parent else "./": b""}
    assert get_uri_for_directory(root) == expected_uri(b".")


@pytest.mark.parametrize("parent", [False, True], ids=["no-parent", "parent"])
def test_zip_of_empty_directory_matches_ray(parent: bool, tmp_path: Path, ray_pkg: Any) -> None:
    root = tmp_path / "void"
    root.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    theirs = ray_zip(ray_pkg, root, out, excludes=[], include_gitignore=True, include_parent_dir=parent)
    assert zip_contents(our_zip(root, include_parent_dir=parent)) == zip_contents(theirs)


# --------------------------------------------------------------------------- archives and wheels


ARCHIVES = {
    "wd.zip": "gcs://_ray_pkg_e9dded8c84614e894501965af60c2525794a8c7d.zip",
    "wd.tgz": "gcs://_ray_pkg_e9dded8c84614e894501965af60c2525794a8c7d.tar.gz",
    "wd.tar.gz": "gcs://_ray_pkg_e9dded8c84614e894501965af60c2525794a8c7d.tar.gz",
    "wd.tar.xz": "gcs://_ray_pkg_e9dded8c84614e894501965af60c2525794a8c7d.tar.xz",
    "mypkg-0.1-py3-none-any.whl": "gcs://mypkg-0.1-py3-none-any.whl",
}


@pytest.mark.parametrize("name", ARCHIVES)
def test_package_uri_is_pinned(name: str, tmp_path: Path) -> None:
    write(tmp_path / name, BINARY)
    assert get_uri_for_package(tmp_path / name) == ARCHIVES[name]
    if not name.endswith(".whl"):
        assert ARCHIVES[name].split("_ray_pkg_")[1].startswith(hashlib.sha1(BINARY).hexdigest())


@pytest.mark.parametrize("name", ARCHIVES)
def test_package_uri_matches_ray(name: str, tmp_path: Path, ray_pkg: Any) -> None:
    write(tmp_path / name, BINARY)
    assert get_uri_for_package(tmp_path / name) == ray_pkg.get_uri_for_package(tmp_path / name)


# --------------------------------------------------------------------------- plan_uploads vs Ray's client


def ray_plan(runtime_env: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, bool]]]:
    """What Ray's JobSubmissionClient would send and upload, without a server."""
    working_dir = pytest.importorskip("ray._private.runtime_env.working_dir")
    py_modules = pytest.importorskip("ray._private.runtime_env.py_modules")
    include_gitignore = os.environ.get("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "0") != "1"
    uploads: list[tuple[str, bool]] = []

    def record(parent: bool) -> Callable[..., None]:
        def upload_fn(path: str, excludes: list[str] | None, is_file: bool = False) -> None:
            uploads.append((os.path.abspath(path), parent and not is_file))

        return upload_fn

    env = dict(runtime_env)
    working_dir.upload_working_dir_if_needed(
        env, include_gitignore=include_gitignore, upload_fn=record(False)
    )
    py_modules.upload_py_modules_if_needed(env, include_gitignore=include_gitignore, upload_fn=record(True))
    return env, uploads


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    build_main_tree(tmp_path / "project")
    build_pattern_tree(tmp_path / "project" / "mymod")
    write(tmp_path / "mypkg-0.1-py3-none-any.whl", BINARY)
    write(tmp_path / "wd.tgz", BINARY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


PLAN_CASES: dict[str, dict[str, Any]] = {
    "working_dir": {"working_dir": "project"},
    "working_dir+excludes": {"working_dir": "project", "excludes": ["*.bin", "/main.py"]},
    "archive": {"working_dir": "wd.tgz"},
    "py_modules": {"py_modules": ["project/mymod", "mypkg-0.1-py3-none-any.whl", "s3://b/m.zip"]},
    "both": {
        "working_dir": "./project/",
        "py_modules": ["project/pkg", "project/mymod", "mypkg-0.1-py3-none-any.whl"],
        "excludes": ["a/b"],
    },
    "uris": {"working_dir": "https://example.com/x/y.tar.gz?sig=1", "py_modules": ["gcs://_ray_pkg_ab.zip"]},
    "local-uri": {"working_dir": "local:///opt/app", "py_modules": ["local:///opt/mods"]},
}

PINNED_PLANS: dict[str, dict[str, Any]] = {
    "working_dir": {"working_dir": "gcs://_ray_pkg_3bfeb6e2b2c1351b.zip"},
    "archive": {"working_dir": "gcs://_ray_pkg_e9dded8c84614e894501965af60c2525794a8c7d.tar.gz"},
    "py_modules": {
        "py_modules": [
            "gcs://_ray_pkg_1fd8f16cd70dffa5.zip",
            "gcs://mypkg-0.1-py3-none-any.whl",
            "s3://b/m.zip",
        ]
    },
}


@pytest.mark.parametrize("case", PLAN_CASES)
def test_plan_matches_ray(case: str, workspace: Path) -> None:
    runtime_env = PLAN_CASES[case]
    ours, packages = plan_uploads(runtime_env)
    theirs, uploads = ray_plan(runtime_env)
    assert ours == theirs
    assert [(str(p.source), p.include_parent_dir) for p in packages] == list(dict.fromkeys(uploads))


@pytest.mark.parametrize("case", PINNED_PLANS)
def test_plan_is_pinned(case: str, workspace: Path) -> None:
    ours, _ = plan_uploads(PLAN_CASES[case])
    assert ours == PINNED_PLANS[case]


@pytest.mark.parametrize(
    ("override", "ignore_gitignore"),
    [("", None), ("venv, .git ,", None), (None, "1"), ("", "1")],
)
def test_environment_switches_match_ray(
    override: str | None, ignore_gitignore: str | None, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if override is not None:
        monkeypatch.setenv("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES", override)
    if ignore_gitignore is not None:
        monkeypatch.setenv("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", ignore_gitignore)
    runtime_env = {"working_dir": "project", "py_modules": ["project/mymod"]}
    ours, _ = plan_uploads(runtime_env)
    assert ours == ray_plan(runtime_env)[0]


def test_default_excludes_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert packaging.default_excludes() == DEFAULTS
    monkeypatch.setenv("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES", " venv , ,build/ ")
    assert packaging.default_excludes() == ["venv", "build/"]
    monkeypatch.setenv("RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES", "")
    assert packaging.default_excludes() == []


def test_plan_packages(workspace: Path) -> None:
    env, packages = plan_uploads(PLAN_CASES["both"])
    assert env["excludes"] == ["a/b"]
    working_dir, pkg, mymod, wheel = packages
    assert working_dir.source == workspace / "project"
    assert (working_dir.kind, working_dir.field, working_dir.include_parent_dir) == (
        "directory",
        "working_dir",
        False,
    )
    assert working_dir.excludes == (*DEFAULTS, "a/b")
    assert (mymod.kind, mymod.field, mymod.include_parent_dir, mymod.excludes) == (
        "directory",
        "py_modules",
        True,
        ("a/b",),
    )
    assert (wheel.kind, wheel.uri, wheel.protocol, wheel.package_name) == (
        "file",
        "gcs://mypkg-0.1-py3-none-any.whl",
        "gcs",
        "mypkg-0.1-py3-none-any.whl",
    )
    assert pkg.package_name == pkg.uri.removeprefix("gcs://")


def test_plan_leaves_input_alone_and_lists_a_uri_once(workspace: Path) -> None:
    runtime_env = {
        "py_modules": ["project/mymod", str(workspace / "project" / "mymod"), Path("project/mymod")]
    }
    env, packages = plan_uploads(runtime_env)
    assert runtime_env["py_modules"][0] == "project/mymod"
    assert len(set(env["py_modules"])) == 1
    assert len(packages) == 1


def test_default_exclude_warning_once_per_directory(
    workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ray_jobs_client.packaging"):
        plan_uploads({"working_dir": "project"})
        plan_uploads({"working_dir": "project"})
    warned = [r.getMessage() for r in caplog.records if "by default" in r.getMessage()]
    assert sorted(message.split("'")[1] for message in warned) == sorted(DEFAULTS)


# --------------------------------------------------------------------------- errors (Ray's where it has one)


def ray_error(runtime_env: dict[str, Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        ray_plan(runtime_env)
    return info.value


ERROR_CASES: dict[str, tuple[dict[str, Any], type[BaseException], str]] = {
    "wheel-as-working_dir": (
        {"working_dir": "mypkg-0.1-py3-none-any.whl"},
        ValueError,
        "directory mypkg-0.1-py3-none-any.whl must be an existing directory or a supported archive "
        "(.zip, .tar.gz, .tgz, .tar.xz)",
    ),
    "bad-uri-extension": (
        {"working_dir": "https://x/y"},
        ValueError,
        "Only .zip, .tar.gz, .tgz, .tar.xz files are supported for working_dir URIs; got https://x/y.",
    ),
    "wheel-uri-as-working_dir": (
        {"working_dir": "s3://bucket/m-1-py3-none-any.whl"},
        ValueError,
        "Only .zip, .tar.gz, .tgz, .tar.xz files are supported for working_dir URIs; "
        "got s3://bucket/m-1-py3-none-any.whl.",
    ),
    "gcs-uri-with-path": (
        {"py_modules": ["gcs://dir/x.zip?q=1"]},
        ValueError,
        "Only .zip, .whl, .tar.gz, .tgz, .tar.xz files are supported for py_modules URIs; got gcs://dir/x.zip.",
    ),
    "relative-local-uri": (
        {"working_dir": "local://opt/app"},
        ValueError,
        'Invalid "local://" runtime_env URI "local://opt/app": the path must be absolute. '
        "Write local:///path/in/image, or local://C:/path/in/image on Windows.",
    ),
    "working_dir-type": (
        {"working_dir": 3},
        TypeError,
        "working_dir must be a string or Path (either a local path or remote URI), got <class 'int'>.",
    ),
    "py_modules-not-list": (
        {"py_modules": "project/mymod"},
        TypeError,
        "py_modules must be a List of local paths, imported modules, or URIs, got <class 'str'>.",
    ),
    "py_modules-entry-type": (
        {"py_modules": [3]},
        TypeError,
        "py_modules must be a list of file paths, URIs, or imported modules, got <class 'int'>.",
    ),
    "py_modules-other-file": (
        {"py_modules": ["wd.tgz"]},
        ValueError,
        "py_modules entry must be a .py file, a directory, or a .whl file; got wd.tgz",
    ),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_are_rays(case: str, workspace: Path) -> None:
    runtime_env, builtin, message = ERROR_CASES[case]
    with pytest.raises(builtin) as info:
        plan_uploads(runtime_env)
    assert str(info.value) == message
    assert isinstance(info.value, PackagingError)


@pytest.mark.parametrize("case", ERROR_CASES)
def test_errors_match_ray(case: str, workspace: Path) -> None:
    runtime_env, builtin, message = ERROR_CASES[case]
    theirs = ray_error(runtime_env)
    assert isinstance(theirs, builtin)
    assert str(theirs) == message


def test_missing_working_dir_names_the_path(workspace: Path) -> None:
    with pytest.raises(
        ValueError, match=r"^directory nope must be an existing directory or a supported archive"
    ) as info:
        plan_uploads({"working_dir": "nope"})
    assert str(workspace / "nope") in str(info.value)
    assert str(ray_error({"working_dir": "nope"})) in str(info.value)


def test_unknown_scheme_is_a_local_path_as_with_ray(workspace: Path) -> None:
    with pytest.raises(PackagingError, match=r"^directory foo:/x.zip must be an existing directory"):
        plan_uploads({"working_dir": "foo://x.zip"})


def test_missing_wheel_and_single_file_module(workspace: Path) -> None:
    with pytest.raises(PackagingError, match=r"py_modules wheel nope-1-py3-none-any.whl does not exist"):
        plan_uploads({"py_modules": ["nope-1-py3-none-any.whl"]})
    write(workspace / "single.py", "x = 1\n")
    with pytest.raises(PackagingError, match=r"^directory .*single.py must be an existing directory"):
        plan_uploads({"py_modules": ["single.py"]})


@pytest.mark.parametrize("excludes", ["*.bin", ("*.bin",), ["ok", 3]])
def test_excludes_must_be_a_list_of_strings(excludes: Any, workspace: Path) -> None:
    with pytest.raises(TypeError, match=r"runtime_env\['excludes'\] must be of type List\[str\]"):
        plan_uploads({"working_dir": "project", "excludes": excludes})


@pytest.fixture
def unreadable(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make one file fail to open, as a permission problem would (chmod is moot for root)."""
    locked = workspace / "project" / "data" / "plain.txt"
    real_open = Path.open

    def guarded_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded_open)
    return locked


def test_unreadable_file_is_hashed_by_name_as_ray_does(unreadable: Path, ray_pkg: Any) -> None:
    uri = get_uri_for_directory("project", include_gitignore=True)
    assert uri == ray_pkg.get_uri_for_directory("project", True)


def test_unreadable_file_is_refused_before_upload(unreadable: Path, workspace: Path) -> None:
    with pytest.raises(PackagingError, match=r"Cannot read 1 file\(s\) of working_dir .*: data/plain.txt"):
        plan_uploads({"working_dir": "project"})
    with pytest.raises(PackagingError, match=r"Cannot read .*plain\.txt"):
        our_zip(workspace / "project")


# --------------------------------------------------------------------------- opening packages


def test_open_directory_package(workspace: Path) -> None:
    _, (package,) = plan_uploads({"py_modules": ["project/mymod"]})
    with package.open() as (file, size):
        assert file.tell() == 0
        data = file.read()
    assert len(data) == size
    # "/x" is anchored, "a/**/c" also matches a/c, "sub/" matches below any "sub" directory.
    assert set(zip_contents(data)) == {"mymod/.gitignore", "mymod/.rayignore", "mymod/q/x", "mymod/a/keep"}


def test_open_directory_package_matches_ray(workspace: Path, tmp_path: Path, ray_pkg: Any) -> None:
    _, (package,) = plan_uploads({"py_modules": ["project/mymod"]})
    with package.open() as (file, _):
        data = file.read()
    expected = ray_zip(
        ray_pkg,
        workspace / "project" / "mymod",
        tmp_path,
        excludes=[],
        include_gitignore=True,
        include_parent_dir=True,
    )
    assert zip_contents(data) == zip_contents(expected)


def test_open_file_package_yields_the_file_itself(workspace: Path) -> None:
    _, (package,) = plan_uploads({"working_dir": "wd.tgz"})
    with package.open() as content:
        assert content.size == len(BINARY)
        assert content.file.read() == BINARY


def test_size_estimate_is_a_lower_bound(workspace: Path) -> None:
    _, packages = plan_uploads(PLAN_CASES["both"])
    for package in packages:
        with package.open() as (_, size):
            assert package.estimated_size <= size
            if package.kind == "directory":
                assert size - package.estimated_size < 200  # only the zip's per-entry extras remain


def test_too_large_is_refused_before_any_upload(workspace: Path) -> None:
    write(workspace / "project" / "data" / "big.dat", b"\0" * 300_000)
    write(workspace / "project" / "data" / "medium.dat", b"\0" * 100_000)
    with pytest.raises(PackageTooLargeError) as info:
        plan_uploads({"working_dir": "project"}, max_size=200_000)
    message = str(info.value)
    assert "at least 0.39 MiB" in message
    assert "0.19 MiB (200000 bytes) upload limit" in message
    assert "Largest files: data/big.dat (0.29 MiB), data/medium.dat (0.10 MiB)" in message
    assert "Largest top-level directories: data/ (0.38 MiB)" in message
    assert "runtime_env['excludes'] (e.g. {'excludes': ['/data/big.dat']})" in message
    assert ".rayignore" in message and ".gitignore" in message
    assert isinstance(info.value, ValueError)


def test_too_large_archive(workspace: Path) -> None:
    with pytest.raises(PackageTooLargeError, match=r"wd.tgz \(0.00 MiB\)"):
        plan_uploads({"working_dir": "wd.tgz"}, max_size=100)


def test_open_checks_the_real_size(workspace: Path) -> None:
    _, (package,) = plan_uploads({"working_dir": "project"})
    tight = dataclasses.replace(package, max_size=package.estimated_size - 1)
    with pytest.raises(PackageTooLargeError, match="upload limit"), tight.open():
        pass


def test_open_refuses_a_directory_changed_since_planning(workspace: Path) -> None:
    _, (package,) = plan_uploads({"working_dir": "project"})
    write(workspace / "project" / "main.py", "print('edited')\n")
    with pytest.raises(PackagingError, match="changed while it was being packaged"), package.open():
        pass


def test_open_refuses_an_archive_changed_since_planning(workspace: Path) -> None:
    _, (package,) = plan_uploads({"working_dir": "wd.tgz"})
    write(workspace / "wd.tgz", b"other bytes")
    with pytest.raises(PackagingError, match="changed since its URI"), package.open():
        pass


def test_package_is_immutable(workspace: Path) -> None:
    _, (package,) = plan_uploads({"working_dir": "wd.tgz"})
    assert isinstance(package, Package)
    with pytest.raises(dataclasses.FrozenInstanceError):
        package.uri = "gcs://other.zip"  # type: ignore[misc]


def test_streams_in_bounded_chunks(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(workspace / "project" / "big.dat", b"\1" * (3 * _digest._CHUNK + 5))
    reads: list[int] = []
    real_copy = _digest._copy_chunks

    def spy(source: Any, consumers: Any, path: Path) -> None:
        real_read = source.read

        class Reader:
            def read(self, n: int = -1) -> bytes:
                reads.append(n)
                data: bytes = real_read(n)
                return data

        real_copy(Reader(), consumers, path)  # type: ignore[arg-type]

    monkeypatch.setattr(_digest, "_copy_chunks", spy)
    get_uri_for_directory(workspace / "project")
    assert reads and all(0 < n <= _digest._CHUNK for n in reads)


if sys.platform == "win32":  # pragma: no cover - the trees use symlinks and POSIX names
    pytestmark = pytest.mark.skip(reason="POSIX-only fixtures")
