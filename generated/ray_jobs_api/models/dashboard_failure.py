from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="DashboardFailure")


@_attrs_define
class DashboardFailure:
    """The dashboard's generic failure body: Ray < 2.45 answers a 500 with it where an exception escaped a job route (a
    submit body that is not a JSON object, the tail route without a WebSocket upgrade).

        Attributes:
            result (bool):
            msg (str): A Python traceback.
            data (DashboardFailureData | Unset):
    """

    result: bool
    msg: str
    data: DashboardFailureData | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result = self.result

        msg = self.msg

        data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "result": result,
                "msg": msg,
            }
        )
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        result = d.pop("result")

        msg = d.pop("msg")

        _data = d.pop("data", UNSET)
        data: DashboardFailureData | Unset
        if isinstance(_data, Unset):
            data = UNSET
        else:
            data = DashboardFailureData.from_dict(_data)

        dashboard_failure = cls(
            result=result,
            msg=msg,
            data=data,
        )

        dashboard_failure.additional_properties = d
        return dashboard_failure

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
from ..models.dashboard_failure_data import DashboardFailureData
