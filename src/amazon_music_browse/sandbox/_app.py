"""The sandbox's WSGI application: the Browse API and the LWA token endpoint.

Order of checks for an API request: count it, draw its fault (one draw per request, so
a seed fixes the sequence), wait the latency, answer an injected 429/5xx, redirect (when
``redirect_to`` is set), authenticate, route (404, then 405), validate ``limit`` and
``cursor`` (400), answer.

Faults below HTTP (a dropped connection, a truncated body, a stalled body) cannot be
expressed by a WSGI application: the app draws them like the others and names the one it
drew in ``environ[FAULT_ENVIRON_KEY]`` (a `SocketFault`); the server's handler carries
it out while it writes the answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, NamedTuple
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlsplit

from ._catalog import Catalog, Items, Node

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "FAULT_ENVIRON_KEY",
    "TOKEN_PATH",
    "CursorCodec",
    "SandboxApp",
    "SandboxConfig",
    "SocketFault",
]

TOKEN_PATH: Final = "/auth/o2/token"
DEFAULT_TOKEN_LIFETIME: Final = 3600.0
JSON_TYPE: Final = "application/json; charset=utf-8"
FAULT_ENVIRON_KEY: Final = "amazon_music_browse.sandbox.fault"
"""The WSGI environ key under which the app names the socket-level fault of a request."""
DEFAULT_STALL_SECONDS: Final = 60.0

_TOP_LEVEL_PATHS: Final[Mapping[str, str]] = {
    "/v1/browse/tracks/top": "topTracks",
    "/v1/browse/playlists/top": "topPlaylists",
    "/v1/browse/podcasts/episodes/new": "newPodcastEpisodes",
    "/v1/browse/categories": "browseCategories",
}
_CATEGORY_SEGMENTS: Final = ("", "v1", "browse", "categories")
RAW_URI: Final = "RAW_URI"
"""Environ key of the request target as sent (set by the sandbox's server)."""
_URL_SAFE: Final = "!$&'()*+,/:;=@~"  # sub-delimiters and the like, kept as sent in a URL
_CATEGORY_KEYS: Final = frozenset({"albums", "playlists", "tracks"})
_MAX_LIMITS: Final[Mapping[str, int]] = {"topTracks": 20}
_DEFAULT_MAX_LIMIT: Final = 100
_FAULTS: Final[Mapping[int, tuple[str, str]]] = {
    429: ("THROTTLED", "Rate exceeded: slow down (injected by the sandbox)."),
    500: ("INTERNAL", "Internal server error (injected by the sandbox)."),
    503: ("DEPENDENCY", "A downstream dependency failed (injected by the sandbox)."),
}
_REQUEST_NAMESPACE: Final = uuid.UUID("6f1c3d9e-2b7a-4c55-9e1f-3a8d2c4b5e60")
_MAX_FORM_BYTES: Final = 64 * 1024
_NO_STORE: Final = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
_FAULT_KEYS: Final = ("429", "500", "503", "drop", "truncate", "stall")
_RATES: Final = ("rate_limit_rate", "server_error_rate", "drop_rate", "truncate_rate", "stall_rate")

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class SandboxConfig:
    """The sandbox's credentials and fault settings, validated on creation.

    See `SandboxServer` for the meaning of each field. Credentials are left out of the repr.

    Raises:
        TypeError: a value has the wrong type.
        ValueError: a value is out of range.
    """

    api_key: str = field(default="sandbox-key", repr=False)
    access_token: str = field(default="sandbox-token", repr=False)
    client_id: str = field(default="sandbox-client", repr=False)
    client_secret: str = field(default="sandbox-secret", repr=False)
    refresh_token: str = field(default="sandbox-refresh", repr=False)
    latency: float = 0.0
    rate_limit_rate: float = 0.0
    server_error_rate: float = 0.0
    retry_after: int = 1
    token_lifetime: float | None = None
    seed: int = 0
    catalog_sizes: Mapping[str, int] | None = None
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = DEFAULT_STALL_SECONDS
    redirect_to: str | None = None

    def __post_init__(self) -> None:
        for name in ("api_key", "access_token", "client_id", "client_secret", "refresh_token"):
            _check_credential(name, getattr(self, name))
        _check_number("latency", self.latency, minimum=0.0)
        for name in _RATES:
            _check_number(name, getattr(self, name), minimum=0.0, maximum=1.0)
        total = sum(getattr(self, name) for name in _RATES)
        if total > 1.0:
            raise ValueError(
                f"the fault rates ({' + '.join(_RATES)}) must not exceed 1 in total, got {total:g}"
            )
        _check_number("stall_seconds", self.stall_seconds, minimum=0.0)
        if self.redirect_to is not None:
            _check_redirect_to(self.redirect_to)
        _check_int("retry_after", self.retry_after)
        if self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after}")
        if self.token_lifetime is not None:
            _check_number("token_lifetime", self.token_lifetime, minimum=0.0)
            if self.token_lifetime == 0:
                raise ValueError("token_lifetime must be > 0, or None for 3600 s tokens")
        _check_int("seed", self.seed)


