from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="JobSubmitRequest")


@_attrs_define
class JobSubmitRequest:
    """A top-level `null` is treated as an absent key.

    Attributes:
        entrypoint (str): The shell command the job runs (`""` is accepted and runs nothing).
        submission_id (None | str | Unset): Caller-chosen unique id; generated as `raysubmit_<16 chars>` when absent or
            empty.
        job_id (None | str | Unset): Deprecated alias of `submission_id`, used only when `submission_id` is absent or
            empty.
        runtime_env (None | RuntimeEnv | Unset): The job's runtime environment, stored and echoed back as sent.
        metadata (JobMetadata | None | Unset): Free-form string labels, stored and echoed back.
        entrypoint_num_cpus (float | None | Unset): CPUs reserved for the entrypoint (default 0). Ray ≥ 2.2.
        entrypoint_num_gpus (float | None | Unset): GPUs reserved for the entrypoint (default 0). Ray ≥ 2.2.
        entrypoint_memory (int | None | Unset): Memory in bytes reserved for the entrypoint (default 0); an integer,
            `1.5` is a 400. Ray ≥ 2.8.
        entrypoint_resources (EntrypointResources | None | Unset): Custom resources reserved for the entrypoint. Ray ≥
            2.2.
        entrypoint_label_selector (LabelSelector | None | Unset): Node labels the entrypoint must be scheduled on. An
            invalid key is a 500. Servers before 2.54 refuse the field itself, even `{}` (but not `null`), with a 400
            `TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument 'entrypoint_label_selector'`.
    """

    entrypoint: str
    submission_id: None | str | Unset = UNSET
    job_id: None | str | Unset = UNSET
    runtime_env: None | RuntimeEnv | Unset = UNSET
    metadata: JobMetadata | None | Unset = UNSET
    entrypoint_num_cpus: float | None | Unset = UNSET
    entrypoint_num_gpus: float | None | Unset = UNSET
    entrypoint_memory: int | None | Unset = UNSET
    entrypoint_resources: EntrypointResources | None | Unset = UNSET
    entrypoint_label_selector: LabelSelector | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        entrypoint = self.entrypoint

        submission_id: None | str | Unset
        if isinstance(self.submission_id, Unset):
            submission_id = UNSET
        else:
            submission_id = self.submission_id

        job_id: None | str | Unset
        if isinstance(self.job_id, Unset):
            job_id = UNSET
        else:
            job_id = self.job_id

        runtime_env: dict[str, Any] | None | Unset
        if isinstance(self.runtime_env, Unset):
            runtime_env = UNSET
        elif isinstance(self.runtime_env, RuntimeEnv):
            runtime_env = self.runtime_env.to_dict()
        else:
            runtime_env = self.runtime_env

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, JobMetadata):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        entrypoint_num_cpus: float | None | Unset
        if isinstance(self.entrypoint_num_cpus, Unset):
            entrypoint_num_cpus = UNSET
        else:
            entrypoint_num_cpus = self.entrypoint_num_cpus

        entrypoint_num_gpus: float | None | Unset
        if isinstance(self.entrypoint_num_gpus, Unset):
            entrypoint_num_gpus = UNSET
        else:
            entrypoint_num_gpus = self.entrypoint_num_gpus

        entrypoint_memory: int | None | Unset
        if isinstance(self.entrypoint_memory, Unset):
            entrypoint_memory = UNSET
        else:
            entrypoint_memory = self.entrypoint_memory

        entrypoint_resources: dict[str, Any] | None | Unset
        if isinstance(self.entrypoint_resources, Unset):
            entrypoint_resources = UNSET
        elif isinstance(self.entrypoint_resources, EntrypointResources):
            entrypoint_resources = self.entrypoint_resources.to_dict()
        else:
            entrypoint_resources = self.entrypoint_resources

        entrypoint_label_selector: dict[str, Any] | None | Unset
        if isinstance(self.entrypoint_label_selector, Unset):
            entrypoint_label_selector = UNSET
        elif isinstance(self.entrypoint_label_selector, LabelSelector):
            entrypoint_label_selector = self.entrypoint_label_selector.to_dict()
        else:
            entrypoint_label_selector = self.entrypoint_label_selector

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "entrypoint": entrypoint,
            }
        )
        if submission_id is not UNSET:
            field_dict["submission_id"] = submission_id
        if job_id is not UNSET:
            field_dict["job_id"] = job_id
        if runtime_env is not UNSET:
            field_dict["runtime_env"] = runtime_env
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if entrypoint_num_cpus is not UNSET:
            field_dict["entrypoint_num_cpus"] = entrypoint_num_cpus
        if entrypoint_num_gpus is not UNSET:
            field_dict["entrypoint_num_gpus"] = entrypoint_num_gpus
        if entrypoint_memory is not UNSET:
            field_dict["entrypoint_memory"] = entrypoint_memory
        if entrypoint_resources is not UNSET:
            field_dict["entrypoint_resources"] = entrypoint_resources
        if entrypoint_label_selector is not UNSET:
            field_dict["entrypoint_label_selector"] = entrypoint_label_selector

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        entrypoint = d.pop("entrypoint")

        submission_id = cast(None | str | Unset, d.pop("submission_id", UNSET))

        job_id = cast(None | str | Unset, d.pop("job_id", UNSET))

        def _parse_runtime_env(data: object) -> None | RuntimeEnv | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                runtime_env_type_0 = RuntimeEnv.from_dict(data)

                return runtime_env_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RuntimeEnv | Unset, data)

        runtime_env = _parse_runtime_env(d.pop("runtime_env", UNSET))

        def _parse_metadata(data: object) -> JobMetadata | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = JobMetadata.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobMetadata | None | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        entrypoint_num_cpus = cast(
            float | None | Unset, d.pop("entrypoint_num_cpus", UNSET)
        )

        entrypoint_num_gpus = cast(
            float | None | Unset, d.pop("entrypoint_num_gpus", UNSET)
        )

        entrypoint_memory = cast(int | None | Unset, d.pop("entrypoint_memory", UNSET))

        def _parse_entrypoint_resources(
            data: object,
        ) -> EntrypointResources | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                entrypoint_resources_type_0 = EntrypointResources.from_dict(data)

                return entrypoint_resources_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EntrypointResources | None | Unset, data)

        entrypoint_resources = _parse_entrypoint_resources(
            d.pop("entrypoint_resources", UNSET)
        )

        def _parse_entrypoint_label_selector(
            data: object,
        ) -> LabelSelector | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                entrypoint_label_selector_type_0 = LabelSelector.from_dict(data)

                return entrypoint_label_selector_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LabelSelector | None | Unset, data)

        entrypoint_label_selector = _parse_entrypoint_label_selector(
            d.pop("entrypoint_label_selector", UNSET)
        )

        job_submit_request = cls(
            entrypoint=entrypoint,
            submission_id=submission_id,
            job_id=job_id,
            runtime_env=runtime_env,
            metadata=metadata,
            entrypoint_num_cpus=entrypoint_num_cpus,
            entrypoint_num_gpus=entrypoint_num_gpus,
            entrypoint_memory=entrypoint_memory,
            entrypoint_resources=entrypoint_resources,
            entrypoint_label_selector=entrypoint_label_selector,
        )

        return job_submit_request


# Models this one refers to, imported after the class rather than inside its methods (where the
# generator puts them by default): each import there runs again on every call of `from_dict` and
# `to_dict`, and importing here still allows two models to refer to each other.
from ..models.entrypoint_resources import EntrypointResources
from ..models.job_metadata import JobMetadata
from ..models.label_selector import LabelSelector
from ..models.runtime_env import RuntimeEnv
