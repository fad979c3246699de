"""normalize_runtime_env must produce what Ray's client sends: ``RuntimeEnv(**env).to_dict()``.

Every case is checked against pinned output (values and key order) and, when Ray is
installed, against Ray's own ``RuntimeEnv`` on the same input.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from ray_jobs_client.errors import JobsClientError, RuntimeEnvError, RuntimeEnvTypeError
from ray_jobs_client.runtime_env import normalize_runtime_env

COMMIT = "0123456789abcdef0123456789abcdef01234567"

REQUIREMENTS = "# pinned\nrequests==2.31\n\nnumpy  \r\nrequests==2.31\n\n"
CONDA_YAML = "name: demo\ndependencies:\n  - python=3.11\n  - pip:\n      - requests\n"


@pytest.fixture(autouse=True)
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Requirement and conda files in the current directory (relative paths are read from there)."""
    (tmp_path / "requirements.txt").write_bytes(REQUIREMENTS.encode())
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "env.yaml").write_text(CONDA_YAML)
    (tmp_path / "empty.yml").write_text("")
    (tmp_path / "bad.yaml").write_text("a: [unclosed\n")
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ray_wire(runtime_env: dict[str, Any]) -> dict[str, Any]:
    """What Ray's JobSubmissionClient.submit_job puts in the request body (after uploads)."""
    module = pytest.importorskip("ray.runtime_env.runtime_env")
    env = module.RuntimeEnv(**copy.deepcopy(runtime_env))
    module._validate_no_local_paths(env)
    result: dict[str, Any] = env.to_dict()
    return result


def ray_commit() -> str:
    commit: str = pytest.importorskip("ray").__commit__
    return commit


# Ray strips the file's ends only: comments, blank lines and trailing spaces inside stay.
REQ = ["# pinned", "requests==2.31", "", "numpy  "]

