"""Credentials go only to the base_url origin, and never show up in reprs, errors or logs.

Unit rules, one case at a time against a mocked transport (which header goes where, what
each repr, message, log line and pickle holds); `tests/proof/test_leaks.py` proves the
same end to end over a whole recorded run against real loopback servers.
"""

from __future__ import annotations

import functools
import itertools
import logging
import pickle
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses

from amazon_music_browse import (
    AmazonMusicError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL, make_client, tracks_page

PATH = "/v1/browse/tracks/top"
TOP_TRACKS = BASE_URL + PATH
SECRETS = (API_KEY, ACCESS_TOKEN)
ECHO = f"you sent x-api-key: {API_KEY} and Authorization: Bearer {ACCESS_TOKEN}"


def has_credentials(call: Any) -> tuple[bool, bool]:
    headers = call.request.headers
    return "x-api-key" in headers, "Authorization" in headers


def assert_no_secret(text: str | bytes) -> None:
    for secret in SECRETS:
        needle: str | bytes = secret.encode() if isinstance(text, bytes) else secret
        assert needle not in text


# -- redirects ----------------------------------------------------------------------------

REDIRECT_STATUSES = [301, 302, 303, 307, 308]

OTHER_ORIGINS = [
    pytest.param("https://cdn.example.com/v1/browse/tracks/top", id="other-host"),
    pytest.param("https://music.amazon.dev/v1/browse/tracks/top", id="parent-domain"),
    pytest.param("https://api.music.amazon.dev.evil.example/top", id="suffix-host"),
    pytest.param("https://api.music.amazon.dev:8443/v1/browse/tracks/top", id="other-port"),
    pytest.param("http://api.music.amazon.dev/v1/browse/tracks/top", id="https-to-http"),
    pytest.param("//cdn.example.com/top", id="scheme-relative"),
]


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize("location", OTHER_ORIGINS)
def test_a_redirect_to_another_origin_is_followed_without_credentials(
    mock: responses.RequestsMock, status: int, location: str
) -> None:
    target = "https:" + location if location.startswith("//") else location
    mock.add(responses.GET, TOP_TRACKS, status=status, headers={"Location": location})
    mock.add(responses.GET, target, json=tracks_page("t1"))

    page = make_client().get_top_tracks(limit=3)

    assert page[0].id == "t1"
    assert len(mock.calls) == 2
    assert mock.calls[1].request.url.startswith(target)
    assert has_credentials(mock.calls[0]) == (True, True)
    assert has_credentials(mock.calls[1]) == (False, False)
    assert mock.calls[1].request.headers["Accept"] == "application/json"


MOVED = TOP_TRACKS + "-moved"
SAME_ORIGIN = [
    pytest.param("/v1/browse/tracks/top-moved", MOVED, id="relative"),
    pytest.param("top-moved", MOVED, id="relative-sibling"),
    pytest.param(MOVED, MOVED, id="absolute"),
    pytest.param(
        "https://api.music.amazon.dev:443/v1/browse/tracks/top-moved",
        "https://api.music.amazon.dev:443/v1/browse/tracks/top-moved",
        id="default-port",
    ),
    pytest.param("https://API.Music.Amazon.dev/v1/browse/tracks/top-moved", MOVED, id="host-case"),
]


@pytest.mark.parametrize("status", REDIRECT_STATUSES)
@pytest.mark.parametrize(("location", "target"), SAME_ORIGIN)
def test_a_same_origin_redirect_keeps_the_credentials(
    mock: responses.RequestsMock, status: int, location: str, target: str
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=status, headers={"Location": location})
    mock.add(responses.GET, target, json=tracks_page("t1"))

    page = make_client().get_top_tracks()

    assert page[0].id == "t1"
    assert len(mock.calls) == 2
    headers = mock.calls[1].request.headers
    assert headers["x-api-key"] == API_KEY
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_credentials_come_back_only_when_the_chain_returns_to_the_origin(
    mock: responses.RequestsMock,
) -> None:
    mock.add(
        responses.GET, TOP_TRACKS, status=302, headers={"Location": "https://cdn.example.com/a"}
    )
    mock.add(
        responses.GET,
        "https://cdn.example.com/a",
        status=302,
        headers={"Location": "https://other.example.org/b"},
    )
    mock.add(
        responses.GET,
        "https://other.example.org/b",
        status=307,
        headers={"Location": TOP_TRACKS + "-moved"},
    )
    mock.add(responses.GET, TOP_TRACKS + "-moved", json=tracks_page("t1"))

    make_client().get_top_tracks()

    assert [has_credentials(call) for call in mock.calls] == [
        (True, True),
        (False, False),
        (False, False),
        (True, True),
    ]


def test_a_loopback_base_url_keeps_credentials_to_its_own_port_only(
    mock: responses.RequestsMock,
) -> None:
    base = "http://127.0.0.1:8765"
    mock.add(
        responses.GET, base + PATH, status=302, headers={"Location": "http://127.0.0.1:9999/x"}
    )
    mock.add(responses.GET, "http://127.0.0.1:9999/x", json=tracks_page("t1"))

    make_client(base_url=base).get_top_tracks()

    assert has_credentials(mock.calls[0]) == (True, True)
    assert has_credentials(mock.calls[1]) == (False, False)


def chain(mock: responses.RequestsMock, redirects: int) -> None:
    urls = [TOP_TRACKS] + [f"{BASE_URL}/hop/{n}" for n in range(1, redirects + 1)]
    for here, there in itertools.pairwise(urls):
        mock.add(responses.GET, here, status=302, headers={"Location": there})
    mock.add(responses.GET, urls[-1], json=tracks_page("t1"))


def test_five_redirects_are_followed(mock: responses.RequestsMock) -> None:
    chain(mock, 5)

    page = make_client(max_retries=0).get_top_tracks()

    assert page[0].id == "t1"
    assert len(mock.calls) == 6


@pytest.mark.parametrize("redirects", [6, 20])
def test_more_than_five_redirects_raise_a_connection_error(
    mock: responses.RequestsMock, redirects: int
) -> None:
    chain(mock, redirects)

    with pytest.raises(APIConnectionError) as caught:
        make_client(max_retries=0).get_top_tracks()

    assert "redirect" in str(caught.value)
    assert len(mock.calls) == 6


def test_a_redirect_loop_raises_a_connection_error(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=302, headers={"Location": PATH})

    with pytest.raises(APIConnectionError):
        make_client(max_retries=0).get_top_tracks()

    assert len(mock.calls) == 6


@pytest.mark.parametrize(
    "location", ["ftp://api.music.amazon.dev/top", "file:///etc/passwd", "gopher://x.example/"]
)
def test_a_redirect_to_another_scheme_raises_a_connection_error(
    mock: responses.RequestsMock, location: str
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=302, headers={"Location": location})

    with pytest.raises(APIConnectionError) as caught:
        make_client(max_retries=0).get_top_tracks()

    assert type(caught.value) is APIConnectionError
    assert len(mock.calls) == 1
    assert_no_secret(str(caught.value))


# -- https required ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    ["http://api.music.amazon.dev", "http://10.0.0.5:8080", "ftp://api.music.amazon.dev"],
)
def test_plain_http_is_refused_except_on_loopback(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        make_client(base_url=base_url)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"]
)
def test_plain_http_is_allowed_on_loopback(base_url: str) -> None:
    assert make_client(base_url=base_url).base_url == base_url


