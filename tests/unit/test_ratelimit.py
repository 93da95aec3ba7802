"""RateLimit without a store: the token bucket's rules, through the client and on its own.

The clock is patched and sleeping moves it, so every wait is exact and nothing sleeps.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator

import pytest
import responses
from hypothesis import example, given, settings
from hypothesis import strategies as st

from amazon_music_browse import (
    APIConnectionError,
    BrowseClient,
    ConfigurationError,
    RateLimit,
    RateLimitError,
    RateLimitStore,
    ResponseCache,
)
from amazon_music_browse import _ratelimit as ratelimit_module
from amazon_music_browse._cancel import Cancelled, cancel_scope
from amazon_music_browse._constants import MAX_RATE_LIMIT_WINDOW
from amazon_music_browse._errors import is_final
from tests._support import API_KEY, TOP_TRACKS, FakeClock, make_client, tracks_page


class SleepingClock(FakeClock):
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        super().__init__(1000.0)
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SleepingClock:
    fake = SleepingClock()
    monkeypatch.setattr(ratelimit_module, "_monotonic", fake)
    monkeypatch.setattr(ratelimit_module, "_wall_clock", fake)
    monkeypatch.setattr(ratelimit_module, "_sleep", fake.sleep)
    return fake


@pytest.fixture
def api(mock: responses.RequestsMock, clock: SleepingClock) -> list[float]:
    """Top tracks answered at once; the fake clock's time of each request that arrived."""
    arrivals: list[float] = []

    def answer(request: object) -> tuple[int, dict[str, str], str]:
        arrivals.append(clock.now)
        return 200, {"Content-Type": "application/json"}, json.dumps(tracks_page("T1"))

    mock.add_callback(responses.GET, TOP_TRACKS, callback=answer)
    return arrivals


