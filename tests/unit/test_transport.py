"""The transport: environment settings, sessions passed in, and translated network errors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses
import urllib3
from requests.adapters import BaseAdapter

from amazon_music_browse import (
    AmazonMusicError,
    APIConnectionError,
    APITimeoutError,
)
from tests._support import API_KEY, BASE_URL, make_client

TOP_TRACKS = BASE_URL + "/v1/browse/tracks/top"
PROXY = "http://proxy.internal:3128"
CA_BUNDLE = "/etc/amazon-music-test/ca-bundle.pem"
ENVIRONMENT = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
]

PAGE = {
    "data": {
        "topTracks": {
            "pageInfo": {"hasNextPage": False},
            "edgeCount": 1,
            "edges": [{"node": {"id": "t1"}}],
        }
    }
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, sleeps: list[float]) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class Spy:
    """Counts the calls of ``merge_environment_settings`` and records ``send``'s kwargs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.merges: list[str] = []
        self.sends: list[dict[str, Any]] = []
        merge = requests.Session.merge_environment_settings
        send = requests.Session.send

        def spy_merge(session: requests.Session, url: str, *args: Any) -> Any:
            self.merges.append(url)
            return merge(session, url, *args)

        def spy_send(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            self.sends.append(kwargs)
            return send(session, request, **kwargs)

        monkeypatch.setattr(requests.Session, "merge_environment_settings", spy_merge)
        monkeypatch.setattr(requests.Session, "send", spy_send)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


# -- a session the client creates ------------------------------------------------------------


def test_environment_settings_are_resolved_once_per_origin(
    mock: responses.RequestsMock, spy: Spy
) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)
    client = make_client()

    for _ in range(5):
        client.get_top_tracks()

    assert len(mock.calls) == 5
    assert len(spy.sends) == 5
    assert len(spy.merges) == 1


def test_environment_settings_are_resolved_once_for_each_origin_of_a_redirect(
    mock: responses.RequestsMock, spy: Spy
) -> None:
    mock.add(
        responses.GET, TOP_TRACKS, status=302, headers={"Location": "https://cdn.example.com/t"}
    )
    mock.add(responses.GET, "https://cdn.example.com/t", json=PAGE)
    client = make_client()

    for _ in range(5):
        client.get_top_tracks()

    assert len(spy.sends) == 10
    assert len(spy.merges) == 2
    assert {url.split("/")[2] for url in spy.merges} == {"api.music.amazon.dev", "cdn.example.com"}


def test_with_options_copies_share_the_resolved_settings(
    mock: responses.RequestsMock, spy: Spy
) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)
    client = make_client()

    client.get_top_tracks()
    client.with_options(timeout=3.0).get_top_tracks()
    client.with_options(max_retries=0).get_top_tracks()

    assert len(spy.merges) == 1


def test_proxy_and_ca_bundle_from_the_environment_are_honoured(
    mock: responses.RequestsMock, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", CA_BUNDLE)
    monkeypatch.setenv("NO_PROXY", "localhost,.internal.example")
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)
    client = make_client()

    client.get_top_tracks()
    client.get_top_tracks()

    for kwargs in spy.sends:
        assert kwargs["proxies"].get("https") == PROXY
        assert kwargs["verify"] == CA_BUNDLE
        assert kwargs["allow_redirects"] is False
        assert kwargs["timeout"] == 30.0


def test_no_proxy_naming_the_host_bypasses_the_proxy(
    mock: responses.RequestsMock, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("NO_PROXY", "localhost,api.music.amazon.dev")
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)

    make_client().get_top_tracks()

    (kwargs,) = spy.sends
    assert "https" not in kwargs["proxies"]
    assert kwargs["verify"] is True


def test_no_environment_means_no_proxy_and_default_verification(
    mock: responses.RequestsMock, spy: Spy
) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)

    make_client(timeout=(2.0, 9.0)).get_top_tracks()

    (kwargs,) = spy.sends
    assert kwargs["proxies"] == {}
    assert kwargs["verify"] is True
    assert kwargs["timeout"] == (2.0, 9.0)


# -- a session passed in ----------------------------------------------------------------------


