from http import HTTPStatus
from typing import Any, Literal, overload

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job_submit_request import JobSubmitRequest
from ...models.job_submit_response import JobSubmitResponse
from ...types import Response


def _get_kwargs(
    *,
    body: JobSubmitRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/jobs/",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobSubmitResponse | str | None:
    if response.status_code == 200:
        response_200 = JobSubmitResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = response.text
        return response_400

    if response.status_code == 401:
        response_401 = response.text
        return response_401

    if response.status_code == 403:
        response_403 = response.text
        return response_403

    if response.status_code == 405:
        response_405 = response.text
        return response_405

    if response.status_code == 413:
        response_413 = response.text
        return response_413

    if response.status_code == 500:
        response_500 = response.text
        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[JobSubmitResponse | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def _parse_json_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any:
    if response.status_code == 200:
        return response.json()
    return _parse_response(client=client, response=response)


def _build_json_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_json_response(client=client, response=response),
    )


@overload
def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: Literal[False] = False,
) -> Response[JobSubmitResponse | str]: ...


@overload
def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: Literal[True],
) -> Response[Any]: ...


@overload
def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: bool = False,
) -> Response[JobSubmitResponse | str] | Response[Any]: ...


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: bool = False,
) -> Response[JobSubmitResponse | str] | Response[Any]:
    """Submit a job.

     Records the job as PENDING and returns at once; it does not wait for the job to start.
    The body is parsed as JSON whatever its `Content-Type`. Top-level keys whose value is
    `null` are dropped before validation (so `null` means "absent"); nested `null`s are kept.
    Unknown keys are rejected with 400. The server is lenient in one way clients must not rely
    on: JSON `true`/`false` pass where a number is declared (the server's Python treats a bool
    as the integer 1/0); send numbers.

    Local paths in `runtime_env` are not resolved by the server: a local `working_dir` is
    accepted (200) and the job then FAILS with `JOB_SUPERVISOR_ACTOR_START_FAILURE` ("… is not a
    valid URI"). Upload packages first with `PUT /api/packages/gcs/{name}` and pass the `gcs://` URI.

    Args:
        body (JobSubmitRequest): A top-level `null` is treated as an absent key.
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobSubmitResponse | str], or Response[Any] with as_json=True
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    if as_json:
        return _build_json_response(client=client, response=response)
    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
) -> JobSubmitResponse | str | None:
    """Submit a job.

     Records the job as PENDING and returns at once; it does not wait for the job to start.
    The body is parsed as JSON whatever its `Content-Type`. Top-level keys whose value is
    `null` are dropped before validation (so `null` means "absent"); nested `null`s are kept.
    Unknown keys are rejected with 400. The server is lenient in one way clients must not rely
    on: JSON `true`/`false` pass where a number is declared (the server's Python treats a bool
    as the integer 1/0); send numbers.

    Local paths in `runtime_env` are not resolved by the server: a local `working_dir` is
    accepted (200) and the job then FAILS with `JOB_SUPERVISOR_ACTOR_START_FAILURE` ("… is not a
    valid URI"). Upload packages first with `PUT /api/packages/gcs/{name}` and pass the `gcs://` URI.

    Args:
        body (JobSubmitRequest): A top-level `null` is treated as an absent key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobSubmitResponse | str
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


@overload
async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: Literal[False] = False,
) -> Response[JobSubmitResponse | str]: ...


@overload
async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: Literal[True],
) -> Response[Any]: ...


@overload
async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: bool = False,
) -> Response[JobSubmitResponse | str] | Response[Any]: ...


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
    as_json: bool = False,
) -> Response[JobSubmitResponse | str] | Response[Any]:
    """Submit a job.

     Records the job as PENDING and returns at once; it does not wait for the job to start.
    The body is parsed as JSON whatever its `Content-Type`. Top-level keys whose value is
    `null` are dropped before validation (so `null` means "absent"); nested `null`s are kept.
    Unknown keys are rejected with 400. The server is lenient in one way clients must not rely
    on: JSON `true`/`false` pass where a number is declared (the server's Python treats a bool
    as the integer 1/0); send numbers.

    Local paths in `runtime_env` are not resolved by the server: a local `working_dir` is
    accepted (200) and the job then FAILS with `JOB_SUPERVISOR_ACTOR_START_FAILURE` ("… is not a
    valid URI"). Upload packages first with `PUT /api/packages/gcs/{name}` and pass the `gcs://` URI.

    Args:
        body (JobSubmitRequest): A top-level `null` is treated as an absent key.
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobSubmitResponse | str], or Response[Any] with as_json=True
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    if as_json:
        return _build_json_response(client=client, response=response)
    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: JobSubmitRequest,
) -> JobSubmitResponse | str | None:
    """Submit a job.

     Records the job as PENDING and returns at once; it does not wait for the job to start.
    The body is parsed as JSON whatever its `Content-Type`. Top-level keys whose value is
    `null` are dropped before validation (so `null` means "absent"); nested `null`s are kept.
    Unknown keys are rejected with 400. The server is lenient in one way clients must not rely
    on: JSON `true`/`false` pass where a number is declared (the server's Python treats a bool
    as the integer 1/0); send numbers.

    Local paths in `runtime_env` are not resolved by the server: a local `working_dir` is
    accepted (200) and the job then FAILS with `JOB_SUPERVISOR_ACTOR_START_FAILURE` ("… is not a
    valid URI"). Upload packages first with `PUT /api/packages/gcs/{name}` and pass the `gcs://` URI.

    Args:
        body (JobSubmitRequest): A top-level `null` is treated as an absent key.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobSubmitResponse | str
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
