"""The API reference (``make docs``) documents every public name, opened in a real headless Chromium.

What must be there is computed, never listed: every public module of ``ray_jobs_client`` and of the
generated ``ray_jobs_api`` (a module whose dotted name has no part starting with ``_``), each name in
its ``__all__`` (else each class and function it defines under a public name), and every public method
and property of those classes, inherited ones included, as long as they are defined in these packages
(not ``str``'s or ``Exception``'s). A new public method, class or module therefore fails this test
until it is in the reference; and since the hand-written pages render only what has a docstring
(``show_if_no_docstring: false`` in mkdocs.yml), so does a new public method without a docstring.

The reference is built here into a scratch directory with the pinned mkdocs (the same configuration
as ``make docs``), so the test always checks the tree as it is. Each page is then loaded by
``chromium --headless --dump-dom`` with every host name unresolvable: the headings' anchors must be in
the DOM the browser produced, the theme's own script must have run from the built folder (it adds
the code blocks' copy buttons), and the search must find a method: the pages need no network.

Chromium missing: the tests skip, or fail under ``CI`` (``make test`` installs it: the ``chromium``
target), as in ``tests/spec``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prebuilt import DOCS_SITE, DOCS_SOURCES, DOCS_STAMP, up_to_date

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ray_jobs_client", "ray_jobs_api")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No host name resolves: a page that needed a CDN font or script would show it.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=5000",
]
# A reference to anything outside the built folder, in a tag that a browser fetches while rendering.
REMOTE_ASSET = re.compile(
    r"<(?:script|img|iframe)\b[^>]*\bsrc=[\"']?(?:https?:)?//|<link\b[^>]*\bhref=[\"']?(?:https?:)?//"
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//|url\([\"']?(?:https?:)?//",
    re.I,
)


def _require(what: str, found: str | None, how: str) -> str:
    """``found``, or skip (fail under CI) because ``what`` is not installed."""
    if found and Path(found).exists():
        return found
    message = f"{what} is not installed ({how})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must install it (make chromium)")
    pytest.skip(message)


# ------------------------------------------------------------------ what the reference must hold


def public_modules(package: str) -> list[types.ModuleType]:
    root = importlib.import_module(package)
    names = [package] + [info.name for info in pkgutil.walk_packages(root.__path__, f"{package}.")]
    return [
        importlib.import_module(name)
        for name in sorted(names)
        if not any(part.startswith("_") for part in name.split("."))
    ]


def public_names(module: types.ModuleType) -> list[str]:
    """The module's ``__all__``; without one, the classes and functions it defines under public names."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    ]


def is_ours(cls: type) -> bool:
    return cls.__module__.split(".")[0] in PACKAGES


def public_methods(cls: type) -> list[str]:
    """Public methods and properties of ``cls``, inherited ones included, defined in our packages."""
    found = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next((base for base in cls.__mro__ if name in vars(base)), None)
        if owner is None or not is_ours(owner):
            continue
        raw = vars(owner)[name]
        if isinstance(raw, types.FunctionType | property | classmethod | staticmethod):
            found.append(name)
    return found


