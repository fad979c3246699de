"""A Griffe extension: Sphinx roles in docstrings become Markdown code.

The hand-written docstrings name other objects the Sphinx way (``:class:`~ray_jobs_client.errors.X```,
``:meth:`close```). mkdocstrings renders Markdown, where such a role would show up verbatim, so each
one is rewritten to inline code: ``~a.b.C`` shows as ``C`` (Sphinx's "last component" rule), any other
target as written.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")


def _as_code(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrite every docstring of the loaded packages once they are fully loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._rewrite(pkg, seen=set())

    def _rewrite(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_as_code, obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member, seen)
