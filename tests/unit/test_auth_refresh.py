"""A 401 with a token callable: invalidate, ask again, re-send once."""

from __future__ import annotations

import pytest
import responses

from amazon_music_browse import (
    AuthenticationError,
    BrowseClient,
    InternalServerError,
    PermissionDeniedError,
)
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL, tracks_page

TOP_TRACKS = BASE_URL + "/v1/browse/tracks/top"
OLD_TOKEN = "Atza|old-token-1111"
NEW_TOKEN = "Atza|new-token-2222"
NEWER_TOKEN = "Atza|newer-token-3333"


UNAUTHORIZED = {
    "status": 401,
    "json": {"error": {"status": "401", "code": "INVALID_ACCESS_TOKEN", "message": "expired"}},
}


class TokenSource:
    """A token callable with ``invalidate``, like ``LoginWithAmazon``."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.index = 0
        self.asked = 0
        self.invalidated: list[str] = []

    def __call__(self) -> str:
        self.asked += 1
        return self.tokens[self.index]

    def invalidate(self, token: str) -> None:
        self.invalidated.append(token)
        if token == self.tokens[self.index] and self.index + 1 < len(self.tokens):
            self.index += 1


class PlainTokenSource:
    """A token callable without ``invalidate``: each call returns the next token."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.asked = 0

    def __call__(self) -> str:
        token = self.tokens[min(self.asked, len(self.tokens) - 1)]
        self.asked += 1
        return token


def authorizations(mock: responses.RequestsMock) -> list[str]:
    return [call.request.headers["Authorization"] for call in mock.calls]


