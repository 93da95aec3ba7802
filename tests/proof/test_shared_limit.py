"""Proof: one rate limit and one Retry-After window for every process on an API key.

Real processes (spawned), each with its own client and its own store object, against
a sandbox, through a real SQLite file and a real redis-server:

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

The SQLite and the Redis runs of a proof go at the same time, each with its own 4
processes, its own store and its own sandbox: a proof waits out its seconds once, not
once per store. The 8 processes are started once for the module (a spawned process
takes most of a second to start) and each is sent its task.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from amazon_music_browse import RateLimitStore
from amazon_music_browse.sandbox import SandboxServer

from . import _quota_workers as workers
from ._support import report

# A fleet of processes proves behaviour, not coverage: the stores' code is measured by
# tests/integration/test_ratelimit_stores.py (see tests/conftest.py).
pytestmark = pytest.mark.unmeasured
PROCESSES = 4
PER_SECOND = 20
SECONDS = 3.0
WINDOW = 3
STORES = ("sqlite", "redis")


def most_in_one_second(times: list[float]) -> int:
    """The most starts in any window [t, t + 1)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, now in enumerate(ordered):
        while ordered[first] <= now - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


class Fleet:
    """Spawned processes, each running the tasks it is sent (`_quota_workers.serve`).

    Every process and the parent meet at one barrier; ``moments`` are shared times, one
    per store (when to start, when a window ends).
    """

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(size + 1)
        self.moments = [context.Value("d", 0.0) for _ in STORES]
        self.busy = False
        self._tasks = [context.Queue() for _ in range(size)]
        self._results = [context.Queue() for _ in range(size)]
        self._processes = [
            context.Process(
                target=workers.serve,
                args=(self.barrier, self.moments, tasks, results),
                daemon=True,
            )
            for tasks, results in zip(self._tasks, self._results, strict=True)
        ]
        for process in self._processes:
            process.start()

    def send(self, tasks: list[tuple[Any, tuple[Any, ...], int]]) -> None:
        """One task to each process: ``(function, args, moment)``."""
        self.busy = True
        for inbox, task in zip(self._tasks, tasks, strict=True):
            inbox.put(task)

    def wait(self) -> None:
        """Meet the processes at the barrier; if a task broke it, fail with its traceback."""
        try:
            self.barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            crashes = []
            for results in self._results:
                with contextlib.suppress(queue.Empty):
                    crashes.append(results.get(timeout=10)[2] or "")
            # the task that broke it, rather than those it broke
            crashes.sort(key=lambda crash: "BrokenBarrierError" in crash or not crash)
            pytest.fail(f"a task failed: {crashes[:1]}")

    def collect(self) -> list[Any]:
        """The results of the tasks, in the order they were sent; every task ran in a
        process of its own."""
        found = [results.get(timeout=60) for results in self._results]
        crashes = [crash for _, _, crash in found if crash is not None]
        assert not crashes, crashes[0]
        assert len({pid for pid, _, _ in found}) == len(found)
        self.busy = False
        return [result for _, result, _ in found]

    def close(self) -> None:
        """Stop the processes: at once when a task may still run, else once idle."""
        for inbox in self._tasks:
            if not self.busy:
                inbox.put(None)
        for process in self._processes:
            process.join(timeout=0 if self.busy else 30)
            if process.is_alive():  # pragma: no cover - a task that failed or hung
                process.kill()
                process.join()


@pytest.fixture(scope="module")
def fleets() -> Iterator[list[Fleet]]:
    started: list[Fleet] = []
    yield started
    for fleet in started:
        fleet.close()


@pytest.fixture
def fleet(fleets: list[Fleet]) -> Fleet:
    """8 processes started once for the module; after a failed proof, a fresh 8."""
    if fleets and fleets[-1].busy:
        fleets.pop().close()
    if not fleets:
        fleets.append(Fleet(PROCESSES * len(STORES)))
    return fleets[-1]


