from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.job_status import JobStatus
from ..models.job_type import JobType

T = TypeVar("T", bound="JobDetails")


@_attrs_define
class JobDetails:
    """Every key is always present; most are `null` until the job gets that far.

    Attributes:
        type_ (JobType | str): One of `JobType`; declared open (any string) for forward compatibility.
        job_id (None | str): Ray job id (hex) of the submission's last driver; `null` if the entrypoint never called
            `ray.init()`.
        submission_id (None | str): `null` for driver jobs.
        driver_info (DriverInfo | None):
        status (JobStatus | str): One of `JobStatus`. Declared open (any string) so that clients built from this spec
            keep
            working if a newer Ray adds a status; treat an unknown status as not terminal.
            (`x-open-enum`: the known values are the referenced enum; others are drift, not errors.)
        entrypoint (str):
        message (None | str): Human-readable status detail (`null` for driver jobs).
        error_type (None | str): Why a job failed, when known: `RUNTIME_ENV_SETUP_FAILURE`,
            `JOB_SUPERVISOR_ACTOR_START_TIMEOUT`,
            `JOB_SUPERVISOR_ACTOR_START_FAILURE`, `JOB_SUPERVISOR_ACTOR_UNSCHEDULABLE`,
            `JOB_SUPERVISOR_ACTOR_UNKNOWN_FAILURE`, `JOB_SUPERVISOR_ACTOR_DIED`,
            `JOB_ENTRYPOINT_COMMAND_START_ERROR`, `JOB_ENTRYPOINT_COMMAND_ERROR`. A plain string so that
            clients keep working when Ray adds a value. Before Ray 2.50 the field exists but is always
            `null`.
        start_time (int | None): Milliseconds since the Unix epoch.
        end_time (int | None): Milliseconds since the Unix epoch; `null` until a submission is terminal, `0` for a
            running driver job.
        metadata (JobMetadata | None):
        runtime_env (None | RuntimeEnv):
        driver_agent_http_address (None | str): Address of the agent running the driver; `null` until the job supervisor
            started.
        driver_node_id (None | str):
        driver_exit_code (int | None): Exit code of the entrypoint; `null` until it exited, and for stopped jobs.
    """

    type_: JobType | str
    job_id: None | str
    submission_id: None | str
    driver_info: DriverInfo | None
    status: JobStatus | str
    entrypoint: str
    message: None | str
    error_type: None | str
    start_time: int | None
    end_time: int | None
    metadata: JobMetadata | None
    runtime_env: None | RuntimeEnv
    driver_agent_http_address: None | str
    driver_node_id: None | str
    driver_exit_code: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str
        if isinstance(self.type_, JobType):
            type_ = self.type_.value
        else:
            type_ = self.type_

        job_id: None | str
        job_id = self.job_id

        submission_id: None | str
        submission_id = self.submission_id

        driver_info: dict[str, Any] | None
        if isinstance(self.driver_info, DriverInfo):
            driver_info = self.driver_info.to_dict()
        else:
            driver_info = self.driver_info

        status: str
        if isinstance(self.status, JobStatus):
            status = self.status.value
        else:
            status = self.status

        entrypoint = self.entrypoint

        message: None | str
        message = self.message

        error_type: None | str
        error_type = self.error_type

        start_time: int | None
        start_time = self.start_time

        end_time: int | None
        end_time = self.end_time

        metadata: dict[str, Any] | None
        if isinstance(self.metadata, JobMetadata):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        runtime_env: dict[str, Any] | None
        if isinstance(self.runtime_env, RuntimeEnv):
            runtime_env = self.runtime_env.to_dict()
        else:
            runtime_env = self.runtime_env

        driver_agent_http_address: None | str
        driver_agent_http_address = self.driver_agent_http_address

        driver_node_id: None | str
        driver_node_id = self.driver_node_id

        driver_exit_code: int | None
        driver_exit_code = self.driver_exit_code

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "job_id": job_id,
                "submission_id": submission_id,
                "driver_info": driver_info,
                "status": status,
                "entrypoint": entrypoint,
                "message": message,
                "error_type": error_type,
                "start_time": start_time,
                "end_time": end_time,
                "metadata": metadata,
                "runtime_env": runtime_env,
                "driver_agent_http_address": driver_agent_http_address,
                "driver_node_id": driver_node_id,
                "driver_exit_code": driver_exit_code,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_type_(data: object) -> JobType | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                type_type_0 = JobType(data)

                return type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobType | str, data)

        type_ = _parse_type_(d.pop("type"))

        job_id = cast(None | str, d.pop("job_id"))

        submission_id = cast(None | str, d.pop("submission_id"))

        def _parse_driver_info(data: object) -> DriverInfo | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                driver_info_type_0 = DriverInfo.from_dict(data)

                return driver_info_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DriverInfo | None, data)

        driver_info = _parse_driver_info(d.pop("driver_info"))

        def _parse_status(data: object) -> JobStatus | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_type_0 = JobStatus(data)

                return status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobStatus | str, data)

        status = _parse_status(d.pop("status"))

        entrypoint = d.pop("entrypoint")

        message = cast(None | str, d.pop("message"))

        error_type = cast(None | str, d.pop("error_type"))

        start_time = cast(int | None, d.pop("start_time"))

        end_time = cast(int | None, d.pop("end_time"))

        def _parse_metadata(data: object) -> JobMetadata | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = JobMetadata.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobMetadata | None, data)

        metadata = _parse_metadata(d.pop("metadata"))

        def _parse_runtime_env(data: object) -> None | RuntimeEnv:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                runtime_env_type_0 = RuntimeEnv.from_dict(data)

                return runtime_env_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RuntimeEnv, data)

        runtime_env = _parse_runtime_env(d.pop("runtime_env"))

        driver_agent_http_address = cast(None | str, d.pop("driver_agent_http_address"))

        driver_node_id = cast(None | str, d.pop("driver_node_id"))

        driver_exit_code = cast(int | None, d.pop("driver_exit_code"))

        job_details = cls(
            type_=type_,
            job_id=job_id,
            submission_id=submission_id,
            driver_info=driver_info,
            status=status,
            entrypoint=entrypoint,
            message=message,
            error_type=error_type,
            start_time=start_time,
            end_time=end_time,
            metadata=metadata,
            runtime_env=runtime_env,
            driver_agent_http_address=driver_agent_http_address,
            driver_node_id=driver_node_id,
            driver_exit_code=driver_exit_code,
        )

        job_details.additional_properties = d
        return job_details

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties


# Models this one refers to, imported after the class rather than inside its methods (where the
# generator puts them by default): each import there runs again on every call of `from_dict` and
# `to_dict`, and importing here still allows two models to refer to each other.
from ..models.driver_info import DriverInfo
from ..models.job_metadata import JobMetadata
from ..models.runtime_env import RuntimeEnv