# -- no credential in reprs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [ACCESS_TOKEN, functools.partial(str, ACCESS_TOKEN)],
    ids=["string", "callable-whose-repr-shows-it"],
)
def test_repr_of_the_client_shows_no_credential(token: Any) -> None:
    client = BrowseClient(API_KEY, token)

    for text in (repr(client), str(client), repr(client.with_options(max_retries=0))):
        assert_no_secret(text)
        assert BASE_URL in text


def test_repr_of_a_paginator_shows_no_credential() -> None:
    client = make_client()

    assert_no_secret(repr(client.paginate(client.get_top_tracks, cursor="c1")))


# -- no credential in any exception --------------------------------------------------------------


def provoke_api_error(status: int) -> Callable[[responses.RequestsMock], AmazonMusicError]:
    def provoke(mock: responses.RequestsMock) -> AmazonMusicError:
        body = {
            "error": {
                "status": str(status),
                "code": "ECHO",
                "message": ECHO,
                "reference": f"ref-{API_KEY}",
                "url": f"https://music.amazon.com/?token={ACCESS_TOKEN}",
                "payload": {"headers": {"x-api-key": API_KEY, "authorization": ACCESS_TOKEN}},
            }
        }
        mock.add(
            responses.GET,
            TOP_TRACKS,
            status=status,
            json=body,
            headers={"x-amzn-RequestId": "req-1"},
        )
        return capture(lambda: make_client(max_retries=0).get_top_tracks())

    return provoke


