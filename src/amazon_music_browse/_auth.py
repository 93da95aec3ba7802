"""Token providers: ``LoginWithAmazon`` trades a refresh token for access tokens.

A provider is a zero-argument callable that returns the current access token, so it can
be passed as ``BrowseClient(access_token=...)``. On a 401 the client calls its
``invalidate(token)`` and asks again, which makes the provider refresh once.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import requests

from ._config import Timeout, check_https_url, check_timeout
from ._constants import ENV_LWA_URL, MAX_TOKEN_RESPONSE_BYTES, USER_AGENT
from ._credentials import is_header_safe
from ._errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ResponseValidationError,
    api_error_from_body,
    excerpt,
)
from ._events import TOKEN_EVENTS, TokenEvent, check_event_hooks, emit
from ._fork import reset_after_fork
from ._log import logger
from ._redact import REDACTED, Redactor
from ._retry import parse_retry_after
from ._transport import Exchange, Transport

__all__ = ["DEFAULT_TOKEN_URL", "LoginWithAmazon"]


_monotonic = time.monotonic
_perf_counter = time.perf_counter

TOKEN_PATH = "/auth/o2/token"
"""The token endpoint's path below a Login with Amazon base URL."""

DEFAULT_TOKEN_URL = "https://api.amazon.com" + TOKEN_PATH
"""The Login with Amazon token endpoint for North America (EU: api.amazon.co.uk, FE: .co.jp)."""

DEFAULT_TOKEN_TIMEOUT = 10.0
"""Seconds to wait for the token endpoint's connection and each read."""

MAX_REFRESH_MARGIN = 60.0
"""A token is renewed when less than this many seconds (or a tenth of its life) remain."""

