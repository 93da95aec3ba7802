"""Quota targets: fan-out, the connection pool, the response cache, shared rate limits.

- **fan-out**: ``client.map`` over 230 category-tracks calls (8 workers) against the same
  calls one by one, a canned server answering 50 ms late; calls/s, ratio >= 6.5.
- **pool**: 32 threads x 50 calls with ``max_connections=10`` against 10 threads x 50
  (5 ms latency): calls/s within 10%, at most 10 connections opened (urllib3's own
  "Starting new HTTP connection" records), no "Connection pool is full" warning.
- **cache**: a hit of the SQLite ``ResponseCache`` against an uncached loopback call of
  the same page (20 top tracks), in alternation; ratio <= 0.5.
- **shared limit**: 4 spawned processes at ``per_second=20`` (burst 20) through a Redis
  store, then through an SQLite store, for 10 s against the sandbox: the total within
  10% of the ideal ``20 + 20 x 10``, no second with more than 40 grants (by the bucket's
  own clock), and the sandbox's ``request_count`` equal to the requests noted.
- **window**: the parent receives a 429 whose ``Retry-After`` (3 s: a short window) is
  over its ``max_retry_wait``; 3 spawned processes call all through it. With the Redis
  store they send nothing until it ends; the baseline is the same run with no store,
  where each process only learns of the window from its own 429.

The process workers are the proof tests' (``tests/proof/_quota_workers.py``), and the
Redis server is the tests' own (``tests/_redis.py``): a real ``redis-server``, skipped
with a note when it is not installed.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import ROOT, Context
from _server import LONG_CATEGORY, ServerProcess
from _stats import Paired, Row, Summary, alternate, paired_row

from amazon_music_browse import BrowseClient, RateLimit, RateLimitError, ResponseCache
from amazon_music_browse.sandbox import SandboxServer

if str(ROOT) not in sys.path:  # the tests' Redis server and process workers
    sys.path.insert(0, str(ROOT))

from tests._redis import RedisServer, redis_server_missing
from tests.proof import _quota_workers as workers

API_KEY = "k"
ACCESS_TOKEN = "t"
FAN_OUT_CALLS = 230
FAN_OUT_WORKERS = 8
PER_SECOND = 20
PROCESSES = 4
WINDOW = 3


def _client(base_url: str, **options: Any) -> BrowseClient:
    return BrowseClient(API_KEY, ACCESS_TOKEN, base_url=base_url, **options)


# -- fan-out ---------------------------------------------------------------------------------


def bench_fan_out(ctx: Context) -> list[Row]:
    """``client.map`` with 8 workers is >= 6.5x the calls/s of the same calls one by one."""
    calls = ctx.pick(FAN_OUT_CALLS, 60)
    ids = [LONG_CATEGORY] * calls
    mapped: list[float] = []
    serial: list[float] = []
    with ServerProcess(latency_ms=50) as server, _client(server.url) as client:
        client.map(client.get_category_tracks, ids[:16], limit=10)  # connections warm
        for index in range(ctx.pick(3, 1)):
            for use_map in (True, False) if index % 2 == 0 else (False, True):
                started = time.perf_counter()
                if use_map:
                    pages = client.map(
                        client.get_category_tracks, ids, max_workers=FAN_OUT_WORKERS, limit=10
                    )
                else:
                    pages = [client.get_category_tracks(value, limit=10) for value in ids]
                rate = len(pages) / (time.perf_counter() - started)
                (mapped if use_map else serial).append(rate)
    row = paired_row(
        f"fan-out: map over {calls} calls, 50 ms latency, 8 workers",
        Paired(mapped, serial),
        scale=1.0,
        unit="calls/s",
        op=">=",
        target=6.5,
    )
    row.notes.append(
        f"`client.map(client.get_category_tracks, ids, limit=10)` with `max_workers=8` "
        f"against the same {calls} calls one by one, the canned server answering every "
        "request 50 ms late; calls/s (the ratio is the speed-up; 8 is its ceiling)."
    )
    return [row]


# -- the connection pool -----------------------------------------------------------------


class _Records(logging.Handler):
    """Counts urllib3's records of new connections and of discarded ones."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.opened = 0
        self.pool_full = 0
        self._lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        with self._lock_counts:
            if message.startswith("Starting new HTTP"):
                self.opened += 1
            if "Connection pool is full" in message:
                self.pool_full += 1


@contextlib.contextmanager
def _urllib3_records() -> Iterator[_Records]:
    records = _Records()
    pool_logger = logging.getLogger("urllib3.connectionpool")
    level = pool_logger.level
    pool_logger.addHandler(records)
    pool_logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        pool_logger.removeHandler(records)
        pool_logger.setLevel(level)


