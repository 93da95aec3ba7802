"""A fast canned HTTP/1.1 server of the Browse JSON, for the benchmarks only.

It is not the package's sandbox: it checks no credential, has no fault injection and
serves bodies serialised once, so that the server is never what a benchmark measures.
An ``asyncio.Protocol`` answers each ``GET`` on a keep-alive connection with bytes
cached by request target.

Collections (cursors encode the offset of the page, e.g. ``o.40``):

- ``GET /v1/browse/tracks/top?limit=20[&cursor=...]``: 1,000 tracks, pages of 1..20.
- ``GET /v1/browse/playlists/top?limit=100[&cursor=...]``: 1,000 playlists with images,
  pages of 1..100.
- ``GET /v1/browse/categories/bench-long/tracks?limit=100[&cursor=...]``: 100,000 tracks,
  pages of 1..100, for the memory benchmark.

Latency: ``--latency-ms N`` delays every answer by ``N`` ms; a ``delay_ms=N`` query
parameter overrides it for one request. Delays are timers, so a slow answer never holds
up another connection.

Run it as ``python benchmarks/_server.py [--port 0] [--latency-ms 20]``: it prints its
port on the first line of stdout once it listens on 127.0.0.1. :class:`ServerProcess`
does that from Python, in a subprocess of its own, so that neither the GIL nor
``tracemalloc`` of the benchmark process sees the server's work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
LONG_CATEGORY = "bench-long"
TOP_TRACKS_PATH = "/v1/browse/tracks/top"
TOP_PLAYLISTS_PATH = "/v1/browse/playlists/top"
LONG_PATH = f"/v1/browse/categories/{LONG_CATEGORY}/tracks"

_MAX_HEAD = 16 * 1024
_MAX_CACHED = 8192
_MAX_DELAY_MS = 10_000
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


def _asin(prefix: str, index: int) -> str:
    return f"B0{prefix}{index:07X}"


_TITLES = ("Beggin' [Explicit]", "Heat Waves", "As It Was", "Blinding Lights", "Levitating")


def track(index: int) -> dict[str, Any]:
    """The track at ``index`` of a canned collection."""
    asin = _asin("T", index)
    return {
        "id": asin,
        "title": f"{_TITLES[index % len(_TITLES)]} #{index}",
        "url": f"https://music.amazon.com/albums/{_asin('A', index // 12)}/?trackAsin={asin}",
    }


def playlist(index: int) -> dict[str, Any]:
    """The playlist at ``index`` of a canned collection: documented fields and one image."""
    asin = _asin("P", index)
    side = (500, 1280, 2560)[index % 3]
    return {
        "id": asin,
        "duration": 1800 + 37 * index,
        "images": [
            {
                "height": side // 2 if side == 2560 else side,
                "width": side,
                "url": f"https://m.media-amazon.com/images/I/{asin}L.jpg",
            }
        ],
        "title": f"Happy Modern Pop {index}",
        "trackCount": 25 + index % 90,
        "url": f"https://music.amazon.com/playlists/{asin}",
    }


@dataclass(frozen=True)
class Collection:
    """A canned collection: its size, page bounds, items and where its page sits."""

    total: int
    max_limit: int
    item: Callable[[int], dict[str, Any]]
    wrap: Callable[[dict[str, Any]], dict[str, Any]]

    def page(self, limit: int, offset: int) -> dict[str, Any]:
        """The answer for ``limit`` items from ``offset``."""
        end = min(self.total, offset + limit)
        edges = [{"node": self.item(index)} for index in range(offset, end)]
        page_info: dict[str, Any] = {"hasNextPage": end < self.total}
        if end < self.total:
            page_info["token"] = f"o.{end}"
        collection = {"pageInfo": page_info, "edgeCount": len(edges), "edges": edges}
        return self.wrap(collection)


COLLECTIONS: dict[str, Collection] = {
    TOP_TRACKS_PATH: Collection(1_000, 20, track, lambda c: {"data": {"topTracks": c}}),
    TOP_PLAYLISTS_PATH: Collection(1_000, 100, playlist, lambda c: {"data": {"topPlaylists": c}}),
    LONG_PATH: Collection(
        100_000,
        100,
        track,
        lambda c: {"data": {"category": {"id": LONG_CATEGORY, "name": "Long", "tracks": c}}},
    ),
}


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    body = {"error": {"status": status, "code": code, "message": message}}
    return status, json.dumps(body, separators=(",", ":")).encode()


def _response(status: int, body: bytes, *, close: bool = False) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    )
    return head.encode("ascii") + body


class CannedApp:
    """Turns a request target into the bytes of a whole HTTP response, cached."""

    def __init__(self, latency_ms: int = 0) -> None:
        self.latency_ms = latency_ms
        self._cache: dict[bytes, tuple[bytes, float]] = {}

    def respond(self, target: bytes) -> tuple[bytes, float]:
        """``(response bytes, delay in seconds)`` for the target of a ``GET``."""
        cached = self._cache.get(target)
        if cached is None:
            cached = self._build(target.decode("latin-1"))
            if len(self._cache) < _MAX_CACHED:
                self._cache[target] = cached
        return cached

    def _build(self, target: str) -> tuple[bytes, float]:
        parts = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        delay_ms = self.latency_ms
        if "delay_ms" in query:
            try:
                delay_ms = min(_MAX_DELAY_MS, max(0, int(query["delay_ms"])))
            except ValueError:
                return _response(*_error(400, "INVALID_PARAMETER", "bad delay_ms")), 0.0
        status, body = self._answer(parts.path, query)
        return _response(status, body), delay_ms / 1000

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        collection = COLLECTIONS.get(path)
        if collection is None:
            return _error(404, "RESOURCE_NOT_FOUND", f"no such path: {path}")
        try:
            limit = int(query.get("limit", collection.max_limit))
            cursor = query.get("cursor")
            offset = int(cursor.removeprefix("o.")) if cursor is not None else 0
        except ValueError:
            return _error(400, "INVALID_PARAMETER", "limit and cursor must be numbers")
        if not 1 <= limit <= collection.max_limit:
            return _error(400, "INVALID_PARAMETER", f"limit must be 1..{collection.max_limit}")
        if not 0 <= offset < collection.total:
            return _error(400, "INVALID_PARAMETER", "cursor out of range")
        page = collection.page(limit, offset)
        return 200, json.dumps(page, separators=(",", ":")).encode()


def _has_body(headers: bytes) -> bool:
    for line in headers.lower().split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip() == b"transfer-encoding" or (
            name.strip() == b"content-length" and value.strip() != b"0"
        ):
            return True
    return False


class _HTTPProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive for clients that send one ``GET`` at a time (no bodies)."""

    def __init__(self, app: CannedApp) -> None:
        self._app = app
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    self._transport.close()
                return
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            self._handle(head)

    def _handle(self, head: bytes) -> None:
        assert self._transport is not None
        request_line, _, headers = head.partition(b"\r\n")
        words = request_line.split(b" ")
        if len(words) != 3 or words[0] != b"GET" or _has_body(headers):
            status, body = _error(405, "METHOD_NOT_ALLOWED", "only GET without a body")
            self._transport.write(_response(status, body, close=True))
            self._transport.close()
            return
        response, delay = self._app.respond(words[1])
        if delay > 0:
            self._loop.call_later(delay, self._write, response)
        else:
            self._transport.write(response)

    def _write(self, response: bytes) -> None:
        if self._transport is not None:
            self._transport.write(response)


async def serve(port: int, latency_ms: int, ready: Callable[[int], None]) -> None:
    """Serve on ``127.0.0.1:port`` until cancelled; ``ready(port)`` once listening."""
    app = CannedApp(latency_ms)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _HTTPProtocol(app), HOST, port, backlog=128)
    async with server:
        ready(server.sockets[0].getsockname()[1])
        await server.serve_forever()


class ServerProcess:
    """The canned server in a subprocess: ``with ServerProcess() as server: server.url``."""

    def __init__(self, latency_ms: int = 0) -> None:
        self.latency_ms = latency_ms
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> ServerProcess:
        command = [sys.executable, str(Path(__file__).resolve()), "--port", "0"]
        command += ["--latency-ms", str(self.latency_ms)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self._stop()
            raise RuntimeError(f"the canned server did not start (printed {line!r})")
        self.port = int(line)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._process = None


def main(argv: list[str] | None = None) -> None:
    """Command line: serve until interrupted, printing the port first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay of every answer")
    args = parser.parse_args(argv)

    def ready(port: int) -> None:
        print(port, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.latency_ms, ready))


if __name__ == "__main__":
    main()