def most_in_one_second(times: list[float]) -> int:
    """The most starts in any window [t, t + 1) of one second."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, now in enumerate(ordered):
        while ordered[first] <= now - 1.0 + 1e-9:
            first += 1
        most = max(most, last - first + 1)
    return most


# -- the bucket's rules --------------------------------------------------------------------


def test_a_burst_starts_at_once_then_requests_are_paced(
    api: list[float], clock: SleepingClock
) -> None:
    client = make_client(rate_limit=RateLimit(10, burst=5))
    for _ in range(8):
        client.get_top_tracks()
    # Times are whole milliseconds to the bucket: a wait may be one longer.
    assert api == pytest.approx([1000.0] * 5 + [1000.1, 1000.2, 1000.3], abs=0.002)
    assert clock.slept == pytest.approx([0.1, 0.1, 0.1], abs=0.002)


def test_burst_defaults_to_one_seconds_worth(api: list[float], clock: SleepingClock) -> None:
    limit = RateLimit(20)
    assert limit.burst == 20
    assert RateLimit(0.5).burst == 1
    assert RateLimit(2.5).burst == 2
    client = make_client(rate_limit=limit)
    for _ in range(60):
        client.get_top_tracks()
    assert most_in_one_second(api) <= 20 + 20
    assert api[-1] - api[0] == pytest.approx(40 / 20, abs=0.04)


@settings(max_examples=60, deadline=None)
@example(per_second=0.3323290427259513, burst=None, gaps=[0.0, 0.0, 0.0])
@given(
    per_second=st.one_of(st.integers(1, 50), st.floats(0.2, 50.0)),
    burst=st.one_of(st.none(), st.integers(1, 40)),
    gaps=st.lists(st.floats(0.0, 0.3), min_size=1, max_size=150),
)
def test_in_any_second_at_most_per_second_plus_burst_start(
    per_second: float, burst: int | None, gaps: list[float]
) -> None:
    """For any rate, burst and rhythm of callers: the window rule holds and no token is lost."""
    fake = SleepingClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ratelimit_module, "_monotonic", fake)
        patch.setattr(ratelimit_module, "_sleep", fake.sleep)
        limit = RateLimit(per_second, burst=burst)
        throttle = limit._throttle_for(API_KEY)
        starts = []
        for gap in gaps:
            fake.now += gap
            throttle.take(max_wait=3600)
            starts.append(fake.now)
    assert most_in_one_second(starts) <= per_second + limit.burst
    # Work-conserving: a request waits only while the bucket is empty, so the run takes
    # no longer than the idle gaps plus the time to earn the tokens beyond the burst, at
    # the rate the limit applies (``per_second`` rounded down to a fraction over at most
    # 1000: 0.33233/s is applied as 0.332/s, 3 ms more per token than the exact rate).
    applied = float(ratelimit_module._rate_at_most(per_second))
    earned = max(0, len(starts) - limit.burst) / applied
    assert starts[-1] - 1000.0 <= sum(gaps) + earned + 0.002 * len(gaps)


def test_a_wait_longer_than_max_retry_wait_raises_at_once_and_sends_nothing(
    api: list[float], clock: SleepingClock, sleeps: list[float]
) -> None:
    client = make_client(rate_limit=RateLimit(0.5, burst=1), max_retry_wait=1.5)
    client.get_top_tracks()
    with pytest.raises(RateLimitError) as caught:
        client.get_top_tracks()
    assert caught.value.retry_after == pytest.approx(2.0)
    assert "max_retry_wait (1.5 s)" in str(caught.value)
    assert "no request was sent" in str(caught.value)
    assert caught.value.response is None
    assert is_final(caught.value)
    assert len(api) == 1
    assert clock.slept == []  # it did not wait for a token
    assert sleeps == []  # nor retry


def test_waits_add_up_to_at_most_max_retry_wait(
    clock: SleepingClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads that keep losing the token never wait past max_retry_wait in all."""
    limit = RateLimit(1, burst=1)
    throttle = limit._throttle_for(API_KEY)
    throttle.take(max_wait=0)
    thief = limit._throttle_for(API_KEY)

    def sleep_while_another_takes(seconds: float) -> None:
        clock.sleep(seconds)
        thief.take(max_wait=10)  # another caller takes each token as it comes

    monkeypatch.setattr(ratelimit_module, "_sleep", sleep_while_another_takes)
    with pytest.raises(RateLimitError):
        throttle.take(max_wait=3.5)
    assert clock.slept == [1.0, 1.0, 1.0]


def test_every_attempt_takes_a_token_retries_included(
    mock: responses.RequestsMock, clock: SleepingClock, sleeps: list[float]
) -> None:
    mock.get(TOP_TRACKS, status=503, json={"error": {"status": "503"}})
    mock.get(TOP_TRACKS, status=503, json={"error": {"status": "503"}})
    mock.get(TOP_TRACKS, json=tracks_page("T1"))
    client = make_client(rate_limit=RateLimit(100, burst=3), max_retry_wait=0)
    client.get_top_tracks()  # three attempts: the whole bucket
    assert len(sleeps) == 2
    with pytest.raises(RateLimitError, match="rate limited by this client's RateLimit"):
        client.get_top_tracks()
    assert len(mock.calls) == 3


def test_a_resend_with_a_new_token_takes_a_token(
    mock: responses.RequestsMock, clock: SleepingClock
) -> None:
    tokens = iter(["token-refused-1", "token-accepted-2"])
    current = {"token": next(tokens)}

    class Tokens:
        def __call__(self) -> str:
            return current["token"]

        def invalidate(self, token: str) -> None:
            current["token"] = next(tokens)

    mock.get(TOP_TRACKS, status=401, json={"error": {"code": "INVALID_ACCESS_TOKEN"}})
    mock.get(TOP_TRACKS, json=tracks_page("T1"))
    limit = RateLimit(100, burst=2)
    client = BrowseClient(API_KEY, Tokens(), rate_limit=limit, max_retry_wait=0)
    client.get_top_tracks()
    with pytest.raises(RateLimitError):
        limit._throttle_for(API_KEY).take(max_wait=0)


