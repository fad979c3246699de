"""``ray-jobs``: the ``ray job`` command line (Ray 2.60) without Ray.

Same subcommands, options, environment variables and exit codes as ``ray job``: ``submit``,
``status``, ``logs``, ``stop``, ``delete``, ``list``. Differences are additions: ``--format json`` on
``status`` and ``list`` for scripts, a table for ``list``, a follower that survives dropped
connections, and a one-line error (exit 1) instead of a traceback for user errors. Usage errors exit 2
and show the subcommand's usage.

``wait`` (not in ``ray job``) waits for several jobs at once, printing each as it finishes.

Exit codes are ``ray job``'s: ``submit`` exits 1 when the job it follows FAILED and 0 when it
SUCCEEDED or was STOPPED; ``logs --follow`` exits 0 whatever the job's end; any error exits 1.
``wait`` exits 0 when every job SUCCEEDED, 1 when some FAILED or were STOPPED (or on an error), and
124 (as ``timeout(1)``) when ``--timeout`` passed first. A log the job server cannot send (bytes
that are not UTF-8) is printed from the log file instead (through the dashboard's log API), those
bytes as U+FFFD; should that fail too, following is not an error: what the stream sent is printed,
a warning goes to stderr, and the command ends with the job's status.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import sys
import threading
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from .defaults import OUTAGE_PATIENCE

if TYPE_CHECKING:  # imported lazily at run time: `ray-jobs --help` stays fast
    from .client import JobSubmissionClient
    from .models import JobDetails

__all__ = ["main"]

PROG = "ray-jobs"


class UserError(Exception):
    """A mistake in what the user typed: reported in one line, exit code 1."""


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: an unknown option is reported with the subcommand's usage (exit 2).

    (argparse otherwise hands unknown arguments back to the top-level parser, whose usage line says
    nothing about the subcommand's options.)
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


# --------------------------------------------------------------------------- output helpers


class Output:
    """Where and how to print: colours only on a terminal (and never with NO_COLOR)."""

    def __init__(self, stream: TextIO = sys.stdout, color: str = "auto") -> None:
        self.stream = stream
        if color == "auto":
            self.color = stream.isatty() and "NO_COLOR" not in os.environ
        else:
            self.color = color == "true"

    def line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def raw(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def banner(self, text: str, code: str) -> None:
        rule = "-" * len(text)
        self.line()
        for part in (rule, text, rule):
            self.line(self.paint(part, code))
        self.line()


GREEN, RED, YELLOW, BOLD = "32", "31", "33", "1"


def _log_job_status(out: Output, details: JobDetails) -> None:
    """Ray's final status report."""
    job_id = details.submission_id or details.job_id
    if details.status == "SUCCEEDED":
        out.banner(f"Job '{job_id}' succeeded", GREEN)
    elif details.status == "STOPPED":
        out.line(out.paint(f"Job '{job_id}' was stopped", YELLOW))
    elif details.status == "FAILED":
        out.banner(f"Job '{job_id}' failed", RED)
        if details.message is not None:
            out.line(f"Status message: {details.message}")
    else:
        out.line(f"Status for job '{job_id}': {details.status}")
        if details.message is not None:
            out.line(f"Status message: {details.message}")


# --------------------------------------------------------------------------- argument parsing


def _json_object(what: str) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{what} is not valid JSON ({exc}): {text}") from exc
        if not isinstance(value, dict):
            raise UserError(f"{what} must be a JSON object, got: {text}")
        return value

    return parse


def _verify(text: str) -> bool | str:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    return text


DEFAULT_OUTAGE_PATIENCE = OUTAGE_PATIENCE


