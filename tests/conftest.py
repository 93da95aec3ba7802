"""Shared fixtures: no test ever sees the developer's real credentials."""

from __future__ import annotations

import pytest

from amazon_music_browse import _retry

API_KEY = "test-api-key-9f2c"
ACCESS_TOKEN = "Atza|test-access-token-41d7"
BASE_URL = "https://api.music.amazon.dev"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove credentials and proxy settings of the machine from every test."""
    for name in (
        "AMAZON_MUSIC_API_KEY",
        "AMAZON_MUSIC_ACCESS_TOKEN",
        "AMAZON_MUSIC_BASE_URL",
        "AMAZON_MUSIC_LWA_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's retry sleeps instead of sleeping."""
    slept: list[float] = []
    monkeypatch.setattr(_retry, "_sleep", slept.append)
    return slept
