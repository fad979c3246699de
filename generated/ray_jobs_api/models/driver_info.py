from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DriverInfo")


@_attrs_define
class DriverInfo:
    """
    Attributes:
        id (str): Ray job id of the driver (hex).
        node_ip_address (str):
        pid (str): Process id of the driver, as a string.
    """

    id: str
    node_ip_address: str
    pid: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        node_ip_address = self.node_ip_address

        pid = self.pid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "node_ip_address": node_ip_address,
                "pid": pid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        node_ip_address = d.pop("node_ip_address")

        pid = d.pop("pid")

        driver_info = cls(
            id=id,
            node_ip_address=node_ip_address,
            pid=pid,
        )

        driver_info.additional_properties = d
        return driver_info

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
