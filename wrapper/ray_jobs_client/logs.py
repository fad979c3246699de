"""Following a job's log over the server's WebSocket, without losing or repeating a line.

The server replays the whole log on every new connection, closes with code 1000 when the job is
done, never answers pings, and can be cut by proxies at any time. So the follower:

* counts what it has delivered and, after a reconnect, skips the replayed part (:class:`LogCursor`);
* never trusts the end of the stream: it asks the job's status; if the job is not terminal it
  reconnects (with capped, jittered backoff), and once it is, it fetches ``GET …/logs`` and delivers
  any line the stream missed;
* falls back to polling ``GET …/logs`` when the WebSocket upgrade is refused (e.g. by a proxy);
* survives a log the server cannot read: one byte that is not UTF-8 makes every ``GET …/logs``
  answer 500 and the stream stop early (closed with 1000, as if the job were done). The follower
  then reads the log file through the dashboard's log API (:class:`LogFile`), the bad bytes shown
  as U+FFFD, polling it until the job ends; if that API cannot send it either, it warns once and
  ends when the job does, never failing because of the log (:func:`stream_closed_by_server`,
  :func:`warn_log_unsendable`).

Decisions live in pure helpers here; :mod:`ray_jobs_client.client` and
:mod:`ray_jobs_client.async_client` only add the I/O.
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import random
import re
from collections.abc import Mapping
from urllib.parse import unquote

import attrs

from . import defaults
from ._arguments import check_count, check_seconds
from ._core import Call, error_for_status
from .defaults import WEBSOCKET_READ_BYTES
from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    JobNotFoundError,
    LogDecodeError,
    LogStreamError,
    NotFoundError,
    UnexpectedResponseError,
)
from .transport import retry_after_seconds

__all__ = [
    "LOG_FILE_BLOCK",
    "WEBSOCKET_READ_BYTES",
    "LogCursor",
    "LogDownload",
    "LogFile",
    "LogFileDecoder",
    "LogsBodyDecoder",
    "TailPolicy",
    "stream_closed_by_server",
    "tail_path",
    "warn_log_unsendable",
]

logger = logging.getLogger("ray_jobs_client")


def tail_path(job_id: str) -> str:
    """The log WebSocket's path, the id percent-encoded as the generated endpoints encode it."""
    from . import _calls

    return _calls.tail_job_logs_path(job_id)


@attrs.define
class LogCursor:
    """Turns chunks of a log that may be replayed from its start into exactly-once output."""

    delivered: int = 0
    _position: int = 0

    def new_connection(self) -> None:
        """A new stream starts again at the first character of the log."""
        self._position = 0

    def accept(self, chunk: str) -> str:
        """The part of ``chunk`` not delivered yet (``""`` while a reconnect replays old lines)."""
        start = self._position
        self._position += len(chunk)
        if self._position <= self.delivered:
            return ""
        fresh = chunk[max(0, self.delivered - start) :]
        self.delivered = self._position
        return fresh


