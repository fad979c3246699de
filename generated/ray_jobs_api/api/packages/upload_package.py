from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...types import File, Response


def _get_kwargs(
    protocol: str,
    package_name: str,
    *,
    body: File,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/packages/{protocol}/{package_name}".format(
            protocol=quote(str(protocol), safe=""),
            package_name=quote(str(package_name), safe=""),
        ),
    }

    _kwargs["content"] = body.payload
    headers["Content-Type"] = "application/octet-stream"

    _kwargs["headers"] = headers
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
    body: File,
) -> Response[Any | str]:
    """Upload a package's bytes.

     Stores the body unchanged under `<protocol>://<package_name>` (overwrites allowed). The
    server validates neither the content nor the extension, but the job's runtime environment
    later only accepts `.zip`, `.whl`, `.tar.gz`, `.tgz` and `.tar.xz`. The upload does not pin
    the package: call `GET` on it before submitting. Bodies over 100 MiB answer 413.

    Args:
        protocol (str):
        package_name (str):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        protocol=protocol,
        package_name=package_name,
        body=body,
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
    body: File,
) -> Any | str | None:
    """Upload a package's bytes.

     Stores the body unchanged under `<protocol>://<package_name>` (overwrites allowed). The
    server validates neither the content nor the extension, but the job's runtime environment
    later only accepts `.zip`, `.whl`, `.tar.gz`, `.tgz` and `.tar.xz`. The upload does not pin
    the package: call `GET` on it before submitting. Bodies over 100 MiB answer 413.

    Args:
        protocol (str):
        package_name (str):
        body (File):

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
        body=body,
    ).parsed


async def asyncio_detailed(
    protocol: str,
    package_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
) -> Response[Any | str]:
    """Upload a package's bytes.

     Stores the body unchanged under `<protocol>://<package_name>` (overwrites allowed). The
    server validates neither the content nor the extension, but the job's runtime environment
    later only accepts `.zip`, `.whl`, `.tar.gz`, `.tgz` and `.tar.xz`. The upload does not pin
    the package: call `GET` on it before submitting. Bodies over 100 MiB answer 413.

    Args:
        protocol (str):
        package_name (str):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        protocol=protocol,
        package_name=package_name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    protocol: str,
    package_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: File,
) -> Any | str | None:
    """Upload a package's bytes.

     Stores the body unchanged under `<protocol>://<package_name>` (overwrites allowed). The
    server validates neither the content nor the extension, but the job's runtime environment
    later only accepts `.zip`, `.whl`, `.tar.gz`, `.tgz` and `.tar.xz`. The upload does not pin
    the package: call `GET` on it before submitting. Bodies over 100 MiB answer 413.

    Args:
        protocol (str):
        package_name (str):
        body (File):

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
            body=body,
        )
    ).parsed