VALID: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "empty": ({}, {}),
    "pip-list": (
        {"pip": ["requests", "requests", "numpy==1.0"]},
        {"pip": {"packages": ["requests", "numpy==1.0"], "pip_check": False}, "_ray_commit": COMMIT},
    ),
    "pip-file": (
        {"pip": "requirements.txt"},
        {"pip": {"packages": REQ, "pip_check": False}, "_ray_commit": COMMIT},
    ),
    "pip-empty-file": (
        {"pip": "empty.txt"},
        {"pip": {"packages": [""], "pip_check": False}, "_ray_commit": COMMIT},
    ),
    "pip-dict-file": (
        {"pip": {"packages": "requirements.txt", "pip_version": "==23.0"}},
        {"pip": {"packages": REQ, "pip_version": "==23.0", "pip_check": False}, "_ray_commit": COMMIT},
    ),
    "pip-dict": (
        {"pip": {"pip_check": True, "packages": ["a"], "pip_install_options": ["--no-deps"]}},
        {
            "pip": {"pip_check": True, "packages": ["a"], "pip_install_options": ["--no-deps"]},
            "_ray_commit": COMMIT,
        },
    ),
    "pip-empty-list": ({"pip": [], "env_vars": {"A": "1"}}, {"env_vars": {"A": "1"}}),
    "commit-kept": (
        {"_ray_commit": "theirs", "pip": ["a"]},
        {"_ray_commit": "theirs", "pip": {"packages": ["a"], "pip_check": False}},
    ),
    "conda-yaml": (
        {"conda": "env.yaml"},
        {
            "conda": {"name": "demo", "dependencies": ["python=3.11", {"pip": ["requests"]}]},
            "_ray_commit": COMMIT,
        },
    ),
    "conda-empty-yaml": ({"conda": "empty.yml", "env_vars": {"A": "1"}}, {"env_vars": {"A": "1"}}),
    "conda-name": ({"conda": "myenv"}, {"conda": "myenv", "_ray_commit": COMMIT}),
    "conda-dict": (
        {"conda": {"dependencies": ["pip"]}},
        {"conda": {"dependencies": ["pip"]}, "_ray_commit": COMMIT},
    ),
    "uv-list": (
        {"uv": ["a", "a", "b"]},
        {"uv": {"packages": ["a", "b"], "uv_check": False, "uv_pip_install_options": ["--no-cache"]}},
    ),
    "uv-file": (
        {"uv": "requirements.txt"},
        {"uv": {"packages": REQ, "uv_check": False, "uv_pip_install_options": ["--no-cache"]}},
    ),
    "uv-dict": (
        {"uv": {"uv_version": "0.4", "packages": ["b"]}},
        {
            "uv": {
                "uv_version": "0.4",
                "packages": ["b"],
                "uv_check": False,
                "uv_pip_install_options": ["--no-cache"],
            }
        },
    ),
    "config-defaults": (
        {"config": {}},
        {"config": {"setup_timeout_seconds": 600, "eager_install": True, "log_files": []}},
    ),
    "config-partial-unknown": (
        {"config": {"log_files": None, "eager_install": False, "unknown": 1, "setup_timeout_seconds": -1}},
        {"config": {"setup_timeout_seconds": -1, "eager_install": False, "log_files": []}},
    ),
    "empty-collections": ({"env_vars": {}, "excludes": []}, {}),
    "all-none": ({"excludes": None, "foo": None, "working_dir": None}, {}),
    "none-kept-beside-values": ({"foo": None, "bar": 1, "config": None}, {"foo": None, "bar": 1}),
    "key-order": (
        {
            "zzz": 1,
            "env_vars": {"A": "b"},
            "excludes": ["*.bin"],
            "py_modules": ["gcs://_ray_pkg_a.zip", "s3://b/m-1-py3-none-any.whl", "local:///opt/mods"],
            "working_dir": "https://example.com/x.tar.gz?sig=1",
            "worker_process_setup_hook": "mod.setup",
            "py_executable": "python3",
            "nsight": "default",
            "rocprof_sys": {"env": {}},
            "java_jars": ["s3://x.jar"],
            "pip": ["x"],
            "config": {"eager_install": False},
        },
        {
            "zzz": 1,
            "java_jars": ["s3://x.jar"],
            "py_executable": "python3",
            "_nsight": "default",
            "_rocprof_sys": {"env": {}},
            "worker_process_setup_hook": "mod.setup",
            "py_modules": ["gcs://_ray_pkg_a.zip", "s3://b/m-1-py3-none-any.whl", "local:///opt/mods"],
            "working_dir": "https://example.com/x.tar.gz?sig=1",
            "excludes": ["*.bin"],
            "pip": {"packages": ["x"], "pip_check": False},
            "env_vars": {"A": "b"},
            "config": {"setup_timeout_seconds": 600, "eager_install": False, "log_files": []},
            "_ray_commit": COMMIT,
        },
    ),
    "container": (
        {"env_vars": {"A": "1"}, "container": {"image": "x"}},
        {"env_vars": {"A": "1"}, "container": {"image": "x"}},
    ),
    "image_uri": (
        {"image_uri": "rayproject/ray:2.60.0", "config": {}, "env_vars": {"A": "1"}},
        {
            "image_uri": "rayproject/ray:2.60.0",
            "env_vars": {"A": "1"},
            "config": {"setup_timeout_seconds": 600, "eager_install": True, "log_files": []},
        },
    ),
    "local-working_dir": ({"working_dir": "local:///opt/app"}, {"working_dir": "local:///opt/app"}),
    "no-validation": (
        {"_validate": False, "pip": ["a", "a"], "uv": ["b"]},
        {"pip": {"packages": ["a"], "pip_check": False}, "uv": {"packages": ["b"], "uv_check": False}},
    ),
}


def commit_for(expected: dict[str, Any], commit: str) -> dict[str, Any]:
    return {k: (commit if k == "_ray_commit" and v == COMMIT else v) for k, v in expected.items()}


@pytest.mark.parametrize("case", VALID)
def test_normalized_output_is_pinned(case: str) -> None:
    runtime_env, expected = VALID[case]
    result = normalize_runtime_env(runtime_env, ray_commit=COMMIT)
    assert list(result.items()) == list(expected.items())


@pytest.mark.parametrize("case", VALID)
def test_normalized_output_matches_ray(case: str) -> None:
    runtime_env, _ = VALID[case]
    commit = ray_commit()
    theirs = ray_wire(runtime_env)
    ours = normalize_runtime_env(runtime_env, ray_commit=commit)
    assert list(ours.items()) == list(theirs.items())