# -- who shares a bucket ---------------------------------------------------------------------


def test_clients_with_different_api_keys_never_share_a_bucket(
    api: list[float], clock: SleepingClock
) -> None:
    limit = RateLimit(1, burst=1)
    first = make_client(rate_limit=limit, max_retry_wait=0)
    second = make_client(rate_limit=limit, max_retry_wait=0, api_key="another-api-key-77")
    first.get_top_tracks()
    second.get_top_tracks()
    with pytest.raises(RateLimitError):
        first.get_top_tracks()
    with pytest.raises(RateLimitError):
        second.get_top_tracks()
    assert len(api) == 2


def test_with_options_copies_and_clients_of_one_key_share_the_bucket(
    api: list[float], clock: SleepingClock
) -> None:
    limit = RateLimit(1, burst=2)
    client = make_client(rate_limit=limit, max_retry_wait=0)
    copy = client.with_options(timeout=5.0)
    other = make_client(rate_limit=limit, max_retry_wait=0)
    client.get_top_tracks()
    copy.get_top_tracks()
    with pytest.raises(RateLimitError):
        other.get_top_tracks()
    assert copy.rate_limit is limit
    assert len(api) == 2


def test_the_threads_of_a_client_share_the_bucket(api: list[float], clock: SleepingClock) -> None:
    client = make_client(rate_limit=RateLimit(10, burst=5), max_retry_wait=0)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(2):
            try:
                client.get_top_tracks()
                result = "sent"
            except RateLimitError:
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("sent") == 5  # the clock stood still: the burst, no more
    assert outcomes.count("refused") == 11
    assert len(api) == 5


def test_client_map_shares_the_bucket(api: list[float], clock: SleepingClock) -> None:
    client = make_client(rate_limit=RateLimit(10, burst=4), max_retry_wait=0)
    results = client.map(lambda _: client.get_top_tracks(), range(10), return_exceptions=True)
    assert sum(isinstance(result, RateLimitError) for result in results) == 6
    assert len(api) == 4


# -- the Retry-After window in the rate limit --------------------------------------------


def test_a_long_retry_after_holds_every_client_of_the_key(
    mock: responses.RequestsMock, clock: SleepingClock
) -> None:
    mock.get(TOP_TRACKS, status=429, headers={"Retry-After": "120"}, json={"error": {}})
    limit = RateLimit(10)
    first = make_client(rate_limit=limit)
    second = make_client(rate_limit=limit)
    other_key = make_client(rate_limit=limit, api_key="another-api-key-77")
    with pytest.raises(RateLimitError) as first_error:
        first.get_top_tracks()
    assert first_error.value.retry_after == 120
    with pytest.raises(RateLimitError, match="no request was sent") as held:
        second.get_top_tracks()
    assert held.value.retry_after == pytest.approx(120)
    assert len(mock.calls) == 1
    with pytest.raises(RateLimitError) as not_held:
        other_key.get_top_tracks()  # another key: sent, and refused by the service
    assert not_held.value.response is not None
    clock.now += 120.5
    mock.replace(responses.GET, TOP_TRACKS, json=tracks_page("T1"))
    assert second.get_top_tracks().items[0].id == "T1"


def test_the_window_lasts_at_most_a_day(mock: responses.RequestsMock, clock: SleepingClock) -> None:
    mock.get(TOP_TRACKS, status=429, headers={"Retry-After": str(10**9)}, json={"error": {}})
    client = make_client(rate_limit=RateLimit(10))
    with pytest.raises(RateLimitError) as first:
        client.get_top_tracks()
    assert first.value.retry_after == 10**9
    with pytest.raises(RateLimitError) as held:
        client.get_top_tracks()
    assert held.value.retry_after == pytest.approx(MAX_RATE_LIMIT_WINDOW)


