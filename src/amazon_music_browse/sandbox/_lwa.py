"""Login with Amazon, as the sandbox plays it: the token endpoint and the tokens it issued.

It also checks the credentials of every API request (the ``x-api-key`` and the bearer
token), since it is the authority on which tokens are valid.
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs

from ._config import SandboxConfig
from ._http import ApiError, Headers, Node, Response, one, read_body

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["DEFAULT_TOKEN_LIFETIME", "TOKEN_PATH", "LoginWithAmazonEndpoints"]

TOKEN_PATH: Final = "/auth/o2/token"
DEFAULT_TOKEN_LIFETIME: Final = 3600.0
_MAX_FORM_BYTES: Final = 64 * 1024
_NO_STORE: Final = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


class LoginWithAmazonEndpoints:
    """The token endpoint (``POST /auth/o2/token``) and the credentials check of the API.

    Args:
        config: the credentials and ``token_lifetime``.
        clock: monotonic seconds; decides when issued tokens expire.
    """

    paths: Final = frozenset({TOKEN_PATH})
    """The paths it answers (never faulted, delayed nor redirected)."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._requests = 0
        self._issued: dict[str, float] = {}

    @property
    def requests(self) -> int:
        """Requests received by the token endpoint."""
        with self._lock:
            return self._requests

    @property
    def issued_tokens(self) -> dict[str, float]:
        """Access tokens issued, with their expiry on ``clock``."""
        with self._lock:
            return dict(self._issued)

    def handle(self, environ: WSGIEnvironment) -> Response:
        """Answer a request to the token endpoint."""
        with self._lock:
            self._requests += 1
        if environ.get("REQUEST_METHOD") != "POST":
            return _oauth_error(405, "invalid_request", "Use POST.", (("Allow", "POST"),))
        try:
            form = _read_form(environ)
            grant_type = one(form, "grant_type")
            values = {
                name: one(form, name) for name in ("refresh_token", "client_id", "client_secret")
            }
        except ValueError as exc:
            return _oauth_error(400, "invalid_request", str(exc))
        if grant_type != "refresh_token":
            return _oauth_error(
                400, "unsupported_grant_type", "The sandbox supports grant_type=refresh_token only."
            )
        missing = [name for name, value in values.items() if not value]
        if missing:
            return _oauth_error(
                400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}."
            )
        config = self._config
        client_ok = _same(values["client_id"], config.client_id)
        if not (client_ok and _same(values["client_secret"], config.client_secret)):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        if not _same(values["refresh_token"], config.refresh_token):
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid.")
        return Response(200, self.issue_token(), _NO_STORE)

    def issue_token(self) -> Node:
        """Issue an access token, as the token endpoint does; returns its token response."""
        lifetime = self._config.token_lifetime or DEFAULT_TOKEN_LIFETIME
        token = "Atza|" + secrets.token_urlsafe(270)
        with self._lock:
            self._issued[token] = self._clock() + lifetime
        return {
            "access_token": token,
            "refresh_token": self._config.refresh_token,
            "token_type": "bearer",
            "expires_in": math.ceil(lifetime),
        }

    def authenticate(self, environ: WSGIEnvironment) -> None:
        """Check an API request's ``x-api-key`` and bearer token.

        Raises:
            ApiError: 401 with the code the service would send.
        """
        config = self._config
        api_key = environ.get("HTTP_X_API_KEY", "")
        if not api_key:
            raise ApiError(
                401, "NO_X_API_KEY", "Missing x-api-key header (the security profile ID)."
            )
        if not _same(api_key, config.api_key):
            raise ApiError(
                401, "INVALID_CLIENT_ID", "The x-api-key is not a known security profile ID."
            )
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            raise ApiError(
                401, "INVALID_AUTH_TYPE", "The Authorization header must be 'Bearer <token>'."
            )
        token = token.strip()
        if not token:
            raise ApiError(401, "INVALID_AUTH_TOKEN", "The bearer token is empty.")
        if config.token_lifetime is None and _same(token, config.access_token):
            return
        with self._lock:
            expiry = self._issued.get(token)
        if expiry is None:
            raise ApiError(401, "INVALID_ACCESS_TOKEN", "The access token is not valid.")
        if self._clock() >= expiry:
            raise ApiError(401, "INVALID_ACCESS_TOKEN", "The access token has expired.")


def _read_form(environ: WSGIEnvironment) -> dict[str, list[str]]:
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ValueError("The body must be application/x-www-form-urlencoded.")
    body = read_body(environ, _MAX_FORM_BYTES)
    return parse_qs(body.decode("latin-1"), keep_blank_values=True)


def _same(given: str | None, expected: str) -> bool:
    """Compare a credential in constant time."""
    return given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode()
    )


def _oauth_error(status: int, error: str, description: str, headers: Headers = ()) -> Response:
    return Response(
        status, {"error": error, "error_description": description}, (*_NO_STORE, *headers)
    )