def test_conda_env_directory(files: Path) -> None:
    runtime_env = {"conda": str(files / "project")}
    expected = {"conda": str(files / "project"), "_ray_commit": COMMIT}
    assert normalize_runtime_env(runtime_env, ray_commit=COMMIT) == expected


def test_without_commit_nothing_is_added() -> None:
    assert normalize_runtime_env({"pip": ["a"]}, ray_commit=None) == {
        "pip": {"packages": ["a"], "pip_check": False}
    }


def test_input_is_not_modified() -> None:
    runtime_env = {"pip": ["a", "a"], "config": {"unknown": 1}, "nsight": "x"}
    snapshot = copy.deepcopy(runtime_env)
    normalize_runtime_env(runtime_env, ray_commit=COMMIT)
    assert runtime_env == snapshot


def test_unknown_config_keys_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ray_jobs_client.runtime_env"):
        normalize_runtime_env({"config": {"retries": 3}}, ray_commit=None)
    assert "{'retries'}" in caplog.text


# --------------------------------------------------------------------------- errors


def conflict_message(pip: Any, conda: Any, uv: Any) -> str:
    return (
        "The 'pip' field, 'uv' field, and 'conda' field of runtime_env cannot be specified at the same "
        f"time.\nspecified pip field: {pip}\nspecified conda field: {conda}\nspecified uv field: {uv}\n"
        "To use pip with conda, please only set the 'conda'field, and specify your pip dependencies "
        "within the conda YAML config dict: see https://conda.io/projects/conda/en/latest/user-guide/"
        "tasks/manage-environments.html#create-env-file-manually"
    )


NOT_A_URI = (
    " is not a valid URI. Passing directories or modules to be dynamically uploaded is only supported "
    "at the job level (i.e., passed to `ray.init`)."
)

