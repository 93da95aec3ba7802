"""What is retried and what is not: 401 codes, the rate-limit window, final failures, messages."""

from __future__ import annotations

import gzip
import threading

import pytest
import requests
import responses

from amazon_music_browse import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
    _retry,
)
from tests._support import (
    API_KEY,
    CATEGORY,
    TOP_PLAYLISTS,
    TOP_TRACKS,
    FakeClock,
    error_body,
    make_client,
    tracks_page,
)


class CountingTokens:
    """A token callable with ``invalidate``: each invalidation moves to a new token."""

    def __init__(self) -> None:
        self.index = 0
        self.asked = 0
        self.invalidated: list[str] = []

    def __call__(self) -> str:
        self.asked += 1
        return f"Atza|token-number-{self.index}"

    def invalidate(self, token: str) -> None:
        self.invalidated.append(token)
        if token == f"Atza|token-number-{self.index}":
            self.index += 1


# -- only a 401 about the token asks for a new one -------------------------------------------


@pytest.mark.parametrize("code", ["INVALID_CLIENT_ID", "NO_X_API_KEY", "SOMETHING_ELSE"])
def test_a_401_about_the_api_key_is_raised_at_once_and_keeps_the_token(
    mock: responses.RequestsMock, code: str
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=401, json=error_body(401, code))
    tokens = CountingTokens()
    client = make_client(access_token=tokens)

    for _ in range(10):
        with pytest.raises(AuthenticationError, match=code):
            client.get_top_tracks()

    assert len(mock.calls) == 10  # not 20
    assert tokens.invalidated == []
    assert tokens.index == 0


@pytest.mark.parametrize(
    "code",
    ["INVALID_ACCESS_TOKEN", "INVALID_AUTH_TOKEN", "NO_ACCESS_TOKEN", "INVALID_AUTH_TYPE", None],
)
def test_a_401_about_the_token_asks_for_a_new_one_and_resends_once(
    mock: responses.RequestsMock, code: str | None
) -> None:
    body = error_body(401, code) if code else {}
    mock.add(responses.GET, TOP_TRACKS, status=401, json=body)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    tokens = CountingTokens()

    page = make_client(access_token=tokens).get_top_tracks()

    assert page.items[0].id == "t1"
    assert tokens.invalidated == ["Atza|token-number-0"]
    assert [c.request.headers["Authorization"] for c in mock.calls] == [
        "Bearer Atza|token-number-0",
        "Bearer Atza|token-number-1",
    ]


def test_one_provider_shared_by_two_services_keeps_its_token_when_one_refuses_the_key(
    mock: responses.RequestsMock,
) -> None:
    other = "https://other.example.test/v1/browse/tracks/top"
    mock.add(responses.GET, TOP_TRACKS, status=401, json=error_body(401, "INVALID_CLIENT_ID"))
    mock.add(responses.GET, other, json=tracks_page("t1"))
    tokens = CountingTokens()
    broken = make_client(access_token=tokens)
    working = make_client(access_token=tokens, base_url="https://other.example.test")

    for _ in range(5):
        with pytest.raises(AuthenticationError):
            broken.get_top_tracks()
        working.get_top_tracks()

    assert tokens.invalidated == []
    assert {c.request.headers["Authorization"] for c in mock.calls} == {
        "Bearer Atza|token-number-0"
    }


# -- the rate-limit window is checked before every attempt ------------------------------------


def test_a_window_opened_while_a_retry_waits_stops_that_retry(
    mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503, headers={"Retry-After": "2"})
    mock.add(responses.GET, CATEGORY, status=429, headers={"Retry-After": "3600"})
    client = make_client(max_retries=3)

    def sleep_while_another_call_opens_a_window(seconds: float) -> None:
        with pytest.raises(RateLimitError):
            client.get_category("2iB4IU25")  # answered 429 with an hour's Retry-After

    monkeypatch.setattr(_retry, "_sleep", sleep_while_another_call_opens_a_window)

    with pytest.raises(RateLimitError, match="no request was sent") as caught:
        client.get_top_tracks()

    assert [c.request.url for c in mock.calls] == [TOP_TRACKS, CATEGORY]  # no retry sent
    assert caught.value.retry_after is not None
    assert 3500 < caught.value.retry_after <= 3600


