"""Token providers: ``LoginWithAmazon`` trades a refresh token for access tokens.

A provider is a zero-argument callable that returns the current access token, so it can
be passed as ``BrowseClient(access_token=...)``. On a 401 the client calls its
``invalidate(token)`` and asks again, which makes the provider refresh once.

With a token store, every process sharing the store shares one token: a refresh takes
the store's lock, re-reads the store and asks Login with Amazon only if the stored token
is still due. Getting the first refresh token is `LoginWithAmazon.sign_in` (`._signin`)
or `LoginWithAmazon.link_device` (`._device`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import requests

from ._config import Timeout, check_timeout
from ._errors import AuthenticationError, ConfigurationError
from ._events import TOKEN_EVENTS, TokenEvent, check_event_hooks, emit
from ._fork import reset_after_fork
from ._log import logger
from ._lwa_http import (
    TokenAnswer,
    lwa_endpoint,
    lwa_redactor,
    post_form,
    read_token_answer,
)
from ._token_store import (
    DEFAULT_STORE_KEY,
    StoredToken,
    TokenStore,
    check_store,
    check_store_key,
)
from ._transport import Transport

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._device import DeviceCode

__all__ = ["DEFAULT_TOKEN_URL", "LoginWithAmazon"]


_monotonic = time.monotonic
_perf_counter = time.perf_counter
_wall = time.time  # stores keep Unix times: a monotonic clock means nothing to another process

TOKEN_PATH = "/auth/o2/token"
"""The token endpoint's path below a Login with Amazon base URL."""

DEFAULT_TOKEN_URL = "https://api.amazon.com" + TOKEN_PATH
"""The Login with Amazon token endpoint for North America (EU: api.amazon.co.uk, FE: .co.jp)."""

DEFAULT_TOKEN_TIMEOUT = 10.0
"""Seconds to wait for the token endpoint's connection and each read."""

MAX_REFRESH_MARGIN = 60.0
"""A token is renewed when less than this many seconds (or a tenth of its life) remain."""

DEFAULT_SCOPES = ("music::catalog",)
"""The scope every Browse endpoint needs."""


@dataclass(frozen=True)
class _Token:
    """An access token and when (on the monotonic clock) it stops being worth sending."""

    value: str
    expires_at: float
    lifetime: float
    refused: bool = False

    def seconds_left(self) -> float:
        return self.expires_at - _monotonic()

    def is_fresh(self) -> bool:
        if self.refused:
            return False
        return self.seconds_left() >= min(MAX_REFRESH_MARGIN, self.lifetime / 10)


def _refresh_reason(token: _Token | None) -> str:
    """Why a token is asked for, as a `TokenEvent` says it."""
    if token is None:
        return "initial"
    return "refused" if token.refused else "expiring"


