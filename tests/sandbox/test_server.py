"""SandboxServer over real loopback HTTP, and ``python -m amazon_music_browse.sandbox``."""

from __future__ import annotations

import http.client
import inspect
import json
import logging
import re
import selectors
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import requests

import amazon_music_browse
from amazon_music_browse import AuthenticationError
from amazon_music_browse.sandbox import SandboxServer, _server
from amazon_music_browse.sandbox import __main__ as cli
from amazon_music_browse.sandbox._app import SandboxApp

from ._support import AUTH, LWA_FORM, FakeClock

NO_FAULTS = {"429": 0, "500": 0, "503": 0, "drop": 0, "truncate": 0, "stall": 0}


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
        assert sandbox.faults == {**NO_FAULTS, "429": 1}


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


# --- socket-level faults and the redirect, byte by byte ----------------------------------

GET_TOP_TRACKS = (
    b"GET /v1/browse/tracks/top?limit=20 HTTP/1.1\r\nHost: x\r\n"
    b"x-api-key: sandbox-key\r\nAuthorization: Bearer sandbox-token\r\n\r\n"
)


def split_answer(answer: bytes) -> tuple[list[bytes], bytes]:
    """The status line and header lines of a complete head, and the body after it."""
    head, blank, body = answer.partition(b"\r\n\r\n")
    assert blank, answer
    return head.split(b"\r\n"), body


def content_length(lines: list[bytes]) -> int:
    [value] = [line.split(b": ", 1)[1] for line in lines if line.startswith(b"Content-Length: ")]
    return int(value)


def test_a_dropped_connection_closes_before_any_byte_or_after_some_headers() -> None:
    with SandboxServer(drop_rate=1.0) as sandbox:
        nothing = raw_exchange(sandbox.port, GET_TOP_TRACKS)  # keep-alive asked: closed anyway
        partial = raw_exchange(sandbox.port, GET_TOP_TRACKS)
        connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
        try:
            connection.request("GET", "/v1/browse/tracks/top", headers=AUTH)
            with pytest.raises(http.client.RemoteDisconnected):
                connection.getresponse()
            connection.close()
            connection.request("GET", "/v1/browse/tracks/top", headers=AUTH)
            response = connection.getresponse()
            assert response.status == 200
            with pytest.raises(http.client.IncompleteRead):
                response.read()
        finally:
            connection.close()
        faults, count = sandbox.faults, sandbox.request_count
    assert nothing == b""
    assert b"\r\n\r\n" not in partial  # the head never ends
    lines = partial.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert lines[-2].startswith(b"Content-Length: ")
    assert int(lines[-2].split(b": ")[1]) > 0
    assert lines[-1] == b""
    assert faults == {**NO_FAULTS, "drop": 4}
    assert count == 4


