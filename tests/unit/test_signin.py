"""`LoginWithAmazon.sign_in`: PKCE, the state, the loopback server, pasting, failures that
store nothing; against the sandbox, the browser played by `requests`."""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from amazon_music_browse import (
    AuthenticationError,
    ConfigurationError,
    LoginWithAmazon,
    MemoryTokenStore,
    _signin,
)
from amazon_music_browse._signin import authorization_url, code_from_redirect, pkce_pair
from amazon_music_browse.sandbox import SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(token_lifetime=3600) as server:
        yield server


def browser(url: str) -> requests.Response:
    """A user who consents: follow the consent page's redirect into the loopback server."""
    return requests.get(url, timeout=10)


def sign_in(sandbox: SandboxServer, **options: Any) -> LoginWithAmazon:
    arguments: dict[str, Any] = {"lwa_url": sandbox.url, "on_url": browser, "timeout": 30}
    return LoginWithAmazon.sign_in(
        sandbox.client_id, sandbox.client_secret, **{**arguments, **options}
    )


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


# -- the parts ------------------------------------------------------------------------------


def test_the_pkce_pair_is_s256_of_a_fresh_verifier() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


def test_the_authorization_url_carries_every_parameter() -> None:
    url = authorization_url(
        "https://www.amazon.com/ap/oa",
        "amzn1.client",
        ["music::catalog", "music::library"],
        "http://127.0.0.1:8765/",
        "the-state",
        "the-challenge",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.amazon.com", "/ap/oa")
    assert parse_qs(parts.query) == {
        "client_id": ["amzn1.client"],
        "scope": ["music::catalog music::library"],
        "response_type": ["code"],
        "redirect_uri": ["http://127.0.0.1:8765/"],
        "state": ["the-state"],
        "code_challenge": ["the-challenge"],
        "code_challenge_method": ["S256"],
    }


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"code": ["c"], "state": ["wrong"]}, "state_mismatch"),
        ({"code": ["c"]}, "state_mismatch"),
        ({"error": ["access_denied"], "state": ["wrong"]}, "state_mismatch"),
        ({"error": ["access_denied"], "state": ["s"]}, "access_denied"),
        ({"error": ["invalid_scope"], "state": ["s"]}, "invalid_scope"),
        ({"state": ["s"]}, "invalid_request"),
    ],
)
def test_a_redirect_without_a_good_code_is_an_authentication_error(
    query: dict[str, list[str]], code: str
) -> None:
    with pytest.raises(AuthenticationError) as caught:
        code_from_redirect(query, "s")
    assert caught.value.code == code


def test_a_redirect_with_the_state_gives_its_code() -> None:
    assert code_from_redirect({"code": ["the-code"], "state": ["s"]}, "s") == "the-code"


# -- end to end ---------------------------------------------------------------------------


def test_sign_in_stores_tokens_that_work_and_refresh(sandbox: SandboxServer) -> None:
    store = MemoryTokenStore()
    pages: list[requests.Response] = []
    tokens = sign_in(sandbox, store=store, on_url=lambda url: pages.append(browser(url)))
    assert pages[0].status_code == 200
    assert "You can close this tab" in pages[0].text
    assert sandbox.token_requests == 1
    stored = store.load("default")
    assert stored is not None
    assert stored.refresh_token == sandbox.issued_refresh_tokens[0]
    assert stored.scopes == ["music::catalog"]
    with sandbox.client(access_token=tokens) as client:
        assert len(client.get_top_tracks(limit=2)) == 2
    assert sandbox.token_requests == 1  # the first call used the token just obtained
    refreshed = LoginWithAmazon(
        sandbox.client_id, sandbox.client_secret, stored.refresh_token, sandbox.token_url
    )
    assert refreshed() != stored.access_token  # the refresh token refreshes
    refreshed.close()
    tokens.close()


def test_the_loopback_port_is_closed_after_sign_in(sandbox: SandboxServer) -> None:
    urls: list[str] = []
    sign_in(sandbox, on_url=lambda url: (urls.append(url), browser(url))).close()
    port = urlsplit(parse_qs(urlsplit(urls[0]).query)["redirect_uri"][0]).port
    assert port is not None
    assert port_is_closed(port)


def test_a_redirect_uri_and_scopes_are_sent_as_given(sandbox: SandboxServer) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}/callback"
    urls: list[str] = []
    store = MemoryTokenStore()
    sign_in(
        sandbox,
        redirect_uri=uri,
        scopes=["music::catalog", "music::library"],
        store=store,
        store_key="me",
        on_url=lambda url: (urls.append(url), browser(url)),
    ).close()
    query = parse_qs(urlsplit(urls[0]).query)
    assert query["redirect_uri"] == [uri]
    assert query["scope"] == ["music::catalog music::library"]
    stored = store.load("me")
    assert stored is not None
    assert stored.scopes == ["music::catalog", "music::library"]


def test_other_paths_of_the_loopback_server_are_404_and_ignored(sandbox: SandboxServer) -> None:
    def visit(url: str) -> None:
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        assert requests.get(redirect_uri + "favicon.ico", timeout=5).status_code == 404
        browser(url)

    sign_in(sandbox, on_url=visit).close()


# -- failures store nothing ---------------------------------------------------------------


def redirect_with(**query: str) -> Callable[[str], None]:
    """A browser that lands on the redirect URI with this query instead of consenting."""

    def visit(url: str) -> None:
        sent = parse_qs(urlsplit(url).query)
        answer = {"state": sent["state"][0], **query}
        page = requests.get(f"{sent['redirect_uri'][0]}?{urlencode(answer)}", timeout=5)
        assert page.status_code == 400
        assert "Sign-in failed" in page.text

    return visit


