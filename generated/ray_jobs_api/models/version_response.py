from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="VersionResponse")


@_attrs_define
class VersionResponse:
    """
    Attributes:
        version (str): Jobs API version ("4" since the DELETE route; "3" added entrypoint resources; "2" submission
            ids).
        ray_version (str):
        ray_commit (str):
        session_name (str | Unset): Basename of the head's current session directory. Absent (not null) before Ray 2.32,
            so optional: a client must not require it.
    """

    version: str
    ray_version: str
    ray_commit: str
    session_name: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        ray_version = self.ray_version

        ray_commit = self.ray_commit

        session_name = self.session_name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "version": version,
                "ray_version": ray_version,
                "ray_commit": ray_commit,
            }
        )
        if session_name is not UNSET:
            field_dict["session_name"] = session_name

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        version = d.pop("version")

        ray_version = d.pop("ray_version")

        ray_commit = d.pop("ray_commit")

        session_name = d.pop("session_name", UNSET)

        version_response = cls(
            version=version,
            ray_version=ray_version,
            ray_commit=ray_commit,
            session_name=session_name,
        )

        version_response.additional_properties = d
        return version_response

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
