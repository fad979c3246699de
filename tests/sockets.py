"""Counting this process's connections and file descriptors from ``/proc`` (Linux), for the tests of
one client shared by many threads or tasks: the fast tier's (tests/unit/test_pool_bounds.py, a local
server) and the live head's (tests/integration/test_concurrency.py).

Connections are the sockets among this process's file descriptors whose peer port is the server's,
sampled by a thread while the work runs (a sample is a lower bound of the true peak, so a peak over
a limit is a real one).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

#: Where these counts can be made (the tests using them skip elsewhere).
HAS_PROC = Path("/proc/self/net/tcp").exists()


def open_fds() -> dict[int, str]:
    """This process's file descriptors and what each points at."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except FileNotFoundError:  # the descriptor listdir itself used, closed by now
            continue
    return fds


def sockets_to(port: int) -> set[str]:
    """The TCP sockets (inodes) of this process whose peer's port is ``port`` (any state)."""
    inodes = {target[len("socket:[") : -1] for target in open_fds().values() if target.startswith("socket:[")}
    found = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table, encoding="ascii") as lines:
            next(lines)  # the header
            for line in lines:
                fields = line.split()
                peer, inode = fields[2], fields[9]
                if inode in inodes and int(peer.rsplit(":", 1)[1], 16) == port:
                    found.add(inode)
    return found


def connections_to(port: int) -> int:
    """How many TCP sockets of this process have ``port`` as their peer's port (any state)."""
    return len(sockets_to(port))


def left_open(before: dict[int, str], after: dict[int, str]) -> dict[int, str]:
    """The descriptors of ``after`` that ``before`` did not have (or that now point elsewhere): what
    was taken and not given back. One that closed in between is no leak: an earlier test's kept-alive
    connection, in the same process (an xdist worker runs many test files), may time out meanwhile."""
    return {fd: target for fd, target in after.items() if before.get(fd) != target}


class ConnectionSampler:
    """Samples :func:`connections_to` in a thread for the ``with`` block; ``peak`` is the most seen."""

    def __init__(self, port: int, interval: float = 0.02) -> None:
        self.port = port
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="connection-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, connections_to(self.port))
            self.samples += 1
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> ConnectionSampler:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
