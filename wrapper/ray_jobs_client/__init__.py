"""A drop-in ``JobSubmissionClient`` for the Ray Jobs REST API that does not need Ray installed.

from ray_jobs_client import JobSubmissionClient   # instead of ray.job_submission
"""

from typing import TYPE_CHECKING, Any

from ._settings import __version__
from .client import JobSubmissionClient
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CertificateError,
    ClientClosedError,
    ClusterRestartedError,
    HostNotFoundError,
    JobAlreadyExistsError,
    JobNotFoundError,
    JobNotTerminalError,
    JobsClientError,
    LogDecodeError,
    LogStreamError,
    ResponseTooLargeError,
    ServerUnreachableError,
    TLSError,
)
from .logs import TailPolicy
from .models import DriverInfo, JobDetails, JobInfo, JobStatus, JobType
from .outage import OutagePolicy
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .async_client import AsyncJobSubmissionClient


def __getattr__(name: str) -> Any:
    # The async client (asyncio, the WebSocket stack) is imported on first use: a sync-only program
    # starts faster and smaller.
    if name == "AsyncJobSubmissionClient":
        from .async_client import AsyncJobSubmissionClient

        return AsyncJobSubmissionClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncJobSubmissionClient",
    "AuthenticationError",
    "CertificateError",
    "ClientClosedError",
    "ClusterRestartedError",
    "DriverInfo",
    "HostNotFoundError",
    "JobAlreadyExistsError",
    "JobDetails",
    "JobInfo",
    "JobNotFoundError",
    "JobNotTerminalError",
    "JobStatus",
    "JobSubmissionClient",
    "JobType",
    "JobsClientError",
    "LogDecodeError",
    "LogStreamError",
    "OutagePolicy",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerUnreachableError",
    "TLSError",
    "TailPolicy",
    "__version__",
]
