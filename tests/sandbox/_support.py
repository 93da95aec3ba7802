"""Helpers of the sandbox tests: call the WSGI app directly (no sockets), a fake clock."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

from amazon_music_browse.sandbox._app import SandboxApp
from amazon_music_browse.sandbox._config import SandboxConfig

API_KEY = "sandbox-key"
ACCESS_TOKEN = "sandbox-token"
AUTH = {"x-api-key": API_KEY, "Authorization": f"Bearer {ACCESS_TOKEN}"}
LWA_FORM = {
    "grant_type": "refresh_token",
    "refresh_token": "sandbox-refresh",
    "client_id": "sandbox-client",
    "client_secret": "sandbox-secret",
}
MAX_LIMITS = {
    "/v1/browse/tracks/top": 20,
    "/v1/browse/playlists/top": 100,
    "/v1/browse/podcasts/episodes/new": 100,
    "/v1/browse/categories": 100,
    "/v1/browse/categories/E9UEPoEH/albums": 100,
    "/v1/browse/categories/hZiJ3FwS/playlists": 100,
    "/v1/browse/categories/E9UEPoEH/tracks": 100,
}


@dataclass
class Answer:
    """One response of the app: status, headers (lower-case names) and the parsed JSON."""

    status: int
    headers: dict[str, str]
    body: Any

    def collection(self) -> Any:
        """The Response Collection of the body, wherever it sits under ``data``."""
        data = self.body["data"]
        if "category" in data:
            data = data["category"]
        return next(value for value in data.values() if isinstance(value, dict))


def call(
    app: SandboxApp,
    path: str,
    query: Mapping[str, Any] | str = "",
    *,
    method: str = "GET",
    headers: Mapping[str, str] = AUTH,
    body: bytes = b"",
    content_type: str | None = None,
    environ_overrides: Mapping[str, str] | None = None,
) -> Answer:
    """Call the app as a PEP 3333 server would, checked by wsgiref's validator."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query if isinstance(query, str) else urlencode(query),
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ.update(environ_overrides or {})
    setup_testing_defaults(environ)
    started: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> Any:
        started.extend([status, response_headers])
        return lambda data: None

    result = validator(app)(environ, start_response)
    try:
        payload = b"".join(result)
    finally:
        result.close()  # type: ignore[attr-defined]
    status, response_headers = started
    return Answer(
        int(status.split()[0]),
        {name.lower(): value for name, value in response_headers},
        json.loads(payload),
    )


def token_request(app: SandboxApp, form: Mapping[str, str] = LWA_FORM) -> Answer:
    """POST a form to the LWA token endpoint."""
    return call(
        app,
        "/auth/o2/token",
        method="POST",
        headers={},
        body=urlencode(form).encode(),
        content_type="application/x-www-form-urlencoded",
    )


def page_through(app: SandboxApp, path: str, limit: int | None) -> list[str]:
    """Follow pageInfo.token to the end; checks every page's shape; returns the ids."""
    ids: list[str] = []
    query: dict[str, Any] = {} if limit is None else {"limit": limit}
    for _ in range(10_000):
        answer = call(app, path, query)
        assert answer.status == 200, answer.body
        page = answer.collection()
        edges = page["edges"]
        assert page["edgeCount"] == len(edges)
        assert 1 <= len(edges) <= (limit or MAX_LIMITS[path])
        ids.extend(edge["node"]["id"] for edge in edges)
        info = page["pageInfo"]
        if not info["hasNextPage"]:
            assert "token" not in info
            return ids
        query["cursor"] = info["token"]
    raise AssertionError("pagination did not end")


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_app(clock: FakeClock | None = None, **settings: Any) -> SandboxApp:
    """An app with the given SandboxConfig settings, and no real sleeping."""
    config = SandboxConfig(clock=clock or FakeClock(), **settings)
    return SandboxApp(config, sleep=lambda _: None)
