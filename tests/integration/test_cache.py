"""ResponseCache over real loopback HTTP: a small server that speaks ETag and Cache-Control.

Each rule on each backend: hits, misses, ``ttl``, ``max-age``, ``no-store``, revalidation
with ``If-None-Match`` (a 304 refreshes the entry), ``stale_if_error``, entries per user,
no credential in the SQLite file, ``page.from_cache``, and hits that take no rate-limit
token. requests-cache's clock is patched where time must pass.
"""

from __future__ import annotations

import base64
import logging
import os
import pickle
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests_cache

from amazon_music_browse import (
    APIConnectionError,
    BrowseClient,
    ConfigurationError,
    InternalServerError,
    RateLimit,
    RateLimitError,
    ResponseCache,
    ResponseValidationError,
)
from tests._etag_server import ETagServer
from tests._support import ACCESS_TOKEN, API_KEY

OTHER_TOKEN = "Atza|another-users-token-8c1e"
OTHER_KEY = "another-api-key-5d20"


class CacheClock:
    """requests-cache's clock (``utcnow``), standing still until a test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> CacheClock:
    fake = CacheClock()
    for module in (
        requests_cache.policy.actions,
        requests_cache.policy.expiration,
        requests_cache.models.response,
    ):
        monkeypatch.setattr(module, "utcnow", fake)
    return fake


@pytest.fixture
def server() -> Iterator[ETagServer]:
    with ETagServer() as etag_server:
        yield etag_server


@pytest.fixture(params=["memory", "sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The arguments of a ResponseCache on each backend."""
    if request.param == "memory":
        return {"backend": "memory"}
    if request.param == "sqlite":
        return {"backend": "sqlite", "path": tmp_path / "responses.sqlite"}
    return {"backend": request.getfixturevalue("redis_url")}


def client_of(server: ETagServer, cache: ResponseCache, **options: Any) -> BrowseClient:
    settings = {"api_key": API_KEY, "access_token": ACCESS_TOKEN, "max_retries": 0, **options}
    return BrowseClient(base_url=server.url, cache=cache, **settings)


# -- hits and misses -------------------------------------------------------------------------


def test_a_second_call_is_served_from_the_cache(
    server: ETagServer, backend: dict[str, Any], clock: CacheClock
) -> None:
    client = client_of(server, ResponseCache(**backend))
    first = client.get_top_tracks(limit=3)
    second = client.get_top_tracks(limit=3)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.items == first.items
    assert server.requests == 1
    other_page = client.get_top_tracks(limit=2)  # another URL: another entry
    assert not other_page.from_cache
    assert server.requests == 2


def test_a_hit_takes_no_rate_limit_token(server: ETagServer, clock: CacheClock) -> None:
    client = client_of(
        server, ResponseCache("memory"), rate_limit=RateLimit(1, burst=1), max_retry_wait=0
    )
    client.get_top_tracks(limit=3)  # the only token
    for _ in range(20):
        assert client.get_top_tracks(limit=3).from_cache
    with pytest.raises(RateLimitError, match="rate limited by this client's RateLimit"):
        client.get_top_tracks(limit=4)  # a miss needs a token
    assert server.requests == 1


def test_a_revalidation_takes_a_token(server: ETagServer, clock: CacheClock) -> None:
    limit = RateLimit(1, burst=1)
    client = client_of(server, ResponseCache("memory"), rate_limit=limit, max_retry_wait=0)
    client.get_top_tracks(limit=3)
    clock.advance(61)
    with pytest.raises(RateLimitError):
        client.get_top_tracks(limit=3)  # stale: must ask the service, and the bucket is empty
    assert server.requests == 1


def test_entries_are_per_user(server: ETagServer, tmp_path: Path, clock: CacheClock) -> None:
    cache = ResponseCache(path=tmp_path / "responses")
    client_of(server, cache).get_top_tracks(limit=3)
    other_token = client_of(server, cache, access_token=OTHER_TOKEN).get_top_tracks(limit=3)
    other_key = client_of(server, cache, api_key=OTHER_KEY).get_top_tracks(limit=3)
    same_user = client_of(server, cache).get_top_tracks(limit=3)
    assert (other_token.from_cache, other_key.from_cache, same_user.from_cache) == (
        False,
        False,
        True,
    )
    assert server.requests == 3


def test_pages_of_paginate_and_map_come_from_the_cache(
    server: ETagServer, clock: CacheClock
) -> None:
    client = client_of(server, ResponseCache("memory"))

    def fetch(limit: int) -> Any:
        return client.get_top_tracks(limit=limit)

    first = client.map(fetch, [1, 2, 3])
    again = client.map(fetch, [1, 2, 3])
    assert [page.from_cache for page in first + again] == [False] * 3 + [True] * 3
    assert len(list(client.paginate(client.get_top_tracks, page_size=3))) == 3
    assert server.requests == 3


