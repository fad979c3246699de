"""A fake Ray job server on ``httpx.MockTransport``, for the fast tier: no Ray, no sockets, no waiting.

One handler, :class:`FakeJobServer`, serves the sync and the async client alike (``MockTransport``
calls a plain function from ``httpx.Client`` and ``httpx.AsyncClient``); tests pass it as
``http_client=server.http_client()`` or ``server.async_http_client()``, so the clients' real code runs
end to end: the retry transport, the flows, the generated endpoints, the log follower.

What it answers is what a live Ray 2.60 head answers (routes, status codes, bodies and their content
types; see ``openapi/jobs.yaml``): ``/api/version``; submit, list, get, stop, delete and the logs of
jobs; the log WebSocket (``…/logs/tail``, frames of whole lines, closed with 1000 once the job is
over and its log sent); and the package routes. Jobs live in memory (:class:`FakeJob`).

Tests drive it in three ways:

* **state**: :meth:`FakeJobServer.add_job`, then change a job at will (``status``, ``log``), or give
  it :class:`Step` s that the server applies one per *tick*, as if the job ran: a tick follows each
  ``GET /api/jobs/{id}`` of the job (which shows it as it was), and comes each moment a log WebSocket
  has nothing left to send;
* **records off the spec**: a job's :attr:`FakeJob.edits` change the record it is shown with (a key
  left out with :data:`OMIT`, a number sent as text, a status of a newer Ray…), and
  :attr:`FakeJobServer.stray_records` are listed after the jobs as they are (a record that is no
  job): what a broken or newer server might send, which only the reading of records is tested on;
* **faults**: :meth:`FakeJobServer.fail` scripts what goes wrong with the requests of a route: a
  lost response after the server acted (:class:`LoseResponse`), an answer instead of the server's
  (:class:`Respond`, e.g. 503 with ``Retry-After``, or a refused WebSocket upgrade), a body cut
  mid-stream (:class:`CutBody`), a refused connection (:class:`Refuse`), no answer at all
  (:class:`Silent`), a log WebSocket cut or silent (:class:`CutWebSocket`, :class:`SilentWebSocket`);
* **records**: every request is kept (:attr:`FakeJobServer.requests`, :meth:`FakeJobServer.sent`),
  faulted ones included, so "nothing was sent" or "sent exactly twice" is checked, not assumed.

Routes are named by templates, as in the spec: ``"POST /api/jobs/"``, ``"GET /api/jobs/{id}/logs"``,
``"GET /api/jobs/{id}/logs/tail"``, ``"PUT /api/packages/{protocol}/{name}"``…
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import unquote

import httpx
from drivers import AsyncDriver, Connect, Driver, SyncDriver
from wsproto.frame_protocol import FrameProtocol

__all__ = [
    "ADDRESS",
    "OMIT",
    "TERMINAL",
    "AsyncDriver",
    "Connect",
    "CutBody",
    "CutWebSocket",
    "FakeJob",
    "FakeJobServer",
    "LoseResponse",
    "Received",
    "Refuse",
    "Respond",
    "Rule",
    "Silent",
    "SilentWebSocket",
    "Step",
    "SyncDriver",
    "open_driver",
    "route_of",
]

TERMINAL = ("STOPPED", "SUCCEEDED", "FAILED")
ADDRESS = "http://jobs.example:8265"
RAY_COMMIT = "b7f4259e944bf6959f721b106adc366ddfa0c356"

_JSON = "application/json; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_GENERIC_500 = "500 Internal Server Error\n\nServer got itself in trouble"
_SUBMISSION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz123456789"
_SUBMIT_FIELDS = frozenset(
    {
        "entrypoint",
        "submission_id",
        "job_id",
        "runtime_env",
        "metadata",
        "entrypoint_num_cpus",
        "entrypoint_num_gpus",
        "entrypoint_memory",
        "entrypoint_resources",
        "entrypoint_label_selector",
    }
)
_MESSAGES = {
    "PENDING": "Job has not started yet.",
    "RUNNING": "Job is currently running.",
    "STOPPED": "Job was intentionally stopped.",
    "SUCCEEDED": "Job finished successfully.",
    "FAILED": "Job failed.",
}
_LINES_PER_FRAME = 10  # the server sends a log WebSocket frame per 10 lines (or fewer at the end)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _traceback(last_line: str, nested: bool = False) -> str:
    """A body shaped like the server's tracebacks: the useful line last (and the head's ``\\n.\\n``
    tail when the job agent's error is wrapped by the head)."""
    body = f'Traceback (most recent call last):\n  File "job_head.py", line 1, in handler\n{last_line}\n'
    if nested:
        body = (
            'Traceback (most recent call last):\n  File "job_head.py", line 1, in handler\n'
            f"RuntimeError: Request failed with status code 400: {body}.\n"
        )
    return body


