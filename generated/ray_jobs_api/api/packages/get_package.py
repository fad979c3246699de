from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...types import Response


def _get_kwargs(
    protocol: str,
    package_name: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/packages/{protocol}/{package_name}".format(
            protocol=quote(str(protocol), safe=""),
            package_name=quote(str(package_name), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | str | None:
    if response.status_code == 200:
        response_200 = cast(Any, None)
        return response_200

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
) -> Response[Any | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    protocol: str,
    package_name: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | str]:
    """Check whether a package exists, and pin it for a while.

     Besides the check, the call pins the URI for `RAY_RUNTIME_ENV_TEMPORARY_REFERENCE_EXPIRATION_S`
    seconds (default 600) so it is not garbage-collected before the job that references it is
    submitted: call it before every submit that uses the package, even when it was uploaded before.
    Any protocol other than `gcs`, and a name containing `[` or `]` (the server parses
    `gcs://<name>` as a URL, which fails as an invalid IPv6 host), answer the generic 500 page.

    Args:
        protocol (str):
        package_name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        protocol=protocol,
        package_name=package_name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    protocol: str,
    package_name: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | str | None:
    """Check whether a package exists, and pin it for a while.

     Besides the check, the call pins the URI for `RAY_RUNTIME_ENV_TEMPORARY_REFERENCE_EXPIRATION_S`
    seconds (default 600) so it is not garbage-collected before the job that references it is
    submitted: call it before every submit that uses the package, even when it was uploaded before.
    Any protocol other than `gcs`, and a name containing `[` or `]` (the server parses
    `gcs://<name>` as a URL, which fails as an invalid IPv6 host), answer the generic 500 page.

    Args:
        protocol (str):
        package_name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | str
    """

    return sync_detailed(
        protocol=protocol,
        package_name=package_name,
        client=client,
    ).parsed


async def asyncio_detailed(
    protocol: str,
    package_name: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | str]:
    """Check whether a package exists, and pin it for a while.

     Besides the check, the call pins the URI for `RAY_RUNTIME_ENV_TEMPORARY_REFERENCE_EXPIRATION_S`
    seconds (default 600) so it is not garbage-collected before the job that references it is
    submitted: call it before every submit that uses the package, even when it was uploaded before.
    Any protocol other than `gcs`, and a name containing `[` or `]` (the server parses
    `gcs://<name>` as a URL, which fails as an invalid IPv6 host), answer the generic 500 page.

    Args:
        protocol (str):
        package_name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        protocol=protocol,
        package_name=package_name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    protocol: str,
    package_name: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | str | None:
    """Check whether a package exists, and pin it for a while.

     Besides the check, the call pins the URI for `RAY_RUNTIME_ENV_TEMPORARY_REFERENCE_EXPIRATION_S`
    seconds (default 600) so it is not garbage-collected before the job that references it is
    submitted: call it before every submit that uses the package, even when it was uploaded before.
    Any protocol other than `gcs`, and a name containing `[` or `]` (the server parses
    `gcs://<name>` as a URL, which fails as an invalid IPv6 host), answer the generic 500 page.

    Args:
        protocol (str):
        package_name (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | str
    """

    return (
        await asyncio_detailed(
            protocol=protocol,
            package_name=package_name,
            client=client,
        )
    ).parsed
