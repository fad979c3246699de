"""Leaving an async iterator early, every way a caller can, and checking what that left behind.

Shared by the fast tier (``unit/test_abandoned_iterators.py``, on the fake server) and the live head
(``integration/test_abandoned_iterators_live.py``); importable because ``tests/conftest.py`` is.

A caller leaves an ``async for`` by ``break`` or by an exception, closes the iterator with
``aclose()``, or just drops it (``dropped``: never closed, collected by the garbage collector) — in
its own task (``here``), in a task of its own (``task``), or after starting it in its own task and
handing it to another (``moved``). Afterwards its task must not have been cancelled, no task the
iterator started may still run, and what the iterator opened must be closed.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

LEAVE = ("break", "exception", "aclose", "dropped")
WHERE = ("here", "task", "moved")


class Boom(Exception):
    """The caller's own error, raised inside its ``async for``."""


async def leave_early(
    open_iterator: Callable[[], AsyncIterator[Any]],
    check: Callable[[Any, bool], None],
    leave: str,
    where: str,
) -> None:
    """Take a value from a new iterator and leave it as ``leave`` says, where ``where`` says.

    ``check(value, first)`` checks each value taken (``first``: the iterator's first one).
    """

    async def left(iterator: AsyncIterator[Any], first: bool = True) -> None:
        if leave == "break":
            async for value in iterator:
                check(value, first)
                break
        elif leave == "exception":
            with pytest.raises(Boom):
                async for value in iterator:
                    check(value, first)
                    raise Boom
        elif leave == "aclose":
            check(await anext(iterator), first)
            await iterator.aclose()  # type: ignore[attr-defined]
            assert [value async for value in iterator] == []  # closed: it ends at once
        elif leave == "dropped":
            check(await anext(iterator), first)
        else:
            raise AssertionError(f"no way to leave called {leave!r}")

    if where == "here":
        await left(open_iterator())
    elif where == "task":
        await asyncio.create_task(left(open_iterator()))
    elif where == "moved":
        started = open_iterator()
        check(await anext(started), True)
        await asyncio.create_task(left(started, first=False))
        del started
    else:
        raise AssertionError(f"no place to leave called {where!r}")
    gc.collect()  # a dropped iterator in a reference cycle (a traceback's frame) is collected now


def check_not_cancelled() -> None:
    """The calling task has no cancellation pending (an abandoned iterator's clean-up did not
    cancel it)."""
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0, "the caller's task was cancelled by an iterator it left"


async def settled(still_open: Callable[[], list[str]], *, timeout: float) -> None:
    """Wait until no task but the caller's runs and ``still_open()`` names nothing; fail after
    ``timeout`` s naming what is left. (A dropped iterator is released a few turns of the event loop
    after it is collected.)"""
    me = asyncio.current_task()
    deadline = time.monotonic() + timeout
    while True:
        others = [task for task in asyncio.all_tasks() if task is not me and not task.done()]
        left_open = still_open()
        if not others and not left_open:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s, still running: {others}; still open: {left_open}")
        await asyncio.sleep(0.02)
