"""The retry policy: what is retried, how long the client waits, Retry-After, logging."""

from __future__ import annotations

import email.utils
import logging
import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import responses

from amazon_music_browse import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    _retry,
)
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL, FakeClock, make_client, tracks_page

TOP_TRACKS = BASE_URL + "/v1/browse/tracks/top"
TOP_PLAYLISTS = BASE_URL + "/v1/browse/playlists/top"
CATEGORY = BASE_URL + "/v1/browse/categories/2iB4IU25"
EPOCH = 1_700_000_000.0


def http_date(seconds_from_epoch: float) -> str:
    """An HTTP-date (IMF-fixdate) at ``EPOCH + seconds_from_epoch``."""
    moment = datetime.fromtimestamp(EPOCH, tz=timezone.utc) + timedelta(seconds=seconds_from_epoch)
    return email.utils.format_datetime(moment, usegmt=True)


def playlists_page(*ids: str) -> dict[str, Any]:
    return {"data": {"topPlaylists": tracks_page(*ids)["data"]["topTracks"]}}


def error_body(status: int, code: str = "SOME_ERROR") -> dict[str, Any]:
    return {"error": {"status": str(status), "code": code, "message": "it failed"}}


class CeilingRandom:
    """A stand-in for ``_retry._random`` whose ``uniform(a, b)`` returns ``b``."""

    def uniform(self, a: float, b: float) -> float:
        return b


class FloorRandom:
    """A stand-in for ``_retry._random`` whose ``uniform(a, b)`` returns ``a``."""

    def uniform(self, a: float, b: float) -> float:
        return a


@pytest.fixture
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "_wall_clock", lambda: EPOCH)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(5_000.0)
    monkeypatch.setattr(_retry, "_monotonic", fake)
    return fake


@pytest.fixture
def ceiling_random(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "_random", CeilingRandom())


# -- parse_retry_after ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("5", 5.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("120", 120.0),
        ("-1", None),
        ("abc", None),
        ("", None),
        ("   ", None),
        ("inf", None),
        ("-inf", None),
        ("nan", None),
        (None, None),
        (http_date(30), 30.0),
        (http_date(3600), 3600.0),
        (http_date(0), 0.0),
        (http_date(-30), 0.0),
        (http_date(-86_400 * 365), 0.0),
        ("Tue, 14 Nov 2023 22:13:50", None),
        ("Tue, 32 Nov 2023 22:13:50 GMT", None),
    ],
    ids=repr,
)
def test_parse_retry_after(wall_clock: None, value: str | None, expected: float | None) -> None:
    result = _retry.parse_retry_after(value)

    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_parse_retry_after_reads_the_date_against_the_patched_wall_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = http_date(30)
    monkeypatch.setattr(_retry, "_wall_clock", lambda: EPOCH + 10)

    assert _retry.parse_retry_after(value) == pytest.approx(20.0)


# -- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (7, 8.0), (8, 8.0)],
)
def test_backoff_is_full_jitter_up_to_a_capped_exponential_ceiling(
    monkeypatch: pytest.MonkeyPatch, attempt: int, ceiling: float
) -> None:
    monkeypatch.setattr(_retry, "_random", CeilingRandom())
    assert _retry.backoff(attempt) == ceiling

    monkeypatch.setattr(_retry, "_random", FloorRandom())
    assert _retry.backoff(attempt) == 0.0


def test_backoff_with_the_real_random_stays_inside_the_bounds() -> None:
    for attempt in range(1, 9):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        for _ in range(50):
            assert 0.0 <= _retry.backoff(attempt) <= ceiling


# -- what is retried ---------------------------------------------------------------------------

RETRIED = [
    pytest.param(
        {"body": requests.ConnectionError("connection refused")},
        APIConnectionError,
        id="connection-error",
    ),
    pytest.param({"body": requests.ReadTimeout("timed out")}, APITimeoutError, id="read-timeout"),
    pytest.param({"status": 429, "json": error_body(429)}, RateLimitError, id="429"),
    pytest.param({"status": 500, "json": error_body(500)}, InternalServerError, id="500"),
    pytest.param(
        {"status": 502, "body": "<html>bad gateway</html>"}, InternalServerError, id="502"
    ),
    pytest.param({"status": 503, "json": error_body(503)}, InternalServerError, id="503"),
    pytest.param({"status": 504, "body": ""}, InternalServerError, id="504"),
]


@pytest.mark.parametrize("max_retries", [1, 3])
@pytest.mark.parametrize(("answer", "error_class"), RETRIED)
def test_retryable_failures_are_retried_max_retries_times(
    mock: responses.RequestsMock,
    sleeps: list[float],
    answer: dict[str, Any],
    error_class: type[Exception],
    max_retries: int,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, **answer)
    client = make_client(max_retries=max_retries)

    with pytest.raises(error_class) as caught:
        client.get_top_tracks()

    assert type(caught.value) is error_class
    assert len(mock.calls) == max_retries + 1
    assert len(sleeps) == max_retries


