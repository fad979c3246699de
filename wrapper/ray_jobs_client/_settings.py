"""A client's settings, resolved and checked once, before any connection is made.

Both clients (and the sync client's async twin behind ``tail_job_logs``) hold one :class:`Settings`:
everything a client needs to open its connection pool, and nothing it opens.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import secrets
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx

from ._arguments import (
    check_bool,
    check_cookies,
    check_headers,
    check_seconds,
    check_string_values,
    checked_mapping,
)
from .address import parse_server_url, resolve_cluster_info
from .auth import auth_headers
from .defaults import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
    TIMEOUT_SECONDS,
)
from .errors import InvalidArgumentError, InvalidArgumentTypeError, PayloadTooLargeError, RequestTypeError
from .logs import TailPolicy
from .outage import OutagePolicy
from .releases import AGENT_BODY_LIMIT
from .transport import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "Settings",
    "__version__",
    "check_submit_body",
    "check_submit_types",
    "check_timeout",
    "new_submission_id",
]

#: The installed distribution's version (defined once, in pyproject.toml).
__version__ = importlib.metadata.version("ray-jobs-client")

#: The clients' default ``timeout`` (see :mod:`ray_jobs_client.defaults`).
DEFAULT_TIMEOUT = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
#: Each client's connection pool (given to its transport: httpx ignores a client's ``limits=``
#: when the client has a transport of its own).
POOL_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS
)

_SUBMISSION_ALPHABET = "".join(
    c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" if c not in "IloO0"
)


def new_submission_id() -> str:
    """A submission id in the server's own format (``raysubmit_`` + 16 random characters)."""
    return "raysubmit_" + "".join(secrets.choice(_SUBMISSION_ALPHABET) for _ in range(16))