class Documented:
    """One public object: the anchors it may be rendered under (the module that defines it, or any
    public module that exports it in ``__all__``), and the methods it must show."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.anchors: set[str] = set()
        if inspect.isclass(value) or inspect.isfunction(value):
            self.anchors.add(f"{value.__module__}.{value.__qualname__}")
        self.methods = public_methods(value) if inspect.isclass(value) else []


def expected(package: str) -> dict[str, Documented]:
    """Everything public in ``package``, keyed by a readable name (its first anchor found)."""
    by_identity: dict[int, Documented] = {}
    constants: list[Documented] = []
    for module in public_modules(package):
        for name in public_names(module):
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                entry = by_identity.setdefault(id(value), Documented(value))
            else:  # a constant: documented under the module that lists it
                entry = Documented(value)
                constants.append(entry)
            entry.anchors.add(f"{module.__name__}.{name}")
    entries = [*by_identity.values(), *constants]
    return {min(entry.anchors, key=lambda a: (len(a), a)): entry for entry in entries}


# ------------------------------------------------------------------ the built reference


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    """The reference as ``make docs`` builds it (same mkdocs.yml, strict): that build when nothing
    changed since it (its stamp), else built here in a scratch directory."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
    if up_to_date(DOCS_STAMP, DOCS_SOURCES):
        yield DOCS_SITE
        return
    with tempfile.TemporaryDirectory(prefix="rjc-api-docs-") as scratch:
        result = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", scratch],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
        assert result.returncode == 0, (
            f"mkdocs build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        yield Path(scratch)


def _pages(site: Path) -> list[Path]:
    return sorted(page for page in site.rglob("*.html") if page.name != "404.html")


def _dump_dom(page: Path, query: str = "") -> str:
    found = shutil.which(os.environ.get("CHROMIUM", "chromium"))
    browser = _require("chromium", found, "make chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="rjc-chromium-") as profile:
        result = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri() + query],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, f"chromium exited with {result.returncode}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def rendered(site: Path) -> dict[str, str]:
    """Each page's DOM after Chromium ran its scripts, by path relative to the site."""
    return {page.relative_to(site).as_posix(): _dump_dom(page) for page in _pages(site)}


@pytest.fixture(scope="module")
def anchors(rendered: dict[str, str]) -> dict[str, str]:
    """Every element id on every page, with the page it is on."""
    return {anchor: page for page, dom in rendered.items() for anchor in re.findall(r'\bid="([^"]+)"', dom)}


def _missing(package: str, anchors: dict[str, str]) -> list[str]:
    missing = []
    for label, entry in expected(package).items():
        found = sorted(anchor for anchor in entry.anchors if anchor in anchors)
        if not found:
            missing.append(f"{label} (looked for: {', '.join(sorted(entry.anchors))})")
            continue
        missing += [
            f"{found[0]}.{method}" for method in entry.methods if f"{found[0]}.{method}" not in anchors
        ]
    return missing


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_documented(package: str, anchors: dict[str, str]) -> None:
    assert expected(package), f"found nothing public in {package}"
    missing = _missing(package, anchors)
    assert not missing, (
        "not in the API reference (give it a docstring, or add its module to a page under docs/):\n  "
        + "\n  ".join(missing)
    )


def test_the_top_level_exports_are_covered(anchors: dict[str, str]) -> None:
    """``from ray_jobs_client import X`` for each X in ``__all__``, the lazily imported
    ``AsyncJobSubmissionClient`` included: each is on a page, and its methods with it."""
    import ray_jobs_client

    everything = expected("ray_jobs_client")
    for name in ray_jobs_client.__all__:
        entry = next(e for e in everything.values() if f"ray_jobs_client.{name}" in e.anchors)
        assert entry.anchors & anchors.keys(), f"ray_jobs_client.{name} is not in the API reference"
    client = next(e for e in everything.values() if e.value is ray_jobs_client.JobSubmissionClient)
    assert "submit_job" in client.methods and "get_address" in client.methods  # inherited ones count


def test_the_command_line_page_shows_every_command_and_option(rendered: dict[str, str]) -> None:
    """The ``ray-jobs`` page is built from the parser: every subcommand and every visible option."""
    from ray_jobs_client.cli import build_parser

    page = next(dom for name, dom in rendered.items() if name.endswith("cli.html"))
    text = re.sub(r"<[^>]+>", "", page)
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        assert f'id="ray-jobs-{name}"' in page, f"no section for `ray-jobs {name}`"
        for action in sub._actions:
            if action.help == argparse.SUPPRESS:
                continue
            for option in action.option_strings:
                assert option in text, f"`ray-jobs {name} {option}` is not on the command-line page"


def test_the_pages_render_offline(site: Path, rendered: dict[str, str]) -> None:
    """No page refers to a remote font, stylesheet or script, and the theme's script ran in Chromium
    from the built folder alone (every host name unresolvable)."""
    for page in _pages(site):
        remote = REMOTE_ASSET.findall(page.read_text(encoding="utf-8"))
        assert not remote, f"{page.relative_to(site)} fetches from the network: {remote[:3]}"
    for css in site.rglob("*.css"):
        remote = REMOTE_ASSET.findall(css.read_text(encoding="utf-8"))
        assert not remote, f"{css.relative_to(site)} fetches from the network: {remote[:3]}"
    clients = next(dom for name, dom in rendered.items() if name.endswith("reference/clients.html"))
    # The copy button is added to every code block by the theme's JavaScript: present only if the
    # bundle loaded and ran.
    assert "md-code__button" in clients, "the theme's script did not run: the page is not usable offline"


def test_search_works_from_file_urls(site: Path) -> None:
    """The search box finds a method: its index and worker load from the folder (``?q=`` fills it in)."""
    from ray_jobs_client import JobSubmissionClient

    method = public_methods(JobSubmissionClient)[-1]
    dom = _dump_dom(site / "index.html", query=f"?q={method}")
    assert re.search(r"\d+ matching documents?", dom), f"searching for {method} found nothing"
    assert 'class="md-search-result__item"' in dom
