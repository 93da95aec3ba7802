"""Fixtures of the unit tests: a mocked transport, and retries that never really sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses


@pytest.fixture(autouse=True)
def _no_real_sleep(sleeps: list[float]) -> list[float]:
    return sleeps


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    """``responses`` in place of the network; unused routes are allowed."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps
