"""Normalise a ``runtime_env`` into exactly what Ray's client puts on the wire.

Ray's ``JobSubmissionClient.submit_job`` sends ``RuntimeEnv(**runtime_env).to_dict()``
rather than the caller's dict. :func:`normalize_runtime_env` reproduces that
without importing Ray:

* ``worker_process_setup_hook`` must be a string (checked first, as Ray does);
* ``pip`` / ``conda`` / ``uv``: at most one; ``pip`` (list, requirements-file path,
  or dict) becomes ``{"packages": [...], "pip_check": False, ...}``; ``uv`` likewise
  with ``uv_check`` and ``uv_pip_install_options`` (default ``["--no-cache"]``);
  ``conda`` ``*.yaml`` / ``*.yml`` paths are read into a dict (needs PyYAML,
  imported only then); package lists are de-duplicated; an empty list drops the
  field; ``_ray_commit`` (the cluster's commit, passed in) is added when
  ``pip`` or ``conda`` is set;
* ``env_vars`` must be ``Dict[str, str]``, ``excludes`` ``List[str]``; empty ones are
  dropped; ``config`` gets its defaults and loses unknown keys;
* ``container`` / ``image_uri`` may only be combined with ``config`` and ``env_vars``;
* ``working_dir`` / ``py_modules`` must already be URIs (see
  :func:`ray_jobs_client.packaging.plan_uploads`) with a supported format;
* ``nsight`` / ``rocprof_sys`` are renamed ``_nsight`` / ``_rocprof_sys``; unknown
  keys pass through; key order is Ray's (unvalidated keys first, then
  ``py_modules, working_dir, excludes, conda, pip, uv, env_vars, container, config``,
  then ``_ray_commit``); a dict whose values are all None becomes ``{}``.

Errors carry Ray's messages and are instances of the builtin Ray raises
(:class:`RuntimeEnvError` is a ``ValueError``; :class:`RuntimeEnvTypeError` also a
``TypeError``). Not covered: the ``RAY_RUNTIME_ENV_LOCAL_DEV_MODE`` switch (adds
``_inject_current_ray``), runtime_env plugin JSON schemas, and Callable setup hooks.
"""

from __future__ import annotations

import copy
import importlib
import logging
from collections.abc import Callable, Mapping, Sized
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlparse

from .errors import PackagingError, RuntimeEnvError, RuntimeEnvTypeError
from .packaging import PackageField, uri_protocol, validate_package_uri

__all__ = ["normalize_runtime_env"]

logger = logging.getLogger(__name__)

DEFAULT_SETUP_TIMEOUT_SECONDS: Final = 600

# RuntimeEnv's named parameters, in the order it inserts them after the other keys.
_NAMED_PARAMETERS: Final = (
    "py_modules",
    "py_executable",
    "working_dir",
    "pip",
    "uv",
    "conda",
    "nsight",
    "rocprof_sys",
    "container",
    "env_vars",
    "config",
    "worker_process_setup_hook",
    "image_uri",
)
_RENAMED: Final = {"nsight": "_nsight", "rocprof_sys": "_rocprof_sys"}
_CONTAINER_COMPATIBLE: Final = frozenset({"container", "config", "env_vars"})
_IMAGE_URI_COMPATIBLE: Final = frozenset({"image_uri", "config", "env_vars"})
_CONFIG_FIELDS: Final = ("setup_timeout_seconds", "eager_install", "log_files")


def normalize_runtime_env(runtime_env: Mapping[str, Any], *, ray_commit: str | None) -> dict[str, Any]:
    """Return the ``runtime_env`` dict Ray's client would send for this input.

    Call it after :func:`~ray_jobs_client.packaging.plan_uploads` (local paths must
    already be URIs). ``ray_commit`` is added as ``_ray_commit`` when ``pip`` or
    ``conda`` is used and the caller did not set it (Ray sends its own commit;
    pass the cluster's ``ray_commit`` from ``/api/version``, or None to omit it).
    Requirements and conda YAML files are read relative to the current directory.
    The input is not modified.
    """
    env = copy.deepcopy(dict(runtime_env))
    _check_setup_hook(env.get("worker_process_setup_hook"))
    result = _insertion_order(env)
    if env.get("_validate", True):  # RuntimeEnv's own keyword; never sent
        result = _validate(result, ray_commit)
        if all(value is None for value in result.values()):
            return {}
    _check_uploaded(result)
    return _round_trip(result)