def test_default_max_retries_is_two(mock: responses.RequestsMock, sleeps: list[float]) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503, json=error_body(503))

    with pytest.raises(InternalServerError):
        make_client().get_top_tracks()

    assert len(mock.calls) == 3
    assert len(sleeps) == 2


NOT_RETRIED = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, APIError),
    (418, APIError),
    (422, UnprocessableEntityError),
    (501, InternalServerError),
    (505, InternalServerError),
]


@pytest.mark.parametrize(("status", "error_class"), NOT_RETRIED)
def test_other_statuses_are_not_retried(
    mock: responses.RequestsMock,
    sleeps: list[float],
    status: int,
    error_class: type[APIError],
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=status, json=error_body(status))
    client = make_client(max_retries=3)  # a plain string token: a 401 is not refreshed

    with pytest.raises(error_class) as caught:
        client.get_top_tracks()

    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert len(mock.calls) == 1
    assert sleeps == []


def test_success_after_two_failures_returns_the_page(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503, json=error_body(503))
    mock.add(responses.GET, TOP_TRACKS, body=requests.ConnectionError("reset by peer"))
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1", "t2"))

    page = make_client(max_retries=2).get_top_tracks(limit=2)

    assert [track.id for track in page] == ["t1", "t2"]
    assert len(mock.calls) == 3
    assert len(sleeps) == 2
    assert all("limit=2" in call.request.url for call in mock.calls)


def test_max_retries_zero_sends_once(mock: responses.RequestsMock, sleeps: list[float]) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, json=error_body(429))

    with pytest.raises(RateLimitError):
        make_client(max_retries=0).get_top_tracks()

    assert len(mock.calls) == 1
    assert sleeps == []


def test_with_options_max_retries_applies_to_the_copy_only(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=500, json=error_body(500))
    client = make_client(max_retries=2)

    with pytest.raises(InternalServerError):
        client.with_options(max_retries=0).get_top_tracks()
    assert len(mock.calls) == 1

    with pytest.raises(InternalServerError):
        client.get_top_tracks()
    assert len(mock.calls) == 1 + 3


# -- how long the client waits -----------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("header", "expected_wait"),
    [("3", 3.0), ("0", 0.0), ("2.5", 2.5), (http_date(30), 30.0), (http_date(-5), 0.0)],
)
def test_retry_after_is_slept_instead_of_backoff(
    mock: responses.RequestsMock,
    sleeps: list[float],
    wall_clock: None,
    ceiling_random: None,
    status: int,
    header: str,
    expected_wait: float,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=status, headers={"Retry-After": header})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    page = make_client().get_top_tracks()

    assert page[0].id == "t1"
    assert sleeps == [pytest.approx(expected_wait)]


def test_without_retry_after_the_wait_is_backoff(
    mock: responses.RequestsMock, sleeps: list[float], ceiling_random: None
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503)
    mock.add(responses.GET, TOP_TRACKS, status=429)
    mock.add(responses.GET, TOP_TRACKS, body=requests.ConnectionError("refused"))
    mock.add(responses.GET, TOP_TRACKS, body=requests.ReadTimeout("slow"))
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    make_client(max_retries=4).get_top_tracks()

    assert sleeps == [0.5, 1.0, 2.0, 4.0]


def test_unparseable_retry_after_falls_back_to_backoff(
    mock: responses.RequestsMock, sleeps: list[float], ceiling_random: None
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "soon"})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    make_client().get_top_tracks()

    assert sleeps == [0.5]


def test_backoff_floor_gives_zero_waits(
    mock: responses.RequestsMock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_retry, "_random", FloorRandom())
    mock.add(responses.GET, TOP_TRACKS, status=500)

    with pytest.raises(InternalServerError):
        make_client(max_retries=2).get_top_tracks()

    assert sleeps == [0.0, 0.0]


def test_retry_after_equal_to_the_cap_is_slept(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "60"})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    make_client(max_retry_wait=60.0).get_top_tracks()

    assert sleeps == [60.0]


@pytest.mark.parametrize(
    ("status", "error_class"), [(429, RateLimitError), (503, InternalServerError)]
)
@pytest.mark.parametrize(("header", "expected"), [("61", 61.0), (http_date(3600), 3600.0)])
def test_retry_after_over_the_cap_is_raised_at_once(
    mock: responses.RequestsMock,
    sleeps: list[float],
    wall_clock: None,
    status: int,
    error_class: type[APIError],
    header: str,
    expected: float,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=status, headers={"Retry-After": header})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    with pytest.raises(error_class) as caught:
        make_client(max_retries=5, max_retry_wait=60.0).get_top_tracks()

    assert caught.value.retry_after == pytest.approx(expected)
    assert len(mock.calls) == 1
    assert sleeps == []