@pytest.mark.parametrize(
    ("visit", "code"),
    [
        (redirect_with(code="forged", state="not-the-state"), "state_mismatch"),
        (redirect_with(error="access_denied", error_description="No."), "access_denied"),
        (lambda url: browser(url + "&consent=deny"), "access_denied"),
        (
            lambda url: browser(url.replace("music%3A%3Acatalog", "music%3A%3Aunknown")),
            "invalid_scope",
        ),
    ],
    ids=["wrong-state", "error-redirect", "user-denies", "unknown-scope"],
)
def test_a_failed_sign_in_raises_and_stores_nothing(
    sandbox: SandboxServer, visit: Callable[[str], object], code: str
) -> None:
    store = MemoryTokenStore()
    urls: list[str] = []
    with pytest.raises(AuthenticationError) as caught:
        sign_in(sandbox, store=store, on_url=lambda url: (urls.append(url), visit(url)))
    assert caught.value.code == code
    assert store.load("default") is None
    assert sandbox.token_requests == 0
    port = urlsplit(parse_qs(urlsplit(urls[0]).query)["redirect_uri"][0]).port
    assert port is not None
    assert port_is_closed(port)


def test_no_redirect_within_the_timeout_raises(sandbox: SandboxServer) -> None:
    store = MemoryTokenStore()
    with pytest.raises(AuthenticationError, match=r"no sign-in within 0.2 s") as caught:
        sign_in(sandbox, store=store, on_url=lambda url: None, timeout=0.2)
    assert caught.value.code == "timeout"
    assert store.load("default") is None


def test_a_wrong_client_secret_is_refused_at_the_exchange(sandbox: SandboxServer) -> None:
    store = MemoryTokenStore()
    with pytest.raises(AuthenticationError) as caught:
        LoginWithAmazon.sign_in(
            sandbox.client_id, "wrong-secret", lwa_url=sandbox.url, on_url=browser, store=store
        )
    assert caught.value.code == "invalid_client"
    assert store.load("default") is None


# -- pasting the redirected URL -------------------------------------------------------------


def paste_after(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[str], str],
) -> None:
    """Standard input: the URL the browser was sent to (changed by ``change``)."""

    def pasted(prompt: str) -> str:
        printed = capsys.readouterr().out
        url = printed.strip().splitlines()[-1]
        response = requests.get(url, allow_redirects=False, timeout=5)
        assert response.status_code == 302
        return change(response.headers["Location"])

    monkeypatch.setattr(_signin, "_input", pasted)


def test_without_a_browser_the_redirected_url_is_pasted(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    paste_after(monkeypatch, capsys, lambda location: f"  {location}\n")
    store = MemoryTokenStore()
    sign_in(sandbox, open_browser=False, on_url=None, store=store).close()
    assert store.load("default") is not None


def test_a_browser_that_cannot_open_falls_back_to_pasting(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    paste_after(monkeypatch, capsys, lambda location: location)
    monkeypatch.setattr(_signin.webbrowser, "open", lambda url: False)
    sign_in(sandbox, on_url=None).close()
    assert sandbox.token_requests == 1


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda location: location.replace("127.0.0.1:", "127.0.0.1:1"), "redirect_mismatch"),
        (lambda location: location.replace("http://", "https://"), "redirect_mismatch"),
        (lambda location: "not a URL", "redirect_mismatch"),
        (lambda location: location.replace("state=", "state=x"), "state_mismatch"),
    ],
    ids=["another-port", "another-scheme", "garbage", "wrong-state"],
)
def test_a_wrong_pasted_url_raises_and_stores_nothing(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[str], str],
    code: str,
) -> None:
    paste_after(monkeypatch, capsys, change)
    store = MemoryTokenStore()
    with pytest.raises(AuthenticationError) as caught:
        sign_in(sandbox, open_browser=False, on_url=None, store=store)
    assert caught.value.code == code
    assert store.load("default") is None
    assert sandbox.token_requests == 0


def test_nothing_pasted_raises(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def end_of_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr(_signin, "_input", end_of_input)
    with pytest.raises(AuthenticationError, match="no redirected URL was pasted"):
        sign_in(sandbox, open_browser=False, on_url=None)


# -- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scopes": "music::catalog"}, "scopes must be a list of str"),
        ({"scopes": []}, "scopes is empty"),
        ({"scopes": ["music catalog"]}, "without spaces"),
        ({"redirect_uri": "https://example.com/callback"}, "must be a loopback URL"),
        ({"redirect_uri": "http://127.0.0.1/callback"}, "with a port"),
        ({"redirect_uri": "http://127.0.0.1:8765/?x=1"}, "no query or fragment"),
        ({"redirect_port": 70000}, "from 0 to 65535"),
        ({"redirect_port": "8765"}, "redirect_port must be an int"),
        ({"timeout": 0}, "timeout"),
        ({"on_url": "print"}, "on_url must be callable"),
        ({"lwa_url": "http://example.com"}, "lwa_url"),
        ({"store": {}}, "store must be a TokenStore"),
        ({"store_key": ""}, "store_key"),
    ],
)
def test_bad_arguments_are_configuration_errors(
    sandbox: SandboxServer, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        sign_in(sandbox, **options)
    assert sandbox.token_requests == 0


def test_a_busy_redirect_port_is_a_configuration_error(sandbox: SandboxServer) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ConfigurationError, match="choose another redirect_port"):
            sign_in(sandbox, redirect_port=busy.getsockname()[1])
