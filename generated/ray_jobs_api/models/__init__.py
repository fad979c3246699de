"""Contains all the data models used in inputs/outputs"""

from .dashboard_failure import DashboardFailure
from .dashboard_failure_data import DashboardFailureData
from .driver_info import DriverInfo
from .entrypoint_resources import EntrypointResources
from .job_delete_response import JobDeleteResponse
from .job_details import JobDetails
from .job_logs_response import JobLogsResponse
from .job_metadata import JobMetadata
from .job_status import JobStatus
from .job_stop_response import JobStopResponse
from .job_submit_request import JobSubmitRequest
from .job_submit_response import JobSubmitResponse
from .job_type import JobType
from .label_selector import LabelSelector
from .runtime_env import RuntimeEnv
from .version_response import VersionResponse

__all__ = (
    "DashboardFailure",
    "DashboardFailureData",
    "DriverInfo",
    "EntrypointResources",
    "JobDeleteResponse",
    "JobDetails",
    "JobLogsResponse",
    "JobMetadata",
    "JobStatus",
    "JobStopResponse",
    "JobSubmitRequest",
    "JobSubmitResponse",
    "JobType",
    "LabelSelector",
    "RuntimeEnv",
    "VersionResponse",
)
