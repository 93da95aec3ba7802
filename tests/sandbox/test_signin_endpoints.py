"""The sandbox's sign-in: the consent page, the authorization code grant and its PKCE and
redirect_uri checks, code-based linking, and refresh-token rotation with its grace."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from amazon_music_browse.sandbox._app import SandboxApp

from ._support import LWA_FORM, Answer, FakeClock, call, make_app, token_request

REDIRECT = "http://127.0.0.1:8765/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636, appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_rfc_7636_example_challenge() -> None:
    digest = hashlib.sha256(VERIFIER.encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == CHALLENGE


def authorize(app: SandboxApp, **changes: str | None) -> Answer:
    query = {
        "client_id": "sandbox-client",
        "scope": "music::catalog",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "s-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **changes,
    }
    return call(app, "/ap/oa", {k: v for k, v in query.items() if v is not None}, headers={})


def redirected(answer: Answer) -> dict[str, str]:
    assert answer.status == 302, answer.body
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(app: SandboxApp, code: str, **changes: str | None) -> Answer:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "code_verifier": VERIFIER,
        **changes,
    }
    return token_request(app, {k: v for k, v in form.items() if v is not None})


def test_consent_is_immediate_and_the_code_works_once(app: SandboxApp) -> None:
    query = redirected(authorize(app))
    assert query["state"] == "s-1"
    assert query["scope"] == "music::catalog"
    answer = exchange(app, query["code"])
    assert answer.status == 200
    assert answer.body["refresh_token"].startswith("Atzr|")
    assert answer.body["access_token"].startswith("Atza|")
    assert app.issued_refresh_tokens == [answer.body["refresh_token"]]
    again = exchange(app, query["code"])
    assert (again.status, again.body["error"]) == (400, "invalid_grant")
    refreshed = token_request(app, {**LWA_FORM, "refresh_token": answer.body["refresh_token"]})
    assert refreshed.status == 200
    assert refreshed.body["refresh_token"] == answer.body["refresh_token"]  # no rotation


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"code_verifier": None}, 400, "invalid_grant"),
        ({"code_verifier": "x" * 43}, 400, "invalid_grant"),
        ({"redirect_uri": "http://127.0.0.1:8766/callback"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "wrong"}, 401, "invalid_client"),
        ({"client_secret": None, "code_verifier": None}, 401, "invalid_client"),
        ({"code": "made-up"}, 400, "invalid_grant"),
    ],
)
def test_the_exchange_checks_pkce_redirect_uri_and_client(
    app: SandboxApp, changes: dict[str, str | None], status: int, error: str
) -> None:
    code = redirected(authorize(app))["code"]
    form_changes = dict(changes)
    answer = exchange(app, str(form_changes.pop("code", code)), **form_changes)
    assert (answer.status, answer.body["error"]) == (status, error)
    assert app.issued_refresh_tokens == []


def test_a_public_client_may_send_only_the_verifier(app: SandboxApp) -> None:
    code = redirected(authorize(app))["code"]
    assert exchange(app, code, client_secret=None).status == 200


def test_a_plain_challenge_is_accepted(app: SandboxApp) -> None:
    code = redirected(authorize(app, code_challenge=VERIFIER, code_challenge_method="plain"))[
        "code"
    ]
    assert exchange(app, code).status == 200


def test_a_code_expires_after_five_minutes(clock: FakeClock) -> None:
    app = make_app(clock)
    code = redirected(authorize(app))["code"]
    clock.now += 300
    assert exchange(app, code).body["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"consent": "deny"}, "access_denied"),
        ({"scope": "music::nothing"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "S512"}, "invalid_request"),
    ],
)
def test_consent_errors_are_redirects_with_the_state(
    app: SandboxApp, changes: dict[str, str | None], error: str
) -> None:
    query = redirected(authorize(app, **changes))
    assert query["error"] == error
    assert query["state"] == "s-1"
    assert "code" not in query


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"client_id": "unknown"}, "invalid_client"),
        ({"redirect_uri": None}, "invalid_request"),
        ({"redirect_uri": "javascript:alert(1)"}, "invalid_request"),
    ],
)
def test_an_unknown_client_or_redirect_is_not_redirected_to(
    app: SandboxApp, changes: dict[str, str | None], error: str
) -> None:
    answer = authorize(app, **changes)
    assert (answer.status, answer.body["error"]) == (400, error)
    assert "location" not in answer.headers


# -- code-based linking -------------------------------------------------------------------


def codepair(app: SandboxApp, **changes: str) -> Answer:
    form = {
        "response_type": "device_code",
        "client_id": "sandbox-client",
        "scope": "music::catalog",
    }
    return call(
        app,
        "/auth/o2/create/codepair",
        method="POST",
        headers={},
        body=urlencode({**form, **changes}).encode(),
        content_type="application/x-www-form-urlencoded",
    )


def poll(app: SandboxApp, pair: dict[str, Any], **changes: str) -> Answer:
    form = {"grant_type": "device_code", "device_code": pair["device_code"]}
    return token_request(app, {**form, "user_code": pair["user_code"], **changes})


def test_code_based_linking_from_pending_to_tokens(clock: FakeClock) -> None:
    app = make_app(clock, device_interval=5, device_expires_in=600)
    pair = codepair(app).body
    assert pair["interval"] == 5
    assert pair["expires_in"] == 600
    assert pair["verification_uri"].endswith("/a/code")
    assert poll(app, pair).body["error"] == "authorization_pending"
    clock.now += 1
    assert poll(app, pair).body["error"] == "slow_down"
    clock.now += 5
    assert poll(app, pair).body["error"] == "slow_down"  # the interval was 10 s: now 15
    clock.now += 15
    assert poll(app, pair).body["error"] == "authorization_pending"
    app.lwa.approve_device(pair["user_code"])
    clock.now += 15
    answer = poll(app, pair)
    assert answer.status == 200
    assert answer.body["refresh_token"] == app.issued_refresh_tokens[0]
    clock.now += 15
    assert poll(app, pair).body["error"] == "invalid_grant"  # used
    assert app.token_errors == {
        "authorization_pending": 2,
        "slow_down": 2,
        "invalid_grant": 1,
    }


def test_auto_approval_and_expiry(clock: FakeClock) -> None:
    app = make_app(clock, device_interval=0, auto_approve_after=3, device_expires_in=10)
    pair = codepair(app).body
    clock.now += 2
    assert poll(app, pair).body["error"] == "authorization_pending"
    clock.now += 1
    assert poll(app, pair).status == 200
    late = codepair(app).body
    clock.now += 10
    assert poll(app, late).body["error"] == "expired_token"
    with pytest.raises(ValueError, match="no device is waiting"):
        app.lwa.approve_device(late["user_code"])


def test_a_wrong_user_code_is_invalid_grant(app: SandboxApp) -> None:
    pair = codepair(app).body
    assert poll(app, pair, user_code="AAAAAA").body["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"response_type": "code"}, 400, "invalid_request"),
        ({"client_id": "other"}, 401, "invalid_client"),
        ({"scope": "music::nothing"}, 400, "invalid_scope"),
    ],
)
def test_codepair_errors(app: SandboxApp, changes: dict[str, str], status: int, error: str) -> None:
    answer = codepair(app, **changes)
    assert (answer.status, answer.body["error"]) == (status, error)


# -- rotation -------------------------------------------------------------------------------


def test_rotation_refuses_the_old_refresh_token(clock: FakeClock) -> None:
    app = make_app(clock, rotate_refresh_tokens=True)
    first = token_request(app)
    new = first.body["refresh_token"]
    assert new != LWA_FORM["refresh_token"]
    assert token_request(app).body["error"] == "invalid_grant"  # rotation_grace=0
    second = token_request(app, {**LWA_FORM, "refresh_token": new})
    assert app.issued_refresh_tokens == [new, second.body["refresh_token"]]
    assert app.token_errors == {"invalid_grant": 1}


def test_rotation_grace_accepts_the_old_token_for_a_while(clock: FakeClock) -> None:
    app = make_app(clock, rotate_refresh_tokens=True, rotation_grace=2.0)
    token_request(app)
    clock.now += 1.9
    assert token_request(app).status == 200
    clock.now += 0.1
    assert token_request(app).body["error"] == "invalid_grant"


def test_rotation_options_are_checked() -> None:
    with pytest.raises(TypeError, match="rotate_refresh_tokens must be a bool"):
        make_app(rotate_refresh_tokens=1)
    with pytest.raises(ValueError, match="rotation_grace"):
        make_app(rotation_grace=-1)
    with pytest.raises(ValueError, match="device_expires_in must be > 0"):
        make_app(device_expires_in=0)
