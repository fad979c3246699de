"""Shared fixtures: one live Ray head for the whole session.

The head runs with token authentication on, so that every test also exercises auth (headers on
HTTP and on the log WebSocket). The session's environment gets ``RAY_AUTH_MODE=token`` and
``RAY_AUTH_TOKEN`` so that both this client and Ray's own find the token the way users' do.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from ray_jobs_client.testing import LocalRayHead


@pytest.fixture(scope="session")
def ray_head() -> Iterator[LocalRayHead]:
    """A live Ray head (token auth on), started once per test session and stopped at its end."""
    head = LocalRayHead.with_token(num_cpus=2, num_gpus=1, resources={"Custom": 1})
    head.start()
    saved = {name: os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS",
                                                      "RAY_API_SERVER_ADDRESS")}
    os.environ.update(head.client_env())
    os.environ.pop("RAY_ADDRESS", None)
    os.environ.pop("RAY_API_SERVER_ADDRESS", None)
    try:
        yield head
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        head.stop()


@pytest.fixture(scope="session")
def head_address(ray_head: LocalRayHead) -> str:
    return ray_head.address


@pytest.fixture
def raw_http(ray_head: LocalRayHead) -> Iterator[httpx.Client]:
    """A plain httpx client authenticated to the session head (for raw wire checks)."""
    with httpx.Client(base_url=ray_head.address, headers=ray_head.auth_headers(), timeout=30) as http:
        yield http


@pytest.fixture
def unique_id() -> str:
    """A fresh submission id, so tests never collide on the shared head."""
    return f"rjc-{uuid.uuid4().hex[:12]}"
