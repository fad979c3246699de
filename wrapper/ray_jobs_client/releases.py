"""Which Ray releases this client serves, and the features it checks a server's release for.

Every Ray release from :data:`OLDEST_TESTED` to :data:`NEWEST_TESTED` serves the same Jobs API
(``"version": "4"``), but later releases added request fields that an older server rejects with a
400 ``TypeError`` (an unexpected keyword for its request class). The client therefore checks the
server's ``ray_version`` (from ``GET /api/version``) before it sends such a field, and fails with
:class:`~ray_jobs_client.errors.UnsupportedServerError` naming the field and the release that
brought it, as Ray's own client does for ``entrypoint_memory``. Nothing is sent in that case.

Releases and fields are the ones ``openapi/jobs.yaml`` marks with ``x-ray-since``; a unit test
keeps this table and the spec in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "AGENT_BODY_LIMIT",
    "DELETE_RACE_SINCE",
    "ENTRYPOINT_LABEL_SELECTOR",
    "ENTRYPOINT_MEMORY",
    "ENTRYPOINT_RESOURCES",
    "GATED_FEATURES",
    "NEWEST_TESTED",
    "OLDEST_TESTED",
    "PLAIN_LOG_FILES_SINCE",
    "SERVER_BODY_LIMIT",
    "Feature",
    "release_tuple",
]

#: The range of Ray releases whose job servers this client is tested against (``make compat``).
OLDEST_TESTED = "2.9.0"
NEWEST_TESTED = "2.60.0"


def release_tuple(version: str) -> tuple[int, ...]:
    """``"2.9.3"`` → ``(2, 9, 3)``; suffixes such as ``rc1`` or ``.dev0`` end the number."""
    parts = []
    for piece in version.split("."):
        match = re.match(r"\d+", piece)
        if match is None:
            break
        parts.append(int(match.group()))
        if match.end() != len(piece):
            break
    return tuple(parts)


@dataclass(frozen=True)
class Feature:
    """A request field that only servers of ``since`` and later accept."""

    #: how users name it in messages, e.g. ``"`entrypoint_memory` kwarg"``.
    name: str
    #: the spec's request fields it stands for.
    fields: tuple[str, ...]
    #: the first Ray release that accepts it, e.g. ``(2, 8)``.
    since: tuple[int, int]

    @property
    def since_text(self) -> str:
        return ".".join(map(str, self.since))

    def supported_by(self, ray_version: str) -> bool:
        return release_tuple(ray_version)[:2] >= self.since

    def message(self, ray_version: str) -> str:
        """Ray's wording: ``Ray version X is running on the cluster. <name> … Ray 2.8 or higher.``"""
        verb = "are" if len(self.fields) > 1 else "is"
        return (
            f"Ray version {ray_version} is running on the cluster. {self.name} {verb} not supported on "
            f"the Ray cluster. Please ensure the cluster is running Ray {self.since_text} or higher."
        )


# Ray's client checks these three together (Jobs API 3, Ray 2.2).
ENTRYPOINT_RESOURCES = Feature(
    "`entrypoint_num_cpus`, `entrypoint_num_gpus`, and `entrypoint_resources` kwargs",
    ("entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_resources"),
    (2, 2),
)
ENTRYPOINT_MEMORY = Feature("`entrypoint_memory` kwarg", ("entrypoint_memory",), (2, 8))
# Ray's client (2.60) checks this one with the 2.2 group, so servers 2.2 to 2.53 refuse it with a
# TypeError; its request class only gained the field in 2.54.
ENTRYPOINT_LABEL_SELECTOR = Feature(
    "`entrypoint_label_selector` kwarg", ("entrypoint_label_selector",), (2, 54)
)

#: Since this release, Ray's job manager re-creates the record of a job deleted in the moments after
#: it ended (as FAILED, "Entrypoint not found.", JOB_SUPERVISOR_ACTOR_DIED), so the client waits before
#: such a delete. Measured with raw HTTP, deleting 5 to 95 ms after ``end_time``: records came back on
#: 2.50.1 (5 of 5), 2.51.2 (4 of 5), 2.54.1 (5 of 5) and 2.60.0 (6 of 6); never on 2.9.3 (0 of 8),
#: 2.47.1 (0 of 8) or 2.49.2 (0 of 5).
DELETE_RACE_SINCE = (2, 50)

#: Since this release the dashboard's log API (``GET /api/v0/logs/file``, the fallback for a job log
#: the job server cannot read) sends a file's bytes as they are. Before, it sends them in blocks of
#: 64 KiB, each after a status byte (``1``; ``0`` and a message for an error). Read in the source of
#: Ray 2.9.3, 2.44.1 (blocks by default), 2.45.0 and 2.60.0 (bytes as they are); seen live on 2.9.3
#: and 2.60.0.
PLAIN_LOG_FILES_SINCE = (2, 45)

#: Every gated request field, for the spec consistency test.
GATED_FEATURES = (ENTRYPOINT_RESOURCES, ENTRYPOINT_MEMORY, ENTRYPOINT_LABEL_SELECTOR)

# --------------------------------------------------------------------------- body limits

#: The job server's own limit on a request body (its aiohttp ``client_max_size``): larger bodies are
#: answered 413 ``Maximum request body size 104857600 exceeded.`` (a 500 before Ray 2.45).
SERVER_BODY_LIMIT = 100 * 1024 * 1024
#: The job server hands each submission on to the job agent of its node, whose aiohttp app keeps
#: aiohttp's default limit of 1 MiB: a larger submission (e.g. a megabyte of metadata) is refused by
#: the agent, and the server reports that as a 500 whose traceback ends with aiohttp's
#: ``HTTPRequestEntityTooLarge``. Read in the source of Ray 2.9.3 and 2.60.0 and measured on both: a
#: submission of 1,048,048 bytes was accepted, one of 1,049,048 refused.
AGENT_BODY_LIMIT = 1024 * 1024
