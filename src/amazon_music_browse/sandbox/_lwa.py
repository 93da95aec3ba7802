"""Login with Amazon, as the sandbox plays it: sign-in, the token endpoint, issued tokens.

- ``GET /ap/oa``: the consent page, which consents at once and redirects to
  ``redirect_uri`` with a one-use ``code`` (five minutes) and the ``state``; its errors
  are redirects too (``invalid_scope``, ``unsupported_response_type``), except for an
  unknown ``client_id`` or a missing ``redirect_uri`` (400: never redirect to an unknown
  place). A request with ``consent=deny`` plays a user who refuses (``access_denied``).
- ``POST /auth/o2/create/codepair``: a device code and a user code for code-based linking;
  ``GET /a/code`` is the page where a user enters the code (``?user_code=`` approves it).
- ``POST /auth/o2/token``: the ``refresh_token``, ``authorization_code`` (checking
  ``redirect_uri`` and the PKCE ``code_verifier``) and ``device_code`` grants.
- With ``rotate_refresh_tokens``, each refresh answers a new refresh token and the old one
  is refused with ``invalid_grant`` once ``rotation_grace`` seconds have passed.

It also checks the credentials of every API request (the ``x-api-key`` and the bearer
token), since it is the authority on which tokens are valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import math
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from ._config import SandboxConfig
from ._http import ApiError, Headers, Node, Redirect, Response, base_url, one, query, read_body

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "AUTHORIZE_PATH",
    "CODEPAIR_PATH",
    "DEFAULT_TOKEN_LIFETIME",
    "SCOPES",
    "TOKEN_PATH",
    "VERIFICATION_PATH",
    "LoginWithAmazonEndpoints",
]

TOKEN_PATH: Final = "/auth/o2/token"
AUTHORIZE_PATH: Final = "/ap/oa"
CODEPAIR_PATH: Final = "/auth/o2/create/codepair"
VERIFICATION_PATH: Final = "/a/code"
DEFAULT_TOKEN_LIFETIME: Final = 3600.0
CODE_LIFETIME: Final = 300.0
SCOPES: Final = frozenset(
    {
        "music::catalog",
        "music::library",
        "music::profile",
        "music::history",
        "music::playback",
        "profile",
        "profile:user_id",
        "postal_code",
    }
)
"""The scopes it grants (the Music pages' and LWA's profile scopes)."""
_USER_CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing to misread
_MAX_FORM_BYTES: Final = 64 * 1024
_NO_STORE: Final = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
_HTML: Final = "text/html; charset=utf-8"


@dataclass
class _AuthorizationCode:
    redirect_uri: str
    challenge: str | None
    method: str
    scopes: list[str]
    expires: float


@dataclass
class _Device:
    user_code: str
    scopes: list[str]
    created: float
    expires: float
    interval: float
    last_poll: float | None = None
    approved: bool = False
    denied: bool = False
    polls: int = field(default=0)


class LoginWithAmazonEndpoints:
    """Login with Amazon's endpoints and the credentials check of the API.

    Args:
        config: the credentials, ``token_lifetime`` and the sign-in options.
        clock: monotonic seconds; decides when issued tokens and codes expire.
    """

    paths: Final = frozenset({TOKEN_PATH, AUTHORIZE_PATH, CODEPAIR_PATH, VERIFICATION_PATH})
    """The paths it answers (never faulted, delayed nor redirected)."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._requests = 0
        self._issued: dict[str, float] = {}
        # Refresh tokens accepted, each with when it stops being accepted (None: never).
        self._refresh_tokens: dict[str, float | None] = {config.refresh_token: None}
        self._issued_refresh: list[str] = []
        self._codes: dict[str, _AuthorizationCode] = {}
        self._devices: dict[str, _Device] = {}  # by device code
        self._errors: Counter[str] = Counter()

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

    @property
    def issued_refresh_tokens(self) -> list[str]:
        """Refresh tokens issued (by sign-ins, code-based linking and rotation), in order."""
        with self._lock:
            return list(self._issued_refresh)

    @property
    def errors(self) -> dict[str, int]:
        """Error answers of the token endpoint, by their ``error`` code."""
        with self._lock:
            return dict(self._errors)

    def handle(self, environ: WSGIEnvironment, path: str) -> Response:
        """Answer a request to one of Login with Amazon's paths."""
        if path == AUTHORIZE_PATH:
            return self._authorize(environ)
        if path == VERIFICATION_PATH:
            return self._verification_page(environ)
        if path == CODEPAIR_PATH:
            return self._codepair(environ)
        return self._token(environ)

    # -- the token endpoint ---------------------------------------------------------------

    def _token(self, environ: WSGIEnvironment) -> Response:
        with self._lock:
            self._requests += 1
        if environ.get("REQUEST_METHOD") != "POST":
            return self._error(405, "invalid_request", "Use POST.", (("Allow", "POST"),))
        try:
            form = _read_form(environ)
            grant_type = one(form, "grant_type")
            values = {
                name: one(form, name)
                for name in (
                    "refresh_token",
                    "client_id",
                    "client_secret",
                    "code",
                    "redirect_uri",
                    "code_verifier",
                    "device_code",
                    "user_code",
                )
            }
        except ValueError as exc:
            return self._error(400, "invalid_request", str(exc))
        if grant_type == "refresh_token":
            return self._refresh_grant(values)
        if grant_type == "authorization_code":
            return self._code_grant(values)
        if grant_type == "device_code":
            return self._device_grant(values)
        return self._error(
            400,
            "unsupported_grant_type",
            "The sandbox supports grant_type=refresh_token, authorization_code and device_code.",
        )

    def _client_error(
        self, values: dict[str, str | None], *, secret: bool = True
    ) -> Response | None:
        """401 ``invalid_client`` unless the client id (and secret, if needed) are right."""
        config = self._config
        if not _same(values["client_id"], config.client_id):
            return self._error(401, "invalid_client", "Client authentication failed.")
        if secret and not _same(values["client_secret"], config.client_secret):
            return self._error(401, "invalid_client", "Client authentication failed.")
        return None

    def _refresh_grant(self, values: dict[str, str | None]) -> Response:
        missing = [
            name for name in ("refresh_token", "client_id", "client_secret") if not values[name]
        ]
        if missing:
            return self._error(
                400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}."
            )
        refused = self._client_error(values)
        if refused is not None:
            return refused
        given = values["refresh_token"] or ""
        now = self._clock()
        with self._lock:
            known = next((t for t in self._refresh_tokens if _same(given, t)), None)
            until = self._refresh_tokens.get(known, 0.0) if known is not None else 0.0
            if known is None or (until is not None and now >= until):
                valid = False
            else:
                valid = True
                if self._config.rotate_refresh_tokens:
                    if until is None:  # the first use of it: rotate it out
                        self._refresh_tokens[known] = now + self._config.rotation_grace
                    new = _new_refresh_token()
                    self._refresh_tokens[new] = None
                    self._issued_refresh.append(new)
                    known = new
        if not valid:
            return self._error(400, "invalid_grant", "The refresh token is invalid.")
        return Response(200, self.issue_token(known), _NO_STORE)

    def _code_grant(self, values: dict[str, str | None]) -> Response:
        missing = [name for name in ("code", "redirect_uri", "client_id") if not values[name]]
        if missing:
            return self._error(
                400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}."
            )
        if not values["client_secret"] and not values["code_verifier"]:
            return self._error(
                401, "invalid_client", "Send the client_secret, the code_verifier, or both."
            )
        refused = self._client_error(values, secret=bool(values["client_secret"]))
        if refused is not None:
            return refused
        with self._lock:
            grant = self._codes.pop(values["code"] or "", None)  # one use, right or wrong
        if grant is None or self._clock() >= grant.expires:
            return self._error(
                400, "invalid_grant", "The authorization code is invalid, used or expired."
            )
        if values["redirect_uri"] != grant.redirect_uri:
            return self._error(
                400, "invalid_grant", "The redirect_uri differs from the authorization request's."
            )
        if grant.challenge is not None:
            verifier = values["code_verifier"]
            if not verifier:
                return self._error(
                    400, "invalid_grant", "The code_verifier is missing (PKCE was used)."
                )
            if not _same(_challenge(verifier, grant.method), grant.challenge):
                return self._error(
                    400, "invalid_grant", "The code_verifier does not match the code_challenge."
                )
        return Response(200, self.issue_token(self._new_login()), _NO_STORE)

    def _device_grant(self, values: dict[str, str | None]) -> Response:
        missing = [name for name in ("device_code", "user_code") if not values[name]]
        if missing:
            return self._error(
                400, "invalid_request", f"Missing parameter(s): {', '.join(missing)}."
            )
        now = self._clock()
        with self._lock:
            device = self._devices.get(values["device_code"] or "")
            if device is None or not _same(values["user_code"], device.user_code):
                answer = ("invalid_grant", "The device code is invalid or was used.")
            elif now >= device.expires:
                answer = ("expired_token", "The device code has expired.")
            elif device.denied:
                del self._devices[values["device_code"] or ""]
                answer = ("access_denied", "The user refused to link the device.")
            else:
                too_soon = device.last_poll is not None and now - device.last_poll < device.interval
                device.last_poll = now
                device.polls += 1
                approved = device.approved or (
                    self._config.auto_approve_after is not None
                    and now >= device.created + self._config.auto_approve_after
                )
                if too_soon:
                    device.interval += 5  # as RFC 8628 asks of the client, for good
                    answer = ("slow_down", "Polling too fast: wait the interval between polls.")
                elif approved:
                    del self._devices[values["device_code"] or ""]
                    answer = None
                else:
                    answer = ("authorization_pending", "The user has not entered the code yet.")
        if answer is not None:
            return self._error(400, *answer)
        return Response(200, self.issue_token(self._new_login()), _NO_STORE)

    def _new_login(self) -> str:
        """A refresh token for a new sign-in (accepted until rotated)."""
        token = _new_refresh_token()
        with self._lock:
            self._refresh_tokens[token] = None
            self._issued_refresh.append(token)
        return token

    def issue_token(self, refresh_token: str | None = None) -> Node:
        """Issue an access token, as the token endpoint does; returns its token response."""
        lifetime = self._config.token_lifetime or DEFAULT_TOKEN_LIFETIME
        token = "Atza|" + secrets.token_urlsafe(270)
        with self._lock:
            self._issued[token] = self._clock() + lifetime
        return {
            "access_token": token,
            "refresh_token": refresh_token or self._config.refresh_token,
            "token_type": "bearer",
            "expires_in": math.ceil(lifetime),
        }

    def _error(self, status: int, error: str, description: str, headers: Headers = ()) -> Response:
        with self._lock:
            self._errors[error] += 1
        return _oauth_error(status, error, description, headers)

    # -- the consent page -----------------------------------------------------------------

    def _authorize(self, environ: WSGIEnvironment) -> Response:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _oauth_error(405, "invalid_request", "Use GET.", (("Allow", "GET"),))
        params = query(environ)
        try:
            client_id, redirect_uri, state = (
                one(params, name) for name in ("client_id", "redirect_uri", "state")
            )
            response_type, scope, challenge, method, consent = (
                one(params, name)
                for name in (
                    "response_type",
                    "scope",
                    "code_challenge",
                    "code_challenge_method",
                    "consent",
                )
            )
        except ValueError as exc:
            return _oauth_error(400, "invalid_request", str(exc))
        if not _same(client_id, self._config.client_id):
            return _oauth_error(400, "invalid_client", "Unknown client_id.")
        if not redirect_uri or not _is_http_url(redirect_uri):
            return _oauth_error(400, "invalid_request", "redirect_uri must be an http(s) URL.")

        def back(**answer: str) -> Response:
            if state is not None:
                answer["state"] = state
            separator = "&" if urlsplit(redirect_uri).query else "?"
            raise Redirect(f"{redirect_uri}{separator}{urlencode(answer)}")

        if response_type != "code":
            return back(error="unsupported_response_type", error_description="Use code.")
        scopes = (scope or "").split()
        if not scopes or any(s not in SCOPES for s in scopes):
            return back(error="invalid_scope", error_description="An unknown scope was requested")
        method = method or "plain"
        if method not in ("plain", "S256"):
            return back(
                error="invalid_request",
                error_description="code_challenge_method must be S256 or plain.",
            )
        if consent == "deny":
            return back(error="access_denied", error_description="The user denied the request.")
        code = "ANsandbox" + secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _AuthorizationCode(
                redirect_uri, challenge or None, method, scopes, self._clock() + CODE_LIFETIME
            )
        return back(code=code, scope=" ".join(scopes))

    # -- code-based linking ---------------------------------------------------------------

    def _codepair(self, environ: WSGIEnvironment) -> Response:
        if environ.get("REQUEST_METHOD") != "POST":
            return _oauth_error(405, "invalid_request", "Use POST.", (("Allow", "POST"),))
        try:
            form = _read_form(environ)
            response_type, client_id, scope = (
                one(form, name) for name in ("response_type", "client_id", "scope")
            )
        except ValueError as exc:
            return _oauth_error(400, "invalid_request", str(exc))
        if response_type != "device_code":
            return _oauth_error(400, "invalid_request", "response_type must be device_code.")
        if not _same(client_id, self._config.client_id):
            return _oauth_error(401, "invalid_client", "Unknown client_id.")
        scopes = (scope or "").split()
        if not scopes or any(s not in SCOPES for s in scopes):
            return _oauth_error(400, "invalid_scope", "An unknown scope was requested")
        config = self._config
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(6))
        now = self._clock()
        with self._lock:
            self._devices[device_code] = _Device(
                user_code,
                scopes,
                now,
                now + config.device_expires_in,
                float(config.device_interval),
            )
        answer = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": base_url(environ) + VERIFICATION_PATH,
            "expires_in": math.ceil(config.device_expires_in),
            "interval": config.device_interval,
        }
        return Response(200, answer, _NO_STORE)

    def approve_device(self, user_code: str, *, approve: bool = True) -> None:
        """Approve (or refuse) the device waiting with ``user_code``.

        Raises:
            ValueError: no device is waiting with this code (unknown, used or expired).
        """
        now = self._clock()
        with self._lock:
            for device in self._devices.values():
                if _same(user_code, device.user_code) and now < device.expires:
                    device.approved, device.denied = approve, not approve
                    return
        raise ValueError(f"no device is waiting with the code {user_code!r}")

    def _verification_page(self, environ: WSGIEnvironment) -> Response:
        """Where a user enters a code: a form, or (with ``user_code``) the approval."""
        try:
            user_code = one(query(environ), "user_code")
        except ValueError as exc:
            return _oauth_error(400, "invalid_request", str(exc))
        if user_code is None:
            text = (
                "<form><label>Amazon Music sandbox: enter the code shown on your device "
                "<input name=user_code autofocus></label> <button>Link</button></form>"
            )
            return _page(200, text)
        try:
            self.approve_device(user_code.strip().upper())
        except ValueError:
            return _page(404, f"No device is waiting with the code {html.escape(user_code)}.")
        return _page(200, "Your device is linked. You can close this tab.")

    # -- the API's credentials ------------------------------------------------------------

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


def _new_refresh_token() -> str:
    return "Atzr|" + secrets.token_urlsafe(96)


def _challenge(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    digest = hashlib.sha256(verifier.encode("utf-8", "surrogateescape")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.fragment


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


def _page(status: int, body_html: str) -> Response:
    page = (
        f"<!doctype html><meta charset=utf-8><title>Amazon Music sandbox</title><p>{body_html}</p>"
    ).encode()
    return Response(status, page, _NO_STORE, _HTML)
