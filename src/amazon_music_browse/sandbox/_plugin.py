"""Pytest plugin (entry point ``pytest11``): a running `SandboxServer` as a fixture.

Fixtures:
    amazon_music_sandbox: a fresh sandbox for each test. Mark a test, its class or its
        module with ``@pytest.mark.amazon_music_sandbox(latency=0.1, rate_limit_rate=0.5,
        ...)`` to pass `SandboxServer` keyword arguments; the markers merge option by
        option, the nearest winning (function over class over module).
    amazon_music_sandbox_session: one default sandbox shared by the whole session
        (its counters and issued tokens accumulate across tests). It takes no options:
        the marker on a test that uses only this fixture is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from amazon_music_browse.sandbox import SandboxServer

MARKER: Final = "amazon_music_sandbox"
SESSION_FIXTURE: Final = "amazon_music_sandbox_session"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): SandboxServer keyword arguments for the {MARKER} fixture; "
        "module, class and function markers merge, the nearest winning",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Refuse a marker that cannot apply, before any fixture starts a sandbox."""
    if item.get_closest_marker(MARKER) is None:
        return
    marker_options(item)
    fixtures = getattr(item, "fixturenames", ())
    if SESSION_FIXTURE in fixtures and MARKER not in fixtures:
        pytest.fail(
            f"@pytest.mark.{MARKER} applies to the {MARKER} fixture, but this test uses "
            f"only {SESSION_FIXTURE}, which is shared by the whole session and takes no "
            f"options: use the {MARKER} fixture, or drop the marker",
            pytrace=False,
        )


def marker_options(node: pytest.Item) -> dict[str, Any]:
    """The `SandboxServer` options of the markers on a test, its class and its module.

    They merge option by option; the nearest marker wins (function over class over
    module; of two on one function, the one written nearest to it).
    """
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(MARKER))):  # farthest first
        if marker.args:
            pytest.fail(
                f"@pytest.mark.{MARKER} takes SandboxServer options as keyword arguments "
                f"only, e.g. @pytest.mark.{MARKER}(latency=0.1); got positional arguments "
                f"{marker.args!r}",
                pytrace=False,
            )
        options.update(marker.kwargs)
    return options


@pytest.fixture
def amazon_music_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A running `SandboxServer` on a free loopback port, stopped after the test."""
    from amazon_music_browse.sandbox import SandboxServer

    with SandboxServer(**marker_options(request.node)) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def amazon_music_sandbox_session() -> Iterator[SandboxServer]:
    """A running `SandboxServer` shared by every test of the session."""
    from amazon_music_browse.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        yield sandbox
