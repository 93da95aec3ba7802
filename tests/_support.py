"""Helpers shared by the test modules: credentials, clients, page builders, a fake clock,
a loopback HTTP server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from amazon_music_browse import BrowseClient

API_KEY = "test-api-key-9f2c"
ACCESS_TOKEN = "Atza|test-access-token-41d7"
BASE_URL = "https://api.music.amazon.dev"

__all__ = [
    "ACCESS_TOKEN",
    "API_KEY",
    "BASE_URL",
    "CATEGORY",
    "TOP_PLAYLISTS",
    "TOP_TRACKS",
    "FakeClock",
    "LoopbackServer",
    "error_body",
    "make_client",
    "tracks_page",
]

TOP_TRACKS = BASE_URL + "/v1/browse/tracks/top"
TOP_PLAYLISTS = BASE_URL + "/v1/browse/playlists/top"
CATEGORY = BASE_URL + "/v1/browse/categories/2iB4IU25"


def make_client(**options: Any) -> BrowseClient:
    """A client with the test credentials, against the real host (mocked by the test)."""
    return BrowseClient(**{"api_key": API_KEY, "access_token": ACCESS_TOKEN, **options})


def tracks_page(*ids: str, token: str | None = None) -> dict[str, Any]:
    """A Get Top Tracks answer holding tracks with these ids."""
    return {
        "data": {
            "topTracks": {
                "pageInfo": {"hasNextPage": token is not None, "token": token},
                "edgeCount": len(ids),
                "edges": [{"node": {"id": track_id}} for track_id in ids],
            }
        }
    }


def error_body(status: int, code: str = "SOME_ERROR", message: str = "it failed") -> dict[str, Any]:
    """The documented error object."""
    return {"error": {"status": str(status), "code": code, "message": message}}


class FakeClock:
    """A clock that stands still until a test moves ``now``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class LoopbackServer:
    """A `ThreadingHTTPServer` on a free 127.0.0.1 port, served by a daemon thread.

    ``serve_forever`` notices ``shutdown()`` only between polls (0.5 s apart by default):
    this one polls every 20 ms, so stopping a server costs a test no time.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> None:
        """Serve, on the daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self.httpd.shutdown()
        self._thread.join()
        self.httpd.server_close()
