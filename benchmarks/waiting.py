"""Figure 8: waiting for many jobs at once.

A batch of jobs (``sleep 0.<random>`` and ``echo``) is submitted; then four waiters watch the same
batch at the same time, each in a thread of its own, starting together the moment the last job was
submitted, each polling once a second:

* ours, ``as_completed`` (each round one list or one GET per unfinished job, whichever is cheaper);
* ours, ``wait_until_finished`` one job after another (what scripts write today);
* Ray's client as its documentation shows: a loop of ``get_job_status`` every second, job after job;
* Ray's client asking for every unfinished job each second (the script of the issue: N requests per
  round, and the only way besides ``as_completed`` to learn of each job as it ends).

Each counts the requests it sends, the bytes it receives and the time it spent waiting for answers
(an event hook on the ``http_client=`` passed to ours; a counting wrapper around
``requests.request``, which Ray's client calls once per request). On this one machine that time is
mostly the dashboard's work, so it stands for the load each waiter puts on it. Wall time runs from
the common start to the moment a waiter knows every job has ended; "noticed" is how long after the
last job's ``end_time`` that was.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
from ray.job_submission import JobSubmissionClient as RayClient
from ray_jobs_client import JobSubmissionClient

from .common import OURS, RAYS, Figure, Log, Table, ratio

POLL = 1.0  # seconds between rounds, every waiter (Ray's documented loop sleeps 1 s)
AS_COMPLETED = f"{OURS}, `as_completed`"
ONE_BY_ONE = f"{OURS}, `wait_until_finished` job after job"
RAY_LOOP = f"{RAYS}, `get_job_status` loop job after job (its docs)"
RAY_ROUNDS = f"{RAYS}, `get_job_status` of every unfinished job each round"


@dataclass
class Tally:
    """What one waiter sent and received, and when it knew that every job had ended."""

    requests: Counter[str] = field(default_factory=Counter)
    received: int = 0
    answering: float = 0.0
    done_at: float | None = None
    error: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, method: str, path: str, size: int, seconds: float) -> None:
        kind = "GET /api/jobs/" if path == "/api/jobs/" else f"{method} /api/jobs/{{id}}"
        if not path.startswith("/api/jobs/"):
            kind = f"{method} {path}"
        with self.lock:
            self.requests[kind] += 1
            self.received += size
            self.answering += seconds

    def reset(self) -> None:
        self.requests.clear()
        self.received = 0
        self.answering = 0.0


def entrypoints(count: int, seed: int = 8) -> list[str]:
    """``count`` short jobs: three in four sleep 0.1-0.9 s, the others echo."""
    chooser = random.Random(seed)
    return [
        f"sleep 0.{chooser.randint(1, 9)}" if chooser.random() < 0.75 else f"echo job {index}"
        for index in range(count)
    ]


def measure(address: str, count: int, log: Log) -> Figure:
    """Submit ``count`` jobs, watch them with the four waiters at once, and tabulate."""
    tallies = {name: Tally() for name in (AS_COMPLETED, ONE_BY_ONE, RAY_LOOP, RAY_ROUNDS)}
    with (
        _counting_http(tallies[AS_COMPLETED]) as http_many,
        _counting_http(tallies[ONE_BY_ONE]) as http_one,
        JobSubmissionClient(address, http_client=http_many) as many,
        JobSubmissionClient(address, http_client=http_one) as one,
        JobSubmissionClient(address) as submitter,
    ):
        rays = RayClient(address)
        rays_rounds = RayClient(address)
        for tally in tallies.values():
            tally.reset()  # the constructors' version checks are not part of waiting
        log(f"submitting {count} jobs")
        jobs = [submitter.submit_job(entrypoint=entrypoint) for entrypoint in entrypoints(count)]
        waiters: dict[str, Callable[[], object]] = {
            AS_COMPLETED: lambda: sum(1 for _ in many.as_completed(jobs, poll=POLL)),
            ONE_BY_ONE: lambda: [one.wait_until_finished(job, poll=POLL) for job in jobs],
            RAY_LOOP: lambda: _ray_documented_loop(rays, jobs),
            RAY_ROUNDS: lambda: _ray_rounds(rays_rounds, jobs),
        }
        log(f"waiting for them with the {len(waiters)} waiters at once")
        start = time.monotonic()
        with _counting_requests(tallies):
            threads = [
                threading.Thread(target=_run, args=(waiter, tallies[name]), name=name)
                for name, waiter in waiters.items()
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        failed = {name: tally.error for name, tally in tallies.items() if tally.error is not None}
        if failed:
            raise RuntimeError(f"waiters failed: {failed}")
        finished = many.list_jobs()
    ends = [job.end_time for job in finished if job.submission_id in set(jobs) and job.end_time]
    last_end = max(ends) / 1000 if len(ends) == len(jobs) else None
    wall_clock_offset = time.time() - time.monotonic()  # end_time is epoch ms; waiters note monotonic
    statuses = Counter(str(job.status) for job in finished if job.submission_id in set(jobs))

    table = Table(
        [
            "waiter",
            "requests",
            "of which lists",
            "received (KiB)",
            "waiting for answers (s)",
            "wall time (s)",
            "noticed after the last end (s)",
            "requests vs ours",
        ]
    )
    ours = sum(tallies[AS_COMPLETED].requests.values())
    for name, tally in tallies.items():
        sent = sum(tally.requests.values())
        assert tally.done_at is not None
        noticed = "n/a" if last_end is None else f"{tally.done_at + wall_clock_offset - last_end:.2f}"
        table.add(
            name,
            sent,
            tally.requests["GET /api/jobs/"],
            f"{tally.received / 1024:.0f}",
            f"{tally.answering:.1f}",
            f"{tally.done_at - start:.1f}",
            noticed,
            ratio(sent, ours),
        )
    return Figure(
        title=f"8. Waiting for {count} jobs",
        method=(
            f"{count} jobs (three in four `sleep 0.1`-`0.9`, the others `echo`; ended: "
            f"{', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}) submitted to a head already "
            f"holding other figures' jobs, then watched by four waiters at once, each polling every "
            f"{POLL:g} s from the same start. Requests, bytes and the time spent waiting for answers are "
            "counted per waiter (the constructors' version checks excluded); wall time ends when a "
            "waiter knows every job has ended. One run: the batch is the expensive part."
        ),
        tables=[table],
        notes=[_note(tallies)],
    )


def _note(tallies: dict[str, Tally]) -> str:
    """What the counts say."""
    many = tallies[AS_COMPLETED]
    lists, singles = many.requests["GET /api/jobs/"], many.requests["GET /api/jobs/{id}"]
    rounds = tallies[RAY_ROUNDS]
    sent = {name: sum(tally.requests.values()) for name, tally in tallies.items()}
    return (
        f"`as_completed` sent {lists} lists and {singles} single GETs: lists while many jobs were left, "
        "one GET per job once so few were left that a list of every record on the head cost the server "
        "more (the rule in `completion.py`). Asking for every unfinished job each round, the other "
        f"way to see each job as it ends, took {sent[RAY_ROUNDS]} requests "
        f"({ratio(sent[RAY_ROUNDS], sent[AS_COMPLETED])}) and {rounds.answering:.1f} s of answers against "
        f"{many.answering:.1f} s. Waiting job after job ({sent[ONE_BY_ONE]} and {sent[RAY_LOOP]} "
        "requests) asks only about the first unfinished job each second, so it is cheap, but it learns of "
        "a job's end only once every job before it has ended; the lists `as_completed` reads hold every "
        "record on the head, hence its larger byte count. All the waiters notice the last end within "
        "about one poll: the cluster, not the polling, sets the pace."
    )


def _run(waiter: Callable[[], object], tally: Tally) -> None:
    try:
        waiter()
    except BaseException as exc:
        tally.error = exc
    tally.done_at = time.monotonic()


def _ray_rounds(rays: Any, jobs: list[str]) -> None:
    """Every unfinished job's status each round, then a second's sleep."""
    pending = list(jobs)
    while pending:
        pending = [job for job in pending if not rays.get_job_status(job).is_terminal()]
        if pending:
            time.sleep(POLL)


def _ray_documented_loop(rays: Any, jobs: list[str]) -> None:
    """Ray's documented way to wait for a job (``wait_until_status``), once per job."""
    for job in jobs:
        while not rays.get_job_status(job).is_terminal():
            time.sleep(POLL)


@contextmanager
def _counting_http(tally: Tally) -> Iterator[httpx.Client]:
    def note(response: httpx.Response) -> None:
        response.read()  # our waiters never stream: the body is read here, and timed
        tally.note(
            response.request.method,
            response.request.url.path,
            len(response.content),
            response.elapsed.total_seconds(),
        )

    with httpx.Client(event_hooks={"response": [note]}) as http:
        yield http


@contextmanager
def _counting_requests(tallies: dict[str, Tally]) -> Iterator[None]:
    """Count what Ray's client sends (it calls ``requests.request`` once per HTTP request), for the
    waiter whose thread (named after it) sends it."""
    original = requests.request

    def counted(method: str, url: str, **kwargs: Any) -> requests.Response:
        response = original(method, url, **kwargs)
        tally = tallies[threading.current_thread().name]
        tally.note(
            method.upper(), httpx.URL(url).path, len(response.content), response.elapsed.total_seconds()
        )
        return response

    requests.request = counted  # type: ignore[assignment]
    try:
        yield
    finally:
        requests.request = original
