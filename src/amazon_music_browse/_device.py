"""Code-based linking: signing in on a device without a browser.

1. ``POST codepair_url`` (``response_type=device_code``, ``client_id``, ``scope``) answers
   a ``user_code``, a ``device_code``, a ``verification_uri``, ``expires_in`` and
   ``interval``.
2. The user opens ``verification_uri`` on another device and enters ``user_code``
   (``on_code`` shows them).
3. The device polls the token endpoint (``grant_type=device_code``, ``device_code``,
   ``user_code``) at least ``interval`` seconds apart: ``authorization_pending`` waits,
   ``slow_down`` adds 5 s to the interval for good, ``expired_token`` and
   ``access_denied`` end it. A network failure or a 5xx while polling is waited out like
   a pending answer, until the code expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import requests

from ._arguments import is_finite_number
from ._errors import APIConnectionError, APIError, AuthenticationError, ConfigurationError
from ._log import logger
from ._lwa_http import (
    lwa_endpoint,
    lwa_error,
    lwa_redactor,
    post_form,
    read_object,
    read_token_answer,
)
from ._transport import Transport

if TYPE_CHECKING:
    from ._auth import LoginWithAmazon
    from ._token_store import TokenStore

__all__ = ["CODEPAIR_PATH", "DEFAULT_CODEPAIR_URL", "DeviceCode", "link_device"]

CODEPAIR_PATH: Final = "/auth/o2/create/codepair"
DEFAULT_CODEPAIR_URL: Final = "https://api.amazon.com" + CODEPAIR_PATH
SLOW_DOWN_SECONDS: Final = 5.0
"""What ``slow_down`` adds to the polling interval."""
_RETRIED_STATUSES: Final = frozenset({429, 500, 502, 503, 504})

_monotonic = time.monotonic
_sleep = time.sleep


@dataclass(frozen=True)
class DeviceCode:
    """What to show the user of code-based linking.

    Attributes:
        user_code: the code the user enters, e.g. ``"A1B2C3"``.
        verification_uri: where the user enters it, e.g. ``https://amazon.com/us/code``.
        expires_in: seconds the code is valid for.
        interval: seconds between two polls of the token endpoint.
    """

    user_code: str
    verification_uri: str
    expires_in: float
    interval: float

    def __str__(self) -> str:
        return f"To sign in, open {self.verification_uri} and enter the code {self.user_code}"


def _failure(code: str, message: str) -> AuthenticationError:
    return AuthenticationError(message, status_code=401, code=code)


def _number(document: dict[str, Any], name: str, default: float | None = None) -> float:
    value = document.get(name, default)
    if not is_finite_number(value):
        raise ValueError(f"{name} must be a number")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return float(value)


def _text(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value or not value.isprintable():
        raise ValueError(f"{name} must be a non-empty str")
    return value


def link_device(
    cls: type[LoginWithAmazon],
    client_id: str,
    client_secret: str,
    *,
    scopes: Sequence[str],
    store: TokenStore | None,
    store_key: str,
    on_code: Callable[[DeviceCode], object] | None,
    timeout: float | None,
    codepair_url: str | None,
    token_url: str | None,
    lwa_url: str | None,
    session: requests.Session | None,
) -> LoginWithAmazon:
    """`LoginWithAmazon.link_device` (see there)."""
    from ._auth import DEFAULT_TOKEN_TIMEOUT, _token_url
    from ._auth import _monotonic as token_clock
    from ._signin import check_sign_in

    scope_list = check_sign_in(client_id, client_secret, scopes, store, store_key)
    if timeout is not None and not (is_finite_number(timeout) and timeout > 0):
        raise ConfigurationError(f"timeout must be a number of seconds > 0, not {timeout!r}")
    if on_code is not None and not callable(on_code):
        raise ConfigurationError(f"on_code must be callable, not {type(on_code).__name__}")
    pair_url = lwa_endpoint(
        codepair_url, lwa_url, CODEPAIR_PATH, DEFAULT_CODEPAIR_URL, "codepair_url"
    )
    token_endpoint = _token_url(token_url, lwa_url)

    transport = Transport(session, token_endpoint, max_connections=1)
    redact = lwa_redactor(client_secret)
    try:
        response = post_form(
            transport,
            pair_url,
            {"response_type": "device_code", "client_id": client_id, "scope": " ".join(scope_list)},
            DEFAULT_TOKEN_TIMEOUT,
        )
        started = _monotonic()
        document = read_object(response, redact, "the code-pair endpoint")
        try:
            device_code = _text(document, "device_code")
            code = DeviceCode(
                user_code=_text(document, "user_code"),
                verification_uri=_text(document, "verification_uri"),
                expires_in=_number(document, "expires_in"),
                interval=_number(document, "interval", 5),
            )
        except ValueError as exc:
            raise APIError(
                f"the code-pair endpoint answered 200 without a usable code: {exc}",
                status_code=response.status_code,
            ) from None
        redact = lwa_redactor(client_secret, device_code)
        if on_code is None:
            print(str(code), flush=True)
        else:
            on_code(code)
        expires = started + code.expires_in
        deadline = expires if timeout is None else min(expires, started + timeout)
        interval = code.interval
        form = {
            "grant_type": "device_code",
            "device_code": device_code,
            "user_code": code.user_code,
        }
        while True:
            now = _monotonic()
            if now + interval > deadline:
                if timeout is not None and deadline < expires:
                    raise _failure(
                        "timeout", f"the code was not entered within {timeout:g} s (the timeout)"
                    )
                if now > expires:  # past its expiry, and LWA never said so: we do
                    raise _failure(
                        "expired_token",
                        f"the code {code.user_code} expired before it was entered",
                    )
            _sleep(interval)
            polled = token_clock()
            try:
                response = post_form(transport, token_endpoint, form, DEFAULT_TOKEN_TIMEOUT)
            except APIConnectionError as exc:
                logger.warning("polling for the device's token failed (%s); polling on", exc)
                continue
            if response.status_code == 200:
                answer = read_token_answer(response, redact, require_refresh_token=True)
                break
            error = lwa_error(response, redact)
            if error.code == "authorization_pending":
                continue
            if error.code == "slow_down":
                interval += SLOW_DOWN_SECONDS
                logger.info("Login with Amazon asked to poll slower: every %g s", interval)
                continue
            if response.status_code in _RETRIED_STATUSES:
                logger.warning("polling for the device's token failed (%s); polling on", error)
                continue
            raise error
    finally:
        transport.close()
    return cls._signed_in(
        client_id,
        client_secret,
        answer,
        token_endpoint,
        started=polled,
        scopes=scope_list,
        store=store,
        store_key=store_key,
        session=session,
    )