def test_max_retry_wait_zero_still_retries_an_immediate_retry_after(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503, headers={"Retry-After": "0"})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    make_client(max_retry_wait=0).get_top_tracks()

    assert sleeps == [0.0]
    assert len(mock.calls) == 2


# -- the rate-limit window ---------------------------------------------------------------------


def test_a_429_over_the_cap_opens_a_window_that_fails_fast(
    mock: responses.RequestsMock, sleeps: list[float], clock: FakeClock
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "120"})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    client = make_client()

    with pytest.raises(RateLimitError) as first:
        client.get_top_tracks()
    assert first.value.retry_after == pytest.approx(120.0)
    assert len(mock.calls) == 1

    clock.now += 30.0
    with pytest.raises(RateLimitError) as second:
        client.get_top_tracks()
    assert second.value.retry_after == pytest.approx(90.0)
    assert second.value.status_code == 429
    assert len(mock.calls) == 1  # nothing was sent

    clock.now += 89.0
    with pytest.raises(RateLimitError) as third:
        client.get_categories()  # the window is the client's, not the endpoint's
    assert third.value.retry_after == pytest.approx(1.0)
    assert len(mock.calls) == 1

    clock.now += 1.5
    page = client.get_top_tracks()
    assert page[0].id == "t1"
    assert len(mock.calls) == 2
    assert sleeps == []


def test_the_window_is_shared_with_with_options_copies(
    mock: responses.RequestsMock, clock: FakeClock
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "100"})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    client = make_client()
    copy_before = client.with_options(max_retries=0)

    with pytest.raises(RateLimitError):
        client.get_top_tracks()
    copy_after = client.with_options(timeout=5.0, max_retry_wait=600.0)

    for other in (copy_before, copy_after):
        with pytest.raises(RateLimitError) as caught:
            other.get_top_tracks()
        assert caught.value.retry_after == pytest.approx(100.0)
    assert len(mock.calls) == 1

    clock.now += 101.0
    assert copy_after.get_top_tracks()[0].id == "t1"


def test_a_window_opened_by_a_copy_holds_the_original_too(
    mock: responses.RequestsMock, clock: FakeClock
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "300"})
    client = make_client()

    with pytest.raises(RateLimitError):
        client.with_options(max_retry_wait=10.0).get_top_tracks()
    with pytest.raises(RateLimitError) as caught:
        client.get_top_tracks()

    assert caught.value.retry_after == pytest.approx(300.0)
    assert len(mock.calls) == 1


def test_separate_clients_do_not_share_a_window(
    mock: responses.RequestsMock, clock: FakeClock
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "300"})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    with pytest.raises(RateLimitError):
        make_client().get_top_tracks()

    assert make_client().get_top_tracks()[0].id == "t1"
    assert len(mock.calls) == 2


def test_a_5xx_over_the_cap_does_not_open_a_window(
    mock: responses.RequestsMock, sleeps: list[float], clock: FakeClock
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503, headers={"Retry-After": "3600"})
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    client = make_client()

    with pytest.raises(InternalServerError) as caught:
        client.get_top_tracks()
    assert caught.value.retry_after == pytest.approx(3600.0)

    assert client.get_top_tracks()[0].id == "t1"
    assert len(mock.calls) == 2
    assert sleeps == []


def test_a_429_within_the_cap_does_not_open_a_window(
    mock: responses.RequestsMock, sleeps: list[float], clock: FakeClock
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "10"})
    client = make_client(max_retries=0)

    with pytest.raises(RateLimitError):
        client.get_top_tracks()
    with pytest.raises(RateLimitError):
        client.get_top_tracks()

    assert len(mock.calls) == 2  # the second call was sent


# -- retry_after on every APIError -----------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, None), ({"Retry-After": "soon"}, None), ({"Retry-After": "7"}, 7.0)],
    ids=["absent", "unparseable", "seconds"],
)
def test_every_api_error_has_retry_after(
    mock: responses.RequestsMock,
    status: int,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=status, headers=headers, json=error_body(status))

    with pytest.raises(APIError) as caught:
        make_client(max_retries=0).get_top_tracks()

    assert caught.value.retry_after == expected


# -- logging -------------------------------------------------------------------------------