def test_a_truncated_answer_is_half_its_content_length_then_closed() -> None:
    with SandboxServer(seed=3) as clean:
        full_lines, full_body = split_answer(
            raw_exchange(
                clean.port, GET_TOP_TRACKS.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
            )
        )
    with SandboxServer(seed=3, truncate_rate=1.0) as sandbox:
        lines, body = split_answer(raw_exchange(sandbox.port, GET_TOP_TRACKS))
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
            requests.get(f"{sandbox.url}/v1/browse/tracks/top", headers=AUTH, timeout=5)
        faults = sandbox.faults
    assert lines[0] == full_lines[0] == b"HTTP/1.1 200 OK"
    assert b"Connection: close" not in lines  # the cut is not announced
    assert content_length(lines) == content_length(full_lines) == len(full_body) > 100
    assert body == full_body[: len(full_body) // 2]
    assert faults == {**NO_FAULTS, "truncate": 2}


def test_a_stalled_answer_sends_its_head_then_withholds_the_body() -> None:
    with SandboxServer(stall_rate=1.0, stall_seconds=0.5) as sandbox:
        with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
            started = time.perf_counter()
            sock.sendall(GET_TOP_TRACKS)
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += sock.recv(65536)
            head_after = time.perf_counter() - started
            while chunk := sock.recv(65536):
                answer += chunk
            body_after = time.perf_counter() - started
        with pytest.raises(requests.ConnectionError, match="Read timed out"):
            requests.get(f"{sandbox.url}/v1/browse/tracks/top", headers=AUTH, timeout=(5, 0.1))
        faults = sandbox.faults
    lines, body = split_answer(answer)
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert head_after < 0.4 <= 0.5 <= body_after < 5
    assert len(body) == content_length(lines)
    assert faults == {**NO_FAULTS, "stall": 2}


def test_stop_interrupts_a_stall() -> None:
    with SandboxServer(stall_rate=1.0, stall_seconds=30) as sandbox:
        sock = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
        sock.sendall(GET_TOP_TRACKS)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        started = time.perf_counter()
    assert time.perf_counter() - started < 1.0
    with sock:
        rest = sock.recv(65536)
    assert b"edges" not in rest  # the body was never sent
    assert sandbox_threads(sandbox.port) == []


@pytest.mark.parametrize(
    "settings",
    [{"latency": 30}, {"stall_rate": 1.0, "stall_seconds": 30}],
    ids=["latency", "stall"],
)
def test_stopping_with_a_delayed_answer_for_a_client_gone_is_quiet(
    settings: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    logs = caplog.at_level(logging.DEBUG, logger="amazon_music_browse.sandbox")
    with logs, SandboxServer(**settings) as sandbox:
        sock = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
        sock.sendall(GET_TOP_TRACKS)
        while sandbox.request_count == 0:  # the answer is being delayed now
            time.sleep(0.005)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # reset: the delayed answer has nowhere to go
    assert [
        record.getMessage() for record in caplog.records if record.levelno > logging.DEBUG
    ] == []
    assert capfd.readouterr() == ("", "")
    assert sandbox_threads(sandbox.port) == []


def test_connections_without_a_fault_are_kept_alive_beside_faulty_ones() -> None:
    with SandboxServer(drop_rate=0.3, truncate_rate=0.3, seed=4) as sandbox:
        outcomes = []
        with requests.Session() as http_session:
            for _ in range(40):
                try:
                    response = http_session.get(
                        f"{sandbox.url}/v1/browse/tracks/top", headers=AUTH, timeout=5
                    )
                except requests.RequestException:
                    outcomes.append("fault")
                else:
                    assert response.json()["data"]["topTracks"]["edgeCount"] == 20
                    outcomes.append("ok")
        faults = sandbox.faults
    assert outcomes.count("fault") == faults["drop"] + faults["truncate"] > 10
    assert outcomes.count("ok") > 10


def test_the_token_endpoint_is_never_socket_faulted() -> None:
    with SandboxServer(drop_rate=0.4, truncate_rate=0.3, stall_rate=0.3, stall_seconds=30) as sb:
        statuses = [
            requests.post(sb.token_url, data=LWA_FORM, timeout=5).status_code for _ in range(20)
        ]
        assert statuses == [200] * 20
        assert sb.faults == NO_FAULTS
        assert sb.token_requests == 20


def test_redirect_to_answers_302_over_http() -> None:
    with SandboxServer(redirect_to="http://127.0.0.1:9/prefix") as sandbox:
        response = requests.get(
            f"{sandbox.url}/v1/browse/categories/E9UEPoEH/tracks?limit=3&cursor=x",
            allow_redirects=False,
            timeout=5,
        )
        token = requests.post(sandbox.token_url, data=LWA_FORM, timeout=5)
        count = sandbox.request_count
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "http://127.0.0.1:9/prefix/v1/browse/categories/E9UEPoEH/tracks?limit=3&cursor=x"
    )
    assert token.status_code == 200
    assert count == 1


def test_redirect_keeps_the_request_target_as_sent() -> None:
    with SandboxServer(redirect_to="http://127.0.0.1:9/prefix") as sandbox:
        answer = raw_exchange(
            sandbox.port,
            b"GET /v1/browse/categories/a%2Fb/tracks?cursor=x%2Fy&q=%C3%9C HTTP/1.1\r\n"
            b"Host: x\r\nConnection: close\r\n\r\n",
        )
        raw_utf8 = raw_exchange(
            sandbox.port,
            b"GET /v1/browse/categories/\xc3\x9cber HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
    lines, _ = split_answer(answer)
    assert lines[0] == b"HTTP/1.1 302 Found"
    assert (
        b"Location: http://127.0.0.1:9/prefix/v1/browse/categories/a%2Fb/tracks?cursor=x%2Fy&q=%C3%9C"
        in lines
    )
    lines, _ = split_answer(raw_utf8)
    assert b"Location: http://127.0.0.1:9/prefix/v1/browse/categories/%C3%9Cber" in lines


@pytest.mark.parametrize(
    ("path", "category_id"),
    [
        (b"/v1/browse/categories/\xc3\x9cber", "\u00dcber"),  # raw UTF-8 bytes
        (b"/v1/browse/categories/%C3%9Cber", "\u00dcber"),  # percent-encoded UTF-8
        (b"/v1/browse/categories/\xc3\x9c%2F\xe2\x9c\x93", "\u00dc/\u2713"),  # both, and a /
        (b"/v1/browse/categories/\xff\xfe", "\xff\xfe"),  # not UTF-8: kept as latin-1 text
    ],
)
def test_raw_bytes_in_the_path_are_read_as_utf8(
    sandbox: SandboxServer, path: bytes, category_id: str
) -> None:
    answer = raw_exchange(
        sandbox.port,
        b"GET " + path + b" HTTP/1.1\r\nx-api-key: sandbox-key\r\n"
        b"Authorization: Bearer sandbox-token\r\nConnection: close\r\n\r\n",
    )
    lines, body = split_answer(answer)
    assert lines[0] == b"HTTP/1.1 404 Not Found"
    assert json.loads(body)["error"]["message"] == f"No category with id {category_id!r}."


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


class RecordingSelector(selectors.DefaultSelector):
    """A selector that records the timeout of every wait (None: no timeout)."""

    waits: ClassVar[list[float | None]] = []

    def select(self, timeout: float | None = None) -> Any:
        self.waits.append(timeout)
        return super().select(timeout)


def test_the_accept_loop_waits_without_polling_and_stop_wakes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float | None] = []
    monkeypatch.setattr(RecordingSelector, "waits", waits)
    monkeypatch.setattr(selectors, "DefaultSelector", RecordingSelector)
    with SandboxServer():
        pass
    assert waits == [None]  # one wait, with no timeout, ended by stop()
    waits.clear()
    with SandboxServer() as sandbox:
        raw_exchange(sandbox.port, b"GET / HTTP/1.0\r\n\r\n")
    assert waits == [None, None]  # woken by the connection, then by stop()


def test_stopping_an_idle_sandbox_is_prompt() -> None:
    stopping = 0.0
    for _ in range(20):
        sandbox = SandboxServer().start()
        started = time.perf_counter()
        sandbox.stop()
        stopping += time.perf_counter() - started
    assert stopping < 0.5  # well under 10 ms each, with a 10x margin for a busy machine


def test_stop_joins_the_thread_of_a_connection_that_just_closed() -> None:
    for _ in range(20):
        with SandboxServer() as sandbox:
            # HTTP/1.0: the sandbox closes the connection after the answer, and its thread
            # ends a moment later, perhaps after stop() has begun.
            assert raw_exchange(sandbox.port, b"GET / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 401")
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
    faulty = SandboxServer(drop_rate=0.1, stall_seconds=2.0, redirect_to="http://127.0.0.1:9")
    assert repr(faulty).endswith(
        "seed=0, drop_rate=0.1, stall_seconds=2.0, redirect_to='http://127.0.0.1:9')"
    )
    with sandbox:
        text = repr(sandbox)
    assert f"url='{sandbox.url}', running=True" in text
    assert not any(secret in text for secret in secrets.values())
    assert sandbox.api_key == "key-1a2b"
    assert sandbox.refresh_token == "refresh-9i0j"


def test_every_argument_is_a_read_only_attribute() -> None:
    arguments: dict[str, Any] = {
        "host": "127.0.0.2",
        "port": 8766,
        "api_key": "key-1",
        "access_token": "token-2",
        "client_id": "client-3",
        "client_secret": "secret-4",
        "refresh_token": "refresh-5",
        "latency": 0.25,
        "rate_limit_rate": 0.1,
        "server_error_rate": 0.2,
        "retry_after": 7,
        "token_lifetime": 60.0,
        "seed": 9,
        "catalog_sizes": {"topTracks": 10},
        "clock": FakeClock(),
        "drop_rate": 0.05,
        "truncate_rate": 0.04,
        "stall_rate": 0.03,
        "stall_seconds": 2.5,
        "redirect_to": "http://127.0.0.1:9",
        "auto_approve_after": 1.5,
        "device_interval": 0.5,
        "device_expires_in": 30,
        "rotate_refresh_tokens": True,
        "rotation_grace": 2.0,
        "etag": True,
        "cache_max_age": 30,
    }
    assert set(arguments) == set(inspect.signature(SandboxServer).parameters)
    sandbox = SandboxServer(**arguments)
    text = repr(sandbox)
    for name, value in arguments.items():
        assert getattr(sandbox, name) == value
        message = rf"^'{name}' is read-only: a SandboxServer's settings are fixed at construction"
        with pytest.raises(AttributeError, match=message):
            setattr(sandbox, name, value)
        with pytest.raises(AttributeError, match=message):
            delattr(sandbox, name)
        assert getattr(sandbox, name) == value
    assert repr(sandbox) == text


def test_a_refused_setting_changes_nothing(sandbox: SandboxServer) -> None:
    with pytest.raises(AttributeError, match="'api_key' is read-only"):
        sandbox.api_key = "another-key"  # type: ignore[assignment]
    with pytest.raises(AttributeError, match="'latency' is read-only"):
        sandbox.latency = 1.0  # type: ignore[assignment]
    assert "latency=0.0" in repr(sandbox)
    with sandbox.client() as client:
        assert len(client.get_top_tracks(limit=1)) == 1


def test_login_with_amazon_takes_another_refresh_token(sandbox: SandboxServer) -> None:
    lwa = sandbox.login_with_amazon(refresh_token="not-the-refresh-token", timeout=5.0)
    with pytest.raises(AuthenticationError, match="invalid_grant"):
        lwa()
    assert sandbox.token_requests == 1
    assert sandbox.login_with_amazon()().startswith("Atza|")


@pytest.mark.parametrize(
    ("method", "class_name", "defaults"),
    [
        ("client", "BrowseClient", ("api_key", "access_token", "base_url")),
        (
            "login_with_amazon",
            "LoginWithAmazon",
            ("client_id", "client_secret", "refresh_token", "token_url"),
        ),
    ],
)
def test_any_option_replaces_a_default(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    class_name: str,
    defaults: tuple[str, ...],
) -> None:
    received: list[dict[str, Any]] = []
    monkeypatch.setattr(amazon_music_browse, class_name, lambda **kwargs: received.append(kwargs))
    getattr(sandbox, method)()
    assert set(received[0]) == set(defaults)
    options = {name: f"given-{name}" for name in defaults} | {"timeout": 3.0}
    getattr(sandbox, method)(**options)
    assert received[1] == options


def test_catalog_sizes_is_a_read_only_copy() -> None:
    sizes = {"topTracks": 10}
    sandbox = SandboxServer(catalog_sizes=sizes)
    sizes["topTracks"] = 20
    assert sandbox.catalog_sizes == {"topTracks": 10}
    with pytest.raises(TypeError):
        sandbox.catalog_sizes["topTracks"] = 30  # type: ignore[index]


def test_port_is_the_bound_port_once_started() -> None:
    sandbox = SandboxServer()
    assert sandbox.port == 0
    with sandbox:
        assert 0 < sandbox.port < 65536
        assert sandbox.url.endswith(f":{sandbox.port}")


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
        ({"drop_rate": 2}, ValueError, "drop_rate"),
        ({"truncate_rate": 0.5, "stall_rate": 0.6}, ValueError, "must not exceed 1"),
        ({"stall_seconds": -1}, ValueError, "stall_seconds"),
        ({"redirect_to": "ftp://127.0.0.1/"}, ValueError, "redirect_to"),
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
    assert f"  export AMAZON_MUSIC_BASE_URL={match[0]}\n" in banner
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


def exports_of(banner: str) -> list[str]:
    return [line.strip() for line in banner.splitlines() if line.lstrip().startswith("export ")]


def test_main_prints_the_exports_to_paste_into_a_shell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: signal.raise_signal(signal.SIGTERM))
    assert cli.main(["--port", "0"]) == 0
    out = capsys.readouterr().out
    url = re.findall(r"listening on (\S+)\n", out)[0]
    assert exports_of(out) == [
        f"export AMAZON_MUSIC_BASE_URL={url}",
        "export AMAZON_MUSIC_API_KEY=sandbox-key",
        "export AMAZON_MUSIC_ACCESS_TOKEN=sandbox-token",
        f"export AMAZON_MUSIC_LWA_URL={url}",
        "export LWA_CLIENT_ID=sandbox-client",
        "export LWA_CLIENT_SECRET=sandbox-secret",
        "export LWA_REFRESH_TOKEN=sandbox-refresh",
    ]


