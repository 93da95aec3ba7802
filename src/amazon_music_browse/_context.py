"""Carrying the caller's context into the SDK's own threads.

``contextvars`` hold what a call made on another thread should still see: OpenTelemetry's
current span (so a prefetched page's span is a child of the caller's), and anything else
an application keeps there. A thread starts with an empty context, so every thread the
SDK starts for a caller (a prefetch, and later each task of ``client.map``) runs its work
in a copy of the caller's context, taken when the work is handed over.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TypeVar

__all__ = ["in_callers_context"]

ResultT = TypeVar("ResultT")


def in_callers_context(function: Callable[[], ResultT]) -> Callable[[], ResultT]:
    """``function`` bound to a copy of the current context, to run once on another thread.

    Take one per piece of work: a context cannot be entered by two threads at once.
    """
    context = contextvars.copy_context()

    def run() -> ResultT:
        return context.run(function)

    return run
