"""Fixtures of the integration tests: a sandbox per module, and a client of it per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amazon_music_browse import BrowseClient
from amazon_music_browse.sandbox import SandboxServer


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A default sandbox (seed 0), shared by the tests of one module."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[BrowseClient]:
    """A client of the module's sandbox, closed after the test."""
    with sandbox.client() as browse_client:
        yield browse_client
