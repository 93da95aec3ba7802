"""``LoginWithAmazon``: the token request, caching, refresh, threads, errors, secrecy."""

from __future__ import annotations

import json
import logging
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses

from amazon_music_browse import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BrowseClient,
    ConfigurationError,
    InternalServerError,
    LoginWithAmazon,
    RateLimitError,
    ResponseValidationError,
    _auth,
)
from tests._support import API_KEY, BASE_URL

TOKEN_URL = "https://api.amazon.com/auth/o2/token"
CLIENT_ID = "amzn1.application-oa2-client.test-client-id"
CLIENT_SECRET = "amzn1.oa2-cs.v1.test-client-secret-7c1e"
REFRESH_TOKEN = "Atzr|test-refresh-token-5b2a"
NEW_REFRESH_TOKEN = "Atzr|rotated-refresh-token-0d9f"
TOKEN_1 = "Atza|first-access-token-a1"
TOKEN_2 = "Atza|second-access-token-b2"
TOKEN_3 = "Atza|third-access-token-c3"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, NEW_REFRESH_TOKEN, TOKEN_1, TOKEN_2, TOKEN_3)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(_auth, "_monotonic", fake)
    return fake


def token_answer(token: Any, expires_in: Any = 3600, **extra: Any) -> dict[str, Any]:
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in, **extra}


def add_tokens(mock: responses.RequestsMock, *answers: dict[str, Any]) -> None:
    """Queue token answers; ``responses`` serves them in order (the last one repeats)."""
    for answer in answers:
        mock.add(responses.POST, TOKEN_URL, json=answer)


def make_lwa(**options: Any) -> LoginWithAmazon:
    return LoginWithAmazon(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, **options)


def posted_form(call: Any) -> dict[str, list[str]]:
    body = call.request.body
    return parse_qs(body if isinstance(body, str) else body.decode())


def assert_no_secret(text: str | bytes) -> None:
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    for secret in SECRETS:
        assert secret not in text


# -- the request ------------------------------------------------------------------------


def test_posts_the_refresh_token_grant_as_a_form(mock: responses.RequestsMock) -> None:
    add_tokens(mock, token_answer(TOKEN_1))

    assert make_lwa()() == TOKEN_1

    assert len(mock.calls) == 1
    request = mock.calls[0].request
    assert request.method == "POST"
    assert request.url == TOKEN_URL
    assert posted_form(mock.calls[0]) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH_TOKEN],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("amazon-music-browse/")
    assert "Authorization" not in request.headers


@pytest.mark.parametrize("timeout", [10.0, 2.5, (3.0, 7.0)])
def test_the_timeout_is_passed_to_requests(
    mock: responses.RequestsMock, timeout: float | tuple[float, float]
) -> None:
    add_tokens(mock, token_answer(TOKEN_1))
    lwa = LoginWithAmazon(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, timeout=timeout)

    lwa()

    assert getattr(mock.calls[0].request, "req_kwargs", {})["timeout"] == timeout
    assert lwa.timeout == timeout


def test_a_custom_token_url_is_used(mock: responses.RequestsMock) -> None:
    eu = "https://api.amazon.co.uk/auth/o2/token"
    mock.add(responses.POST, eu, json=token_answer(TOKEN_1))

    lwa = LoginWithAmazon(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, eu)

    assert lwa() == TOKEN_1
    assert lwa.token_url == eu


def test_redirects_are_not_followed_with_the_credentials(mock: responses.RequestsMock) -> None:
    mock.add(
        responses.POST,
        TOKEN_URL,
        status=307,
        headers={"Location": "https://elsewhere.example/auth/o2/token"},
    )
    mock.add(responses.POST, "https://elsewhere.example/auth/o2/token", json=token_answer("x"))

    with pytest.raises(APIConnectionError, match="redirect") as info:
        make_lwa()()

    assert len(mock.calls) == 1
    assert_no_secret(str(info.value))


# -- caching and refresh ----------------------------------------------------------------


def test_the_token_is_cached(mock: responses.RequestsMock, clock: Clock) -> None:
    add_tokens(mock, token_answer(TOKEN_1), token_answer(TOKEN_2))
    lwa = make_lwa()

    assert lwa() == TOKEN_1
    clock.now += 1800
    assert lwa() == TOKEN_1

    assert len(mock.calls) == 1


