"""SandboxServer over real loopback HTTP, and ``python -m amazon_music_browse.sandbox``."""

from __future__ import annotations

import http.client
import logging
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from amazon_music_browse.sandbox import SandboxServer, _server
from amazon_music_browse.sandbox import __main__ as cli
from amazon_music_browse.sandbox._app import SandboxApp

from .conftest import AUTH, LWA_FORM, FakeClock


def sandbox_threads(port: int) -> list[threading.Thread]:
    """The threads of the sandbox on this port (its accept loop and its connections)."""
    prefix = f"amazon-music-sandbox:{port}"
    return [t for t in threading.enumerate() if t.name.split(":connection")[0] == prefix]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http_session:
        http_session.headers.update(AUTH)
        yield http_session


def test_serves_the_api_on_a_free_loopback_port(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
    assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
    assert 0 < sandbox.port < 65536
    response = session.get(f"{sandbox.url}/v1/browse/tracks/top", params={"limit": 2}, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["x-amzn-RequestId"]
    assert [edge["node"]["id"] for edge in response.json()["data"]["topTracks"]["edges"]] == [
        "B0785GTW4T",
        "B08ZCM5758",
    ]
    assert sandbox.request_count == 1


def test_percent_encoded_ids_and_errors_over_http(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    response = session.get(f"{sandbox.url}/v1/browse/categories/%C3%9Cber%2Fx", timeout=5)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    wrong = requests.get(f"{sandbox.url}/v1/browse/tracks/top", timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "NO_X_API_KEY"
    post = session.post(f"{sandbox.url}/v1/browse/tracks/top", data=b"x" * 1000, timeout=5)
    assert post.status_code == 405
    assert post.headers["Allow"] == "GET"


def test_token_endpoint_with_an_injected_clock() -> None:
    clock = FakeClock()
    with SandboxServer(token_lifetime=30, clock=clock) as sandbox:
        assert sandbox.token_url == f"{sandbox.url}/auth/o2/token"
        token = requests.post(sandbox.token_url, data=LWA_FORM, timeout=5).json()["access_token"]
        headers = {"x-api-key": sandbox.api_key, "Authorization": f"Bearer {token}"}
        url = f"{sandbox.url}/v1/browse/categories/E9UEPoEH"
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        clock.now += 30
        expired = requests.get(url, headers=headers, timeout=5)
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "INVALID_ACCESS_TOKEN"
        assert sandbox.token_requests == 1
        assert sandbox.issued_tokens == {token: 1030.0}


def test_injected_faults_over_http(session: requests.Session) -> None:
    with SandboxServer(rate_limit_rate=1.0, retry_after=3) as sandbox:
        response = session.get(f"{sandbox.url}/v1/browse/tracks/top", timeout=5)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["error"]["code"] == "THROTTLED"
        assert sandbox.faults == {"429": 1, "500": 0, "503": 0}


def test_keep_alive_reuses_one_connection(sandbox: SandboxServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        connection.request("POST", "/v1/browse/tracks/top", body=b'{"ignored": true}', headers=AUTH)
        first = connection.getresponse()
        assert first.status == 405
        first.read()
        assert first.getheader("Connection") is None
        sock = connection.sock
        for path in ("/v1/browse/categories/E9UEPoEH", "/auth/o2/token", "/nowhere"):
            connection.request("GET", path, headers=AUTH)
            response = connection.getresponse()
            assert response.getheader("x-amzn-RequestId")
            response.read()
            assert connection.sock is sock
    finally:
        connection.close()


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_expect_100_continue_is_answered_before_the_body(sandbox: SandboxServer) -> None:
    body = b"grant_type=refresh_token"
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(
            b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert sock.recv(65536).startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_http_1_0_and_head_requests_close_the_connection(sandbox: SandboxServer) -> None:
    answer = raw_exchange(sandbox.port, b"GET /v1/browse/tracks/top HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"\r\nConnection: close\r\n" in answer
    head = raw_exchange(sandbox.port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"\r\nConnection: close\r\n" in head


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"501"),
        (b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", b"413"),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", b"431"),
    ],
    ids=["chunked", "bad-length", "too-large", "long-line", "many-headers"],
)
def test_malformed_http_is_refused_and_closed(
    sandbox: SandboxServer, request_bytes: bytes, status: bytes
) -> None:
    answer = raw_exchange(sandbox.port, request_bytes)
    assert answer.split(b" ")[1] == status
    assert b"\r\nConnection: close\r\n" in answer


def test_client_resets_are_quiet(sandbox: SandboxServer, capfd: pytest.CaptureFixture[str]) -> None:
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/browse/tracks/top HTTP/1.1\r\nHost: x\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
    assert requests.get(f"{sandbox.url}/nope", headers=AUTH, timeout=5).status_code == 404
    sandbox.stop()
    assert capfd.readouterr() == ("", "")


def test_an_application_error_is_a_logged_500(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(*args: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(SandboxApp, "_dispatch", fail)
    with caplog.at_level(logging.ERROR, logger="amazon_music_browse.sandbox"):
        response = requests.get(f"{sandbox.url}/v1/browse/tracks/top", timeout=5)
    assert response.status_code == 500
    assert response.headers["Connection"] == "close"
    [record] = caplog.records
    assert record.message == "sandbox: the WSGI application failed"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "boom"


def test_a_handler_error_is_logged_and_closes_the_connection(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(self: Any) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(_server._RequestHandler, "handle_one_request", fail)
    with caplog.at_level(logging.ERROR, logger="amazon_music_browse.sandbox"):
        assert raw_exchange(sandbox.port, b"GET / HTTP/1.1\r\n\r\n") == b""
        sandbox.stop()
    [record] = caplog.records
    assert record.message.startswith("sandbox: error while serving ('127.0.0.1', ")
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "handler bug"


def test_start_and_stop_are_idempotent_and_restart_on_the_same_port() -> None:
    sandbox = SandboxServer()
    with pytest.raises(RuntimeError, match="not started"):
        _ = sandbox.url
    assert sandbox.start() is sandbox
    assert sandbox.start() is sandbox
    assert sandbox.running
    url = sandbox.url
    sandbox.stop()
    sandbox.stop()
    assert not sandbox.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    with sandbox:
        assert sandbox.url == url
        assert requests.get(f"{url}/v1/browse/tracks/top", headers=AUTH, timeout=5).ok
    assert sandbox.request_count == 1


def test_two_sandboxes_get_two_ports() -> None:
    with SandboxServer() as first, SandboxServer() as second:
        assert first.port != second.port


def test_a_taken_port_raises_oserror(sandbox: SandboxServer) -> None:
    with pytest.raises(OSError, match="in use"):
        SandboxServer(port=sandbox.port).start()


def test_stop_is_prompt_and_leaves_no_thread(session: requests.Session) -> None:
    with SandboxServer() as sandbox:
        assert session.get(f"{sandbox.url}/v1/browse/tracks/top", timeout=5).ok  # kept alive
        assert len(sandbox_threads(sandbox.port)) == 2
        started = time.perf_counter()
    assert time.perf_counter() - started < 1.0
    assert sandbox_threads(sandbox.port) == []


def test_stop_interrupts_latency() -> None:
    errors: list[BaseException] = []

    def slow_request(url: str) -> None:
        try:
            requests.get(url, headers=AUTH, timeout=10)
        except requests.RequestException as exc:
            errors.append(exc)

    with SandboxServer(latency=30) as sandbox:
        thread = threading.Thread(
            target=slow_request, args=(f"{sandbox.url}/v1/browse/tracks/top",)
        )
        thread.start()
        while sandbox.request_count == 0:
            time.sleep(0.005)
        started = time.perf_counter()
    assert time.perf_counter() - started < 1.0
    thread.join(5)
    assert not thread.is_alive()
    assert sandbox_threads(sandbox.port) == []


def test_server_is_quiet(sandbox: SandboxServer, capfd: pytest.CaptureFixture[str]) -> None:
    requests.get(f"{sandbox.url}/v1/browse/tracks/top", timeout=5)
    raw_exchange(sandbox.port, b"GET / FOO/1.1\r\n\r\n")
    sandbox.stop()
    assert capfd.readouterr() == ("", "")


def test_repr_shows_url_and_settings_but_no_credential() -> None:
    secrets: dict[str, Any] = {
        "api_key": "key-1a2b",
        "access_token": "token-3c4d",
        "client_id": "client-5e6f",
        "client_secret": "secret-7g8h",
        "refresh_token": "refresh-9i0j",
    }
    sandbox = SandboxServer(latency=0.5, rate_limit_rate=0.25, seed=3, **secrets)
    assert repr(sandbox) == (
        "SandboxServer(url=None, running=False, latency=0.5, rate_limit_rate=0.25, "
        "server_error_rate=0.0, retry_after=1, token_lifetime=None, seed=3)"
    )
    with sandbox:
        text = repr(sandbox)
    assert f"url='{sandbox.url}', running=True" in text
    assert not any(secret in text for secret in secrets.values())
    assert sandbox.api_key == "key-1a2b"
    assert sandbox.refresh_token == "refresh-9i0j"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"port": -1}, ValueError, "port must be from 0 to 65535"),
        ({"port": 65536}, ValueError, "port"),
        ({"port": "8080"}, TypeError, "port must be an int"),
        ({"port": True}, TypeError, "port must be an int"),
        ({"host": ""}, TypeError, "host"),
        ({"latency": -1}, ValueError, "latency"),
        ({"rate_limit_rate": 2}, ValueError, "rate_limit_rate"),
        ({"server_error_rate": -0.1}, ValueError, "server_error_rate"),
        ({"retry_after": "1"}, TypeError, "retry_after"),
        ({"token_lifetime": 0}, ValueError, "token_lifetime"),
        ({"catalog_sizes": {"nope": 1}}, ValueError, "catalog_sizes"),
        ({"api_key": ""}, ValueError, "api_key"),
    ],
)
def test_arguments_are_validated_early(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        SandboxServer(**kwargs)


def test_ipv6_loopback_url() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        sandbox = SandboxServer("::1").start()
    except OSError:
        pytest.skip("cannot bind ::1 on this machine")
    with sandbox:
        assert sandbox.url == f"http://[::1]:{sandbox.port}"
        assert requests.get(f"{sandbox.url}/nope", headers=AUTH, timeout=5).status_code == 404


# --- python -m amazon_music_browse.sandbox --------------------------------------------------


def default_sigint() -> None:
    # A child of a non-interactive shell may inherit SIGINT ignored; restore the default
    # so Python turns it into KeyboardInterrupt as in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_command_line_serves_until_interrupted(stop_signal: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "amazon_music_browse.sandbox", "--port", "0", "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        banner = [process.stdout.readline()]
        while not banner[-1].startswith("Press Ctrl-C"):
            banner.append(process.stdout.readline())
        match = re.search(r"http://127\.0\.0\.1:\d+", banner[0])
        assert match, banner
        response = requests.get(f"{match[0]}/v1/browse/tracks/top", headers=AUTH, timeout=5)
        assert response.status_code == 200
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        rest, err = process.stdout.read(), process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert "  x-api-key:      sandbox-key\n" in banner
    assert rest == "Stopped.\n"
    assert err == ""


def test_main_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def sigterm(seconds: float) -> None:
        # main() waits in time.sleep(): deliver SIGTERM to the handler it installed.
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        handler(signal.SIGTERM, None)

    monkeypatch.setattr(time, "sleep", sigterm)
    assert cli.main(["--port", "0", "--token-lifetime", "60", "--latency", "0.01"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"listening on http://127\.0\.0\.1:\d+\n", out)
    assert "access token:   (refused: tokens expire)" in out
    assert "Bearer $TOKEN" in out
    assert out.endswith("Stopped.\n")
    port = int(out.split("\n")[0].rsplit(":", 1)[1])
    assert sandbox_threads(port) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_main_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--rate-limit-rate", "1.5"])
    assert exit_info.value.code == 2
    assert "rate_limit_rate must be a finite number from 0 to 1" in capsys.readouterr().err


def test_main_reports_a_taken_port(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--port", str(sandbox.port)])
    assert exit_info.value.code == 1
    assert f"cannot listen on 127.0.0.1:{sandbox.port}" in capsys.readouterr().err
