"""The retry policy: what is retried, how long to wait, and ``Retry-After``.

Small separate decisions, put together as a tenacity ``Retrying``. The clock, the sleep
and the randomness of the jitter are module attributes, so tests can replace them.
"""

from __future__ import annotations

import email.utils
import functools
import math
import random
import threading
import time
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ._cancel import sleep_unless_cancelled
from ._constants import (
    INITIAL_RETRY_DELAY,
    MAX_RATE_LIMIT_WINDOW,
    MAX_RETRY_DELAY,
    RETRYABLE_STATUSES,
)
from ._errors import APIConnectionError, APIError, RateLimitError, is_final, mark_final, was_sent
from ._fork import reset_after_fork
from ._log import logger

_sleep = time.sleep
_monotonic = time.monotonic
_wall_clock = time.time
_random = random.Random()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date).

    ``None`` when absent or unparseable; a date in the past gives ``0.0``.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - _wall_clock())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: a random wait up to ``0.5 * 2**(attempt-1)`` s."""
    ceiling = min(MAX_RETRY_DELAY, INITIAL_RETRY_DELAY * 2 ** (attempt - 1))
    return _random.uniform(0.0, ceiling)


def is_retryable(exc: BaseException, max_retry_wait: float, *, idempotent: bool = True) -> bool:
    """Connection errors, timeouts, 429 and 5xx are retried, unless told to wait too long.

    A failure marked final (too many redirects, a bad setting, a response over the size
    cap) is never retried. A request that is not idempotent (a POST, say) is retried only
    after a 429 or a connection error raised before it was sent: the service may have
    acted on it otherwise.
    """
    if is_final(exc):
        return False
    if isinstance(exc, APIConnectionError):
        return idempotent or not was_sent(exc)
    if isinstance(exc, APIError) and exc.status_code in RETRYABLE_STATUSES:
        if not idempotent and exc.status_code != 429:
            return False
        return exc.retry_after is None or exc.retry_after <= max_retry_wait
    return False


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, APIError) and exc.retry_after is not None:
        return exc.retry_after
    return backoff(state.attempt_number)


OnRetry = Callable[[BaseException, float], None]
"""Told of every retry before its wait: ``on_retry(error, wait_seconds)``."""


def _before_retry(label: str, on_retry: OnRetry | None, state: RetryCallState) -> None:
    """Log the retry at WARNING, then tell ``on_retry`` (whose exception propagates)."""
    exc = state.outcome.exception() if state.outcome else None
    what = exc.status_code if isinstance(exc, APIError) else type(exc).__name__
    wait = state.next_action.sleep if state.next_action else 0.0
    logger.warning(
        "retrying %s after %s (attempt %d failed), waiting %.2f s",
        label,
        what,
        state.attempt_number,
        wait,
    )
    if on_retry is not None and exc is not None:
        on_retry(exc, wait)


def build_retrying(max_retries: int, max_retry_wait: float) -> Retrying:
    """The tenacity policy of one client: ``max_retries`` retries after the first attempt.

    Each call takes a copy of it through `policy_for`, which names the call in the log.
    """
    return Retrying(
        stop=stop_after_attempt(max_retries + 1),
        retry=retry_if_exception(lambda exc: is_retryable(exc, max_retry_wait)),
        wait=_wait,
        sleep=lambda seconds: sleep_unless_cancelled(seconds, _sleep),
        before_sleep=functools.partial(_before_retry, "a request", None),
        reraise=True,
    )


def policy_for(
    base: Retrying,
    label: str,
    max_retry_wait: float,
    *,
    idempotent: bool = True,
    on_retry: OnRetry | None = None,
) -> Retrying:
    """``base`` for one call: its retry warnings name ``label`` (e.g. ``GET /v1/…``).

    ``on_retry(error, wait)`` is called before each retry's wait, after the warning.
    """
    before_sleep = functools.partial(_before_retry, label, on_retry)
    if idempotent:
        return base.copy(before_sleep=before_sleep)
    return base.copy(
        retry=retry_if_exception(lambda exc: is_retryable(exc, max_retry_wait, idempotent=False)),
        before_sleep=before_sleep,
    )


class RateLimitWindow:
    """The time until which the service said not to call again; shared by client copies.

    This one lives in the client's memory; a rate limit with a store keeps its window
    in the store instead (a subclass overrides `_extend` and `_seconds_left`).
    """

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()
        reset_after_fork(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # a parent's thread may have held it

    def hold(self, seconds: float) -> None:
        """Remember that the service asked for ``seconds`` of quiet from now (24 h at most)."""
        self._extend(min(seconds, MAX_RATE_LIMIT_WINDOW))

    def check(self) -> None:
        """Raise ``RateLimitError`` without sending anything while the window is open."""
        left = self._seconds_left()
        if left > 0:
            raise mark_final(
                RateLimitError(
                    "rate limited: the service asked for a pause (Retry-After) that has "
                    f"{left:.1f} s left; no request was sent",
                    status_code=429,
                    retry_after=left,
                )
            )

    def _extend(self, seconds: float) -> None:
        """Keep the window open at least ``seconds`` from now."""
        with self._lock:
            self._until = max(self._until, _monotonic() + seconds)

    def _seconds_left(self) -> float:
        """Seconds until the window ends (zero or less once it has)."""
        return self._until - _monotonic()
