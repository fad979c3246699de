"""What the sync and async clients share: Ray's constructor, the settings it resolves, and the flows."""

from __future__ import annotations

from typing import Any

import httpx

from ._flows import ProgressCallback
from ._follow import LogFlows
from ._reading import JobReader
from ._settings import DEFAULT_TIMEOUT, Settings, __version__, new_submission_id
from .defaults import OUTAGE_PATIENCE
from .errors import ClientClosedError, JobsClientError
from .logs import TailPolicy
from .outage import OutagePolicy
from .transport import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "ClientBase",
    "JobsClientError",
    "ProgressCallback",
    "__version__",
    "new_submission_id",
]


class ClientBase(LogFlows):
    """Settings and flows common to :class:`JobSubmissionClient` and :class:`AsyncJobSubmissionClient`."""

    def __init__(
        self,
        address: str | None = None,
        create_cluster_if_needed: bool = False,
        cookies: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        verify: str | bool | None = True,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        retries: RetryPolicy | int | None = None,
        tail_policy: TailPolicy | None = None,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        outage_patience: float | OutagePolicy | None = OUTAGE_PATIENCE,
        **kwargs: Any,
    ) -> None:
        """Ray's constructor arguments, then this client's own (keyword-only):

        * ``timeout``: seconds (or an ``httpx.Timeout``) for each network operation (connect, each
          read, each write); a positive number, never ``None``. A request, retries included, ends
          within twice the longest of them (see :class:`RetryPolicy`): with the default (60 s), a
          server that never answers fails a call with :class:`APITimeoutError` within about 120 s.
        * ``retries``: how many times transient failures are retried, or a :class:`RetryPolicy`.
        * ``tail_policy``: how the log follower reconnects (:class:`TailPolicy`).
        * ``http_client``: your own ``httpx.Client`` (``httpx.AsyncClient`` for the async client), for
          proxies, client certificates (mTLS), event hooks or tracing. Requests go through its transport,
          auth and event hooks, and its headers and cookies are sent too; this client still adds the
          address, auth token, timeouts and retries. Configure TLS on it (``verify=`` here is refused).
          It stays yours: :meth:`close` leaves it open.
        * ``outage_patience``: seconds that long-running operations (the log followers,
          :meth:`wait_until_finished`, the resume of :meth:`iter_job_logs`) keep trying while the
          server is unreachable, before :class:`~ray_jobs_client.errors.ServerUnreachableError`;
          ``None`` waits indefinitely. Default: 300 s. Single calls keep their own deadline. An
          :class:`~ray_jobs_client.outage.OutagePolicy` also sets the backoff between attempts.

        ``user:password@`` in the address is sent as HTTP basic auth and shown as ``<redacted>``
        everywhere (``repr``, :meth:`get_address`, messages, logs).

        All defaults are in :mod:`ray_jobs_client.defaults`.
        """
        settings = Settings.resolve(
            address=address,
            create_cluster_if_needed=create_cluster_if_needed,
            cookies=cookies,
            metadata=metadata,
            headers=headers,
            verify=verify,
            timeout=timeout,
            retries=retries,
            tail_policy=tail_policy,
            http_client=http_client,
            http_client_type=self._http_client_type,
            outage_patience=outage_patience,
            client_name=type(self).__name__,
            **kwargs,
        )
        self._start(settings)

    _http_client_type: type[httpx.Client] | type[httpx.AsyncClient] = httpx.Client

    def _start(self, settings: Settings, server_version: Any = None) -> None:
        """Take resolved settings (and the server's version, if known) and open the pool."""
        self._settings = settings
        self._server_version = server_version
        self._reader = JobReader(settings.display_address)
        self._closed = False
        self._open()

    def _open(self) -> None:
        """Create the connection pool (and, for the sync client, check the server)."""
        raise NotImplementedError

    def _ensure_open(self) -> None:
        if self._closed:
            raise ClientClosedError(
                f"This {type(self).__name__} is closed; create a new client to talk to "
                f"{self._settings.display_address}."
            )

    def __repr__(self) -> str:
        # Never headers, cookies, tokens or the address's password.
        return f"{type(self).__name__}(address={self._settings.display_address!r})"

    def get_address(self) -> str:
        """The job server's base URL this client talks to (a password in it shown as ``<redacted>``)."""
        return self._settings.display_address