def test_only_get_is_cached(server: ETagServer, clock: CacheClock) -> None:
    client = client_of(server, ResponseCache("memory"))
    for _ in range(2):
        client.request("POST", "/v1/browse/tracks/top", json={"query": "jazz"})
    assert server.requests == 2
    for _ in range(2):
        client.request("GET", "/v1/browse/tracks/top", params={"limit": 2})
    assert server.requests == 3


# -- how long an entry lives -------------------------------------------------------------


def test_ttl_applies_when_the_service_says_nothing(
    server: ETagServer, backend: dict[str, Any], clock: CacheClock
) -> None:
    server.etag, server.cache_control = False, None
    client = client_of(server, ResponseCache(**backend, ttl=30))
    client.get_top_tracks(limit=3)
    clock.advance(29)
    assert client.get_top_tracks(limit=3).from_cache
    clock.advance(2)
    assert not client.get_top_tracks(limit=3).from_cache
    assert server.requests == 2
    assert server.conditional == 0  # nothing to revalidate with


def test_max_age_wins_over_ttl(server: ETagServer, clock: CacheClock) -> None:
    server.etag, server.cache_control = False, "private, max-age=5"
    client = client_of(server, ResponseCache("memory", ttl=300))
    client.get_top_tracks(limit=3)
    clock.advance(4)
    assert client.get_top_tracks(limit=3).from_cache
    clock.advance(2)
    assert not client.get_top_tracks(limit=3).from_cache


def test_no_store_is_never_stored(server: ETagServer, clock: CacheClock) -> None:
    server.cache_control = "no-store"
    client = client_of(server, ResponseCache("memory"))
    for _ in range(3):
        assert not client.get_top_tracks(limit=3).from_cache
    assert server.requests == 3


def test_no_cache_revalidates_every_time(server: ETagServer, clock: CacheClock) -> None:
    server.cache_control = "private, no-cache"
    client = client_of(server, ResponseCache("memory"))
    client.get_top_tracks(limit=3)
    for _ in range(3):
        assert client.get_top_tracks(limit=3).from_cache
    assert (server.requests, server.not_modified) == (4, 3)


def test_ttl_zero_keeps_answers_with_an_etag_and_revalidates_every_time(
    server: ETagServer, clock: CacheClock
) -> None:
    server.cache_control = None
    client = client_of(server, ResponseCache("memory", ttl=0))
    client.get_top_tracks(limit=3)
    assert client.get_top_tracks(limit=3).from_cache  # by a 304
    assert (server.requests, server.not_modified) == (2, 1)
    server.etag = False
    client.get_top_tracks(limit=2)
    client.get_top_tracks(limit=2)
    assert server.requests == 4  # no validator, no entry


# -- revalidation --------------------------------------------------------------------------


def test_a_stale_entry_is_revalidated_and_a_304_refreshes_it(
    server: ETagServer, backend: dict[str, Any], clock: CacheClock
) -> None:
    client = client_of(server, ResponseCache(**backend))
    first = client.get_top_tracks(limit=3)
    clock.advance(61)  # past max-age=60
    revalidated = client.get_top_tracks(limit=3)
    assert server.last_headers["If-None-Match"].startswith('"')
    assert (server.requests, server.conditional, server.not_modified) == (2, 1, 1)
    assert revalidated.from_cache
    assert revalidated.items == first.items
    clock.advance(59)  # the 304 gave the entry another 60 s
    assert client.get_top_tracks(limit=3).from_cache
    assert server.requests == 2


def test_a_changed_answer_replaces_the_entry(server: ETagServer, clock: CacheClock) -> None:
    client = client_of(server, ResponseCache("memory"))
    client.get_top_tracks(limit=3)
    server.version = 2
    clock.advance(61)
    changed = client.get_top_tracks(limit=3)
    assert not changed.from_cache
    assert changed.items[0].title == "Track 0 (version 2)"
    assert server.conditional == 1
    assert server.not_modified == 0
    assert client.get_top_tracks(limit=3).items[0].title == "Track 0 (version 2)"
    assert server.requests == 2


# -- stale_if_error ----------------------------------------------------------------------


