from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.version_response import VersionResponse
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/version",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> VersionResponse | str | None:
    if response.status_code == 200:
        response_200 = VersionResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = response.text
        return response_401

    if response.status_code == 403:
        response_403 = response.text
        return response_403

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[VersionResponse | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[VersionResponse | str]:
    """Report the Jobs API version and the Ray version of the cluster.

     Clients call this first: it proves the server is a Ray job server and gives the Ray version
    used to gate features (`entrypoint_num_cpus`… need Ray ≥ 2.2, `entrypoint_memory` Ray ≥ 2.8).
    `session_name` is the basename of the head's `session_latest` directory.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[VersionResponse | str]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
) -> VersionResponse | str | None:
    """Report the Jobs API version and the Ray version of the cluster.

     Clients call this first: it proves the server is a Ray job server and gives the Ray version
    used to gate features (`entrypoint_num_cpus`… need Ray ≥ 2.2, `entrypoint_memory` Ray ≥ 2.8).
    `session_name` is the basename of the head's `session_latest` directory.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        VersionResponse | str
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
) -> Response[VersionResponse | str]:
    """Report the Jobs API version and the Ray version of the cluster.

     Clients call this first: it proves the server is a Ray job server and gives the Ray version
    used to gate features (`entrypoint_num_cpus`… need Ray ≥ 2.2, `entrypoint_memory` Ray ≥ 2.8).
    `session_name` is the basename of the head's `session_latest` directory.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[VersionResponse | str]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
) -> VersionResponse | str | None:
    """Report the Jobs API version and the Ray version of the cluster.

     Clients call this first: it proves the server is a Ray job server and gives the Ray version
    used to gate features (`entrypoint_num_cpus`… need Ray ≥ 2.2, `entrypoint_memory` Ray ≥ 2.8).
    `session_name` is the basename of the head's `session_latest` directory.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        VersionResponse | str
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
