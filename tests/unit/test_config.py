"""The constructor's options, the client's lifecycle and the package's public names."""

from __future__ import annotations

import functools
import math
import pickle
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from amazon_music_browse import BrowseClient, ConfigurationError
from tests import _support as support
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL

ANY_URL = re.compile(r".*")
TOP_TRACKS = (
    b'{"data": {"topTracks": {"pageInfo": {"hasNextPage": false}, "edgeCount": 0, "edges": []}}}'
)


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, ANY_URL, body=TOP_TRACKS)
        yield mock


make_client = functools.partial(support.make_client, max_retries=0)
"""A client with the test credentials that never retries (a test may pass max_retries=)."""


def sent_headers(rsps: responses.RequestsMock) -> Any:
    assert len(rsps.calls) >= 1
    return rsps.calls[-1].request.headers


@pytest.fixture
def closed_sessions(monkeypatch: pytest.MonkeyPatch) -> list[requests.Session]:
    """Every ``requests.Session`` closed during the test, in order."""
    closed: list[requests.Session] = []
    original = requests.Session.close

    def spy(self: requests.Session) -> None:
        closed.append(self)
        original(self)

    monkeypatch.setattr(requests.Session, "close", spy)
    return closed


# -- credentials --------------------------------------------------------------------------


def test_credentials_from_arguments(rsps: responses.RequestsMock) -> None:
    make_client().get_top_tracks()
    headers = sent_headers(rsps)
    assert headers["x-api-key"] == API_KEY
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_credentials_from_the_environment(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_API_KEY", "env-key-1")
    monkeypatch.setenv("AMAZON_MUSIC_ACCESS_TOKEN", "Atza|env-token-1")
    BrowseClient(max_retries=0).get_top_tracks()
    headers = sent_headers(rsps)
    assert headers["x-api-key"] == "env-key-1"
    assert headers["Authorization"] == "Bearer Atza|env-token-1"


def test_arguments_win_over_the_environment(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_API_KEY", "env-key-1")
    monkeypatch.setenv("AMAZON_MUSIC_ACCESS_TOKEN", "Atza|env-token-1")
    make_client().get_top_tracks()
    headers = sent_headers(rsps)
    assert headers["x-api-key"] == API_KEY
    assert headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_one_credential_from_each_place(
    rsps: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_ACCESS_TOKEN", "Atza|env-token-2")
    BrowseClient(API_KEY, max_retries=0).get_top_tracks()
    headers = sent_headers(rsps)
    assert headers["x-api-key"] == API_KEY
    assert headers["Authorization"] == "Bearer Atza|env-token-2"


@pytest.mark.parametrize("env_value", [None, ""])
def test_missing_api_key_names_the_env_variable(
    monkeypatch: pytest.MonkeyPatch, env_value: str | None
) -> None:
    if env_value is not None:
        monkeypatch.setenv("AMAZON_MUSIC_API_KEY", env_value)
    with pytest.raises(ConfigurationError, match="AMAZON_MUSIC_API_KEY"):
        BrowseClient(access_token=ACCESS_TOKEN)


@pytest.mark.parametrize("env_value", [None, ""])
def test_missing_access_token_names_the_env_variable(
    monkeypatch: pytest.MonkeyPatch, env_value: str | None
) -> None:
    if env_value is not None:
        monkeypatch.setenv("AMAZON_MUSIC_ACCESS_TOKEN", env_value)
    with pytest.raises(ConfigurationError, match="AMAZON_MUSIC_ACCESS_TOKEN"):
        BrowseClient(api_key=API_KEY)


def test_missing_both_credentials_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="AMAZON_MUSIC_"):
        BrowseClient()


BAD_CREDENTIALS = [
    "Zq9secret with space",
    "Zq9secret\n",
    "\nZq9secret",
    "Zq9secret\r\nX-Injected: 1",
    "Zq9secret\ttab",
    "Zq9sécret",
    "Zq9secret\x00",
    "Zq9secret\x7f",
    "Zq9secret\u00a0",
    "Zq9秘密",
]


@pytest.mark.parametrize("value", BAD_CREDENTIALS)
@pytest.mark.parametrize("which", ["api_key", "access_token"])
def test_unsendable_credentials_are_refused_without_echoing_them(value: str, which: str) -> None:
    credentials = {"api_key": API_KEY, "access_token": ACCESS_TOKEN, which: value}
    with pytest.raises(ConfigurationError, match=which) as info:
        BrowseClient(**credentials)
    assert "Zq9" not in str(info.value)
    assert "Zq9" not in repr(info.value)


@pytest.mark.parametrize("value", [value for value in BAD_CREDENTIALS if "\x00" not in value])
@pytest.mark.parametrize("variable", ["AMAZON_MUSIC_API_KEY", "AMAZON_MUSIC_ACCESS_TOKEN"])
def test_unsendable_credentials_from_the_environment_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, variable: str
) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_API_KEY", API_KEY)
    monkeypatch.setenv("AMAZON_MUSIC_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        BrowseClient()
    assert "Zq9" not in str(info.value)


@pytest.mark.parametrize("value", ["", 5, b"bytes-key", ["k"]])
def test_api_key_of_the_wrong_type_or_empty(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="api_key"):
        BrowseClient(value, ACCESS_TOKEN)


@pytest.mark.parametrize("value", ["", 5, b"bytes-token"])
def test_access_token_of_the_wrong_type_or_empty(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="access_token"):
        BrowseClient(API_KEY, value)


# -- callable access tokens ---------------------------------------------------------------


def test_callable_access_token_is_asked_on_every_request(rsps: responses.RequestsMock) -> None:
    tokens = iter(["Atza|one", "Atza|two", "Atza|three"])
    asked: list[str] = []

    def access_token() -> str:
        asked.append("asked")
        return next(tokens)

    client = BrowseClient(API_KEY, access_token, max_retries=0)
    assert asked == []  # not asked at construction
    for _ in range(3):
        client.get_top_tracks()
    assert len(asked) == 3
    assert [call.request.headers["Authorization"] for call in rsps.calls] == [
        "Bearer Atza|one",
        "Bearer Atza|two",
        "Bearer Atza|three",
    ]


@pytest.mark.parametrize("returned", ["", None, 5, b"Atza|bytes", "Atza|with space", "Zq9\n"])
def test_callable_returning_an_unsendable_token(
    rsps: responses.RequestsMock, returned: Any
) -> None:
    client = BrowseClient(API_KEY, lambda: returned)
    with pytest.raises(ConfigurationError, match="access_token") as info:
        client.get_top_tracks()
    assert len(rsps.calls) == 0
    assert "Zq9" not in str(info.value)


# -- base_url -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.music.amazon.dev", "https://api.music.amazon.dev"),
        ("https://api.music.amazon.dev/", "https://api.music.amazon.dev"),
        ("https://api.music.amazon.dev:8443", "https://api.music.amazon.dev:8443"),
        ("https://gateway.example.com/music/", "https://gateway.example.com/music"),
        ("http://localhost", "http://localhost"),
        ("http://localhost:8765/", "http://localhost:8765"),
        ("http://LocalHost:8765", "http://LocalHost:8765"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.5.5.5", "http://127.5.5.5"),
        ("http://[::1]:8765", "http://[::1]:8765"),
        ("http://[::1]", "http://[::1]"),
    ],
)
def test_accepted_base_urls(base_url: str, expected: str) -> None:
    client = make_client(base_url=base_url)
    assert client.base_url == expected


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.music.amazon.dev",
        "http://example.com",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0",
        "http://10.0.0.1",
        "http://[::2]",
        "ftp://api.music.amazon.dev",
        "file:///etc/passwd",
        "ws://localhost",
        "api.music.amazon.dev",
        "//api.music.amazon.dev",
        "https://",
        "https:///v1",
        "",
        "https://user:pass@api.music.amazon.dev",
        "https://user@api.music.amazon.dev",
        "https://api.music.amazon.dev?x=1",
        "https://api.music.amazon.dev/?x=1",
        "https://api.music.amazon.dev#frag",
        "https://api.music.amazon.dev:99999",
        "https://api.music.amazon.dev:port",
        "https://api.music.amazon.dev:-1",
        "http://[::1",
    ],
)
def test_refused_base_urls(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        make_client(base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.music.amazon.dev\n",
        "https://api.music.amazon.dev\r\n",
        "https://api.music\t.amazon.dev",
        "https://api.music.amazon.dev/\x00",
        "https://api.music.amazon.dev/ ",
        "http://local\nhost:8765",
    ],
)
def test_base_url_with_whitespace_or_control_characters_is_refused(base_url: str) -> None:
    # urlsplit() silently drops tab, CR and LF, so the URL checked is not the URL sent:
    # requests would send to e.g. "https://api.music.amazon.dev%0A/v1/...".
    with pytest.raises(ConfigurationError, match="base_url"):
        make_client(base_url=base_url)