def capture(action: Callable[[], object]) -> AmazonMusicError:
    with pytest.raises(AmazonMusicError) as caught:
        action()
    return caught.value


def provoke_html_error(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, status=502, body=f"<html><pre>{ECHO}</pre></html>")
    return capture(lambda: make_client(max_retries=0).get_top_tracks())


def provoke_refresh_failure(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, status=401, body=ECHO + " refreshed-token-5555")
    tokens = iter([ACCESS_TOKEN, "refreshed-token-5555"])
    return capture(lambda: BrowseClient(API_KEY, lambda: next(tokens)).get_top_tracks())


def provoke_window(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, status=429, headers={"Retry-After": "600"}, body=ECHO)
    client = make_client()
    capture(client.get_top_tracks)
    return capture(client.get_top_tracks)


def provoke_connection_error(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, body=requests.ConnectionError("connection reset by peer"))
    return capture(lambda: make_client(max_retries=0).get_top_tracks(limit=5, cursor="c1"))


def provoke_timeout(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, body=requests.ReadTimeout("read timed out"))
    return capture(lambda: make_client(max_retries=0).get_top_tracks())


def provoke_redirect_error(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, status=302, headers={"Location": PATH})
    return capture(lambda: make_client(max_retries=0).get_top_tracks())


def provoke_invalid_html(mock: responses.RequestsMock) -> AmazonMusicError:
    # A captive portal or a debugging proxy answering 200 with the request's headers.
    mock.add(responses.GET, TOP_TRACKS, status=200, body=f"<html><pre>{ECHO}</pre></html>")
    return capture(lambda: make_client().get_top_tracks())


def provoke_invalid_json(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, status=200, json={"echo": ECHO})
    return capture(lambda: make_client().get_top_tracks())


def provoke_pagination_error(mock: responses.RequestsMock) -> AmazonMusicError:
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1", token="same"))
    client = make_client()
    return capture(lambda: client.paginate(client.get_top_tracks).to_list())


def provoke_bad_api_key(mock: responses.RequestsMock) -> AmazonMusicError:
    return capture(lambda: BrowseClient(API_KEY + "\n", ACCESS_TOKEN))


def provoke_bad_token(mock: responses.RequestsMock) -> AmazonMusicError:
    return capture(lambda: BrowseClient(API_KEY, f"Bearer {ACCESS_TOKEN}"))


def provoke_bad_token_from_callable(mock: responses.RequestsMock) -> AmazonMusicError:
    return capture(lambda: BrowseClient(API_KEY, lambda: ACCESS_TOKEN + " ").get_top_tracks())


PROVOCATIONS = [
    pytest.param(provoke_api_error(400), BadRequestError, id="400"),
    pytest.param(provoke_api_error(401), AuthenticationError, id="401"),
    pytest.param(provoke_api_error(403), PermissionDeniedError, id="403"),
    pytest.param(provoke_api_error(404), NotFoundError, id="404"),
    pytest.param(provoke_api_error(418), APIError, id="418"),
    pytest.param(provoke_api_error(422), UnprocessableEntityError, id="422"),
    pytest.param(provoke_api_error(429), RateLimitError, id="429"),
    pytest.param(provoke_api_error(500), InternalServerError, id="500"),
    pytest.param(provoke_html_error, InternalServerError, id="502-html"),
    pytest.param(provoke_refresh_failure, AuthenticationError, id="401-after-refresh"),
    pytest.param(provoke_window, RateLimitError, id="rate-limit-window"),
    pytest.param(provoke_connection_error, APIConnectionError, id="connection"),
    pytest.param(provoke_timeout, APITimeoutError, id="timeout"),
    pytest.param(provoke_redirect_error, APIConnectionError, id="redirects"),
    pytest.param(provoke_invalid_html, ResponseValidationError, id="200-html-echo"),
    pytest.param(provoke_invalid_json, ResponseValidationError, id="200-json-echo"),
    pytest.param(provoke_pagination_error, PaginationError, id="pagination"),
    pytest.param(provoke_bad_api_key, ConfigurationError, id="bad-api-key"),
    pytest.param(provoke_bad_token, ConfigurationError, id="bad-token"),
    pytest.param(provoke_bad_token_from_callable, ConfigurationError, id="bad-token-callable"),
]


