"""The transport over real loopback sockets: the pool under many threads, stalls, settings."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from amazon_music_browse import (
    APIConnectionError,
    APITimeoutError,
    BrowseClient,
    LoginWithAmazon,
)
from amazon_music_browse.sandbox import SandboxServer
from tests._support import ACCESS_TOKEN, API_KEY

# -- the pool ---------------------------------------------------------------------------------


@pytest.mark.parametrize("max_connections", [10, 3])
def test_many_threads_wait_for_a_pooled_connection_instead_of_opening_and_discarding(
    caplog: pytest.LogCaptureFixture, max_connections: int
) -> None:
    caplog.set_level(logging.WARNING, logger="urllib3")
    with SandboxServer() as sandbox, sandbox.client(max_connections=max_connections) as client:
        errors: list[BaseException] = []
        sizes: list[int] = []

        def work(worker: int) -> None:
            try:
                for call in range(10):
                    limit = 1 + (worker + call) % 20
                    sizes.append(len(client.get_top_tracks(limit=limit)) - limit)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        pools = client.session.get_adapter(sandbox.url).poolmanager.pools
        opened = [pools[key].num_connections for key in pools.keys()]  # noqa: SIM118

    assert errors == []
    assert sizes == [0] * 320  # every answer had the size asked for
    assert "Connection pool is full" not in caplog.text
    assert len(opened) == 1
    assert 1 <= opened[0] <= max_connections


# -- Login with Amazon's requests get the same rules ---------------------------------------


def test_netrc_is_never_applied_to_the_token_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.amazon.com login someone password netrc-password-123\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            "https://api.amazon.com/auth/o2/token",
            json={"access_token": "Atza|from-lwa-1234", "expires_in": 3600},
        )
        assert LoginWithAmazon("client-id", "client-secret-1", "Atzr|refresh-1")() == (
            "Atza|from-lwa-1234"
        )
        sent = mock.calls[0].request

    assert "Authorization" not in sent.headers  # netrc would add Basic with its password
    assert "netrc-password" not in str(sent.headers)


def test_netrc_is_never_applied_to_the_api_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.music.amazon.dev login someone password netrc-password-123\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            "https://api.music.amazon.dev/v1/browse/categories/x",
            json={"data": {"category": {"id": "x"}}},
        )
        BrowseClient(API_KEY, ACCESS_TOKEN).get_category("x")
        sent = mock.calls[0].request

    assert sent.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_a_missing_ca_bundle_is_a_connection_error_for_login_with_amazon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca-bundle.pem")
    lwa = LoginWithAmazon("client-id", "client-secret-1", "Atzr|refresh-1", "https://127.0.0.1:9")
    with pytest.raises(APIConnectionError, match="REQUESTS_CA_BUNDLE") as caught:
        lwa()
    assert not isinstance(caught.value, OSError)


# -- a body that stalls halfway: the same error from both -------------------------------


@pytest.fixture
def stalling_server() -> Iterator[str]:
    """A loopback server that sends headers and half a body, then stalls until closed."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()
    body = b'{"access_token": "Atza|x", "expires_in": 3600, "padding": "' + b"x" * 100 + b'"}'

    def serve() -> None:
        connections = []
        try:
            while not done.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                connections.append(connection)
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body[:40]
                )
        finally:
            for connection in connections:
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    listener.close()
    thread.join(timeout=30)


def test_a_stall_mid_body_is_a_timeout_for_the_client_and_for_login_with_amazon(
    stalling_server: str,
) -> None:
    client = BrowseClient(API_KEY, ACCESS_TOKEN, base_url=stalling_server, timeout=(5, 0.5))
    lwa = LoginWithAmazon(
        "client-id",
        "client-secret-1",
        "Atzr|refresh-1",
        f"{stalling_server}/auth/o2/token",
        timeout=(5, 0.5),
    )
    with pytest.raises(APITimeoutError, match="timed out") as from_client:
        client.with_options(max_retries=0).get_top_tracks()
    with pytest.raises(APITimeoutError, match="timed out") as from_lwa:
        lwa()

    assert "read timeout" in str(from_client.value) or "deadline" in str(from_client.value)
    assert "read timeout" in str(from_lwa.value) or "deadline" in str(from_lwa.value)
