"""A small loopback server that speaks HTTP caching, for the response cache's tests.

``GET /v1/browse/tracks/top?limit=N`` answers a page of N top tracks whose titles carry
the server's ``version``; with ``etag`` on it sends ``ETag`` (a hash of the body) and
answers ``304 Not Modified`` to a matching ``If-None-Match``. ``cache_control`` is sent
as is when set. ``fail`` makes it answer 503 (or, with ``"drop"``, close the connection
unanswered); ``echo`` puts the ``x-api-key`` it received into the body. It counts what
it received, and keeps the headers of the last request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests._support import LoopbackServer

__all__ = ["ETagServer"]

TOP_TRACKS_PATH = "/v1/browse/tracks/top"


class ETagServer:
    """``with ETagServer() as server: server.url`` — settings may change between requests."""

    def __init__(
        self, *, etag: bool = True, cache_control: str | None = "private, max-age=60"
    ) -> None:
        self.etag = etag
        self.cache_control = cache_control
        self.version = 1
        self.fail: int | str | None = None
        self.echo = False
        self.requests = 0
        self.conditional = 0
        self.not_modified = 0
        self.last_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handler())
        self.url = self._server.url  # e.g. http://127.0.0.1:40123

    def __enter__(self) -> ETagServer:
        self._server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.stop()

    def body(self, limit: int, api_key: str) -> bytes:
        """The page this server answers now."""
        edges = [
            {"node": {"id": f"T{index}", "title": f"Track {index} (version {self.version})"}}
            for index in range(limit)
        ]
        page: dict[str, Any] = {"pageInfo": {"hasNextPage": False}, "edges": edges}
        if self.echo:
            page["echo"] = f"you sent {api_key}"
        return json.dumps({"data": {"topTracks": page}}).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                self.do_GET()

            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                    server.last_headers = dict(self.headers.items())
                    if self.headers.get("If-None-Match"):
                        server.conditional += 1
                if server.fail == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if server.fail is not None:
                    self._send(int(server.fail), json.dumps({"error": {"status": "503"}}).encode())
                    return
                parts = urlsplit(self.path)
                limit = int(parse_qs(parts.query).get("limit", ["3"])[0])
                body = server.body(limit, self.headers.get("x-api-key", ""))
                tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                headers = {"Content-Type": "application/json"}
                if server.etag:
                    headers["ETag"] = tag
                if server.cache_control is not None:
                    headers["Cache-Control"] = server.cache_control
                if server.etag and self.headers.get("If-None-Match") == tag:
                    with server._lock:
                        server.not_modified += 1
                    self._send(304, b"", headers)
                    return
                self._send(200, body, headers)

            def _send(
                self, status: int, body: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {"Content-Type": "application/json"}).items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
