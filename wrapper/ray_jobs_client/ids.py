"""Which job ids the job server can store and serve, checked before anything is sent.

The server names each job's driver log file after its submission id (``job-driver-<id>.log``) and
routes ``/api/jobs/<id>`` after decoding the path. Measured on live heads: a submission id that is
not a valid file name — one holding ``/`` or a NUL byte, or longer than 240 bytes in UTF-8 (the
file name would pass 255 bytes) — leaves a record whose job never runs: Ray 2.60 answers the submit
with 500 *after* storing a PENDING record that no call can stop or delete; Ray 2.9 answers 200, then
the job fails or stays PENDING (with a ``/``, its record cannot be deleted). ``.`` and ``..`` are
accepted, but the router normalises them away, so the job can never be looked up again. Such ids
are refused here with a :class:`ValueError`.
"""

from __future__ import annotations

from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["MAX_SUBMISSION_ID_BYTES", "check_job_id", "check_submission_id"]

#: 255 bytes of file name minus ``job-driver-`` and ``.log``.
MAX_SUBMISSION_ID_BYTES = 240

_DOT_SEGMENTS = (".", "..")


def check_job_id(job_id: object) -> str:
    """``job_id`` (a submission id or a Ray job id) if the server can route it: not empty, not
    whitespace only, not ``.`` or ``..``; else :class:`ValueError` (:class:`TypeError` if not a string)."""
    if not isinstance(job_id, str):
        raise InvalidArgumentTypeError(f"job_id must be a string, got {type(job_id)}", parameter="job_id")
    if not job_id.strip():
        raise InvalidArgumentError(
            f"job_id must not be empty or whitespace, got {job_id!r}", parameter="job_id"
        )
    if job_id in _DOT_SEGMENTS:
        raise InvalidArgumentError(
            f"job_id {job_id!r} cannot be looked up: the server's router drops '.' and '..'",
            parameter="job_id",
        )
    try:
        job_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            f"job_id {job_id!r} holds a lone surrogate, which UTF-8 cannot carry", parameter="job_id"
        ) from None
    return job_id


def check_submission_id(submission_id: str, name: str = "submission_id") -> None:
    """Refuse, with a :class:`ValueError` naming ``name`` and the rule, a submission id the server
    would store but never run, serve, stop or delete (see the module's description)."""
    if not submission_id.strip():
        raise InvalidArgumentError(
            f"{name} must not be whitespace only, got {submission_id!r}", parameter=name
        )
    if submission_id in _DOT_SEGMENTS:
        raise InvalidArgumentError(
            f"{name} {submission_id!r} is not allowed: the server stores the job, but its router drops "
            "'.' and '..', so the job could never be looked up, stopped or deleted",
            parameter=name,
        )
    for character, what in (("/", "a '/'"), ("\x00", "a NUL byte")):
        if character in submission_id:
            raise InvalidArgumentError(
                f"{name} {submission_id!r} is not allowed: it holds {what}, which cannot be part of the "
                "job's log file name (the server would keep a PENDING job that cannot be stopped or deleted)",
                parameter=name,
            )
    try:
        submission_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(
            f"{name} {submission_id!r} holds a lone surrogate, which UTF-8 cannot carry", parameter=name
        ) from None
    size = len(submission_id.encode("utf-8"))
    if size > MAX_SUBMISSION_ID_BYTES:
        raise InvalidArgumentError(
            f"{name} is {size} bytes long in UTF-8; the server allows at most {MAX_SUBMISSION_ID_BYTES} "
            f"(it names the job's log file after it): {submission_id[:40]!r}…",
            parameter=name,
        )
