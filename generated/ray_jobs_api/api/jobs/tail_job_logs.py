from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...types import Response


def _get_kwargs(
    job_or_submission_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/jobs/{job_or_submission_id}/logs/tail".format(
            job_or_submission_id=quote(str(job_or_submission_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | str | None:
    if response.status_code == 101:
        response_101 = cast(Any, None)
        return response_101

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
) -> Response[Any | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | str]:
    """Follow a job's log over a WebSocket.

     **A WebSocket endpoint** (OpenAPI cannot model the conversation; see `x-websocket`).

    * Handshake: a plain GET with `Upgrade: websocket`; the server answers `101 Switching
      Protocols` with no subprotocol. `permessage-deflate` is negotiated when offered. Headers,
      cookies and the token are checked on the handshake exactly as on other routes.
    * Before the upgrade: unknown job → 404, driver job → 400 (no upgrade). A GET without
      `Upgrade` on an existing job answers 500 `500: WebSocket proxy error`.
    * Frames: server → client **text** frames only. Each frame holds one or more whole log lines
      (newlines kept): flushed at 10 lines, when it exceeds 20000 characters, or at the end of
      what is written so far. A line is never split. A new connection replays the log from
      its first line.
    * The server polls about once a second; expect the first frame about 2 s after connecting
      and roughly one frame per second for a job that keeps printing.
    * Close: the server sends close code **1000** with an empty reason about 3 s after the job
      is terminal and its log is drained. A job that never started closes without frames; a
      job stuck in PENDING keeps the socket open and silent.
    * **The server never answers pings** and ignores every client message: clients must
      disable keep-alive pings or the connection is declared dead.
    * A close for any other reason (1006, proxy idle timeouts) means the stream was cut, not
      that the job ended: check the job status and reconnect or fetch `/logs`.
    * A log holding bytes that are not UTF-8 ends the stream early: the server sends the lines
      before the block that holds them, then closes with **1000 while the job still runs**
      (on every reconnect again). `GET …/logs` then answers 500.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        job_or_submission_id=job_or_submission_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | str | None:
    """Follow a job's log over a WebSocket.

     **A WebSocket endpoint** (OpenAPI cannot model the conversation; see `x-websocket`).

    * Handshake: a plain GET with `Upgrade: websocket`; the server answers `101 Switching
      Protocols` with no subprotocol. `permessage-deflate` is negotiated when offered. Headers,
      cookies and the token are checked on the handshake exactly as on other routes.
    * Before the upgrade: unknown job → 404, driver job → 400 (no upgrade). A GET without
      `Upgrade` on an existing job answers 500 `500: WebSocket proxy error`.
    * Frames: server → client **text** frames only. Each frame holds one or more whole log lines
      (newlines kept): flushed at 10 lines, when it exceeds 20000 characters, or at the end of
      what is written so far. A line is never split. A new connection replays the log from
      its first line.
    * The server polls about once a second; expect the first frame about 2 s after connecting
      and roughly one frame per second for a job that keeps printing.
    * Close: the server sends close code **1000** with an empty reason about 3 s after the job
      is terminal and its log is drained. A job that never started closes without frames; a
      job stuck in PENDING keeps the socket open and silent.
    * **The server never answers pings** and ignores every client message: clients must
      disable keep-alive pings or the connection is declared dead.
    * A close for any other reason (1006, proxy idle timeouts) means the stream was cut, not
      that the job ended: check the job status and reconnect or fetch `/logs`.
    * A log holding bytes that are not UTF-8 ends the stream early: the server sends the lines
      before the block that holds them, then closes with **1000 while the job still runs**
      (on every reconnect again). `GET …/logs` then answers 500.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | str
    """

    return sync_detailed(
        job_or_submission_id=job_or_submission_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | str]:
    """Follow a job's log over a WebSocket.

     **A WebSocket endpoint** (OpenAPI cannot model the conversation; see `x-websocket`).

    * Handshake: a plain GET with `Upgrade: websocket`; the server answers `101 Switching
      Protocols` with no subprotocol. `permessage-deflate` is negotiated when offered. Headers,
      cookies and the token are checked on the handshake exactly as on other routes.
    * Before the upgrade: unknown job → 404, driver job → 400 (no upgrade). A GET without
      `Upgrade` on an existing job answers 500 `500: WebSocket proxy error`.
    * Frames: server → client **text** frames only. Each frame holds one or more whole log lines
      (newlines kept): flushed at 10 lines, when it exceeds 20000 characters, or at the end of
      what is written so far. A line is never split. A new connection replays the log from
      its first line.
    * The server polls about once a second; expect the first frame about 2 s after connecting
      and roughly one frame per second for a job that keeps printing.
    * Close: the server sends close code **1000** with an empty reason about 3 s after the job
      is terminal and its log is drained. A job that never started closes without frames; a
      job stuck in PENDING keeps the socket open and silent.
    * **The server never answers pings** and ignores every client message: clients must
      disable keep-alive pings or the connection is declared dead.
    * A close for any other reason (1006, proxy idle timeouts) means the stream was cut, not
      that the job ended: check the job status and reconnect or fetch `/logs`.
    * A log holding bytes that are not UTF-8 ends the stream early: the server sends the lines
      before the block that holds them, then closes with **1000 while the job still runs**
      (on every reconnect again). `GET …/logs` then answers 500.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | str]
    """

    kwargs = _get_kwargs(
        job_or_submission_id=job_or_submission_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_or_submission_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | str | None:
    """Follow a job's log over a WebSocket.

     **A WebSocket endpoint** (OpenAPI cannot model the conversation; see `x-websocket`).

    * Handshake: a plain GET with `Upgrade: websocket`; the server answers `101 Switching
      Protocols` with no subprotocol. `permessage-deflate` is negotiated when offered. Headers,
      cookies and the token are checked on the handshake exactly as on other routes.
    * Before the upgrade: unknown job → 404, driver job → 400 (no upgrade). A GET without
      `Upgrade` on an existing job answers 500 `500: WebSocket proxy error`.
    * Frames: server → client **text** frames only. Each frame holds one or more whole log lines
      (newlines kept): flushed at 10 lines, when it exceeds 20000 characters, or at the end of
      what is written so far. A line is never split. A new connection replays the log from
      its first line.
    * The server polls about once a second; expect the first frame about 2 s after connecting
      and roughly one frame per second for a job that keeps printing.
    * Close: the server sends close code **1000** with an empty reason about 3 s after the job
      is terminal and its log is drained. A job that never started closes without frames; a
      job stuck in PENDING keeps the socket open and silent.
    * **The server never answers pings** and ignores every client message: clients must
      disable keep-alive pings or the connection is declared dead.
    * A close for any other reason (1006, proxy idle timeouts) means the stream was cut, not
      that the job ended: check the job status and reconnect or fetch `/logs`.
    * A log holding bytes that are not UTF-8 ends the stream early: the server sends the lines
      before the block that holds them, then closes with **1000 while the job still runs**
      (on every reconnect again). `GET …/logs` then answers 500.

    Args:
        job_or_submission_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | str
    """

    return (
        await asyncio_detailed(
            job_or_submission_id=job_or_submission_id,
            client=client,
        )
    ).parsed
