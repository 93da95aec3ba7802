"""What a child process must not inherit: pooled connections, held locks, helper threads.

Objects that hold such things register here; right after ``fork()``, in the child (the
only thread there), each gets its ``_after_fork_in_child()`` called, so the child opens
its own connections and never waits on a lock that a parent's thread held.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "reset_after_fork"]


class ForkAware(Protocol):
    """An object that renews its connections, locks or threads in a forked child."""

    def _after_fork_in_child(self) -> None: ...


_registered: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def reset_after_fork(obj: ForkAware) -> None:
    """Call ``obj._after_fork_in_child()`` in every child forked while ``obj`` lives."""
    _registered.add(obj)


def _in_child() -> None:
    for obj in list(_registered):
        obj._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # POSIX; there is no fork() elsewhere
    os.register_at_fork(after_in_child=_in_child)