@pytest.mark.parametrize("base_url", [5, b"https://api.music.amazon.dev"])
def test_base_url_of_the_wrong_type(base_url: Any) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        make_client(base_url=base_url)


def test_default_base_url() -> None:
    assert make_client().base_url == BASE_URL == "https://api.music.amazon.dev"


def test_refused_base_url_message_has_no_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        make_client(base_url="https://user:Zq9pass@api.music.amazon.dev")
    assert "Zq9pass" not in str(info.value)


@pytest.mark.parametrize(
    "base_url",
    ["https://gateway.example.com/amazon-music", "https://gateway.example.com/amazon-music/"],
)
def test_base_url_with_a_path_prefix(rsps: responses.RequestsMock, base_url: str) -> None:
    make_client(base_url=base_url).get_top_tracks(limit=3)
    request = rsps.calls[0].request
    assert request.url == "https://gateway.example.com/amazon-music/v1/browse/tracks/top?limit=3"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_requests_go_to_a_loopback_base_url(rsps: responses.RequestsMock) -> None:
    make_client(base_url="http://127.0.0.1:8765/").get_top_tracks()
    assert rsps.calls[0].request.url == "http://127.0.0.1:8765/v1/browse/tracks/top"


# -- timeout, retries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "timeout",
    [
        None,
        0,
        0.0,
        -1,
        math.nan,
        math.inf,
        10**400,  # an int beyond the float range: refused, not an OverflowError
        "3",
        True,
        False,
        (1,),
        (1, 2, 3),
        (0, 5),
        (5, 0),
        (1, None),
        (None, 1),
        (1, math.inf),
        (True, 5),
        (5, False),
        ("1", 2),
        [1, 2],
    ],
)
def test_refused_timeouts(timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        make_client(timeout=timeout)


@pytest.mark.parametrize(
    ("timeout", "sent"),
    [
        (5, 5.0),
        (2.5, 2.5),
        (0.001, 0.001),
        ((3, 10), (3.0, 10.0)),
        ((0.5, 60.0), (0.5, 60.0)),
    ],
)
def test_accepted_timeouts_are_passed_to_requests(
    rsps: responses.RequestsMock, timeout: Any, sent: Any
) -> None:
    client = make_client(timeout=timeout)
    assert client.timeout == sent
    client.get_top_tracks()
    assert rsps.calls[0].request.req_kwargs["timeout"] == sent


def test_default_timeout_is_thirty_seconds(rsps: responses.RequestsMock) -> None:
    client = make_client()
    assert client.timeout == 30.0
    client.get_top_tracks()
    assert rsps.calls[0].request.req_kwargs["timeout"] == 30.0


def test_timeout_reaches_session_send(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def send(self: requests.Session, request: Any, **kwargs: Any) -> requests.Response:
        seen.append(kwargs.get("timeout"))
        response = requests.Response()
        response.status_code = 200
        response._content = TOP_TRACKS
        response.url = request.url
        response.request = request
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    make_client(timeout=(2, 9)).get_top_tracks()
    assert seen == [(2.0, 9.0)]


@pytest.mark.parametrize("max_retries", [-1, 1.5, True, "2", None, math.nan])
def test_refused_max_retries(max_retries: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_retries"):
        make_client(max_retries=max_retries)


@pytest.mark.parametrize("max_retries", [0, 1, 10])
def test_accepted_max_retries(max_retries: int) -> None:
    assert make_client(max_retries=max_retries).max_retries == max_retries


def test_default_max_retries_and_max_retry_wait() -> None:
    client = BrowseClient(API_KEY, ACCESS_TOKEN)
    assert (client.max_retries, client.max_retry_wait) == (2, 60.0)


@pytest.mark.parametrize(
    "max_retry_wait", [-1, -0.5, math.nan, math.inf, 10**400, True, "60", None]
)
def test_refused_max_retry_wait(max_retry_wait: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_retry_wait"):
        make_client(max_retry_wait=max_retry_wait)


@pytest.mark.parametrize(("max_retry_wait", "kept"), [(0, 0.0), (0.5, 0.5), (3600, 3600.0)])
def test_accepted_max_retry_wait(max_retry_wait: float, kept: float) -> None:
    assert make_client(max_retry_wait=max_retry_wait).max_retry_wait == kept


# -- session ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "session", ["session", object(), requests.adapters.HTTPAdapter(), requests, 5]
)
def test_session_must_be_a_requests_session(session: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"requests\.Session"):
        make_client(session=session)


def test_session_passed_in_is_used(rsps: responses.RequestsMock) -> None:
    class CountingSession(requests.Session):
        sent = 0

        def send(self, request: Any, **kwargs: Any) -> Any:
            type(self).sent += 1
            return super().send(request, **kwargs)

    session = CountingSession()
    client = make_client(session=session)
    assert client.session is session
    client.get_top_tracks()
    assert CountingSession.sent == 1
    assert len(rsps.calls) == 1


def test_client_creates_its_own_session() -> None:
    first, second = make_client(), make_client()
    assert isinstance(first.session, requests.Session)
    assert first.session is not second.session


# -- repr, pickling -----------------------------------------------------------------------


def test_repr_shows_base_url_and_no_credential() -> None:
    client = make_client(base_url="https://gateway.example.com/music")
    text = repr(client)
    assert text.startswith("BrowseClient(")
    assert "https://gateway.example.com/music" in text
    assert API_KEY not in text
    assert ACCESS_TOKEN not in text
    assert "test-access-token" not in text


def test_repr_never_calls_a_token_callable() -> None:
    asked: list[int] = []

    def access_token() -> str:
        asked.append(1)
        return ACCESS_TOKEN

    text = repr(BrowseClient(API_KEY, access_token))
    assert asked == []
    assert API_KEY not in text
    assert ACCESS_TOKEN not in text


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_client_cannot_be_pickled(protocol: int) -> None:
    with pytest.raises(TypeError, match="pickle") as info:
        pickle.dumps(make_client(), protocol=protocol)
    assert API_KEY not in str(info.value)
    assert ACCESS_TOKEN not in str(info.value)


# -- lifecycle ----------------------------------------------------------------------------


def test_context_manager_closes_the_session_it_created(
    closed_sessions: list[requests.Session],
) -> None:
    with make_client() as client:
        session = client.session
        assert closed_sessions == []
    assert closed_sessions == [session]


def test_context_manager_returns_the_client() -> None:
    client = make_client()
    with client as entered:
        assert entered is client


def test_close_closes_the_session_it_created(closed_sessions: list[requests.Session]) -> None:
    client = make_client()
    client.close()
    assert closed_sessions == [client.session]


def test_context_manager_leaves_a_session_passed_in_open(
    closed_sessions: list[requests.Session],
) -> None:
    session = requests.Session()
    with make_client(session=session) as client:
        assert client.session is session
    make_client(session=session).close()
    assert closed_sessions == []


def test_context_manager_closes_on_error(closed_sessions: list[requests.Session]) -> None:
    client = make_client()
    with pytest.raises(RuntimeError, match="boom"), client:
        raise RuntimeError("boom")
    assert closed_sessions == [client.session]


# -- with_options -------------------------------------------------------------------------


def test_with_options_returns_a_new_client_sharing_the_session() -> None:
    client = make_client(timeout=10, max_retries=1, max_retry_wait=30)
    copy = client.with_options(timeout=(1, 2), max_retries=4)
    assert copy is not client
    assert type(copy) is BrowseClient
    assert copy.session is client.session
    assert (copy.timeout, copy.max_retries, copy.max_retry_wait) == ((1.0, 2.0), 4, 30.0)
    assert (client.timeout, client.max_retries, client.max_retry_wait) == (10.0, 1, 30.0)
    assert copy.base_url == client.base_url


def test_with_options_without_arguments_keeps_every_setting() -> None:
    client = make_client(timeout=7, max_retries=3, max_retry_wait=12)
    copy = client.with_options()
    assert (copy.timeout, copy.max_retries, copy.max_retry_wait) == (7.0, 3, 12.0)
    assert copy.with_options(max_retry_wait=1).max_retry_wait == 1.0
    assert copy.max_retry_wait == 12.0


def test_with_options_copy_sends_with_the_same_credentials_and_new_timeout(
    rsps: responses.RequestsMock,
) -> None:
    client = make_client(base_url="https://gateway.example.com/m")
    client.with_options(timeout=4).get_top_tracks()
    client.get_top_tracks()
    first, second = (call.request for call in rsps.calls)
    assert first.url == "https://gateway.example.com/m/v1/browse/tracks/top"
    assert first.headers["x-api-key"] == API_KEY
    assert first.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert first.req_kwargs["timeout"] == 4.0
    assert second.req_kwargs["timeout"] == 30.0


@pytest.mark.parametrize(
    "options",
    [{"timeout": None}, {"timeout": 0}, {"max_retries": -1}, {"max_retry_wait": math.nan}],
)
def test_with_options_validates(options: dict[str, Any]) -> None:
    client = make_client()
    with pytest.raises(ConfigurationError, match=next(iter(options))):
        client.with_options(**options)
    assert (client.timeout, client.max_retries) == (30.0, 0)


def test_closing_a_copy_leaves_the_shared_session_open(
    closed_sessions: list[requests.Session], rsps: responses.RequestsMock
) -> None:
    client = make_client()
    copy = client.with_options(timeout=5)
    copy.close()
    with client.with_options(max_retries=1):
        pass
    assert closed_sessions == []
    client.get_top_tracks()
    assert len(rsps.calls) == 1
    client.close()
    assert closed_sessions == [client.session]


def test_with_options_copy_of_a_passed_in_session_never_closes_it(
    closed_sessions: list[requests.Session],
) -> None:
    session = requests.Session()
    client = make_client(session=session)
    with client.with_options(timeout=1) as copy:
        assert copy.session is session
    client.close()
    assert closed_sessions == []


def test_with_options_copy_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(make_client().with_options(timeout=1))
