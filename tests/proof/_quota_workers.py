"""What the worker processes of the shared-limit proofs run (spawned: importable, small).

Each worker builds its own client with its own store object on the shared file or Redis
server, waits at a barrier so that all start together, and reports what it did through
a queue. The proofs start a fleet of processes once (`serve`) and send each process its
task; the benchmark (benchmarks/bench_quota.py) starts a process per task (`paced`,
`held`, whose window passes in real time).
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Iterator
from typing import Any

import requests

from amazon_music_browse import BrowseClient, RateLimit, RateLimitError, RateLimitStore, _ratelimit

API_KEY = "sandbox-key"
ACCESS_TOKEN = "sandbox-token"


def make_store(kind: str, where: str) -> RateLimitStore | None:
    """A store object of its own on the shared file or server (``"none"``: no store)."""
    if kind == "none":
        return None
    return RateLimitStore.sqlite(where) if kind == "sqlite" else RateLimitStore.redis(where)


class RecordingSession(requests.Session):
    """A session that notes the wall-clock time at which each request starts."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[float] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.starts.append(time.time())
        return super().send(request, **kwargs)


def serve(barrier: Any, moments: list[Any], tasks: Any, results: Any) -> None:
    """A process of a fleet: run each task sent to it, until ``None``, and put its result.

    A task is ``(function, args, slots)``: ``function(*args, *shared, barrier)`` where
    ``shared`` are the shared values ``moments[slot]`` (times the processes share).
    Every result is ``(pid, result, crash)``; a task that raised breaks the barrier, so
    that no other process (nor the parent) waits for it.
    """
    while (task := tasks.get()) is not None:
        function, args, slots = task
        shared = [moments[slot] for slot in slots]
        try:
            results.put((os.getpid(), function(*args, *shared, barrier), None))
        except BaseException:  # pragma: no cover - reported to the parent, which fails
            barrier.abort()
            results.put((os.getpid(), None, traceback.format_exc()))


def paced(
    kind: str,
    where: str,
    base_url: str,
    per_second: float,
    seconds: float,
    start_at: Any,
    barrier: Any,
    results: Any,
) -> None:
    """`paced_calls` in a process of its own: puts its result on ``results``."""
    results.put(paced_calls(kind, where, base_url, per_second, seconds, start_at, barrier))


def paced_calls(
    kind: str,
    where: str,
    base_url: str,
    per_second: float,
    seconds: float,
    start_at: Any,
    barrier: Any,
) -> tuple[list[float], list[float]]:
    """Call the sandbox as fast as the shared limit lets it, for ``seconds``.

    Returns when the limit granted each token and when each request started.
    """
    session = RecordingSession()
    client = BrowseClient(
        API_KEY,
        ACCESS_TOKEN,
        base_url=base_url,
        session=session,
        rate_limit=RateLimit(per_second, store=make_store(kind, where)),
    )
    granted = note_grants(client)
    barrier.wait(timeout=60)  # every worker is ready
    barrier.wait(timeout=60)  # the parent has set start_at
    begin = start_at.value
    time.sleep(max(0.0, begin - time.time()))
    while time.time() < begin + seconds:
        client.get_top_tracks(limit=1)
    return granted, session.starts


def note_grants(client: BrowseClient) -> list[float]:
    """When the client's rate limit granted each token, by the clock of the bucket itself.

    The store reads its clock once per decision (whole milliseconds of the wall clock);
    the reading of the decision that granted a token is noted, so these times are the
    bucket's own, with no delay between the grant and the note.
    """
    granted: list[float] = []
    throttle = client._quota._throttle
    assert throttle is not None
    store = throttle._limit._store_or_memory
    now_ms = store._now_ms
    last: list[int] = [0]

    def read_and_note() -> int:
        last[0] = now_ms()
        return last[0]

    take = throttle.take

    def take_and_note(max_wait: float) -> None:
        take(max_wait)
        granted.append(last[0] / 1000)

    store._now_ms = read_and_note  # type: ignore[method-assign]
    throttle.take = take_and_note  # type: ignore[method-assign]
    return granted


