from http import HTTPStatus
from typing import Any, Literal, overload
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job_logs_response import JobLogsResponse
from ...types import Response


def _get_kwargs(
    job_or_submission_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/jobs/{job_or_submission_id}/logs".format(
            job_or_submission_id=quote(str(job_or_submission_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobLogsResponse | str | None:
    if response.status_code == 200:
        response_200 = JobLogsResponse.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = response.text
        return response_404

    if response.status_code == 500:
        response_500 = response.text
        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[JobLogsResponse | str]:
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
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: Literal[False] = False,
) -> Response[JobLogsResponse | str]: ...


@overload
def sync_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: Literal[True],
) -> Response[Any]: ...


@overload
def sync_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[JobLogsResponse | str] | Response[Any]: ...


def sync_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[JobLogsResponse | str] | Response[Any]:
    """Get the whole driver log of a job.

     The entire log file in one JSON string (it can be large). It contains the job supervisor's
    lines (`… Runtime env is setting up.`, and since Ray 2.52 `Running entrypoint for job <id>:
    …`), usually first, but they are written concurrently with the entrypoint's output and can be
    interleaved with it. Before 2.52 a plain entrypoint's log holds its output only.
    A job whose driver never started (e.g. its runtime environment failed) has `""`.

    Args:
        job_or_submission_id (str):
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobLogsResponse | str], or Response[Any] with as_json=True
    """

    kwargs = _get_kwargs(
        job_or_submission_id=job_or_submission_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    if as_json:
        return _build_json_response(client=client, response=response)
    return _build_response(client=client, response=response)


def sync(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> JobLogsResponse | str | None:
    """Get the whole driver log of a job.

     The entire log file in one JSON string (it can be large). It contains the job supervisor's
    lines (`… Runtime env is setting up.`, and since Ray 2.52 `Running entrypoint for job <id>:
    …`), usually first, but they are written concurrently with the entrypoint's output and can be
    interleaved with it. Before 2.52 a plain entrypoint's log holds its output only.
    A job whose driver never started (e.g. its runtime environment failed) has `""`.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobLogsResponse | str
    """

    return sync_detailed(
        job_or_submission_id=job_or_submission_id,
        client=client,
    ).parsed


@overload
async def asyncio_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: Literal[False] = False,
) -> Response[JobLogsResponse | str]: ...


@overload
async def asyncio_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: Literal[True],
) -> Response[Any]: ...


@overload
async def asyncio_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[JobLogsResponse | str] | Response[Any]: ...


async def asyncio_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[JobLogsResponse | str] | Response[Any]:
    """Get the whole driver log of a job.

     The entire log file in one JSON string (it can be large). It contains the job supervisor's
    lines (`… Runtime env is setting up.`, and since Ray 2.52 `Running entrypoint for job <id>:
    …`), usually first, but they are written concurrently with the entrypoint's output and can be
    interleaved with it. Before 2.52 a plain entrypoint's log holds its output only.
    A job whose driver never started (e.g. its runtime environment failed) has `""`.

    Args:
        job_or_submission_id (str):
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobLogsResponse | str], or Response[Any] with as_json=True
    """

    kwargs = _get_kwargs(
        job_or_submission_id=job_or_submission_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    if as_json:
        return _build_json_response(client=client, response=response)
    return _build_response(client=client, response=response)


async def asyncio(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> JobLogsResponse | str | None:
    """Get the whole driver log of a job.

     The entire log file in one JSON string (it can be large). It contains the job supervisor's
    lines (`… Runtime env is setting up.`, and since Ray 2.52 `Running entrypoint for job <id>:
    …`), usually first, but they are written concurrently with the entrypoint's output and can be
    interleaved with it. Before 2.52 a plain entrypoint's log holds its output only.
    A job whose driver never started (e.g. its runtime environment failed) has `""`.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobLogsResponse | str
    """

    return (
        await asyncio_detailed(
            job_or_submission_id=job_or_submission_id,
            client=client,
        )
    ).parsed