# -- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("per_second", [0, -1, 0.0001, math.nan, math.inf, "10", True, None])
def test_per_second_is_checked(per_second: object) -> None:
    with pytest.raises(ConfigurationError, match="per_second"):
        RateLimit(per_second)  # type: ignore[arg-type]


@pytest.mark.parametrize("burst", [0, -3, 1.5, True, "2"])
def test_burst_is_checked(burst: object) -> None:
    with pytest.raises(ConfigurationError, match="burst must be an int >= 1"):
        RateLimit(10, burst=burst)  # type: ignore[arg-type]


@pytest.mark.parametrize("store", ["redis://localhost:6379/0", object(), 5])
def test_store_is_checked(store: object) -> None:
    with pytest.raises(ConfigurationError, match="store must be a RateLimitStore"):
        RateLimit(10, store=store)  # type: ignore[arg-type]


def test_the_client_checks_its_rate_limit_and_cache_arguments() -> None:
    with pytest.raises(ConfigurationError, match="rate_limit must be a RateLimit, not int"):
        make_client(rate_limit=20)
    with pytest.raises(ConfigurationError, match="cache must be a ResponseCache, not str"):
        make_client(cache="memory")
    with pytest.raises(ValueError, match="rate_limit"):  # ConfigurationError is a ValueError
        make_client(rate_limit=RateLimitStore)


def test_a_store_is_made_by_its_factories() -> None:
    with pytest.raises(TypeError, match=r"RateLimitStore\.sqlite\(path\)"):
        RateLimitStore()


def test_settings_and_repr() -> None:
    limit = RateLimit(20, burst=5)
    assert (limit.per_second, limit.burst, limit.store) == (20.0, 5, None)
    assert repr(limit) == "RateLimit(20, burst=5)"
    client = make_client(rate_limit=limit)
    assert client.rate_limit is limit
    assert client.cache is None
    assert API_KEY not in repr(client)


def test_a_fraction_per_second_is_kept_exactly(clock: SleepingClock) -> None:
    throttle = RateLimit(0.25, burst=1)._throttle_for(API_KEY)
    throttle.take(max_wait=0)
    throttle.take(max_wait=10)
    assert clock.slept == pytest.approx([4.0])


# -- waits end with the work that needed them -----------------------------------------------


def test_a_cancelled_call_stops_waiting_for_a_token(clock: SleepingClock) -> None:
    throttle = RateLimit(1, burst=1)._throttle_for(API_KEY)
    throttle.take(max_wait=0)
    event = threading.Event()
    event.set()
    with cancel_scope(event), pytest.raises(Cancelled):
        throttle.take(max_wait=10)


@pytest.fixture
def closed_redis_port() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]  # bound, never listening: connections are refused


def test_a_store_that_fails_stops_the_request(
    mock: responses.RequestsMock, closed_redis_port: int, sleeps: list[float]
) -> None:
    store = RateLimitStore.redis(f"redis://127.0.0.1:{closed_redis_port}/0")
    client = make_client(rate_limit=RateLimit(10, store=store))
    mock.get(TOP_TRACKS, json=tracks_page("T1"))
    with pytest.raises(APIConnectionError, match=r"the rate-limit store .* failed") as caught:
        client.get_top_tracks()
    assert is_final(caught.value)
    assert len(mock.calls) == 0
    assert sleeps == []


def test_response_cache_and_rate_limit_are_independent_options(api: list[float]) -> None:
    client = make_client(rate_limit=RateLimit(5), cache=ResponseCache("memory"))
    assert isinstance(client.cache, ResponseCache)
    assert isinstance(client.rate_limit, RateLimit)


@pytest.mark.parametrize("per_second", [0.99999, 1 / 3, 2.0005, 0.0004, 7.0, 49.9999])
def test_the_bucket_never_refills_faster_than_asked(per_second: float) -> None:
    from amazon_music_browse._ratelimit import _rate_at_most

    rate = _rate_at_most(per_second)
    assert 0 < rate <= per_second
    assert rate >= per_second * 0.999  # and not much slower either