# LWA access tokens start with "Atza|", refresh tokens with "Atzr|".
_LWA_TOKEN = re.compile(r"Atz[a-z]\|[^\s\"'&,;<>]*")
_SECRET_FIELDS = ("access_token", "refresh_token", "id_token", "client_secret")


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
    request. A new refresh token in the response is used from then on.

    Example:
        >>> lwa = LoginWithAmazon(client_id, client_secret, refresh_token)
        >>> client = BrowseClient(api_key=security_profile_id, access_token=lwa)

    Args:
        client_id: the LWA client ID of your security profile.
        client_secret: the LWA client secret of your security profile.
        refresh_token: the user's refresh token (``Atzr|...``).
        token_url: the token endpoint; ``https://`` only, or ``http://`` on loopback;
            default: ``$AMAZON_MUSIC_LWA_URL/auth/o2/token`` when that variable names a
            Login with Amazon base URL (a sandbox's, say), else North America's endpoint.
            EU: ``https://api.amazon.co.uk/auth/o2/token``, FE: ``.co.jp``.
        timeout: seconds for the connection and each read, or ``(connect, read)``.
        session: a ``requests.Session`` to send through (never closed by this object).
        event_hooks: ``{"token": [...]}``: callables called with a `TokenEvent` after each
            new access token, in the thread that asked for it, once the lock is released.
            A hook's exception propagates to that caller (the token is kept).

    Raises:
        ConfigurationError: an argument is missing or invalid (an unknown event or a hook
            that is not callable, too).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        token_url: str | None = None,
        *,
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
        self._refresh_token = _check_credential(refresh_token, "refresh_token")
        self._token_url = _token_url(token_url)
        self._timeout = check_timeout(timeout)
        self._transport = Transport(session, self._token_url, max_connections=1)
        self._lock = threading.Lock()
        self._token: _Token | None = None
        reset_after_fork(self)

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
        return f"{type(self).__name__}(token_url={self._token_url!r}, {state})"

    def __getstate__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: it holds credentials, a lock and a "
            "live session; create one per process instead"
        )

    # -- the token request --------------------------------------------------------------

    def _refresh(self) -> _Token:
        """Trade the refresh token for an access token; call with the lock held."""
        logger.debug("refreshing the Login with Amazon access token: POST %s", self._token_url)
        started = _monotonic()
        response = self._post()
        body = response.content.decode("utf-8", errors="replace")
        if response.status_code != 200:
            raise self._error(response, body)
        value, lifetime, refresh_token = self._parse(body, response.status_code)
        if refresh_token is not None and refresh_token != self._refresh_token:
            self._refresh_token = refresh_token
            logger.info("Login with Amazon issued a new refresh token; it is used from now on")
        logger.info("Login with Amazon access token refreshed; it expires in %g s", lifetime)
        return _Token(value, started + lifetime, lifetime)

    def _post(self) -> requests.Response:
        """POST the refresh grant, through the same transport rules as the API's requests.

        The secrets travel in the form body; redirects are not followed, so they never
        reach another URL. A token response over 1 MiB is not read.
        """
        exchange = Exchange(
            "POST",
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            credentials={},
            timeout=self._timeout,
            max_bytes=MAX_TOKEN_RESPONSE_BYTES,
            data={
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            follow_redirects=False,
        )
        return self._transport.send(self._token_url, exchange)

    def _error(self, response: requests.Response, body: str) -> APIError:
        error = api_error_from_body(
            response.status_code,
            self._redact(body),
            request_id=_optional(self._redact, response.headers.get("x-amzn-RequestId")),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            response=response,
            # Login with Amazon refuses a refresh with 400 (invalid_grant) as well as 401.
            error_class=AuthenticationError if response.status_code in (400, 401) else None,
        )
        logger.debug("Login with Amazon refused the refresh: %s", error)
        return error

    def _parse(self, body: str, status_code: int) -> tuple[str, float, str | None]:
        """``(access_token, expires_in, new refresh_token or None)`` from a 200 response."""
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise self._invalid("with a body that is not JSON", status_code, body) from None
        if not isinstance(document, dict):
            raise self._invalid("with JSON that is not an object", status_code, body)
        access_token = document.get("access_token")
        expires_in = document.get("expires_in")
        refresh_token = document.get("refresh_token")
        secrets = [v for v in (access_token, refresh_token) if isinstance(v, str) and v]
        if not is_header_safe(access_token):
            raise self._invalid("without a usable access_token", status_code, body, *secrets)
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, (int, float))
            or not (math.isfinite(expires_in) and expires_in > 0)
        ):
            raise self._invalid("without a positive number expires_in", status_code, body, *secrets)
        if refresh_token is not None and not (isinstance(refresh_token, str) and refresh_token):
            raise self._invalid(
                "with a refresh_token that is not a non-empty string", status_code, body, *secrets
            )
        return access_token, float(expires_in), refresh_token

    def _invalid(
        self, problem: str, status_code: int, body: str, *secrets: str
    ) -> ResponseValidationError:
        body = self._redact(body, *secrets)
        return ResponseValidationError(
            f"Login with Amazon answered {status_code} {problem}: "
            f"{excerpt(body) or '(empty body)'}",
            status_code=status_code,
            body=body,
        )

    def _redact(self, text: str, *more: str) -> str:
        """``text`` with every credential this object knows replaced by ``[REDACTED]``."""
        secrets = [self._client_secret, self._refresh_token, *more]
        if self._token is not None:
            secrets.append(self._token.value)
        text = Redactor(secrets)(text)
        text = _LWA_TOKEN.sub(REDACTED, text)
        for name in _SECRET_FIELDS:  # secret-named fields of a JSON or form body
            text = re.sub(
                rf'("{name}"\s*:\s*")[^"]*(")|({name}=)[^&\s"]*',
                lambda m: f"{m[1]}{REDACTED}{m[2]}" if m[1] else f"{m[3]}{REDACTED}",
                text,
            )
        return text


def _token_url(token_url: str | None) -> str:
    """The token endpoint: the one given, else the environment's LWA base URL's, else NA's."""
    if token_url is not None:
        return check_https_url(token_url, "token_url", DEFAULT_TOKEN_URL)
    base = os.environ.get(ENV_LWA_URL)
    if base:
        base = check_https_url(base, ENV_LWA_URL, "https://api.amazon.com").rstrip("/")
        return base + TOKEN_PATH
    return DEFAULT_TOKEN_URL


def _optional(redact: Callable[[str], str], text: str | None) -> str | None:
    return None if text is None else redact(text)


def _check_credential(value: Any, name: str) -> str:
    """Return ``value`` if it is a usable credential; the message never shows the value."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ConfigurationError(f"{name} is empty")
    if value != value.strip():
        raise ConfigurationError(f"{name} has leading or trailing whitespace")
    return value