def _patience(text: str) -> float | None:
    if text.strip().lower() in ("forever", "none", "inf"):
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or 'forever', got {text!r}") from None
    if not 0 <= seconds <= threading.TIMEOUT_MAX:  # longer waits cannot be timed
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds (or 'forever'), got {text!r}")
    return seconds


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < seconds <= threading.TIMEOUT_MAX:  # longer waits cannot be timed
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return seconds


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--address",
        default=None,
        help="Job server URL, e.g. http://127.0.0.1:8265 (RAY_API_SERVER_ADDRESS, RAY_ADDRESS win).",
    )
    parser.add_argument("--headers", default=None, help="JSON object of HTTP headers (else RAY_JOB_HEADERS).")
    parser.add_argument(
        "--verify",
        type=_verify,
        default=True,
        help="TLS verification: true/false, or a CA bundle file or directory (default: true).",
    )
    parser.add_argument(
        "--outage-patience",
        type=_patience,
        default=DEFAULT_OUTAGE_PATIENCE,
        metavar="SECONDS",
        help="While following or waiting, keep trying this long when the server is unreachable "
        f"(default: {DEFAULT_OUTAGE_PATIENCE:g}; 'forever' never gives up).",
    )
    parser.add_argument(
        "--log-style", choices=("auto", "record", "pretty"), default="auto", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--log-color", choices=("auto", "false", "true"), default="auto", help="Colour output."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="Log HTTP requests and decisions.")


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import version  # not the package: `--version` must not load httpx

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Submit, follow, stop, delete or list Ray jobs (the `ray job` CLI, without Ray).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('ray-jobs-client')}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )

    submit = commands.add_parser("submit", help="Submit a job (and follow its logs unless --no-wait).")
    _common(submit)
    submit.add_argument("--job-id", default=None, help=argparse.SUPPRESS)
    submit.add_argument("--submission-id", default=None, help="Unique id for the job (generated if absent).")
    submit.add_argument("--runtime-env", default=None, help="Path to a YAML file with the runtime_env.")
    submit.add_argument("--runtime-env-json", default=None, help="runtime_env as a JSON string.")
    submit.add_argument("--working-dir", default=None, help="Local directory (or URI) to use as working_dir.")
    submit.add_argument("--metadata-json", default=None, help="JSON object of job metadata.")
    submit.add_argument("--entrypoint-num-cpus", type=float, default=None)
    submit.add_argument("--entrypoint-num-gpus", type=float, default=None)
    submit.add_argument("--entrypoint-memory", type=int, default=None)
    submit.add_argument("--entrypoint-resources", default=None, help="JSON object of custom resources.")
    submit.add_argument("--entrypoint-label-selector", default=None, help="JSON object of node labels.")
    submit.add_argument("--no-wait", action="store_true", help="Return right after submitting.")
    submit.add_argument("entrypoint", nargs=argparse.REMAINDER, help="The command to run, after `--`.")
    submit.set_defaults(handler=_submit)

    status = commands.add_parser("status", help="Print a job's status.")
    _common(status)
    status.add_argument("job_id")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(handler=_status)

    logs = commands.add_parser("logs", help="Print a job's logs.")
    _common(logs)
    logs.add_argument("job_id")
    logs.add_argument("-f", "--follow", action="store_true", help="Follow the logs until the job ends.")
    logs.set_defaults(handler=_logs)

    stop = commands.add_parser("stop", help="Stop a job (and wait for it unless --no-wait).")
    _common(stop)
    stop.add_argument("job_id")
    stop.add_argument("--no-wait", action="store_true")
    stop.set_defaults(handler=_stop)

    delete = commands.add_parser("delete", help="Delete a finished job's record.")
    _common(delete)
    delete.add_argument("job_id")
    delete.set_defaults(handler=_delete)

    wait = commands.add_parser(
        "wait",
        help="Wait for jobs to finish, printing each as it does.",
        description=(
            "Wait for one or more jobs to finish, printing each as it does. Polls every --poll seconds "
            "with one request per round for all the jobs when that is cheaper than one per job."
        ),
        epilog=(
            f"exit codes: 0 every job SUCCEEDED; 1 some FAILED or were STOPPED, or an error; "
            f"2 a usage error; {WAIT_TIMED_OUT} --timeout passed before every job finished "
            "(the jobs keep running)."
        ),
    )
    _common(wait)
    wait.add_argument("job_ids", nargs="+", metavar="JOB_ID", help="Submission ids (or Ray job ids).")
    wait.add_argument(
        "--timeout", type=_seconds, default=None, metavar="SECONDS", help="Give up after this long."
    )
    wait.add_argument(
        "--poll", type=_seconds, default=1.0, metavar="SECONDS", help="Seconds between rounds (default: 1)."
    )
    wait.set_defaults(handler=_wait)

    listing = commands.add_parser("list", help="List all jobs.")
    _common(listing)
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument(
        "--no-trunc",
        action="store_true",
        help="Do not cut long table cells to the terminal's width (nothing is cut when piped).",
    )
    listing.set_defaults(handler=_list)
    return parser


# --------------------------------------------------------------------------- commands