def test_fifteen_threads_waiting_out_a_503_send_nothing_once_a_window_opens(
    mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503, headers={"Retry-After": "2"})
    mock.add(responses.GET, CATEGORY, status=429, headers={"Retry-After": "3600"})
    client = make_client(max_retries=2)
    waiting = threading.Barrier(16)
    window_open = threading.Event()

    def sleep(seconds: float) -> None:
        waiting.wait(timeout=60)
        window_open.wait(timeout=60)

    monkeypatch.setattr(_retry, "_sleep", sleep)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.get_top_tracks()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(15)]
    for thread in threads:
        thread.start()
    waiting.wait(timeout=60)  # all 15 have failed once and wait to retry
    with pytest.raises(RateLimitError):
        client.get_category("2iB4IU25")
    window_open.set()
    for thread in threads:
        thread.join(timeout=60)

    assert len(errors) == 15
    assert all(isinstance(error, RateLimitError) for error in errors)
    top_tracks_requests = [c for c in mock.calls if c.request.url == TOP_TRACKS]
    assert len(top_tracks_requests) == 15  # the first attempts only: 0 retries sent


def test_the_remembered_window_lasts_at_most_a_day(
    mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(1_000.0)
    monkeypatch.setattr(_retry, "_monotonic", clock)
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "31536000"})
    mock.add(
        responses.GET,
        TOP_PLAYLISTS,
        json={"data": {"topPlaylists": tracks_page()["data"]["topTracks"]}},
    )
    client = make_client()

    with pytest.raises(RateLimitError) as caught:
        client.get_top_tracks()
    assert caught.value.retry_after == 31536000  # the service's value, as sent

    clock.now += 24 * 3600 - 1
    with pytest.raises(RateLimitError):
        client.get_top_playlists()
    clock.now += 2
    client.get_top_playlists()
    assert len(mock.calls) == 2


# -- statuses ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [600, 999])
def test_a_status_outside_100_to_599_is_a_plain_api_error(
    mock: responses.RequestsMock, status: int
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=status, body="")
    with pytest.raises(APIError) as caught:
        make_client().get_top_tracks()
    assert type(caught.value) is APIError
    assert len(mock.calls) == 1  # not retried as a 5xx would be


# -- failures no retry can change ------------------------------------------------------------


def test_a_redirect_loop_is_not_retried(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=302, headers={"Location": TOP_TRACKS})
    with pytest.raises(APIConnectionError, match="more than 5 redirects") as caught:
        make_client(max_retries=3).get_top_tracks()
    assert len(mock.calls) == 6  # one request and 5 redirects, once
    assert "attempts" not in str(caught.value)


@pytest.mark.parametrize("location", ["ftp://api.music.amazon.dev/x", "http://[::1/"])
def test_a_redirect_to_a_non_http_or_malformed_url_is_not_retried(
    mock: responses.RequestsMock, location: str
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=302, headers={"Location": location})
    with pytest.raises(APIConnectionError, match=r"redirected to|redirect Location"):
        make_client(max_retries=3).get_top_tracks()
    assert len(mock.calls) == 1


def test_an_answer_over_the_size_cap_is_not_retried(mock: responses.RequestsMock) -> None:
    body = b'{"data": {"topTracks": {"edges": []}}, "padding": "' + b"x" * 5000 + b'"}'
    mock.add(responses.GET, TOP_TRACKS, body=body)
    with pytest.raises(ResponseValidationError) as caught:
        make_client(max_retries=3, max_response_bytes=4096).get_top_tracks()
    assert "max_response_bytes (4096 bytes decoded)" in str(caught.value)
    assert len(mock.calls) == 1


def test_a_compressed_answer_is_capped_after_decompression(mock: responses.RequestsMock) -> None:
    bomb = gzip.compress(b" " * 10_000_000)  # about 10 KB on the wire
    mock.add(responses.GET, TOP_TRACKS, body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ResponseValidationError, match="max_response_bytes"):
        make_client(max_response_bytes=1_000_000).get_top_tracks()


