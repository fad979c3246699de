"""Each client's reader of job records: tolerant, and saying once what it had to bend.

:func:`~ray_jobs_client.models.job_details_from_json` reads a record tolerantly and lists how it
departs from the spec (:class:`~ray_jobs_client.models.Oddity`). A :class:`JobReader` — one per
client, handed to the calls that return jobs (``_calls.get_job_info(job_id, reader)``) — logs each
kind of oddity once, on the ``ray_jobs_client`` logger, naming the field, what was sent and what was
read: a cluster of 20,000 records with the same quirk gives one warning, not 20,000, and a client
polling a job does not repeat it every second. The state is the client's own: two clients (two
servers) each say what they saw.

A list never fails for one record: a record that is no job (not an object, or without a status, a
type or an entrypoint) is left out, and said so once per record and client, with the record (up to
:data:`NAMED_LEFT_OUT` records of one answer by name, the rest counted). Asked for alone
(``get_job_info``), the same record is an :class:`~ray_jobs_client.errors.UnexpectedResponseError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable

from .models import JobDetails, Oddity, UnreadableJobError, job_details_from_json, record_id

__all__ = ["JobReader"]

logger = logging.getLogger("ray_jobs_client")

#: How many records left out of one list are named in warnings of their own (the rest are counted):
#: a server whose every record is broken should not log 20,000 lines.
NAMED_LEFT_OUT = 10


class JobReader:
    """Reads the job records of one client's server; warns once per kind of oddity (thread-safe)."""

    def __init__(self, server: str) -> None:
        #: The server's address as shown to users (a password in it redacted).
        self.server = server
        self._told: set[Hashable] = set()
        self._lock = threading.Lock()

    def job(self, data: object) -> JobDetails:
        """One job record (``GET /api/jobs/{id}``); one that is no job raises
        :class:`~ray_jobs_client.models.UnreadableJobError` (a ``TypeError``)."""
        oddities: list[Oddity] = []
        details = job_details_from_json(data, oddities)
        if oddities:
            self.tell(oddities)
        return details

    def jobs(self, data: object) -> list[JobDetails]:
        """A list of job records (``GET /api/jobs/``), without the records that are no job."""
        if type(data) is not list:
            raise TypeError(f"expected a list of jobs, got {type(data).__name__}")
        oddities: list[Oddity] = []
        try:
            jobs = [job_details_from_json(item, oddities) for item in data]
        except UnreadableJobError:
            oddities.clear()
            jobs = []
            for item in data:  # again, one by one: a rare case, kept off the common path
                try:
                    jobs.append(job_details_from_json(item, oddities))
                except UnreadableJobError as exc:
                    oddities.append(Oddity("a job", "unreadable", item, detail=str(exc), job=record_id(item)))
        if oddities:
            self.tell(oddities)
        return jobs

    def tell(self, oddities: list[Oddity]) -> None:
        """Warn about each oddity whose kind this reader has not told yet. Records left out of a
        list are named one by one up to :data:`NAMED_LEFT_OUT` per answer, then counted."""
        new = []
        with self._lock:
            for oddity in oddities:
                if oddity.kind not in self._told:
                    self._told.add(oddity.kind)
                    new.append(oddity)
        left_out = 0
        for oddity in new:
            if oddity.problem == "unreadable":
                left_out += 1
                if left_out > NAMED_LEFT_OUT:
                    continue
            logger.warning("%s", describe(oddity, self.server))
        if left_out > NAMED_LEFT_OUT:
            logger.warning(
                "%d more job records from %s are no job and were left out of the list.",
                left_out - NAMED_LEFT_OUT,
                self.server,
            )


def describe(oddity: Oddity, server: str) -> str:
    """The warning for ``oddity`` in job records from ``server``."""
    where = f"job {oddity.job}" if oddity.job else "a job without an id"
    field = oddity.field
    once = " (said once per client)"
    if oddity.problem == "unreadable":
        return (
            f"A job record from {server} is no job ({oddity.detail}) and is left out of the list: "
            f"{_clip(oddity.sent)}"
        )
    if oddity.problem == "unknown":
        if field == "status":
            return (
                f"The job server at {server} reports the status {oddity.sent!r} ({where}), which this "
                "client does not know: a job in it counts as finished once it has an end_time, as "
                f"running until then{once}."
            )
        return (
            f"The job server at {server} reports the job type {oddity.sent!r} ({where}), which this "
            f"client does not know: kept as is{once}."
        )
    lead = f"Job records from {server} do not follow the spec: {field!r}"
    kept = "to_json_dict() gives back what was sent"
    # driver_info is read whole or not at all (its three parts are required).
    lost = "driver_info read as None" if field.startswith("driver_info.") else "read as None"
    if oddity.problem == "missing":
        return f"{lead} is missing ({where}): {lost}{once}."
    sent = f"is sent as {type(oddity.sent).__name__} {_clip(oddity.sent)} ({where})"
    if oddity.problem == "converted":
        return f"{lead} {sent}: read as {oddity.read!r}; {kept}{once}."
    return f"{lead} {sent}, not {oddity.detail}: {lost}; {kept}{once}."


def _clip(value: object, limit: int = 200) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
