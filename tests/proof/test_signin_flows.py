"""Proof: headless sign-in, both flows, end to end against the sandbox, and the command line.

- The browser flow: `requests` plays the browser, following the consent page's redirect
  into the loopback server; the tokens land in a real file and call the API.
- Code-based linking: the test approves the code while the SDK polls.
- ``amazon-music-browse login --no-browser`` runs under a pseudo-terminal: the test reads
  the URL it prints, follows it, and types the redirected URL back. Then an API
  subcommand runs with no token in the environment, and ``logout`` forgets the login.
  ``login --device`` runs too. No output holds a token the sandbox issued, nor the secret.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from amazon_music_browse import DeviceCode, FileTokenStore, LoginWithAmazon
from amazon_music_browse.sandbox import SandboxServer

from ._support import report

CLI = [sys.executable, "-m", "amazon_music_browse"]
TIMEOUT = 60.0


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(token_lifetime=600, device_interval=0.05) as server:
        yield server


def issued_secrets(sandbox: SandboxServer) -> list[str]:
    """Every token the sandbox issued, and the client secret."""
    return [*sandbox.issued_tokens, *sandbox.issued_refresh_tokens, sandbox.client_secret]


def environment(sandbox: SandboxServer, **more: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AMAZON_MUSIC_", "LWA_"))
    }
    env.update(
        LWA_CLIENT_ID=sandbox.client_id,
        LWA_CLIENT_SECRET=sandbox.client_secret,
        PYTHONUNBUFFERED="1",
        **more,
    )
    return env


def test_browser_sign_in_end_to_end(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    hops: list[str] = []

    def browser(url: str) -> None:
        page = requests.get(url, timeout=10)
        hops.extend(f"{r.status_code} {r.url.split('?')[0]}" for r in [*page.history, page])
        assert "You can close this tab" in page.text

    tokens = LoginWithAmazon.sign_in(
        sandbox.client_id, sandbox.client_secret, store=store, on_url=browser, lwa_url=sandbox.url
    )
    with sandbox.client(access_token=tokens) as client:
        titles = [track.title for track in client.get_top_tracks(limit=2)]
    tokens.close()
    stored = store.load("default")

    report(
        "sign-in-browser",
        hops=len(hops),
        token_requests=sandbox.token_requests,
        stored=stored is not None,
        api_items=len(titles),
    )
    assert hops == [f"302 {sandbox.url}/ap/oa", hops[1]]
    assert hops[1].startswith("200 http://127.0.0.1:")
    assert sandbox.token_requests == 1
    assert stored is not None
    assert stored.refresh_token == sandbox.issued_refresh_tokens[0]
    assert len(titles) == 2


def test_code_based_linking_end_to_end(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    shown: list[DeviceCode] = []

    def show(code: DeviceCode) -> None:  # the user enters the code a little later
        shown.append(code)
        threading.Timer(0.3, sandbox.approve_device, [code.user_code]).start()

    started = time.monotonic()
    tokens = LoginWithAmazon.link_device(
        sandbox.client_id, sandbox.client_secret, store=store, on_code=show, lwa_url=sandbox.url
    )
    elapsed = time.monotonic() - started
    with sandbox.client(access_token=tokens) as client:
        items = len(client.get_top_tracks(limit=1))
    tokens.close()
    pending = sandbox.token_errors.get("authorization_pending", 0)

    report(
        "sign-in-device",
        polls=sandbox.token_requests,
        pending=pending,
        slow_down=sandbox.token_errors.get("slow_down", 0),
        seconds=elapsed,
        stored=store.load("default") is not None,
    )
    assert len(shown) == 1
    assert pending >= 1
    assert sandbox.token_requests == pending + 1
    assert sandbox.token_errors.get("slow_down", 0) == 0
    assert items == 1
    assert store.load("default") is not None


class Terminal:
    """A command run on a pseudo-terminal: what it printed, and typing into it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.output = b""

    def read_until(self, pattern: bytes, timeout: float = TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while pattern not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"{pattern!r} never came; got {self.output!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the command ended
                    chunk = b""
                assert chunk, f"the command ended before {pattern!r}; got {self.output!r}"
                self.output += chunk
        return self.output

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = TIMEOUT) -> int:
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select(
                [self.master], [], [], max(0.0, deadline - time.monotonic())
            )
            if not ready:
                break
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk
        code = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self.master)
        return code


def test_cli_login_without_a_browser_under_a_terminal(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    store = tmp_path / "tokens.json"
    env = environment(sandbox)
    terminal = Terminal(
        [*CLI, "login", "--no-browser", "--lwa-url", sandbox.url, "--store", str(store)], env
    )
    printed = terminal.read_until(b"Redirected URL: ").decode()
    [url] = re.findall(rf"{re.escape(sandbox.url)}/ap/oa\?\S+", printed)
    consent = requests.get(url, allow_redirects=False, timeout=10)  # the browser, elsewhere
    terminal.type(consent.headers["Location"] + "\n")
    code = terminal.finish()
    login_output = terminal.output.decode(errors="replace")

    api_env = environment(sandbox, AMAZON_MUSIC_API_KEY=sandbox.api_key)
    common = ["--store", str(store), "--lwa-url", sandbox.url, "--base-url", sandbox.url]
    listed = subprocess.run(
        [*CLI, "top-tracks", "--limit", "2", *common],
        env=api_env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    logged_out = subprocess.run(
        [*CLI, "logout", "--store", str(store)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    after = subprocess.run(
        [*CLI, "top-tracks", "--limit", "2", *common],
        env=api_env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    outputs = [login_output, listed.stdout, listed.stderr, logged_out.stdout, after.stderr]
    secrets = issued_secrets(sandbox)
    leaks = [secret for secret in secrets for text in outputs if secret in text]

    report(
        "cli-login-no-browser",
        login_exit=code,
        api_exit=listed.returncode,
        api_rows=listed.stdout.count("\n"),
        logout_exit=logged_out.returncode,
        after_logout_exit=after.returncode,
        tokens_issued=len(secrets) - 1,
        leaks=len(leaks),
    )
    assert code == 0, login_output
    assert "Signed in. The tokens are stored in" in login_output
    assert listed.returncode == 0, listed.stderr
    assert "Beggin'" in listed.stdout
    assert logged_out.returncode == 0
    assert "Signed out" in logged_out.stdout
    assert after.returncode == 2
    assert "login" in after.stderr
    assert len(secrets) >= 3  # the login's access and refresh token, the secret
    assert leaks == []


def test_cli_login_with_a_device_code(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = tmp_path / "tokens.json"
    process = subprocess.Popen(
        [*CLI, "login", "--device", "--lwa-url", sandbox.url, "--store", str(store), "-v"],
        env=environment(sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    [user_code] = re.findall(r"enter the code (\w+)", line)
    sandbox.approve_device(user_code)
    out, err = process.communicate(timeout=TIMEOUT)
    output = line + out + err
    leaks = [secret for secret in issued_secrets(sandbox) if secret in output]

    report("cli-login-device", exit=process.returncode, leaks=len(leaks))
    assert process.returncode == 0, output
    assert f"{sandbox.url}/a/code" in line
    assert "Signed in." in out
    assert FileTokenStore(store).load("default") is not None
    assert leaks == []
