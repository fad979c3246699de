"""The compat probe's soft checks fail the test itself (not its teardown) when they found differences."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    result = yield
    differences = getattr(item, "funcargs", {}).get("diff")
    if differences is not None:
        differences.assert_none()
    return result
