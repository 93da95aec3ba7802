"""Opening an SQLite file that other processes open at the same moment (`_sqlite.opened`)."""

from __future__ import annotations

import sqlite3

import pytest

from amazon_music_browse import _sqlite
from tests._support import FakeClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(100.0)
    monkeypatch.setattr(_sqlite, "_monotonic", fake)
    monkeypatch.setattr(_sqlite, "_sleep", lambda seconds: setattr(fake, "now", fake.now + seconds))
    return fake


class Opener:
    """Refused ``refusals`` times with ``error``, then opens."""

    def __init__(self, refusals: int, error: str = "database is locked") -> None:
        self.refusals = refusals
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.refusals:
            raise sqlite3.OperationalError(self.error)
        return "connection"


def test_a_locked_file_is_opened_again_until_it_opens(clock: FakeClock) -> None:
    opener = Opener(refusals=3)

    assert _sqlite.opened(opener) == "connection"
    assert opener.calls == 4
    assert clock.now == pytest.approx(100.0 + 3 * _sqlite._RETRY_PAUSE)


def test_a_file_locked_past_the_timeout_raises_the_lock_error(clock: FakeClock) -> None:
    opener = Opener(refusals=10**9)

    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        _sqlite.opened(opener, timeout=0.5)
    assert clock.now >= 100.5
    assert opener.calls == pytest.approx(0.5 / _sqlite._RETRY_PAUSE + 1, abs=1)


@pytest.mark.parametrize(
    "error", ["unable to open database file", "disk I/O error", "file is not a database"]
)
def test_any_other_error_is_raised_at_once(clock: FakeClock, error: str) -> None:
    opener = Opener(refusals=1, error=error)

    with pytest.raises(sqlite3.OperationalError, match=error):
        _sqlite.opened(opener)
    assert opener.calls == 1
    assert clock.now == 100.0