@attrs.frozen
class TailPolicy:
    """How hard the follower tries. The defaults survive flaky proxies without hiding a dead server."""

    #: Consecutive failed reconnects before giving up with :class:`LogStreamError`.
    max_reconnects: int = defaults.TAIL_MAX_RECONNECTS
    backoff_initial: float = defaults.TAIL_BACKOFF_INITIAL
    backoff_max: float = defaults.TAIL_BACKOFF_MAX
    #: After this long without a frame, check the job's status over HTTP (the socket stays open).
    idle_check_interval: float = defaults.TAIL_IDLE_CHECK_INTERVAL
    #: Interval between ``GET …/logs`` when polling instead of streaming.
    poll_interval: float = defaults.TAIL_POLL_INTERVAL

    def __attrs_post_init__(self) -> None:
        check_count("max_reconnects", self.max_reconnects)
        for name in ("backoff_initial", "backoff_max"):
            check_seconds(name, getattr(self, name), zero_ok=True)
        for name in ("idle_check_interval", "poll_interval"):
            check_seconds(name, getattr(self, name))

    def backoff(self, attempt: int) -> float:
        """Delay before reconnect number ``attempt`` (1-based): capped exponential with full jitter."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def give_up(self, job_id: str, attempt: int, reason: str) -> LogStreamError | None:
        """The error to raise once reconnecting has failed too often, else None."""
        if attempt <= self.max_reconnects:
            return None
        return LogStreamError(
            f"The log stream of job {job_id} kept failing ({reason}) after {self.max_reconnects} reconnects."
        )


def upgrade_refusal(job_id: str, status_code: int, body: str) -> Exception | None:
    """Classify a refused WebSocket handshake.

    Returns the exception to raise when the refusal is about the job or the credentials (unknown
    job, driver job, auth); ``None`` when the WebSocket itself is the problem (a proxy that does not
    pass upgrades), in which case the caller polls ``GET …/logs`` instead.
    """
    path = unquote(tail_path(job_id))
    error = error_for_status(status_code, body, method="GET", path=path, not_found=JobNotFoundError)
    # A route miss (`404: Not Found`) is a NotFoundError but not a JobNotFoundError: poll then.
    if isinstance(error, JobNotFoundError | BadRequestError | AuthenticationError):
        return error
    return None


def stream_closed_by_server(close_code: int) -> bool:
    """Whether a stream that ended while its job still runs was closed by the server itself.

    The server closes with 1000 once the job is done and its log sent, but also when reading the
    log fails (a byte that is not UTF-8 ends its reader, whatever the job does). With the job still
    running, the caller asks ``GET …/logs``: it answers :class:`LogDecodeError` if the log cannot be
    read, and otherwise delivers what the stream missed. Cuts by proxies and networks close with
    other codes (1006, 1001) and just reconnect.
    """
    return close_code == 1000


def warn_log_unsendable(error: LogDecodeError) -> None:
    """Tell the user, once per follow, that the job's log ends early here and why.

    Only when the log file could not be read instead either (see :class:`LogFile`). After this the
    follower sends nothing more and waits for the job to end, so that following still ends with the
    job's real status.
    """
    instead = error.__cause__
    logger.warning(
        "The server could not send the full log of job %s: it holds bytes that are not UTF-8, which "
        "the server cannot read (%s)%s. Only the part its log stream sent before them was delivered.",
        error.job_id,
        error.server_message,
        "" if instead is None else f", and the dashboard's log API could not send the file ({instead})",
    )


# --------------------------------------------------------------------------- streamed GET …/logs


@attrs.define
class LogDownload:
    """``GET …/logs`` read as a stream and resumable after a cut: decoding and exactly-once delivery.

    With ``file``, the job's log file is read through the dashboard's log API instead (see
    :class:`LogFile`). Every attempt starts again at the log's first character (there are no ranged
    reads); the :class:`LogCursor` skips what earlier attempts delivered. The I/O is the clients'.
    """

    job_id: str
    cursor: LogCursor = attrs.field(factory=LogCursor)
    file: LogFile | None = None
    _decoder: LogsBodyDecoder | LogFileDecoder = attrs.field(factory=lambda: LogsBodyDecoder())
    _start: bytes = b""  # the body's first bytes, for an error message
    _delivered_before: int = 0

    @property
    def url_path(self) -> str:
        """The path as sent (the id percent-encoded)."""
        if self.file is not None:
            return self.file.call.url
        from . import _calls

        return _calls.get_job_logs(self.job_id).url

    @property
    def path(self) -> str:
        """The path as error messages name it (the id as given, like every other call's)."""
        return unquote(self.url_path)

    def restart(self) -> None:
        self.cursor.new_connection()
        self._decoder = LogsBodyDecoder() if self.file is None else LogFileDecoder(self.file.framed)
        self._start = b""
        self._delivered_before = self.cursor.delivered

    @property
    def progressed(self) -> bool:
        """Whether this attempt delivered new text (a cut after progress starts the retry count anew)."""
        return self.cursor.delivered > self._delivered_before

    def refused(self, status_code: int, body: bytes, headers: Mapping[str, str]) -> APIStatusError:
        """The exception for a response other than 200 (``get_job_logs`` raises the same)."""
        return error_for_status(
            status_code,
            body.decode("utf-8", errors="replace"),
            method="GET",
            path=self.path,
            not_found=JobNotFoundError if self.file is None else NotFoundError,
            retry_after=retry_after_seconds(headers),
        )

    def feed(self, data: bytes) -> str:
        """The new log text in the next bytes of the body."""
        if len(self._start) < _START_KEPT:
            self._start += data[: _START_KEPT - len(self._start)]
        try:
            return self.cursor.accept(self._decoder.feed(data))
        except ValueError as exc:
            raise self._unreadable(exc) from exc

    def finish(self, final: bool = True) -> str:
        """The body is complete: the rest of the log, after checking the body was well formed.

        ``final=False`` (a log file read while the job still writes it): a character or line end
        that the body may have cut in two is left for the next read, not delivered half.
        """
        try:
            if isinstance(self._decoder, LogFileDecoder):
                return self.cursor.accept(self._decoder.close(final))
            return self.cursor.accept(self._decoder.close())
        except ValueError as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: ValueError) -> UnexpectedResponseError:
        snippet = self._start.decode("utf-8", errors="replace")
        return UnexpectedResponseError(
            200,
            snippet,
            method="GET",
            path=self.path,
            message=f"GET {self.path} answered 200 with an unreadable body ({exc}), starting {snippet!r}",
        )


