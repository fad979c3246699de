"""Ray's token authentication, seen from the client (read from the environment, like Ray does).

When ``RAY_AUTH_MODE`` is ``token`` (any case), every request carries ``authorization: Bearer <token>``
unless the caller already set an ``Authorization`` header. The token comes from, first hit wins:
``RAY_AUTH_TOKEN``; the file named by ``RAY_AUTH_TOKEN_PATH``; the Kubernetes service-account token when
``RAY_ENABLE_K8S_TOKEN_AUTH`` is set; ``~/.ray/auth_token``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .errors import MissingTokenError

__all__ = ["auth_headers", "token_auth_enabled"]

_K8S_TOKEN_PATH = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")

_TOKEN_HELP = (
    "Token authentication is enabled but no authentication token was found. Create a token file at "
    "~/.ray/auth_token, or store the token in any file and set RAY_AUTH_TOKEN_PATH to point to it, or set "
    "the RAY_AUTH_TOKEN environment variable."
)


def token_auth_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True when this process is configured for token authentication (``RAY_AUTH_MODE=token``)."""
    env = os.environ if env is None else env
    return env.get("RAY_AUTH_MODE", "").strip().lower() == "token"


def auth_headers(
    user_headers: Mapping[str, str] | None, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The headers token auth adds to ``user_headers`` (``{}`` when it adds none)."""
    env = os.environ if env is None else env
    if not token_auth_enabled(env):
        return {}
    if user_headers and any(name.lower() == "authorization" for name in user_headers):
        return {}
    return {"authorization": f"Bearer {_find_token(env)}"}


def _find_token(env: Mapping[str, str]) -> str:
    token = env.get("RAY_AUTH_TOKEN", "").strip()
    if token:
        return token
    path = env.get("RAY_AUTH_TOKEN_PATH")
    if path:
        token = _first_line(Path(path).expanduser())
        if not token:
            raise MissingTokenError(
                f"RAY_AUTH_TOKEN_PATH is set but file cannot be opened or is empty: {path}. {_TOKEN_HELP}"
            )
        return token
    if env.get("RAY_ENABLE_K8S_TOKEN_AUTH", "").strip().lower() in ("1", "true"):
        token = _first_line(_K8S_TOKEN_PATH)
        if token:
            return token
    home = env.get("HOME")
    token_file = (Path(home) if home else Path.home()) / ".ray" / "auth_token"
    token = _first_line(token_file)
    if token:
        return token
    raise MissingTokenError(_TOKEN_HELP)


def _first_line(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().strip()
    except OSError:
        return ""
