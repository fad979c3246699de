"""Turn what the user passed as ``address`` into the job server's base URL, the way Ray does.

Ray's rules, kept exactly:

1. ``RAY_API_SERVER_ADDRESS``, else ``RAY_ADDRESS`` (non-empty) override the ``address`` argument.
2. ``http://`` / ``https://`` URLs are used as given, path prefix included, trailing ``/`` stripped.
3. ``scheme://…`` naming an importable module is resolved by that module's
   ``get_job_submission_client_cluster_info()``, whose result replaces cookies, headers and metadata.

Where Ray would connect to the cluster's GCS over gRPC (``None``, ``"auto"``, ``ray://…``, a bare
``host:port``), this client cannot — it does not ship Ray — so it finds the dashboard without gRPC:
the local cluster's session logs name the dashboard's address, and otherwise the dashboard is assumed
on port 8265 of the given host. Every such guess is logged, with how to avoid it.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs

from .errors import AddressModuleError, InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "DEFAULT_DASHBOARD_ADDRESS",
    "ClusterInfo",
    "ServerURL",
    "find_local_dashboard",
    "parse_server_url",
    "redact_url",
    "resolve_cluster_info",
]

logger = logging.getLogger("ray_jobs_client")

DEFAULT_DASHBOARD_ADDRESS = "http://localhost:8265"
DEFAULT_DASHBOARD_PORT = 8265
_DASHBOARD_LOG_LINE = re.compile(rb"Dashboard head http address: (\S+)")


@attrs.define(kw_only=True)
class ClusterInfo:
    """Where and how to reach a job server (Ray's ``ClusterInfo``)."""

    address: str
    cookies: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    headers: dict[str, Any] | None = None


def resolve_cluster_info(
    address: str | None,
    *,
    create_cluster_if_needed: bool = False,
    cookies: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    headers: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> ClusterInfo:
    """Resolve ``address`` (and the environment) into the job server's URL and connection settings."""
    env = os.environ if environ is None else environ
    given = _dashboard_url(address, env)
    url = given.rstrip("/")
    if "://" not in url:
        if "://" in given:  # "https://": nothing but the scheme
            raise _invalid(given, "it names no host")
        url = f"http://{url}"
    scheme, inner = url.split("://", 1)
    if not scheme:
        raise _invalid(given, "it has no scheme (http:// or https://)")
    if scheme.lower() in ("http", "https"):  # schemes ignore case (RFC 3986)
        if kwargs:
            raise InvalidArgumentTypeError(
                f"unexpected keyword argument(s) {', '.join(map(repr, sorted(kwargs)))}: extra arguments "
                "are only passed on to the module of a <module>://… address",
                parameter=sorted(kwargs)[0],
            )
        url = f"{scheme.lower()}://{inner}"
        return ClusterInfo(address=url, cookies=cookies, metadata=metadata, headers=headers)
    if scheme == "ray":  # only reachable through a module result; _dashboard_url maps ray:// itself
        raise ValueError(f"Internal error: unexpected Ray Client address {url}.")
    return _cluster_info_from_module(
        scheme,
        inner,
        url,
        create_cluster_if_needed=create_cluster_if_needed,
        cookies=cookies,
        metadata=metadata,
        headers=headers,
        **kwargs,
    )


def _dashboard_url(address: str | None, env: Mapping[str, str]) -> str:
    """Step 1 of Ray's resolution: environment overrides, then the non-HTTP forms."""
    source = "address"
    for name in ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS"):
        if env.get(name):
            address, source = env[name], name
            break
    if address is not None:
        _check_characters(address, source)
    if address is not None and "://" in address:
        if address.startswith("ray://"):
            host = urlsplit(address).hostname or "localhost"
            guess = f"http://{_host_for_url(host)}:{DEFAULT_DASHBOARD_PORT}"
            logger.warning(
                "%s is a Ray Client address; this client talks to the job server in the dashboard, "
                "assumed at %s. Pass the dashboard URL (http://<head>:8265) to avoid this guess.",
                redact_url(address),
                guess,
            )
            return guess
        return address
    if address in (None, "", "auto"):
        return _local_dashboard_or_default(env)
    return _dashboard_for_gcs_address(address, env)


def _dashboard_for_gcs_address(address: str, env: Mapping[str, str]) -> str:
    """A bare ``host:port`` is a GCS address for Ray; map it to that cluster's dashboard."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not _is_host(host):
        raise InvalidArgumentError(
            f"Invalid address format: {redact_url(address)}. Pass the job server's URL, e.g. "
            "http://<head>:8265.",
            parameter="address",
        )
    local = find_local_dashboard(env)
    if local is not None and _same_as_local_gcs(address, env):
        return local
    guess = f"http://{_host_for_url(host)}:{DEFAULT_DASHBOARD_PORT}"
    logger.warning(
        "%s has no scheme, so it is taken as a cluster (GCS) address, and its dashboard is assumed at %s. "
        "Pass the dashboard URL (http://<head>:8265) to avoid this guess.",
        address,
        guess,
    )
    return guess


def _local_dashboard_or_default(env: Mapping[str, str]) -> str:
    local = find_local_dashboard(env)
    if local is not None:
        logger.info("Using the local Ray cluster's dashboard at %s.", local)
        return local
    logger.info("No local Ray cluster found; using %s.", DEFAULT_DASHBOARD_ADDRESS)
    return DEFAULT_DASHBOARD_ADDRESS


def ray_temp_root(env: Mapping[str, str] | None = None) -> Path:
    """The directory Ray keeps its sessions in (``$RAY_TMPDIR/ray``, else ``$TMPDIR/ray``, else /tmp/ray)."""
    env = os.environ if env is None else env
    root = env.get("RAY_TMPDIR") or env.get("TMPDIR") or tempfile.gettempdir()
    return Path(root) / "ray"


def find_local_dashboard(env: Mapping[str, str] | None = None) -> str | None:
    """The dashboard URL of the newest local Ray session, read from its dashboard log; None if none."""
    log = ray_temp_root(env) / "session_latest" / "logs" / "dashboard.log"
    try:
        with log.open("rb") as handle:
            found = None
            for line in handle:
                match = _DASHBOARD_LOG_LINE.search(line)
                if match:
                    found = match.group(1).decode("ascii", "replace")
    except OSError:
        return None
    if found is None:
        return None
    return found if "://" in found else f"http://{found}"


def _same_as_local_gcs(address: str, env: Mapping[str, str]) -> bool:
    try:
        current = (ray_temp_root(env) / "ray_current_cluster").read_text().strip()
    except OSError:
        return False
    if current == address:
        return True
    host, _, port = address.rpartition(":")
    return host in ("localhost", "127.0.0.1") and current.endswith(f":{port}")


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_host(host: str) -> bool:
    """A host name or an IP address, as a bare ``host:port`` names one (an IPv6 one maybe in [])."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            return False
        return True
    return bool(bare) and not any(char in bare for char in "/?#@[]\\")


def _check_characters(address: str, source: str) -> None:
    """An address holds no whitespace or control character (a pasted newline, a stray space)."""
    for position, char in enumerate(address):
        if char.isspace() or not char.isprintable():
            raise InvalidArgumentError(
                f"Invalid job server address {redact_url(address)!r}"
                + ("" if source == "address" else f" (from {source})")
                + f": it holds {'whitespace' if char.isspace() else 'a control character'} "
                f"(U+{ord(char):04X}) at position {position}.",
                parameter="address",
            )


def _invalid(address: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Invalid job server address {redact_url(address)}: {why}.", parameter="address"
    )


@attrs.frozen
class ServerURL:
    """A job server's base URL, split from the credentials it may carry (``http://user:pw@host``).

    Requests go to :attr:`url` with the credentials as HTTP basic auth; :attr:`display` is what any
    text shows (the password as ``<redacted>``, as Ray's CLI prints it).
    """

    url: str
    display: str
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)


def parse_server_url(address: str) -> ServerURL:
    """Check a resolved job-server URL and split off its credentials; ``ValueError`` names what is wrong."""
    _check_characters(address, "address")
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:  # a port that is not a number, or not in 0-65535; a bad IPv6 literal
        raise _invalid(address, str(exc)) from None
    if parts.scheme not in ("http", "https") or not address.startswith(f"{parts.scheme}://"):
        raise _invalid(address, "the scheme must be http:// or https://")
    if not parts.hostname:
        raise _invalid(address, "it names no host")
    if port == 0:
        raise _invalid(address, "port 0 cannot be connected to")
    if parts.query or parts.fragment or "?" in address or "#" in address:
        raise _invalid(
            address, "a job server's address cannot hold a query ('?') or a fragment ('#'): give its base URL"
        )
    display = redact_url(address)
    if parts.username is None and parts.password is None:
        return ServerURL(url=address, display=display)
    bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return ServerURL(
        url=bare,
        display=display,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


def redact_url(url: str) -> str:
    """``url`` with the password of its user information shown as ``<redacted>``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        password = None
        parts = None
    if parts is None or password is None:
        # Unparsable, or a user without a password: still never show what sits before '@'.
        head, at, rest = url.partition("://")
        netloc, slash, path = rest.partition("/")
        if at and "@" in netloc:
            user = netloc.rpartition("@")[0].partition(":")[0]
            return f"{head}://{user}:<redacted>@{netloc.rpartition('@')[2]}{slash}{path}"
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:<redacted>@{hostport}"))


def _cluster_info_from_module(
    module_name: str,
    inner_address: str,
    full_address: str,
    **kwargs: Any,
) -> ClusterInfo:
    """Ray's plugin addresses: ``<module>://<inner>`` asks that module for the cluster's settings."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise AddressModuleError(
            f"Module: {module_name} does not exist.\n"
            f"This module was parsed from address: {redact_url(full_address)}\n"
            "(Only http:// and https:// addresses name a job server directly.)",
            parameter="address",
        ) from exc
    resolve = getattr(module, "get_job_submission_client_cluster_info", None)
    if not callable(resolve):
        raise AddressModuleError(
            f"Module: {module_name} must have a function 'get_job_submission_client_cluster_info'.\n"
            f"This module was parsed from address: {redact_url(full_address)}",
            parameter="address",
        )
    info = resolve(inner_address, **kwargs)
    return ClusterInfo(
        address=str(info.address).rstrip("/"),
        cookies=getattr(info, "cookies", None),
        metadata=getattr(info, "metadata", None),
        headers=getattr(info, "headers", None),
    )
