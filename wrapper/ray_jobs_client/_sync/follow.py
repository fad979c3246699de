# Generated from ray_jobs_client/_async/follow.py by tools/unasync.py: edit that file, then run `make unasync`.
"""Following a job's log as it is written, and downloading it whole, each character delivered once.

Why the follower decides as it does (never trusting the stream's end, skipping what a reconnect
replays, polling when WebSockets are refused, surviving a log the server cannot read) is in
:mod:`ray_jobs_client.logs`, with the pure helpers it uses. Both iterators release their connection
however the caller leaves them (``break``, an exception, ``close()``, or never closing them).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from contextlib import closing
from typing import TYPE_CHECKING

from ray_jobs_client import _operations as operations
from ray_jobs_client._sync.watch import job_details, outage_of, wait
from ray_jobs_client._io import StreamClosed, StreamLost, StreamRefused, sleep
from ray_jobs_client.errors import (
    PERMANENT_CONNECTION_ERRORS,
    APIConnectionError,
    JobNotFoundError,
    LogDecodeError,
    ServerError,
)
from ray_jobs_client.logs import (
    LogCursor,
    LogDownload,
    stream_closed_by_server,
    upgrade_refusal,
    warn_log_unsendable,
)

if TYPE_CHECKING:
    from ray_jobs_client._sync.server import JobServer
    from ray_jobs_client.outage import Outage

__all__ = ["download", "follow"]

logger = logging.getLogger("ray_jobs_client")


def follow(server: JobServer, job_id: str) -> Generator[str, None, None]:
    """Yield the job's log as it is written, each character once, until the job has finished.

    A log the server cannot read ends the output early with one warning; the iterator still ends
    only when the job does.
    """
    try:
        with closing(_stream(server, job_id)) as texts:
            for text in texts:
                yield text
    except LogDecodeError as exc:
        warn_log_unsendable(exc)
        wait(server, job_id, None, server.settings.tail_policy.poll_interval, False, None)


def _stream(server: JobServer, job_id: str) -> Generator[str, None, None]:
    policy = server.settings.tail_policy
    cursor = LogCursor()
    failures = 0
    path = operations.tail_job_logs_path(job_id)
    outage = outage_of(server, f"following the log of job {job_id}")
    stream = server.log_stream()
    try:
        while True:
            cursor.new_connection()
            closed_by_server = False
            try:
                stream.open(path)
                outage.seen()
                while True:
                    text = stream.receive(policy.idle_check_interval)
                    if text is None:  # quiet for a while: is the job still running?
                        if (job_details(server, outage, job_id)).is_finished():
                            break
                    elif fresh := cursor.accept(text):
                        failures = 0
                        yield fresh
                reason = "the job ended"
            except StreamClosed as exc:
                reason = str(exc)
                closed_by_server = stream_closed_by_server(exc.code)
            except StreamRefused as exc:
                refusal = upgrade_refusal(job_id, exc.status_code, exc.body)
                if refusal is None:  # the WebSocket itself is refused (a proxy): poll instead
                    stream.close()
                    with closing(_poll(server, job_id, cursor, outage)) as texts:
                        for text in texts:
                            yield text
                    return
                if not outage.in_doubt(refusal):
                    raise refusal from exc
                reason = f"refused: {refusal}"  # a head going down? the status check decides
            except StreamLost as exc:
                reason = f"connection lost: {exc}"
            stream.close()
            # The stream's end is never trusted (a proxy's cut looks like the server's normal close):
            # the status decides, and a final download recovers what the stream did not deliver.
            if (job_details(server, outage, job_id)).is_finished():
                with closing(download(server, job_id, cursor, outage)) as texts:
                    for text in texts:
                        yield text
                return
            if closed_by_server:  # raises LogDecodeError if the server cannot read the log
                try:
                    with closing(download(server, job_id, cursor, outage)) as texts:
                        for text in texts:
                            yield text
                except JobNotFoundError as exc:
                    if not outage.in_doubt(exc):
                        raise
            failures += 1
            error = policy.give_up(job_id, failures, reason)
            if error is not None:
                raise error
            sleep(policy.backoff(failures))
    finally:
        stream.close()


def _poll(
    server: JobServer, job_id: str, cursor: LogCursor, outage: Outage
) -> Generator[str, None, None]:
    """Follow by downloading the log again every ``poll_interval`` (WebSockets refused)."""
    while True:
        final = (job_details(server, outage, job_id)).is_finished()  # then the log is complete
        with closing(download(server, job_id, cursor, outage)) as texts:
            for text in texts:
                yield text
        if final:
            return
        sleep(server.settings.tail_policy.poll_interval)


def download(
    server: JobServer, job_id: str, cursor: LogCursor | None = None, outage: Outage | None = None
) -> Generator[str, None, None]:
    """``GET …/logs`` streamed: yield what ``cursor`` has not delivered yet, resumed if cut (and
    through an outage of the server, within its patience).

    Before the body began, a failure is an outage (or a gateway's) and is ridden out; after, the
    download was cut and is resumed within the retry budget, which restarts whenever an attempt
    delivered something new.
    """
    operation = operations.get_job_logs(job_id)
    state = LogDownload(job_id, cursor or LogCursor())
    outage = outage or outage_of(server, f"downloading the log of job {job_id}")
    retry = server.settings.retry_policy
    attempt = 0
    body = server.download(operation)
    try:
        while True:
            state.restart()
            receiving = False
            try:
                start = body.open()
                if start.status_code != 200:
                    raise state.refused(start.status_code, start.body, start.headers)
                receiving = True
                outage.succeeded()
                while data := body.read():
                    if piece := state.feed(data):
                        yield piece
                if piece := state.finish():
                    yield piece
                return
            except (APIConnectionError, ServerError) as exc:
                if not receiving:
                    pause = outage.failed(exc)  # raises when it is no outage, or patience ran out
                else:
                    attempt = 1 if state.progressed else attempt + 1
                    if (
                        attempt > retry.max_retries
                        or not isinstance(exc, APIConnectionError)
                        or isinstance(exc, PERMANENT_CONNECTION_ERRORS)
                    ):
                        raise
                    logger.info("GET %s was cut (%s); downloading again, retry %d.", state.path, exc, attempt)
                    pause = retry.delay(attempt)
                sleep(pause)
    finally:
        body.close()