def check_timeout(timeout: object) -> httpx.Timeout:
    """``timeout`` as an ``httpx.Timeout`` whose every part is a positive number of seconds."""
    if timeout is None:
        raise InvalidArgumentTypeError(
            "timeout must be a number of seconds or an httpx.Timeout; None would allow hangs",
            parameter="timeout",
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx.Timeout):
        raise InvalidArgumentTypeError(
            f"timeout must be a number of seconds or an httpx.Timeout, got {type(timeout)}",
            parameter="timeout",
        )
    parts = timeout.as_dict() if isinstance(timeout, httpx.Timeout) else {"timeout": timeout}
    for name, value in parts.items():
        if value is None:
            raise InvalidArgumentTypeError(
                f"timeout's {name} part is None, which would allow hangs: give it seconds",
                parameter="timeout",
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidArgumentTypeError(
                f"timeout's {name} part must be a number of seconds, got {type(value)}", parameter="timeout"
            )
        if not 0 < value < float("inf"):
            raise InvalidArgumentError(
                f"timeout must be a positive, finite number of seconds; {name} is {value}",
                parameter="timeout",
            )
        check_seconds(f"timeout's {name} part", value)  # no longer than the platform can time
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def ssl_verify(verify: str | bool, address: str) -> ssl.SSLContext | bool:
    """``verify`` as Ray accepts it (bool, CA bundle file, or CA directory) as an httpx setting.

    For a plain ``http://`` job server no CA bundle is loaded (it costs time and ~2 MiB): the context
    given instead trusts no certificate at all, so any TLS connection would fail closed, never open.
    """
    if verify is True and address.startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if isinstance(verify, bool):
        return verify
    path = Path(verify).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Path to CA certificates: '{verify}', does not exist.")
    if path.is_dir():
        return ssl.create_default_context(capath=str(path))
    return ssl.create_default_context(cafile=str(path))


def check_submit_types(
    *,
    entrypoint: object,
    submission_id: object,
    job_id: object,
    runtime_env: object,
    metadata: object,
    entrypoint_num_cpus: object,
    entrypoint_num_gpus: object,
    entrypoint_memory: object,
    entrypoint_resources: object,
    entrypoint_label_selector: object,
) -> None:
    """The server's type rules for a submission, checked before anything is sent (Ray's messages)."""
    _check_type("entrypoint", entrypoint, str, "a string")
    for name, value in (("submission_id", submission_id), ("job_id", job_id)):
        if value is not None:
            _check_type(name, value, str, "a string if provided")
    if runtime_env is not None:
        _check_mapping("runtime_env", runtime_env, object, "")
    if metadata is not None:
        _check_mapping("metadata", metadata, str, "strings")
    for name, value in (
        ("entrypoint_num_cpus", entrypoint_num_cpus),
        ("entrypoint_num_gpus", entrypoint_num_gpus),
    ):
        if value is not None:
            _check_type(name, value, (int, float), "a number")
    if entrypoint_memory is not None:
        _check_type("entrypoint_memory", entrypoint_memory, int, "an integer")
    if entrypoint_resources is not None:
        _check_mapping("entrypoint_resources", entrypoint_resources, (int, float), "numbers")
    if entrypoint_label_selector is not None:
        _check_mapping("entrypoint_label_selector", entrypoint_label_selector, str, "strings")
    # Values the server would take but that cannot work.
    if "\x00" in entrypoint:  # type: ignore[operator]  # a str: checked above
        raise InvalidArgumentError(
            "entrypoint holds a NUL byte: the job's shell command could never start", parameter="entrypoint"
        )
    for name, value in (
        ("entrypoint_num_cpus", entrypoint_num_cpus),
        ("entrypoint_num_gpus", entrypoint_num_gpus),
        ("entrypoint_memory", entrypoint_memory),
    ):
        _check_quantity(name, value)
    for key, value in (entrypoint_resources or {}).items():  # type: ignore[attr-defined]
        _check_quantity(f"entrypoint_resources[{key!r}]", value, parameter="entrypoint_resources")


def _check_quantity(name: str, value: object, *, parameter: str | None = None) -> None:
    """A resource amount: not a bool (the server would take ``True`` as 1), finite, not negative
    (the server stores a negative amount, then the job fails: "cannot be negative")."""
    if value is None:
        return
    if isinstance(value, bool):
        raise InvalidArgumentTypeError(
            f"{name} must be a number, got a bool ({value})", parameter=parameter or name
        )
    if not math.isfinite(value) or value < 0:  # type: ignore[arg-type, operator]  # a number: checked
        raise InvalidArgumentError(
            f"{name} must be a finite number, 0 or more, got {value}", parameter=parameter or name
        )


def check_submit_body(fields: Mapping[str, Any]) -> None:
    """The submission's JSON body, before anything is sent (the uploads included): every field can
    be written as JSON in UTF-8, and the whole is within what the server's job agent takes.

    The agent receives the body as the job server re-encodes it (ASCII-escaped, with every optional
    field, so at least this size): a body over the limit here is surely refused. One just under it
    may still be refused by the agent; that answer is a :class:`PayloadTooLargeError` too.
    """
    sizes = {}
    for name, value in fields.items():
        problem = _unsendable(value, name, set())
        if problem is not None:
            where, why, wrong_type = problem
            kind = InvalidArgumentTypeError if wrong_type else InvalidArgumentError
            raise kind(f"{where} cannot be sent: {why}", parameter=name)
        sizes[name] = len(json.dumps(value))
    size = len(json.dumps(dict(fields)))
    if size > AGENT_BODY_LIMIT:
        largest = max(sizes, key=sizes.__getitem__)
        raise PayloadTooLargeError(
            413,
            "",
            method="POST",
            path="/api/jobs/",
            limit=AGENT_BODY_LIMIT,
            message=(
                f"The submission is {size} bytes as JSON ({largest}: {sizes[largest]}), more than the "
                f"{AGENT_BODY_LIMIT} bytes ({AGENT_BODY_LIMIT // 2**20} MiB) the job server's job agent "
                f"accepts; nothing was sent. Make {largest} smaller (files belong in working_dir)."
            ),
        )


def _unsendable(value: object, where: str, seen: set[int]) -> tuple[str, str, bool] | None:
    """Where ``value`` holds what JSON in UTF-8 cannot carry: ``(path, why, is a type error)``."""
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where, "it holds a lone surrogate character, which is not text UTF-8 can carry", False
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, f"JSON has no {value}", False)
    if isinstance(value, dict | list | tuple):
        if id(value) in seen:
            return where, "it contains itself", False
        seen = seen | {id(value)}
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(value, dict) and not isinstance(key, str):
                return where, f"its keys must be strings, got {type(key)}", True
            problem = _unsendable(key, f"{where} key", seen) or _unsendable(item, f"{where}[{key!r}]", seen)
            if problem is not None:
                return problem
        return None
    return where, f"JSON cannot carry a {type(value).__name__}", True


