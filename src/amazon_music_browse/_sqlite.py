"""Opening an SQLite file that other processes may be opening at the same moment."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["BUSY_TIMEOUT", "opened"]

T = TypeVar("T")

BUSY_TIMEOUT = 30.0
"""Seconds a statement waits for another process's lock on the file."""

_RETRY_PAUSE = 0.01


def _monotonic() -> float:
    return time.monotonic()


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def opened(open_file: Callable[[], T], *, timeout: float = BUSY_TIMEOUT) -> T:
    """``open_file()``, called again while SQLite answers "database is locked".

    Switching a new file to WAL mode takes the file's lock without waiting on it: when two
    processes open one new file together, one of them is refused at once, whatever the
    connection's busy timeout. The open is repeated for up to ``timeout`` seconds; any
    other error, or the lock still held after that, is raised.
    """
    deadline = _monotonic() + timeout
    while True:
        try:
            return open_file()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or _monotonic() >= deadline:
                raise
        _sleep(_RETRY_PAUSE)
