"""A real Redis server for the tests: `redis-server` on a free loopback port, no disk.

`redis_server()` starts one (``--save '' --appendonly no``, so nothing is written to
disk), waits until it answers PING, yields its URL and stops it. Without a
``redis-server`` binary it fails, saying how to get one; it never skips.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

__all__ = ["INSTALL_HINT", "redis_server", "redis_url"]

INSTALL_HINT = (
    "the Redis token store's tests need a redis-server binary on PATH: "
    "apt-get install redis-server (Debian, Ubuntu), brew install redis (macOS), "
    "or see https://redis.io/docs/latest/operate/oss_and_stack/install/"
)
_START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Run a fresh ``redis-server`` on 127.0.0.1 and yield its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    for _ in range(3):  # another process may take the free port before the server does
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            if _answers_ping(port):
                break
            time.sleep(0.02)
        if process.poll() is None and _answers_ping(port):
            break
        process.kill()
        _, stderr = process.communicate()
    else:
        pytest.fail(f"redis-server did not start: {stderr.decode(errors='replace')}", pytrace=False)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a real Redis server started for this test session (per xdist worker)."""
    with redis_server() as url:
        yield url