def _check_type(name: str, value: object, kinds: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, kinds):
        raise RequestTypeError(f"{name} must be {what}, got {type(value)}")


def _check_mapping(name: str, value: object, value_kinds: type | tuple[type, ...], values_what: str) -> None:
    _check_type(name, value, dict, "a dict")
    assert isinstance(value, dict)
    for key, item in value.items():
        if not isinstance(key, str):
            raise RequestTypeError(f"{name} keys must be strings, got {type(key)}")
        if not isinstance(item, value_kinds):
            raise RequestTypeError(f"{name} values must be {values_what}, got {type(item)}")


@attrs.frozen
class Settings:
    """What a client was configured with, resolved (address, token, TLS) and checked."""

    #: The job server's base URL, without credentials (they travel as basic auth).
    address: str
    #: The address as text shows it (a password in it as ``<redacted>``).
    display_address: str
    basic_auth: httpx.BasicAuth | None
    cookies: dict[str, str]
    #: Merged into every submitted job's metadata (the client's entries win, as in Ray).
    default_metadata: dict[str, str]
    #: The caller's headers plus the auth token's.
    headers: dict[str, str]
    verify: ssl.SSLContext | bool
    timeout: httpx.Timeout
    retry_policy: RetryPolicy
    tail_policy: TailPolicy
    outage_policy: OutagePolicy
    #: The caller's own ``http_client=`` (an ``httpx.Client`` or ``httpx.AsyncClient``), or None.
    user_http: Any

    @classmethod
    def resolve(
        cls,
        *,
        address: str | None,
        create_cluster_if_needed: bool,
        cookies: dict[str, Any] | None,
        metadata: dict[str, Any] | None,
        headers: dict[str, Any] | None,
        verify: str | bool | None,
        timeout: object,
        retries: RetryPolicy | int | None,
        tail_policy: TailPolicy | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        http_client_type: type[httpx.Client] | type[httpx.AsyncClient],
        outage_patience: object,
        client_name: str,
        **kwargs: Any,
    ) -> Settings:
        """Check every argument (typed errors, before any I/O), then resolve the address as Ray does."""
        if address is not None and not isinstance(address, str):
            raise InvalidArgumentTypeError(
                f"address must be a string, got {type(address)}", parameter="address"
            )
        check_bool("create_cluster_if_needed", create_cluster_if_needed)
        for name, value in (("cookies", cookies), ("metadata", metadata), ("headers", headers)):
            checked_mapping(name, value)
        if cookies is not None:
            check_cookies(cookies)
        if metadata is not None:
            check_string_values("metadata", metadata)
        if headers is not None:
            check_headers(headers)
        if not isinstance(verify, str | bool):
            raise InvalidArgumentTypeError(
                f"verify must be a str or bool, got {type(verify)}", parameter="verify"
            )
        if verify == "":
            raise InvalidArgumentError(
                "verify must be True, False or the path of a CA bundle file or directory, got ''",
                parameter="verify",
            )
        checked_timeout = check_timeout(timeout)
        if isinstance(retries, int) and not isinstance(retries, bool):
            retries = RetryPolicy(max_retries=retries)
        elif retries is None:
            retries = RetryPolicy()
        elif not isinstance(retries, RetryPolicy):
            raise InvalidArgumentTypeError(
                f"retries must be an int or a RetryPolicy, got {type(retries)}", parameter="retries"
            )
        if tail_policy is not None and not isinstance(tail_policy, TailPolicy):
            raise InvalidArgumentTypeError(
                f"tail_policy must be a TailPolicy or None, got {type(tail_policy)}", parameter="tail_policy"
            )
        user_http = _check_http_client(http_client, http_client_type, client_name, verify)
        outage_policy = _outage_policy(outage_patience)

        info = resolve_cluster_info(
            address,
            create_cluster_if_needed=create_cluster_if_needed,
            cookies=cookies,
            metadata=metadata,
            headers=headers,
            **kwargs,
        )
        server = parse_server_url(info.address)
        # Checked again: a module address's resolver may have replaced them.
        user_headers = check_headers(checked_mapping("headers", info.headers) or {})
        user_cookies = check_cookies(checked_mapping("cookies", info.cookies) or {})
        default_metadata = dict(checked_mapping("metadata", info.metadata) or {})
        check_string_values("metadata", default_metadata)
        token = _checked_token(auth_headers(user_headers))
        basic_auth = (
            None if server.username is None else httpx.BasicAuth(server.username, server.password or "")
        )
        if basic_auth is not None and token:
            # `Authorization` carries the address's basic credentials (for a gateway in front of the
            # head); the job server also reads its token from `X-Ray-Authorization`.
            token = {"X-Ray-Authorization": token.pop("authorization")}
        return cls(
            address=server.url,
            display_address=server.display,
            basic_auth=basic_auth,
            cookies=user_cookies,
            default_metadata=default_metadata,
            headers={**user_headers, **token},
            verify=ssl_verify(verify, server.url),
            timeout=checked_timeout,
            retry_policy=retries,
            tail_policy=tail_policy or TailPolicy(),
            outage_policy=outage_policy,
            user_http=user_http,
        )

    def transport_settings(self) -> dict[str, Any]:
        """Settings of httpx's own transport under the retries (unused with ``http_client=``)."""
        return {"verify": self.verify, "limits": POOL_LIMITS}

    def httpx_settings(self) -> dict[str, Any]:
        """Settings shared by the sync and async httpx clients (the transport is added by each)."""
        headers = httpx.Headers()
        cookies = httpx.Cookies()
        if self.user_http is not None:  # the caller's client's own headers and cookies are sent too
            headers.update(self.user_http.headers)
            cookies.update(self.user_http.cookies)
        headers.update({"User-Agent": f"ray-jobs-client/{__version__}", **self.headers})  # ours win
        cookies.update(self.cookies)
        return {
            "base_url": self.address,
            "headers": headers,
            "cookies": cookies,
            "timeout": self.timeout,
            "auth": self.basic_auth,
        }


