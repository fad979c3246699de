"""Every code block of README.md runs against the session's live Ray head, so the README cannot rot.

Conventions (for whoever adds a block to the README):

* A fenced block whose language is ``python`` runs as a script, ``sh`` / ``bash`` / ``shell`` as a
  ``bash -euo pipefail`` script: each block in a fresh process, in the repository root (paths such as
  ``examples/hello_job`` work as in a clone), with the project's venv first on ``PATH`` (``ray-jobs``,
  ``python``). A block fails the test when it exits non-zero. Blocks are independent of each other.
* The address: ``http://127.0.0.1:8265`` (the default local dashboard) is written in the README where
  a block needs an address (``--address``, ``RAY_ADDRESS=``, ``base_url=``, the client's first
  argument); the runner replaces it with the test head's address. ``RAY_ADDRESS`` is not set for the
  run, so a block that forgets its address fails instead of passing by luck.
* The token: the session head runs with token authentication, and the run's environment has
  ``RAY_AUTH_MODE=token`` and ``RAY_AUTH_TOKEN`` as a user's would (``tests/conftest.py``).
* Expected output: a fenced block with the language ``output`` right after a code block (blank lines
  between allowed) is that block's expected standard output, compared as doctest does with
  ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE`` (``...`` matches any text, line breaks included).
* Set-up commands are not run: in a shell block, a command whose first word is one of
  ``SETUP_COMMANDS`` (``make``, ``pip``, ``npm``, ``npx``) installs tools, builds, or runs this very
  test suite (``make test``). The rest of the block runs; a block of set-up commands only is reported
  as skipped with that reason.
* Any other block can be left out only explicitly: ``<!-- readme-test: skip <reason> -->`` on the line
  before its fence; it is reported as skipped with the reason.
* Blocks that are shown, not run, must say so by their language: one of ``SHOWN_LANGUAGES``. A block
  in any other language (or none) fails, so that a typo (``py``) cannot skip a block silently.
* Keep blocks quick: jobs they submit should be short (``examples/hello_job`` runs in about 2 s).
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_ADDRESS = "http://127.0.0.1:8265"
PYTHON_LANGUAGES = {"python"}
SHELL_LANGUAGES = {"sh", "bash", "shell"}
SHOWN_LANGUAGES = {"output", "text", "json", "yaml", "toml", "diff", "typescript", "ts"}
SETUP_COMMANDS = {"make", "pip", "npm", "npx"}
BLOCK_TIMEOUT = 180
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<what>\w+)\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    marker: tuple[str, str] | None = None  # ("skip", reason)
    expected_output: str | None = None
    end: int = 0  # the line after the closing fence, 0-based

    @property
    def id(self) -> str:
        return f"README.md:{self.line}-{self.language or 'plain'}"


def parse_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, each ``output`` block attached to the block before."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        language = opening["info"].strip().split(" ")[0].lower()
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence[0] * len(fence))),
            len(lines),
        )
        code = "\n".join(line[len(opening["indent"]) :] for line in lines[i + 1 : end]) + "\n"
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = _MARKER.match(previous)
        block = Block(
            i + 1, language, code, (marker["what"], marker["reason"]) if marker else None, end=end + 1
        )
        right_after = bool(blocks) and all(not line.strip() for line in lines[blocks[-1].end : i])
        if language == "output" and right_after and blocks[-1].expected_output is None:
            blocks[-1].expected_output = code
        blocks.append(block)
        i = end + 1
    return blocks


BLOCKS = parse_blocks(README.read_text(encoding="utf-8"))


def _first_word(command: str) -> str:
    words = command.split()
    while words and "=" in words[0] and not words[0].startswith("-"):  # VAR=value command …
        words.pop(0)
    return words[0] if words else ""


def shell_script(code: str) -> tuple[str, list[str]]:
    """The block as a script with its set-up commands left out (as comments, so line numbers hold),
    and the commands left out."""
    kept, left_out = [], []
    for line in code.splitlines():
        command = line.split("#", 1)[0].strip()
        if command and _first_word(command) in SETUP_COMMANDS:
            left_out.append(command)
            kept.append(f"# set-up command, not run: {line}")
        else:
            kept.append(line)
    return "\n".join(kept) + "\n", left_out


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS"):
        env.pop(name, None)
    return env


def run_block(block: Block, address: str) -> subprocess.CompletedProcess[str]:
    code = block.code.replace(README_ADDRESS, address)
    with tempfile.TemporaryDirectory(prefix="rjc-readme-") as scratch:
        if block.language in PYTHON_LANGUAGES:
            script = Path(scratch) / f"readme_line_{block.line}.py"
            script.write_text(code, encoding="utf-8")
            command = [sys.executable, str(script)]
        else:
            command = ["bash", "-euo", "pipefail", "-c", shell_script(code)[0]]
        return subprocess.run(
            command,
            cwd=ROOT,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )


def check_output(expected: str, got: str) -> bool:
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    return doctest.OutputChecker().check_output(expected, got, flags)


RUNNABLE = [b for b in BLOCKS if b.language in PYTHON_LANGUAGES | SHELL_LANGUAGES]


@pytest.mark.live
@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_readme_block_runs(block: Block, head_address: str) -> None:
    if block.marker and block.marker[0] == "skip":
        assert block.marker[1], f"{block.id}: a skipped block must say why (<!-- readme-test: skip why -->)"
        pytest.skip(f"README says: {block.marker[1]}")
    assert block.marker is None, f"{block.id}: unknown marker {block.marker[0]!r} (only 'skip' exists)"
    if block.language in SHELL_LANGUAGES:
        script, left_out = shell_script(block.code)
        if not any(line.split("#", 1)[0].strip() for line in script.splitlines()):
            pytest.skip(f"set-up commands only, not run: {'; '.join(left_out)}")
    result = run_block(block, head_address)
    assert result.returncode == 0, (
        f"{block.id} exited with {result.returncode}\n--- block\n{block.code}"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
    if block.expected_output is not None:
        expected = block.expected_output.replace(README_ADDRESS, head_address)
        assert check_output(expected, result.stdout), (
            f"{block.id}: the output differs from the README's\n"
            f"--- README\n{expected}--- got\n{result.stdout}"
        )


def test_every_block_is_run_or_declared_shown() -> None:
    unknown = [b.id for b in BLOCKS if b.language not in PYTHON_LANGUAGES | SHELL_LANGUAGES | SHOWN_LANGUAGES]
    assert not unknown, (
        f"code blocks in a language the README runner neither runs nor lists as shown: {unknown} "
        f"(run: {sorted(PYTHON_LANGUAGES | SHELL_LANGUAGES)}; shown: {sorted(SHOWN_LANGUAGES)})"
    )
    orphans = [
        b.id
        for b in BLOCKS
        if b.language == "output" and not any(o.expected_output is b.code for o in BLOCKS)
    ]
    assert not orphans, f"output blocks that follow no code block: {orphans}"
    # The runner must find what it is for: Python and a command line that really run.
    assert any(b.language in PYTHON_LANGUAGES and not b.marker for b in BLOCKS)
    assert any(b.language in SHELL_LANGUAGES and "ray-jobs " in shell_script(b.code)[0] for b in BLOCKS)


def test_the_parser_and_the_set_up_rule() -> None:
    """The runner's own rules on a small Markdown text (no head needed)."""
    text = "\n".join(
        [
            "```python",
            "print('a')",
            "```",
            "",
            "```output",
            "a",
            "```",
            "<!-- readme-test: skip needs a GPU -->",
            "```sh",
            "make demo  # set-up",
            "ray-jobs list",
            "```",
        ]
    )
    first, output, shell = parse_blocks(text)
    assert (first.language, first.code, first.expected_output) == ("python", "print('a')\n", "a\n")
    assert output.language == "output"
    assert shell.marker == ("skip", "needs a GPU")
    script, left_out = shell_script(shell.code)
    assert left_out == ["make demo"]
    assert "ray-jobs list" in script and "\nmake" not in f"\n{script}"
    assert check_output("200 job-...\nSUCCEEDED\n", "200 job-1f2e\nSUCCEEDED\n")
    assert not check_output("SUCCEEDED\n", "FAILED\n")
