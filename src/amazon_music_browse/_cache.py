"""`ResponseCache`: a per-user cache of the API's answers, on requests-cache.

The client asks the cache before it takes a rate-limit token or sends anything:

1. a fresh entry is the answer (``page.from_cache``): no request, no token;
2. a stale entry with an ``ETag`` is revalidated with ``If-None-Match``; a ``304`` refreshes
   the entry and it is the answer;
3. otherwise the request goes out, and a ``200`` is stored for as long as its
   ``Cache-Control`` says (``max-age``; ``no-store`` stores nothing), else ``ttl`` seconds;
4. with ``stale_if_error``, a connection failure, timeout or ``5xx`` answers with the
   stale entry instead of raising.

Freshness, revalidation and expiry are requests-cache's (``CacheActions``), and so are
the storage backends (SQLite, memory, Redis) and the JSON serializer (never pickle, so
reading a shared Redis cannot run code). This module decides what is stored, because
Browse answers are personal: entries are keyed by a hash of the credentials (two users,
or two tokens, never share one), an entry keeps only a whitelist of request headers
(neither ``x-api-key`` nor ``Authorization``), and an answer that echoes a credential is
not stored at all. A cache that fails to read or write is skipped with a warning: it
never fails a call.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from ._arguments import is_finite_number, is_number
from ._errors import APIConnectionError, ConfigurationError
from ._extras import require
from ._fork import reset_after_fork
from ._log import logger
from ._redact import Redactor
from ._sqlite import BUSY_TIMEOUT, opened

if TYPE_CHECKING:
    from ._transport import Exchange

__all__ = ["ResponseCache", "default_cache_path"]

_perf_counter = time.perf_counter

# Statuses for which a stale entry stands in when ``stale_if_error`` is on (RFC 5861).
_STALE_STATUSES = frozenset({500, 502, 503, 504})
# Request headers an entry keeps; everything else (credentials above all) is dropped.
_KEPT_REQUEST_HEADERS = ("Accept", "User-Agent")
# Response headers that describe the transfer, not the answer (the body is stored decoded).
_TRANSFER_HEADERS = frozenset(
    {
        "connection",
        "content-encoding",
        "content-length",
        "keep-alive",
        "set-cookie",
        "transfer-encoding",
    }
)
_REDIS_NAMESPACE = "amazon-music-browse:responses"


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/amazon-music-browse/responses.sqlite``, else under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "amazon-music-browse" / "responses.sqlite"


@lru_cache(maxsize=64)
def _user_hash(credentials: tuple[tuple[str, str], ...]) -> str:
    """Names the user an entry belongs to: a hash of the credentials, never the credentials."""
    digest = hashlib.blake2b(digest_size=16, person=b"amb-cache-user")
    for name, value in credentials:
        digest.update(name.lower().encode("utf-8") + b"\0" + value.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _secrets(credentials: Mapping[str, str]) -> Redactor:
    """Finds the credentials (the bare token too) in text, however JSON spells them."""
    values = set(credentials.values())
    values |= {value.removeprefix("Bearer ") for value in values}
    return Redactor(values)


def _echoes(response: requests.Response, find: Redactor) -> bool:
    """Whether ``response`` holds a credential anywhere it would be stored."""
    texts = [response.url or "", response.content.decode("utf-8", errors="replace")]
    texts += [f"{name}: {value}" for name, value in response.headers.items()]
    return any(find(text) != text for text in texts)


class ResponseCache:
    """A per-user cache of the API's answers, for ``BrowseClient(cache=...)``.

    Example:
        >>> client = BrowseClient(cache=ResponseCache())           # SQLite, 5 minutes
        >>> client = BrowseClient(cache=ResponseCache("memory", ttl=60))

    Args:
        backend: ``"sqlite"`` (a file, shared by the processes of this machine),
            ``"memory"`` (this process), or a ``redis.Redis`` client or ``redis://`` URL.
        path: the SQLite file; default ``$XDG_CACHE_HOME/amazon-music-browse/responses.sqlite``
            (``~/.cache/...`` without ``XDG_CACHE_HOME``). Created with mode 0600.
        ttl: seconds an answer stays fresh when the service sends no ``Cache-Control``
            (``0``: keep only answers with an ``ETag``, and revalidate them every time).
        stale_if_error: answer with an expired entry when the request fails with a
            connection error, a timeout or a 5xx, instead of raising.

    Raises:
        ConfigurationError: an argument is invalid, or the SQLite file cannot be opened.
        ImportError: the ``cache`` extra (requests-cache) is not installed.
    """

    def __init__(
        self,
        backend: Any = "sqlite",
        *,
        path: str | os.PathLike[str] | None = None,
        ttl: float = 300,
        stale_if_error: bool = False,
    ) -> None:
        self._rc = require("requests_cache", "cache", "ResponseCache")
        self._ttl = _check_ttl(ttl)
        if not isinstance(stale_if_error, bool):
            raise ConfigurationError(
                f"stale_if_error must be True or False, not {type(stale_if_error).__name__}"
            )
        self._stale_if_error = stale_if_error
        self._kind, self._redis = _check_backend(backend)
        if path is not None and self._kind != "sqlite":
            raise ConfigurationError(f"path= is for the SQLite backend, not {self._kind}")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise ConfigurationError(f"path must be a file path, not {type(path).__name__}")
        self._path: Path | None = None
        if self._kind == "sqlite":
            self._path = _sqlite_path(path)
        self._settings = self._rc.CacheSettings(
            expire_after=self._ttl,
            cache_control=True,
            allowable_codes=(200,),
            allowable_methods=("GET",),
        )
        self._backend = self._open()
        reset_after_fork(self)

    def _open(self) -> Any:
        rc = self._rc
        if self._kind == "memory":
            return rc.BaseCache()
        if self._kind == "redis":
            return rc.RedisCache(
                namespace=_REDIS_NAMESPACE, connection=_RedisCalls(self._redis), serializer="json"
            )
        assert self._path is not None
        try:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self._path.exists():
                os.close(os.open(self._path, os.O_CREAT | os.O_WRONLY, 0o600))
            return opened(
                lambda: rc.SQLiteCache(
                    self._path,
                    serializer="json",
                    wal=True,
                    busy_timeout=round(BUSY_TIMEOUT * 1000),
                )
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(
                f"ResponseCache cannot use {str(self._path)!r}: {exc}"
            ) from None

    def _after_fork_in_child(self) -> None:
        # A child never reads through its parent's SQLite connection: it opens its own.
        if self._kind == "sqlite":
            self._backend = self._open()

    @property
    def backend(self) -> str:
        """``"sqlite"``, ``"memory"`` or ``"redis"``."""
        return self._kind

    @property
    def path(self) -> Path | None:
        """The SQLite file, or ``None`` for the other backends."""
        return self._path

    @property
    def ttl(self) -> float:
        """Seconds an answer without ``Cache-Control`` stays fresh."""
        return self._ttl

    @property
    def stale_if_error(self) -> bool:
        """Whether an expired entry answers when the request fails."""
        return self._stale_if_error

    def clear(self) -> None:
        """Delete every entry, of every user."""
        self._backend.clear()

    def close(self) -> None:
        """Close the backend's connection (a Redis client passed in is left open)."""
        if self._kind != "redis":
            self._backend.close()

    def __repr__(self) -> str:
        where = {"sqlite": f"{str(self._path)!r}", "memory": "'memory'", "redis": "redis"}
        stale = ", stale_if_error=True" if self._stale_if_error else ""
        return f"ResponseCache({where[self._kind]}, ttl={self._ttl:g}{stale})"

    # -- the client's side --------------------------------------------------------------

    def send(
        self,
        url: str,
        exchange: Exchange,
        send: Callable[[Exchange], requests.Response],
    ) -> requests.Response:
        """The answer to ``exchange``: a fresh or revalidated entry, else ``send(exchange)``.

        Only a ``GET`` without a body is looked up and stored.
        """
        if exchange.method != "GET" or exchange.json is not None or exchange.data is not None:
            return send(exchange)
        started = _perf_counter()
        probe = _probe(url, exchange)
        key = self._key(probe, exchange.credentials)
        cached = self._load(key, exchange.max_bytes)
        if cached is not None and _fresh(cached):
            return _served(cached, started)
        actions = self._rc.CacheActions.from_request(key, probe, self._settings)
        actions.update_from_cached_response(cached)
        if cached is not None and not (actions.send_request or actions.resend_request):
            return _served(cached, started)  # pragma: no cover - the fast path took it
        validators = actions.update_request(_empty_request()).headers
        sent = exchange
        if validators:
            sent = dataclasses.replace(exchange, headers={**exchange.headers, **validators})
        try:
            response = send(sent)
        except APIConnectionError as exc:
            if cached is not None and self._stale_if_error:
                logger.warning("%s failed (%s); answering from the cache", _what(url), exc)
                return _served(cached, started)
            raise
        if response.status_code == 304 and cached is not None:
            return self._revalidated(key, actions, response, cached, exchange, started)
        if cached is not None and self._stale_if_error and response.status_code in _STALE_STATUSES:
            logger.warning(
                "%s answered %d; answering from the cache", _what(url), response.status_code
            )
            return _served(cached, started)
        if response.status_code == 200:
            actions.update_from_response(response)
            if not actions.skip_write:
                self._store(key, response, probe, actions.expires, exchange)
        return response

    def _key(self, probe: requests.PreparedRequest, credentials: Mapping[str, str]) -> str:
        """The user's hash, then a hash of the method and the URL with its query."""
        user = _user_hash(tuple(sorted(credentials.items())))
        request = hashlib.blake2b(f"GET {probe.url}".encode(), digest_size=16).hexdigest()
        return f"{user}-{request}"

    def _load(self, key: str, max_bytes: int) -> Any:
        try:
            cached = self._backend.get_response(key)
        except Exception as exc:  # an unreachable backend, an unreadable entry
            logger.warning("the response cache could not be read (%s: %s)", type(exc).__name__, exc)
            return None
        if cached is None or len(cached.content) > max_bytes:
            return None
        if self._kind == "memory":  # the stored object itself: answer with a copy
            return self._rc.CachedResponse.from_response(cached)
        return cached

    def _save(self, key: str, entry: Any) -> None:
        try:
            self._backend.responses[key] = entry
        except Exception as exc:  # an unreachable backend, a full disk
            logger.warning(
                "the response cache could not be written (%s: %s)", type(exc).__name__, exc
            )

    def _store(
        self,
        key: str,
        response: requests.Response,
        probe: requests.PreparedRequest,
        expires: datetime.datetime | None,
        exchange: Exchange,
    ) -> None:
        if _echoes(response, _secrets(exchange.credentials)):
            logger.debug("%s echoes a credential: not cached", _what(probe.url or ""))
            return
        rc = self._rc
        entry = rc.CachedResponse(
            content=response.content,
            encoding=response.encoding,
            expires=expires,
            elapsed=response.elapsed,
            headers=CaseInsensitiveDict(_answer_headers(response.headers)),
            reason=response.reason,
            request=rc.CachedRequest(
                method="GET", url=probe.url, headers=CaseInsensitiveDict(probe.headers)
            ),
            status_code=response.status_code,
            url=response.url,
        )
        self._save(key, entry)

    def _revalidated(
        self,
        key: str,
        actions: Any,
        response: requests.Response,
        cached: Any,
        exchange: Exchange,
        started: float,
    ) -> requests.Response:
        """A 304: the entry is still right; its expiry and headers are refreshed and saved."""
        kept = _answer_headers(response.headers)
        response.headers = CaseInsensitiveDict(
            {name: value for name, value in kept.items() if name.lower() != "content-type"}
        )
        actions.update_from_response(response)
        cached = actions.update_revalidated_response(response, cached)
        if not actions.skip_write and not _echoes(response, _secrets(exchange.credentials)):
            self._save(key, cached)
        return _served(cached, started)


