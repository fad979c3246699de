"""``/api/version`` is read tolerantly: only ``ray_version`` is needed to go on, as in Ray's client
(whose own test serves just ``{"ray_version": ...}``); what is missing is ``None``, what is more is
kept. The live head's full answer is held to the spec in tests/contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fake_job_server import Connect, FakeJobServer
from ray_jobs_client.errors import UnexpectedResponseError
from ray_jobs_client.models import server_version_from_json


@dataclass
class VersionAnswer:
    body: Any

    def apply(self, server: FakeJobServer, request: httpx.Request, serve: Any) -> httpx.Response:
        return httpx.Response(200, json=self.body)


def test_a_server_that_gives_only_its_ray_version_is_served(server: FakeJobServer, connect: Connect) -> None:
    server.fail(VersionAnswer({"ray_version": "2.60.0"}), when="GET /api/version", times=None)
    server.add_job("raysubmit_a", status="SUCCEEDED")

    client = connect()

    assert client.get_version() is None
    assert client.get_job_status("raysubmit_a") == "SUCCEEDED"
    assert client.submit_job(entrypoint="echo hi", submission_id="rjc-1") == "rjc-1"


def test_a_version_answer_without_ray_version_is_an_unexpected_response(
    server: FakeJobServer, connect: Connect
) -> None:
    server.fail(VersionAnswer({"version": "4"}), when="GET /api/version", times=None)
    with pytest.raises(UnexpectedResponseError, match="ray_version"):
        connect()


def test_fields_are_kept_whatever_comes() -> None:
    version = server_version_from_json(
        {"ray_version": "2.61.0", "version": "5", "session_name": 3, "new_field": [1]}
    )
    assert (version.ray_version, version.version, version.ray_commit, version.session_name) == (
        "2.61.0",
        "5",
        None,
        None,
    )
    assert version.extra == {"session_name": 3, "new_field": [1]}
