"""`LoginWithAmazon.link_device`: code-based linking against the sandbox, its polling rules
(``interval``, ``authorization_pending``, ``slow_down``, ``expired_token``), and failures
that store nothing."""

from __future__ import annotations

from typing import Any

import pytest

from amazon_music_browse import (
    AuthenticationError,
    ConfigurationError,
    DeviceCode,
    LoginWithAmazon,
    MemoryTokenStore,
    _device,
)
from amazon_music_browse.sandbox import SandboxServer
from tests._support import FakeClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The sandbox's clock and the device's: sleeping moves it on, at once."""
    fake = FakeClock(1000.0)

    def sleep(seconds: float) -> None:
        fake.now += seconds

    monkeypatch.setattr(_device, "_monotonic", fake)
    monkeypatch.setattr(_device, "_sleep", sleep)
    return fake


def link(sandbox: SandboxServer, **options: Any) -> LoginWithAmazon:
    arguments: dict[str, Any] = {"lwa_url": sandbox.url}
    return LoginWithAmazon.link_device(
        sandbox.client_id, sandbox.client_secret, **{**arguments, **options}
    )


def test_the_user_approves_and_the_tokens_are_stored(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes: list[DeviceCode] = []
    store = MemoryTokenStore()
    with SandboxServer(clock=clock, device_interval=2, device_expires_in=60) as sandbox:

        def show(code: DeviceCode) -> None:
            codes.append(code)

        polls = 0

        def sleep_then_approve(seconds: float) -> None:
            nonlocal polls
            polls += 1
            clock.now += seconds
            if polls == 3:
                sandbox.approve_device(codes[0].user_code)

        monkeypatch.setattr(_device, "_sleep", sleep_then_approve)
        tokens = link(sandbox, store=store, on_code=show)
        with sandbox.client(access_token=tokens) as client:
            assert len(client.get_top_tracks(limit=1)) == 1
        tokens.close()
        assert sandbox.token_errors == {"authorization_pending": 2}
        assert sandbox.token_requests == 3
    [code] = codes
    assert code.verification_uri == f"{sandbox.url}/a/code"
    assert len(code.user_code) == 6
    assert (code.interval, code.expires_in) == (2, 60)
    assert (
        str(code) == f"To sign in, open {code.verification_uri} and enter the code {code.user_code}"
    )
    stored = store.load("default")
    assert stored is not None
    assert stored.refresh_token == sandbox.issued_refresh_tokens[0]


def test_polls_are_interval_apart_and_slow_down_adds_five_seconds(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device whose first sleep comes up short gets slow_down, then waits 5 s more."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the second sleep ends 1.5 s early
        slept.append(seconds)
        clock.now += seconds - 1.5 if len(slept) == 2 else seconds

    monkeypatch.setattr(_device, "_sleep", sleep)
    with SandboxServer(clock=clock, device_interval=2, auto_approve_after=20) as sandbox:
        link(sandbox, on_code=lambda code: None).close()
        errors = sandbox.token_errors
    assert slept[:3] == [2.0, 2.0, 7.0]
    assert errors["slow_down"] == 1
    assert all(wait >= 2 for wait in slept)


def test_an_expired_code_raises_and_stores_nothing(clock: FakeClock) -> None:
    store = MemoryTokenStore()
    with SandboxServer(clock=clock, device_interval=1, device_expires_in=5) as sandbox:
        with pytest.raises(AuthenticationError) as caught:
            link(sandbox, store=store, on_code=lambda code: None)
        assert sandbox.token_errors["expired_token"] == 1
    assert caught.value.code == "expired_token"
    assert store.load("default") is None


def test_a_refusing_user_raises_access_denied(clock: FakeClock) -> None:
    store = MemoryTokenStore()
    with (
        SandboxServer(clock=clock, device_interval=1) as sandbox,
        pytest.raises(AuthenticationError) as caught,
    ):
        link(sandbox, store=store, on_code=lambda code: sandbox.deny_device(code.user_code))
    assert caught.value.code == "access_denied"
    assert store.load("default") is None


def test_the_timeout_ends_the_wait(clock: FakeClock) -> None:
    with (
        SandboxServer(clock=clock, device_interval=1) as sandbox,
        pytest.raises(AuthenticationError, match="within 3 s") as caught,
    ):
        link(sandbox, on_code=lambda code: None, timeout=3)
    assert caught.value.code == "timeout"


def test_without_on_code_the_code_is_printed(
    clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    with SandboxServer(clock=clock, device_interval=1, auto_approve_after=0) as sandbox:
        link(sandbox).close()
    assert capsys.readouterr().out.startswith(f"To sign in, open {sandbox.url}/a/code and enter")


def test_the_verification_page_approves_a_code(clock: FakeClock) -> None:
    import requests

    with SandboxServer(clock=clock, device_interval=1) as sandbox:

        def enter(code: DeviceCode) -> None:
            form = requests.get(code.verification_uri, timeout=5)
            assert "enter the code" in form.text
            page = requests.get(
                code.verification_uri, params={"user_code": code.user_code.lower()}, timeout=5
            )
            assert page.status_code == 200
            assert "linked" in page.text
            unknown = requests.get(code.verification_uri, params={"user_code": "NOPE"}, timeout=5)
            assert unknown.status_code == 404

        link(sandbox, on_code=enter).close()


def test_an_unknown_scope_is_refused_at_once(clock: FakeClock) -> None:
    with SandboxServer(clock=clock) as sandbox, pytest.raises(AuthenticationError) as caught:
        link(sandbox, scopes=["music::nothing"], on_code=lambda code: None)
    assert caught.value.code == "invalid_scope"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"timeout": 0}, "timeout must be"),
        ({"on_code": 3}, "on_code must be callable"),
        ({"codepair_url": "http://example.com/x"}, "codepair_url"),
        ({"scopes": "music::catalog"}, "scopes must be a list"),
    ],
)
def test_bad_arguments_are_configuration_errors(
    clock: FakeClock, options: dict[str, Any], message: str
) -> None:
    with SandboxServer(clock=clock) as sandbox, pytest.raises(ConfigurationError, match=message):
        link(sandbox, **options)


# -- a service that misbehaves (mocked) ------------------------------------------------------

LWA = "https://lwa.example"
PAIR = {
    "device_code": "device-code-secret-0123",
    "user_code": "ABC123",
    "verification_uri": "https://amazon.com/us/code",
    "expires_in": 10,
    "interval": 1,
}
TOKENS = {
    "access_token": "Atza|device-access-0123",
    "refresh_token": "Atzr|r-0123",
    "expires_in": 3600,
}


def mocked_link(**options: Any) -> LoginWithAmazon:
    return LoginWithAmazon.link_device(
        "client", "secret", lwa_url=LWA, on_code=lambda code: None, **options
    )


def test_network_failures_and_5xx_while_polling_are_waited_out(clock: FakeClock, mock: Any) -> None:
    import requests
    import responses

    mock.add(responses.POST, LWA + "/auth/o2/create/codepair", json=PAIR)
    token = LWA + "/auth/o2/token"
    mock.add(responses.POST, token, body=requests.ConnectionError("down"))
    mock.add(responses.POST, token, status=503, json={"error": "server_error"})
    mock.add(responses.POST, token, status=400, json={"error": "authorization_pending"})
    mock.add(responses.POST, token, json=TOKENS)
    tokens = mocked_link()
    assert tokens() == TOKENS["access_token"]
    tokens.close()


def test_a_service_that_never_says_expired_is_stopped_at_the_expiry(
    clock: FakeClock, mock: Any
) -> None:
    import responses

    mock.add(responses.POST, LWA + "/auth/o2/create/codepair", json=PAIR)
    mock.add(
        responses.POST, LWA + "/auth/o2/token", status=400, json={"error": "authorization_pending"}
    )
    with pytest.raises(AuthenticationError, match="expired before it was entered") as caught:
        mocked_link()
    assert caught.value.code == "expired_token"


@pytest.mark.parametrize(
    "answer",
    [
        {**PAIR, "user_code": ""},
        {**PAIR, "expires_in": "ten"},
        {**PAIR, "interval": -1},
        {key: value for key, value in PAIR.items() if key != "device_code"},
    ],
)
def test_an_unusable_code_pair_is_an_api_error(
    clock: FakeClock, mock: Any, answer: dict[str, Any]
) -> None:
    import responses

    from amazon_music_browse import APIError

    mock.add(responses.POST, LWA + "/auth/o2/create/codepair", json=answer)
    with pytest.raises(APIError, match="without a usable code") as caught:
        mocked_link()
    assert "device-code-secret" not in str(caught.value)


def test_another_error_while_polling_is_raised(clock: FakeClock, mock: Any) -> None:
    import responses

    mock.add(responses.POST, LWA + "/auth/o2/create/codepair", json=PAIR)
    mock.add(responses.POST, LWA + "/auth/o2/token", status=401, json={"error": "invalid_client"})
    with pytest.raises(AuthenticationError) as caught:
        mocked_link()
    assert caught.value.code == "invalid_client"
