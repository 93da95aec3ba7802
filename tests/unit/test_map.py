"""`client.map`: one call per value on a few threads, in input order, stopping at a failure."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amazon_music_browse import ClientClosedError, NotFoundError, _pagination
from amazon_music_browse._cancel import raise_if_cancelled, sleep_unless_cancelled
from tests._support import make_client


class Recorder:
    """A stand-in for a client method: records calls, fails or waits as told per value."""

    def __init__(self, *, fail: set[int] = frozenset(), delays: dict[int, float] | None = None):
        self.fail = set(fail)
        self.delays = delays or {}
        self.lock = threading.Lock()
        self.started: list[int] = []
        self.ended: list[tuple[int, float]] = []
        self.running = 0
        self.most_at_once = 0

    def __call__(self, value: int, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.started.append(value)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.delays.get(value, 0.0))
            if value in self.fail:
                raise NotFoundError(f"no {value}", status_code=404)
            return value, kwargs
        finally:
            with self.lock:
                self.running -= 1
                self.ended.append((value, time.monotonic()))


def test_results_come_in_input_order_whatever_finishes_first() -> None:
    recorder = Recorder(delays={0: 0.2, 1: 0.1})
    results = make_client().map(recorder, range(6), max_workers=3, limit=10)
    assert results == [(n, {"limit": 10}) for n in range(6)]
    assert sorted(recorder.started) == list(range(6))


def test_at_most_max_workers_calls_run_at_once() -> None:
    recorder = Recorder(delays=dict.fromkeys(range(12), 0.05))
    make_client().map(recorder, range(12), max_workers=3)
    assert recorder.most_at_once <= 3
    assert recorder.most_at_once >= 2  # it does run calls side by side


def test_the_earliest_failure_is_raised_after_the_calls_in_flight_end() -> None:
    recorder = Recorder(fail={3, 1}, delays={0: 0.3, 1: 0.05, 3: 0.0})
    client = make_client()
    with pytest.raises(NotFoundError, match="no 1"):
        client.map(recorder, range(50), max_workers=4)
    raised_at = time.monotonic()
    assert all(ended <= raised_at for _, ended in recorder.ended)  # nothing still running
    assert recorder.running == 0
    assert len(recorder.started) < 50  # the rest were never started


def test_with_return_exceptions_every_value_is_called_and_failures_take_their_place() -> None:
    recorder = Recorder(fail={1, 4})
    results = make_client().map(recorder, range(6), max_workers=2, return_exceptions=True)
    assert [type(r).__name__ for r in results] == [
        "tuple",
        "NotFoundError",
        "tuple",
        "tuple",
        "NotFoundError",
        "tuple",
    ]
    assert sorted(recorder.started) == list(range(6))


def test_a_failure_stops_the_retries_of_calls_in_flight() -> None:
    attempts: list[int] = []

    def retrying_call(value: int) -> int:
        # Like the client's retry loop: check before each attempt, wait interruptibly.
        for _ in range(5):
            raise_if_cancelled()
            attempts.append(value)
            if value == 0:
                raise NotFoundError("no 0", status_code=404)
            sleep_unless_cancelled(10.0, time.sleep)
        return value

    started = time.monotonic()
    with pytest.raises(NotFoundError):
        make_client().map(retrying_call, [1, 0], max_workers=2)
    assert time.monotonic() - started < 5.0  # a 10 s retry wait ended at the failure
    assert attempts.count(1) == 1  # value 1 made no further attempt


def test_an_empty_list_calls_nothing() -> None:
    assert make_client().map(Recorder(), []) == []


@pytest.mark.parametrize(
    ("max_workers", "error"),
    [(0, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError)],
)
def test_bad_max_workers_is_refused_before_any_call(max_workers: Any, error: type) -> None:
    recorder = Recorder()
    with pytest.raises(error, match="max_workers"):
        make_client().map(recorder, range(3), max_workers=max_workers)
    assert recorder.started == []


def test_a_closed_client_maps_nothing() -> None:
    recorder = Recorder()
    client = make_client()
    client.close()
    with pytest.raises(ClientClosedError):
        client.map(recorder, range(3))
    assert recorder.started == []


def test_map_refuses_what_it_cannot_call() -> None:
    with pytest.raises(TypeError, match="takes a method"):
        make_client().map("get_top_tracks", range(3))  # type: ignore[call-overload]


def test_progress_without_tqdm_is_an_import_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_pagination, "_tqdm_is_installed", lambda: False)
    from amazon_music_browse import _fanout

    monkeypatch.setattr(_fanout, "_tqdm_is_installed", lambda: False)
    recorder = Recorder()
    with pytest.raises(ImportError, match=r"amazon-music-browse\[progress\]"):
        make_client().map(recorder, range(3), progress=True)
    assert recorder.started == []


def test_progress_counts_every_value(capsys: pytest.CaptureFixture[str]) -> None:
    make_client().map(Recorder(), range(7), progress=True)
    assert "7/7" in capsys.readouterr().err


def test_no_thread_or_file_descriptor_is_left_behind() -> None:
    client = make_client()
    client.map(Recorder(), range(4), max_workers=4)  # warm up whatever is lazily made
    threads, fds = threading.active_count(), len(os.listdir("/proc/self/fd"))
    for _ in range(1000):
        client.map(Recorder(), range(3), max_workers=3)
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) <= fds + 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.001, 0.005])), max_size=12),
    st.integers(1, 4),
    st.booleans(),
)
def test_order_single_calls_and_nothing_after_the_error(
    plan: list[tuple[bool, float]], workers: int, return_exceptions: bool
) -> None:
    fail = {i for i, (fails, _) in enumerate(plan) if fails}
    recorder = Recorder(fail=fail, delays={i: delay for i, (_, delay) in enumerate(plan)})
    values = list(range(len(plan)))
    caught: NotFoundError | None = None
    results: list[Any] = []
    try:
        results = make_client().map(
            recorder, values, max_workers=workers, return_exceptions=return_exceptions
        )
    except NotFoundError as error:
        caught = error
    raised_at = time.monotonic()
    if caught is not None:
        assert not return_exceptions
        failed_and_started = sorted(v for v in recorder.started if v in fail)
        assert str(caught) == f"404: no {failed_and_started[0]}"  # the earliest that failed
        assert all(ended <= raised_at for _, ended in recorder.ended)
    else:
        assert not fail or return_exceptions
        for value, result in zip(values, results, strict=True):
            if value in fail:
                assert isinstance(result, NotFoundError)
            else:
                assert result == (value, {})
    assert len(recorder.started) == len(set(recorder.started))  # each value at most once
    assert recorder.running == 0


def test_each_call_sees_the_callers_context() -> None:
    import contextvars

    current_job: contextvars.ContextVar[str] = contextvars.ContextVar("current_job")
    current_job.set("export-42")

    def call(value: int) -> str:
        return f"{value}:{current_job.get('none')}"

    assert make_client().map(call, range(3), max_workers=3) == [
        "0:export-42",
        "1:export-42",
        "2:export-42",
    ]