class _RedisCalls:
    """A ``redis.Redis`` as requests-cache uses it, with ``SET ... EX`` for ``SETEX``.

    requests-cache writes expiring entries with ``setex``, which redis-py 6+ deprecates
    (a ``DeprecationWarning`` on every write); everything else goes to the client as is.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def setex(self, name: Any, time: Any, value: Any) -> Any:
        return self._client.set(name, value, ex=time)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _probe(url: str, exchange: Exchange) -> requests.PreparedRequest:
    """The request as the cache sees it: method, URL with its query, no credential."""
    probe = requests.PreparedRequest()
    probe.method = "GET"
    query = urlencode(sorted((exchange.params or {}).items()), doseq=True)
    probe.url = f"{url}?{query}" if query else url
    probe.headers = CaseInsensitiveDict(_kept_headers(exchange.headers))
    probe.body = None
    return probe


def _fresh(cached: Any) -> bool:
    """Whether an entry answers without asking the service (requests-cache's expiry).

    The fast path of a hit; an entry whose ``Cache-Control`` says ``no-cache`` or
    ``must-revalidate`` goes through requests-cache's full rules instead.
    """
    control = cached.headers.get("Cache-Control", "").lower()
    directives = {part.split("=")[0].strip() for part in control.split(",")}
    if {"no-cache", "must-revalidate"} & directives:
        return False
    return not cached.is_expired


def _served(cached: Any, started: float) -> requests.Response:
    """An entry as the answer: it took only the time of the lookup."""
    cached.elapsed = datetime.timedelta(seconds=_perf_counter() - started)
    response: requests.Response = cached
    return response


def _empty_request() -> requests.PreparedRequest:
    request = requests.PreparedRequest()
    request.headers = CaseInsensitiveDict()
    return request


def _kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: headers[name] for name in _KEPT_REQUEST_HEADERS if name in headers}


def _answer_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in _TRANSFER_HEADERS}


def _what(url: str) -> str:
    return f"GET {urlsplit(url).path}"


def _sqlite_path(path: str | os.PathLike[str] | None) -> Path:
    """The file SQLite will use: ``.sqlite`` added when it has no suffix, as requests-cache does."""
    chosen = default_cache_path() if path is None else Path(path).expanduser()
    if not chosen.suffix:
        chosen = chosen.with_suffix(".sqlite")
    return chosen.absolute()


def _check_ttl(ttl: Any) -> float:
    if not is_number(ttl):
        raise ConfigurationError(f"ttl must be a number of seconds, not {type(ttl).__name__}")
    if not (is_finite_number(ttl) and ttl >= 0):
        raise ConfigurationError(f"ttl must be a finite number of seconds >= 0, got {ttl!r}")
    return float(ttl)


def _check_backend(backend: Any) -> tuple[str, Any]:
    """``(kind, redis client or None)`` for a ``backend`` argument, or raise."""
    if backend in ("sqlite", "memory"):
        return backend, None
    if isinstance(backend, str) and backend.startswith(("redis://", "rediss://", "unix://")):
        redis_lib = require("redis", "redis", "ResponseCache with Redis")
        try:
            return "redis", redis_lib.Redis.from_url(backend)
        except ValueError as exc:
            raise ConfigurationError(f"ResponseCache backend: {exc}") from None
    imported = sys.modules.get("redis")  # a redis.Redis means redis is imported already
    if imported is not None and isinstance(backend, imported.Redis):
        return "redis", backend
    raise ConfigurationError(
        "ResponseCache backend must be 'sqlite', 'memory', a redis.Redis or a redis:// URL, "
        f"got {backend!r}"
    )
