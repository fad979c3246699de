"""The shape of the package: no import circle, the sync client is the async one unasync'ed, and
``submit_job``'s parameters are declared once."""

from __future__ import annotations

import inspect

import attrs
import import_graph
import unasync
from ray_jobs_client import AsyncJobSubmissionClient, JobSubmissionClient
from ray_jobs_client.submission import Submission


def test_no_module_imports_a_module_that_imports_it() -> None:
    edges = import_graph.graph()
    assert "ray_jobs_client._async.client" in edges  # the graph is read from the package itself
    assert import_graph.cycles(edges) == []


def test_the_sync_client_is_what_unasync_makes_of_the_async_one() -> None:
    stale = {
        path.name
        for path, text in unasync.expected().items()
        if not path.exists() or path.read_text() != text
    }
    assert stale == set(), "run `make unasync` and commit _sync/"


def test_unasync_maps_the_async_idioms() -> None:
    source = "async def f(x: AsyncIterator[int]) -> AsyncGenerator[int, None]:\n    await asleep(1)\n"
    assert unasync.unasync_text(source) == (
        "def f(x: Iterator[int]) -> Generator[int, None, None]:\n    sleep(1)\n"
    )


def test_submit_jobs_keywords_are_the_submission_fields() -> None:
    """``submit_job`` spells its parameters for Ray's callers and the type checkers; ``Submission``
    checks them. Neither can gain or lose one alone."""
    fields = [field.name for field in attrs.fields(Submission)]
    for client in (JobSubmissionClient, AsyncJobSubmissionClient):
        parameters = list(inspect.signature(client.submit_job).parameters)[1:]
        assert sorted(parameters) == sorted(fields), client
