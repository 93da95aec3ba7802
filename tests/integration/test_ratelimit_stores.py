"""RateLimitStore.sqlite and RateLimitStore.redis: a real file, a real redis-server.

Two store objects on the same file or server stand for two processes (the multi-process
runs are in tests/proof/test_shared_limit.py). The wall clock the stores share is
patched, and sleeping moves it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from amazon_music_browse import (
    APIConnectionError,
    ConfigurationError,
    RateLimit,
    RateLimitError,
    RateLimitStore,
)
from amazon_music_browse import _ratelimit as ratelimit_module
from amazon_music_browse._ratelimit import bucket_name
from amazon_music_browse.sandbox import SandboxServer
from tests._support import FakeClock

API_KEY = "store-test-api-key-31f7"

StoreFactory = Callable[[], RateLimitStore]


class SleepingClock(FakeClock):
    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SleepingClock:
    fake = SleepingClock(1_800_000_000.0)
    monkeypatch.setattr(ratelimit_module, "_wall_clock", fake)
    monkeypatch.setattr(ratelimit_module, "_monotonic", fake)
    monkeypatch.setattr(ratelimit_module, "_sleep", fake.sleep)
    return fake


@pytest.fixture(params=["sqlite", "redis"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Makes store objects that share one file or one Redis database."""
    made: list[RateLimitStore] = []

    def make() -> RateLimitStore:
        if request.param == "sqlite":
            store = RateLimitStore.sqlite(tmp_path / "limits.db")
        else:
            store = RateLimitStore.redis(request.getfixturevalue("redis_url"))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def taken_at_once(limit: RateLimit, key: str = API_KEY) -> int:
    """How many tokens can be taken without waiting."""
    throttle = limit._throttle_for(key)
    count = 0
    while True:
        try:
            throttle.take(max_wait=0)
        except RateLimitError:
            return count
        count += 1


def test_two_stores_on_one_file_or_server_share_the_bucket(
    new_store: StoreFactory, clock: SleepingClock
) -> None:
    first = RateLimit(10, burst=6, store=new_store())
    second = RateLimit(10, burst=6, store=new_store())
    assert taken_at_once(first) == 6
    assert taken_at_once(second) == 0
    clock.now += 0.3  # three tokens earned
    assert taken_at_once(second) == 3
    assert taken_at_once(first) == 0


def test_different_api_keys_have_different_buckets(
    new_store: StoreFactory, clock: SleepingClock
) -> None:
    store = new_store()
    limit = RateLimit(5, store=store)
    assert taken_at_once(limit, "first-api-key-1234") == 5
    assert taken_at_once(RateLimit(5, store=new_store()), "second-api-key-5678") == 5


def test_a_shared_bucket_paces_waiting_takers(
    new_store: StoreFactory, clock: SleepingClock
) -> None:
    first = RateLimit(20, burst=2, store=new_store())._throttle_for(API_KEY)
    second = RateLimit(20, burst=2, store=new_store())._throttle_for(API_KEY)
    starts = []
    for throttle in [first, second] * 10:
        throttle.take(max_wait=60)
        starts.append(clock.now)
    assert starts[1] == starts[0]
    assert starts[-1] - starts[0] == pytest.approx(18 / 20, abs=0.02)


def test_the_retry_after_window_is_shared_through_the_store(
    new_store: StoreFactory, clock: SleepingClock
) -> None:
    holder = RateLimit(10, store=new_store())._throttle_for(API_KEY).window
    other = RateLimit(10, store=new_store())._throttle_for(API_KEY).window
    unrelated = RateLimit(10, store=new_store())._throttle_for("another-key-99").window
    holder.hold(120)
    with pytest.raises(RateLimitError, match="no request was sent") as held:
        other.check()
    assert held.value.retry_after == pytest.approx(120, abs=0.01)
    unrelated.check()
    holder.hold(30)  # a shorter window never shortens a longer one
    clock.now += 100
    with pytest.raises(RateLimitError) as later:
        other.check()
    assert later.value.retry_after == pytest.approx(20, abs=0.01)
    clock.now += 20.01
    other.check()