def _validate(env: dict[str, Any], ray_commit: str | None) -> dict[str, Any]:
    """What ``RuntimeEnv.__init__`` does: check combinations, parse and re-insert known fields."""
    _check_exclusive_fields(env)
    result = dict(env)
    for option, parse in _VALIDATORS.items():
        value = result.pop(option, None)
        if value is not None:
            parsed = parse(value)
            if parsed is not None:
                result[option] = parsed
    if "_ray_commit" not in result and ray_commit is not None and (result.get("pip") or result.get("conda")):
        result["_ray_commit"] = ray_commit
    return result


def _check_setup_hook(hook: object) -> None:
    if hook and not isinstance(hook, str):
        raise RuntimeEnvError(
            f"Invalid type {type(hook)} for `worker_process_setup_hook`. When a job submission API "
            "is used, `worker_process_setup_hook` only allows a string type (module name). Specify "
            "`worker_process_setup_hook` via ray.init within a driver to use a `Callable` type. "
        )


def _insertion_order(env: dict[str, Any]) -> dict[str, Any]:
    """Order keys as ``RuntimeEnv(**env)`` does before validating: free keys, then named ones."""
    result = {key: value for key, value in env.items() if key not in _NAMED_PARAMETERS and key != "_validate"}
    for name in _NAMED_PARAMETERS:
        if env.get(name) is not None:
            result[_RENAMED.get(name, name)] = env[name]
    return result


def _check_exclusive_fields(env: dict[str, Any]) -> None:
    pip, conda, uv = env.get("pip"), env.get("conda"), env.get("uv")
    if sum(value is not None for value in (pip, conda, uv)) > 1:
        raise RuntimeEnvError(
            "The 'pip' field, 'uv' field, and 'conda' field of runtime_env cannot be specified at "
            f"the same time.\nspecified pip field: {pip}\nspecified conda field: {conda}\n"
            f"specified uv field: {uv}\nTo use pip with conda, please only set the 'conda'field, "
            "and specify your pip dependencies within the conda YAML config dict: see "
            "https://conda.io/projects/conda/en/latest/user-guide/tasks/manage-environments.html"
            "#create-env-file-manually"
        )
    for field, compatible in (("container", _CONTAINER_COMPATIBLE), ("image_uri", _IMAGE_URI_COMPATIBLE)):
        invalid = set(env) - compatible
        if env.get(field) and invalid:
            raise RuntimeEnvError(
                f"The '{field}' field currently cannot be used together with other fields of "
                f"runtime_env. Specified fields: {invalid}"
            )


def _round_trip(env: dict[str, Any]) -> dict[str, Any]:
    # RuntimeEnv.to_dict() deep-copies the RuntimeEnv, which re-assigns every key and
    # so parses each known field a second time (this is where a uv list gains
    # "uv_pip_install_options"). The first pass already rejected invalid values.
    # Ray's client fails on a known field left as None (only "excludes": None gets
    # this far, and Ray raises AssertionError); such a key carries nothing: drop it.
    result: dict[str, Any] = {}
    for key, value in env.items():
        parse = _VALIDATORS.get(key)
        if parse is None:
            result[key] = value
        elif value is not None and (parsed := parse(value)) is not None:
            result[key] = parsed
    return result


# --------------------------------------------------------------------------- packages


def _is_path(value: str) -> bool:
    scheme = urlparse(value).scheme
    # On Windows "C:\\x" parses with scheme "c": still a path.
    return not scheme or scheme == Path(value).drive.strip(":").lower()


def _validate_location(value: str, field: PackageField) -> None:
    """Ray's check of a working_dir / py_modules value inside RuntimeEnv."""
    if _is_path(value):
        try:
            Path(value).resolve(strict=True)
        except OSError:
            raise RuntimeEnvError(f"{Path(value)} is not a valid path.") from None
    else:
        _validate_uri(value, field)


def _validate_uri(value: str, field: PackageField) -> None:
    if uri_protocol(value) is None:
        raise RuntimeEnvError(
            f"{value} is not a valid URI. Passing directories or modules to be dynamically "
            "uploaded is only supported at the job level (i.e., passed to `ray.init`)."
        )
    try:
        validate_package_uri(value, field)
    except PackagingError as exc:
        raise RuntimeEnvError(str(exc)) from None


def _check_uploaded(env: dict[str, Any]) -> None:
    """After uploads, working_dir and py_modules may only hold URIs (Ray's last check)."""
    if env.get("working_dir"):
        _validate_uri(_working_dir_str(env["working_dir"]), "working_dir")
    if env.get("py_modules"):
        for module in _module_list(env["py_modules"]):
            _validate_uri(module, "py_modules")


def _working_dir_str(value: object) -> str:
    if not isinstance(value, str):
        raise RuntimeEnvTypeError(f"`working_dir` must be a string, got {type(value)}.")
    return value


