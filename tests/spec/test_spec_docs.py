"""The HTML reference (``make spec-docs``) renders every operation in a real headless Chromium.

The test builds the page itself with the pinned Redocly CLI, exactly as ``make spec-docs`` does, then
loads it with ``chromium --headless --dump-dom``: Redoc renders each operation on its own route
(``#/<tag>/<operationId>``) only once its JavaScript runs, so finding an operation's summary and
description in the dumped DOM proves the page works in a browser, not just that the HTML file
contains the spec.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_tools import ROOT, chromium, node_bin, run

SPEC = yaml.safe_load((ROOT / "openapi" / "jobs.yaml").read_text(encoding="utf-8"))
OPERATIONS = [
    (operation["tags"][0], operation)
    for item in SPEC["paths"].values()
    for method, operation in item.items()
    if method in ("get", "put", "post", "delete")
]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Let the page's scripts run to completion before the DOM is dumped.
    "--virtual-time-budget=10000",
]


@pytest.fixture(scope="module")
def docs_page() -> Iterator[Path]:
    """The page ``make spec-docs`` builds, built into a scratch directory."""
    redocly = node_bin("redocly")
    with tempfile.TemporaryDirectory(prefix="rjc-spec-docs-") as scratch:
        page = Path(scratch) / "index.html"
        run(
            [
                redocly,
                "build-docs",
                "jobs",
                "--config",
                "openapi/redocly.yaml",
                "--inlineBundle",
                "-o",
                str(page),
            ]
        )
        yield page


def _chromium(page: Path, fragment: str, *extra: str) -> str:
    """Load ``page#fragment`` in headless Chromium; return the DOM it rendered (``--dump-dom``), or
    run it with ``extra`` flags instead (a screenshot)."""
    browser = chromium()
    extra = extra or ("--dump-dom",)
    with tempfile.TemporaryDirectory(prefix="rjc-chromium-") as profile:
        result = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, f"{page.as_uri()}{fragment}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, f"chromium exited with {result.returncode}: {result.stderr[-2000:]}"
    return result.stdout


def _rendered(dom: str) -> tuple[str, list[str]]:
    """``(markup without scripts and styles, its visible words)``: the inlined spec (a script) must
    not count as rendered content."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", markup)
    return markup, _words(text)


def _words(text: str) -> list[str]:
    text = text.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&").replace("&#x27;", "'")
    return re.findall(r"[A-Za-z0-9_]+", text)


def _contains(words: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


def _first_paragraph(description: str) -> list[str]:
    return _words(description.strip().split("\n\n")[0])[:25]


def test_overview_renders_the_conventions(docs_page: Path) -> None:
    _, words = _rendered(_chromium(docs_page, ""))
    assert _contains(words, _words(SPEC["info"]["title"]))
    assert _contains(words, _words("Conventions every client must know"))
    # Other-language teams must learn this before writing a web front-end.
    assert _contains(words, _words("Web front-ends therefore cannot submit, stop or delete jobs directly"))


@pytest.mark.parametrize(
    ("tag", "operation"), OPERATIONS, ids=[operation["operationId"] for _, operation in OPERATIONS]
)
def test_every_operation_renders(docs_page: Path, tag: str, operation: dict[str, Any]) -> None:
    operation_id = operation["operationId"]
    markup, words = _rendered(_chromium(docs_page, f"#/{tag}/{operation_id}"))
    # The operation's own route (its anchor carries the operationId) with its summary and description:
    # the WebSocket and package endpoints' long descriptions included.
    assert f"#/{tag}/{operation_id}" in markup, f"no link to {operation_id} in the rendered page"
    assert _contains(words, _words(operation["summary"])), f"summary of {operation_id} not rendered"
    assert _contains(words, _first_paragraph(operation["description"])), (
        f"description of {operation_id} not rendered"
    )
    if "x-ray-since" in operation:
        # Redoc shows `x-` extensions without their prefix: "ray-since: 2.2.0".
        assert _contains(words, _words(f"ray-since: {operation['x-ray-since']}")), "x-ray-since not shown"


def test_the_page_paints(docs_page: Path, tmp_path: Path) -> None:
    """A screenshot of the overview: a real, non-blank picture (a blank page is a few KB)."""
    shot = tmp_path / "spec-docs.png"
    _chromium(docs_page, "", f"--screenshot={shot}", "--window-size=1400,1800")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 50_000, f"the screenshot is suspiciously small ({len(data)} bytes): a blank page?"
