"""A submit whose response is lost creates exactly one job, and reports a job as created only if this
call created it.

The submission id is fixed before the first attempt. A caller's id is looked up just before the
first attempt (a generated one is new by construction); when a retry then hears "already exists",
the job is this call's only if it did not exist before and now holds what this call sent
(``_async/jobs.py``, ``submit``). A job that was there before — an old finished ``nightly-1`` — is the
server's "already exists", exactly as without the lost response. The same against a live head behind
a proxy: ``tests/faults/test_faults.py`` (``test_lost_submit_response_creates_exactly_one_job``,
``test_resubmitting_a_finished_job_whose_reply_is_lost_is_already_exists``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from fake_job_server import Connect, FakeJobServer, LoseResponse, Refuse, Respond
from ray_jobs_client.errors import APIConnectionError, JobAlreadyExistsError
from ray_jobs_client.retry import RetryPolicy

pytestmark = pytest.mark.timeout(60)

QUICK = RetryPolicy(max_retries=3, backoff_initial=0.001, backoff_max=0.001)
GATEWAY_TIMEOUT = Respond(504, "Gateway Timeout")
LOOK_UP, SUBMIT = "GET /api/jobs/{id}", "POST /api/jobs/"


@dataclass
class Then:
    """Serve the request as the server would, then run ``action`` (another client acting right after)."""

    action: Callable[[], object]

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        response = serve()
        self.action()
        return response


def _routes(server: FakeJobServer) -> list[str]:
    return [received.route for received in server.after_connect()]


@pytest.mark.parametrize("give_id", [True, False], ids=["submission_id", "generated_id"])
@pytest.mark.parametrize("instead", [None, GATEWAY_TIMEOUT], ids=["dropped", "gateway_504"])
def test_a_lost_submit_response_creates_exactly_one_job(
    server: FakeJobServer, connect: Connect, give_id: bool, instead: Respond | None
) -> None:
    client = connect(retries=QUICK)
    server.fail(LoseResponse(instead), when=SUBMIT)

    returned = client.submit_job(entrypoint="echo once", submission_id="rjc-lost" if give_id else None)

    assert list(server.jobs) == [returned]
    assert server.jobs[returned].entrypoint == "echo once"
    if give_id:
        assert returned == "rjc-lost"
    posts = server.sent(SUBMIT)
    assert len(posts) == 2  # the lost one and the retry
    assert [post.json()["submission_id"] for post in posts] == [returned, returned]
    assert posts[0].json() == posts[1].json()


def test_a_fresh_id_whose_response_is_lost_is_proven_new_and_returned(
    server: FakeJobServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """The look-up before the first attempt answers 404; after the lost attempt the job exists with
    this call's entrypoint: this call created it."""
    client = connect(retries=QUICK)
    server.fail(LoseResponse(), when=SUBMIT)

    with caplog.at_level(logging.INFO, logger="ray_jobs_client"):
        returned = client.submit_job(entrypoint="python nightly.py", submission_id="nightly-2")

    assert returned == "nightly-2"
    assert list(server.jobs) == ["nightly-2"]
    assert _routes(server) == [LOOK_UP, SUBMIT, SUBMIT, LOOK_UP]  # look-up (404), lost, "exists", ours?
    assert [r.getMessage() for r in caplog.records if "created by an earlier attempt" in r.getMessage()] == [
        "Job nightly-2 did not exist before this submit's first attempt (a look-up then answered 404) and "
        "holds this submit's entrypoint, metadata and runtime_env: created by an earlier attempt whose "
        "answer was lost."
    ]


def test_a_generated_id_is_not_looked_up_first(server: FakeJobServer, connect: Connect) -> None:
    """A random id of this call cannot name an existing job: no look-up before the first attempt,
    only the check of what the job holds once a retry hears "already exists"."""
    client = connect(retries=QUICK)
    server.fail(LoseResponse(), when=SUBMIT)

    returned = client.submit_job(entrypoint="echo once")

    assert list(server.jobs) == [returned]
    assert _routes(server) == [SUBMIT, SUBMIT, LOOK_UP]
    assert len(server.sent(LOOK_UP)) == 1


