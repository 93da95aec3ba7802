"""Proof: one rate limit and one Retry-After window for every process on an API key.

Real processes (spawned), each with its own client and its own store object, against
one sandbox, through a real SQLite file and a real redis-server:

- 4 processes at ``per_second=20`` (burst 20) for 3 s: no window of one second holds
  more than ``20 + 20`` request starts, and the total is within 10% of the ideal
  ``burst + per_second * seconds`` (the 10 s run is a benchmark: benchmarks/bench_quota.py);
- one process receives a 429 whose ``Retry-After`` is over its ``max_retry_wait``: the
  other 3 send nothing until the window ends (every call they made during it was held
  back), then send again.

Times are taken in the workers: when the limit granted each token, by the bucket's own
clock (the reading of the wall clock its decision used), and when each request started
(the session's ``send``, a moment later); the sandbox's ``request_count`` confirms that
every request they noted reached it.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from amazon_music_browse import RateLimit, RateLimitError
from amazon_music_browse.sandbox import SandboxServer

from . import _quota_workers as workers
from ._support import report

PROCESSES = 4
PER_SECOND = 20
SECONDS = 3.0
WINDOW = 3


def most_in_one_second(times: list[float]) -> int:
    """The most starts in any window [t, t + 1)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, now in enumerate(ordered):
        while ordered[first] <= now - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.fixture(params=["sqlite", "redis"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """``(kind, where)``: a store every process opens on its own."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "limits.db")
    return "redis", request.getfixturevalue("redis_url")


def run(target: Any, count: int, *args: Any) -> tuple[list[Any], Any, Any]:
    """Start ``count`` spawned workers; returns them, their barrier and the results queue."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count + 1)
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*args, barrier, results), daemon=True)
        for _ in range(count)
    ]
    for process in processes:
        process.start()
    return processes, barrier, results


def collect(processes: list[Any], results: Any) -> list[Any]:
    try:
        found = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():  # pragma: no cover - a hung worker fails the test
                process.kill()
    assert all(process.exitcode == 0 for process in processes)
    return found


def test_processes_share_one_rate_limit(shared: tuple[str, str]) -> None:
    kind, where = shared
    context = multiprocessing.get_context("spawn")
    start_at = context.Value("d", 0.0)
    with SandboxServer() as sandbox:
        processes, barrier, results = run(
            workers.paced, PROCESSES, kind, where, sandbox.url, PER_SECOND, SECONDS, start_at
        )
        barrier.wait(timeout=60)
        start_at.value = time.time() + 0.5
        barrier.wait(timeout=60)
        found = collect(processes, results)
        served = sandbox.request_count
    granted = [time for grants, _ in found for time in grants]
    starts = [time for _, sent in found for time in sent]
    begin = start_at.value
    inside = [start for start in starts if begin <= start < begin + SECONDS]
    ideal = PER_SECOND + PER_SECOND * SECONDS  # a full bucket, then its refill
    report(
        f"shared limit ({kind})",
        processes=PROCESSES,
        per_second=PER_SECOND,
        seconds=SECONDS,
        requests=len(inside),
        ideal=ideal,
        busiest_second_granted=most_in_one_second(granted),
        busiest_second_sent=most_in_one_second(starts),
    )
    assert served == len(starts) == len(granted)  # every grant was one request, received
    assert most_in_one_second(granted) <= PER_SECOND + PER_SECOND
    # A request starts a moment after its grant; only a delay of a token's interval
    # (50 ms) more for one request than for another could add a start to a second.
    assert most_in_one_second(starts) <= PER_SECOND + PER_SECOND + 2
    assert abs(len(inside) - ideal) <= 0.1 * ideal


def test_one_processs_retry_after_holds_the_others(shared: tuple[str, str]) -> None:
    kind, where = shared
    context = multiprocessing.get_context("spawn")
    window_end = context.Value("d", 0.0)
    others = PROCESSES - 1
    with SandboxServer(rate_limit_rate=1.0, retry_after=WINDOW) as sandbox:
        processes, barrier, results = run(
            workers.held, others, kind, where, sandbox.url, window_end
        )
        limit = RateLimit(50, store=workers.make_store(kind, where))
        client = sandbox.client(rate_limit=limit, max_retry_wait=1, max_retries=0)
        barrier.wait(timeout=60)  # the others are ready
        with pytest.raises(RateLimitError) as refused:
            client.get_top_tracks(limit=1)
        assert refused.value.retry_after == WINDOW
        window_end.value = time.time() + limit._throttle_for(workers.API_KEY).window._seconds_left()
        barrier.wait(timeout=60)
        calls = [call for found in collect(processes, results) for call in found]
        served = sandbox.request_count
    end = window_end.value
    held_back = [call for call in calls if not call[2] and call[0] < end]
    sent = [call for call in calls if call[2]]
    report(
        f"shared window ({kind})",
        window=WINDOW,
        held_calls=len(held_back),
        sent_before_end=sum(1 for call in sent if call[1] < end),
        sent_after_end=len(sent),
    )
    assert all(ended >= end for _, ended, _ in sent)  # nothing was sent inside the window
    assert len(held_back) >= others * 10  # they did try, all through it
    assert len(sent) >= 1  # and sent again once it was over
    assert served == 1 + len(sent)