INVALID: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "pip-and-conda": ({"pip": ["a"], "conda": "x"}, ValueError, conflict_message(["a"], "x", None)),
    "empty-pip-and-uv": ({"pip": [], "uv": []}, ValueError, conflict_message([], None, [])),
    "env-value": (
        {"env_vars": {"A": 1}},
        TypeError,
        "runtime_env['env_vars'] must be of type Dict[str, str], but the value 1 is of type <class 'int'>",
    ),
    "env-key": (
        {"env_vars": {1: "a"}},
        TypeError,
        "runtime_env['env_vars'] must be of type Dict[str, str], but the key 1 is of type <class 'int'>",
    ),
    "env-str": (
        {"env_vars": "A=1"},
        TypeError,
        "runtime_env['env_vars'] must be of type Dict[str, str], got <class 'str'>",
    ),
    "excludes-str": (
        {"excludes": "*.bin"},
        TypeError,
        "runtime_env['excludes'] must be of type List[str], got <class 'str'>",
    ),
    "excludes-item": (
        {"excludes": ["a", 1]},
        TypeError,
        "runtime_env['excludes'] must be of type List[str], got <class 'list'>",
    ),
    "pip-type": (
        {"pip": 3},
        TypeError,
        "runtime_env['pip'] must be of type str or List[str], got <class 'int'>",
    ),
    "pip-list-item": (
        {"pip": ["a", 1]},
        TypeError,
        "runtime_env['pip'] must be of type str or List[str], got <class 'list'>",
    ),
    "pip-unknown-key": (
        {"pip": {"packages": ["a"], "bad": 1}},
        ValueError,
        "runtime_env['pip'] can only have these fields: packages, pip_check, pip_install_options and "
        "pip_version, but got: ['packages', 'bad']",
    ),
    "pip-check-type": (
        {"pip": {"pip_check": "yes", "packages": []}},
        TypeError,
        "runtime_env['pip']['pip_check'] must be of type bool, got <class 'str'>",
    ),
    "pip-options-item": (
        {"pip": {"packages": [], "pip_install_options": ["-q", 2]}},
        TypeError,
        "runtime_env['pip']['pip_install_options'] must be of type list[str] "
        "got <class 'int'> for 1-th item.",
    ),
    "pip-no-packages": (
        {"pip": {"pip_check": True}},
        ValueError,
        "runtime_env['pip'] must include field 'packages', but got {'pip_check': True}",
    ),
    "pip-packages-type": (
        {"pip": {"packages": 3}},
        ValueError,
        "runtime_env['pip']['packages'] must be of type str of list, got: <class 'int'>",
    ),
    "pip-missing-file": ({"pip": "missing.txt"}, ValueError, "missing.txt is not a valid file"),
    "uv-type": (
        {"uv": 3},
        TypeError,
        "runtime_env['uv'] must be of type List[str], or dict, got <class 'int'>",
    ),
    "uv-packages-type": (
        {"uv": {"packages": "x"}},
        ValueError,
        "runtime_env['uv']['packages'] must be of type list, got: <class 'str'>",
    ),
    "uv-packages-item": (
        {"uv": {"packages": [1]}},
        TypeError,
        "runtime_env['uv']['packages'] must be of type list[str] got <class 'int'> for 0-th item.",
    ),
    "uv-options-type": (
        {"uv": {"uv_pip_install_options": "x", "packages": []}},
        TypeError,
        "runtime_env['uv']['uv_pip_install_options'] must be of type list[str] got <class 'str'>",
    ),
    "conda-type": (
        {"conda": 3},
        TypeError,
        "runtime_env['conda'] must be of type str or dict, got <class 'int'>.",
    ),
    "conda-missing-yaml": ({"conda": "missing.yaml"}, ValueError, "Can't find conda YAML file missing.yaml."),
    "conda-missing-dir": (
        {"conda": "/nonexistent/env"},
        ValueError,
        "Can't find conda env directory /nonexistent/env.",
    ),
    "config-type": (
        {"config": 3},
        TypeError,
        "runtime_env['config'] must be of type dict or RuntimeEnvConfig, got: <class 'int'>",
    ),
    "config-timeout-type": (
        {"config": {"setup_timeout_seconds": "1"}},
        TypeError,
        "setup_timeout_seconds must be of type int, got: <class 'str'>",
    ),
    "config-timeout-zero": (
        {"config": {"setup_timeout_seconds": 0}},
        ValueError,
        "setup_timeout_seconds must be greater than zero or equals to -1, got: 0",
    ),
    "config-eager-type": (
        {"config": {"eager_install": 1}},
        TypeError,
        "eager_install must be a boolean. got <class 'int'>",
    ),
    "config-log-files-type": (
        {"config": {"log_files": "x"}},
        TypeError,
        "log_files must be a list of strings or None, got x with type <class 'str'>.",
    ),
    "config-log-files-item": (
        {"config": {"log_files": [1]}},
        TypeError,
        "Each item in log_files must be a string.",
    ),
    "container-with-pip": (
        {"container": {"image": "x"}, "pip": ["a"]},
        ValueError,
        "The 'container' field currently cannot be used together with other fields of runtime_env. "
        "Specified fields: {'pip'}",
    ),
    "image_uri-with-working_dir": (
        {"image_uri": "x", "working_dir": "gcs://_ray_pkg_a.zip"},
        ValueError,
        "The 'image_uri' field currently cannot be used together with other fields of runtime_env. "
        "Specified fields: {'working_dir'}",
    ),
    "local-working_dir-path": ({"working_dir": "project"}, ValueError, "project" + NOT_A_URI),
    "missing-working_dir-path": ({"working_dir": "nope"}, ValueError, "nope is not a valid path."),
    "working_dir-extension": (
        {"working_dir": "https://x/y"},
        ValueError,
        "Only .zip, .tar.gz, .tgz, .tar.xz files are supported for working_dir URIs; got https://x/y.",
    ),
    "working_dir-type": ({"working_dir": 3}, TypeError, "`working_dir` must be a string, got <class 'int'>."),
    "working_dir-relative-local": (
        {"working_dir": "local://rel"},
        ValueError,
        'Invalid "local://" runtime_env URI "local://rel": the path must be absolute. '
        "Write local:///path/in/image, or local://C:/path/in/image on Windows.",
    ),
    "py_modules-type": (
        {"py_modules": "x"},
        TypeError,
        "`py_modules` must be a list of strings, got <class 'str'>.",
    ),
    "py_modules-item": ({"py_modules": [3]}, TypeError, "`py_module` must be a string, got <class 'int'>."),
    "py_modules-unknown-scheme": ({"py_modules": ["foo://x.zip"]}, ValueError, "foo://x.zip" + NOT_A_URI),
    "unvalidated-py_modules-type": (
        {"_validate": False, "py_modules": "gcs://a.zip"},
        TypeError,
        "`py_modules` must be a list of strings, got <class 'str'>.",
    ),
    "unvalidated-local-path": ({"_validate": False, "py_modules": ["x"]}, ValueError, "x" + NOT_A_URI),
}


