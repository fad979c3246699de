"""A drop-in ``JobSubmissionClient`` for the Ray Jobs REST API that does not need Ray installed.

from ray_jobs_client import JobSubmissionClient   # instead of ray.job_submission
"""

from ._base import __version__
from .async_client import AsyncJobSubmissionClient
from .client import JobSubmissionClient
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    JobAlreadyExistsError,
    JobNotFoundError,
    JobNotTerminalError,
    JobsClientError,
    LogStreamError,
)
from .logs import TailPolicy
from .models import DriverInfo, JobDetails, JobInfo, JobStatus, JobType

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncJobSubmissionClient",
    "AuthenticationError",
    "DriverInfo",
    "JobAlreadyExistsError",
    "JobDetails",
    "JobInfo",
    "JobNotFoundError",
    "JobNotTerminalError",
    "JobStatus",
    "JobSubmissionClient",
    "JobType",
    "JobsClientError",
    "LogStreamError",
    "TailPolicy",
    "__version__",
]