@pytest.mark.parametrize(("give_id", "routes"), [(True, [LOOK_UP, SUBMIT]), (False, [SUBMIT])])
def test_a_submit_without_trouble_costs_one_look_up_only_for_a_callers_id(
    server: FakeJobServer, connect: Connect, give_id: bool, routes: list[str]
) -> None:
    client = connect(retries=QUICK)

    returned = client.submit_job(entrypoint="echo once", submission_id="rjc-plain" if give_id else None)

    assert list(server.jobs) == [returned]
    assert _routes(server) == routes


@pytest.mark.parametrize("lost", [False, True], ids=["answered", "response_lost"])
def test_resubmitting_a_finished_job_is_already_exists_whether_or_not_a_response_is_lost(
    server: FakeJobServer, connect: Connect, lost: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """``nightly-1`` ran and finished; the same submit again is refused by the server. Its answer
    lost, the retry's "already exists" is about the old job (which existed before this call), not
    one this call created: the same error, and the old job untouched."""
    old = server.add_job("nightly-1", entrypoint="python nightly.py", status="SUCCEEDED")
    before = old.details()
    client = connect(retries=QUICK)
    if lost:
        server.fail(LoseResponse(), when=SUBMIT)

    with (
        caplog.at_level(logging.INFO, logger="ray_jobs_client"),
        pytest.raises(JobAlreadyExistsError, match="Job with submission_id nightly-1 already exists"),
    ):
        client.submit_job(entrypoint="python nightly.py", submission_id="nightly-1")

    assert server.jobs == {"nightly-1": old}
    assert old.details() == before
    assert _routes(server) == ([LOOK_UP, SUBMIT, SUBMIT] if lost else [LOOK_UP, SUBMIT])
    assert not [r for r in caplog.records if "created by an earlier attempt" in r.getMessage()]
    if lost:
        assert any(
            "already existed before this submit's first attempt" in r.getMessage() for r in caplog.records
        )


def test_the_job_is_recognised_with_metadata_and_runtime_env(server: FakeJobServer, connect: Connect) -> None:
    """ "Ours" means the same entrypoint, metadata (the client's defaults merged in) and runtime_env
    as this call sent."""
    client = connect(retries=QUICK, metadata={"team": "infra"})
    server.fail(LoseResponse(), when=SUBMIT)

    returned = client.submit_job(
        entrypoint="echo once",
        metadata={"run": "7"},
        runtime_env={"env_vars": {"MODE": "test"}},
    )

    job = server.jobs[returned]
    assert (job.metadata, job.runtime_env) == ({"run": "7", "team": "infra"}, {"env_vars": {"MODE": "test"}})
    assert len(server.jobs) == 1
    assert _routes(server) == [SUBMIT, SUBMIT, LOOK_UP]  # is the job that exists the one we sent?


def test_several_lost_responses_still_make_one_job(server: FakeJobServer, connect: Connect) -> None:
    client = connect(retries=QUICK)
    server.fail(LoseResponse(GATEWAY_TIMEOUT), when=SUBMIT, times=3)

    returned = client.submit_job(entrypoint="echo once")

    assert list(server.jobs) == [returned]
    assert len(server.sent(SUBMIT)) == 4


def test_an_existing_job_of_someone_else_is_not_taken_for_ours(
    server: FakeJobServer, connect: Connect
) -> None:
    """First attempt: "already exists" with no retry before it — the caller's id was taken. The
    look-up found it, but the POST is still sent: the refusal is the server's own answer."""
    server.add_job("rjc-taken", entrypoint="echo theirs")
    client = connect(retries=QUICK)

    with pytest.raises(JobAlreadyExistsError, match="already exists"):
        client.submit_job(entrypoint="echo ours", submission_id="rjc-taken")

    assert server.jobs["rjc-taken"].entrypoint == "echo theirs"
    assert _routes(server) == [LOOK_UP, SUBMIT]


@pytest.mark.parametrize(
    ("first_answer", "looked_again"),
    [(Respond(503, "busy"), False), (GATEWAY_TIMEOUT, True)],
    ids=["503 (not acted on)", "504 (may have been)"],
)
def test_a_job_created_by_someone_else_between_two_attempts_is_an_error(
    server: FakeJobServer, connect: Connect, first_answer: Respond, looked_again: bool
) -> None:
    """The first attempt fails (nothing created); before the retry, another client takes the id. The
    retry's "already exists" is raised. After a 503 the server did not act, so the answer stands as
    it is; after a gateway's 504 the first attempt may have reached the server, so the job is looked
    at, and it is not ours."""
    client = connect(retries=QUICK)
    server.fail(
        first_answer,
        when=SUBMIT,
        afterwards=lambda: server.add_job("rjc-raced", entrypoint="echo theirs"),
    )

    with pytest.raises(JobAlreadyExistsError):
        client.submit_job(entrypoint="echo ours", submission_id="rjc-raced")

    assert server.jobs["rjc-raced"].entrypoint == "echo theirs"
    assert _routes(server) == [LOOK_UP, SUBMIT, SUBMIT] + ([LOOK_UP] if looked_again else [])


@pytest.mark.parametrize("lost", [False, True], ids=["answered", "response_lost"])
def test_a_job_created_by_someone_else_between_the_look_up_and_the_submit_is_an_error(
    server: FakeJobServer, connect: Connect, lost: bool
) -> None:
    """The server's race: another client takes the id right after our look-up answered 404. The
    server refuses our POST; if that refusal is lost, the retry's "already exists" is checked and the
    job found is not ours."""
    client = connect(retries=QUICK)
    server.fail(Then(lambda: server.add_job("rjc-raced", entrypoint="echo theirs")), when=LOOK_UP)
    if lost:
        server.fail(LoseResponse(), when=SUBMIT)

    with pytest.raises(JobAlreadyExistsError):
        client.submit_job(entrypoint="echo ours", submission_id="rjc-raced")

    assert server.jobs["rjc-raced"].entrypoint == "echo theirs"
    assert _routes(server) == ([LOOK_UP, SUBMIT, SUBMIT, LOOK_UP] if lost else [LOOK_UP, SUBMIT])


def test_a_look_up_that_fails_proves_nothing(
    server: FakeJobServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """The look-up is answered with a 500: the submit goes ahead, but when its answer is lost the
    retry's "already exists" cannot be told from a job that was there before — it is raised, with a
    warning saying what is not known."""
    client = connect(retries=QUICK)
    server.fail(Respond(500, "Server got itself in trouble"), when=LOOK_UP)
    server.fail(LoseResponse(), when=SUBMIT)

    with (
        caplog.at_level(logging.WARNING, logger="ray_jobs_client"),
        pytest.raises(JobAlreadyExistsError),
    ):
        client.submit_job(entrypoint="echo once", submission_id="rjc-unknown")

    assert list(server.jobs) == ["rjc-unknown"]
    assert _routes(server) == [LOOK_UP, SUBMIT, SUBMIT]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning == (
        "Job rjc-unknown exists, but whether this submit's earlier attempt (whose answer was lost) "
        "created it is not known: the look-up before the first attempt was answered 500 Server got "
        "itself in trouble."
    )


def test_a_look_up_with_a_transient_failure_is_retried(server: FakeJobServer, connect: Connect) -> None:
    """The look-up is a GET: the transport repeats it after a 503, and its 404 then counts."""
    client = connect(retries=QUICK)
    server.fail(Respond(503, "busy"), when=LOOK_UP)
    server.fail(LoseResponse(), when=SUBMIT)

    assert client.submit_job(entrypoint="echo once", submission_id="rjc-flaky") == "rjc-flaky"

    assert list(server.jobs) == ["rjc-flaky"]
    assert _routes(server) == [LOOK_UP, LOOK_UP, SUBMIT, SUBMIT, LOOK_UP]


def test_a_server_unreachable_for_the_look_up_fails_the_submit_before_it_is_sent(
    server: FakeJobServer, connect: Connect
) -> None:
    client = connect(retries=QUICK)
    server.fail(Refuse(), when=LOOK_UP, times=None)

    with pytest.raises(APIConnectionError):
        client.submit_job(entrypoint="echo once", submission_id="rjc-unreachable")

    assert server.jobs == {}
    assert server.sent(SUBMIT) == []
    assert len(server.sent(LOOK_UP)) == 1 + QUICK.max_retries


def test_the_deprecated_job_id_is_looked_up_as_a_submission_id(
    server: FakeJobServer, connect: Connect
) -> None:
    server.add_job("nightly-1", entrypoint="python nightly.py", status="SUCCEEDED")
    client = connect(retries=QUICK)
    server.fail(LoseResponse(), when=SUBMIT)

    with pytest.raises(JobAlreadyExistsError):
        client.submit_job(entrypoint="python nightly.py", job_id="nightly-1")

    assert _routes(server) == [LOOK_UP, SUBMIT, SUBMIT]


@dataclass
class AnswerJob:
    """Answer a look-up with this job record (the server's look-up found another job)."""

    record: dict[str, object]

    def apply(
        self, server: FakeJobServer, request: httpx.Request, serve: Callable[[], httpx.Response]
    ) -> httpx.Response:
        return httpx.Response(200, json=self.record)


def test_an_id_that_names_another_jobs_ray_job_id_proves_nothing(
    server: FakeJobServer, connect: Connect
) -> None:
    """The server looks an id up as a Ray job id first: a look-up of ``02000000`` may find another
    submission whose driver has that job id. Whether a submission ``02000000`` exists is then not
    known, so a retry's "already exists" is raised (and no second look-up is made)."""
    server.add_job("raysubmit_other", entrypoint="echo theirs")
    other = {**server.jobs["raysubmit_other"].details(), "job_id": "02000000"}
    client = connect(retries=QUICK)
    server.fail(AnswerJob(other), when=LOOK_UP)
    server.fail(LoseResponse(), when=SUBMIT)

    with pytest.raises(JobAlreadyExistsError):
        client.submit_job(entrypoint="echo hi", submission_id="02000000")

    assert [r.route for r in server.after_connect()] == [LOOK_UP, SUBMIT, SUBMIT]


def test_retries_0_leaves_a_lost_response_to_the_caller(server: FakeJobServer, connect: Connect) -> None:
    """Without retries the job exists, but the caller only hears that the connection failed."""
    client = connect(retries=0)
    server.fail(LoseResponse(), when=SUBMIT)

    with pytest.raises(ConnectionError):
        client.submit_job(entrypoint="echo once", submission_id="rjc-unanswered")

    assert list(server.jobs) == ["rjc-unanswered"]
    assert len(server.sent(SUBMIT)) == 1


def test_the_fake_answers_a_duplicate_as_the_server_does(server: FakeJobServer) -> None:
    """What the recovery relies on: a second POST of the same id is a 500 whose traceback ends with
    Ray's "already exists" line (``ray-jobs-api.md`` §1.1)."""
    with server.http_client(base_url="http://jobs.example:8265") as http:
        first = http.post("/api/jobs/", json={"entrypoint": "echo", "submission_id": "rjc-dup"})
        second = http.post("/api/jobs/", json={"entrypoint": "echo", "submission_id": "rjc-dup"})
    assert first.json() == {"job_id": "rjc-dup", "submission_id": "rjc-dup"}
    assert second.status_code == 500
    assert second.headers["content-type"] == "text/plain; charset=utf-8"
    assert second.text.endswith(
        "ValueError: Job with submission_id rjc-dup already exists. "
        "Please use a different submission_id.\n.\n"
    )
