"""Signing in with a browser: the authorization code grant with PKCE and a loopback server.

1. A PKCE pair (a random ``code_verifier`` and its S256 ``code_challenge``) and a random
   ``state`` are made for this sign-in only.
2. The consent page's URL (``/ap/oa`` with ``client_id``, ``scope``, ``response_type=code``,
   ``redirect_uri``, ``state`` and the challenge) is opened in a browser, handed to
   ``on_url``, or printed.
3. Login with Amazon redirects the browser to ``redirect_uri`` on ``127.0.0.1``, where a
   one-shot HTTP server answers "you can close this tab" and hands over the query; or,
   without a browser here, the user pastes the URL the browser was sent to.
4. The ``state`` is checked, and the code is exchanged (with the ``code_verifier``) at the
   token endpoint; the tokens go to the store.

Every failure before the exchange stores nothing; the loopback port is closed on return.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import socket
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from ._arguments import is_int
from ._config import check_timeout, is_loopback
from ._errors import AuthenticationError, ConfigurationError
from ._log import logger
from ._lwa_http import lwa_endpoint, lwa_redactor, post_form, read_token_answer
from ._transport import Transport

if TYPE_CHECKING:
    from ._auth import LoginWithAmazon
    from ._token_store import TokenStore

__all__ = [
    "AUTHORIZE_PATH",
    "DEFAULT_AUTHORIZE_URL",
    "authorization_url",
    "check_scopes",
    "code_from_redirect",
    "pkce_pair",
    "sign_in",
]

AUTHORIZE_PATH: Final = "/ap/oa"
DEFAULT_AUTHORIZE_URL: Final = "https://www.amazon.com" + AUTHORIZE_PATH
_CLOSE_TAB: Final = "Signed in to Amazon Music. You can close this tab."
_CONNECTION_TIMEOUT: Final = 10.0  # a browser's idle connection to the loopback server

_monotonic = time.monotonic
_input = input


def pkce_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, code_challenge)``: 86 random URL-safe characters and the
    base64url SHA-256 of them, unpadded (RFC 7636, S256)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_scopes(scopes: Any) -> list[str]:
    """``scopes`` as a list: one or more non-empty str without whitespace."""
    if isinstance(scopes, str) or not isinstance(scopes, Sequence):
        raise ConfigurationError(
            f"scopes must be a list of str, like ['music::catalog'], not {scopes!r}"
        )
    checked = list(scopes)
    if not checked:
        raise ConfigurationError("scopes is empty: ask for at least one, like 'music::catalog'")
    for scope in checked:
        if not isinstance(scope, str) or not scope or any(c.isspace() for c in scope):
            raise ConfigurationError(f"a scope must be a non-empty str without spaces: {scope!r}")
    return checked


def check_sign_in(
    client_id: Any, client_secret: Any, scopes: Any, store: Any, store_key: Any
) -> list[str]:
    """Check what both sign-in flows take, before anything is sent; return the scopes."""
    from ._auth import _check_credential
    from ._token_store import check_store, check_store_key

    _check_credential(client_id, "client_id")
    _check_credential(client_secret, "client_secret")
    scope_list = check_scopes(scopes)
    if store is not None:
        check_store(store)
    check_store_key(store_key)
    return scope_list


def authorization_url(
    authorize_url: str,
    client_id: str,
    scopes: Sequence[str],
    redirect_uri: str,
    state: str,
    code_challenge: str,
) -> str:
    """The consent page's URL for one sign-in."""
    query = urlencode(
        {
            "client_id": client_id,
            "scope": " ".join(scopes),
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{authorize_url}{'&' if '?' in authorize_url else '?'}{query}"


def _failure(code: str, message: str) -> AuthenticationError:
    return AuthenticationError(message, status_code=401, code=code)


def code_from_redirect(query: Mapping[str, list[str]], state: str) -> str:
    """The authorization code of a redirect's query, once its ``state`` is checked.

    Raises:
        AuthenticationError: a wrong or missing ``state`` (``state_mismatch``), an
            ``error`` from Login with Amazon (its code, e.g. ``access_denied``), no code.
    """
    received = (query.get("state") or [""])[0]
    if not hmac.compare_digest(received.encode(), state.encode()):
        raise _failure(
            "state_mismatch",
            "the sign-in redirect carries another state than this sign-in sent: it is not "
            "the answer to this sign-in (a stale tab, or a forged request); nothing was stored",
        )
    error = (query.get("error") or [""])[0]
    if error:
        description = (query.get("error_description") or [""])[0]
        raise _failure(
            error,
            f"Login with Amazon refused the sign-in: {error}"
            + (f" ({description})" if description else ""),
        )
    code = (query.get("code") or [""])[0]
    if not code:
        raise _failure("invalid_request", "the sign-in redirect carries no code")
    return code


class _LoopbackServer:
    """A one-shot HTTP server on 127.0.0.1 that waits for the redirect to ``path``.

    It serves in a background thread, so the caller may drive the browser step itself
    (``on_url``) while the server waits. Other paths (a favicon) get 404 and are ignored.
    """

    def __init__(self, port: int, path: str, state: str) -> None:
        self.path = path
        self.query: dict[str, list[str]] | None = None
        self.arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"
            timeout = _CONNECTION_TIMEOUT

            def do_GET(self) -> None:
                target = urlsplit(self.path)
                if target.path != owner.path:
                    self._answer(404, "Not found.")
                    return
                if owner.arrived.is_set():
                    self._answer(200, "This sign-in is over. You can close this tab.")
                    return
                query = parse_qs(target.query, keep_blank_values=True)
                try:
                    code_from_redirect(query, state)
                except AuthenticationError:
                    self._answer(400, "Sign-in failed: see the application for why.")
                else:
                    self._answer(200, _CLOSE_TAB)
                owner.query = query
                owner.arrived.set()

            def _answer(self, status: int, text: str) -> None:
                page = (
                    "<!doctype html><meta charset=utf-8><title>Amazon Music sign-in</title>"
                    f"<p>{html.escape(text)}</p>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                self.wfile.write(page)
                self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request line holds the code

        try:
            self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on 127.0.0.1:{port} for the sign-in redirect: "
                f"{exc.strerror or exc} (choose another redirect_port)"
            ) from None
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="amazon-music-sign-in",
            daemon=True,
        )
        self._thread.start()

    def wait(self, seconds: float) -> dict[str, list[str]] | None:
        """The redirect's query, or None when none came within ``seconds``."""
        self.arrived.wait(max(0.0, seconds))
        return self.query

    def close(self) -> None:
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _redirect_target(redirect_uri: str | None, redirect_port: Any) -> tuple[str | None, int, str]:
    """``(redirect_uri or None for the default, port, path)``, checked."""
    if redirect_uri is None:
        if not is_int(redirect_port):
            raise ConfigurationError(
                f"redirect_port must be an int, not {type(redirect_port).__name__}"
            )
        if not 0 <= redirect_port <= 65535:
            raise ConfigurationError(f"redirect_port must be from 0 to 65535, not {redirect_port}")
        return None, redirect_port, "/"
    if not isinstance(redirect_uri, str):
        raise ConfigurationError(f"redirect_uri must be a str, not {type(redirect_uri).__name__}")
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"redirect_uri is not a valid URL: {exc}") from None
    if parts.scheme != "http" or not is_loopback(parts.hostname or "") or not port:
        raise ConfigurationError(
            "redirect_uri must be a loopback URL with a port, like "
            f"http://127.0.0.1:8765/callback, not {redirect_uri!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"redirect_uri must have no query or fragment: {redirect_uri!r}")
    return redirect_uri, port, parts.path or "/"


def _same_target(pasted: str, redirect_uri: str) -> bool:
    """Whether a pasted URL leads to ``redirect_uri``: same scheme, host, port and path."""
    try:
        got, want = urlsplit(pasted), urlsplit(redirect_uri)
        return (
            got.scheme.lower(),
            (got.hostname or "").lower(),
            got.port,
            got.path or "/",
        ) == (want.scheme.lower(), (want.hostname or "").lower(), want.port, want.path or "/")
    except ValueError:
        return False


def _paste(url: str, redirect_uri: str, deadline: float) -> dict[str, list[str]]:
    """Print the consent page's URL and read back the URL the browser was sent to."""
    print(
        "Open this URL in a browser, sign in, and paste here the URL the browser is sent "
        f"to afterwards (it starts with {redirect_uri}; the page may fail to load):\n{url}",
        flush=True,
    )
    try:
        pasted = _input("Redirected URL: ").strip()
    except EOFError:
        raise _failure("invalid_request", "no redirected URL was pasted") from None
    if _monotonic() > deadline:
        raise _failure("timeout", "the redirected URL was pasted after the sign-in's timeout")
    if not _same_target(pasted, redirect_uri):
        raise _failure(
            "redirect_mismatch",
            f"the pasted URL does not lead to the redirect URI {redirect_uri} (another "
            "host, port or path): paste the whole URL of the page the browser was sent to",
        )
    return parse_qs(urlsplit(pasted).query, keep_blank_values=True)


def sign_in(
    cls: type[LoginWithAmazon],
    client_id: str,
    client_secret: str,
    *,
    scopes: Sequence[str],
    store: TokenStore | None,
    store_key: str,
    redirect_uri: str | None,
    redirect_port: int,
    open_browser: bool,
    on_url: Callable[[str], object] | None,
    timeout: float,
    authorize_url: str | None,
    token_url: str | None,
    lwa_url: str | None,
    session: requests.Session | None,
) -> LoginWithAmazon:
    """`LoginWithAmazon.sign_in` (see there)."""
    from ._auth import _token_url

    scope_list = check_sign_in(client_id, client_secret, scopes, store, store_key)
    wait = check_timeout(timeout)
    if isinstance(wait, tuple):
        raise ConfigurationError("timeout must be a number of seconds for the whole sign-in")
    if on_url is not None and not callable(on_url):
        raise ConfigurationError(f"on_url must be callable, not {type(on_url).__name__}")
    consent_url = lwa_endpoint(
        authorize_url, lwa_url, AUTHORIZE_PATH, DEFAULT_AUTHORIZE_URL, "authorize_url"
    )
    token_endpoint = _token_url(token_url, lwa_url)
    given_uri, port, path = _redirect_target(redirect_uri, redirect_port)

    deadline = _monotonic() + wait
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    paste = not open_browser and on_url is None
    server = None if paste else _LoopbackServer(port, path, state)
    try:
        if server is not None:
            port = server.port
        elif port == 0:
            port = _free_port()
        uri = given_uri or f"http://127.0.0.1:{port}{path}"
        url = authorization_url(consent_url, client_id, scope_list, uri, state, challenge)
        if server is None:
            query = _paste(url, uri, deadline)
        else:
            if on_url is not None:
                on_url(url)
            elif webbrowser.open(url):
                logger.info("opened the sign-in page in a browser; waiting for its redirect")
            else:  # no browser here: the user opens the URL elsewhere and pastes the result
                server.close()
                server = None
                query = _paste(url, uri, deadline)
            if server is not None:
                received = server.wait(deadline - _monotonic())
                if received is None:
                    raise _failure(
                        "timeout",
                        f"no sign-in within {wait:g} s: the browser was not redirected to {uri}",
                    )
                query = received
    finally:
        if server is not None:
            server.close()
    code = code_from_redirect(query, state)
    return _exchange(
        cls,
        client_id,
        client_secret,
        code=code,
        redirect_uri=uri,
        verifier=verifier,
        scopes=scope_list,
        token_url=token_endpoint,
        store=store,
        store_key=store_key,
        session=session,
    )


def _exchange(
    cls: type[LoginWithAmazon],
    client_id: str,
    client_secret: str,
    *,
    code: str,
    redirect_uri: str,
    verifier: str,
    scopes: list[str],
    token_url: str,
    store: TokenStore | None,
    store_key: str,
    session: requests.Session | None,
) -> LoginWithAmazon:
    """Trade the authorization code for tokens and keep them."""
    from ._auth import DEFAULT_TOKEN_TIMEOUT
    from ._auth import _monotonic as token_clock

    transport = Transport(session, token_url, max_connections=1)
    redact = lwa_redactor(client_secret, code, verifier)
    started = token_clock()
    try:
        response = post_form(
            transport,
            token_url,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": client_secret,
                "code_verifier": verifier,
            },
            DEFAULT_TOKEN_TIMEOUT,
        )
        answer = read_token_answer(response, redact, require_refresh_token=True)
    finally:
        transport.close()
    return cls._signed_in(
        client_id,
        client_secret,
        answer,
        token_url,
        started=started,
        scopes=scopes,
        store=store,
        store_key=store_key,
        session=session,
    )