def _threads_rate(client: BrowseClient, threads: int, calls: int) -> float:
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(calls):
            client.get_top_tracks(limit=20)

    workers_ = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers_:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers_:
        worker.join()
    return threads * calls / (time.perf_counter() - started)


def bench_pool(ctx: Context) -> list[Row]:
    """32 threads x 50 calls share 10 connections: no more opened, none discarded."""
    calls = ctx.pick(50, 10)
    many: list[float] = []
    ten: list[float] = []
    opened: list[int] = []
    pool_full = 0
    with ServerProcess(latency_ms=5) as server:
        for index in range(ctx.pick(4, 1)):
            for threads in (32, 10) if index % 2 == 0 else (10, 32):
                with _client(server.url, max_connections=10) as client, _urllib3_records() as seen:
                    rate = _threads_rate(client, threads, calls)
                (many if threads == 32 else ten).append(rate)
                if threads == 32:
                    opened.append(seen.opened)
                    pool_full += seen.pool_full
    row = paired_row(
        "pool: 32 threads x 50 calls, max_connections=10",
        Paired(many, ten),
        scale=1.0,
        unit="calls/s",
        op=">=",
        target=0.9,
    )
    row.checks[f"connections opened {max(opened)} <= 10"] = max(opened) <= 10
    row.checks[f"pool-full warnings {pool_full} = 0"] = pool_full == 0
    row.notes.append(
        f"A fresh client per run (`max_connections=10`); 32 threads x {calls} calls of 20 top "
        f"tracks against 10 threads x {calls} (the baseline), the canned server answering "
        '5 ms late; calls/s. Connections opened and urllib3\'s "Connection pool is full" '
        "warnings are counted from urllib3's own log records in the 32-thread runs."
    )
    return [row]


# -- the response cache ------------------------------------------------------------------


def bench_cache(ctx: Context) -> list[Row]:
    """A hit of the SQLite cache costs at most half an uncached loopback call."""
    with (
        tempfile.TemporaryDirectory() as folder,
        ServerProcess() as server,
        _client(server.url, cache=ResponseCache(path=Path(folder) / "responses.sqlite")) as cached,
        _client(server.url) as plain,
    ):
        cached.get_top_tracks(limit=20)
        paired = alternate(
            lambda: cached.get_top_tracks(limit=20),
            lambda: plain.get_top_tracks(limit=20),
            rounds=ctx.pick(40, 8),
            batch=ctx.pick(50, 20),
            warmup=20,
        )
        if not cached.get_top_tracks(limit=20).from_cache:
            raise RuntimeError("the cached side was not served from the cache")
    row = paired_row(
        "cache: SQLite hit vs uncached call (20 items)",
        paired,
        scale=1e6,
        unit="µs/call",
        op="<=",
        target=0.5,
    )
    row.notes.append(
        "`get_top_tracks(limit=20)` through a client with `ResponseCache(path=...)` "
        "(SQLite, a fresh entry) against the same call through a client without a cache, "
        "over loopback to the canned server; both sides parse the page into models."
    )
    return [row]


# -- rate limits shared by processes -----------------------------------------------------