SHELL_CHECK = """
import json, os, requests
names = ("AMAZON_MUSIC_BASE_URL", "AMAZON_MUSIC_API_KEY", "AMAZON_MUSIC_ACCESS_TOKEN")
env = {name: os.environ[name] for name in names}
answer = requests.get(
    env["AMAZON_MUSIC_BASE_URL"] + "/v1/browse/tracks/top",
    headers={
        "x-api-key": env["AMAZON_MUSIC_API_KEY"],
        "Authorization": "Bearer " + env["AMAZON_MUSIC_ACCESS_TOKEN"],
    },
    timeout=10,
)
print(json.dumps({"env": env, "status": answer.status_code}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell")
@pytest.mark.parametrize(
    "settings",
    [{"api_key": "k'ey\"$(false);|&"}, {"token_lifetime": 60}],
    ids=["shell-characters", "expiring-tokens"],
)
def test_the_exports_survive_a_shell_and_work_against_the_sandbox(
    settings: dict[str, Any],
) -> None:
    with SandboxServer(**settings) as sandbox:
        exports = exports_of(cli._banner(sandbox))
        script = "\n".join(
            [*exports, f"exec {shlex.quote(sys.executable)} -c {shlex.quote(SHELL_CHECK)}"]
        )
        shell = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
        issued = sandbox.issued_tokens
    assert shell.returncode == 0, shell.stderr
    seen = json.loads(shell.stdout)
    assert seen["status"] == 200
    assert seen["env"]["AMAZON_MUSIC_BASE_URL"] == sandbox.url
    assert seen["env"]["AMAZON_MUSIC_API_KEY"] == sandbox.api_key
    if sandbox.token_lifetime is None:
        assert seen["env"]["AMAZON_MUSIC_ACCESS_TOKEN"] == sandbox.access_token
    else:
        assert list(issued) == [seen["env"]["AMAZON_MUSIC_ACCESS_TOKEN"]]
        assert exports[2].endswith("  # expires in 60 s")


def test_main_ignores_a_second_signal_while_it_stops(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    during_stop: list[object] = []
    stop = SandboxServer.stop

    def stop_with_a_second_signal(self: SandboxServer) -> None:
        during_stop.extend(signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM))
        signal.raise_signal(signal.SIGTERM)  # as ``timeout`` does: a second one
        stop(self)

    monkeypatch.setattr(time, "sleep", lambda seconds: signal.raise_signal(signal.SIGTERM))
    monkeypatch.setattr(SandboxServer, "stop", stop_with_a_second_signal)
    sigint = signal.getsignal(signal.SIGINT)
    assert cli.main(["--port", "0"]) == 0
    assert during_stop == [signal.SIG_IGN, signal.SIG_IGN]
    assert capsys.readouterr().out.endswith("Stopped.\n")
    assert signal.getsignal(signal.SIGINT) is sigint
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_main_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--rate-limit-rate", "1.5"])
    assert exit_info.value.code == 2
    assert "rate_limit_rate must be a finite number from 0 to 1" in capsys.readouterr().err


FAULT_OPTIONS = ("drop_rate", "truncate_rate", "stall_rate", "stall_seconds", "redirect_to")


def fault_options_of(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> dict[str, Any]:
    """The socket-fault keyword arguments ``main(argv)`` gives `SandboxServer`."""
    received: dict[str, Any] = {}

    def recording_sandbox(*args: Any, **kwargs: Any) -> SandboxServer:
        received.update(kwargs)
        raise ValueError("recorded")  # main() turns it into a usage error: exit status 2

    monkeypatch.setattr(cli, "SandboxServer", recording_sandbox)
    with pytest.raises(SystemExit):
        cli.main(argv)
    return {name: value for name, value in received.items() if name in FAULT_OPTIONS}


def test_main_passes_the_fault_options_on(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = "--drop-rate 0.1 --truncate-rate 0.2 --stall-rate 0.05 --stall-seconds 2.5"
    argv += " --redirect-to http://127.0.0.1:9"
    assert fault_options_of(monkeypatch, argv.split()) == {
        "drop_rate": 0.1,
        "truncate_rate": 0.2,
        "stall_rate": 0.05,
        "stall_seconds": 2.5,
        "redirect_to": "http://127.0.0.1:9",
    }
    defaults = SandboxServer()
    assert fault_options_of(monkeypatch, []) == {
        name: getattr(defaults, name) for name in FAULT_OPTIONS
    }


def test_main_rejects_fault_rates_over_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--drop-rate", "0.6", "--stall-rate", "0.6"])
    assert exit_info.value.code == 2
    assert "must not exceed 1 in total, got 1.2" in capsys.readouterr().err


def test_main_reports_a_taken_port(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--port", str(sandbox.port)])
    assert exit_info.value.code == 1
    assert f"cannot listen on 127.0.0.1:{sandbox.port}" in capsys.readouterr().err
