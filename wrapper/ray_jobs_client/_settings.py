"""A client's settings, resolved and checked once, before any connection is made.

Both clients (and the sync client's async twin behind ``tail_job_logs``) hold one :class:`Settings`:
everything a client needs to open its connection pool, and nothing it opens.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import attrs
import httpx

from .address import parse_server_url, resolve_cluster_info
from .auth import auth_headers
from .defaults import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
    MAX_RESPONSE_BYTES,
    TIMEOUT_SECONDS,
)
from .logs import TailPolicy
from .outage import OutagePolicy
from .retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "Settings",
    "__version__",
    "check_max_response_bytes",
    "check_timeout",
    "package_version",
]


def package_version() -> str:
    """The installed distribution's version (defined once, in pyproject.toml)."""
    import importlib.metadata

    return importlib.metadata.version("ray-jobs-client")


#: The installed distribution's version (defined once, in pyproject.toml).
__version__ = package_version()


#: The clients' default ``timeout`` (see :mod:`ray_jobs_client.defaults`).
DEFAULT_TIMEOUT = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
#: Each client's connection pool (given to its transport: httpx ignores a client's ``limits=``
#: when the client has a transport of its own).
POOL_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS
)


def check_timeout(timeout: object) -> httpx.Timeout:
    """``timeout`` as an ``httpx.Timeout`` whose every part is a positive number of seconds."""
    if timeout is None:
        raise TypeError("timeout must be a number of seconds or an httpx.Timeout; None would allow hangs")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx.Timeout):
        raise TypeError(f"timeout must be a number of seconds or an httpx.Timeout, got {type(timeout)}")
    parts = timeout.as_dict() if isinstance(timeout, httpx.Timeout) else {"timeout": timeout}
    for name, value in parts.items():
        if value is None:
            raise TypeError(f"timeout's {name} part is None, which would allow hangs: give it seconds")
        if not 0 < value < float("inf"):
            raise ValueError(f"timeout must be a positive, finite number of seconds; {name} is {value}")
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def check_max_response_bytes(value: object) -> int:
    """``max_response_bytes`` checked: a positive whole number of bytes."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_response_bytes must be a whole number of bytes, got {type(value)}")
    if value <= 0:
        raise ValueError(f"max_response_bytes must be a positive number of bytes, got {value}")
    return value


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
    #: The largest answer held in memory (see :class:`~ray_jobs_client.errors.ResponseTooLargeError`).
    max_response_bytes: int
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
        max_response_bytes: object = MAX_RESPONSE_BYTES,
        **kwargs: Any,
    ) -> Settings:
        """Check every argument (typed errors, before any I/O), then resolve the address as Ray does."""
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address must be a string, got {type(address)}")
        if not isinstance(create_cluster_if_needed, bool):
            raise TypeError(f"create_cluster_if_needed must be a bool, got {type(create_cluster_if_needed)}")
        if cookies is not None and not isinstance(cookies, dict):
            raise TypeError(f"cookies must be a dict, got {type(cookies)}")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata)}")
        if headers is not None and not isinstance(headers, dict):
            raise TypeError(f"headers must be a dict, got {type(headers)}")
        if not isinstance(verify, str | bool):
            raise TypeError(f"verify must be a str or bool, got {type(verify)}")
        checked_timeout = check_timeout(timeout)
        checked_max_response_bytes = check_max_response_bytes(max_response_bytes)
        if isinstance(retries, int) and not isinstance(retries, bool):
            retries = RetryPolicy(max_retries=retries)
        elif retries is None:
            retries = RetryPolicy()
        elif not isinstance(retries, RetryPolicy):
            raise TypeError(f"retries must be an int or a RetryPolicy, got {type(retries)}")
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
        user_headers = {str(k): str(v) for k, v in (info.headers or {}).items()}
        token = auth_headers(user_headers)
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
            cookies=dict(info.cookies or {}),
            default_metadata=dict(info.metadata or {}),
            headers={**user_headers, **token},
            verify=ssl_verify(verify, server.url),
            timeout=checked_timeout,
            max_response_bytes=checked_max_response_bytes,
            retry_policy=retries,
            tail_policy=tail_policy or TailPolicy(),
            outage_policy=outage_policy,
            user_http=user_http,
        )

    def transport_settings(self) -> dict[str, Any]:
        """Settings of the retry transport, and of httpx's own transport under it (those unused with
        ``http_client=``)."""
        return {"max_response_bytes": self.max_response_bytes, "verify": self.verify, "limits": POOL_LIMITS}

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
        raise TypeError(
            f"http_client must be an httpx.{expected.__name__} for {client_name}, got {type(http_client)}"
        )
    if http_client.is_closed:
        raise ValueError("http_client is closed: pass an open httpx client")
    if verify is not True:
        raise ValueError(
            "verify= cannot be combined with http_client=: set verify (and cert) on your httpx client"
        )
    return http_client


def _outage_policy(outage_patience: object) -> OutagePolicy:
    if isinstance(outage_patience, OutagePolicy):
        return outage_patience
    if outage_patience is None or (
        isinstance(outage_patience, int | float) and not isinstance(outage_patience, bool)
    ):
        return OutagePolicy(patience=outage_patience)
    raise TypeError(
        f"outage_patience must be seconds, None (forever) or an OutagePolicy, got {type(outage_patience)}"
    )