def _check_http_client(
    http_client: httpx.Client | httpx.AsyncClient | None,
    expected: type[httpx.Client] | type[httpx.AsyncClient],
    client_name: str,
    verify: str | bool | None,
) -> Any:
    if http_client is None:
        return None
    if not isinstance(http_client, expected):
        raise InvalidArgumentTypeError(
            f"http_client must be an httpx.{expected.__name__} for {client_name}, got {type(http_client)}",
            parameter="http_client",
        )
    if http_client.is_closed:
        raise InvalidArgumentError(
            "http_client is closed: pass an open httpx client", parameter="http_client"
        )
    if verify is not True:
        raise InvalidArgumentError(
            "verify= cannot be combined with http_client=: set verify (and cert) on your httpx client",
            parameter="verify",
        )
    # Sent with every request too: held to the same rules as `headers` and `cookies`.
    check_headers(
        [(name.decode("latin-1"), value) for name, value in http_client.headers.raw],
        parameter="http_client's headers",
    )
    check_cookies(
        {cookie.name: cookie.value for cookie in http_client.cookies.jar if cookie.value is not None},
        parameter="http_client's cookies",
    )
    return http_client


def _checked_token(token: dict[str, str]) -> dict[str, str]:
    """The token header, if the token found can be sent (never quoted: it is a secret)."""
    try:
        return check_headers(token, parameter="the authentication token")
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(
            f"{exc} (the token comes from RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token)",
            parameter="RAY_AUTH_TOKEN",
        ) from None


def _outage_policy(outage_patience: object) -> OutagePolicy:
    if isinstance(outage_patience, OutagePolicy):
        return outage_patience
    if outage_patience is None or (
        isinstance(outage_patience, int | float) and not isinstance(outage_patience, bool)
    ):
        return OutagePolicy(patience=outage_patience)
    raise InvalidArgumentTypeError(
        f"outage_patience must be seconds, None (forever) or an OutagePolicy, got {type(outage_patience)}",
        parameter="outage_patience",
    )
