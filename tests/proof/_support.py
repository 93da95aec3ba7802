"""Helpers of the proof tests: the FIGURES line, a fake clock, the catalog's truth, and a
loopback server that records the headers it receives.

Every proof test prints one ``FIGURES <name>: key=value ...`` line (read them with
``pytest tests/proof -s``) and asserts the same figures.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any

from amazon_music_browse.sandbox._catalog import Catalog
from tests._support import FakeClock, LoopbackServer

__all__ = ["HEAVY_METAL", "FakeClock", "RecordingServer", "catalog_ids", "report"]

HEAVY_METAL = "2iB4IU25"


def report(name: str, **figures: object) -> None:
    """Print the figures of a proof on one line: ``FIGURES name: key=value ...``."""
    print(f"FIGURES {name}: " + " ".join(f"{key}={_text(value)}" for key, value in figures.items()))


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def catalog_ids(
    collection: str,
    category_id: str | None = None,
    *,
    seed: int = 0,
    sizes: Mapping[str, int] | None = None,
) -> list[str]:
    """The ids the sandbox serves for a collection, in page order, read off its catalog."""
    catalog = Catalog(seed, sizes)
    if category_id is None:
        nodes = catalog.collection(collection)
    else:
        nodes = catalog.category_collection(category_id, collection)
    return [node["id"] for node in nodes]


class RecordingServer:
    """A loopback HTTP/1.0 server that records each request's headers.

    It answers every request with ``status`` and the documented error object, whose
    message echoes every header it received (as a careless service or proxy might), so
    a credential sent to it would come back in the body.
    """

    def __init__(self, status: int = 401) -> None:
        self.status = status
        self.received: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request per connection: nothing to linger

            def do_GET(self) -> None:
                headers = dict(self.headers.items())
                with recorder._lock:
                    recorder.received.append((self.path, headers))
                echo = "; ".join(f"{name}: {value}" for name, value in headers.items())
                body = json.dumps(
                    {
                        "error": {
                            "status": str(recorder.status),
                            "code": "ECHO",
                            "message": f"received {echo}",
                            "payload": headers,
                        }
                    }
                ).encode()
                self.send_response(recorder.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackServer(Handler)
        self.url = self._server.url

    def __enter__(self) -> RecordingServer:
        self._server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.stop()
