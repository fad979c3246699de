# Generated from ray_jobs_client/_async/server.py by tools/unasync.py: edit that file, then run `make unasync`.
"""The job server as a client sees it: its connection pool, its versions, and where requests go out.

:class:`JobServer` sends an :class:`~ray_jobs_client._operations.Operation` with
:meth:`~JobServer.send` — through the retry transport, which keeps each call within its deadline
(:mod:`ray_jobs_client.retry`) — and opens the two long-lived reads the log follower needs. Every
multi-step operation (``jobs.py``, ``watch.py``, ``follow.py``) takes the server as its context.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ray_jobs_client import _operations as operations
from ray_jobs_client._io import Download, LogStream
from ray_jobs_client._operations import UploadBody, Operation, with_body
from ray_jobs_client._responses import (
    remember_response,
    check_response,
    connection_error,
    translating_errors,
)
from ray_jobs_client.errors import APITimeoutError, ClientClosedError, NotFoundError, UnsupportedServerError
from ray_jobs_client.releases import NEWEST_TESTED, OLDEST_TESTED, Feature, release_tuple
from ray_jobs_client.retry import ONCE
from ray_jobs_client.transport import RetryTransport, ThroughClient

if TYPE_CHECKING:
    from ray_jobs_client._settings import Settings
    from ray_jobs_client.models import ServerVersion

__all__ = ["JobServer"]

#: Methods whose repetition cannot do their work twice (RFC 9110, section 9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

logger = logging.getLogger("ray_jobs_client")

T = TypeVar("T")


class JobServer:
    """A client's connection pool to the job server, and what it has learnt of the server."""

    def __init__(self, settings: Settings, version: ServerVersion | None = None) -> None:
        from ray_jobs_api.client import Client as ApiClient

        self.settings = settings
        #: The server's ``/api/version`` answer, asked once per client (see :meth:`version`).
        self.known_version = version
        self.closed = False
        inner = None if settings.user_http is None else ThroughClient(settings.user_http)
        self.http = httpx.Client(
            **settings.httpx_settings(),
            transport=RetryTransport(settings.retry_policy, inner, **settings.transport_settings()),
            event_hooks={"response": [remember_response]},
        )
        self._api = ApiClient(base_url=settings.address).set_httpx_client(self.http)

    @property
    def address(self) -> str:
        """The server's address as messages show it (a password in it ``<redacted>``)."""
        return self.settings.display_address

    def ensure_open(self, client_name: str) -> None:
        if self.closed:
            raise ClientClosedError(
                f"This {client_name} is closed; create a new client to talk to {self.address}."
            )

    def send(self, operation: Operation[T]) -> T:
        """Perform one operation: its result, or the exception its answer (or failure) means."""
        kwargs: Any = operation.kwargs
        if operation.upload is not None:
            kwargs = with_body(operation, UploadBody(operation.upload, operation.upload_progress))
        with translating_errors(operation, self.address):
            response = operation.endpoint.sync_detailed(client=self._api, **kwargs)
        return check_response(operation, response)

    def raw(
        self, method: str, endpoint: str, *, data: Any = None, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        """One request as the caller describes it (``_do_request``), its answer returned whatever its
        status. Retried as any call when its method is idempotent; a ``POST`` only when it could not
        connect (this client cannot check what a repeated one did)."""
        once = method.upper() not in _IDEMPOTENT
        extensions = {**kwargs.pop("extensions", {}), **({ONCE: True} if once else {})}
        what = f"{method.upper()} {endpoint}"
        try:
            return self.http.request(
                method, endpoint, content=data, json=json, extensions=extensions, **kwargs
            )
        except httpx.TimeoutException as exc:
            raise APITimeoutError(
                f"{what} timed out ({type(exc).__name__}) talking to {self.address}."
            ) from exc
        except httpx.TransportError as exc:
            raise connection_error(exc, self.address, what) from exc

    def version(self) -> ServerVersion:
        """The server's versions, asked once per client (the first call usually has them already)."""
        if self.known_version is None:
            self.known_version = self.send(operations.get_version())
        return self.known_version

    def check(self) -> None:
        """Ray's constructor check: the server answers ``/api/version`` and runs Ray ≥ 2.0."""
        try:
            version = self.send(operations.get_version())
        except NotFoundError as exc:
            raise UnsupportedServerError(
                "Version check returned 404. Jobs API is not supported on the Ray cluster. "
                "Please ensure the cluster is running Ray 1.9 or higher."
            ) from exc
        self.known_version = version
        if release_tuple(version.ray_version)[:2] < release_tuple(OLDEST_TESTED)[:2]:
            logger.warning(
                "Ray %s is running on the cluster; this client is tested against Ray %s to %s.",
                version.ray_version,
                OLDEST_TESTED,
                NEWEST_TESTED,
            )
        if release_tuple(version.ray_version) < (2, 0):
            raise UnsupportedServerError(
                f"Ray version {version.ray_version} is running on the cluster. Client Ray version "
                "2.0+ is not compatible with the Ray cluster. Please ensure the cluster is running "
                "Ray 2.0 or higher."
            )

    def supports(self, feature: Feature) -> bool:
        """Whether the server's Ray release has ``feature``."""
        return feature.supported_by((self.version()).ray_version)

    def require(self, feature: Feature) -> None:
        """Fail before anything is sent when the server's Ray release lacks ``feature``."""
        running = (self.version()).ray_version
        if not feature.supported_by(running):
            raise UnsupportedServerError(
                feature.message(running),
                feature=feature.name,
                required_version=feature.since_text,
                server_version=running,
            )

    def log_stream(self) -> LogStream:
        """A log WebSocket on this pool (opened by its ``open``)."""
        return LogStream(self.http)

    def download(self, operation: Operation[Any]) -> Download:
        """A streamed GET of ``operation``'s route on this pool (started by its ``open``)."""
        return Download(self.http, operation, self.address)

    def close(self) -> None:
        """Release the connection pool (a caller's ``http_client=`` stays open)."""
        self.closed = True
        self.http.close()