@pytest.mark.parametrize("failure", [503, "drop"])
def test_stale_if_error_answers_with_the_stale_entry(
    server: ETagServer, clock: CacheClock, failure: int | str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_of(server, ResponseCache("memory", stale_if_error=True))
    fresh = client.get_top_tracks(limit=3)
    clock.advance(3600)
    server.fail = failure
    with caplog.at_level(logging.WARNING, logger="amazon_music_browse"):
        stale = client.get_top_tracks(limit=3)
    assert stale.from_cache
    assert stale.items == fresh.items
    assert "answering from the cache" in caplog.text


def test_without_stale_if_error_a_failure_is_raised(server: ETagServer, clock: CacheClock) -> None:
    client = client_of(server, ResponseCache("memory"))
    client.get_top_tracks(limit=3)
    clock.advance(3600)
    server.fail = 503
    with pytest.raises(InternalServerError):
        client.get_top_tracks(limit=3)
    server.fail = "drop"
    with pytest.raises(APIConnectionError):
        client.get_top_tracks(limit=3)


def test_stale_if_error_has_nothing_to_give_for_a_new_request(
    server: ETagServer, clock: CacheClock
) -> None:
    server.fail = 503
    client = client_of(server, ResponseCache("memory", stale_if_error=True))
    with pytest.raises(InternalServerError):
        client.get_top_tracks(limit=3)


# -- what is stored ------------------------------------------------------------------------


def _spellings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), raw.replace(b"|", b"%7C"), raw.replace(b"|", b"\\u007c")]


def test_the_sqlite_file_holds_no_credential(
    server: ETagServer, tmp_path: Path, clock: CacheClock
) -> None:
    cache = ResponseCache(path=tmp_path / "responses.sqlite")
    client = client_of(server, cache)
    client.get_top_tracks(limit=3)
    clock.advance(61)
    client.get_top_tracks(limit=3)  # revalidated: the entry is written again
    client_of(server, cache, access_token=OTHER_TOKEN).get_top_tracks(limit=2)
    cache.close()
    files = sorted(tmp_path.iterdir())
    contents = b"".join(path.read_bytes() for path in files)
    assert b"Track 0 (version 1)" in base64.b64decode(  # the file does hold the answers
        contents.split(b'"_content": "')[1].split(b'"')[0]
    )
    for secret in (API_KEY, ACCESS_TOKEN, OTHER_TOKEN, f"Bearer {ACCESS_TOKEN}"):
        for spelling in _spellings(secret):
            assert spelling not in contents, (secret, spelling)
    stored = requests_cache.SQLiteCache(tmp_path / "responses.sqlite", serializer="json")
    entries = list(stored.responses.values())
    assert len(entries) == 2
    for entry in entries:
        assert set(entry.request.headers) <= {"Accept", "User-Agent"}
        assert API_KEY not in str(entry.headers)
        assert ACCESS_TOKEN not in str(entry.headers)


def test_an_answer_that_echoes_a_credential_is_not_stored(
    server: ETagServer, clock: CacheClock
) -> None:
    server.echo = True
    client = client_of(server, ResponseCache("memory"))
    client.get_top_tracks(limit=3)
    assert not client.get_top_tracks(limit=3).from_cache
    assert server.requests == 2


def test_an_entry_larger_than_max_response_bytes_is_not_served(
    server: ETagServer, clock: CacheClock
) -> None:
    cache = ResponseCache("memory")
    client_of(server, cache).get_top_tracks(limit=20)
    small = client_of(server, cache, max_response_bytes=512)
    with pytest.raises(ResponseValidationError, match="max_response_bytes"):
        small.get_top_tracks(limit=20)
    assert server.requests == 2


def test_from_cache_is_kept_by_pickle_and_left_out_of_model_dump(
    server: ETagServer, clock: CacheClock
) -> None:
    client = client_of(server, ResponseCache("memory"))
    client.get_top_tracks(limit=3)
    page = client.get_top_tracks(limit=3)
    assert pickle.loads(pickle.dumps(page)).from_cache
    assert "from_cache" not in page.model_dump()
    assert "from_cache" not in page.model_dump_json()


# -- backends --------------------------------------------------------------------------------


def test_the_default_sqlite_file_is_in_the_users_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = ResponseCache()
    expected = tmp_path / "xdg" / "amazon-music-browse" / "responses.sqlite"
    assert cache.path == expected
    assert stat.S_IMODE(os.stat(expected).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(expected.parent).st_mode) == 0o700
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ResponseCache().path == tmp_path / "home" / ".cache" / "amazon-music-browse" / (
        "responses.sqlite"
    )
    assert ResponseCache(path=tmp_path / "named").path == tmp_path / "named.sqlite"