def snapshot(session: requests.Session) -> dict[str, Any]:
    return {
        "headers": dict(session.headers),
        "proxies": dict(session.proxies),
        "verify": session.verify,
        "cert": session.cert,
        "auth": session.auth,
        "params": dict(session.params),
        "stream": session.stream,
        "trust_env": session.trust_env,
        "max_redirects": session.max_redirects,
        "adapters": [(prefix, id(adapter)) for prefix, adapter in session.adapters.items()],
        "hooks": {event: list(hooks) for event, hooks in session.hooks.items()},
    }


def user_session() -> requests.Session:
    session = requests.Session()
    session.headers["X-Trace"] = "trace-1"
    session.proxies = {"https": "http://user-proxy.example:8080"}
    session.verify = "/etc/user/ca.pem"
    session.hooks["response"].append(lambda response, *args, **kwargs: response)
    session.mount("https://special.example/", requests.adapters.HTTPAdapter())
    return session


def test_a_session_passed_in_is_never_modified(mock: responses.RequestsMock) -> None:
    session = user_session()
    before = copy.deepcopy(snapshot(session))
    mock.add(responses.GET, TOP_TRACKS, status=503)
    mock.add(
        responses.GET, TOP_TRACKS, status=302, headers={"Location": "https://cdn.example.com/t"}
    )
    mock.add(responses.GET, "https://cdn.example.com/t", json=PAGE)
    mock.add(responses.GET, BASE_URL + "/v1/browse/categories", body=requests.ConnectionError("x"))

    with make_client(session=session) as client:
        client.get_top_tracks()
        client.with_options(max_retries=0).get_top_tracks()
        with pytest.raises(APIConnectionError):
            client.get_categories()

    assert snapshot(session) == before
    assert session.adapters["https://special.example/"] is not None


def test_a_session_passed_in_is_used_and_its_settings_apply(
    mock: responses.RequestsMock, spy: Spy
) -> None:
    session = user_session()
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)

    client = make_client(session=session)
    client.get_top_tracks()

    assert client.session is session
    (kwargs,) = spy.sends
    assert kwargs["proxies"]["https"] == "http://user-proxy.example:8080"
    assert kwargs["verify"] == "/etc/user/ca.pem"
    headers = mock.calls[0].request.headers
    assert headers["X-Trace"] == "trace-1"
    assert headers["x-api-key"] == API_KEY


def test_a_session_passed_in_merges_the_environment_on_every_request(
    mock: responses.RequestsMock, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)
    client = make_client(session=requests.Session())

    for _ in range(5):
        client.get_top_tracks()
    assert len(spy.merges) == 5

    # Like requests itself, a changed environment applies to the next request.
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", CA_BUNDLE)
    client.get_top_tracks()

    assert len(spy.merges) == 6
    assert spy.sends[-1]["proxies"].get("https") == PROXY
    assert spy.sends[-1]["verify"] == CA_BUNDLE
    assert "https" not in spy.sends[0]["proxies"]


def test_a_session_passed_in_with_trust_env_off_ignores_the_environment(
    mock: responses.RequestsMock, spy: Spy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", PROXY)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", CA_BUNDLE)
    session = requests.Session()
    session.trust_env = False
    mock.add(responses.GET, TOP_TRACKS, json=PAGE)

    make_client(session=session).get_top_tracks()

    (kwargs,) = spy.sends
    assert "https" not in kwargs["proxies"]
    assert kwargs["verify"] is True


# -- requests exceptions become SDK exceptions -------------------------------------------------

# (what requests raised, the SDK's class, words of its message, retried)
TRANSLATED = [
    (requests.ConnectionError("connection refused"), APIConnectionError, "ConnectionError", True),
    (requests.exceptions.ProxyError("proxy refused"), APIConnectionError, "ProxyError", False),
    (requests.exceptions.SSLError("verify failed"), APIConnectionError, "SSLError", True),
    (requests.exceptions.ChunkedEncodingError("broken"), APIConnectionError, "Chunked", True),
    (requests.exceptions.ContentDecodingError("bad gzip"), APIConnectionError, "Decoding", True),
    (requests.exceptions.TooManyRedirects("loop"), APIConnectionError, "TooManyRedirects", True),
    (requests.exceptions.InvalidURL("bad url"), APIConnectionError, "InvalidURL", False),
    (requests.RequestException("anything else"), APIConnectionError, "RequestException", True),
    (requests.ReadTimeout("read timed out"), APITimeoutError, "sent nothing for 30 s", True),
    (requests.ConnectTimeout("connect timed out"), APITimeoutError, "no connection within", True),
    (requests.Timeout("timed out"), APITimeoutError, "the read timeout", True),
]