def _check_credential(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value or any(char.isspace() for char in value):
        raise ValueError(f"{name} must be a non-empty string without whitespace")


def _check_redirect_to(value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"redirect_to must be a str or None, not {type(value).__name__}")
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("redirect_to must not contain whitespace or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as exc:
        raise ValueError(f"redirect_to is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"redirect_to must be an http:// or https:// URL, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("redirect_to must not carry a user name or password")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError("redirect_to must not have a query or a fragment")


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def _check_number(name: str, value: object, *, minimum: float, maximum: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not (minimum <= value <= maximum and math.isfinite(value)):
        bounds = f"from {minimum:g} to {maximum:g}" if math.isfinite(maximum) else f">= {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}")


class CursorCodec:
    """Opaque page tokens: ``base64url("<offset>:<scope>") + "." + base64url(HMAC)``.

    The scope names the collection (``topTracks``, ``category/<id>/tracks``), so a token
    is refused on any other collection; the HMAC, keyed by the seed, makes tokens
    unforgeable yet stable across restarts of a sandbox with the same seed.
    """

    _SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{1,40}")

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"amazon-music-browse-sandbox/{seed}/cursors".encode()).digest()

    def encode(self, scope: str, offset: int) -> str:
        """Return the token for the page of ``scope`` that starts at ``offset``."""
        payload = f"{offset}:{scope}".encode()
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, scope: str, token: str) -> int | None:
        """Return the offset in a token made for ``scope``, or None for any other string."""
        if not self._SHAPE.fullmatch(token):
            return None
        body, _, signature = token.partition(".")
        try:
            payload, mac = _b64decode(body), _b64decode(signature)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._sign(payload)):
            return None
        offset, _, token_scope = payload.decode().partition(":")
        return int(offset) if token_scope == scope else None

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:12]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SocketFault(NamedTuple):
    """A fault the server's handler carries out on the connection of one API request.

    ``kind`` is one of:

    - ``"drop"``: close the connection before sending any byte;
    - ``"drop-after-headers"``: send the status line and the headers up to and including
      ``Content-Length`` (no blank line), then close the connection;
    - ``"truncate"``: send every header, then half of the body, then close the connection;
    - ``"stall"``: send every header, wait ``seconds``, then send the body and close the
      connection.
    """

    kind: str
    seconds: float = 0.0


class _Route(NamedTuple):
    key: str  # the collection key, or "category" for the category itself
    category_id: str | None