def test_a_401_invalidates_the_refused_token_and_resends_once_with_the_new_one(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    source = TokenSource(OLD_TOKEN, NEW_TOKEN)

    page = BrowseClient(API_KEY, source).get_top_tracks(limit=1)

    assert page[0].id == "t1"
    assert source.invalidated == [OLD_TOKEN]
    assert authorizations(mock) == [f"Bearer {OLD_TOKEN}", f"Bearer {NEW_TOKEN}"]
    assert [call.request.headers["x-api-key"] for call in mock.calls] == [API_KEY, API_KEY]
    assert all("limit=1" in call.request.url for call in mock.calls)
    assert source.asked == 2
    assert sleeps == []  # a refresh is not a retry: no wait


def test_a_second_401_raises_authentication_error(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    source = TokenSource(OLD_TOKEN, NEW_TOKEN, NEWER_TOKEN)

    with pytest.raises(AuthenticationError) as caught:
        BrowseClient(API_KEY, source, max_retries=3).get_top_tracks()

    assert caught.value.status_code == 401
    assert caught.value.code == "INVALID_ACCESS_TOKEN"
    assert len(mock.calls) == 2
    assert source.invalidated == [OLD_TOKEN]
    assert authorizations(mock) == [f"Bearer {OLD_TOKEN}", f"Bearer {NEW_TOKEN}"]


def test_a_callable_without_invalidate_is_asked_again(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    source = PlainTokenSource(OLD_TOKEN, NEW_TOKEN)

    page = BrowseClient(API_KEY, source).get_top_tracks()

    assert page[0].id == "t1"
    assert source.asked == 2
    assert authorizations(mock) == [f"Bearer {OLD_TOKEN}", f"Bearer {NEW_TOKEN}"]


def test_a_callable_without_invalidate_gets_one_resend_only(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)

    with pytest.raises(AuthenticationError):
        BrowseClient(API_KEY, PlainTokenSource(OLD_TOKEN, NEW_TOKEN, NEWER_TOKEN)).get_top_tracks()

    assert authorizations(mock) == [f"Bearer {OLD_TOKEN}", f"Bearer {NEW_TOKEN}"]


def test_a_callable_returning_the_same_token_again_is_not_resent(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)

    with pytest.raises(AuthenticationError):
        BrowseClient(API_KEY, lambda: ACCESS_TOKEN).get_top_tracks()

    # The identical token would be refused the same way: one request, not two.
    assert authorizations(mock) == [f"Bearer {ACCESS_TOKEN}"]


def test_a_plain_string_token_raises_after_one_call(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))

    with pytest.raises(AuthenticationError):
        BrowseClient(API_KEY, ACCESS_TOKEN, max_retries=3).get_top_tracks()

    assert len(mock.calls) == 1
    assert sleeps == []


def test_the_refresh_does_not_consume_a_retry(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, status=503)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    source = TokenSource(OLD_TOKEN, NEW_TOKEN)

    page = BrowseClient(API_KEY, source, max_retries=1).get_top_tracks()

    assert page[0].id == "t1"
    assert len(mock.calls) == 3
    assert len(sleeps) == 1
    assert authorizations(mock) == [
        f"Bearer {OLD_TOKEN}",
        f"Bearer {NEW_TOKEN}",
        f"Bearer {NEW_TOKEN}",
    ]


def test_a_401_after_a_retry_is_refreshed_once(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=503)
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    source = TokenSource(OLD_TOKEN, NEW_TOKEN)

    page = BrowseClient(API_KEY, source, max_retries=1).get_top_tracks()

    assert page[0].id == "t1"
    assert source.invalidated == [OLD_TOKEN]
    assert authorizations(mock) == [
        f"Bearer {OLD_TOKEN}",
        f"Bearer {OLD_TOKEN}",
        f"Bearer {NEW_TOKEN}",
    ]


def test_one_call_refreshes_at_most_once_across_its_retries(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, status=503)
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    source = TokenSource(OLD_TOKEN, NEW_TOKEN, NEWER_TOKEN)

    with pytest.raises(AuthenticationError):
        BrowseClient(API_KEY, source, max_retries=2).get_top_tracks()

    assert len(mock.calls) == 3
    assert source.invalidated == [OLD_TOKEN]


def test_each_call_may_refresh_once(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    mock.add(responses.GET, TOP_TRACKS, **UNAUTHORIZED)
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t2"))
    source = TokenSource(OLD_TOKEN, NEW_TOKEN, NEWER_TOKEN)
    client = BrowseClient(API_KEY, source)

    assert client.get_top_tracks()[0].id == "t1"
    assert client.get_top_tracks()[0].id == "t2"

    assert source.invalidated == [OLD_TOKEN, NEW_TOKEN]
    assert authorizations(mock)[-1] == f"Bearer {NEWER_TOKEN}"


@pytest.mark.parametrize("status", [403, 500])
def test_other_errors_do_not_invalidate_the_token(
    mock: responses.RequestsMock, status: int
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=status)
    source = TokenSource(OLD_TOKEN, NEW_TOKEN)

    with pytest.raises((PermissionDeniedError, InternalServerError)):
        BrowseClient(API_KEY, source, max_retries=0).get_top_tracks()

    assert source.invalidated == []
    assert len(mock.calls) == 1


def test_the_token_callable_is_asked_on_every_request(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    source = PlainTokenSource(OLD_TOKEN, NEW_TOKEN)
    client = BrowseClient(API_KEY, source)

    client.get_top_tracks()
    client.get_top_tracks()

    assert authorizations(mock) == [f"Bearer {OLD_TOKEN}", f"Bearer {NEW_TOKEN}"]


def test_the_refresh_error_hides_both_tokens(mock: responses.RequestsMock) -> None:
    echo = f"refused {OLD_TOKEN} and {NEW_TOKEN} for key {API_KEY}"
    mock.add(responses.GET, TOP_TRACKS, status=401, json={"error": {"message": echo}})

    with pytest.raises(AuthenticationError) as caught:
        BrowseClient(API_KEY, TokenSource(OLD_TOKEN, NEW_TOKEN)).get_top_tracks()

    for text in (str(caught.value), repr(caught.value), caught.value.body or ""):
        for secret in (OLD_TOKEN, NEW_TOKEN, API_KEY):
            assert secret not in text
    assert "refused" in str(caught.value)
