"""Fixtures of every test: no test sees the machine's credentials, proxies or API settings.

Shared helpers (credentials, clients, page builders, a fake clock) are in `tests._support`.
"""

from __future__ import annotations

import pytest

from amazon_music_browse import _retry

# `redis_url`: a real redis-server for the session (see tests/_redis_server.py).
pytest_plugins = ["tests._redis_server"]

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