def _client(args: argparse.Namespace, out: Output) -> JobSubmissionClient:
    from .client import JobSubmissionClient

    headers_text = args.headers if args.headers is not None else os.environ.get("RAY_JOB_HEADERS")
    headers = None
    if headers_text is not None:
        try:
            headers = json.loads(headers_text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{_HEADERS_FORMAT}, got {headers_text}, {exc}") from exc
        if not isinstance(headers, dict):
            raise UserError(f"{_HEADERS_FORMAT}, got {headers_text}")
    client = JobSubmissionClient(
        args.address, headers=headers, verify=args.verify, outage_patience=args.outage_patience
    )
    out.line(f"Job submission server address: {client.get_address()}")  # a password is <redacted>
    return client


_HEADERS_FORMAT = 'Failed to parse headers into JSON. Expected format: {"KEY": "VALUE"}'


def _runtime_env(args: argparse.Namespace) -> dict[str, Any]:
    if args.runtime_env is not None and args.runtime_env_json is not None:
        raise UserError("Only one of --runtime_env and --runtime-env-json can be provided.")
    runtime_env: dict[str, Any] = {}
    if args.runtime_env is not None:
        import yaml

        try:
            with open(args.runtime_env, encoding="utf-8") as handle:
                loaded = yaml.safe_load(handle)
        except OSError as exc:
            raise UserError(f"Cannot read --runtime-env file {args.runtime_env}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise UserError(f"--runtime-env file {args.runtime_env} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UserError(f"--runtime-env file {args.runtime_env} must hold a mapping")
        runtime_env = loaded
    elif args.runtime_env_json is not None:
        runtime_env = _json_object("--runtime-env-json")(args.runtime_env_json)
    if args.working_dir is not None:
        if "working_dir" in runtime_env:
            logging.getLogger("ray_jobs_client").warning(
                "Overriding runtime_env working_dir with --working-dir option"
            )
        runtime_env["working_dir"] = args.working_dir
    return runtime_env


def _upload_progress(stream: TextIO) -> Callable[[str, int, int], None] | None:
    if not stream.isatty():
        return None

    def show(uri: str, sent: int, total: int) -> None:
        percent = 100 * sent // total if total else 100
        stream.write(f"\rUploading {uri}: {percent:3d}% ({sent / 2**20:.1f}/{total / 2**20:.1f} MiB)")
        if sent >= total:
            stream.write("\n")
        stream.flush()

    return show


def _submit(args: argparse.Namespace, out: Output) -> int:
    entrypoint = list(args.entrypoint)
    if entrypoint and entrypoint[0] == "--":
        entrypoint = entrypoint[1:]
    if not entrypoint:
        _usage_error("submit", "missing the entrypoint: ray-jobs submit [OPTIONS] -- COMMAND [ARGS]...")
    runtime_env = _runtime_env(args)
    metadata = _json_object("--metadata-json")(args.metadata_json) if args.metadata_json else None
    resources = (
        _json_object("--entrypoint-resources")(args.entrypoint_resources)
        if args.entrypoint_resources
        else None
    )
    selector = (
        _json_object("--entrypoint-label-selector")(args.entrypoint_label_selector)
        if args.entrypoint_label_selector
        else None
    )
    with _client(args, out) as client:
        job_id = client.submit_job(
            entrypoint=shlex.join(entrypoint),
            submission_id=args.submission_id,
            job_id=args.job_id,
            runtime_env=runtime_env,
            metadata=metadata,
            entrypoint_num_cpus=args.entrypoint_num_cpus,
            entrypoint_num_gpus=args.entrypoint_num_gpus,
            entrypoint_memory=args.entrypoint_memory,
            entrypoint_resources=resources,
            entrypoint_label_selector=selector,
            upload_progress=_upload_progress(sys.stderr),
        )
        out.banner(f"Job '{job_id}' submitted successfully", GREEN)
        out.line("Next steps")
        for label, command in (
            ("Query the logs of the job:", "logs"),
            ("Query the status of the job:", "status"),
            ("Request the job to be stopped:", "stop"),
        ):
            out.line(f"  {label}")
            out.line("    " + out.paint(f"{PROG} {command} {job_id}", BOLD))
        out.line()
        if args.no_wait:
            return 0
        out.line("Tailing logs until the job exits (disable with --no-wait):")
        details = _follow(client, job_id, out)
        return 1 if details.status == "FAILED" else 0  # `ray job submit`: STOPPED is 0 too


def _follow(client: JobSubmissionClient, job_id: str, out: Output) -> JobDetails:
    """Print the logs as they come; Ctrl-C detaches (the job keeps running)."""
    try:
        for chunk in client.follow_job_logs(job_id):
            out.raw(chunk)
    except KeyboardInterrupt:
        out.line()
        out.line(f"Detached from job '{job_id}'; it keeps running on the cluster.")
        out.line(f"  Follow it again: {PROG} logs --follow {job_id}")
        out.line(f"  Stop it:         {PROG} stop {job_id}")
        raise
    details = client.get_job_info(job_id)
    _log_job_status(out, details)
    return details


def _status(args: argparse.Namespace, out: Output) -> int:
    if args.format == "json":
        with _quiet_client(args) as client:
            print(json.dumps(client.get_job_info(args.job_id).to_json_dict(), indent=2), flush=True)
        return 0
    with _client(args, out) as client:
        _log_job_status(out, client.get_job_info(args.job_id))
    return 0


def _logs(args: argparse.Namespace, out: Output) -> int:
    with _client(args, out) as client:
        if args.follow:
            _follow(client, args.job_id, out)  # `ray job logs -f` exits 0 however the job ended
        else:
            for piece in client.iter_job_logs(args.job_id):
                out.raw(piece)
    return 0


def _stop(args: argparse.Namespace, out: Output) -> int:
    with _client(args, out) as client:
        out.line(f"Attempting to stop job '{args.job_id}'")
        client.stop_job(args.job_id)
        if args.no_wait:
            return 0
        out.line(f"Waiting for job '{args.job_id}' to exit (disable with --no-wait):")

        def report(details: JobDetails) -> None:
            out.line(f"Job has not exited yet. Status: {details.status}")

        _log_job_status(out, client.wait_until_finished(args.job_id, poll=1.0, on_poll=report))
    return 0


#: ``ray-jobs wait``'s exit code when ``--timeout`` passed first (that of ``timeout(1)``).
WAIT_TIMED_OUT = 124


def _wait(args: argparse.Namespace, out: Output) -> int:
    from .errors import JobWaitTimeoutError

    job_ids = list(dict.fromkeys(args.job_ids))  # a job named twice is waited for (and shown) once
    ended: dict[str, int] = {}
    with _client(args, out) as client:
        out.line(f"Waiting for {len(job_ids)} job{'s' if len(job_ids) > 1 else ''} to finish:")
        try:
            for details in client.as_completed(job_ids, timeout=args.timeout, poll=args.poll):
                _log_job_end(out, details)
                ended[str(details.status)] = ended.get(str(details.status), 0) + 1
        except JobWaitTimeoutError as exc:
            _log_wait_summary(out, ended, len(job_ids))
            print(f"Timed out: {_one_line(exc)}", file=sys.stderr)
            return WAIT_TIMED_OUT
    _log_wait_summary(out, ended, len(job_ids))
    return 0 if ended.get("SUCCEEDED", 0) == len(job_ids) else 1


def _log_job_end(out: Output, details: JobDetails) -> None:
    """One line for a job that finished (its status message's first line when it failed)."""
    job_id = details.submission_id or details.job_id
    if details.status == "SUCCEEDED":
        out.line(out.paint(f"Job '{job_id}' succeeded", GREEN))
    elif details.status == "STOPPED":
        out.line(out.paint(f"Job '{job_id}' was stopped", YELLOW))
    else:
        why = (details.message or "").strip().splitlines()
        out.line(out.paint(f"Job '{job_id}' failed", RED) + (f": {why[0]}" if why else ""))


def _log_wait_summary(out: Output, ended: dict[str, int], total: int) -> None:
    if ended.get("SUCCEEDED", 0) == total:
        out.line(f"All {total} jobs succeeded." if total > 1 else "The job succeeded.")
        return
    counts = [
        f"{ended[status]} {word}"
        for status, word in (("SUCCEEDED", "succeeded"), ("FAILED", "failed"), ("STOPPED", "stopped"))
        if ended.get(status)
    ]
    unfinished = total - sum(ended.values())
    if unfinished:
        counts.append(f"{unfinished} unfinished")
    out.line(f"{total} jobs: {', '.join(counts)}.")


def _delete(args: argparse.Namespace, out: Output) -> int:
    with _client(args, out) as client:
        client.delete_job(args.job_id)
        out.line(f"Job '{args.job_id}' deleted successfully")
    return 0


def _list(args: argparse.Namespace, out: Output) -> int:
    if args.format == "json":
        with _quiet_client(args) as client:
            jobs = client.list_jobs()
        print(json.dumps([job.to_json_dict() for job in jobs], indent=2), flush=True)
        return 0
    with _client(args, out) as client:
        jobs = client.list_jobs()
    out.line(_table(jobs, out, width=None if args.no_trunc else _terminal_width(out.stream)))
    return 0


def _terminal_width(stream: TextIO) -> int | None:
    """The width to fit the table in: the terminal's, or ``COLUMNS``. None when piped without
    ``COLUMNS``: a script reading the table gets every cell whole (as ``ps`` and ``systemctl`` do)."""
    if stream.isatty() or "COLUMNS" in os.environ:
        return shutil.get_terminal_size().columns
    return None


def _quiet_client(args: argparse.Namespace) -> JobSubmissionClient:
    """A client whose banner goes nowhere: JSON output must be the only thing on stdout."""
    import io

    return _client(args, Output(io.StringIO(), "false"))


def _table(jobs: Sequence[JobDetails], out: Output, *, width: int | None = None) -> str:
    """One line per job (control characters escaped); the entrypoint and runtime_env columns are
    cut (ending in ``…``) so that a line fits in ``width`` characters, if given."""
    if not jobs:
        return "No jobs."
    from datetime import datetime

    def when(ms: int | None) -> str:
        return "-" if not ms else datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")

    rows = [("SUBMISSION ID", "JOB ID", "STATUS", "STARTED", "ENDED", "ENTRYPOINT", "RUNTIME ENV")]
    rows += [
        (
            job.submission_id or "-",
            job.job_id or "-",
            str(job.status),
            when(job.start_time),
            when(job.end_time),
            _escaped(job.entrypoint),
            _escaped(json.dumps(job.runtime_env, separators=(",", ":"))) if job.runtime_env else "-",
        )
        for job in jobs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    if width is not None:
        widths = _fit(widths, _ELASTIC_COLUMNS, width - _GAP * (len(widths) - 1))
    lines = []
    for index, row in enumerate(rows):
        cells = [_cut(cell, limit).ljust(limit) for cell, limit in zip(row, widths, strict=True)]
        if index == 0:
            cells = [out.paint(cell, BOLD) for cell in cells]
        else:
            cells[2] = out.paint(cells[2], _STATUS_COLOURS.get(row[2], ""))
        lines.append((" " * _GAP).join(cells).rstrip())
    return "\n".join(lines)


_GAP = 2  # spaces between columns
#: Columns that give up width when a line is too long: the entrypoint and the runtime_env.
_ELASTIC_COLUMNS = (5, 6)
#: A cut column keeps at least this many characters.
_MIN_CUT_WIDTH = 12
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(text: str) -> str:
    """``text`` on one line: newlines, tabs and other control characters written as escapes."""
    return "".join(
        _ESCAPES.get(char) or (f"\\x{ord(char):02x}" if unicodedata.category(char) == "Cc" else char)
        for char in text
    )


def _fit(widths: Sequence[int], elastic: Sequence[int], room: int) -> list[int]:
    """Column widths whose sum fits in ``room``: the widest elastic column shrinks first, none below
    ``_MIN_CUT_WIDTH`` (a table of long ids may still not fit)."""
    fitted = list(widths)
    excess = sum(fitted) - room
    while excess > 0:
        widest = max(elastic, key=lambda column: fitted[column])
        if fitted[widest] <= _MIN_CUT_WIDTH:
            break
        fitted[widest] -= 1
        excess -= 1
    return fitted


def _cut(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 1] + "…"


_STATUS_COLOURS = {"SUCCEEDED": GREEN, "FAILED": RED, "STOPPED": YELLOW, "RUNNING": BOLD}


def _usage_error(command: str, message: str) -> NoReturn:
    print(
        f"usage: {PROG} {command} [OPTIONS] -- ENTRYPOINT...\n{PROG} {command}: error: {message}",
        file=sys.stderr,
    )
    raise SystemExit(2)


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 error or FAILED job, 2 usage)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if getattr(sys.stdout, "errors", None) == "strict" and hasattr(sys.stdout, "reconfigure"):
        # A log may hold any character (U+FFFD for bytes that were not UTF-8): one the terminal's
        # encoding cannot show is printed as "?" rather than ending the command.
        sys.stdout.reconfigure(errors="replace")
    out = Output(sys.stdout, args.log_color)
    from .errors import JobsClientError

    try:
        return int(args.handler(args, out))
    except KeyboardInterrupt:
        print("Aborted!", file=sys.stderr)  # exit 1, as `ray job` (click) does on Ctrl-C
        return 1
    except BrokenPipeError:
        # The reader went away (`ray-jobs list | head -1`): nothing more to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (UserError, JobsClientError, ValueError, TypeError, OSError) as exc:
        # OSError covers ConnectionError and FileNotFoundError (a missing CA bundle or working_dir).
        print(f"Error: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    """An error as one line: a server traceback is reduced to its last line (the actual error)."""
    from .errors import APIStatusError, LogDecodeError

    if (
        isinstance(exc, APIStatusError)
        and not isinstance(exc, LogDecodeError)  # its message already names the cause
        and "\n" in exc.body.strip()
        and exc.server_message
    ):
        return f"Request failed with status code {exc.status_code}: {exc.server_message}"
    return " ".join(str(exc).split())
