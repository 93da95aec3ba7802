"""Rate limits: a token bucket per API key, in memory or in a store that processes share.

``RateLimit(per_second, burst=...)`` is a bucket of ``burst`` tokens that refills at
``per_second`` tokens a second; every attempt takes one, so in any one second at most
``per_second + burst`` requests start. The policy is pyrate-limiter's ``TokenBucket``
(GCRA: one number per bucket, the wait in closed form); this module keeps that number

- in memory (no store): shared by every client given the same `RateLimit`;
- in an SQLite file (`RateLimitStore.sqlite`): each decision is one ``BEGIN IMMEDIATE``
  transaction, so every process on the machine shares the bucket;
- in Redis (`RateLimitStore.redis`): pyrate-limiter's atomic Lua script, so every process
  on every machine that reaches the server shares it.

The remembered ``Retry-After`` window of the same API key lives beside its bucket, so one
process's long 429 holds every process. Buckets and windows are named by a hash of the
API key: the key itself is never stored. Clocks, sleep and store failures are isolated
here (module attributes), so tests can replace them.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sqlite3
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

from ._arguments import is_finite_number, is_int, is_number
from ._cancel import sleep_unless_cancelled
from ._errors import APIConnectionError, ConfigurationError, RateLimitError, mark_final, mark_unsent
from ._extras import require
from ._fork import reset_after_fork
from ._retry import RateLimitWindow
from ._sqlite import BUSY_TIMEOUT, opened

__all__ = ["RateLimit", "RateLimitStore"]

_wall_clock = time.time
_monotonic = time.monotonic
_sleep = time.sleep

_DEFAULT_PREFIX = "amazon-music-browse:"

# A window is kept in Redis a little past its end, then expires by itself.
_WINDOW_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
"""


def bucket_name(api_key: str) -> str:
    """The name of an API key's bucket and window: a hash, never the key itself."""
    digest = hashlib.sha256(b"amazon-music-browse rate limit\0" + api_key.encode("utf-8"))
    return digest.hexdigest()[:40]


def _store_failed(exc: BaseException, store: RateLimitStore) -> APIConnectionError:
    """A store that cannot decide stops the request: it is not sent unthrottled."""
    error = APIConnectionError(
        f"the rate-limit store {store!r} failed ({type(exc).__name__}: {exc}); no request was sent"
    )
    return mark_final(mark_unsent(error))


class RateLimitStore:
    """Where rate-limit buckets and ``Retry-After`` windows live, shared by processes.

    Create one with `RateLimitStore.sqlite` (every process on this machine) or
    `RateLimitStore.redis` (every process that reaches the Redis server), and pass it as
    ``RateLimit(..., store=store)``. Buckets are named by a hash of the API key.
    """

    def __init__(self) -> None:
        if type(self) is RateLimitStore:
            raise TypeError(
                "create a store with RateLimitStore.sqlite(path) or RateLimitStore.redis(redis)"
            )

    @staticmethod
    def sqlite(path: str | os.PathLike[str]) -> RateLimitStore:
        """A store in an SQLite file on this machine, shared by every process that opens it.

        Args:
            path: the database file; it and its folder are created if missing. Use a
                local disk (SQLite's locks do not hold on network file systems).

        Raises:
            ConfigurationError: the file cannot be opened as an SQLite database.
            ImportError: the ``ratelimit`` extra is not installed.
        """
        return _SQLiteStore(path)

    @staticmethod
    def redis(redis: Any, *, prefix: str = _DEFAULT_PREFIX) -> RateLimitStore:
        """A store in Redis, shared by every process (on any machine) that reaches it.

        Args:
            redis: a ``redis.Redis`` client, or a URL such as ``"redis://localhost:6379/0"``.
            prefix: put before every key this store writes.

        Raises:
            ConfigurationError: ``redis`` is neither a ``redis.Redis`` nor a Redis URL.
            ImportError: the ``redis`` or ``ratelimit`` extra is not installed.
        """
        return _RedisStore(redis, prefix)

    def close(self) -> None:
        """Release the store's connection (a client passed in is left open)."""

    # What every store does, for `RateLimit`.

    def _now_ms(self) -> int:
        """The clock of the buckets: the wall clock, which processes share."""
        return int(_wall_clock() * 1000)

    def _take(self, name: str, algorithm: Any, rates: list[Any]) -> Any:
        """Apply one arrival to bucket ``name`` atomically: pyrate-limiter's ``Decision``."""
        raise NotImplementedError

    def _window_left(self, name: str) -> float:
        """Seconds left in window ``name`` (zero or less when it is over)."""
        raise NotImplementedError

    def _window_extend(self, name: str, seconds: float) -> None:
        """Keep window ``name`` open at least ``seconds`` from now."""
        raise NotImplementedError