# --------------------------------------------------------------------------- the log file itself


@attrs.frozen
class LogFile:
    """A job's log file as the dashboard's log API serves it: the fallback for a log the job server
    cannot send.

    The job server reads a job's log as UTF-8 text, strictly, so one byte that is not UTF-8 makes
    ``GET …/logs`` answer 500 (:class:`~ray_jobs_client.errors.LogDecodeError`) and its WebSocket
    stop at the 8 KiB block holding the byte (closed with 1000, nothing of that block sent). The
    dashboard's log API (``GET /api/v0/logs/file``, the route ``ray logs`` uses, on the same port)
    sends the file's bytes as they are; :class:`LogFileDecoder` turns them into the text the job
    server would have sent, the bad bytes replaced by U+FFFD.

    ``framed``: before Ray 2.45 that API puts a status byte before each block it sends (see
    :class:`LogFileDecoder`). ``cause`` is the job server's refusal, raised again if this fails too.
    """

    #: the request (``GET /api/v0/logs/file?node_id=…&filename=job-driver-<id>.log&lines=-1``).
    call: Call[str]
    framed: bool
    cause: LogDecodeError


#: Before Ray 2.45 the log API sends a file in blocks of this many bytes, each after a status byte.
LOG_FILE_BLOCK = 64 * 1024


class LogFileDecoder:
    """Decodes a job's log file, piece by piece, into the text the job server would send.

    As the job server reads it (Python text mode): UTF-8, every line end (``\\r\\n``, ``\\r``) as
    ``\\n`` — so that the text lines up, character for character, with what its WebSocket already
    delivered — except that a byte sequence that is not UTF-8 becomes U+FFFD instead of an error.

    ``framed`` (Ray before 2.45): the body is a series of blocks, each a status byte then up to
    :data:`LOG_FILE_BLOCK` bytes of the file — ``1`` for data; ``0`` starts the API's error
    message, which ends the body (raised as :class:`ValueError` by :meth:`close`).
    """

    def __init__(self, framed: bool) -> None:
        self._framed = framed
        self._text = io.IncrementalNewlineDecoder(
            codecs.getincrementaldecoder("utf-8")(errors="replace"), translate=True
        )
        self._block_left = 0  # bytes of the current block still to come
        self._error: bytearray | None = None

    def feed(self, data: bytes) -> str:
        """Take the next bytes of the body; return the log text they complete."""
        if not self._framed:
            return str(self._text.decode(data))
        pieces = []
        position = 0
        while position < len(data):
            if self._error is not None:
                self._error += data[position:]
                break
            if self._block_left == 0:
                status = data[position : position + 1]
                position += 1
                if status == b"1":
                    self._block_left = LOG_FILE_BLOCK
                elif status == b"0":
                    self._error = bytearray()
                else:
                    raise ValueError(f"expected a block's status byte (b'1' or b'0'), got {status!r}")
                continue
            taken = data[position : position + self._block_left]
            pieces.append(taken)
            position += len(taken)
            self._block_left -= len(taken)
        return str(self._text.decode(b"".join(pieces)))

    def close(self, final: bool = True) -> str:
        """The body is complete: the last of the log (with ``final=False``, a character or a
        ``\\r`` the body may have cut off stays undelivered: the next read of the file has it)."""
        if self._error is not None:
            message = " ".join(self._error.decode("utf-8", errors="replace").split())
            raise ValueError(f"the log API failed: {message}")
        return str(self._text.decode(b"", final=True)) if final else ""