@pytest.mark.parametrize(("provoke", "error_class"), PROVOCATIONS)
def test_no_exception_shows_a_credential(
    mock: responses.RequestsMock,
    provoke: Callable[[responses.RequestsMock], AmazonMusicError],
    error_class: type[AmazonMusicError],
) -> None:
    error = provoke(mock)

    assert type(error) is error_class
    texts = [str(error), repr(error), *(str(arg) for arg in error.args), *map(repr, error.args)]
    for attribute in ("message", "body", "code", "reference", "url", "payload", "request_id"):
        texts.append(repr(getattr(error, attribute, None)))
    for text in texts:
        assert_no_secret(text)


@pytest.mark.parametrize(("provoke", "error_class"), PROVOCATIONS)
def test_no_pickled_exception_carries_a_credential(
    mock: responses.RequestsMock,
    provoke: Callable[[responses.RequestsMock], AmazonMusicError],
    error_class: type[AmazonMusicError],
) -> None:
    error = provoke(mock)

    data = pickle.dumps(error)
    assert_no_secret(data)

    copy = pickle.loads(data)
    assert type(copy) is error_class
    assert str(copy) == str(error)
    assert getattr(copy, "response", None) is None
    assert getattr(copy, "request", None) is None


@pytest.mark.parametrize(
    ("provoke", "live"),
    [
        pytest.param(provoke_api_error(404), "response", id="api-error"),
        pytest.param(provoke_connection_error, "request", id="connection"),
        pytest.param(provoke_timeout, "request", id="timeout"),
    ],
)
def test_the_live_objects_stay_in_memory_and_are_dropped_by_pickle(
    mock: responses.RequestsMock,
    provoke: Callable[[responses.RequestsMock], AmazonMusicError],
    live: str,
) -> None:
    error = provoke(mock)
    held = getattr(error, live)
    request = held if live == "request" else held.request

    # The live object does carry the credentials: that is why it is never pickled.
    assert request.headers["x-api-key"] == API_KEY
    assert API_KEY.encode() not in pickle.dumps(error)
    assert getattr(error, live) is held  # pickling did not strip the original


def test_every_pickled_protocol_drops_the_credentials(mock: responses.RequestsMock) -> None:
    error = provoke_api_error(403)(mock)

    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert_no_secret(pickle.dumps(error, protocol=protocol))


# -- no credential in the logs ---------------------------------------------------------------


def test_redirects_and_failures_log_no_credential(
    mock: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.add(
        responses.GET, TOP_TRACKS, status=302, headers={"Location": "https://cdn.example.com/x"}
    )
    mock.add(responses.GET, "https://cdn.example.com/x", status=503, body=ECHO)
    mock.add(responses.GET, "https://cdn.example.com/x", body=requests.ConnectionError("reset"))
    mock.add(responses.GET, "https://cdn.example.com/x", status=401, body=ECHO)

    with pytest.raises(AuthenticationError):
        make_client(max_retries=2).get_top_tracks()

    assert len(caplog.records) >= 3
    for text in [caplog.text, *(record.getMessage() for record in caplog.records)]:
        assert_no_secret(text)


def test_a_netrc_entry_for_the_host_never_replaces_the_bearer_token(
    mock: responses.RequestsMock, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.music.amazon.dev login someone password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("a"))

    BrowseClient(API_KEY, ACCESS_TOKEN).get_top_tracks()

    assert mock.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_a_session_auth_never_replaces_the_bearer_token(mock: responses.RequestsMock) -> None:
    session = requests.Session()
    session.auth = ("someone", "session-password")
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("a"))

    BrowseClient(API_KEY, ACCESS_TOKEN, session=session).get_top_tracks()

    assert mock.calls[0].request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert session.auth == ("someone", "session-password")