def test_the_store_holds_no_api_key(new_store: StoreFactory, tmp_path: Path) -> None:
    store = new_store()
    throttle = RateLimit(10, store=store)._throttle_for(API_KEY)
    throttle.take(max_wait=0)
    throttle.window.hold(60)
    contents = _store_contents(store, tmp_path)
    assert API_KEY.encode() not in contents
    assert bucket_name(API_KEY).encode() in contents


def _store_contents(store: RateLimitStore, folder: Path) -> bytes:
    if repr(store).startswith("RateLimitStore.sqlite"):
        with sqlite3.connect(folder / "limits.db") as connection:
            connection.execute("PRAGMA wal_checkpoint(FULL)")
        return b"".join(path.read_bytes() for path in folder.iterdir() if path.is_file())
    client = store.client  # type: ignore[attr-defined]
    parts = []
    for key in client.keys("*"):
        parts.append(key)
        kind = client.type(key)
        if kind == b"hash":
            parts += [b"%s=%s" % item for item in client.hgetall(key).items()]
        else:
            parts.append(client.get(key))
    return b"\n".join(parts)


def test_threads_share_one_store_object(new_store: StoreFactory, clock: SleepingClock) -> None:
    limit = RateLimit(1, burst=7, store=new_store())
    taken: list[bool] = []

    def work() -> None:
        for _ in range(3):
            try:
                limit._throttle_for(API_KEY).take(max_wait=0)
                taken.append(True)
            except RateLimitError:
                taken.append(False)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(True) == 7


def test_clients_share_the_limit_and_the_window_against_the_sandbox(
    new_store: StoreFactory,
) -> None:
    with SandboxServer(rate_limit_rate=1.0, retry_after=600) as sandbox:
        first = sandbox.client(
            rate_limit=RateLimit(50, store=new_store()), max_retry_wait=1, max_retries=0
        )
        second = sandbox.client(rate_limit=RateLimit(50, store=new_store()), max_retry_wait=1)
        with pytest.raises(RateLimitError) as refused:
            first.get_top_tracks()
        assert refused.value.retry_after == 600
        with pytest.raises(RateLimitError, match="no request was sent"):
            second.get_top_tracks()
        assert sandbox.request_count == 1


# -- each store's own settings ---------------------------------------------------------------


def test_sqlite_creates_its_file_and_folder_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "limits.db"
    store = RateLimitStore.sqlite(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert repr(store) == f"RateLimitStore.sqlite({str(path)!r})"
    assert store.path == path  # type: ignore[attr-defined]
    store.close()


@pytest.mark.parametrize("bad", [None, 42, b"limits.db"])
def test_sqlite_needs_a_path(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="takes a file path"):
        RateLimitStore.sqlite(bad)  # type: ignore[arg-type]


def test_sqlite_reports_a_file_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / "not-a-database").write_bytes(b"this is no SQLite file, just text " * 100)
    with pytest.raises(ConfigurationError, match="cannot use"):
        RateLimitStore.sqlite(tmp_path / "not-a-database")
    with pytest.raises(ConfigurationError, match="cannot use"):
        RateLimitStore.sqlite(tmp_path)  # a folder