@pytest.mark.parametrize(
    ("lifetime", "seconds_left", "refreshed"),
    [
        (3600, 61, False),
        (3600, 60, False),
        (3600, 59.9, True),
        (3600, 0, True),
        (3600, -5, True),
        (100, 11, False),
        (100, 10, False),
        (100, 9.9, True),
        (5, 0.6, False),
        (5, 0.4, True),
    ],
)
def test_refreshes_when_less_than_min_60s_or_a_tenth_of_the_lifetime_remains(
    mock: responses.RequestsMock,
    clock: Clock,
    lifetime: int,
    seconds_left: float,
    refreshed: bool,
) -> None:
    add_tokens(mock, token_answer(TOKEN_1, lifetime), token_answer(TOKEN_2, lifetime))
    lwa = make_lwa()
    assert lwa() == TOKEN_1

    clock.now += lifetime - seconds_left

    assert lwa() == (TOKEN_2 if refreshed else TOKEN_1)
    assert len(mock.calls) == (2 if refreshed else 1)


def test_expiry_counts_from_when_the_request_was_sent(
    mock: responses.RequestsMock, clock: Clock
) -> None:
    def slow_answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        clock.now += 30  # the token endpoint took 30 s to answer
        return 200, {}, json.dumps(token_answer(TOKEN_1, 3600))

    mock.add_callback(responses.POST, TOKEN_URL, callback=slow_answer)
    lwa = make_lwa()
    lwa()

    clock.now += 3600 - 30 - 59  # 59 s left by the clock of the request's start
    lwa()

    assert len(mock.calls) == 2


def test_a_new_refresh_token_is_used_from_then_on(
    mock: responses.RequestsMock, clock: Clock
) -> None:
    add_tokens(
        mock,
        token_answer(TOKEN_1, refresh_token=NEW_REFRESH_TOKEN),
        token_answer(TOKEN_2),  # no refresh_token: keep the one we have
        token_answer(TOKEN_3),
    )
    lwa = make_lwa()

    assert lwa() == TOKEN_1
    clock.now += 3600
    assert lwa() == TOKEN_2
    clock.now += 3600
    assert lwa() == TOKEN_3

    sent = [posted_form(call)["refresh_token"] for call in mock.calls]
    assert sent == [[REFRESH_TOKEN], [NEW_REFRESH_TOKEN], [NEW_REFRESH_TOKEN]]


def test_invalidating_the_current_token_makes_the_next_call_refresh(
    mock: responses.RequestsMock,
) -> None:
    add_tokens(mock, token_answer(TOKEN_1), token_answer(TOKEN_2))
    lwa = make_lwa()
    assert lwa() == TOKEN_1

    lwa.invalidate(TOKEN_1)

    assert lwa() == TOKEN_2
    assert lwa() == TOKEN_2
    assert len(mock.calls) == 2


def test_invalidating_an_older_token_keeps_the_newer_one(
    mock: responses.RequestsMock,
) -> None:
    add_tokens(mock, token_answer(TOKEN_1), token_answer(TOKEN_2), token_answer(TOKEN_3))
    lwa = make_lwa()
    lwa()
    lwa.invalidate(TOKEN_1)
    assert lwa() == TOKEN_2

    lwa.invalidate(TOKEN_1)  # a late caller that was refused the old token

    assert lwa() == TOKEN_2
    assert len(mock.calls) == 2


def test_invalidating_before_any_token_does_nothing(mock: responses.RequestsMock) -> None:
    add_tokens(mock, token_answer(TOKEN_1))
    lwa = make_lwa()

    lwa.invalidate("Atza|never-issued")

    assert lwa() == TOKEN_1
    assert len(mock.calls) == 1


def test_a_failed_refresh_is_tried_again_on_the_next_call(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.POST, TOKEN_URL, status=503, json={"error": "ServerError"})
    add_tokens(mock, token_answer(TOKEN_1))
    lwa = make_lwa()

    with pytest.raises(InternalServerError):
        lwa()
    assert lwa() == TOKEN_1


# -- threads ----------------------------------------------------------------------------


def slow_token_endpoint(
    mock: responses.RequestsMock, tokens: list[str]
) -> Callable[[requests.PreparedRequest], tuple[int, dict[str, str], str]]:
    """A token endpoint that takes 50 ms and hands out ``tokens`` in order."""
    issued = iter(tokens)

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        time.sleep(0.05)
        return 200, {}, json.dumps(token_answer(next(issued)))

    mock.add_callback(responses.POST, TOKEN_URL, callback=answer)
    return answer


