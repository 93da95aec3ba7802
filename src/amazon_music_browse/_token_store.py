"""Token stores: where a login's tokens live, so every thread and process shares one.

A store holds `StoredToken` records by key and has a lock per key that is exclusive
across every thread and process sharing the store. `LoginWithAmazon` refreshes under that
lock and re-reads the record first, so however many workers start at once, one of them
asks Login with Amazon for a token and the others read it.

Shipped: `MemoryTokenStore` (one process), `FileTokenStore` (one machine, in
`._file_store`) and `RedisTokenStore` (a fleet; needs the ``[redis]`` extra).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ._arguments import is_finite_number, is_number
from ._errors import APIConnectionError, ConfigurationError
from ._fork import reset_after_fork
from ._log import logger

__all__ = [
    "DEFAULT_STORE_KEY",
    "REDIS_EXTRA_HINT",
    "MemoryTokenStore",
    "RedisTokenStore",
    "StoredToken",
    "TokenStore",
    "check_store",
    "check_store_key",
    "import_redis",
]

DEFAULT_STORE_KEY = "default"
"""The key a login is stored under unless told otherwise."""

REDIS_EXTRA_HINT = 'pip install "amazon-music-browse[redis]"'
DEFAULT_REDIS_PREFIX = "amazon-music-browse:"
DEFAULT_REDIS_LOCK_TIMEOUT = 60.0


@dataclass(frozen=True)
class StoredToken:
    """One login's tokens, as a store keeps them.

    Attributes:
        access_token: the current access token (``Atza|...``), or None before the first.
        expires_at: when the access token expires, in Unix time (``time.time()``).
        refresh_token: the refresh token (``Atzr|...``) that gets the next access token.
        scopes: the scopes the login was granted, e.g. ``["music::catalog"]``.
        issued_at: when the access token was issued, in Unix time (so a reader knows its
            lifetime, and renews a short-lived token as early as its owner would).

    Its repr says which tokens are present, never their values.
    """

    access_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scopes: list[str] = field(default_factory=list)
    issued_at: float | None = None

    def __repr__(self) -> str:
        def present(value: str | None) -> str:
            return "<set>" if value else "None"

        return (
            f"StoredToken(access_token={present(self.access_token)}, "
            f"expires_at={self.expires_at!r}, refresh_token={present(self.refresh_token)}, "
            f"scopes={self.scopes!r})"
        )

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scopes": list(self.scopes),
            "issued_at": self.issued_at,
        }

    @classmethod
    def from_json(cls, document: Any) -> StoredToken:
        """A record from `to_json`'s shape; ValueError for anything else."""
        if not isinstance(document, Mapping):
            raise ValueError(f"a record must be a JSON object, not {type(document).__name__}")
        scopes = document.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ValueError("scopes must be a list of str")
        return cls(
            access_token=_optional_str(document, "access_token"),
            expires_at=_optional_time(document, "expires_at"),
            refresh_token=_optional_str(document, "refresh_token"),
            scopes=list(scopes),
            issued_at=_optional_time(document, "issued_at"),
        )