_LOGS_PREFIX = re.compile(r'[ \t\n\r]*\{[ \t\n\r]*"logs"[ \t\n\r]*:[ \t\n\r]*"')
#: Longest start of a body that may still turn out to be ``{"logs": "``, whitespace included.
_PREFIX_LOOKAHEAD = 64
#: Longest escape sequence: a surrogate pair, ``\ud83d\ude00``.
_LONGEST_ESCAPE = 12
#: How much of a body's start an error message quotes.
_START_KEPT = 300


class LogsBodyDecoder:
    """Decodes a ``GET …/logs`` body, ``{"logs": "…"}``, piece by piece as it arrives.

    The log is one JSON string, so it can be handed on while the rest is still downloading: each
    piece is cut where no escape sequence (or UTF-8 character, or surrogate pair) is split, and
    decoded by :func:`json.loads`. A body of another shape is buffered and parsed whole at the end.
    Malformed bodies raise :class:`ValueError` from :meth:`close`.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._text = ""  # decoded, not handed on yet
        self._state = "prefix"  # → "string" → "suffix"; or "whole" for any other shape
        self._scanned = 0  # how far `_text` has been searched for the closing quote

    def feed(self, data: bytes) -> str:
        """Take the next bytes of the body; return the log text they complete."""
        self._text += self._utf8.decode(data)
        return self._advance()

    def close(self) -> str:
        """The body is complete: return the last of the log (or all of it, for an odd shape)."""
        self._text += self._utf8.decode(b"", final=True)
        out = self._advance()
        if self._state == "string":
            raise ValueError("the body ends inside the log string")
        if self._state == "suffix":
            rest = json.loads('{"logs": ""' + self._text)  # checks the object closes properly
            if not isinstance(rest, dict):
                raise ValueError("the body is not a JSON object")
            return out
        whole = json.loads(self._text)
        logs = whole.get("logs") if isinstance(whole, dict) else None
        if not isinstance(logs, str):
            raise ValueError('the body is not {"logs": <string>}')
        return out + logs

    def _advance(self) -> str:
        if self._state == "prefix":
            match = _LOGS_PREFIX.match(self._text)
            if match:
                self._text = self._text[match.end() :]
                self._state = "string"
            elif len(self._text) > _PREFIX_LOOKAHEAD:
                self._state = "whole"
        if self._state != "string":
            return ""
        end = self._closing_quote()
        if end is not None:
            piece, self._text = self._text[:end], self._text[end + 1 :]
            self._state = "suffix"
        else:
            cut = self._safe_cut()
            piece, self._text = self._text[:cut], self._text[cut:]
            self._scanned = max(0, self._scanned - cut)
        return str(json.loads(f'"{piece}"')) if piece else ""

    def _closing_quote(self) -> int | None:
        """Index of the first ``"`` in ``_text`` that no backslash escapes, if it has arrived."""
        text = self._text
        position = text.find('"', self._scanned)
        while position != -1:
            if _backslashes_before(text, position) % 2 == 0:
                return position
            position = text.find('"', position + 1)
        self._scanned = len(text)
        return None

    def _safe_cut(self) -> int:
        """Longest prefix of ``_text`` that ends neither inside an escape nor on a high surrogate."""
        text = self._text
        cut = len(text)
        last = text.rfind("\\", max(0, cut - _LONGEST_ESCAPE))
        if last != -1 and _backslashes_before(text, last + 1) % 2 == 1:
            escape = text[last:]  # the last escape sequence starts here
            if len(escape) < 2 or (escape[1] == "u" and len(escape) < 6):
                cut = last
        # A `\uD800` to `\uDBFF` escape is half a character: its low half may be in the next piece.
        if (
            cut >= 6
            and text[cut - 5] == "u"
            and "d800" <= text[cut - 4 : cut].lower() <= "dbff"
            and _backslashes_before(text, cut - 5) % 2 == 1
        ):
            cut -= 6
        return cut


def _backslashes_before(text: str, end: int) -> int:
    """How many backslashes directly precede ``text[end]``."""
    start = end
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return end - start