def _module_list(value: object) -> list[str]:
    if not isinstance(value, list):
        raise RuntimeEnvTypeError(f"`py_modules` must be a list of strings, got {type(value)}.")
    for module in value:
        if not isinstance(module, str):
            raise RuntimeEnvTypeError(f"`py_module` must be a string, got {type(module)}.")
    return value


def _parse_working_dir(value: object) -> str:
    working_dir = _working_dir_str(value)
    _validate_location(working_dir, "working_dir")
    return working_dir


def _parse_py_modules(value: object) -> list[str]:
    modules = _module_list(value)
    for module in modules:
        _validate_location(module, "py_modules")
    return modules


# --------------------------------------------------------------------------- dependencies


def _read_requirements(path: str) -> list[str]:
    # Ray keeps comments and blank lines inside the file; only the ends are stripped.
    requirements = Path(path)
    if not requirements.is_file():
        raise RuntimeEnvError(f"{requirements} is not a valid file")
    return requirements.read_text(encoding="utf-8").strip().split("\n")


def _packages_or_none(result: dict[str, Any]) -> dict[str, Any] | None:
    result["packages"] = list(dict.fromkeys(result["packages"]))
    return result if result["packages"] else None


def _check_str_list(value: object, what: str) -> None:
    if not isinstance(value, list):
        raise RuntimeEnvTypeError(f"{what} must be of type list[str] got {type(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise RuntimeEnvTypeError(
                f"{what} must be of type list[str] got {type(item)} for {index}-th item."
            )


def _check_type(spec: Mapping[str, Any], key: str, kind: type, what: str) -> None:
    if key in spec and not isinstance(spec[key], kind):
        raise RuntimeEnvTypeError(f"{what} must be of type {kind.__name__}, got {type(spec[key])}")


def _parse_pip(value: object) -> dict[str, Any] | None:
    if isinstance(value, str):
        return _packages_or_none({"packages": _read_requirements(value), "pip_check": False})
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return _packages_or_none({"packages": value, "pip_check": False})
    if not isinstance(value, dict):
        raise RuntimeEnvTypeError(f"runtime_env['pip'] must be of type str or List[str], got {type(value)}")
    allowed = {"packages", "pip_check", "pip_install_options", "pip_version"}
    if set(value) - allowed:
        raise RuntimeEnvError(
            "runtime_env['pip'] can only have these fields: packages, pip_check, "
            f"pip_install_options and pip_version, but got: {list(value)}"
        )
    _check_type(value, "pip_check", bool, "runtime_env['pip']['pip_check']")
    _check_type(value, "pip_version", str, "runtime_env['pip']['pip_version']")
    if "pip_install_options" in value:
        _check_str_list(value["pip_install_options"], "runtime_env['pip']['pip_install_options']")
    result = {**value, "pip_check": value.get("pip_check", False)}
    if "packages" not in value:
        raise RuntimeEnvError(f"runtime_env['pip'] must include field 'packages', but got {value}")
    if isinstance(value["packages"], str):
        result["packages"] = _read_requirements(value["packages"])
    elif not isinstance(value["packages"], list):
        raise RuntimeEnvError(
            f"runtime_env['pip']['packages'] must be of type str of list, got: {type(value['packages'])}"
        )
    return _packages_or_none(result)


def _parse_uv(value: object) -> dict[str, Any] | None:
    if isinstance(value, str):
        return _packages_or_none({"packages": _read_requirements(value), "uv_check": False})
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return _packages_or_none({"packages": value, "uv_check": False})
    if not isinstance(value, dict):
        raise RuntimeEnvTypeError(f"runtime_env['uv'] must be of type List[str], or dict, got {type(value)}")
    allowed = {"packages", "uv_check", "uv_version", "uv_pip_install_options"}
    if set(value) - allowed:
        raise RuntimeEnvError(
            "runtime_env['uv'] can only have these fields: packages, uv_check, uv_version and "
            f"uv_pip_install_options, but got: {list(value)}"
        )
    if "packages" not in value:
        raise RuntimeEnvError(f"runtime_env['uv'] must include field 'packages', but got {value}")
    _check_type(value, "uv_check", bool, "runtime_env['uv']['uv_check']")
    _check_type(value, "uv_version", str, "runtime_env['uv']['uv_version']")
    if "uv_pip_install_options" in value:
        _check_str_list(value["uv_pip_install_options"], "runtime_env['uv']['uv_pip_install_options']")
    result = {
        **value,
        "uv_check": value.get("uv_check", False),
        "uv_pip_install_options": value.get("uv_pip_install_options", ["--no-cache"]),
    }
    if not isinstance(value["packages"], list):
        raise RuntimeEnvError(
            f"runtime_env['uv']['packages'] must be of type list, got: {type(value['packages'])}"
        )
    _check_str_list(value["packages"], "runtime_env['uv']['packages']")
    return _packages_or_none(result)


