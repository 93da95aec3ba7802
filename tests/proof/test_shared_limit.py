"""Proof: one rate limit and one Retry-After window for every process on an API key.

Real processes (spawned), each with its own client and its own store object, against
a sandbox, through a real SQLite file and a real redis-server:

- 4 processes at ``per_second=20`` (burst 20) for 3 s: no window of one second holds
  more than ``20 + 20`` request starts, and the total is within 10% of the ideal
  ``burst + per_second * seconds`` (the 10 s run is a benchmark: benchmarks/bench_quota.py);
- one process receives a 429 whose ``Retry-After: 120`` is over its ``max_retry_wait``:
  the other 3 send nothing until the window ends (every call they made during it, the
  last one 10 ms before its end, was held back), then send again. The clock the stores
  keep windows by is patched in every process to read one shared time, which the parent
  moves: no proof waits two minutes.

Times of the rate are taken in the workers: when the limit granted each token, by the bucket's own
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

from amazon_music_browse.sandbox import SandboxServer

from . import _quota_workers as workers
from ._support import report

# A fleet of processes proves behaviour, not coverage: the stores' code is measured by
# tests/integration/test_ratelimit_stores.py (see tests/conftest.py).
pytestmark = pytest.mark.unmeasured
PROCESSES = 4
PER_SECOND = 20
SECONDS = 3.0
WINDOW = 120
STORES = ("sqlite", "redis")
# The processes' shared values: when the paced runs start, and for each store the clock
# of its window proof and when that window ends.
START_AT = 0
CLOCK = {"sqlite": 1, "redis": 3}
WINDOW_END = {"sqlite": 2, "redis": 4}


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

    Every process and the parent meet at one barrier; ``moments`` are shared times (see
    `START_AT`, `CLOCK` and `WINDOW_END`).
    """

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(size + 1)
        self.moments = [context.Value("d", 0.0) for _ in range(1 + 2 * len(STORES))]
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

    def send(self, tasks: list[tuple[Any, tuple[Any, ...], tuple[int, ...]]]) -> None:
        """One task to each process: ``(function, args, slots of moments)``."""
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
    """Where each store is: every process opens a store object of its own on it (the
    SQLite file is created by whichever process comes first)."""
    return {"sqlite": str(tmp_path / "limits.db"), "redis": redis_url}


def test_processes_share_one_rate_limit(fleet: Fleet, shared: dict[str, str]) -> None:
    with SandboxServer() as on_sqlite, SandboxServer() as on_redis:
        sandboxes = {"sqlite": on_sqlite, "redis": on_redis}
        fleet.send(
            [
                (
                    workers.paced_calls,
                    (kind, shared[kind], sandboxes[kind].url, PER_SECOND, SECONDS),
                    (START_AT,),
                )
                for kind in STORES
                for _ in range(PROCESSES)
            ]
        )
        fleet.wait()
        fleet.moments[START_AT].value = time.time() + 0.5  # both stores start together
        fleet.wait()
        found = fleet.collect()
        served = {kind: sandbox.request_count for kind, sandbox in sandboxes.items()}
    begin = fleet.moments[START_AT].value
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
    clocks = {kind: fleet.moments[CLOCK[kind]] for kind in STORES}
    ends = {kind: fleet.moments[WINDOW_END[kind]] for kind in STORES}
    with (
        SandboxServer(rate_limit_rate=1.0, retry_after=WINDOW) as on_sqlite,
        SandboxServer(rate_limit_rate=1.0, retry_after=WINDOW) as on_redis,
    ):
        sandboxes = {"sqlite": on_sqlite, "redis": on_redis}
        tasks: list[tuple[Any, tuple[Any, ...], tuple[int, ...]]] = []
        for kind in STORES:
            clocks[kind].value = time.time()
            place = (kind, shared[kind], sandboxes[kind].url)
            slots = (CLOCK[kind], WINDOW_END[kind])
            tasks.append((workers.refused, place, slots))
            tasks += [(workers.held_by_the_clock, place, slots)] * others
        fleet.send(tasks)
        fleet.wait()  # all are ready
        fleet.wait()  # one process of each store was refused: its window is open
        fleet.wait()  # the others made 10 calls each
        for kind in STORES:
            clocks[kind].value = ends[kind].value - 0.01
        fleet.wait()
        fleet.wait()  # and 1 call each, 10 ms before the end
        for kind in STORES:
            clocks[kind].value = ends[kind].value
        fleet.wait()
        found = fleet.collect()
        served = {kind: sandbox.request_count for kind, sandbox in sandboxes.items()}
    checks = []
    for index, kind in enumerate(STORES):
        refusal, *held = found[index * PROCESSES : (index + 1) * PROCESSES]
        end = ends[kind].value
        calls = [call for found_here in held for call in found_here]
        held_back = [call for call in calls if not call[1] and call[0] < end]
        sent = [call for call in calls if call[1]]
        report(
            f"shared window ({kind})",
            window=WINDOW,
            held_calls=len(held_back),
            sent_before_end=sum(1 for call in sent if call[0] < end),
            sent_after_end=len(sent),
        )
        checks.append((refusal, end, held_back, sent, served[kind]))
    for refusal, end, held_back, sent, served_here in checks:
        assert refusal == WINDOW  # the refused process's Retry-After, over its max_retry_wait
        assert all(at >= end for at, _ in sent)  # nothing was sent inside the window
        assert len(held_back) == others * 11  # they did try, all through it, to its end
        assert len(sent) >= 1  # and sent again once it was over
        assert served_here == 1 + len(sent)