@pytest.mark.parametrize(
    ("original", "error_class", "words", "retried"),
    TRANSLATED,
    ids=[type(row[0]).__name__ for row in TRANSLATED],
)
def test_requests_exceptions_become_sdk_exceptions(
    mock: responses.RequestsMock,
    original: requests.RequestException,
    error_class: type[APIConnectionError],
    words: str,
    retried: bool,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, body=original)

    with pytest.raises(AmazonMusicError) as caught:
        make_client(max_retries=0).get_top_tracks(limit=4)

    error = caught.value
    assert type(error) is error_class
    assert error.__cause__ is original
    assert isinstance(error.request, requests.PreparedRequest)
    assert error.request.url == TOP_TRACKS + "?limit=4"
    assert error.request.method == "GET"
    assert "/v1/browse/tracks/top" in str(error)
    assert words in str(error)
    assert "attempts" not in str(error)  # one attempt: nothing to count


@pytest.mark.parametrize(
    ("original", "error_class", "words", "retried"),
    TRANSLATED,
    ids=[type(row[0]).__name__ for row in TRANSLATED],
)
def test_retried_requests_exceptions_end_as_sdk_exceptions(
    mock: responses.RequestsMock,
    original: requests.RequestException,
    error_class: type[APIConnectionError],
    words: str,
    retried: bool,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, body=original)

    with pytest.raises(AmazonMusicError) as caught:
        make_client(max_retries=2).get_top_tracks()

    assert type(caught.value) is error_class
    assert not isinstance(caught.value, requests.RequestException)
    # A bad proxy or URL is a setting no retry can change: it is not retried.
    assert len(mock.calls) == (3 if retried else 1)
    assert ("gave up after 3 attempts" in str(caught.value)) is retried


def test_a_failure_after_a_redirect_names_the_redirect_target(
    mock: responses.RequestsMock,
) -> None:
    mock.add(
        responses.GET, TOP_TRACKS, status=302, headers={"Location": "https://cdn.example.com/t"}
    )
    mock.add(responses.GET, "https://cdn.example.com/t", body=requests.ReadTimeout("slow"))

    with pytest.raises(APITimeoutError) as caught:
        make_client(max_retries=0).get_top_tracks()

    assert caught.value.request.url == "https://cdn.example.com/t"
    assert "cdn.example.com" in str(caught.value)


@pytest.mark.parametrize(
    "location",
    [
        "https://cdn.example.com:99999/t",
        "https://cdn.example.com:port/t",
        "http://[::1/t",
        "https://:443/t",
        "https://.example/t",
    ],
)
def test_a_malformed_redirect_target_is_a_connection_error(
    mock: responses.RequestsMock, location: str
) -> None:
    mock.add(responses.GET, TOP_TRACKS, status=302, headers={"Location": location})

    # Never a bare ValueError or requests exception: the service sent a bad Location.
    with pytest.raises(APIConnectionError) as caught:
        make_client(max_retries=0).get_top_tracks()

    assert type(caught.value) is APIConnectionError
    assert len(mock.calls) == 1


class BrokenBody:
    """A raw body that breaks off after its first chunk, as a reset connection does."""

    def stream(self, chunk_size: int, decode_content: bool = True) -> Iterator[bytes]:
        yield b'{"data": {"topTr'
        raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class BrokenBodyAdapter(BaseAdapter):
    """Answers 200 with a body that cannot be read to its end."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent += 1
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        response.raw = BrokenBody()
        response.url = request.url or ""
        response.request = request
        if not kwargs.get("stream"):
            response.content  # noqa: B018 - requests reads the body here unless streaming
        return response

    def close(self) -> None:
        pass


@pytest.mark.parametrize("stream", [False, True])
def test_a_body_that_breaks_off_is_a_connection_error_whatever_the_session_streaming(
    stream: bool,
) -> None:
    session = requests.Session()
    session.stream = stream
    adapter = BrokenBodyAdapter()
    session.mount("https://", adapter)

    with pytest.raises(APIConnectionError) as caught:
        make_client(session=session, max_retries=0).get_top_tracks()

    assert isinstance(
        caught.value.__cause__,
        (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError),
    )
    assert "the connection broke while answering" in str(caught.value)
    assert adapter.sent == 1