# --------------------------------------------------------------------------- jobs


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: In :attr:`FakeJob.edits`: the key is left out of the record.
OMIT: Any = _Omit()
#: The statuses of a job that has not ended (a newer Ray's status may have ended it or not).
_LIVE = ("PENDING", "RUNNING")


@dataclass
class Step:
    """One tick of a job's life: new log text, a new status, or the record vanishing (deleted by
    someone else, or lost with the cluster)."""

    log: str = ""
    status: str | None = None
    vanish: bool = False
    #: Whether the new status ends the job (sets ``end_time``); by default, whether it is terminal.
    ends: bool | None = None
    #: The job's :attr:`FakeJob.edits` from this tick on (``None``: unchanged).
    edits: dict[str, Any] | None = None


@dataclass
class FakeJob:
    """A submission job as the server keeps it."""

    submission_id: str
    entrypoint: str
    status: str = "PENDING"
    log: str = ""
    metadata: dict[str, str] | None = None
    runtime_env: dict[str, Any] | None = None
    start_time: int | None = field(default_factory=_now_ms)
    end_time: int | None = None
    steps: list[Step] = field(default_factory=list)
    #: ``POST …/stop`` was accepted: the job becomes STOPPED at its next tick (fire-and-forget).
    stop_requested: bool = False
    #: How the job's record departs from what a Ray 2.60 head sends: key → the value sent instead,
    #: or :data:`OMIT` to leave the key out. Every answer that shows the job (its GET, the list) has it.
    edits: dict[str, Any] = field(default_factory=dict)

    def set_status(self, status: str, *, ended_ago: float = 0.0, ends: bool | None = None) -> None:
        """Change the status; one that ends the job sets ``end_time`` (``ended_ago`` seconds back).
        ``ends``: whether it does (a newer Ray's status, ``PREEMPTED``); by default, if it is terminal."""
        self.status = status
        if status in TERMINAL if ends is None else ends:
            self.end_time = _now_ms() - int(ended_ago * 1000)

    @property
    def terminal(self) -> bool:
        """Over, as the server sees it: a terminal status, or a newer Ray's status that ended the job."""
        return self.status in TERMINAL or (self.status not in _LIVE and self.end_time is not None)

    def details(self) -> dict[str, Any]:
        """The 15 keys of JobDetails, in the server's order (changed by :attr:`edits`)."""
        started = self.status != "PENDING"
        record = {
            "type": "SUBMISSION",
            "job_id": "03000000" if started else None,
            "submission_id": self.submission_id,
            "driver_info": (
                {"id": "03000000", "node_ip_address": "192.0.2.2", "pid": "6558"} if started else None
            ),
            "status": self.status,
            "entrypoint": self.entrypoint,
            "message": _MESSAGES.get(self.status, "Job failed."),
            "error_type": "JOB_ENTRYPOINT_COMMAND_ERROR" if self.status == "FAILED" else None,
            "start_time": self.start_time,
            "end_time": self.end_time if self.terminal else None,
            "metadata": self.metadata,
            "runtime_env": self.runtime_env,
            "driver_agent_http_address": "http://192.0.2.2:52365" if started else None,
            "driver_node_id": "ab" * 28 if started else None,
            "driver_exit_code": {"SUCCEEDED": 0, "FAILED": 1}.get(self.status),
        }
        for key, value in self.edits.items():
            if value is OMIT:
                record.pop(key, None)
            else:
                record[key] = value
        return record


# --------------------------------------------------------------------------- faults


