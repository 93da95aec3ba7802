"""Proof: no secret of signing in appears in the SDK's logs, reprs or exceptions.

Both flows, a refresh with rotation through a file store, and failures (a revoked refresh
token, a wrong state, and a token endpoint that echoes the form it received into its
error) run with the package's logger at DEBUG. Every text they leave (log lines, the
repr of every object involved, each exception's str, repr and pickled form) is searched
for every secret: the client secret, each access and refresh token the sandbox issued,
each authorization code, the code_verifier and each device code.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from amazon_music_browse import (
    AmazonMusicError,
    DeviceCode,
    FileTokenStore,
    LoginWithAmazon,
    MemoryTokenStore,
    RedisTokenStore,
    StoredToken,
)
from amazon_music_browse.sandbox import SandboxServer
from tests._support import LoopbackServer

from ._support import report


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    package = logging.getLogger("amazon_music_browse")
    previous = package.level
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)
    yield stream
    package.removeHandler(handler)
    package.setLevel(previous)


class EchoingTokenEndpoint:
    """A token endpoint that refuses every grant, echoing the form it got (as JSON, as
    form text, and in a header), as a careless service might."""

    def __init__(self) -> None:
        self.forms: list[dict[str, list[str]]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = parse_qs(raw)
                echo.forms.append(form)
                body = json.dumps(
                    {"error": "invalid_grant", "error_description": f"bad {raw} {form}"}
                ).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", raw[:200])
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackServer(Handler)
        self.url = f"{self._server.url}/auth/o2/token"
        self._server.start()

    def close(self) -> None:
        self._server.stop()


def texts_of_error(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), str(pickle.loads(pickle.dumps(error)).__dict__)]
    if isinstance(error, AmazonMusicError):
        texts.append(
            str({k: v for k, v in vars(error).items() if k not in ("response", "request")})
        )
    return texts


def test_no_secret_in_logs_reprs_or_exceptions(
    log: io.StringIO, tmp_path: Path, redis_url: str
) -> None:
    texts: list[str] = []
    codes: list[str] = []
    device_codes: list[str] = []
    errors: list[BaseException] = []
    store = FileTokenStore(tmp_path / "tokens.json")

    def browser(url: str) -> None:
        page = requests.get(url, timeout=10)
        codes.extend(parse_qs(urlsplit(page.url).query)["code"])

    with SandboxServer(token_lifetime=600, device_interval=0.05, rotate_refresh_tokens=True) as sb:
        signed_in = LoginWithAmazon.sign_in(
            sb.client_id, sb.client_secret, store=store, on_url=browser, lwa_url=sb.url
        )

        def approve(code: DeviceCode) -> None:
            device_codes.extend(sb._app.lwa._devices)  # the sandbox's record of them
            texts.append(repr(code))
            threading.Timer(0.1, sb.approve_device, [code.user_code]).start()

        linked = LoginWithAmazon.link_device(
            sb.client_id,
            sb.client_secret,
            store=MemoryTokenStore(),
            on_code=approve,
            lwa_url=sb.url,
        )
        # A refresh through the store, rotating the refresh token.
        shared = LoginWithAmazon(
            sb.client_id, sb.client_secret, store=store, token_url=sb.token_url
        )
        shared.invalidate(shared())
        shared()
        # A revoked refresh token, and a wrong state.
        revoked = LoginWithAmazon(
            sb.client_id, sb.client_secret, "Atzr|revoked-0123456789", sb.token_url
        )
        for attempt in (
            revoked,
            lambda: LoginWithAmazon.sign_in(
                sb.client_id,
                sb.client_secret,
                lwa_url=sb.url,
                on_url=lambda url: requests.get(
                    parse_qs(urlsplit(url).query)["redirect_uri"][0]
                    + "?code=Atzr|forged-code-0123&state=wrong",
                    timeout=10,
                ),
            ),
        ):
            try:
                attempt()
            except AmazonMusicError as error:
                errors.append(error)
        # A token endpoint echoing the authorization code exchange's form.
        echo = EchoingTokenEndpoint()
        try:
            LoginWithAmazon.sign_in(
                sb.client_id,
                sb.client_secret,
                authorize_url=sb.url + "/ap/oa",
                token_url=echo.url,
                on_url=browser,
            )
        except AmazonMusicError as error:
            errors.append(error)
        finally:
            echo.close()
        redis_store = RedisTokenStore(redis_url, prefix="secrets-proof:")
        redis_store.save("default", store.load("default") or StoredToken())
        objects: list[object] = [
            signed_in,
            linked,
            shared,
            revoked,
            store,
            redis_store,
            store.load("default"),
            redis_store.load("default"),
        ]
        texts += [repr(obj) for obj in objects] + [str(obj) for obj in objects]
        redis_store.delete("default")
        redis_store.close()
        for provider in (signed_in, linked, shared, revoked):
            provider.close()
        secrets = [
            sb.client_secret,
            *sb.issued_tokens,
            *sb.issued_refresh_tokens,
            *codes,
            *device_codes,
            *(
                value
                for form in echo.forms
                for values in form.values()
                for value in values
                if value not in (sb.client_id, "authorization_code")
                and not value.startswith("http")
            ),
        ]
    for error in errors:
        texts += texts_of_error(error)
    texts.append(log.getvalue())
    leaks = sorted({secret[:12] for secret in secrets for text in texts if secret in text})

    report(
        "sign-in-secrets",
        secrets=len(secrets),
        texts=len(texts),
        log_lines=log.getvalue().count("\n"),
        errors=len(errors),
        leaks=len(leaks),
    )
    assert len(errors) == 3
    assert [getattr(e, "code", None) for e in errors] == [
        "invalid_grant",
        "state_mismatch",
        "invalid_grant",
    ]
    assert len(codes) == 2
    assert device_codes
    assert len(secrets) >= 10
    assert log.getvalue().count("\n") >= 5
    assert leaks == []
