"""An MkDocs hook: ``<!-- ray-jobs-help -->`` in a page becomes the ``ray-jobs`` help, read from the parser.

The command-line page is thus built from ``ray_jobs_client.cli.build_parser()`` itself: a new
subcommand or option appears in the reference without anyone editing the page.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

MARKER = "<!-- ray-jobs-help -->"
WIDTH = "100"  # argparse wraps help to $COLUMNS: fixed, so the page does not depend on the terminal


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help_markdown() -> str:
    from ray_jobs_client.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parser = build_parser()
        sections = ["```text", parser.format_help().rstrip(), "```"]
        for name, sub in _subcommands(parser).items():
            sections += ["", f"## `ray-jobs {name}` {{ #ray-jobs-{name} }}", "", "```text"]
            sections += [sub.format_help().rstrip(), "```"]
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(sections)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, _help_markdown())