class LoginWithAmazon:
    """An ``access_token`` callable that refreshes Login with Amazon tokens as needed.

    Calling it returns a valid access token. The first call, and any call when less than
    ``min(60 s, a tenth of the token's lifetime)`` remains, trades the refresh token for
    a new access token (``grant_type=refresh_token``); concurrent callers share one
    request. A new refresh token in the answer is used from then on.

    With a ``store``, the tokens are shared by every thread and process using the same
    store and key: a refresh takes the store's lock, re-reads the store, and asks Login
    with Amazon only if the stored token is still due; every token obtained (and a
    refresh token the service rotated) is written back. On ``invalid_grant`` the store is
    re-read once (another process may have rotated the refresh token) before raising.

    Example:
        >>> lwa = LoginWithAmazon(client_id, client_secret, refresh_token)
        >>> client = BrowseClient(api_key=security_profile_id, access_token=lwa)
        >>> shared = LoginWithAmazon(client_id, client_secret, store=FileTokenStore())

    Args:
        client_id: the LWA client ID of your security profile.
        client_secret: the LWA client secret of your security profile.
        refresh_token: the user's refresh token (``Atzr|...``); with a store, optional
            (read from the store), and a stored one wins over it (a rotation may have
            replaced it).
        token_url: the token endpoint; ``https://`` only, or ``http://`` on loopback;
            default: ``$AMAZON_MUSIC_LWA_URL/auth/o2/token`` when that variable names a
            Login with Amazon base URL (a sandbox's, say), else North America's endpoint.
            EU: ``https://api.amazon.co.uk/auth/o2/token``, FE: ``.co.jp``.
        store: a `TokenStore` shared with other threads and processes.
        store_key: the record of the store to use (one per login).
        timeout: seconds for the connection and each read, or ``(connect, read)``.
        session: a ``requests.Session`` to send through (never closed by this object).
        event_hooks: ``{"token": [...]}``: callables called with a `TokenEvent` after each
            new access token, in the thread that asked for it, once the lock is released.
            A hook's exception propagates to that caller (the token is kept).

    Raises:
        ConfigurationError: an argument is missing or invalid (an unknown event or a hook
            that is not callable, too), or no refresh token was given and the store holds
            none under ``store_key``.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str | None = None,
        token_url: str | None = None,
        *,
        store: TokenStore | None = None,
        store_key: str = DEFAULT_STORE_KEY,
        timeout: Timeout = DEFAULT_TOKEN_TIMEOUT,
        session: requests.Session | None = None,
        event_hooks: Mapping[str, Sequence[Callable[[TokenEvent], object]]] | None = None,
    ) -> None:
        if session is not None and not isinstance(session, requests.Session):
            raise ConfigurationError(
                f"session must be a requests.Session, not {type(session).__name__}"
            )
        hooks = check_event_hooks(event_hooks, TOKEN_EVENTS, type(self).__name__)
        self._on_token = hooks.get("token", ())
        self._client_id = _check_credential(client_id, "client_id")
        self._client_secret = _check_credential(client_secret, "client_secret")
        self._store = None if store is None else check_store(store)
        self._store_key = check_store_key(store_key)
        self._refresh_token = self._first_refresh_token(refresh_token)
        self._token_url = _token_url(token_url)
        self._timeout = check_timeout(timeout)
        self._transport = Transport(session, self._token_url, max_connections=1)
        self._lock = threading.Lock()
        self._token: _Token | None = None
        reset_after_fork(self)

    def _first_refresh_token(self, given: str | None) -> str:
        """The given refresh token, or (with a store and none given) the stored one."""
        if given is None and self._store is None:
            raise ConfigurationError(
                "refresh_token is missing: pass the user's refresh token, or a store= that "
                "holds one (LoginWithAmazon.sign_in or link_device puts one there)"
            )
        if given is not None:
            return _check_credential(given, "refresh_token")
        assert self._store is not None
        stored = self._store.load(self._store_key)
        if stored is None or not stored.refresh_token:
            raise ConfigurationError(
                f"no refresh token: none was given, and {self._store!r} holds none under "
                f"{self._store_key!r}; sign in first (LoginWithAmazon.sign_in, "
                "LoginWithAmazon.link_device, or `amazon-music-browse login`)"
            )
        return stored.refresh_token

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # a parent's thread may have held it mid-refresh

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return self._token_url

    @property
    def timeout(self) -> Timeout:
        """Seconds for the connection and each read, or a ``(connect, read)`` pair."""
        return self._timeout

    @property
    def store(self) -> TokenStore | None:
        """The token store shared with other threads and processes, if any."""
        return self._store

    @property
    def store_key(self) -> str:
        """The record of the store this object uses."""
        return self._store_key

    def __call__(self) -> str:
        """Return a valid access token, refreshing it first if needed.

        Raises:
            AuthenticationError: LWA refused the refresh (400/401, e.g. ``invalid_grant``).
            APIError: LWA answered with another error status.
            APIConnectionError: the token endpoint could not be reached.
            APITimeoutError: the token endpoint did not answer in time.
            ResponseValidationError: LWA answered 200 without a usable token.
        """
        token = self._token
        if token is not None and token.is_fresh():
            return token.value
        with self._lock:
            token = self._token  # another thread may have refreshed while we waited
            if token is not None and token.is_fresh():
                return token.value
            reason = _refresh_reason(token)
            started = _perf_counter()
            token = self._refresh()
            self._token = token
            elapsed = _perf_counter() - started
        if self._on_token:  # outside the lock: a hook may ask for the token itself
            emit(self._on_token, TokenEvent(reason, elapsed))
        return token.value

    def invalidate(self, token: str) -> None:
        """Mark ``token`` as refused, so the next call refreshes.

        Does nothing if the cache already holds a different (newer) token, so many
        callers refused with the same token share one refresh.
        """
        with self._lock:
            if self._token is not None and self._token.value == token:
                self._token = replace(self._token, refused=True)
                logger.debug("Login with Amazon access token invalidated; the next call refreshes")

    def close(self) -> None:
        """Close the session, if this object created it (a session passed in stays open)."""
        self._transport.close()

    def __enter__(self) -> LoginWithAmazon:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        token = self._token
        state = "token_cached=False"
        if token is not None and not token.refused:
            state = f"token_cached=True, seconds_left={max(0, int(token.seconds_left()))}"
        store = "" if self._store is None else f"store={self._store!r}, "
        return f"{type(self).__name__}(token_url={self._token_url!r}, {store}{state})"

    def __getstate__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: it holds credentials, a lock and a "
            "live session; create one per process instead (with a FileTokenStore or a "
            "RedisTokenStore, they share one token)"
        )

    # -- getting the first refresh token --------------------------------------------------

    @classmethod
    def sign_in(
        cls,
        client_id: str,
        client_secret: str,
        *,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        store: TokenStore | None = None,
        store_key: str = DEFAULT_STORE_KEY,
        redirect_uri: str | None = None,
        redirect_port: int = 0,
        open_browser: bool = True,
        on_url: Callable[[str], object] | None = None,
        timeout: float = 300.0,
        authorize_url: str | None = None,
        token_url: str | None = None,
        lwa_url: str | None = None,
        session: requests.Session | None = None,
    ) -> LoginWithAmazon:
        """Sign a user in with the authorization code grant (PKCE S256) in a browser.

        The user is sent to Login with Amazon's consent page (``authorize_url``), which
        redirects the browser to a one-shot HTTP server on ``127.0.0.1`` that this call
        runs until the redirect arrives. The code is exchanged at the token endpoint, and
        the tokens are written to ``store``.

        Example:
            >>> tokens = LoginWithAmazon.sign_in(client_id, client_secret, store=FileTokenStore())
            >>> client = BrowseClient(api_key, access_token=tokens)

        Args:
            client_id: the LWA client ID of your security profile.
            client_secret: its client secret.
            scopes: the scopes to ask for (``music::catalog`` for Browse).
            store: where to keep the tokens (none: only the returned object has them).
            store_key: the record of the store to write.
            redirect_uri: the loopback URL registered as an Allowed Return URL of the
                security profile, e.g. ``http://127.0.0.1:8765/callback``; default
                ``http://127.0.0.1:<redirect_port>/``.
            redirect_port: the port of the default ``redirect_uri``; 0 picks a free one.
            open_browser: open the consent page in the user's browser. Without one (or
                when none can be opened), the URL is handed to ``on_url`` or, without
                it, printed, and the URL the browser was redirected to is read from
                standard input (``input()``): paste it from the address bar.
            on_url: called with the consent page's URL instead of opening a browser; the
                loopback server waits for the redirect (drive it from here, or elsewhere).
            timeout: seconds to wait for the whole sign-in (the user's part included).
            authorize_url: the consent page; default ``https://www.amazon.com/ap/oa``.
            token_url: the token endpoint, as for the constructor.
            lwa_url: a base URL for all three Login with Amazon endpoints (``/ap/oa``,
                ``/auth/o2/token``, ``/auth/o2/create/codepair``): a sandbox's ``url``;
                default ``$AMAZON_MUSIC_LWA_URL``.
            session: a ``requests.Session`` to send through.

        Returns:
            A `LoginWithAmazon` whose first call returns the access token just obtained.

        Raises:
            AuthenticationError: the user denied consent (``access_denied``), the
                redirect's ``state`` was wrong, no redirect came within ``timeout``, the
                pasted URL does not lead to ``redirect_uri``, or LWA refused the code.
            ConfigurationError: an argument is invalid.
        """
        from ._signin import sign_in

        return sign_in(
            cls,
            client_id,
            client_secret,
            scopes=scopes,
            store=store,
            store_key=store_key,
            redirect_uri=redirect_uri,
            redirect_port=redirect_port,
            open_browser=open_browser,
            on_url=on_url,
            timeout=timeout,
            authorize_url=authorize_url,
            token_url=token_url,
            lwa_url=lwa_url,
            session=session,
        )

    @classmethod
    def link_device(
        cls,
        client_id: str,
        client_secret: str,
        *,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        store: TokenStore | None = None,
        store_key: str = DEFAULT_STORE_KEY,
        on_code: Callable[[DeviceCode], object] | None = None,
        timeout: float | None = None,
        codepair_url: str | None = None,
        token_url: str | None = None,
        lwa_url: str | None = None,
        session: requests.Session | None = None,
    ) -> LoginWithAmazon:
        """Sign in on a device without a browser: code-based linking.

        Asks ``codepair_url`` for a code, hands it to ``on_code`` (the user opens
        ``code.verification_uri`` on another device and enters ``code.user_code``), then
        polls the token endpoint at least ``code.interval`` seconds apart until the user
        approves: ``authorization_pending`` waits, ``slow_down`` adds 5 s to the interval.

        Example:
            >>> tokens = LoginWithAmazon.link_device(
            ...     client_id, client_secret, store=FileTokenStore(),
            ...     on_code=lambda code: print(code.verification_uri, code.user_code))

        Args:
            client_id: the LWA client ID of your security profile.
            client_secret: its client secret.
            scopes: the scopes to ask for.
            store: where to keep the tokens.
            store_key: the record of the store to write.
            on_code: called with the `DeviceCode` to show; default: print it.
            timeout: seconds to wait for the user at most; default: until the code expires.
            codepair_url: default ``https://api.amazon.com/auth/o2/create/codepair``.
            token_url: the token endpoint, as for the constructor.
            lwa_url: a base URL for all three Login with Amazon endpoints (a sandbox's).
            session: a ``requests.Session`` to send through.

        Returns:
            A `LoginWithAmazon` whose first call returns the access token just obtained.

        Raises:
            AuthenticationError: the code expired (``expired_token``), the user refused
                (``access_denied``), ``timeout`` passed, or LWA refused the request.
            ConfigurationError: an argument is invalid.
        """
        from ._device import link_device

        return link_device(
            cls,
            client_id,
            client_secret,
            scopes=scopes,
            store=store,
            store_key=store_key,
            on_code=on_code,
            timeout=timeout,
            codepair_url=codepair_url,
            token_url=token_url,
            lwa_url=lwa_url,
            session=session,
        )

    @classmethod
    def _signed_in(
        cls,
        client_id: str,
        client_secret: str,
        answer: TokenAnswer,
        token_url: str,
        *,
        started: float,
        scopes: Sequence[str],
        store: TokenStore | None,
        store_key: str,
        session: requests.Session | None,
    ) -> Self:
        """A provider holding the tokens a sign-in just obtained, written to the store."""
        assert answer.refresh_token is not None
        tokens = cls(
            client_id,
            client_secret,
            answer.refresh_token,
            token_url,
            store=store,
            store_key=store_key,
            session=session,
        )
        token = _Token(answer.access_token, started + answer.expires_in, answer.expires_in)
        with tokens._lock:
            tokens._token = token
            if tokens._store is not None:
                with tokens._store.lock(tokens._store_key):
                    tokens._save(token, list(scopes))
        logger.info(
            "signed in with Login with Amazon; the access token expires in %g s", token.lifetime
        )
        return tokens

    # -- refreshing ---------------------------------------------------------------------

    def _refresh(self) -> _Token:
        """A fresh access token; call with the lock held.

        Without a store: one token request. With one: the stored token if another
        process already refreshed it, else one token request under the store's lock.
        """
        if self._store is None:
            return self._request_token()
        adopted = self._adopt(self._store.load(self._store_key))
        if adopted is not None:
            return adopted
        with self._store.lock(self._store_key):
            stored = self._store.load(self._store_key)  # re-read: someone may have refreshed
            adopted = self._adopt(stored)
            if adopted is not None:
                return adopted
            try:
                token = self._request_token()
            except AuthenticationError as error:
                if error.code != "invalid_grant":
                    raise
                token = self._after_invalid_grant(error)
            self._save(token, stored.scopes if stored is not None else None)
            return token

    def _adopt(self, stored: StoredToken | None) -> _Token | None:
        """The stored access token if it is fresh and not the one refused; takes the
        stored refresh token either way (it is the newest)."""
        if stored is None:
            return None
        if stored.refresh_token and stored.refresh_token != self._refresh_token:
            self._refresh_token = stored.refresh_token
        if not stored.access_token or stored.expires_at is None:
            return None
        current = self._token
        if current is not None and current.refused and current.value == stored.access_token:
            return None
        seconds_left = stored.expires_at - _wall()
        lifetime = (
            stored.expires_at - stored.issued_at if stored.issued_at is not None else seconds_left
        )
        token = _Token(stored.access_token, _monotonic() + seconds_left, max(lifetime, 1e-9))
        if not token.is_fresh():
            return None
        logger.debug("using the access token another process stored (%.0f s left)", seconds_left)
        return token

    def _after_invalid_grant(self, error: AuthenticationError) -> _Token:
        """Re-read the store once: another process may have rotated the refresh token."""
        assert self._store is not None
        refused = self._refresh_token
        stored = self._store.load(self._store_key)
        adopted = self._adopt(stored)
        if adopted is not None:
            return adopted
        if self._refresh_token == refused:
            raise error
        logger.info("the refresh token was replaced in the store meanwhile; trying the new one")
        return self._request_token()

    def _save(self, token: _Token, scopes: list[str] | None) -> None:
        """Write ``token`` and the current refresh token to the store; lock held."""
        assert self._store is not None
        expires_at = _wall() + token.seconds_left()
        self._store.save(
            self._store_key,
            StoredToken(
                access_token=token.value,
                expires_at=expires_at,
                refresh_token=self._refresh_token,
                scopes=list(scopes or []),
                issued_at=expires_at - token.lifetime,
            ),
        )

    # -- the token request --------------------------------------------------------------

    def _request_token(self) -> _Token:
        """Trade the refresh token for an access token: one request."""
        logger.debug("refreshing the Login with Amazon access token: POST %s", self._token_url)
        started = _monotonic()
        response = self._post()
        answer = read_token_answer(response, self._redact)
        if answer.refresh_token is not None and answer.refresh_token != self._refresh_token:
            self._refresh_token = answer.refresh_token
            logger.info("Login with Amazon issued a new refresh token; it is used from now on")
        logger.info(
            "Login with Amazon access token refreshed; it expires in %g s", answer.expires_in
        )
        return _Token(answer.access_token, started + answer.expires_in, answer.expires_in)

    def _post(self) -> requests.Response:
        """POST the refresh grant, through the same transport rules as the API's requests."""
        return post_form(
            self._transport,
            self._token_url,
            {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            self._timeout,
        )

    def _redact(self, text: str) -> str:
        """``text`` with every credential this object knows replaced by ``[REDACTED]``."""
        token = self._token
        return lwa_redactor(
            self._client_secret, self._refresh_token, token.value if token else None
        )(text)


def _token_url(token_url: str | None, lwa_url: str | None = None) -> str:
    """The token endpoint: the one given, else ``lwa_url``'s or the environment's LWA base
    URL's, else North America's."""
    return lwa_endpoint(token_url, lwa_url, TOKEN_PATH, DEFAULT_TOKEN_URL, "token_url")


def _check_credential(value: Any, name: str) -> str:
    """Return ``value`` if it is a usable credential; the message never shows the value."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ConfigurationError(f"{name} is empty")
    if value != value.strip():
        raise ConfigurationError(f"{name} has leading or trailing whitespace")
    return value