class _MemoryStore(RateLimitStore):
    """The buckets of one `RateLimit` without a store: this process only."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[float, ...]] = {}
        self._windows: dict[str, float] = {}
        self._lock = threading.Lock()
        reset_after_fork(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # a parent's thread may have held it

    def _now_ms(self) -> int:
        return int(_monotonic() * 1000)

    def _take(self, name: str, algorithm: Any, rates: list[Any]) -> Any:
        with self._lock:
            state = self._states.get(name) or algorithm.initial(rates)
            new_state, decision = algorithm.step(rates, state, self._now_ms(), 1)
            self._states[name] = new_state
            return decision

    def _window_left(self, name: str) -> float:
        return self._windows.get(name, 0.0) - _monotonic()

    def _window_extend(self, name: str, seconds: float) -> None:
        with self._lock:
            until = _monotonic() + seconds
            self._windows[name] = max(self._windows.get(name, 0.0), until)

    def __repr__(self) -> str:
        return "RateLimitStore(memory)"


class _SQLiteStore(RateLimitStore):
    """Buckets and windows in an SQLite file: one ``BEGIN IMMEDIATE`` per decision."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        require("pyrate_limiter", "ratelimit", "RateLimitStore.sqlite")
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigurationError(
                f"RateLimitStore.sqlite(path) takes a file path, not {type(path).__name__}"
            )
        self._path = Path(path)
        self._lock = threading.Lock()
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self._path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            self._connection = opened(self._connect)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"RateLimitStore.sqlite cannot use {str(self._path)!r}: {exc}"
            ) from None
        reset_after_fork(self)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS rate_limit_buckets (name TEXT PRIMARY KEY, state TEXT)"
            )
            connection.execute(
                "CREATE TABLE IF NOT EXISTS rate_limit_windows (name TEXT PRIMARY KEY, until REAL)"
            )
        except sqlite3.Error:
            connection.close()
            raise
        return connection

    def _after_fork_in_child(self) -> None:
        # Never use a connection across fork(): the child opens its own.
        self._lock = threading.Lock()
        self._connection = opened(self._connect)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _take(self, name: str, algorithm: Any, rates: list[Any]) -> Any:
        try:
            with self._lock:
                connection = self._connection
                connection.execute("BEGIN IMMEDIATE")
                try:
                    row = connection.execute(
                        "SELECT state FROM rate_limit_buckets WHERE name = ?", (name,)
                    ).fetchone()
                    state = _decoded(algorithm, rates, row)
                    new_state, decision = algorithm.step(rates, state, self._now_ms(), 1)
                    if decision.allowed:
                        connection.execute(
                            "INSERT INTO rate_limit_buckets (name, state) VALUES (?, ?) "
                            "ON CONFLICT(name) DO UPDATE SET state = excluded.state",
                            (name, ",".join(str(value) for value in new_state)),
                        )
                    connection.execute("COMMIT")
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise _store_failed(exc, self) from exc
        return decision

    def _window_left(self, name: str) -> float:
        try:
            with self._lock:
                row = self._connection.execute(
                    "SELECT until FROM rate_limit_windows WHERE name = ?", (name,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise _store_failed(exc, self) from exc
        return 0.0 if row is None else float(row[0]) - _wall_clock()

    def _window_extend(self, name: str, seconds: float) -> None:
        try:
            with self._lock:
                self._connection.execute(
                    "INSERT INTO rate_limit_windows (name, until) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET until = max(until, excluded.until)",
                    (name, _wall_clock() + seconds),
                )
        except sqlite3.Error as exc:
            raise _store_failed(exc, self) from exc

    def __repr__(self) -> str:
        return f"RateLimitStore.sqlite({str(self._path)!r})"


def _decoded(algorithm: Any, rates: list[Any], row: tuple[str] | None) -> Any:
    """The stored state of a bucket; a new bucket's when there is none or it is unreadable."""
    if row is not None and row[0].count(",") + 1 == len(rates):
        with contextlib.suppress(ValueError):
            return algorithm.decode(row[0].split(","))
    return algorithm.initial(rates)


class _RedisStore(RateLimitStore):
    """Buckets in Redis through pyrate-limiter's ``RedisStateStore``; windows beside them."""

    def __init__(self, redis: Any, prefix: str) -> None:
        redis_lib = require("redis", "redis", "RateLimitStore.redis")
        pyrate = require("pyrate_limiter", "ratelimit", "RateLimitStore.redis")
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix must be a str, not {type(prefix).__name__}")
        self._owns_client = isinstance(redis, str)
        if isinstance(redis, str):
            if not redis.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    "RateLimitStore.redis takes a redis.Redis or a URL like "
                    f"'redis://localhost:6379/0', got {redis!r}"
                )
            try:
                redis = redis_lib.Redis.from_url(redis)
            except ValueError as exc:
                raise ConfigurationError(f"RateLimitStore.redis: {exc}") from None
        elif not isinstance(redis, redis_lib.Redis):
            raise ConfigurationError(
                "RateLimitStore.redis takes a redis.Redis (not an asyncio one) or a URL, "
                f"not {type(redis).__name__}"
            )
        self._redis = redis
        self._prefix = prefix
        self._errors: tuple[type[BaseException], ...] = (redis_lib.RedisError,)
        self._state_store = pyrate.RedisStateStore
        self._buckets: dict[str, Any] = {}
        self._window_script = redis.register_script(_WINDOW_LUA)

    @property
    def client(self) -> Any:
        """The ``redis.Redis`` client."""
        return self._redis

    def close(self) -> None:
        if self._owns_client:
            self._redis.close()

    def _take(self, name: str, algorithm: Any, rates: list[Any]) -> Any:
        bucket = self._buckets.get(name)
        if bucket is None:
            key = f"{self._prefix}rate-limit:{name}"
            bucket = self._buckets.setdefault(name, self._state_store(self._redis, key))
        try:
            return bucket.check(algorithm, rates, self._now_ms(), 1)
        except self._errors as exc:
            raise _store_failed(exc, self) from exc

    def _window_left(self, name: str) -> float:
        try:
            value = self._redis.get(f"{self._prefix}rate-limit-window:{name}")
        except self._errors as exc:
            raise _store_failed(exc, self) from exc
        return 0.0 if value is None else float(value) - _wall_clock()

    def _window_extend(self, name: str, seconds: float) -> None:
        until = _wall_clock() + seconds
        keep_ms = math.ceil(seconds * 1000) + 1000
        try:
            self._window_script(
                keys=[f"{self._prefix}rate-limit-window:{name}"], args=[repr(until), keep_ms]
            )
        except self._errors as exc:
            raise _store_failed(exc, self) from exc

    def __repr__(self) -> str:
        kwargs = self._redis.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        return f"RateLimitStore.redis({where!r}, db={kwargs.get('db', 0)})"


class _StoredWindow(RateLimitWindow):
    """The ``Retry-After`` window of one API key, kept in a rate-limit store."""

    def __init__(self, store: RateLimitStore, name: str) -> None:
        super().__init__()
        self._store = store
        self._name = name

    def _extend(self, seconds: float) -> None:
        self._store._window_extend(self._name, seconds)

    def _seconds_left(self) -> float:
        return self._store._window_left(self._name)


class Throttle:
    """The bucket and the window of one API key under one `RateLimit`."""

    def __init__(self, limit: RateLimit, name: str) -> None:
        self._limit = limit
        self._name = name
        self.window: RateLimitWindow = _StoredWindow(limit._store_or_memory, name)

    def take(self, max_wait: float) -> None:
        """Take a token, sleeping for one at most ``max_wait`` seconds in all.

        Raises:
            RateLimitError: the wait would be longer (``retry_after`` = the next wait).
            APIConnectionError: the store failed.
        """
        limit = self._limit
        started = _monotonic()
        while True:
            decision = limit._store_or_memory._take(self._name, limit._algorithm, limit._rates)
            if decision.allowed:
                return
            wait = (decision.retry_after_ms or 1) / 1000
            waited = _monotonic() - started
            if waited + wait > max_wait:
                raise mark_final(
                    RateLimitError(
                        f"rate limited by this client's RateLimit ({limit.per_second:g}/s, "
                        f"burst {limit.burst}): the next token for this API key is "
                        f"{wait:.3f} s away, beyond max_retry_wait ({max_wait:g} s); no "
                        "request was sent",
                        status_code=429,
                        retry_after=wait,
                    )
                )
            sleep_unless_cancelled(wait, _sleep)


class RateLimit:
    """A proactive throttle: at most ``per_second`` requests a second per API key, with bursts.

    A bucket of ``burst`` tokens refills at ``per_second`` tokens a second, and every
    attempt (retries included) takes one; a call waits for a token, but never longer than
    the client's ``max_retry_wait``: a longer wait raises `RateLimitError` at once, with
    ``retry_after``. In any one second at most ``per_second + burst`` requests start.

    Example:
        >>> client = BrowseClient(rate_limit=RateLimit(20))  # this process
        >>> shared = RateLimit(20, store=RateLimitStore.redis("redis://localhost:6379/0"))

    Args:
        per_second: tokens added a second (may be a fraction, e.g. ``0.5``).
        burst: the bucket's size, the most requests that may start at once; defaults to
            ``per_second`` (one second's worth, at least 1).
        store: where the bucket and the ``Retry-After`` window live. Without one they are
            shared by the threads of every client given this `RateLimit` (and their
            ``with_options`` copies); with `RateLimitStore.sqlite` or
            `RateLimitStore.redis`, by every process using the same API key. Clients
            with different API keys never share a bucket.

    Raises:
        ConfigurationError: an argument is out of range or of the wrong type.
        ImportError: the ``ratelimit`` extra (pyrate-limiter) is not installed.
    """

    def __init__(
        self, per_second: float, *, burst: int | None = None, store: RateLimitStore | None = None
    ) -> None:
        pyrate = require("pyrate_limiter", "ratelimit", "RateLimit")
        self._per_second = _check_per_second(per_second)
        self._burst = _check_burst(burst, self._per_second)
        if store is not None and not isinstance(store, RateLimitStore):
            raise ConfigurationError(
                "store must be a RateLimitStore (RateLimitStore.sqlite(path) or "
                f"RateLimitStore.redis(redis)), not {type(store).__name__}"
            )
        self._store = store
        self._store_or_memory: RateLimitStore = store if store is not None else _MemoryStore()
        rate = _rate_at_most(self._per_second)
        self._rates = [pyrate.Rate(rate.numerator, 1000 * rate.denominator, burst=self._burst)]
        self._algorithm = pyrate.TokenBucket()
        self._throttles: dict[str, Throttle] = {}
        self._lock = threading.Lock()
        reset_after_fork(self)

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # a parent's thread may have held it

    @property
    def per_second(self) -> float:
        """Tokens added a second."""
        return self._per_second

    @property
    def burst(self) -> int:
        """The bucket's size: the most requests that may start at once."""
        return self._burst

    @property
    def store(self) -> RateLimitStore | None:
        """The store shared by processes, or ``None`` (this process only)."""
        return self._store

    def _throttle_for(self, api_key: str) -> Throttle:
        """The bucket and window of ``api_key`` (one per key, shared by every caller)."""
        name = bucket_name(api_key)
        throttle = self._throttles.get(name)
        if throttle is None:
            with self._lock:
                throttle = self._throttles.setdefault(name, Throttle(self, name))
        return throttle

    def __repr__(self) -> str:
        store = "" if self._store is None else f", store={self._store!r}"
        return f"RateLimit({self._per_second:g}, burst={self._burst}{store})"


def _check_per_second(value: Any) -> float:
    if not is_number(value):
        raise ConfigurationError(
            f"RateLimit per_second must be a number of requests, not {type(value).__name__}"
        )
    if not (is_finite_number(value) and value >= 0.001):
        raise ConfigurationError(
            f"RateLimit per_second must be a finite number >= 0.001, got {value!r}"
        )
    return float(value)


def _check_burst(value: Any, per_second: float) -> int:
    if value is None:
        return max(1, math.floor(per_second))
    if not is_int(value) or value < 1:
        raise ConfigurationError(f"RateLimit burst must be an int >= 1, got {value!r}")
    return value


def _rate_at_most(per_second: float) -> Fraction:
    """A simple fraction of tokens per second that is never above ``per_second``.

    The nearest fraction with a small denominator may round up (0.99999 to 1), which
    would let a second hold more requests than asked for; round down then instead.
    """
    exact = Fraction(per_second)
    for denominator in (1000, 10**6, 10**9):  # the smallest that keeps a rate above 0
        rate = exact.limit_denominator(denominator)
        if rate > exact:
            rate = Fraction(math.floor(exact * denominator), denominator)
        if rate > 0:
            return rate
    return exact
