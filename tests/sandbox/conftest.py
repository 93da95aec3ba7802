"""Fixtures of the sandbox tests; their helpers are in ``_support``.

The ``amazon_music_sandbox`` fixtures come from the installed pytest plugin (entry point);
they are deliberately not registered again here.
"""

from __future__ import annotations

import pytest

from amazon_music_browse.sandbox._app import SandboxApp

from ._support import FakeClock


@pytest.fixture
def app() -> SandboxApp:
    """A default sandbox app."""
    return SandboxApp()


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at t=1000 s."""
    return FakeClock()
