"""Pytest plugin (entry point ``pytest11``): a running `SandboxServer` as a fixture.

Fixtures:
    amazon_music_sandbox: a fresh sandbox for each test. Mark a test with
        ``@pytest.mark.amazon_music_sandbox(latency=0.1, rate_limit_rate=0.5, ...)`` to
        pass `SandboxServer` keyword arguments.
    amazon_music_sandbox_session: one default sandbox shared by the whole session
        (its counters and issued tokens accumulate across tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from amazon_music_browse.sandbox import SandboxServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "amazon_music_sandbox(**options): SandboxServer keyword arguments for the "
        "amazon_music_sandbox fixture",
    )


@pytest.fixture
def amazon_music_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A running `SandboxServer` on a free loopback port, stopped after the test."""
    from amazon_music_browse.sandbox import SandboxServer

    marker = request.node.get_closest_marker("amazon_music_sandbox")
    options = marker.kwargs if marker is not None else {}
    with SandboxServer(**options) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def amazon_music_sandbox_session() -> Iterator[SandboxServer]:
    """A running `SandboxServer` shared by every test of the session."""
    from amazon_music_browse.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        yield sandbox
