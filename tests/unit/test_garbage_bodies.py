"""A 200 whose body is not the documented JSON (a login page, a gateway's HTML, a cut or foreign
JSON body, binary, megabytes of HTML): a typed ``UnexpectedResponseError`` naming the status, the
path and a bounded snippet of the body, never a ``KeyError``, ``AttributeError`` or
``JSONDecodeError``. For both clients on the fake job server: what the body means is the client's
decision alone (these ran live through the fault proxy before; the answers are the proxy's own).
"""

from __future__ import annotations

import pytest
from fake_job_server import Connect, FakeJobServer, Respond
from ray_jobs_client.errors import UnexpectedResponseError

pytestmark = pytest.mark.timeout(60)


def _answer(status: int, body: str | bytes, content_type: str) -> Respond:
    """This answer instead of the server's (a gateway or a login page in front of it)."""
    return Respond(status, body, headers={"Content-Type": content_type})  # type: ignore[arg-type]


_HTML = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
GARBAGE: dict[str, tuple[str, bytes | str, str]] = {  # content type, body, what the message shows
    "html": ("text/html", _HTML, "<h1>502 Bad Gateway</h1>"),
    "truncated_json": ("application/json", '{"type": "SUBMISSION", "status": "RUNN', '"status": "RUNN'),
    "unexpected_object": ("application/json", '{"unexpected": 1}', '{"unexpected": 1}'),
    "list": ("application/json", "[]", "[]"),
    "null": ("application/json", "null", "null"),
    "empty": ("application/json", "", "''"),
    "incomplete_object": ("application/json", '{"status": "RUNNING"}', '{"status": "RUNNING"}'),
    "binary": ("application/json", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "PNG"),
    "huge_html": ("text/html", "<html>" + "x" * 5_000_000 + "</html>", "x" * 50),
}


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_body_raises_unexpected_response_error(
    server: FakeJobServer, connect: Connect, garbage: str
) -> None:
    """A 200 whose body is not the documented JSON: a RuntimeError naming the status, the path and
    a bounded snippet of the body (never a KeyError, AttributeError or JSONDecodeError)."""
    content_type, body, snippet = GARBAGE[garbage]
    server.fail(_answer(200, body, content_type), times=None, when=lambda r: r.url.path == "/api/jobs/x")
    client = connect()

    for call in (client.get_job_info, client.get_job_status):
        with pytest.raises(UnexpectedResponseError) as caught:
            call("x")
        assert isinstance(caught.value, RuntimeError)
        message = str(caught.value)
        assert "200" in message and "/api/jobs/x" in message and snippet in message
        assert len(message) < 2000
        assert caught.value.status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/jobs/", '{"unexpected": 1}'),
        ("/api/jobs/x/logs", "[1, 2]"),
        ("/api/jobs/x/logs", '{"logs": null}'),
        ("streamed /api/jobs/x/logs", "[1, 2]"),
        ("streamed /api/jobs/x/logs", '{"logs": null}'),
        ("/api/jobs/x/stop", "<html/>"),
    ],
)
def test_garbage_bodies_of_other_calls(server: FakeJobServer, connect: Connect, path: str, body: str) -> None:
    path_only = path.removeprefix("streamed ")
    server.fail(_answer(200, body, "application/json"), times=None, when=lambda r: r.url.path == path_only)
    client = connect()
    call = {
        "/api/jobs/": client.list_jobs,
        "/api/jobs/x/logs": lambda: client.get_job_logs("x"),
        "streamed /api/jobs/x/logs": lambda: client.download("x"),
        "/api/jobs/x/stop": lambda: client.stop_job("x"),
    }[path]
    path = path_only

    with pytest.raises(UnexpectedResponseError) as caught:
        call()
    assert path in str(caught.value) and body[:6] in str(caught.value)


def test_garbage_version_answer_fails_construction(server: FakeJobServer, connect: Connect) -> None:
    server.fail(_answer(200, "<html>login</html>", "text/html"), times=None, when=lambda r: True)

    with pytest.raises(UnexpectedResponseError, match="/api/version"):
        connect()
