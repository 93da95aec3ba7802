"""HTTP plumbing of the sandbox's WSGI app: reading requests and the shape of a response.

The app routes on the request target as sent (``RAW_URI``, set by the sandbox's server),
split into segments and each segment decoded on its own, so an id holding an encoded
``/`` stays one segment. Called directly (without ``RAW_URI``), the decoded
``PATH_INFO`` is split instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import parse_qs, quote, unquote_to_bytes, urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "JSON_TYPE",
    "RAW_URI",
    "ApiError",
    "Headers",
    "Node",
    "Redirect",
    "Response",
    "base_url",
    "json_body",
    "one",
    "path_text",
    "query",
    "read_body",
    "redirect_location",
    "segments",
    "split_path",
]

JSON_TYPE: Final = "application/json; charset=utf-8"
RAW_URI: Final = "RAW_URI"
"""Environ key of the request target as sent (set by the sandbox's server)."""
_URL_SAFE: Final = "!$&'()*+,/:;=@~"  # sub-delimiters and the like, kept as sent in a URL
_HOST: Final = r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]"

Headers = tuple[tuple[str, str], ...]
Node = dict[str, Any]


class Response(NamedTuple):
    """A response of the app: a JSON-shaped body, or bytes of ``content_type``."""

    status: int
    body: Any
    headers: Headers = ()
    content_type: str = JSON_TYPE

    def payload(self) -> bytes:
        """The body's bytes."""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


class ApiError(Exception):
    """An API error response with the documented error object; raised anywhere below the app."""

    def __init__(self, status: int, code: str, message: str, headers: Headers = ()) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers

    def response(self, reference: str) -> Response:
        """The response: ``{"error": {status, code, message, reference}}``."""
        error = {
            "status": str(self.status),
            "code": self.code,
            "message": self.message,
            "reference": reference,
        }
        return Response(self.status, {"error": error}, self.headers)


class Redirect(Exception):
    """A ``302 Found`` response to ``location``."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location

    def response(self) -> Response:
        """The response, with a ``Location`` header and a one-line JSON body."""
        location = self.location
        return Response(302, {"message": f"Moved to {location}."}, (("Location", location),))


def path_text(environ: WSGIEnvironment) -> str:
    """PATH_INFO as text (decoded once: PEP 3333 servers hand it over as latin-1)."""
    return _text(_wsgi_bytes(environ.get("PATH_INFO", "")))


def segments(environ: WSGIEnvironment) -> list[str]:
    """The path's segments, each decoded on its own, so an encoded ``/`` stays in its segment."""
    target = _target(environ)
    if target is None:
        return path_text(environ).split("/")
    return split_path(target[0])


def split_path(path: str) -> list[str]:
    """An encoded path's segments, each percent-decoded (UTF-8, else latin-1)."""
    return [_text(unquote_to_bytes(_wsgi_bytes(part))) for part in path.split("/")]


def query(environ: WSGIEnvironment) -> dict[str, list[str]]:
    """The query's parameters (blank values kept)."""
    return parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def one(params: Mapping[str, list[str]], name: str) -> str | None:
    """The single value of a parameter, or None; ValueError when it is repeated."""
    values = params.get(name)
    if values is None:
        return None
    if len(values) > 1:
        raise ValueError(f"{name} must be given at most once")
    return values[0]


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes; ValueError for a bad or larger length."""
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdecimal() or int(length) > limit:
        raise ValueError(f"Invalid Content-Length, or over {limit} bytes.")
    body: bytes = environ["wsgi.input"].read(int(length))
    return body


def json_body(environ: WSGIEnvironment, limit: int) -> Any:
    """The request's JSON body, or None when there is none.

    Raises:
        ApiError: 400 for a body that is not JSON or is too large.
    """
    try:
        body = read_body(environ, limit)
        return json.loads(body) if body.strip() else None
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(400, "BAD_REQUEST", f"The body is not JSON: {exc}") from None


def base_url(environ: WSGIEnvironment) -> str:
    """The URL the client reached the app at: ``http://`` + its ``Host`` header.

    A missing or malformed ``Host`` falls back to the server's own name and port.
    """
    host = environ.get("HTTP_HOST", "")
    if not re.fullmatch(rf"(?:{_HOST})(?::[0-9]{{1,5}})?", host):
        name, port = environ.get("SERVER_NAME", "127.0.0.1"), environ.get("SERVER_PORT", "80")
        host = f"[{name}]:{port}" if ":" in name else f"{name}:{port}"
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


def redirect_location(redirect_to: str, environ: WSGIEnvironment) -> str:
    """``redirect_to`` + the request's path + ``?`` + its query, as the client sent them.

    Only what may not appear in a URL is percent-encoded; an escape such as the ``%2F`` of
    an id stays as it was, so the path keeps its segments.
    """
    target = _target(environ)
    if target is None:  # only the decoded path is known: encode it again
        path = quote(_wsgi_bytes(environ.get("PATH_INFO", "")), safe=_URL_SAFE)
        raw_query = environ.get("QUERY_STRING", "")
    else:
        path = quote(_wsgi_bytes(target[0]), safe=_URL_SAFE + "%")
        raw_query = target[1]
    raw_query = quote(_wsgi_bytes(raw_query), safe=_URL_SAFE + "%?")
    return redirect_to.rstrip("/") + path + (f"?{raw_query}" if raw_query else "")


def _target(environ: WSGIEnvironment) -> tuple[str, str] | None:
    """The path and query of the request target as sent (still encoded), or None."""
    raw: str | None = environ.get(RAW_URI)
    if raw is None:
        return None
    if not raw.startswith("/"):  # absolute-form, as sent to a proxy
        parts = urlsplit(raw)
        return parts.path, parts.query
    path, _, raw_query = raw.partition("?")  # origin-form: "//x" is a path, not a host
    return path, raw_query


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