def test_processes_share_the_sqlite_file(server: ETagServer, tmp_path: Path) -> None:
    """Another process reads what this one stored, and this one reads what it stored.

    One process each way: a process starts in about a second here (with coverage).
    """
    path = tmp_path / "shared.sqlite"
    assert not client_of(server, ResponseCache(path=path)).get_top_tracks(limit=2).from_cache
    code = textwrap.dedent(
        f"""
        from amazon_music_browse import BrowseClient, ResponseCache
        client = BrowseClient({API_KEY!r}, {ACCESS_TOKEN!r}, base_url={server.url!r},
                              cache=ResponseCache(path={str(path)!r}))
        print(client.get_top_tracks(limit=2).from_cache)  # stored by the parent
        print(client.get_top_tracks(limit=3).from_cache)  # new: stored by this process
        """
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment
    )
    assert child.stdout.split() == ["True", "False"], child.stderr
    assert server.requests == 2
    mine = client_of(server, ResponseCache(path=path)).get_top_tracks(limit=3)
    assert mine.from_cache
    assert server.requests == 2


@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_a_forked_child_reads_the_sqlite_cache_through_its_own_connection(
    server: ETagServer, tmp_path: Path
) -> None:
    client = client_of(server, ResponseCache(path=tmp_path / "responses.sqlite"))
    client.get_top_tracks(limit=3)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 1
        try:
            code = 0 if client.get_top_tracks(limit=3).from_cache else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.get_top_tracks(limit=3).from_cache
    assert server.requests == 1


def test_a_failing_backend_never_fails_a_call(
    server: ETagServer, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        cache = ResponseCache(f"redis://127.0.0.1:{port}/0")
        client = client_of(server, cache)
        with caplog.at_level(logging.WARNING, logger="amazon_music_browse"):
            assert not client.get_top_tracks(limit=3).from_cache
            assert not client.get_top_tracks(limit=3).from_cache
    assert server.requests == 2
    assert "the response cache could not be read" in caplog.text
    assert "the response cache could not be written" in caplog.text


def test_an_unreadable_entry_is_a_miss(
    server: ETagServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = ResponseCache(path=tmp_path / "responses.sqlite")
    client = client_of(server, cache)
    client.get_top_tracks(limit=3)
    cache.close()
    import sqlite3

    with sqlite3.connect(tmp_path / "responses.sqlite") as connection:
        connection.execute("UPDATE responses SET value = 'not json at all'")
    reopened = client_of(server, ResponseCache(path=tmp_path / "responses.sqlite"))
    with caplog.at_level(logging.WARNING, logger="amazon_music_browse"):
        assert not reopened.get_top_tracks(limit=3).from_cache
    assert server.requests == 2


def test_clear_empties_the_cache(server: ETagServer, backend: dict[str, Any]) -> None:
    cache = ResponseCache(**backend)
    client = client_of(server, cache)
    client.get_top_tracks(limit=3)
    cache.clear()
    assert not client.get_top_tracks(limit=3).from_cache


# -- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"backend": "postgres"}, "backend must be 'sqlite', 'memory', a redis.Redis"),
        ({"backend": 3}, "backend must be"),
        ({"backend": "redis://host:notaport/0"}, "ResponseCache backend"),
        ({"backend": "memory", "path": "x.sqlite"}, "path= is for the SQLite backend"),
        ({"path": 5}, "path must be a file path"),
        ({"ttl": -1}, "ttl must be a finite number of seconds >= 0"),
        ({"ttl": float("inf")}, "ttl must be a finite number"),
        ({"ttl": "300"}, "ttl must be a number of seconds, not str"),
        ({"ttl": True}, "ttl must be a number of seconds, not bool"),
        ({"stale_if_error": 1}, "stale_if_error must be True or False"),
    ],
)
def test_arguments_are_checked(arguments: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ResponseCache(**arguments)


def test_a_path_it_cannot_use_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigurationError, match="cannot use"):
        ResponseCache(path=tmp_path / "file" / "responses.sqlite")


def test_settings_and_repr(tmp_path: Path, redis_url: str) -> None:
    cache = ResponseCache(path=tmp_path / "r.sqlite", ttl=60, stale_if_error=True)
    assert (cache.backend, cache.ttl, cache.stale_if_error) == ("sqlite", 60.0, True)
    assert (
        repr(cache) == f"ResponseCache({str(tmp_path / 'r.sqlite')!r}, ttl=60, stale_if_error=True)"
    )
    assert repr(ResponseCache("memory")) == "ResponseCache('memory', ttl=300)"
    import redis

    on_redis = ResponseCache(redis.Redis.from_url(redis_url))
    assert (on_redis.backend, on_redis.path) == ("redis", None)
    on_redis.close()
