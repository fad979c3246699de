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
    "DELETE_RACE_SINCE",
    "ENTRYPOINT_LABEL_SELECTOR",
    "ENTRYPOINT_MEMORY",
    "ENTRYPOINT_RESOURCES",
    "GATED_FEATURES",
    "MAKE_TEST_RELEASES",
    "NEWEST_TESTED",
    "OLDEST_TESTED",
    "TESTED_RELEASES",
    "Feature",
    "release_tuple",
]

# ------------------------------------------------------------------ the one table of tested releases
# The package (the range below), the tools (``tools/ray_releases.py``, ``tools/compat.py``), the
# Makefile (``python tools/ray_releases.py list …``) and the tests all read these two tuples; a unit
# test holds pyproject's ``ray[default]`` pin and the README's table to them.

#: Every Ray release ``make compat`` proves, oldest first (the README's table lists the same): the
#: oldest and newest supported, the releases on each side of every change the spec dates
#: (``x-ray-since``, ``x-ray-behaviour-since``), and a few between. The last is the release the test
#: venv installs (pyproject's ``ray[default]`` pin), whose head the whole suite runs against.
TESTED_RELEASES: tuple[str, ...] = (
    "2.9.3",
    "2.12.0",
    "2.20.0",
    "2.24.0",
    "2.31.0",  # last without session_name
    "2.32.0",
    "2.40.0",
    "2.44.1",  # last with the dashboard's JSON failure bodies and 500 for oversized bodies
    "2.45.0",
    "2.47.1",
    "2.49.2",  # last with error_type always null
    "2.51.2",  # last without token authentication; last that needs a User-Agent
    "2.52.1",
    "2.53.0",  # last with the POST/PUT-only browser guard; last without entrypoint_label_selector
    "2.54.1",
    "2.58.1",  # last without env_vars redaction for browsers
    "2.59.0",
    "2.60.0",
)

#: The older releases whose heads ``make test`` also runs the release suite against (the rest are
#: ``make compat``'s): the oldest supported and one from the middle of the range (after
#: /api/version gained session_name and the dashboard its WebSocket proxy, before token
#: authentication, the browser guard and label selectors).
MAKE_TEST_RELEASES: tuple[str, ...] = ("2.9.3", "2.47.1")


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


#: The range of Ray releases whose job servers this client is tested against (``make compat``): from
#: the first patch release of the oldest tested minor release to the newest tested release.
OLDEST_TESTED = "{}.{}.0".format(*release_tuple(TESTED_RELEASES[0])[:2])
NEWEST_TESTED = TESTED_RELEASES[-1]


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

#: Every gated request field, for the spec consistency test.
GATED_FEATURES = (ENTRYPOINT_RESOURCES, ENTRYPOINT_MEMORY, ENTRYPOINT_LABEL_SELECTOR)
