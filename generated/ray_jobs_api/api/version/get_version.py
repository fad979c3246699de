from http import HTTPStatus
from typing import Any, Literal, overload

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
    as_json: Literal[False] = False,
) -> Response[VersionResponse | str]: ...


@overload
def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    as_json: Literal[True],
) -> Response[Any]: ...


@overload
def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[VersionResponse | str] | Response[Any]: ...


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[VersionResponse | str] | Response[Any]:
    """Report the Jobs API version and the Ray version of the cluster.

     Clients call this first: it proves the server is a Ray job server and gives the Ray version
    used to gate features (`entrypoint_num_cpus`… need Ray ≥ 2.2, `entrypoint_memory` Ray ≥ 2.8).
    `session_name` is the basename of the head's `session_latest` directory.

    Args:
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[VersionResponse | str], or Response[Any] with as_json=True
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    if as_json:
        return _build_json_response(client=client, response=response)
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


@overload
async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    as_json: Literal[False] = False,
) -> Response[VersionResponse | str]: ...


@overload
async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    as_json: Literal[True],
) -> Response[Any]: ...


@overload
async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[VersionResponse | str] | Response[Any]: ...


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    as_json: bool = False,
) -> Response[VersionResponse | str] | Response[Any]:
    """Report the Jobs API version and the Ray version of the cluster.

     Clients call this first: it proves the server is a Ray job server and gives the Ray version
    used to gate features (`entrypoint_num_cpus`… need Ray ≥ 2.2, `entrypoint_memory` Ray ≥ 2.8).
    `session_name` is the basename of the head's `session_latest` directory.

    Args:
        as_json (bool): `parsed` is the JSON body as decoded (dicts, lists, strings…) instead of
            models: nothing is converted or checked, which costs much less for big answers. Bodies
            that are not JSON are parsed as usual. Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[VersionResponse | str], or Response[Any] with as_json=True
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    if as_json:
        return _build_json_response(client=client, response=response)
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
