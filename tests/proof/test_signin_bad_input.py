"""Proof: bad input gets a clear `AuthenticationError` or `ConfigurationError`, and nothing
is written to the store.

Cases: a wrong ``state``; a missing and a wrong ``code_verifier``; a redirect to another
port; ``access_denied`` at the consent step; an expired device code; a store path in a
missing directory, and in a directory this process may not write to.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from amazon_music_browse import (
    AmazonMusicError,
    AuthenticationError,
    ConfigurationError,
    FileTokenStore,
    LoginWithAmazon,
    _signin,
)
from amazon_music_browse.sandbox import SandboxServer

from ._support import report

FORK_WARNING = "ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning"
OUTCOMES: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    report("bad-input", **OUTCOMES)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(device_interval=0.05, device_expires_in=0.5) as server:
        yield server


def sign_in(sandbox: SandboxServer, store: FileTokenStore, **options: Any) -> LoginWithAmazon:
    arguments: dict[str, Any] = {"lwa_url": sandbox.url, "timeout": 30, "store": store}
    return LoginWithAmazon.sign_in(
        sandbox.client_id, sandbox.client_secret, **{**arguments, **options}
    )


def consent(url: str) -> None:
    requests.get(url, timeout=10)


def forged_state(url: str) -> None:
    sent = parse_qs(urlsplit(url).query)
    answer = urlencode({"code": "forged", "state": "not-the-one-sent"})
    requests.get(f"{sent['redirect_uri'][0]}?{answer}", timeout=10)


def verifier(value: str) -> Callable[[pytest.MonkeyPatch], None]:
    """Send ``value`` as the code_verifier, with the challenge of another verifier."""

    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        real = _signin.pkce_pair
        monkeypatch.setattr(_signin, "pkce_pair", lambda: (value, real()[1]))

    return patch


def paste_from_another_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user pastes the redirected URL with another port in it."""
    original = _signin._paste

    def paste(url: str, redirect_uri: str, deadline: float) -> dict[str, list[str]]:
        location = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
        port = urlsplit(redirect_uri).port or 0
        other = location.replace(f":{port}/", f":{port % 65535 + 1}/")
        monkeypatch.setattr(_signin, "_input", lambda prompt: other)
        return original(url, redirect_uri, deadline)

    monkeypatch.setattr(_signin, "_paste", paste)


CASES: dict[str, tuple[dict[str, Any], Callable[[pytest.MonkeyPatch], None] | None, str]] = {
    "wrong_state": ({"on_url": forged_state}, None, "state_mismatch"),
    "missing_code_verifier": ({"on_url": consent}, None, "invalid_grant"),
    "wrong_code_verifier": ({"on_url": consent}, verifier("x" * 86), "invalid_grant"),
    "redirect_to_another_port": (
        {"open_browser": False, "on_url": None},
        paste_from_another_port,
        "redirect_mismatch",
    ),
    "access_denied": (
        {"on_url": lambda url: consent(url + "&consent=deny")},
        None,
        "access_denied",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_sign_in_raises_and_writes_nothing(
    case: str, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options, patch, code = CASES[case]
    if case == "missing_code_verifier":
        # The form is sent without a code_verifier at all.
        real_post = _signin.post_form

        def without_verifier(transport: Any, url: str, form: Any, timeout: Any) -> Any:
            return real_post(
                transport, url, {k: v for k, v in form.items() if k != "code_verifier"}, timeout
            )

        monkeypatch.setattr(_signin, "post_form", without_verifier)
    if patch is not None:
        patch(monkeypatch)
    store = FileTokenStore(tmp_path / "tokens.json")
    with pytest.raises(AuthenticationError) as caught:
        sign_in(sandbox, store, **options)
    OUTCOMES[case] = f"{type(caught.value).__name__}({caught.value.code})"
    assert caught.value.code == code
    assert not store.path.exists()
    assert sandbox.issued_refresh_tokens == []


def test_an_expired_device_code_raises_and_writes_nothing(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    with pytest.raises(AuthenticationError) as caught:
        LoginWithAmazon.link_device(
            sandbox.client_id,
            sandbox.client_secret,
            store=store,
            on_code=lambda code: None,  # nobody enters it
            lwa_url=sandbox.url,
        )
    OUTCOMES["expired_device_code"] = f"AuthenticationError({caught.value.code})"
    assert caught.value.code == "expired_token"
    assert not store.path.exists()


def test_a_store_in_a_missing_directory_is_refused_before_signing_in(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist") as caught:
        LoginWithAmazon.sign_in(
            "client", "secret", store=FileTokenStore(tmp_path / "nope" / "tokens.json")
        )
    OUTCOMES["store_in_missing_directory"] = type(caught.value).__name__
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings(FORK_WARNING)
def test_a_store_without_write_permission_is_refused(tmp_path: Path) -> None:
    """In a forked child that is not root (root may write anywhere)."""
    directory = Path(tempfile.mkdtemp(prefix="read-only-"))
    os.chmod(directory, 0o555)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - reports through the pipe
        outcome = "no error"
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            LoginWithAmazon.sign_in(
                "client", "secret", store=FileTokenStore(directory / "tokens.json")
            )
        except AmazonMusicError as error:
            outcome = f"{type(error).__name__}: {error}"
        except BaseException as error:
            outcome = repr(error)
        os.write(writer, outcome.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        outcome = pipe.read().decode()
    os.waitpid(pid, 0)
    written = list(directory.iterdir())
    os.rmdir(directory)
    OUTCOMES["store_without_write_permission"] = outcome.split(":")[0]
    assert outcome.startswith("ConfigurationError: cannot write to the token store's directory")
    assert written == []