def _parse_conda(value: object) -> Any:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise RuntimeEnvTypeError(f"runtime_env['conda'] must be of type str or dict, got {type(value)}.")
    path = Path(value)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise RuntimeEnvError(f"Can't find conda YAML file {path}.")
        return _load_yaml(path)
    if path.is_absolute():
        if not path.is_dir():
            raise RuntimeEnvError(f"Can't find conda env directory {path}.")
        return str(path)
    return value


def _load_yaml(path: Path) -> Any:
    try:
        yaml = importlib.import_module("yaml")
    except ImportError as exc:
        raise RuntimeEnvError(f"Reading the conda file {path} needs PyYAML: pip install pyyaml") from exc
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # any parse or read error, reported the way Ray does
        raise RuntimeEnvError(f"Failed to read conda file {path}: {exc}.") from exc


# --------------------------------------------------------------------------- the rest


def _parse_excludes(value: object) -> list[str] | None:
    if isinstance(value, list) and not value:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise RuntimeEnvTypeError(f"runtime_env['excludes'] must be of type List[str], got {type(value)}")


def _parse_env_vars(value: object) -> dict[str, str] | None:
    if isinstance(value, Sized) and len(value) == 0:
        return None
    if not isinstance(value, dict):
        raise RuntimeEnvTypeError(
            f"runtime_env['env_vars'] must be of type Dict[str, str], got {type(value)}"
        )
    for key, val in value.items():
        if not isinstance(key, str):
            raise RuntimeEnvTypeError(
                "runtime_env['env_vars'] must be of type Dict[str, str], "
                f"but the key {key} is of type {type(key)}"
            )
        if not isinstance(val, str):
            raise RuntimeEnvTypeError(
                "runtime_env['env_vars'] must be of type Dict[str, str], "
                f"but the value {val} is of type {type(val)}"
            )
        # What the job's worker cannot put in its environment (Python refuses it). Measured on Ray
        # 2.60: the worker fails to start, again and again, and the job stays PENDING.
        if not key or "=" in key or "\x00" in key:
            raise RuntimeEnvError(
                f"runtime_env['env_vars'] key {key!r} is not a valid environment variable name "
                "(it must be non-empty, without '=' or a NUL byte)"
            )
        if "\x00" in val:
            raise RuntimeEnvError(
                f"runtime_env['env_vars'][{key!r}] holds a NUL byte, which an environment variable "
                "cannot hold"
            )
    return value


def _parse_container(value: object) -> object:
    return value


def _parse_config(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RuntimeEnvTypeError(
            f"runtime_env['config'] must be of type dict or RuntimeEnvConfig, got: {type(value)}"
        )
    unknown = set(value) - set(_CONFIG_FIELDS)
    if unknown:
        logger.warning(
            "The following unknown entries in the runtime_env_config dictionary will be ignored: %s.", unknown
        )
    timeout = value.get("setup_timeout_seconds", DEFAULT_SETUP_TIMEOUT_SECONDS)
    if not isinstance(timeout, int):
        raise RuntimeEnvTypeError(f"setup_timeout_seconds must be of type int, got: {type(timeout)}")
    if timeout <= 0 and timeout != -1:
        raise RuntimeEnvError(
            f"setup_timeout_seconds must be greater than zero or equals to -1, got: {timeout}"
        )
    eager_install = value.get("eager_install", True)
    if not isinstance(eager_install, bool):
        raise RuntimeEnvTypeError(f"eager_install must be a boolean. got {type(eager_install)}")
    log_files = value.get("log_files")
    if log_files is None:
        log_files = []
    elif not isinstance(log_files, list):
        raise RuntimeEnvTypeError(
            f"log_files must be a list of strings or None, got {log_files} with type {type(log_files)}."
        )
    elif not all(isinstance(name, str) for name in log_files):
        raise RuntimeEnvTypeError("Each item in log_files must be a string.")
    return {"setup_timeout_seconds": timeout, "eager_install": eager_install, "log_files": log_files}


# Ray validates (and re-inserts) these fields in this order.
_VALIDATORS: Final[dict[str, Callable[[Any], Any]]] = {
    "py_modules": _parse_py_modules,
    "working_dir": _parse_working_dir,
    "excludes": _parse_excludes,
    "conda": _parse_conda,
    "pip": _parse_pip,
    "uv": _parse_uv,
    "env_vars": _parse_env_vars,
    "container": _parse_container,
    "config": _parse_config,
}
