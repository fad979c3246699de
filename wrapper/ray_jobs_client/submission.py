"""What a job submission is: :class:`Submission`, declared once for both clients, their checks and the CLI.

``submit_job(**kwargs)`` of either client builds a :class:`Submission` from its keywords, which
checks every value the way the server would (Ray's messages), before anything is sent. The request
body it becomes is built by :meth:`Submission.request`, after the engine has learnt what the server
supports and uploaded any local package.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import attrs

from .checks import check_submission_id
from .errors import RequestTypeError
from .releases import ENTRYPOINT_LABEL_SELECTOR, ENTRYPOINT_MEMORY, ENTRYPOINT_RESOURCES, Feature

__all__ = ["ProgressCallback", "Submission", "new_submission_id"]

logger = logging.getLogger("ray_jobs_client")

ProgressCallback = Callable[[str, int, int], None]
"""Upload progress: ``(package uri, bytes sent so far, total bytes)``."""

_SUBMISSION_ALPHABET = "".join(
    c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" if c not in "IloO0"
)


def new_submission_id() -> str:
    """A submission id in the server's own format (``raysubmit_`` + 16 random characters)."""
    return "raysubmit_" + "".join(secrets.choice(_SUBMISSION_ALPHABET) for _ in range(16))


def _check(name: str, value: object, kinds: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, kinds):
        raise RequestTypeError(f"{name} must be {what}, got {type(value)}")


def _check_mapping(name: str, value: object, value_kinds: type | tuple[type, ...], values_what: str) -> None:
    _check(name, value, dict, "a dict")
    assert isinstance(value, dict)
    for key, item in value.items():
        if not isinstance(key, str):
            raise RequestTypeError(f"{name} keys must be strings, got {type(key)}")
        if not isinstance(item, value_kinds):
            raise RequestTypeError(f"{name} values must be {values_what}, got {type(item)}")


def _optional(check: Callable[[str, object], None]) -> Callable[[Any, attrs.Attribute[Any], object], None]:
    """An attrs validator running ``check(name, value)`` unless the value is None."""

    def validate(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            check(attribute.name, value)

    return validate


def _string(what: str) -> Callable[[str, object], None]:
    return lambda name, value: _check(name, value, str, what)


def _number(name: str, value: object) -> None:
    _check(name, value, (int, float), "a number")


def _integer(name: str, value: object) -> None:
    _check(name, value, int, "an integer")


def _mapping_of(kinds: type | tuple[type, ...], what: str) -> Callable[[str, object], None]:
    return lambda name, value: _check_mapping(name, value, kinds, what)


@attrs.frozen(kw_only=True)
class Submission:
    """A job to submit: ``submit_job``'s parameters, checked as the server checks them (a
    :class:`~ray_jobs_client.errors.RequestTypeError` naming the parameter, before any I/O)."""

    entrypoint: str = attrs.field(validator=lambda _, a, v: _check(a.name, v, str, "a string"))
    job_id: str | None = attrs.field(default=None, validator=_optional(_string("a string if provided")))
    runtime_env: dict[str, Any] | None = attrs.field(
        default=None, validator=_optional(_mapping_of(object, ""))
    )
    metadata: dict[str, str] | None = attrs.field(
        default=None, validator=_optional(_mapping_of(str, "strings"))
    )
    submission_id: str | None = attrs.field(
        default=None, validator=_optional(_string("a string if provided"))
    )
    entrypoint_num_cpus: int | float | None = attrs.field(default=None, validator=_optional(_number))
    entrypoint_num_gpus: int | float | None = attrs.field(default=None, validator=_optional(_number))
    entrypoint_memory: int | None = attrs.field(default=None, validator=_optional(_integer))
    entrypoint_resources: dict[str, float] | None = attrs.field(
        default=None, validator=_optional(_mapping_of((int, float), "numbers"))
    )
    entrypoint_label_selector: dict[str, str] | None = attrs.field(
        default=None, validator=_optional(_mapping_of(str, "strings"))
    )
    upload_progress: ProgressCallback | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("submission_id", "job_id"):
            value = getattr(self, name)
            if value:  # an empty id asks for a generated one, as in Ray's client
                check_submission_id(value, name)

    @property
    def chosen_id(self) -> str | None:
        """The id the caller chose (``submission_id``, else the deprecated ``job_id``), if any."""
        return self.submission_id or self.job_id or None

    def features(self) -> list[Feature]:
        """The gated request fields this submission asks for (Ray's client gates them the same way:
        a value of 0 or ``{}`` asks for nothing, so needs no check)."""
        wanted = []
        if self.entrypoint_num_cpus or self.entrypoint_num_gpus or self.entrypoint_resources:
            wanted.append(ENTRYPOINT_RESOURCES)
        if self.entrypoint_memory:
            wanted.append(ENTRYPOINT_MEMORY)
        if self.entrypoint_label_selector:
            wanted.append(ENTRYPOINT_LABEL_SELECTOR)
        return wanted

    def request(
        self,
        submission_id: str,
        runtime_env: dict[str, Any],
        metadata: dict[str, str],
        *,
        label_selector_supported: bool,
    ) -> Any:
        """The generated ``JobSubmitRequest`` to POST (``runtime_env`` as it goes on the wire, the
        metadata merged with the client's). An empty label selector is left out for a server older
        than the field, which refuses even ``{}`` (an unexpected keyword)."""
        from ray_jobs_api.models import (
            EntrypointResources,
            JobMetadata,
            JobSubmitRequest,
            LabelSelector,
            RuntimeEnv,
        )

        body = JobSubmitRequest(
            entrypoint=self.entrypoint,
            submission_id=submission_id,
            runtime_env=RuntimeEnv.from_dict(runtime_env),
            metadata=JobMetadata.from_dict(metadata),
        )
        if self.entrypoint_num_cpus is not None:
            body.entrypoint_num_cpus = self.entrypoint_num_cpus
        if self.entrypoint_num_gpus is not None:
            body.entrypoint_num_gpus = self.entrypoint_num_gpus
        if self.entrypoint_memory is not None:
            body.entrypoint_memory = self.entrypoint_memory
        if self.entrypoint_resources is not None:
            body.entrypoint_resources = EntrypointResources.from_dict(self.entrypoint_resources)
        if self.entrypoint_label_selector is not None and (
            self.entrypoint_label_selector or label_selector_supported
        ):
            body.entrypoint_label_selector = LabelSelector.from_dict(self.entrypoint_label_selector)
        return body