def run_threads(count: int, work: Callable[[], str]) -> list[str]:
    barrier = threading.Barrier(count)
    results: list[str] = []
    errors: list[BaseException] = []

    def target() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as exc:  # surfaced in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors, errors
    assert len(results) == count
    return results


def test_concurrent_callers_share_one_token_request(mock: responses.RequestsMock) -> None:
    slow_token_endpoint(mock, [TOKEN_1, TOKEN_2])
    lwa = make_lwa()

    results = run_threads(16, lwa)

    assert len(mock.calls) == 1
    assert results == [TOKEN_1] * 16


def test_callers_refused_at_once_share_one_refresh(mock: responses.RequestsMock) -> None:
    slow_token_endpoint(mock, [TOKEN_1, TOKEN_2, TOKEN_3])
    lwa = make_lwa()
    assert lwa() == TOKEN_1

    def refused_then_ask_again() -> str:
        lwa.invalidate(TOKEN_1)
        return lwa()

    results = run_threads(8, refused_then_ask_again)

    assert len(mock.calls) == 2
    assert results == [TOKEN_2] * 8


# -- errors -----------------------------------------------------------------------------


def test_invalid_grant_raises_authentication_error(mock: responses.RequestsMock) -> None:
    mock.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "The request has an invalid grant"},
        headers={"x-amzn-RequestId": "req-123"},
    )

    with pytest.raises(AuthenticationError) as info:
        make_lwa()()

    error = info.value
    assert error.status_code == 400
    assert error.code == "invalid_grant"
    assert error.message == "The request has an invalid grant"
    assert error.request_id == "req-123"
    assert str(error) == "400 invalid_grant: The request has an invalid grant"


def test_invalid_client_raises_authentication_error(mock: responses.RequestsMock) -> None:
    mock.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": "Client authentication failed"},
    )

    with pytest.raises(AuthenticationError) as info:
        make_lwa()()

    assert info.value.status_code == 401
    assert info.value.code == "invalid_client"
    assert info.value.message == "Client authentication failed"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(500, InternalServerError), (503, InternalServerError), (429, RateLimitError)],
)
def test_other_error_statuses_keep_their_class(
    mock: responses.RequestsMock, status: int, error_class: type[APIError]
) -> None:
    mock.add(
        responses.POST,
        TOKEN_URL,
        status=status,
        body="<html>busy</html>",
        headers={"Retry-After": "7"},
    )

    with pytest.raises(error_class) as info:
        make_lwa()()

    assert type(info.value) is error_class
    assert info.value.status_code == status
    assert info.value.code is None
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<html>not json</html>", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({"token_type": "bearer", "expires_in": 3600}), "access_token"),
        (json.dumps(token_answer("")), "access_token"),
        (json.dumps(token_answer(12345)), "access_token"),
        (json.dumps(token_answer("Atza|has space")), "access_token"),
        (json.dumps({"access_token": TOKEN_1}), "expires_in"),
        (json.dumps(token_answer(TOKEN_1, "3600")), "expires_in"),
        (json.dumps(token_answer(TOKEN_1, True)), "expires_in"),
        (json.dumps(token_answer(TOKEN_1, 0)), "expires_in"),
        (json.dumps(token_answer(TOKEN_1, refresh_token=42)), "refresh_token"),
    ],
)
def test_a_200_without_a_usable_token_raises_response_validation_error(
    mock: responses.RequestsMock, body: str, problem: str
) -> None:
    mock.add(responses.POST, TOKEN_URL, body=body, status=200)

    with pytest.raises(ResponseValidationError, match=problem) as info:
        make_lwa()()

    assert info.value.status_code == 200
    assert_no_secret(str(info.value))
    assert_no_secret(info.value.body)


def test_connection_error_raises_api_connection_error(mock: responses.RequestsMock) -> None:
    mock.add(responses.POST, TOKEN_URL, body=requests.ConnectionError("connection refused"))

    with pytest.raises(APIConnectionError) as info:
        make_lwa()()

    assert type(info.value) is APIConnectionError
    assert "connection refused" in str(info.value)
    assert TOKEN_URL in str(info.value)