def test_redis_takes_a_client_or_a_url(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = RateLimitStore.redis(client, prefix="my-app:")
    assert store.client is client  # type: ignore[attr-defined]
    limit = RateLimit(5, store=store)
    assert taken_at_once(limit) == 5
    assert any(key.startswith("my-app:rate-limit:") for key in client.keys("*"))
    store.close()
    assert client.ping()  # a client passed in stays open
    assert "RateLimitStore.redis('127.0.0.1:" in repr(RateLimitStore.redis(redis_url))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("localhost:6379", "a URL like"),
        (42, "not int"),
        (redis.asyncio.Redis(), "not an asyncio one"),
        ("redis://host:notaport/0", "RateLimitStore.redis"),
    ],
)
def test_redis_refuses_what_is_not_a_redis(bad: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RateLimitStore.redis(bad)


def test_redis_prefix_must_be_text(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="prefix must be a str"):
        RateLimitStore.redis(redis_url, prefix=1)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_a_forked_child_renews_the_stores_lock_and_connection(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = None
    if kind == "sqlite":
        store = RateLimitStore.sqlite(tmp_path / "limits.db")
    elif kind == "redis":
        store = RateLimitStore.redis(request.getfixturevalue("redis_url"))
    limit = RateLimit(1000, burst=10, store=store)
    throttle = limit._throttle_for(API_KEY)
    throttle.take(max_wait=0)  # the parent's connection is open
    held = getattr(limit._store_or_memory, "_lock", threading.Lock())
    release = threading.Event()
    holding = threading.Event()

    def hold_the_lock() -> None:
        with held:
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait(10)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            signal.alarm(20)
            throttle.take(max_wait=5)
            throttle.window.check()
            code = 0
        finally:
            os._exit(code)
    release.set()
    holder.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    throttle.take(max_wait=5)  # and the parent goes on with its own


def test_a_sqlite_store_that_cannot_write_or_read_stops_the_request(tmp_path: Path) -> None:
    store = RateLimitStore.sqlite(tmp_path / "limits.db")
    throttle = RateLimit(10, store=store)._throttle_for(API_KEY)
    store._connection.execute("PRAGMA query_only=ON")  # type: ignore[attr-defined]
    with pytest.raises(APIConnectionError, match=r"the rate-limit store .* failed"):
        throttle.take(max_wait=0)
    with pytest.raises(APIConnectionError, match="no request was sent"):
        throttle.window.hold(60)
    store.close()
    with pytest.raises(APIConnectionError, match="closed"):
        throttle.window.check()


def test_an_unreadable_bucket_in_sqlite_starts_full(tmp_path: Path) -> None:
    store = RateLimitStore.sqlite(tmp_path / "limits.db")
    limit = RateLimit(10, burst=3, store=store)
    store._connection.execute(  # type: ignore[attr-defined]
        "INSERT INTO rate_limit_buckets VALUES (?, 'not a number')", (bucket_name(API_KEY),)
    )
    assert taken_at_once(limit) == 3


def test_a_redis_store_that_cannot_be_reached_stops_the_request() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        store = RateLimitStore.redis(f"redis://127.0.0.1:{closed.getsockname()[1]}/0")
        throttle = RateLimit(10, store=store)._throttle_for(API_KEY)
        for attempt in (lambda: throttle.take(max_wait=0), lambda: throttle.window.hold(5)):
            with pytest.raises(APIConnectionError, match=r"the rate-limit store .* failed"):
                attempt()


def test_the_memory_store_of_a_rate_limit_without_one() -> None:
    memory = RateLimit(5)._store_or_memory
    assert repr(memory) == "RateLimitStore(memory)"
    memory.close()  # nothing to close


def _open_at_once(path: str, barrier: Any, errors: Any) -> None:
    """A process that opens the store on ``path`` as the others do (for the test below)."""
    barrier.wait(timeout=30)
    try:
        RateLimitStore.sqlite(path).close()
    except Exception as exc:  # every failure counts, whatever its class
        errors.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_one_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    # Switching a new file to WAL mode refused one of them at once ("database is locked",
    # whatever the busy timeout) in about 1 round in 25 before the store opened it again;
    # this run catches that about 1 time in 3, tests/unit/test_sqlite_open.py every time.
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for round_number in range(40):
        path = str(tmp_path / f"limits-{round_number}.db")
        barrier = context.Barrier(4)
        processes = [
            context.Process(target=_open_at_once, args=(path, barrier, errors)) for _ in range(4)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [process.exitcode for process in processes] == [0] * 4
    assert errors.empty(), errors.get()
