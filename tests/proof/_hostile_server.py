"""A raw-socket HTTP server on 127.0.0.1 that answers as badly as a test asks it to.

Each connection is read up to the end of its request (headers and a ``Content-Length``
body) and handed, in a thread of its own, to ``handler(connection, request)``, which
writes whatever bytes it likes (a dripped header, a bomb, nothing at all). The server
is bounded: it stops by itself after ``lifetime`` seconds, and on ``close()`` (the end of
its ``with`` block) it sets `stopped`, which every helper below watches, closes every
socket and joins every thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

__all__ = ["HostileServer", "Request", "drip", "send_all"]

MAX_REQUEST_HEAD = 64 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[socket.socket, Request, threading.Event], None]


class HostileServer:
    """Accepts on a free loopback port and lets ``handler`` answer each request."""

    def __init__(self, handler: Handler, *, lifetime: float = 30.0) -> None:
        self.handler = handler
        self.lifetime = lifetime
        self.stopped = threading.Event()
        self.requests: Counter[str] = Counter()  # by path
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)

    def __enter__(self) -> HostileServer:
        self._started = time.monotonic()
        self._accepter.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting and answering, close every socket, join every thread."""
        self.stopped.set()
        self._accepter.join(5)
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        for thread in threads:
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            if time.monotonic() - self._started > self.lifetime:
                self.stopped.set()  # bounded: a forgotten server ends by itself
                break
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            thread = threading.Thread(
                target=self._serve, args=(connection,), name="hostile-conn", daemon=True
            )
            with self._lock:
                self._connections.append(connection)
                self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            request = _read_request(connection, self.stopped)
            if request is None:
                return
            with self._lock:
                self.requests[request.path] += 1
            self.handler(connection, request, self.stopped)
        except OSError:
            pass  # the client went away: that is what most tests make it do
        finally:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def _read_request(connection: socket.socket, stopped: threading.Event) -> Request | None:
    connection.settimeout(0.2)
    data = b""
    while b"\r\n\r\n" not in data:
        if stopped.is_set() or len(data) > MAX_REQUEST_HEAD:
            return None
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length and not stopped.is_set():
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        body += chunk
    connection.settimeout(None)
    return Request(method, path, headers, body)


def send_all(connection: socket.socket, chunks: Iterable[bytes], stopped: threading.Event) -> int:
    """Send ``chunks`` until they end, the client goes away or the server stops; bytes sent."""
    sent = 0
    for chunk in chunks:
        if stopped.is_set():
            break
        try:
            connection.sendall(chunk)
        except OSError:
            break
        sent += len(chunk)
    return sent


def drip(
    connection: socket.socket,
    data: bytes,
    *,
    interval: float,
    stopped: threading.Event,
    dripped: list[int] | None = None,
    duration: float = float("inf"),
) -> None:
    """Send ``data`` one byte every ``interval`` seconds (``data`` is cycled) for
    ``duration`` seconds, until the client goes away or the server stops; counts the
    bytes sent in ``dripped[0]``."""
    end = time.monotonic() + duration
    position = 0
    while not stopped.wait(interval) and time.monotonic() < end:
        start = position % len(data)
        try:
            connection.sendall(data[start : start + 1])
        except OSError:
            return
        position += 1
        if dripped is not None:
            dripped[0] = position