@pytest.mark.parametrize("exception", [requests.ReadTimeout, requests.ConnectTimeout])
def test_timeout_raises_api_timeout_error(
    mock: responses.RequestsMock, exception: type[requests.Timeout]
) -> None:
    mock.add(responses.POST, TOKEN_URL, body=exception("too slow"))

    with pytest.raises(APITimeoutError, match="timed out"):
        make_lwa()()


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["client_id", "client_secret", "refresh_token"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [(None, "must be a str"), (b"bytes", "must be a str"), ("", "empty"), ("  ", "empty")],
)
def test_credentials_must_be_non_empty_strings(name: str, value: Any, problem: str) -> None:
    arguments = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        name: value,
    }
    if name == "refresh_token" and value is None:  # optional with a store, missing without
        problem = "missing"

    with pytest.raises(ConfigurationError, match=f"{name} .*{problem}"):
        LoginWithAmazon(**arguments)


def test_a_credential_error_never_echoes_the_value() -> None:
    with pytest.raises(ConfigurationError, match="client_secret") as info:
        LoginWithAmazon(CLIENT_ID, f" {CLIENT_SECRET}\n", REFRESH_TOKEN)

    assert_no_secret(str(info.value))


@pytest.mark.parametrize(
    "token_url",
    [
        "http://api.amazon.com/auth/o2/token",
        "http://10.0.0.1/auth/o2/token",
        "ftp://api.amazon.com/auth/o2/token",
        "api.amazon.com/auth/o2/token",
        "https://user:pass@api.amazon.com/auth/o2/token",
        "https://api.amazon.com/auth/o2/token#fragment",
        "https://api.amazon.com:notaport/auth/o2/token",
        42,
    ],
)
def test_unsafe_token_urls_are_refused(token_url: Any) -> None:
    with pytest.raises(ConfigurationError, match="token_url"):
        LoginWithAmazon(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, token_url)


@pytest.mark.parametrize(
    "token_url",
    [
        "http://localhost:8765/auth/o2/token",
        "http://127.0.0.1:8765/auth/o2/token",
        "http://[::1]:8765/auth/o2/token",
    ],
)
def test_plain_http_is_allowed_on_loopback(mock: responses.RequestsMock, token_url: str) -> None:
    mock.add(responses.POST, token_url, json=token_answer(TOKEN_1))

    assert LoginWithAmazon(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, token_url)() == TOKEN_1


