"""The async iterators the clients hand out (``tail_job_logs``, ``iter_job_logs``, ``as_completed``),
each run in a task of its own, so that the caller may leave them in any way and from any task.

Why a task of its own. The log follower keeps the log WebSocket open across the values it hands out,
and httpx-ws's ``AsyncWebSocketSession`` runs an anyio task group: a cancel scope entered by the task
that opens the stream and left open while the iterator waits at a ``yield``. Were the iterator a
plain async generator run by the caller, that scope would be entered in the *caller's* task. A
generator left by ``break`` or an exception and never closed is closed later by asyncio's async
generator finaliser, in a new task; closing the session there cancels the scope, and anyio delivers
that cancellation to every task the scope holds, its host included: the caller's task gets
``CancelledError("Cancelled via cancel scope … by <Task …>")`` at its next ``await``, again at every
one after (anyio retries until the scope is left, which cannot happen from the finaliser's task),
past any ``except Exception`` — and the stream is never released.

So the values are produced by a worker task (:func:`_produce`) that opens, reads and closes
everything itself: the caller's task never enters a cancel scope of the stream, and the worker, when
it ends, leaves each scope in the task that entered it. The worker advances only when the next value
is asked for, one at a time, so a caller that stops asking stops the flow as before.

:class:`TaskIterator` is what the caller holds:

* ``break``, an exception, or dropping it: once it is collected, its worker is cancelled, and the
  worker's cancellation closes the stream in the worker's own task (no finaliser involved);
* ``await it.aclose()``: the same, and returns once everything is released;
* the caller's ``await`` cancelled (``asyncio.wait_for`` on ``anext``, a cancelled task): the worker
  goes on with the value asked for, and the next ``__anext__`` gets it — nothing is lost;
* iterated from one task, then another: allowed (not from two at once, as with any async generator).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar, cast

from .errors import EventLoopError, IteratorClosedError

__all__ = ["TaskIterator"]

T = TypeVar("T")

logger = logging.getLogger("ray_jobs_client")

#: Put by the worker where a value would go, when the source is exhausted.
_END: Any = object()

#: The workers still running. The event loop holds its tasks only weakly: without this, a worker
#: whose iterator was dropped could be collected mid-``await`` instead of being cancelled.
_running: set[asyncio.Task[None]] = set()


class TaskIterator(AsyncIterator[T]):
    """An async iterator over the values of ``source()``, an async generator that a worker task
    creates, drives and closes, all in that one task (see the module's docstring).

    Nothing runs before the first ``__anext__``; ``name`` names the iterator in errors.
    """

    def __init__(self, source: Callable[[], AsyncGenerator[T, None]], name: str) -> None:
        self._source = source
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._asks: asyncio.Queue[asyncio.Future[Any]] | None = None
        #: The answer to the last ask, until the caller has it (kept when its wait is cancelled).
        self._pending: asyncio.Future[Any] | None = None
        self._waiting = False
        self._finished = False

    def __aiter__(self) -> TaskIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._finished:
            raise StopAsyncIteration
        if self._waiting:
            raise RuntimeError(f"{self._name} is already waiting for its next value in another task")
        if self._pending is None:
            self._pending = self._ask()
        self._waiting = True
        try:
            # Shielded: a cancelled caller leaves the answer coming, for its next call.
            value = await asyncio.shield(self._pending)
        except asyncio.CancelledError:
            raise  # the caller's own cancellation (answers are never cancelled): keep the answer coming
        except BaseException:
            self._pending = None
            self._finished = True
            await self._worker_done()
            raise
        finally:
            self._waiting = False
        self._pending = None
        if value is _END:
            self._finished = True
            await self._worker_done()
            raise StopAsyncIteration
        return cast(T, value)

    async def aclose(self) -> None:
        """Stop the iteration and release what it holds (its stream, download or connection).

        Returns once the worker has ended. A task waiting for the next value meanwhile gets
        :class:`~ray_jobs_client.errors.IteratorClosedError`; later calls to ``__anext__`` end
        the iteration at once.
        """
        self._finished = True
        task = self._task
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.wait({task})

    def __del__(self) -> None:
        # Dropped without aclose(): cancel the worker, which closes everything in its own task. This
        # may run in any thread (the garbage collector's), hence call_soon_threadsafe.
        task, loop = self._task, self._loop
        if task is None or loop is None or task.done():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: its tasks are gone with it
            loop.call_soon_threadsafe(task.cancel)

    # ------------------------------------------------------------------ the worker

    def _ask(self) -> asyncio.Future[Any]:
        """Ask the worker for the next value (starting it on the first ask)."""
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._loop = loop
            self._asks = asyncio.Queue()
            self._task = loop.create_task(
                _produce(self._source, self._asks, self._name), name=f"ray_jobs_client {self._name}"
            )
            _running.add(self._task)
            self._task.add_done_callback(_worker_ended)
        elif loop is not self._loop:
            raise EventLoopError(f"{self._name} was started in another event loop: iterate it in that one")
        assert self._asks is not None
        reply: asyncio.Future[Any] = loop.create_future()
        if self._task.done():
            reply.set_exception(_closed(self._name))
        else:
            self._asks.put_nowait(reply)
        return reply

    async def _worker_done(self) -> None:
        """Wait until the worker has released everything (its outcome is the caller's already)."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task})


async def _produce(
    source: Callable[[], AsyncGenerator[Any, None]], asks: asyncio.Queue[asyncio.Future[Any]], name: str
) -> None:
    """The worker: one value of ``source()`` per ask, until it ends, fails, or the worker is
    cancelled; the source is closed here in every case, so each of its scopes is left in this task."""
    reply: asyncio.Future[Any] | None = None
    values = source()
    try:
        while True:
            reply = await asks.get()
            try:
                value = await anext(values)
            except StopAsyncIteration:
                value = _END
            except Exception as exc:  # the iteration's own error: the caller's to see
                _answer(reply, error=exc)
                return
            _answer(reply, value=value)
            if value is _END:
                return
            reply = None
    finally:
        try:
            await values.aclose()
        finally:
            # Cancelled (aclose(), the iterator dropped, or the loop shutting down): whoever still
            # waits learns that no value will come.
            while True:
                if reply is not None:
                    _answer(reply, error=_closed(name))
                try:
                    reply = asks.get_nowait()
                except asyncio.QueueEmpty:
                    break


def _worker_ended(task: asyncio.Task[None]) -> None:
    """Forget a worker that has ended, and report a failure of its clean-up: the worker hands every
    error of the iteration to the caller, so one that ends the task itself came after (closing the
    stream failed) and has no caller left to see it."""
    _running.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.warning("closing %s failed: %r", task.get_name(), error, exc_info=error)


def _answer(reply: asyncio.Future[Any], *, value: Any = None, error: BaseException | None = None) -> None:
    if reply.done():
        return
    if error is None:
        reply.set_result(value)
        return
    reply.set_exception(error)
    reply.exception()  # a caller that walked away never looks: no "exception never retrieved" log


def _closed(name: str) -> IteratorClosedError:
    return IteratorClosedError(
        f"{name} was closed (aclose(), or its task cancelled) before its next value came: what it would "
        "have yielded is unknown"
    )
