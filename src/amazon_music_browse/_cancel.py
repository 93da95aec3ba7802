"""Cancelling work nobody waits for: checked before every attempt and during retry waits.

A background thread (the paginator's prefetch) runs its calls inside `cancel_scope` with
an event; once the event is set, no new attempt or retry starts in that thread and a
retry wait ends at once. Threads without a scope are never cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Cancelled", "cancel_scope", "raise_if_cancelled", "sleep_unless_cancelled"]

_current: ContextVar[threading.Event | None] = ContextVar(
    "amazon_music_browse_cancel", default=None
)


class Cancelled(Exception):
    """The call was cancelled: its result is no longer wanted. Never reaches a caller."""


@contextmanager
def cancel_scope(event: threading.Event) -> Iterator[None]:
    """Run the block so that setting ``event`` cancels the calls made in it."""
    token = _current.set(event)
    try:
        yield
    finally:
        _current.reset(token)


def raise_if_cancelled() -> None:
    """Raise `Cancelled` if the current scope's event is set."""
    event = _current.get()
    if event is not None and event.is_set():
        raise Cancelled("cancelled: the result of this call is no longer wanted")


def sleep_unless_cancelled(seconds: float, sleep: Callable[[float], None]) -> None:
    """Wait ``seconds`` with ``sleep``; inside a scope, wait on its event and stop when set."""
    event = _current.get()
    if event is None:
        sleep(seconds)
    elif event.wait(seconds):
        raise Cancelled("cancelled during a retry wait")
