from http import HTTPStatus
from typing import Any, Literal, overload
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job_delete_response import JobDeleteResponse
from ...types import Response


def _get_kwargs(
    job_or_submission_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/api/jobs/{job_or_submission_id}".format(
            job_or_submission_id=quote(str(job_or_submission_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobDeleteResponse | str | None:
    if response.status_code == 200:
        response_200 = JobDeleteResponse.from_dict(response.json())

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

    if response.status_code == 405:
        response_405 = response.text
        return response_405

    if response.status_code == 500:
        response_500 = response.text
        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[JobDeleteResponse | str]:
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
) -> Response[JobDeleteResponse | str]: ...


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
) -> Response[JobDeleteResponse | str] | Response[Any]: ...


def sync_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[JobDeleteResponse | str] | Response[Any]:
    """Delete a terminal job's record.

     Only jobs in a terminal status (STOPPED, SUCCEEDED, FAILED) can be deleted; the log files on
    disk are kept. Afterwards every route answers 404 for that id.

    **Delete a just-finished job only after its job manager is done with it.** A record deleted
    before Ray's job manager has noticed the job's supervisor actor exit (it pings each supervisor
    and reads the answer a second later; measured on Ray 2.60: records re-created after deletes from
    30 ms to 1.9 s after `end_time`) is written again: status `FAILED`, entrypoint
    `"Entrypoint not found."`, `error_type` `JOB_SUPERVISOR_ACTOR_DIED`, `start_time` null.
    Clients should wait until about 3 s after `end_time` (by the server's clock, e.g. its `Date`
    header) before deleting; the Python client does. Releases before 2.50 never re-create a
    deleted record: no wait is needed there.

    Args:
        job_or_submission_id (str):
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobDeleteResponse | str], or Response[Any] with as_json=True
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
) -> JobDeleteResponse | str | None:
    """Delete a terminal job's record.

     Only jobs in a terminal status (STOPPED, SUCCEEDED, FAILED) can be deleted; the log files on
    disk are kept. Afterwards every route answers 404 for that id.

    **Delete a just-finished job only after its job manager is done with it.** A record deleted
    before Ray's job manager has noticed the job's supervisor actor exit (it pings each supervisor
    and reads the answer a second later; measured on Ray 2.60: records re-created after deletes from
    30 ms to 1.9 s after `end_time`) is written again: status `FAILED`, entrypoint
    `"Entrypoint not found."`, `error_type` `JOB_SUPERVISOR_ACTOR_DIED`, `start_time` null.
    Clients should wait until about 3 s after `end_time` (by the server's clock, e.g. its `Date`
    header) before deleting; the Python client does. Releases before 2.50 never re-create a
    deleted record: no wait is needed there.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobDeleteResponse | str
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
) -> Response[JobDeleteResponse | str]: ...


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
) -> Response[JobDeleteResponse | str] | Response[Any]: ...


async def asyncio_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[JobDeleteResponse | str] | Response[Any]:
    """Delete a terminal job's record.

     Only jobs in a terminal status (STOPPED, SUCCEEDED, FAILED) can be deleted; the log files on
    disk are kept. Afterwards every route answers 404 for that id.

    **Delete a just-finished job only after its job manager is done with it.** A record deleted
    before Ray's job manager has noticed the job's supervisor actor exit (it pings each supervisor
    and reads the answer a second later; measured on Ray 2.60: records re-created after deletes from
    30 ms to 1.9 s after `end_time`) is written again: status `FAILED`, entrypoint
    `"Entrypoint not found."`, `error_type` `JOB_SUPERVISOR_ACTOR_DIED`, `start_time` null.
    Clients should wait until about 3 s after `end_time` (by the server's clock, e.g. its `Date`
    header) before deleting; the Python client does. Releases before 2.50 never re-create a
    deleted record: no wait is needed there.

    Args:
        job_or_submission_id (str):
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobDeleteResponse | str], or Response[Any] with as_json=True
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
) -> JobDeleteResponse | str | None:
    """Delete a terminal job's record.

     Only jobs in a terminal status (STOPPED, SUCCEEDED, FAILED) can be deleted; the log files on
    disk are kept. Afterwards every route answers 404 for that id.

    **Delete a just-finished job only after its job manager is done with it.** A record deleted
    before Ray's job manager has noticed the job's supervisor actor exit (it pings each supervisor
    and reads the answer a second later; measured on Ray 2.60: records re-created after deletes from
    30 ms to 1.9 s after `end_time`) is written again: status `FAILED`, entrypoint
    `"Entrypoint not found."`, `error_type` `JOB_SUPERVISOR_ACTOR_DIED`, `start_time` null.
    Clients should wait until about 3 s after `end_time` (by the server's clock, e.g. its `Date`
    header) before deleting; the Python client does. Releases before 2.50 never re-create a
    deleted record: no wait is needed there.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobDeleteResponse | str
    """

    return (
        await asyncio_detailed(
            job_or_submission_id=job_or_submission_id,
            client=client,
        )
    ).parsed