class Fault(Protocol):
    """What goes wrong with one request. ``serve()`` runs the server's own handling (it acts:
    creates, deletes…) and returns its response; a fault may call it or not."""

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response: ...


@dataclass
class Respond:
    """Answer this instead; the server does not act (a gateway's 503, a proxy refusing an upgrade)."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        return server.response(self.status, self.body, _TEXT, self.headers)


@dataclass
class LoseResponse:
    """The server acts, then its response is lost: the connection drops before it arrives, or a
    gateway answers ``instead`` (e.g. ``Respond(504)`` after timing out)."""

    instead: Respond | None = None

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        serve().close()
        if self.instead is not None:
            return self.instead.apply(server, request, serve)
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


@dataclass
class CutBody:
    """The server acts and starts its answer; the connection drops after ``keep`` of the body (a
    fraction) or after ``keep_bytes`` bytes."""

    keep: float = 0.5
    keep_bytes: int | None = None

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        response = serve()
        body = response.read()
        cut = self.keep_bytes if self.keep_bytes is not None else int(len(body) * self.keep)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Body(body, server.chunk_bytes, cut_at=min(cut, len(body) - 1), request=request),
        )


@dataclass
class Refuse:
    """The connection is refused: nothing reaches the server. ``cause`` is the low-level error
    (a TLS or DNS failure, to test what is never retried)."""

    cause: BaseException | None = None

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        cause = self.cause or ConnectionRefusedError(111, "Connection refused")
        raise httpx.ConnectError(str(cause), request=request) from cause


@dataclass
class Silent:
    """The server never answers: the attempt waits out the read timeout the transport gave it (as the
    network would), then times out."""

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        time.sleep(request.extensions["timeout"]["read"])
        raise httpx.ReadTimeout("no answer", request=request)


@dataclass
class CutWebSocket:
    """The log WebSocket is upgraded, then cut after ``after_frames`` frames: ``"eof"`` drops the
    connection without a close frame (a reset, a proxy's timeout), ``"going_away"`` closes with
    1001, ``"normal"`` with 1000 (as the server does when its log reader fails, job still running)."""

    after_frames: int = 1
    how: Literal["eof", "going_away", "normal"] = "eof"

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        response = serve()
        feed = _feed_of(response)
        if feed is not None:
            feed.cut_after_frames, feed.cut_with = self.after_frames, self.how
        return response


@dataclass
class SilentWebSocket:
    """The log WebSocket is upgraded and then never sends anything (a proxy that buffers): only the
    follower's own status checks can tell that the job ended."""

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        response = serve()
        feed = _feed_of(response)
        if feed is not None:
            feed.silent = True
        return response


Matcher = str | Callable[[httpx.Request], bool]


@dataclass(frozen=True)
class Received:
    """One request as it arrived (a retried request is the same ``httpx.Request`` each time, so
    what changes between attempts is copied here)."""

    request: httpx.Request
    #: ``time.monotonic()`` on arrival.
    at: float
    #: The httpx timeouts this attempt was given (the retry transport cuts them to its deadline).
    timeout: dict[str, float | None]

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def url(self) -> httpx.URL:
        return self.request.url

    @property
    def headers(self) -> httpx.Headers:
        return self.request.headers

    def json(self) -> Any:
        return json.loads(self.request.content)

    @property
    def route(self) -> str:
        return route_of(self.request)


@dataclass
class Rule:
    """A fault for the requests ``when`` matches: the first ``skip`` of them are left alone (whatever
    other rules do with them), the next ``times`` (``None``: all) get the fault, unless an earlier
    rule claims them. ``afterwards`` runs once the last of them was faulted."""

    fault: Fault
    when: Matcher
    times: int | None = 1
    skip: int = 0
    afterwards: Callable[[], None] | None = None
    #: How many requests this rule faulted.
    fired: int = 0

    def claims(self, server: FakeJobServer, request: httpx.Request) -> bool:
        if not server.matches(request, self.when):
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        return self.times is None or self.fired < self.times


# --------------------------------------------------------------------------- the server


class FakeJobServer:
    """The job server of one Ray head, in memory. Call it with an ``httpx.Request`` (it is the
    ``MockTransport`` handler)."""

    def __init__(self, ray_version: str = "2.60.0", session_name: str = "session_fake_1") -> None:
        self.ray_version = ray_version
        self.session_name = session_name
        self.jobs: dict[str, FakeJob] = {}
        self.packages: dict[str, bytes] = {}
        self.requests: list[Received] = []
        self.rules: list[Rule] = []
        self.websockets: list[_LogFeed] = []
        #: Listed after the jobs by ``GET /api/jobs/``, as they are: records that are no job (not an
        #: object, no status…), as a broken server might send.
        self.stray_records: list[Any] = []
        #: Ray ≥ 2.50 writes a job's record again (FAILED, ``Entrypoint not found.``) when it is
        #: deleted too soon after the job ended; this many seconds after ``end_time`` count as too
        #: soon (None: never, the default).
        self.recreate_deleted_within: float | None = None
        #: Bodies are sent in pieces of this many bytes (a streamed reader sees several).
        self.chunk_bytes = 4096
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ for tests

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` whose every request this server answers."""
        return httpx.Client(transport=httpx.MockTransport(self), **kwargs)

    def async_http_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` whose every request this server answers (the same handler)."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self), **kwargs)

    def add_job(
        self,
        submission_id: str = "raysubmit_fake",
        *,
        entrypoint: str = "python job.py",
        status: str = "RUNNING",
        log: str = "",
        steps: list[Step] | None = None,
        ended_ago: float = 60.0,
        ends: bool | None = None,
        edits: dict[str, Any] | None = None,
    ) -> FakeJob:
        """A job already on the cluster (ended ``ended_ago`` seconds ago if ``status`` ends it: see
        :meth:`FakeJob.set_status`), its record changed by ``edits`` (see :attr:`FakeJob.edits`)."""
        job = FakeJob(
            submission_id,
            entrypoint,
            log=log,
            metadata={},
            runtime_env={},
            steps=steps or [],
            edits=edits or {},
        )
        job.set_status(status, ended_ago=ended_ago, ends=ends)
        with self._lock:
            self.jobs[submission_id] = job
        return job

    def fail(
        self,
        fault: Fault,
        *,
        when: Matcher,
        times: int | None = 1,
        skip: int = 0,
        afterwards: Callable[[], None] | None = None,
    ) -> Rule:
        """Script a fault (see :class:`Rule`); rules are tried in the order they were added."""
        rule = Rule(fault, when, times, skip, afterwards)
        self.rules.append(rule)
        return rule

    def restart_cluster(self, session_name: str = "session_fake_2") -> None:
        """The head comes back as a new cluster: another session, no jobs, no packages."""
        with self._lock:
            self.session_name = session_name
            self.jobs.clear()
            self.packages.clear()

    def sent(self, route: Matcher) -> list[Received]:
        """The requests received for ``route`` (e.g. ``"POST /api/jobs/"``), faulted ones included."""
        return [received for received in self.requests if self.matches(received.request, route)]

    def after_connect(self) -> list[Received]:
        """Every request but the version checks."""
        return [received for received in self.requests if received.route != "GET /api/version"]

    def matches(self, request: httpx.Request, when: Matcher) -> bool:
        return route_of(request) == when if isinstance(when, str) else when(request)

    def version(self) -> dict[str, str]:
        return {
            "version": "4",
            "ray_version": self.ray_version,
            "ray_commit": RAY_COMMIT,
            "session_name": self.session_name,
        }

    def tick(self, job: FakeJob) -> bool:
        """Advance the job by one step of its life; False if it has none left."""
        with self._lock:
            if job.stop_requested and not job.terminal:
                job.set_status("STOPPED")
                job.steps.clear()
                return True
            if not job.steps:
                return False
            step = job.steps.pop(0)
            job.log += step.log
            if step.status is not None:
                job.set_status(step.status, ends=step.ends)
            if step.edits is not None:
                job.edits = dict(step.edits)
            if step.vanish:
                self.jobs.pop(job.submission_id, None)
            return True

    def response(
        self, status: int, body: str | bytes, content_type: str | None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """A response as the server sends it: its ``Date``, the body in pieces of ``chunk_bytes``."""
        data = body.encode() if isinstance(body, str) else body
        all_headers = {"Date": email.utils.formatdate(usegmt=True), "Content-Length": str(len(data))}
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        return httpx.Response(status, headers=all_headers, stream=_Body(data, self.chunk_bytes))

    # ------------------------------------------------------------------ the handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(
                Received(request, time.monotonic(), dict(request.extensions.get("timeout", {})))
            )
            # Every rule sees every request (its `skip` counts them all); the first that claims it acts.
            claiming = [rule for rule in self.rules if rule.claims(self, request)]
            rule = claiming[0] if claiming else None
            if rule is not None:
                rule.fired += 1
        if rule is None:
            return self._serve(request)
        try:
            return rule.fault.apply(self, request, lambda: self._serve(request))
        finally:
            if rule.afterwards is not None and rule.fired == rule.times:
                rule.afterwards()

    def _serve(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            return self._route(request)

    def _route(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, _api_path(request)
        parts = [unquote(part) for part in path.split("/")[1:]]  # "api", "jobs", ...
        if path == "/api/version":
            return self._only(method, "GET", lambda: self._json(200, self.version()))
        if path == "/api/jobs/":
            return self._only(
                method, "GET,POST", lambda: self._submit(request) if method == "POST" else self._list()
            )
        if len(parts) >= 3 and parts[:2] == ["api", "jobs"] and parts[2]:
            job_id, rest = parts[2], parts[3:]
            if rest == []:
                handlers = {"GET": self._get, "DELETE": self._delete}
                if method in handlers:
                    return handlers[method](job_id)
                return self._not_allowed("DELETE,GET")
            if rest == ["stop"]:
                return self._only(method, "POST", lambda: self._stop(job_id))
            if rest == ["logs"]:
                return self._only(method, "GET", lambda: self._logs(job_id))
            if rest == ["logs", "tail"]:
                return self._only(method, "GET", lambda: self._tail(request, job_id))
        if len(parts) == 4 and parts[:2] == ["api", "packages"]:
            uri = f"{parts[2]}://{parts[3]}"
            if method == "GET":
                return self._package_exists(parts[2], uri)
            if method == "PUT":
                self.packages[uri] = request.content
                return self.response(200, b"", None)
            return self._not_allowed("GET,PUT")
        return self._text(404, "404: Not Found")

    def _only(self, method: str, allowed: str, handle: Callable[[], httpx.Response]) -> httpx.Response:
        return handle() if method in allowed.split(",") else self._not_allowed(allowed)

    def _not_allowed(self, allowed: str) -> httpx.Response:
        return self.response(405, "405: Method Not Allowed", _TEXT, {"Allow": allowed})

    def _json(self, status: int, value: object) -> httpx.Response:
        return self.response(status, json.dumps(value), _JSON)

    def _text(self, status: int, body: str) -> httpx.Response:
        return self.response(status, body, _TEXT)

    def _missing(self, job_id: str) -> httpx.Response:
        return self._text(404, f"Job {job_id} does not exist")

    def _submit(self, request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content)
        except ValueError:
            return self._text(500, _GENERIC_500)
        if not isinstance(body, dict):
            return self._text(500, _GENERIC_500)
        body = {key: value for key, value in body.items() if value is not None}
        unknown = sorted(set(body) - _SUBMIT_FIELDS)
        if unknown:
            return self._text(
                400,
                _traceback(
                    "TypeError: JobSubmitRequest.__init__() got an unexpected keyword argument "
                    f"'{unknown[0]}'"
                ),
            )
        if "entrypoint" not in body:
            return self._text(
                400,
                _traceback(
                    "TypeError: JobSubmitRequest.__init__() missing 1 required positional argument: "
                    "'entrypoint'"
                ),
            )
        submission_id = body.get("submission_id") or body.get("job_id") or _generated_id()
        if submission_id in self.jobs:
            return self._text(
                500,
                _traceback(
                    f"ValueError: Job with submission_id {submission_id} already exists. "
                    "Please use a different submission_id.",
                    nested=True,
                ),
            )
        self.jobs[submission_id] = FakeJob(
            submission_id,
            body["entrypoint"],
            metadata=body.get("metadata"),
            runtime_env=body.get("runtime_env"),
        )
        return self._json(200, {"job_id": submission_id, "submission_id": submission_id})

    def _list(self) -> httpx.Response:
        return self._json(200, [job.details() for job in self.jobs.values()] + self.stray_records)

    def _get(self, job_id: str) -> httpx.Response:
        job = self.jobs.get(job_id)
        if job is None:
            return self._missing(job_id)
        response = self._json(200, job.details())
        self.tick(job)  # the next look finds it one step further
        return response

    def _delete(self, job_id: str) -> httpx.Response:
        job = self.jobs.get(job_id)
        if job is None:
            return self._missing(job_id)
        if not job.terminal:
            return self._text(
                500,
                _traceback(
                    f"RuntimeError: Attempted to delete job '{job_id}', but it is in a non-terminal "
                    f"state {job.status}.",
                    nested=True,
                ),
            )
        del self.jobs[job_id]
        if self._recreates(job):
            ghost = FakeJob(job_id, "Entrypoint not found.", metadata={}, runtime_env={})
            ghost.set_status("FAILED")
            self.jobs[job_id] = ghost
        return self._json(200, {"deleted": True})

    def _recreates(self, job: FakeJob) -> bool:
        if self.recreate_deleted_within is None or job.end_time is None:
            return False
        if tuple(int(part) for part in self.ray_version.split(".")[:2]) < (2, 50):
            return False
        return time.time() - job.end_time / 1000 < self.recreate_deleted_within

    def _stop(self, job_id: str) -> httpx.Response:
        job = self.jobs.get(job_id)
        if job is None:
            return self._missing(job_id)
        if job.terminal:
            return self._json(200, {"stopped": False})
        job.stop_requested = True
        return self._json(200, {"stopped": True})

    def _logs(self, job_id: str) -> httpx.Response:
        job = self.jobs.get(job_id)
        if job is None:
            return self._missing(job_id)
        return self._json(200, {"logs": job.log})

    def _tail(self, request: httpx.Request, job_id: str) -> httpx.Response:
        job = self.jobs.get(job_id)
        if job is None:
            return self._missing(job_id)  # refused before the upgrade, as the server does
        if request.headers.get("upgrade", "").lower() != "websocket":
            return self._text(500, "500: WebSocket proxy error")
        feed = _LogFeed(self, job)
        self.websockets.append(feed)
        stream = _AsyncWebSocketStream(feed) if _in_event_loop() else _SyncWebSocketStream(feed)
        return httpx.Response(
            101,
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
            extensions={"network_stream": stream},
        )

    def _package_exists(self, protocol: str, uri: str) -> httpx.Response:
        if protocol != "gcs":
            return self._text(500, _GENERIC_500)
        if uri in self.packages:
            return self.response(200, b"", None)
        return self._text(404, f"Package {uri} does not exist")


def route_of(request: httpx.Request) -> str:
    """``"<METHOD> <route template>"`` of a request, e.g. ``"GET /api/jobs/{id}/logs"``."""
    path = _api_path(request)
    parts = path.split("/")
    if path.startswith("/api/jobs/") and len(parts) > 3 and parts[3]:
        template = "/".join(["", "api", "jobs", "{id}", *parts[4:]])
    elif path.startswith("/api/packages/") and len(parts) == 5:
        template = "/api/packages/{protocol}/{name}"
    else:
        template = path
    return f"{request.method} {template}"


def _api_path(request: httpx.Request) -> str:
    """The path from ``/api/`` on, still percent-encoded (a base URL may add a prefix before it)."""
    raw = request.url.raw_path.decode("ascii").split("?", 1)[0]
    start = raw.find("/api/")
    return raw[start:] if start >= 0 else raw


def _generated_id() -> str:
    return "raysubmit_" + "".join(secrets.choice(_SUBMISSION_ALPHABET) for _ in range(16))


def _in_event_loop() -> bool:
    """Is the handler serving the async client? (``MockTransport`` calls it inside the event loop.)"""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# --------------------------------------------------------------------------- bodies


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body sent in pieces, for the sync and the async client; cut (the connection dropped) after
    ``cut_at`` bytes if given."""

    def __init__(
        self, data: bytes, chunk: int, cut_at: int | None = None, request: httpx.Request | None = None
    ) -> None:
        self._data, self._chunk, self._cut_at, self._request = data, chunk, cut_at, request

    def __iter__(self) -> Iterator[bytes]:
        end = len(self._data) if self._cut_at is None else self._cut_at
        for start in range(0, end, self._chunk):
            yield self._data[start : min(start + self._chunk, end)]
        if self._cut_at is not None:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body (incomplete chunked read)",
                request=self._request,
            )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self:
            yield piece


# --------------------------------------------------------------------------- the log WebSocket


class _LogFeed:
    """The server's side of one log WebSocket: the job's log from its start (the server replays it on
    every connection) in frames of at most 10 lines, then a close with 1000 once the job is over."""

    def __init__(self, server: FakeJobServer, job: FakeJob) -> None:
        self.server = server
        self.job = job
        self.frames = 0
        self.cut_after_frames: int | None = None
        self.cut_with: Literal["eof", "going_away", "normal"] = "eof"
        self.silent = False
        #: What the client sent (its close frame, when it closes).
        self.received = bytearray()
        self.client_closed = False
        self._sent_chars = 0
        self._protocol = FrameProtocol(client=False, extensions=[])
        self._pending = b""
        self._over = False

    def read(self, max_bytes: int) -> bytes | None:
        """The next bytes for the client; ``b""`` when the connection is gone; None: nothing yet."""
        if not self._pending:
            self._pending = self._next()
        if self._pending is None:
            return None
        data, self._pending = self._pending[:max_bytes], self._pending[max_bytes:]
        return data

    def _next(self) -> bytes | None:
        with self.server._lock:
            if self._over or self.client_closed:
                return b""
            if self.cut_after_frames is not None and self.frames >= self.cut_after_frames:
                self._over = True
                code = {"eof": None, "going_away": 1001, "normal": 1000}[self.cut_with]
                return b"" if code is None else bytes(self._protocol.close(code))
            if self.silent:
                return None
            while True:
                if self.job.submission_id not in self.server.jobs:  # deleted under the stream
                    self._over = True
                    return b""
                fresh = self.job.log[self._sent_chars :]
                if fresh:
                    lines = fresh.splitlines(keepends=True)[:_LINES_PER_FRAME]
                    text = "".join(lines)
                    self._sent_chars += len(text)
                    self.frames += 1
                    return bytes(self._protocol.send_data(text, fin=True))
                if self.job.terminal:
                    self._over = True
                    return bytes(self._protocol.close(1000))
                if not self.server.tick(self.job):
                    return None  # the job runs on, silently, until a tick elsewhere changes it

    def write(self, data: bytes) -> None:
        self.received += data

    def close(self) -> None:
        self.client_closed = True


_WAIT = 0.002  # seconds between looks at the job while a WebSocket has nothing to send


class _SyncWebSocketStream:
    """httpcore's ``NetworkStream`` for httpx-ws's sync session (read in its own thread)."""

    def __init__(self, feed: _LogFeed) -> None:
        self.feed = feed

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        while (data := self.feed.read(max_bytes)) is None:
            time.sleep(_WAIT)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.feed.write(buffer)

    def close(self) -> None:
        self.feed.close()


class _AsyncWebSocketStream:
    """httpcore's ``AsyncNetworkStream`` for httpx-ws's async session."""

    def __init__(self, feed: _LogFeed) -> None:
        self.feed = feed

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        while (data := self.feed.read(max_bytes)) is None:
            await asyncio.sleep(_WAIT)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.feed.write(buffer)

    async def aclose(self) -> None:
        self.feed.close()


def _feed_of(response: httpx.Response) -> _LogFeed | None:
    stream = response.extensions.get("network_stream")
    return stream.feed if isinstance(stream, _SyncWebSocketStream | _AsyncWebSocketStream) else None


# --------------------------------------------------------------------------- both clients, one interface


def open_driver(kind: str, server: FakeJobServer, address: str = ADDRESS, **settings: Any) -> Driver:
    """A sync or async client (``kind``) on ``server``, through an httpx client of its own."""
    if kind == "sync":
        http = server.http_client()
        return SyncDriver(address, owned=http, http_client=http, **settings)
    async_http = server.async_http_client()
    return AsyncDriver(address, owned=async_http, http_client=async_http, **settings)
