"""Token discovery for Ray's token authentication, as Ray's client does it (environment, files, headers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ray_jobs_client import AsyncJobSubmissionClient, AuthenticationError
from ray_jobs_client.auth import auth_headers, token_auth_enabled
from ray_jobs_client.errors import MissingTokenError

AUTH_VARIABLES = (
    "RAY_AUTH_MODE",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_TOKEN_PATH",
    "RAY_ENABLE_K8S_TOKEN_AUTH",
    "RAY_ADDRESS",
    "RAY_API_SERVER_ADDRESS",
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty home directory (no ``~/.ray/auth_token``)."""
    directory = tmp_path / "home"
    directory.mkdir()
    return directory


def token_env(home: Path, **values: str) -> dict[str, str]:
    return {"RAY_AUTH_MODE": "token", "HOME": str(home), **values}


def test_token_from_ray_auth_token_is_trimmed(home: Path) -> None:
    env = token_env(home, RAY_AUTH_TOKEN="  abc 123  ")
    assert auth_headers(None, env) == {"authorization": "Bearer abc 123"}


@pytest.mark.parametrize("mode", ["token", "TOKEN", "Token"])
def test_mode_is_case_insensitive(home: Path, mode: str) -> None:
    env = {"RAY_AUTH_MODE": mode, "RAY_AUTH_TOKEN": "t", "HOME": str(home)}
    assert token_auth_enabled(env)
    assert auth_headers({}, env) == {"authorization": "Bearer t"}


@pytest.mark.parametrize("mode", [None, "", "disabled", "k8s-token-typo"])
def test_no_headers_unless_the_mode_is_token(home: Path, mode: str | None) -> None:
    env = {"RAY_AUTH_TOKEN": "t", "HOME": str(home)}
    if mode is not None:
        env["RAY_AUTH_MODE"] = mode
    assert not token_auth_enabled(env)
    assert auth_headers(None, env) == {}


def test_token_path_file_first_line(tmp_path: Path, home: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("  from-file  \nsecond line\n", encoding="utf-8")
    env = token_env(home, RAY_AUTH_TOKEN_PATH=str(token_file))
    assert auth_headers(None, env) == {"authorization": "Bearer from-file"}


def test_ray_auth_token_beats_the_token_path(tmp_path: Path, home: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n", encoding="utf-8")
    env = token_env(home, RAY_AUTH_TOKEN="from-env", RAY_AUTH_TOKEN_PATH=str(token_file))
    assert auth_headers(None, env) == {"authorization": "Bearer from-env"}


def test_blank_ray_auth_token_falls_through(tmp_path: Path, home: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n", encoding="utf-8")
    env = token_env(home, RAY_AUTH_TOKEN="   ", RAY_AUTH_TOKEN_PATH=str(token_file))
    assert auth_headers(None, env) == {"authorization": "Bearer from-file"}


def test_missing_token_path_file_is_an_error(tmp_path: Path, home: Path) -> None:
    missing = tmp_path / "nonexistent"
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text("from-home\n", encoding="utf-8")  # not consulted
    env = token_env(home, RAY_AUTH_TOKEN_PATH=str(missing))
    with pytest.raises(
        MissingTokenError, match="RAY_AUTH_TOKEN_PATH is set but file cannot be opened or is empty"
    ) as caught:
        auth_headers(None, env)
    assert str(missing) in str(caught.value)
    assert isinstance(caught.value, AuthenticationError)
    assert isinstance(caught.value, RuntimeError)


def test_empty_token_path_file_is_an_error(tmp_path: Path, home: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(MissingTokenError, match="is empty"):
        auth_headers(None, token_env(home, RAY_AUTH_TOKEN_PATH=str(empty)))


def test_token_from_home_ray_auth_token(home: Path) -> None:
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text("  from-home \n", encoding="utf-8")
    assert auth_headers(None, token_env(home)) == {"authorization": "Bearer from-home"}


def test_no_token_anywhere_is_an_error(home: Path) -> None:
    with pytest.raises(MissingTokenError, match="Token authentication is enabled but") as caught:
        auth_headers(None, token_env(home))
    assert "RAY_AUTH_TOKEN" in str(caught.value)
    assert "~/.ray/auth_token" in str(caught.value)


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_caller_authorization_header_suppresses_the_token(home: Path, name: str) -> None:
    # Even with no token anywhere: the caller's header is all that is needed.
    assert auth_headers({name: "Bearer mine"}, token_env(home)) == {}
    assert auth_headers({name: "Bearer mine"}, token_env(home, RAY_AUTH_TOKEN="env")) == {}


def test_x_ray_authorization_does_not_suppress_the_token(home: Path) -> None:
    headers = {"X-Ray-Authorization": "Bearer proxy"}
    assert auth_headers(headers, token_env(home, RAY_AUTH_TOKEN="env")) == {"authorization": "Bearer env"}


def test_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in AUTH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    assert auth_headers(None) == {}
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "process-token")
    assert auth_headers(None) == {"authorization": "Bearer process-token"}


def test_client_construction_fails_without_a_token(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Like Ray's client: token mode without a token fails when the client is built (before any I/O)."""
    for name in AUTH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with pytest.raises(MissingTokenError):
        AsyncJobSubmissionClient("http://127.0.0.1:1")
    # A caller-set Authorization header is enough.
    client = AsyncJobSubmissionClient("http://127.0.0.1:1", headers={"Authorization": "Bearer mine"})
    assert client.get_address() == "http://127.0.0.1:1"