def test_each_retry_is_logged_at_warning(
    mock: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    ceiling_random: None,
) -> None:
    caplog.set_level(logging.DEBUG, logger="amazon_music_browse")
    mock.add(responses.GET, TOP_PLAYLISTS, status=503)
    mock.add(responses.GET, TOP_PLAYLISTS, status=429, headers={"Retry-After": "4"})
    mock.add(responses.GET, TOP_PLAYLISTS, json=playlists_page("p1"))

    make_client(max_retries=2).get_top_playlists()

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    expected = [("503", 1, 0.5), ("429", 2, 4.0)]
    for record, (status, attempt, wait) in zip(warnings, expected, strict=True):
        message = record.getMessage()
        assert record.name == "amazon_music_browse"
        assert "GET" in message
        assert "/v1/browse/playlists/top" in message
        assert status in message
        assert f"attempt {attempt}" in message
        assert f"{wait:.2f}" in message or f"{wait:g}" in message


def test_a_retried_connection_error_is_logged_with_its_kind(
    mock: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    ceiling_random: None,
) -> None:
    caplog.set_level(logging.WARNING, logger="amazon_music_browse")
    mock.add(responses.GET, TOP_TRACKS, body=requests.ReadTimeout("slow"))
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    make_client().get_top_tracks()

    (record,) = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "Timeout" in message
    assert "/v1/browse/tracks/top" in message
    assert "attempt 1" in message
    assert "0.50" in message


def test_a_failure_that_is_not_retried_logs_no_warning(
    mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="amazon_music_browse")
    mock.add(responses.GET, TOP_TRACKS, status=404, json=error_body(404))

    with pytest.raises(NotFoundError):
        make_client().get_top_tracks()

    assert caplog.records == []


def test_every_request_is_logged_at_debug(
    mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="amazon_music_browse")
    mock.add(responses.GET, TOP_TRACKS, status=500)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    mock.add(
        responses.GET,
        CATEGORY,
        json={"data": {"category": {"id": "2iB4IU25", "name": "Rock"}}},
    )

    client = make_client()
    client.get_top_tracks(limit=7)
    client.get_category("2iB4IU25")

    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == len(mock.calls) == 3
    messages = [r.getMessage() for r in debug]
    assert "/v1/browse/tracks/top" in messages[0]
    assert "500" in messages[0]
    assert "200" in messages[1]
    assert "/v1/browse/categories/2iB4IU25" in messages[2]
    assert all(r.name == "amazon_music_browse" for r in debug)


class RotatingToken:
    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.index = 0

    def __call__(self) -> str:
        return self.tokens[self.index]

    def invalidate(self, token: str) -> None:
        if self.tokens[self.index] == token:
            self.index += 1


def test_no_log_record_ever_contains_a_credential(
    mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    first_token, second_token = ACCESS_TOKEN, "Atza|refreshed-token-77aa"
    secrets = [API_KEY, first_token, second_token]
    echo = f"key={API_KEY} token={first_token} new={second_token}"
    mock.add(
        responses.GET,
        TOP_TRACKS,
        status=401,
        json={"error": {"code": "INVALID_ACCESS_TOKEN", "message": echo}},
    )
    mock.add(responses.GET, TOP_TRACKS, status=503, body=echo)
    mock.add(responses.GET, TOP_TRACKS, body=requests.ConnectionError("connection reset"))
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1", token="c2"))
    mock.add(responses.GET, TOP_PLAYLISTS, status=404, json={"error": {"message": echo}})
    mock.add(responses.GET, CATEGORY, status=429, headers={"Retry-After": "999"}, body=echo)
    client = BrowseClient(API_KEY, RotatingToken(first_token, second_token), max_retries=3)

    client.get_top_tracks(limit=3, cursor="c1")
    with pytest.raises(NotFoundError):
        client.get_top_playlists()
    with pytest.raises(RateLimitError):
        client.get_category("2iB4IU25")
    with pytest.raises(RateLimitError):
        client.get_categories()  # the window, nothing sent

    assert len(mock.calls) == 6
    assert {r.levelno for r in caplog.records} >= {logging.DEBUG, logging.WARNING}
    texts = [caplog.text] + [r.getMessage() for r in caplog.records]
    for text in texts:
        for secret in secrets:
            assert secret not in text


# -- the policy object -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (APIConnectionError("x"), True),
        (APITimeoutError("x"), True),
        (RateLimitError(None, status_code=429), True),
        (RateLimitError(None, status_code=429, retry_after=60.0), True),
        (RateLimitError(None, status_code=429, retry_after=60.5), False),
        (InternalServerError(None, status_code=500), True),
        (InternalServerError(None, status_code=501), False),
        (InternalServerError(None, status_code=504, retry_after=math.inf), False),
        (BadRequestError(None, status_code=400), False),
        (ValueError("x"), False),
    ],
    ids=repr,
)
def test_is_retryable(exc: BaseException, expected: bool) -> None:
    assert _retry.is_retryable(exc, 60.0) is expected