@contextlib.contextmanager
def clock_of_the_stores(clock: Any) -> Iterator[None]:
    """The rate limit's wall clock (by which the stores keep windows) reads ``clock``, a
    time that the parent sets and every process shares; restored at the end."""
    wall_clock = _ratelimit._wall_clock
    _ratelimit._wall_clock = lambda: float(clock.value)
    try:
        yield
    finally:
        _ratelimit._wall_clock = wall_clock


def _refusable_client(kind: str, where: str, base_url: str) -> tuple[BrowseClient, RateLimit]:
    limit = RateLimit(50, store=make_store(kind, where))
    client = BrowseClient(
        API_KEY, ACCESS_TOKEN, base_url=base_url, rate_limit=limit, max_retry_wait=1, max_retries=0
    )
    return client, limit


def refused(
    kind: str, where: str, base_url: str, clock: Any, window_end: Any, barrier: Any
) -> float | None:
    """Be the process the service refuses: get the 429 whose ``Retry-After`` is over this
    client's ``max_retry_wait``, and note when (on ``clock``) the window it opened ends.

    Then wait out the others' calls (`held_by_the_clock`); returns the refusal's
    ``retry_after``.
    """
    with clock_of_the_stores(clock):
        client, limit = _refusable_client(kind, where, base_url)
        barrier.wait(timeout=60)  # the others are ready
        refusal: RateLimitError | None = None
        try:
            client.get_top_tracks(limit=1)
        except RateLimitError as error:
            refusal = error
        if refusal is None or refusal.response is None:  # not the service's own 429
            raise AssertionError(f"the sandbox did not refuse the call: {refusal!r}")
        window_end.value = clock.value + limit._throttle_for(API_KEY).window._seconds_left()
        for _ in range(5):  # the window is open; then the others' three rounds of calls
            barrier.wait(timeout=60)
    return refusal.retry_after


def held_by_the_clock(
    kind: str, where: str, base_url: str, clock: Any, window_end: Any, barrier: Any
) -> list[tuple[float, bool]]:
    """Call while another process's Retry-After window is open, and after, by ``clock``.

    10 calls at the time the window opened; then, once the parent has moved the clock to
    just before the window's end, 1 call; then, with the clock at the end, calls until
    one is sent (at most 10). Reports ``(clock, sent)`` for each call: ``sent`` when the
    service answered (the sandbox refuses every request with a 429), not when the window
    held it back.
    """
    with clock_of_the_stores(clock):
        client, _ = _refusable_client(kind, where, base_url)
        barrier.wait(timeout=60)  # ready
        barrier.wait(timeout=60)  # another process got its 429: the window is open
        calls = [_call(client, clock) for _ in range(10)]
        barrier.wait(timeout=60)  # done; the parent moves the clock to just before the end
        barrier.wait(timeout=60)
        calls.append(_call(client, clock))
        barrier.wait(timeout=60)  # done; the parent moves the clock to the end
        barrier.wait(timeout=60)
        for _ in range(10):
            calls.append(_call(client, clock))
            if calls[-1][1]:
                break
    return calls


def _call(client: BrowseClient, clock: Any) -> tuple[float, bool]:
    now = float(clock.value)
    try:
        client.get_top_tracks(limit=1)
    except RateLimitError as exc:
        return now, exc.response is not None
    return now, True  # pragma: no cover - the sandbox refuses every request


def held(
    kind: str,
    where: str,
    base_url: str,
    window_end: Any,
    barrier: Any,
    results: Any,
) -> None:
    """Call again and again while another process's Retry-After window is open, and after.

    Reports ``(started, ended, sent)`` for each call: ``sent`` when the service answered
    (the sandbox refuses every request with a 429), not when the window held it back.
    """
    client = BrowseClient(
        API_KEY,
        ACCESS_TOKEN,
        base_url=base_url,
        rate_limit=RateLimit(50, store=make_store(kind, where)),
        max_retry_wait=1,
        max_retries=0,
    )
    barrier.wait(timeout=60)  # ready
    barrier.wait(timeout=60)  # the parent got its 429: the window is open
    calls: list[tuple[float, float, bool]] = []
    while time.time() < window_end.value + 1.0:
        started = time.time()
        try:
            client.get_top_tracks(limit=1)
            sent = True
        except RateLimitError as exc:
            sent = exc.response is not None
        calls.append((started, time.time(), sent))
        time.sleep(0.02)
    results.put(calls)