def test_a_compressed_answer_under_the_cap_is_decoded(mock: responses.RequestsMock) -> None:
    body = gzip.compress(requests.compat.json.dumps(tracks_page("t1", "t2")).encode())
    mock.add(responses.GET, TOP_TRACKS, body=body, headers={"Content-Encoding": "gzip"})
    page = make_client(max_response_bytes=1_000_000).get_top_tracks()
    assert [track.id for track in page] == ["t1", "t2"]
    assert mock.calls[0].request.headers["Accept-Encoding"] == "gzip, deflate"


def test_an_error_status_over_the_cap_is_still_classified_by_its_status(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=404, body=b"<html>" + b"x" * 2_000_000)
    with pytest.raises(APIError) as caught:
        make_client(max_response_bytes=1000).get_top_tracks()
    assert caught.value.status_code == 404
    assert len(caught.value.body) == 64 * 1024


def test_a_missing_ca_bundle_is_a_connection_error_that_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    client = make_client(base_url="https://127.0.0.1:9", max_retries=3)
    with pytest.raises(APIConnectionError, match="REQUESTS_CA_BUNDLE") as caught:
        client.get_top_tracks()
    assert not isinstance(caught.value, OSError)
    assert "attempts" not in str(caught.value)


@pytest.mark.parametrize("proxy", ["http://exa mple:99", "socks9://127.0.0.1:1"])
def test_a_bad_proxy_setting_is_a_connection_error_that_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, proxy: str
) -> None:
    attempts: list[int] = []
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setattr(_retry, "_sleep", lambda seconds: attempts.append(1))
    client = make_client(base_url="http://127.0.0.1:9", max_retries=3)
    with pytest.raises(APIConnectionError):
        client.get_top_tracks()
    assert attempts == []  # no retry waited for


# -- messages say what happened --------------------------------------------------------------


def test_a_connection_error_says_how_many_attempts_were_made(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, body=requests.ConnectionError("refused"))
    with pytest.raises(APIConnectionError) as caught:
        make_client(max_retries=2).get_top_tracks()
    assert str(caught.value).endswith("(gave up after 3 attempts)")
    assert "Max retries exceeded" not in str(caught.value)


def test_a_refused_connection_is_described_in_words() -> None:
    with pytest.raises(APIConnectionError) as caught:
        make_client(base_url="http://127.0.0.1:9", max_retries=0).get_top_tracks()
    message = str(caught.value)
    assert "GET http://127.0.0.1:9/v1/browse/tracks/top failed: could not connect" in message
    assert "refused" in message.lower()
    assert "Max retries exceeded" not in message
    assert not isinstance(caught.value, APITimeoutError)


def test_a_retried_server_error_says_how_many_attempts_were_made(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=500)
    with pytest.raises(InternalServerError) as caught:
        make_client(max_retries=1).get_top_tracks()
    assert str(caught.value) == (
        "500 Internal Server Error (the response had no error details) (gave up after 2 attempts)"
    )


def test_an_html_page_with_200_names_the_endpoint_and_the_content_type(
    mock: responses.RequestsMock,
) -> None:
    html = "<html><body>Service Unavailable</body></html>"
    mock.add(responses.GET, TOP_TRACKS, body=html, content_type="text/html; charset=utf-8")
    with pytest.raises(ResponseValidationError) as caught:
        make_client().get_top_tracks(limit=5)
    message = str(caught.value)
    assert message.startswith(
        "GET /v1/browse/tracks/top (Content-Type text/html; charset=utf-8) answered 200 "
        "with a body that is not JSON"
    )
    assert message.endswith(f"; it began: {html}")
    assert "body:" not in message


def test_an_empty_200_says_the_body_was_empty(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, body="", content_type="application/json")
    with pytest.raises(ResponseValidationError, match=r"the body was empty$"):
        make_client().get_top_tracks()


def test_a_redirect_echoing_a_credential_does_not_leak_it_into_the_error(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=302, headers={"Location": f"ftp://x/{API_KEY}"})
    with pytest.raises(APIConnectionError) as caught:
        make_client().get_top_tracks()
    assert "redirected to a URL that is not http(s): ftp://x/[REDACTED]" in str(caught.value)
    assert API_KEY not in str(caught.value)