@pytest.mark.parametrize("case", INVALID)
def test_errors_are_pinned(case: str) -> None:
    runtime_env, builtin, message = INVALID[case]
    with pytest.raises(builtin) as info:
        normalize_runtime_env(runtime_env, ray_commit=COMMIT)
    assert str(info.value) == message
    assert isinstance(info.value, RuntimeEnvTypeError if builtin is TypeError else RuntimeEnvError)


@pytest.mark.parametrize("case", INVALID)
def test_errors_match_ray(case: str) -> None:
    runtime_env, builtin, message = INVALID[case]
    with pytest.raises(Exception) as info:
        ray_wire(runtime_env)
    assert isinstance(info.value, builtin)
    assert str(info.value) == message


def test_bad_conda_yaml_reports_the_parser_error() -> None:
    with pytest.raises(RuntimeEnvError, match=r"^Failed to read conda file bad.yaml: .*flow sequence"):
        normalize_runtime_env({"conda": "bad.yaml"}, ray_commit=None)


def test_bad_conda_yaml_matches_ray() -> None:
    with pytest.raises(ValueError) as theirs:
        ray_wire({"conda": "bad.yaml"})
    with pytest.raises(ValueError) as ours:
        normalize_runtime_env({"conda": "bad.yaml"}, ray_commit=None)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("hook", [print, 42, ["mod"]])
def test_setup_hook_must_be_a_module_name(hook: Any) -> None:
    with pytest.raises(ValueError) as info:
        normalize_runtime_env({"worker_process_setup_hook": hook}, ray_commit=None)
    assert str(info.value) == (
        f"Invalid type {type(hook)} for `worker_process_setup_hook`. When a job submission API is used, "
        "`worker_process_setup_hook` only allows a string type (module name). Specify "
        "`worker_process_setup_hook` via ray.init within a driver to use a `Callable` type. "
    )
    assert isinstance(info.value, JobsClientError)


def test_setup_hook_check_comes_first() -> None:
    with pytest.raises(ValueError, match="worker_process_setup_hook"):
        normalize_runtime_env({"worker_process_setup_hook": 1, "pip": 3}, ray_commit=None)


SCHEMES = [
    "gcs",
    "GCS",
    "s3",
    "https",
    "gs",
    "azure",
    "abfss",
    "file",
    "local",
    "conda",
    "uv",
    "foo",
    "c",
    "",
]
RESTS = [
    "://x.zip",
    "://b/x.tgz",
    "://b/x.tar.gz?q=1",
    "://b/x.tar.bz2",
    "://b/m-1-py3-none-any.whl",
    "://b/m.whl?x=1",
    "://x",
    ":x.zip",
    "///abs/dir",
    "///abs/x.zip",
    "://rel/dir",
    ":///C:/app",
    "://b/dir.zip/",
    "://b/X.ZIP",
]


def outcome(normalize: Any, uri: str, field: str) -> tuple[str, Any]:
    try:
        return ("ok", normalize({field: uri if field == "working_dir" else [uri]}))
    except ValueError as exc:
        return ("ValueError", str(exc))


@pytest.mark.parametrize("field", ["working_dir", "py_modules"])
def test_uri_validation_matches_ray(field: str) -> None:
    pytest.importorskip("ray.runtime_env.runtime_env")

    def ours(env: dict[str, Any]) -> dict[str, Any]:
        return normalize_runtime_env(env, ray_commit=None)

    for uri in (scheme + rest for scheme in SCHEMES for rest in RESTS):
        assert outcome(ours, uri, field) == outcome(ray_wire, uri, field), uri