@pytest.fixture
def shared(tmp_path: Path, redis_url: str) -> dict[str, str]:
    """Where each store is: every process opens a store object of its own on it.

    The SQLite file is made first: processes that all create it at the same instant may
    be refused ("database is locked", by the switch to WAL), which is not what is proved.
    """
    RateLimitStore.sqlite(tmp_path / "limits.db").close()
    return {"sqlite": str(tmp_path / "limits.db"), "redis": redis_url}


def test_processes_share_one_rate_limit(fleet: Fleet, shared: dict[str, str]) -> None:
    with SandboxServer() as on_sqlite, SandboxServer() as on_redis:
        sandboxes = {"sqlite": on_sqlite, "redis": on_redis}
        fleet.send(
            [
                (
                    workers.paced_calls,
                    (kind, shared[kind], sandboxes[kind].url, PER_SECOND, SECONDS),
                    0,
                )
                for kind in STORES
                for _ in range(PROCESSES)
            ]
        )
        fleet.wait()
        fleet.moments[0].value = time.time() + 0.5  # both stores start together
        fleet.wait()
        found = fleet.collect()
        served = {kind: sandbox.request_count for kind, sandbox in sandboxes.items()}
    begin = fleet.moments[0].value
    ideal = PER_SECOND + PER_SECOND * SECONDS  # a full bucket, then its refill
    checks = []
    for index, kind in enumerate(STORES):
        mine = found[index * PROCESSES : (index + 1) * PROCESSES]
        granted = [time for grants, _ in mine for time in grants]
        starts = [time for _, sent in mine for time in sent]
        inside = [start for start in starts if begin <= start < begin + SECONDS]
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
        checks.append((kind, served[kind], granted, starts, inside))
    for _kind, served_here, granted, starts, inside in checks:
        assert served_here == len(starts) == len(granted)  # every grant was one request
        assert most_in_one_second(granted) <= PER_SECOND + PER_SECOND
        # A request starts a moment after its grant; only a delay of a token's interval
        # (50 ms) more for one request than for another could add a start to a second.
        assert most_in_one_second(starts) <= PER_SECOND + PER_SECOND + 2
        assert abs(len(inside) - ideal) <= 0.1 * ideal


def test_one_processs_retry_after_holds_the_others(fleet: Fleet, shared: dict[str, str]) -> None:
    others = PROCESSES - 1
    with (
        SandboxServer(rate_limit_rate=1.0, retry_after=WINDOW) as on_sqlite,
        SandboxServer(rate_limit_rate=1.0, retry_after=WINDOW) as on_redis,
    ):
        sandboxes = {"sqlite": on_sqlite, "redis": on_redis}
        tasks: list[tuple[Any, tuple[Any, ...], int]] = []
        for moment, kind in enumerate(STORES):
            where, url = shared[kind], sandboxes[kind].url
            tasks.append((workers.refused, (kind, where, url), moment))
            tasks += [(workers.held_calls, (kind, where, url), moment)] * others
        fleet.send(tasks)
        fleet.wait()  # all are ready
        fleet.wait()  # one process of each store was refused
        found = fleet.collect()
        served = {kind: sandbox.request_count for kind, sandbox in sandboxes.items()}
    checks = []
    for moment, kind in enumerate(STORES):
        refusal, *held = found[moment * PROCESSES : (moment + 1) * PROCESSES]
        end = fleet.moments[moment].value
        calls = [call for found_here in held for call in found_here]
        held_back = [call for call in calls if not call[2] and call[0] < end]
        sent = [call for call in calls if call[2]]
        report(
            f"shared window ({kind})",
            window=WINDOW,
            held_calls=len(held_back),
            sent_before_end=sum(1 for call in sent if call[1] < end),
            sent_after_end=len(sent),
        )
        checks.append((refusal, end, held_back, sent, served[kind]))
    for refusal, end, held_back, sent, served_here in checks:
        assert refusal == WINDOW  # the refused process's Retry-After, over its max_retry_wait
        assert all(ended >= end for _, ended, _ in sent)  # nothing was sent inside the window
        assert len(held_back) >= others * 10  # they did try, all through it
        assert len(sent) >= 1  # and sent again once it was over
        assert served_here == 1 + len(sent)
