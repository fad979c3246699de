"""Every public parameter, fed odd values: each one is used, or refused with a typed error naming it.

For each parameter of both clients' methods, their constructor and the three policies, hypothesis
draws values of every kind (``None``, bools, huge and negative integers, NaN and infinities, empty
and odd strings — lone surrogates, NUL —, bytes, lists, dicts, arbitrary objects). A call either
works (the value was usable: the fake job server answered it) or raises one of this package's
exceptions. If it is an argument error (a :class:`ValueError` or :class:`TypeError`), it names the
parameter and nothing was sent for that call. A bare ``TypeError`` from inside httpx, a
``UnicodeEncodeError`` or an ``OverflowError`` fails the test.

Parameters that name local files (``verify`` as a CA path, ``working_dir``…) are left out: an odd
path is the file system's ``OSError``, as with Ray's client.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from drivers import AsyncDriver, Driver, SyncDriver
from fake_job_server import ADDRESS, FakeJobServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ray_jobs_client import (
    AsyncJobSubmissionClient,
    JobSubmissionClient,
    OutagePolicy,
    RetryPolicy,
    TailPolicy,
)
from ray_jobs_client.errors import APIStatusError, JobsClientError, RequestTypeError

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 0.0, -0.0, 1e10, 1e300, "", " ", "\x00", "\udcff", "é", "\r\n", ".", "a/b"]),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(
        st.text(max_size=3), st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=2
    ),
    st.builds(object),
)

JOB = "raysubmit_fake"

#: parameter → (how to call with the value, the name an error must show).
METHOD_PARAMETERS: dict[str, tuple[Callable[[Driver, Any], object], str]] = {
    "get_job_info(job_id)": (lambda c, v: c.get_job_info(v), "job_id"),
    "get_job_status(job_id)": (lambda c, v: c.get_job_status(v), "job_id"),
    "get_job_logs(job_id)": (lambda c, v: c.get_job_logs(v), "job_id"),
    "iter_job_logs(job_id)": (lambda c, v: c.download(v), "job_id"),
    "follow_job_logs(job_id)": (lambda c, v: c.follow(v), "job_id"),
    "stop_job(job_id)": (lambda c, v: c.stop_job(v), "job_id"),
    "delete_job(job_id)": (lambda c, v: c.delete_job(v), "job_id"),
    "wait_until_finished(job_id)": (lambda c, v: c.wait_until_finished(v), "job_id"),
    "wait_until_finished(timeout)": (lambda c, v: c.wait_until_finished(JOB, timeout=v), "timeout"),
    "wait_until_finished(poll)": (lambda c, v: c.wait_until_finished(JOB, poll=v), "poll"),
    "wait_until_finished(stop_on_timeout)": (
        lambda c, v: c.wait_until_finished(JOB, stop_on_timeout=v),
        "stop_on_timeout",
    ),
    "wait_until_finished(on_poll)": (lambda c, v: c.wait_until_finished(JOB, on_poll=v), "on_poll"),
    "as_completed(job_ids)": (lambda c, v: _completed(c, v), "job_id"),
    "as_completed(timeout)": (lambda c, v: _completed(c, [JOB], timeout=v), "timeout"),
    "as_completed(poll)": (lambda c, v: _completed(c, [JOB], poll=v), "poll"),
    "submit_job(entrypoint)": (lambda c, v: c.submit_job(entrypoint=v), "entrypoint"),
    "submit_job(submission_id)": (
        lambda c, v: c.submit_job(entrypoint="e", submission_id=v),
        "submission_id",
    ),
    "submit_job(job_id)": (lambda c, v: c.submit_job(entrypoint="e", job_id=v), "job_id"),
    "submit_job(runtime_env)": (lambda c, v: c.submit_job(entrypoint="e", runtime_env=v), "runtime_env"),
    "submit_job(runtime_env env_vars)": (
        lambda c, v: c.submit_job(entrypoint="e", runtime_env={"env_vars": {"NAME": v}}),
        "env_vars",
    ),
    "submit_job(runtime_env, any field)": (
        lambda c, v: c.submit_job(entrypoint="e", runtime_env={"plugin": v}),
        "runtime_env",
    ),
    "submit_job(metadata)": (lambda c, v: c.submit_job(entrypoint="e", metadata=v), "metadata"),
    "submit_job(metadata value)": (lambda c, v: c.submit_job(entrypoint="e", metadata={"k": v}), "metadata"),
    "submit_job(entrypoint_num_cpus)": (
        lambda c, v: c.submit_job(entrypoint="e", entrypoint_num_cpus=v),
        "entrypoint_num_cpus",
    ),
    "submit_job(entrypoint_num_gpus)": (
        lambda c, v: c.submit_job(entrypoint="e", entrypoint_num_gpus=v),
        "entrypoint_num_gpus",
    ),
    "submit_job(entrypoint_memory)": (
        lambda c, v: c.submit_job(entrypoint="e", entrypoint_memory=v),
        "entrypoint_memory",
    ),
    "submit_job(entrypoint_resources value)": (
        lambda c, v: c.submit_job(entrypoint="e", entrypoint_resources={"TPU": v}),
        "entrypoint_resources",
    ),
    "submit_job(entrypoint_label_selector value)": (
        lambda c, v: c.submit_job(entrypoint="e", entrypoint_label_selector={"zone": v}),
        "entrypoint_label_selector",
    ),
    "submit_job(upload_progress)": (
        lambda c, v: c.submit_job(entrypoint="e", upload_progress=v),
        "upload_progress",
    ),
}

#: constructor parameter → (settings for the value, the name an error must show).
CONSTRUCTOR_PARAMETERS: dict[str, tuple[Callable[[Any], dict[str, Any]], str]] = {
    "address": (lambda v: {"address": v}, "address"),
    "create_cluster_if_needed": (lambda v: {"create_cluster_if_needed": v}, "create_cluster_if_needed"),
    "cookies": (lambda v: {"cookies": v}, "cookies"),
    "cookies value": (lambda v: {"cookies": {"session": v}}, "cookie"),
    "metadata": (lambda v: {"metadata": v}, "metadata"),
    "metadata value": (lambda v: {"metadata": {"team": v}}, "metadata"),
    "headers": (lambda v: {"headers": v}, "headers"),
    "headers value": (lambda v: {"headers": {"X-Team": v}}, "X-Team"),
    "timeout": (lambda v: {"timeout": v}, "timeout"),
    "retries": (lambda v: {"retries": v}, "retries"),
    "tail_policy": (lambda v: {"tail_policy": v}, "tail_policy"),
    "outage_patience": (lambda v: {"outage_patience": v}, "outage"),
}

POLICY_FIELDS = [
    (policy, field.name)
    for policy in (RetryPolicy, TailPolicy, OutagePolicy)
    for field in attrs.fields(policy)
]

EXAMPLES = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)


def _completed(client: Driver, job_ids: Any, **kwargs: Any) -> list[Any]:
    if isinstance(client, SyncDriver):
        return list(client.client.as_completed(job_ids, **kwargs))

    async def collect() -> list[Any]:
        return [details async for details in client.client.as_completed(job_ids, **kwargs)]

    return client._runner.run(collect())


def _check_outcome(call: Callable[[], object], parameter: str, server: FakeJobServer) -> None:
    sent_before = len(server.requests)
    try:
        call()
    except JobsClientError as exc:
        if isinstance(exc, APIStatusError) and not isinstance(exc, RequestTypeError):
            return  # the server's answer to a value it was sent: the value was usable
        if isinstance(exc, ValueError | TypeError):
            assert parameter in str(exc), f"{exc!r} does not name {parameter}"
            assert len(server.requests) == sent_before, f"{exc!r} raised after a request was sent"
        # else: another of this package's errors (e.g. a wait that timed out): typed
    # Anything else (a bare TypeError, UnicodeEncodeError, OverflowError…) propagates: a failure.


def _driver(kind: str, server: FakeJobServer, **settings: Any) -> Driver:
    if kind == "sync":
        http = server.http_client()
        return SyncDriver(ADDRESS, owned=http, http_client=http, retries=0, **settings)
    async_http = server.async_http_client()
    return AsyncDriver(ADDRESS, owned=async_http, http_client=async_http, retries=0, **settings)


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("name", list(METHOD_PARAMETERS))
def test_method_parameters(kind: str, name: str) -> None:
    server = FakeJobServer()
    server.add_job(JOB, status="SUCCEEDED", log="done\n")
    client = _driver(kind, server)
    call, parameter = METHOD_PARAMETERS[name]

    @EXAMPLES
    @given(value=ODD_VALUES)
    def scan(value: Any) -> None:
        _check_outcome(lambda: call(client, value), parameter, server)

    try:
        scan()
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("name", list(CONSTRUCTOR_PARAMETERS))
def test_constructor_parameters(kind: str, name: str) -> None:
    server = FakeJobServer()
    make_settings, parameter = CONSTRUCTOR_PARAMETERS[name]

    @EXAMPLES
    @given(value=ODD_VALUES)
    def scan(value: Any) -> None:
        settings = make_settings(value)
        address = settings.pop("address", ADDRESS)
        if address is None or (isinstance(address, str) and "://" not in address):
            return  # None, "auto" or a bare host:port mean the local cluster: not this test's subject

        def construct() -> None:
            settings.setdefault("retries", 0)
            if kind == "sync":
                with server.http_client() as http:
                    JobSubmissionClient(address, http_client=http, **settings).close()
                return

            async def open_and_close() -> None:
                async with (
                    server.async_http_client() as async_http,
                    AsyncJobSubmissionClient(address, http_client=async_http, **settings),
                ):
                    pass

            asyncio.run(open_and_close())

        _check_outcome(construct, parameter, server)

    scan()


@pytest.mark.parametrize(
    ("policy", "field"), POLICY_FIELDS, ids=[f"{p.__name__}.{f}" for p, f in POLICY_FIELDS]
)
def test_policy_fields(policy: type[Any], field: str) -> None:
    @EXAMPLES
    @given(value=ODD_VALUES)
    def scan(value: Any) -> None:
        try:
            made = policy(**{field: value})
        except JobsClientError as exc:
            assert isinstance(exc, ValueError | TypeError)
            return
        # Accepted: then the value is one the policy can use.
        if isinstance(value, float):
            assert math.isfinite(value) or (field == "patience" and value == math.inf), made

    scan()