@pytest.mark.parametrize("timeout", [None, 0, -1.0, float("inf"), "10", (1.0,), True])
def test_invalid_timeouts_are_refused(timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        make_lwa(timeout=timeout)


def test_session_must_be_a_requests_session() -> None:
    with pytest.raises(ConfigurationError, match="session"):
        make_lwa(session=object())


# -- the session ------------------------------------------------------------------------


def test_a_session_passed_in_is_used_and_left_open(
    mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tokens(mock, token_answer(TOKEN_1))
    session = requests.Session()
    session.headers["X-Custom"] = "kept"
    closed: list[bool] = []
    monkeypatch.setattr(session, "close", lambda: closed.append(True))

    with LoginWithAmazon(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, session=session) as lwa:
        lwa()

    assert mock.calls[0].request.headers["X-Custom"] == "kept"
    assert closed == []


def test_close_closes_a_session_it_created(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[bool] = []
    monkeypatch.setattr(requests.Session, "close", lambda self: closed.append(True))

    with make_lwa():
        pass

    assert closed == [True]


# -- secrecy ----------------------------------------------------------------------------


def test_repr_shows_the_state_but_no_credential(mock: responses.RequestsMock, clock: Clock) -> None:
    add_tokens(mock, token_answer(TOKEN_1, refresh_token=NEW_REFRESH_TOKEN))
    lwa = make_lwa()
    assert repr(lwa) == f"LoginWithAmazon(token_url={TOKEN_URL!r}, token_cached=False)"

    lwa()
    clock.now += 600

    text = repr(lwa)
    assert text == f"LoginWithAmazon(token_url={TOKEN_URL!r}, token_cached=True, seconds_left=3000)"
    assert_no_secret(text + str(lwa))
    assert CLIENT_ID not in text

    lwa.invalidate(TOKEN_1)
    assert "token_cached=False" in repr(lwa)


def test_secrets_echoed_in_an_error_body_are_redacted(mock: responses.RequestsMock) -> None:
    echo = {
        "error": "invalid_grant",
        "error_description": (
            f"refresh token {REFRESH_TOKEN} is not valid for secret {CLIENT_SECRET}; "
            f"request was client_secret={CLIENT_SECRET}&refresh_token=Atzr%7Cencoded"
        ),
        "access_token": "leaked-value-without-prefix",
    }
    mock.add(responses.POST, TOKEN_URL, status=400, json=echo)

    with pytest.raises(AuthenticationError) as info:
        make_lwa()()

    error = info.value
    for text in (str(error), repr(error), error.message or "", error.body):
        assert_no_secret(text)
        assert "Atzr%7Cencoded" not in text
        assert "leaked-value-without-prefix" not in text
    assert "[REDACTED]" in (error.message or "")
    assert error.code == "invalid_grant"


def test_errors_pickle_without_credentials(mock: responses.RequestsMock) -> None:
    mock.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": f"bad secret {CLIENT_SECRET}"},
    )
    mock.add(responses.POST, TOKEN_URL, body=requests.ConnectionError("reset"))
    lwa = make_lwa()

    for _ in range(2):
        with pytest.raises((AuthenticationError, APIConnectionError)) as info:
            lwa()
        data = pickle.dumps(info.value)
        assert_no_secret(data)
        restored = pickle.loads(data)
        assert type(restored) is type(info.value)
        assert str(restored) == str(info.value)


def test_logs_never_contain_credentials(
    mock: responses.RequestsMock, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_tokens(mock, token_answer(TOKEN_1, refresh_token=NEW_REFRESH_TOKEN))
    add_tokens(mock, token_answer(TOKEN_2))
    mock.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": f"bad {NEW_REFRESH_TOKEN}"},
    )
    lwa = make_lwa()

    lwa()
    lwa.invalidate(TOKEN_1)
    lwa()
    clock.now += 3600
    with pytest.raises(AuthenticationError):
        lwa()

    assert any("refreshed" in record.getMessage() for record in caplog.records)
    assert any("new refresh token" in record.getMessage() for record in caplog.records)
    assert_no_secret(caplog.text)
    for record in caplog.records:
        assert_no_secret(record.getMessage())


def test_pickling_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(make_lwa())


# -- with the client --------------------------------------------------------------------

TOP_TRACKS_URL = f"{BASE_URL}/v1/browse/tracks/top"
TOP_TRACKS = {
    "data": {
        "topTracks": {
            "pageInfo": {"hasNextPage": False, "token": None},
            "edgeCount": 1,
            "edges": [{"node": {"id": "B0TRACK1", "title": "One"}}],
        }
    }
}
EXPIRED = {
    "error": {"status": 401, "code": "INVALID_ACCESS_TOKEN", "message": "The token has expired"}
}


def test_the_client_refreshes_once_after_a_401(mock: responses.RequestsMock) -> None:
    add_tokens(mock, token_answer(TOKEN_1), token_answer(TOKEN_2))
    mock.add(responses.GET, TOP_TRACKS_URL, status=401, json=EXPIRED)
    mock.add(responses.GET, TOP_TRACKS_URL, json=TOP_TRACKS)
    lwa = make_lwa()

    with BrowseClient(api_key=API_KEY, access_token=lwa) as client:
        page = client.get_top_tracks()

    assert [track.id for track in page] == ["B0TRACK1"]
    sent = [(call.request.method, call.request.headers.get("Authorization")) for call in mock.calls]
    assert sent == [
        ("POST", None),
        ("GET", f"Bearer {TOKEN_1}"),
        ("POST", None),
        ("GET", f"Bearer {TOKEN_2}"),
    ]


def test_the_client_gives_up_after_a_second_401(mock: responses.RequestsMock) -> None:
    add_tokens(mock, token_answer(TOKEN_1), token_answer(TOKEN_2))
    mock.add(responses.GET, TOP_TRACKS_URL, status=401, json=EXPIRED)
    client = BrowseClient(api_key=API_KEY, access_token=make_lwa())

    with pytest.raises(AuthenticationError, match="INVALID_ACCESS_TOKEN") as info:
        client.get_top_tracks()

    assert [call.request.method for call in mock.calls] == ["POST", "GET", "POST", "GET"]
    assert_no_secret(str(info.value))


def test_the_client_retries_a_token_endpoint_outage(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.POST, TOKEN_URL, status=503, body="busy")
    add_tokens(mock, token_answer(TOKEN_1))
    mock.add(responses.GET, TOP_TRACKS_URL, json=TOP_TRACKS)
    client = BrowseClient(api_key=API_KEY, access_token=make_lwa())

    assert len(client.get_top_tracks()) == 1
    assert len(sleeps) == 1


def test_a_refused_refresh_is_not_retried_by_the_client(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    client = BrowseClient(api_key=API_KEY, access_token=make_lwa())

    with pytest.raises(AuthenticationError, match="invalid_grant"):
        client.get_top_tracks()

    assert len(mock.calls) == 1
    assert sleeps == []
