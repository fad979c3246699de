"""Every tunable default of the client in one place, each with the reason for its value.

The policies that use them (:class:`~ray_jobs_client.transport.RetryPolicy`,
:class:`~ray_jobs_client.logs.TailPolicy`, :class:`~ray_jobs_client.outage.OutagePolicy`) take their
defaults from here; pass your own policy to a client to change them. Nothing is imported here, so
that the CLI's ``--help`` can show the defaults without loading the client.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- every request

#: No call can hang forever: 10 s to connect, 60 s for any read or write (a job submission waits up
#: to 10 s for an agent server-side; a whole log can be large). The clients' ``timeout`` default,
#: ``DEFAULT_TIMEOUT``, is ``httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)``.
TIMEOUT_SECONDS = 60.0
CONNECT_TIMEOUT_SECONDS = 10.0

#: The largest answer held in memory, in bytes (the clients' ``max_response_bytes``): 256 MiB. A
#: server or proxy that sends a body without end would otherwise fill the client's memory (a log that
#: never ends grew to 1.7 GiB in 8 s). The bound is far above what the job server sends a call: a list
#: of 20,000 jobs is 12 MiB (a few KiB per job with big runtime envs and metadata: ~100 MiB), and a
#: whole log read by ``get_job_logs`` costs about three times its size in memory, so 256 MiB is
#: already ~800 MiB of heap. Bigger logs are read with ``iter_job_logs``, which streams them and is
#: not bounded. Bodies are counted as decoded (a compressed body counts at its full size).
MAX_RESPONSE_BYTES = 256 * 2**20

#: The connection pool of each client: at most this many connections to the job server, of which
#: this many are kept open while idle (httpx's own defaults, stated so that they are deliberate: a
#: client passes its own transport to httpx, which then ignores ``limits=`` on the client).
MAX_CONNECTIONS = 100
MAX_KEEPALIVE_CONNECTIONS = 20

# --------------------------------------------------------------------------- retries (RetryPolicy)

#: Transient failures retried per request.
MAX_RETRIES = 5
#: Backoff before retry n: uniform in [0, min(RETRY_BACKOFF_MAX, RETRY_BACKOFF_INITIAL * 2**(n-1))].
RETRY_BACKOFF_INITIAL = 0.25
RETRY_BACKOFF_MAX = 8.0
#: Longest ``Retry-After`` honoured; a server asking for more gets this.
RETRY_AFTER_MAX = 30.0
#: A request and its retries end within this many times the longest of its timeouts.
DEADLINE_FACTOR = 2.0
#: Answers that mean "not done, try again later": too many requests, and gateway failures.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})

# --------------------------------------------------------------------------- log follower (TailPolicy)

#: Consecutive failed reconnects of the log stream before giving up with ``LogStreamError``.
TAIL_MAX_RECONNECTS = 10
TAIL_BACKOFF_INITIAL = 0.5
TAIL_BACKOFF_MAX = 8.0
#: After this long without a frame, the job's status is checked over HTTP (the socket stays open).
TAIL_IDLE_CHECK_INTERVAL = 30.0
#: Seconds between ``GET …/logs`` when polling instead of streaming.
TAIL_POLL_INTERVAL = 1.0
#: Bytes per socket read on the log WebSocket (httpx-ws's ``max_message_size_bytes``, which despite
#: its name is the read size: longer messages are reassembled, so a long log line still arrives
#: whole). Every read allocates this much, so it stays at httpx-ws's default.
WEBSOCKET_READ_BYTES = 64 * 1024

# --------------------------------------------------------------------------- outages (OutagePolicy)

#: Five minutes: longer than a dashboard restart, an ingress reload or a reconnecting port-forward.
OUTAGE_PATIENCE = 300.0
OUTAGE_BACKOFF_INITIAL = 0.5
OUTAGE_BACKOFF_MAX = 10.0
#: How often, and how far apart (seconds), a job seen before that the server suddenly does not know
#: is asked for again before the operation fails with ``JobNotFoundError``: a head going down answers
#: "does not exist" for a moment before it stops answering.
VANISHED_RECHECKS = 3
VANISHED_RECHECK_PAUSE = 1.0

# --------------------------------------------------------------------------- bodies

#: Bytes per read of a package file sent as an upload's body.
UPLOAD_CHUNK_BYTES = 1024 * 1024
#: A server's error body is kept whole in an exception's message (Ray does) up to this many
#: characters, then cut keeping its end: an HTML page from a proxy or a huge traceback should not
#: flood a log line, and a traceback's last line is the useful one.
MAX_BODY_IN_MESSAGE = 8192

# --------------------------------------------------------------------------- deletes

#: Ray's job manager (since 2.50, see ``releases.DELETE_RACE_SINCE``) writes a job's record once more,
#: as a FAILED job with entrypoint "Entrypoint not found.", when the record is deleted between the job
#: ending and the manager noticing that the job's supervisor actor has exited. It checks each
#: supervisor with a ping answered a second later, so it notices within about two seconds (measured on
#: an idle head: records re-created after deletes from 30 ms to 1.9 s after ``end_time``). A delete of
#: a job that ended less than this long ago waits until then.
DELETE_SETTLE_SECONDS = 3.0

# --------------------------------------------------------------------------- waiting

#: Seconds between two looks at a job's status while waiting for it (``wait_until_finished``,
#: ``as_completed``, ``ray-jobs stop`` and ``wait``): Ray's own loops poll once a second.
POLL_SECONDS = 1.0

# ``as_completed`` asks with one ``GET /api/jobs/`` per round or with one GET per job, whichever
# costs the server less (see ``_completion.py``).
#: What one record of ``GET /api/jobs/`` costs the server, as a fraction of one
#: ``GET /api/jobs/{id}``. Measured on Ray 2.60 on an idle head (median of 15 lists and 30 GETs): a
#: GET took 3.4-4.3 ms; lists of 10, 50 and 150 records took 6.4, 17.3 and 46.7 ms, i.e. one GET
#: plus 1/16, 1/12 and 1/15 of a GET per record (about 460 bytes each).
LISTED_RECORD_COST = 1 / 15

#: While the cluster's number of records is unknown (no list seen yet), list only when waiting on at
#: least this many jobs; fewer are asked for one by one.
FIRST_LIST_MIN_JOBS = 8

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "DEADLINE_FACTOR",
    "DELETE_SETTLE_SECONDS",
    "FIRST_LIST_MIN_JOBS",
    "LISTED_RECORD_COST",
    "MAX_BODY_IN_MESSAGE",
    "MAX_CONNECTIONS",
    "MAX_KEEPALIVE_CONNECTIONS",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRIES",
    "OUTAGE_BACKOFF_INITIAL",
    "OUTAGE_BACKOFF_MAX",
    "OUTAGE_PATIENCE",
    "POLL_SECONDS",
    "RETRY_AFTER_MAX",
    "RETRY_BACKOFF_INITIAL",
    "RETRY_BACKOFF_MAX",
    "TAIL_BACKOFF_INITIAL",
    "TAIL_BACKOFF_MAX",
    "TAIL_IDLE_CHECK_INTERVAL",
    "TAIL_MAX_RECONNECTS",
    "TAIL_POLL_INTERVAL",
    "TIMEOUT_SECONDS",
    "TRANSIENT_STATUSES",
    "UPLOAD_CHUNK_BYTES",
    "VANISHED_RECHECKS",
    "VANISHED_RECHECK_PAUSE",
    "WEBSOCKET_READ_BYTES",
]