@contextlib.contextmanager
def _store_location(kind: str) -> Iterator[str | None]:
    """Where the processes' store lives, or ``None`` when it cannot be had here."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield str(Path(folder) / "limits.db")
        return
    if redis_server_missing() is not None:
        yield None
        return
    with RedisServer() as server:
        yield server.url


def _spawn(target: Callable[..., None], count: int, *args: Any) -> tuple[list[Any], Any, Any]:
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


def _collect(processes: list[Any], results: Any) -> list[Any]:
    found = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return found


def _most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    most, first = 0, 0
    for last, now in enumerate(ordered):
        while ordered[first] <= now - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def _skipped(name: str, unit: str, why: str) -> Row:
    empty = Summary.of([0.0])
    row = Row(name, unit, empty, empty, 0.0, None, ">=", 1.0)
    row.checks[f"skipped: {why}"] = False
    return row


def _shared_limit(kind: str, seconds: float) -> Row:
    name = f"shared limit: {PROCESSES} processes, {PER_SECOND}/s, {kind} store"
    with _store_location(kind) as where:
        if where is None:
            return _skipped(name, "requests", redis_server_missing() or "no store")
        start_at = multiprocessing.get_context("spawn").Value("d", 0.0)
        with SandboxServer(api_key=workers.API_KEY, access_token=workers.ACCESS_TOKEN) as sandbox:
            processes, barrier, results = _spawn(
                workers.paced, PROCESSES, kind, where, sandbox.url, PER_SECOND, seconds, start_at
            )
            barrier.wait(timeout=120)
            start_at.value = time.time() + 0.5
            barrier.wait(timeout=120)
            found = _collect(processes, results)
            served = sandbox.request_count
    granted = [moment for grants, _ in found for moment in grants]
    starts = [moment for _, sent in found for moment in sent]
    begin = start_at.value
    inside = sum(1 for moment in starts if begin <= moment < begin + seconds)
    ideal = PER_SECOND + PER_SECOND * seconds
    busiest = _most_in_one_second(granted)
    row = Row(
        name,
        "requests",
        Summary.of([float(inside)]),
        Summary.of([float(ideal)]),
        inside / ideal,
        (inside / ideal, inside / ideal),  # one run: no spread
        ">=",
        0.9,
    )
    row.checks[f"ratio {inside / ideal:.2f} <= 1.10"] = inside <= 1.1 * ideal
    row.checks[f"busiest second {busiest} <= {2 * PER_SECOND}"] = busiest <= 2 * PER_SECOND
    row.checks["sandbox counted every request"] = served == len(starts)
    row.notes.append(
        f"{PROCESSES} spawned processes, each with its own client and its own "
        f"`RateLimitStore.{kind}(...)` object on one shared {kind} store, call the sandbox "
        f"as fast as `RateLimit({PER_SECOND})` (burst {PER_SECOND}) lets them for "
        f"{seconds:g} s. SDK = requests started in the run; baseline = the ideal "
        f"{PER_SECOND} + {PER_SECOND} x {seconds:g}. The busiest second counts grants by "
        f"the bucket's own clock ({busiest}); by the workers' clocks at the start of each "
        f"request it held {_most_in_one_second(starts)}. The sandbox counted {served} "
        "requests."
    )
    return row


def bench_shared_limit(ctx: Context) -> list[Row]:
    """4 processes at 20/s through Redis, then SQLite: the ideal total, no busy second."""
    seconds = float(ctx.pick(10, 3))
    return [_shared_limit("redis", seconds), _shared_limit("sqlite", seconds)]


def _window_run(kind: str, where: str) -> tuple[int, int]:
    """``(requests the others sent inside the window, calls they made inside it)``."""
    window_end = multiprocessing.get_context("spawn").Value("d", 0.0)
    with SandboxServer(rate_limit_rate=1.0, retry_after=WINDOW) as sandbox:
        processes, barrier, results = _spawn(
            workers.held, PROCESSES - 1, kind, where, sandbox.url, window_end
        )
        limit = RateLimit(50, store=workers.make_store(kind, where))
        client = sandbox.client(rate_limit=limit, max_retry_wait=1, max_retries=0)
        barrier.wait(timeout=120)
        with contextlib.suppress(RateLimitError):
            client.get_top_tracks(limit=1)
        window_end.value = time.time() + limit._throttle_for(workers.API_KEY).window._seconds_left()
        barrier.wait(timeout=120)
        calls = [call for found in _collect(processes, results) for call in found]
    end = window_end.value
    inside = [call for call in calls if call[0] < end]
    sent = sum(1 for started, ended, was_sent in inside if was_sent and started < end)
    return sent, len(inside)


def bench_window(ctx: Context) -> list[Row]:
    """A long Retry-After seen by one process holds the other 3 until it ends."""
    name = f"window: 1 process gets Retry-After over the cap, {PROCESSES - 1} others"
    with _store_location("redis") as where:
        if where is None:
            return [_skipped(name, "requests", redis_server_missing() or "no store")]
        shared_sent, shared_calls = _window_run("redis", where)
        alone_sent, alone_calls = _window_run("none", where)
    row = Row(
        name,
        "requests",
        Summary.of([float(shared_sent)]),
        Summary.of([float(alone_sent)]),
        shared_sent / alone_sent if alone_sent else 0.0,
        None,
        "<=",
        0.0,
        limit=1,
    )
    row.notes.append(
        f"The sandbox answers every request with 429 and `Retry-After: {WINDOW}` (a short "
        "window, over the clients' `max_retry_wait=1`). The parent process receives it "
        f"first; then {PROCESSES - 1} spawned processes call every 20 ms until a second "
        f"after the window. SDK = requests they started inside the window with the "
        f"window in the Redis store ({shared_calls} calls held back); baseline = the same "
        f"run without a store, where each process must receive its own 429 "
        f"({alone_calls} calls)."
    )
    return [row]