def _optional_str(document: Mapping[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty str or null")
    return value


def _optional_time(document: Mapping[str, Any], name: str) -> float | None:
    value = document.get(name)
    if value is None:
        return None
    if not is_finite_number(value):
        raise ValueError(f"{name} must be a number or null")
    return float(value)


@runtime_checkable
class TokenStore(Protocol):
    """Where `LoginWithAmazon` keeps tokens, shared by every thread and process using it.

    ``lock(key)`` returns a context manager that is exclusive across every thread and
    process sharing the store (two store objects for the same file or Redis included).
    ``load`` returns None for a key that holds nothing (or nothing readable).
    """

    def load(self, key: str) -> StoredToken | None: ...

    def save(self, key: str, token: StoredToken) -> None: ...

    def delete(self, key: str) -> None: ...

    def lock(self, key: str) -> AbstractContextManager[object]: ...


def check_store(store: Any) -> TokenStore:
    """``store`` if it has the four methods of a `TokenStore`, else ConfigurationError."""
    if not isinstance(store, TokenStore):
        raise ConfigurationError(
            f"store must be a TokenStore (load, save, delete, lock), not {type(store).__name__}"
        )
    return store


def check_store_key(key: Any) -> str:
    """``key`` if it names a record: a non-empty str without control characters."""
    if not isinstance(key, str):
        raise ConfigurationError(f"store_key must be a str, not {type(key).__name__}")
    if not key or not key.isprintable():
        raise ConfigurationError(f"store_key must be a non-empty printable str, not {key!r}")
    return key


class MemoryTokenStore:
    """Tokens in this process's memory: shared by its threads, gone when it exits.

    For tests, and for one process with several `LoginWithAmazon` objects.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, StoredToken] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        reset_after_fork(self)

    def _after_fork_in_child(self) -> None:
        self._guard = threading.Lock()  # a parent's thread may have held any of them
        self._locks = {}

    def load(self, key: str) -> StoredToken | None:
        with self._guard:
            return self._tokens.get(key)

    def save(self, key: str, token: StoredToken) -> None:
        if not isinstance(token, StoredToken):
            raise TypeError(f"save() takes a StoredToken, not {type(token).__name__}")
        with self._guard:
            self._tokens[key] = token

    def delete(self, key: str) -> None:
        with self._guard:
            self._tokens.pop(key, None)

    def lock(self, key: str) -> AbstractContextManager[object]:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def __repr__(self) -> str:
        with self._guard:
            return f"{type(self).__name__}(keys={sorted(self._tokens)!r})"

    def __getstate__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: it lives in one process's memory; "
            "share a FileTokenStore or a RedisTokenStore between processes"
        )


def import_redis() -> Any:
    """The ``redis`` module, or ImportError saying which extra to install."""
    try:
        return importlib.import_module("redis")
    except ImportError as exc:
        raise ImportError(f"RedisTokenStore needs the redis package: {REDIS_EXTRA_HINT}") from exc


class RedisTokenStore:
    """Tokens in Redis, shared by every process of a fleet; the lock is a Redis lock.

    Args:
        redis: a ``redis.Redis`` client, or a URL such as ``redis://localhost:6379/0``
            (this store then owns the client: `close` closes it).
        prefix: the start of every Redis key it uses: ``<prefix>token:<key>`` holds a
            record as JSON, ``<prefix>lock:<key>`` is its lock.
        lock_timeout: seconds after which a lock whose holder died is released; a waiter
            gives up after twice as long.

    Raises:
        ImportError: the ``redis`` package is not installed (``pip install
            "amazon-music-browse[redis]"``).
        ConfigurationError: an argument is invalid.
    """

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str = DEFAULT_REDIS_PREFIX,
        lock_timeout: float = DEFAULT_REDIS_LOCK_TIMEOUT,
    ) -> None:
        module = import_redis()
        if isinstance(redis, str):
            self._redis = module.Redis.from_url(redis)
            self._owns_client = True
        elif isinstance(redis, module.Redis):
            self._redis = redis
            self._owns_client = False
        else:
            raise ConfigurationError(
                f"redis must be a redis.Redis or a URL, not {type(redis).__name__}"
            )
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix must be a str, not {type(prefix).__name__}")
        if not is_number(lock_timeout):
            raise ConfigurationError("lock_timeout must be a number of seconds")
        if not (is_finite_number(lock_timeout) and lock_timeout > 0):
            raise ConfigurationError(f"lock_timeout must be > 0, not {lock_timeout!r}")
        self._prefix = prefix
        self._lock_timeout = float(lock_timeout)
        self._errors: tuple[type[BaseException], ...] = (module.RedisError,)

    @property
    def prefix(self) -> str:
        """The start of every Redis key this store uses."""
        return self._prefix

    def _key(self, kind: str, key: str) -> str:
        return f"{self._prefix}{kind}:{key}"

    @contextlib.contextmanager
    def _talking(self, what: str) -> Iterator[None]:
        """Redis's failures as the package's: an `APIConnectionError` naming the store."""
        try:
            yield
        except self._errors as exc:
            raise APIConnectionError(
                f"the Redis token store failed to {what}: {type(exc).__name__}: {exc}"
            ) from exc

    def load(self, key: str) -> StoredToken | None:
        with self._talking("read a token"):
            raw = self._redis.get(self._key("token", key))
        if raw is None:
            return None
        try:
            return StoredToken.from_json(json.loads(raw))
        except (ValueError, UnicodeDecodeError) as exc:
            logger.warning(
                "the token stored in Redis at %r is not readable (%s); it reads as empty",
                self._key("token", key),
                exc,
            )
            return None

    def save(self, key: str, token: StoredToken) -> None:
        if not isinstance(token, StoredToken):
            raise TypeError(f"save() takes a StoredToken, not {type(token).__name__}")
        with self._talking("save a token"):
            self._redis.set(self._key("token", key), json.dumps(token.to_json()))

    def delete(self, key: str) -> None:
        with self._talking("delete a token"):
            self._redis.delete(self._key("token", key))

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """A Redis lock (``SET NX PX``): exclusive across every client of this Redis."""
        lock = self._redis.lock(
            self._key("lock", key),
            timeout=self._lock_timeout,
            sleep=0.02,
            blocking_timeout=2 * self._lock_timeout,
            thread_local=False,
        )
        with self._talking("take the lock"):
            acquired = lock.acquire()
        if not acquired:
            raise APIConnectionError(
                f"the Redis token store's lock {self._key('lock', key)!r} was not free "
                f"within {2 * self._lock_timeout:g} s"
            )
        try:
            yield
        finally:
            try:
                lock.release()
            except self._errors as exc:  # it expired: the holder outlived lock_timeout
                logger.warning("the Redis token store's lock was lost before release: %s", exc)

    def close(self) -> None:
        """Close the Redis client, if this store created it from a URL."""
        if self._owns_client:
            self._redis.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self._prefix!r})"