class _Redirect(Exception):
    """A ``302 Found`` answer to ``location``."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class _Fail(Exception):
    """An API error answer: raised anywhere below `SandboxApp._api`."""

    def __init__(
        self, status: int, code: str, message: str, headers: Headers | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or []

    def body(self, reference: str) -> Node:
        return {
            "error": {
                "status": str(self.status),
                "code": self.code,
                "message": self.message,
                "reference": reference,
            }
        }


class SandboxApp:
    """A WSGI application that answers like the documented Browse API.

    Args:
        config: Credentials and fault settings; defaults to ``SandboxConfig()``.
        clock: Seconds on a monotonic clock; decides when issued tokens expire.
        sleep: Waits the configured latency; the server passes one that stops waiting
            when it shuts down.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.catalog = Catalog(self.config.seed, self.config.catalog_sizes)
        self.cursors = CursorCodec(self.config.seed)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._fault_rng = random.Random(self.config.seed)
        self._sequence = 0
        self._request_count = 0
        self._token_requests = 0
        self._faults = dict.fromkeys(_FAULT_KEYS, 0)
        self._issued: dict[str, float] = {}

    @property
    def request_count(self) -> int:
        """API requests received (every request but the token endpoint's)."""
        with self._lock:
            return self._request_count

    @property
    def token_requests(self) -> int:
        """Requests received by the token endpoint."""
        with self._lock:
            return self._token_requests

    @property
    def faults(self) -> dict[str, int]:
        """Injected faults by kind.

        ``{"429": n, "500": n, "503": n, "drop": n, "truncate": n, "stall": n}``; every
        key is always present.
        """
        with self._lock:
            return dict(self._faults)

    @property
    def issued_tokens(self) -> dict[str, float]:
        """Access tokens issued by the token endpoint, with their expiry on ``clock``."""
        with self._lock:
            return dict(self._issued)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        with self._lock:
            self._sequence += 1
            request_id = str(uuid.uuid5(_REQUEST_NAMESPACE, str(self._sequence)))
        status, headers, body = self._dispatch(environ, request_id)
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", JSON_TYPE),
                ("Content-Length", str(len(payload))),
                ("x-amzn-RequestId", request_id),
                *headers,
            ],
        )
        return [payload]

    def _dispatch(self, environ: WSGIEnvironment, request_id: str) -> tuple[int, Headers, Node]:
        path = _path(environ)
        if path == TOKEN_PATH:
            return self._token_endpoint(environ)
        try:
            return 200, [], self._api(environ, path)
        except _Fail as fail:
            return fail.status, fail.headers, fail.body(request_id)
        except _Redirect as redirect:
            location = redirect.location
            return 302, [("Location", location)], {"message": f"Moved to {location}."}

    # --- the Browse API -----------------------------------------------------------------

    def _api(self, environ: WSGIEnvironment, path: str) -> Node:
        fault = self._count_request()
        if self.config.latency:
            self._sleep(self.config.latency)
        if isinstance(fault, _Fail):
            raise fault
        if fault is not None:
            environ[FAULT_ENVIRON_KEY] = fault
        if self.config.redirect_to is not None:
            raise _Redirect(_redirect_location(self.config.redirect_to, environ))
        self._authenticate(environ)
        route = _route(_segments(environ))
        if route is None:
            raise _Fail(404, "RESOURCE_NOT_FOUND", f"No resource at {path}.")
        method = environ.get("REQUEST_METHOD", "GET")
        if method != "GET":
            raise _Fail(
                405,
                "METHOD_NOT_ALLOWED",
                f"Method {method} is not allowed on {path}; use GET.",
                [("Allow", "GET")],
            )
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        try:
            limit, cursor = _one(query, "limit"), _one(query, "cursor")
        except ValueError as exc:
            raise _Fail(400, "BAD_REQUEST", str(exc)) from None
        return self._answer(route, limit, cursor)

    def _count_request(self) -> _Fail | SocketFault | None:
        """Count an API request and draw its fault: an error answer, a socket fault, or None.

        One draw per request, compared with the rates stacked in a fixed order (429, 5xx,
        drop, truncate, stall), so a seed fixes the whole sequence and adding a rate
        never changes which requests the earlier ones hit.
        """
        config = self.config
        with self._lock:
            self._request_count += 1
            draw = self._fault_rng.random()
            edge = 0.0
            for name in _RATES:
                edge += getattr(config, name)
                if draw < edge:
                    break
            else:
                return None
            if name == "rate_limit_rate":
                status = 429
            elif name == "server_error_rate":
                status = 503 if (self._faults["500"] + self._faults["503"]) % 2 == 0 else 500
            else:
                kind = name.removesuffix("_rate")
                if kind == "drop" and self._faults["drop"] % 2 == 1:
                    fault = SocketFault("drop-after-headers")
                else:
                    fault = SocketFault(kind, config.stall_seconds if kind == "stall" else 0.0)
                self._faults[kind] += 1
                return fault
            self._faults[str(status)] += 1
        code, message = _FAULTS[status]
        return _Fail(status, code, message, [("Retry-After", str(config.retry_after))])

    def _authenticate(self, environ: WSGIEnvironment) -> None:
        api_key = environ.get("HTTP_X_API_KEY", "")
        if not api_key:
            raise _Fail(401, "NO_X_API_KEY", "Missing x-api-key header (the security profile ID).")
        if not _same(api_key, self.config.api_key):
            raise _Fail(
                401, "INVALID_CLIENT_ID", "The x-api-key is not a known security profile ID."
            )
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer":
            raise _Fail(
                401, "INVALID_AUTH_TYPE", "The Authorization header must be 'Bearer <token>'."
            )
        token = token.strip()
        if not token:
            raise _Fail(401, "INVALID_AUTH_TOKEN", "The bearer token is empty.")
        if self.config.token_lifetime is None and _same(token, self.config.access_token):
            return
        with self._lock:
            expiry = self._issued.get(token)
        if expiry is None:
            raise _Fail(401, "INVALID_ACCESS_TOKEN", "The access token is not valid.")
        if self._clock() >= expiry:
            raise _Fail(401, "INVALID_ACCESS_TOKEN", "The access token has expired.")

    def _answer(self, route: _Route, limit: str | None, cursor: str | None) -> Node:
        if route.category_id is None:
            items = self.catalog.items(route.key)
            page = self._page(route.key, route.key, items, limit, cursor)
            return {"data": {route.key: page}}
        category = self.catalog.category(route.category_id)
        if category is None:
            raise _Fail(404, "RESOURCE_NOT_FOUND", f"No category with id {route.category_id!r}.")
        if route.key == "category":
            return {"data": {"category": category}}
        items = self.catalog.items(route.key, route.category_id)
        scope = f"category/{route.category_id}/{route.key}"
        page = self._page(scope, route.key, items, limit, cursor)
        return {
            "data": {
                "category": {
                    "id": category["id"],
                    "name": category["name"],
                    "url": category["url"],
                    route.key: page,
                }
            }
        }

    def _page(
        self, scope: str, key: str, items: Items, limit: str | None, cursor: str | None
    ) -> Node:
        size = _limit(limit, _MAX_LIMITS.get(key, _DEFAULT_MAX_LIMIT))
        offset = self._offset(scope, cursor)
        nodes = items.slice(offset, offset + size)
        end = offset + len(nodes)
        page_info: Node = {"hasNextPage": end < items.size}
        if end < items.size:
            page_info["token"] = self.cursors.encode(scope, end)
        if key == "browseCategories":
            edges = [
                {"node": node, "cursor": f"{offset + i}:{node['id']}"}
                for i, node in enumerate(nodes)
            ]
        else:
            edges = [{"node": node} for node in nodes]
        return {"pageInfo": page_info, "edgeCount": len(edges), "edges": edges}

    def _offset(self, scope: str, cursor: str | None) -> int:
        if cursor is None:
            return 0
        offset = self.cursors.decode(scope, cursor)
        if offset is None:
            raise _Fail(
                400,
                "BAD_REQUEST",
                "Invalid cursor: pass a pageInfo.token of this same collection.",
            )
        return offset

    # --- Login with Amazon token endpoint ---------------------------------------------

    def _token_endpoint(self, environ: WSGIEnvironment) -> tuple[int, Headers, Node]:
        with self._lock:
            self._token_requests += 1
        if environ.get("REQUEST_METHOD") != "POST":
            return _oauth_error(405, "invalid_request", "Use POST.", [("Allow", "POST")])
        try:
            form = _read_form(environ)
            grant_type = _one(form, "grant_type")
            values = {
                name: _one(form, name) for name in ("refresh_token", "client_id", "client_secret")
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
        config = self.config
        client_ok = _same(values["client_id"], config.client_id)
        if not (client_ok and _same(values["client_secret"], config.client_secret)):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        if not _same(values["refresh_token"], config.refresh_token):
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid.")
        return 200, list(_NO_STORE), self.issue_token()

    def issue_token(self) -> Node:
        """Issue an access token, as the token endpoint does; returns its token answer."""
        lifetime = self.config.token_lifetime or DEFAULT_TOKEN_LIFETIME
        token = "Atza|" + secrets.token_urlsafe(270)
        with self._lock:
            self._issued[token] = self._clock() + lifetime
        return {
            "access_token": token,
            "refresh_token": self.config.refresh_token,
            "token_type": "bearer",
            "expires_in": math.ceil(lifetime),
        }


def _path(environ: WSGIEnvironment) -> str:
    """PATH_INFO as text (decoded once: PEP 3333 servers hand it over as latin-1)."""
    return _text(_wsgi_bytes(environ.get("PATH_INFO", "")))


def _wsgi_bytes(text: str) -> bytes:
    """The bytes a WSGI string stands for: latin-1 (PEP 3333), or UTF-8 if already decoded."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _text(raw: bytes) -> str:
    """Bytes of a URL as text: UTF-8, else latin-1 (so nothing is lost or replaced)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _target(environ: WSGIEnvironment) -> tuple[str, str] | None:
    """The path and query of the request target as sent (still encoded), or None.

    None when the server did not pass ``RAW_URI`` (the app called directly).
    """
    raw: str | None = environ.get(RAW_URI)
    if raw is None:
        return None
    if not raw.startswith("/"):  # absolute-form, as sent to a proxy
        parts = urlsplit(raw)
        return parts.path, parts.query
    path, _, query = raw.partition("?")  # origin-form: "//x" is a path, not a host
    return path, query


def _redirect_location(redirect_to: str, environ: WSGIEnvironment) -> str:
    """``redirect_to`` + the request's path + ``?`` + its query, as the client sent them.

    Only what may not appear in a URL is percent-encoded; an escape such as the ``%2F`` of
    an id stays as it was, so the path keeps its segments.
    """
    target = _target(environ)
    if target is None:  # only the decoded path is known: encode it again
        path = quote(_wsgi_bytes(environ.get("PATH_INFO", "")), safe=_URL_SAFE)
        query = environ.get("QUERY_STRING", "")
    else:
        path = quote(_wsgi_bytes(target[0]), safe=_URL_SAFE + "%")
        query = target[1]
    query = quote(_wsgi_bytes(query), safe=_URL_SAFE + "%?")
    return redirect_to.rstrip("/") + path + (f"?{query}" if query else "")


def _segments(environ: WSGIEnvironment) -> list[str]:
    """The path's segments, each decoded on its own, so an encoded ``/`` stays in its segment.

    Without ``RAW_URI`` (the app called directly), the decoded ``PATH_INFO`` is split.
    """
    target = _target(environ)
    if target is None:
        return _path(environ).split("/")
    return [_text(unquote_to_bytes(_wsgi_bytes(part))) for part in target[0].split("/")]


def _route(segments: list[str]) -> _Route | None:
    path = "/".join(segments)
    if path in _TOP_LEVEL_PATHS and len(segments) == path.count("/") + 1:
        return _Route(_TOP_LEVEL_PATHS[path], None)
    size = len(_CATEGORY_SEGMENTS)
    head, rest = tuple(segments[:size]), segments[size:]
    if head != _CATEGORY_SEGMENTS or not rest or not rest[0] or len(rest) > 2:
        return None
    if len(rest) == 2 and rest[1] not in _CATEGORY_KEYS:
        return None
    return _Route(rest[1] if len(rest) == 2 else "category", rest[0])


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    """The single value of a parameter, or None; ValueError when it is repeated."""
    values = params.get(name)
    if values is None:
        return None
    if len(values) > 1:
        raise ValueError(f"{name} must be given at most once")
    return values[0]


def _limit(value: str | None, maximum: int) -> int:
    if value is None:
        return maximum
    if re.fullmatch(r"[0-9]{1,9}", value) and 1 <= int(value) <= maximum:
        return int(value)
    raise _Fail(
        400, "BAD_REQUEST", f"Invalid limit {value[:40]!r}: must be an integer from 1 to {maximum}."
    )


def _read_form(environ: WSGIEnvironment) -> dict[str, list[str]]:
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ValueError("The body must be application/x-www-form-urlencoded.")
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdecimal() or int(length) > _MAX_FORM_BYTES:
        raise ValueError(f"Invalid Content-Length, or over {_MAX_FORM_BYTES} bytes.")
    body: bytes = environ["wsgi.input"].read(int(length))
    return parse_qs(body.decode("latin-1"), keep_blank_values=True)


def _same(given: str | None, expected: str) -> bool:
    """Compare a credential in constant time."""
    return given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), expected.encode()
    )


def _oauth_error(
    status: int, error: str, description: str, headers: Headers | None = None
) -> tuple[int, Headers, Node]:
    return (
        status,
        [*_NO_STORE, *(headers or [])],
        {"error": error, "error_description": description},
    )
