"""Proof: no credential leaves the client except in the headers of its own origin.

End to end over a whole recorded run against real loopback servers, where
`tests/unit/test_security.py` checks each rule alone against a mocked transport.

A redirect to another loopback server carries neither ``x-api-key`` nor
``Authorization``. A full run (every endpoint, pagination, retries after injected
faults, Login with Amazon refreshes on expiry and on a 401, refused refreshes, error
answers, a service that echoes the headers it got) is recorded: DEBUG logs of every
logger, reprs, exception strings and tracebacks, pickled exceptions and pages. None of
them contains the API key, an issued access token, the client secret or a refresh token.
"""

from __future__ import annotations

import logging
import pickle
import re
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import responses

from amazon_music_browse import (
    AmazonMusicError,
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    InternalServerError,
    LoginWithAmazon,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    _auth,
)
from amazon_music_browse.sandbox import SandboxServer

from ._support import HEAVY_METAL, FakeClock, RecordingServer, report

API_KEY = "leak-api-key-5f3b9c1e"
CLIENT_ID = "leak-client-id"
CLIENT_SECRET = "leak-client-secret-8d1e4a"
REFRESH_TOKEN = "Atzr|leak-refresh-token-2c7a9f"
WRONG_SECRET = "leak-wrong-secret-6e2f0b"
WRONG_REFRESH_TOKEN = "Atzr|leak-wrong-refresh-4b0d3c"
STATIC_TOKEN = "Atza|leak-static-token-7a6c2d"
CREDENTIAL_HEADERS = {"x-api-key", "authorization"}


def credential_headers(received: list[tuple[str, dict[str, str]]]) -> list[str]:
    return [
        name for _, headers in received for name in headers if name.lower() in CREDENTIAL_HEADERS
    ]


def test_a_redirect_to_another_loopback_server_carries_no_credential(
    sleeps: list[float],
) -> None:
    with (
        RecordingServer(status=200) as elsewhere,
        SandboxServer(api_key=API_KEY, redirect_to=elsewhere.url) as redirecting,
        SandboxServer(
            api_key=API_KEY,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=REFRESH_TOKEN,
        ) as tokens,
    ):
        static = redirecting.client(access_token=STATIC_TOKEN, max_retries=0)
        refreshing = redirecting.client(access_token=tokens.login_with_amazon(), max_retries=0)
        outcomes = []
        for client in (static, refreshing):
            for call in (
                lambda c: c.get_top_tracks(limit=2),
                lambda c: c.get_category_tracks(HEAVY_METAL, cursor="c"),
            ):
                with pytest.raises(ResponseValidationError) as caught:  # the echo is no page
                    call(client)
                outcomes.append(caught.value)
        sent = redirecting.request_count
    received = elsewhere.received
    secrets = [API_KEY, STATIC_TOKEN, *tokens.issued_tokens]
    leaked = [s for s in secrets for _, headers in received if s in repr(headers)]

    report(
        "leaks-redirect",
        redirects=sent,
        followed=len(received),
        credential_headers=len(credential_headers(received)),
        credentials_in_headers=len(leaked),
    )
    assert sent == len(received) == 4
    assert [path for path, _ in received][:2] == [
        "/v1/browse/tracks/top?limit=2",
        f"/v1/browse/categories/{HEAVY_METAL}/tracks?cursor=c",
    ]
    assert credential_headers(received) == []
    assert leaked == []
    assert all(headers.get("Accept") == "application/json" for _, headers in received)


def where_found(secrets: dict[str, str], texts: list[str], hits: Counter[str]) -> str:
    """The text around the first place each leaked secret was found."""
    lines = []
    for name in hits:
        secret = secrets[name]
        text = next((text for text in texts if secret in text), "")
        start = text.find(secret)
        lines.append(f"{name}: ...{text[max(0, start - 120) : start + 40]!r}...")
    return "\n".join(lines)


class Recorder:
    """Everything of a run that a user might print, log, pickle or send on."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.blobs: list[bytes] = []
        self.errors: list[AmazonMusicError] = []

    def text(self, *values: object) -> None:
        self.texts.extend(value if isinstance(value, str) else repr(value) for value in values)

    def error(self, call: Callable[[], object]) -> AmazonMusicError:
        with pytest.raises(AmazonMusicError) as caught:
            call()
        self.errors.append(caught.value)
        return caught.value

    def record_errors(self) -> None:
        for error in self.errors:
            copy = pickle.loads(pickle.dumps(error))
            self.blobs.append(pickle.dumps(error))
            self.text(
                str(error),
                repr(error),
                "".join(traceback.format_exception(error)),
                error.args,
                {k: v for k, v in vars(error).items() if k not in ("request", "response")},
                str(copy),
                vars(copy),
            )


def test_a_full_run_leaks_no_credential(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    service_clock, client_clock = FakeClock(), FakeClock()
    monkeypatch.setattr(_auth, "_monotonic", client_clock)
    caplog.set_level(logging.DEBUG)  # every logger: the SDK's, its children, urllib3's
    caplog.set_level(logging.DEBUG, logger="amazon_music_browse")
    run = Recorder()
    credentials = {
        "api_key": API_KEY,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "wrong_secret": WRONG_SECRET,
        "wrong_refresh_token": WRONG_REFRESH_TOKEN,
    }
    with (
        SandboxServer(
            api_key=API_KEY,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=REFRESH_TOKEN,
            token_lifetime=100,
            clock=service_clock,
            rate_limit_rate=0.1,
            server_error_rate=0.1,
            drop_rate=0.05,
            truncate_rate=0.05,
            retry_after=0,
            seed=3,
        ) as sandbox,
        RecordingServer(status=400) as echo_400,
        RecordingServer(status=200) as echo_200,
        RecordingServer(status=401) as elsewhere,
        SandboxServer(api_key=API_KEY, redirect_to=elsewhere.url) as redirecting,
    ):
        lwa = sandbox.login_with_amazon()
        client = sandbox.client(access_token=lwa, max_retries=10)

        # every endpoint, and pagination
        pages: list[Any] = [
            client.get_top_tracks(limit=3),
            client.get_top_playlists(limit=3),
            client.get_new_podcast_episodes(limit=3),
            client.get_categories(limit=3),
            client.get_category(HEAVY_METAL),
            client.get_category_albums(HEAVY_METAL, limit=3),
            client.get_category_playlists(HEAVY_METAL, limit=3),
            client.get_category_tracks(HEAVY_METAL, limit=3),
        ]
        paginator = client.paginate(client.get_category_tracks, HEAVY_METAL, page_size=40)
        items = paginator.to_list()
        run.text(paginator, *items[:3], items[-1])

        # a token renewed before it expires, and one refused early by the service (401)
        client_clock.now += 95
        service_clock.now += 95
        pages.append(client.get_top_tracks(limit=1))
        service_clock.now += 200
        pages.append(client.get_top_tracks(limit=1))

        # error answers, faults with no retries left, refused refreshes
        fragile = client.with_options(max_retries=0)
        run.error(lambda: client.get_category("no-such-category"))
        run.error(lambda: client.get_top_tracks(cursor="forged.cursor"))
        run.error(lambda: sandbox.client(api_key="wrong-key", access_token=lwa).get_top_tracks())
        run.error(lambda: sandbox.client(access_token=STATIC_TOKEN).get_top_tracks())
        for _ in range(60):
            try:
                fragile.get_top_playlists(limit=2)
            except AmazonMusicError as error:
                run.errors.append(error)
        wrong = [
            LoginWithAmazon(CLIENT_ID, CLIENT_SECRET, WRONG_REFRESH_TOKEN, sandbox.token_url),
            LoginWithAmazon(CLIENT_ID, WRONG_SECRET, REFRESH_TOKEN, sandbox.token_url),
        ]
        for provider in wrong:
            run.error(provider)
            run.text(provider)

        # a service that echoes what it got (credentials included), and a redirect
        for echo in (echo_400, echo_200):
            with BrowseClient(API_KEY, lwa, base_url=echo.url, max_retries=0) as echoed:
                run.error(lambda echoed=echoed: echoed.get_category_tracks(HEAVY_METAL))
                run.text(echoed)
        redirected = redirecting.client(access_token=lwa, max_retries=0)
        run.error(lambda: redirected.get_top_tracks(limit=2))

        run.text(client, fragile, redirected, lwa, sandbox, redirecting, *pages)
        run.blobs.extend(pickle.dumps(page) for page in pages)
        issued = list(sandbox.issued_tokens)
        echoed_credentials = len(credential_headers(echo_400.received + echo_200.received))
        redirect_credentials = len(credential_headers(elsewhere.received))
        faults, token_requests = sandbox.faults, sandbox.token_requests
    run.record_errors()
    for record in caplog.records:
        run.text(record.getMessage())
        if record.exc_info:
            run.text(logging.Formatter().formatException(record.exc_info))
    run.text(caplog.text)

    secrets = {**credentials, **{f"access_token_{i}": token for i, token in enumerate(issued)}}
    secrets["static_token"] = STATIC_TOKEN
    # a token cut short (a body excerpt) must not show either: search a distinctive part too
    secrets.update({f"{name}_part": value[5:29] for name, value in secrets.items() if "|" in value})
    hits = Counter(name for name, secret in secrets.items() for text in run.texts if secret in text)
    hits.update(
        name for name, secret in secrets.items() for blob in run.blobs if secret.encode() in blob
    )
    error_classes = Counter(type(error).__name__ for error in run.errors)

    report(
        "leaks",
        texts=len(run.texts),
        chars=sum(len(text) for text in run.texts),
        pickles=len(run.blobs),
        log_records=len(caplog.records),
        secrets=len(secrets),
        issued_tokens=len(issued),
        token_requests=token_requests,
        faults=faults,
        errors=dict(sorted(error_classes.items())),
        hits=sum(hits.values()),
        redirect_credential_headers=redirect_credentials,
    )
    assert dict(hits) == {}, where_found(secrets, run.texts, hits)
    assert redirect_credentials == 0
    assert echoed_credentials == 4  # the echo servers are the origin: they do get them
    # the run went through every path it is meant to prove
    assert len(items) == 340
    assert len(issued) >= 3  # the first token, the renewal, the refresh after the 401
    assert any(record.levelno == logging.WARNING for record in caplog.records)  # retries
    assert any("invalidated" in record.getMessage() for record in caplog.records)
    for error_class in (
        NotFoundError,
        BadRequestError,
        AuthenticationError,
        RateLimitError,
        InternalServerError,
        APIConnectionError,
        ResponseValidationError,
    ):
        assert error_classes[error_class.__name__] > 0, error_class


@pytest.mark.parametrize("cut", ["message", "body"])
def test_a_2xx_body_cut_inside_a_credential_keeps_none_of_it(cut: str) -> None:
    """A credential echoed where the quoted excerpt (500 chars) or the kept body (64 KiB)
    ends must be redacted whole, not cut first and then missed by the redaction."""
    position = 480 if cut == "message" else 64 * 1024 - 20  # each cut falls inside the token
    body = ('{"echo": "' + "a" * (position - 10) + STATIC_TOKEN + '"}').encode()
    with (
        responses.RequestsMock() as mock,
        BrowseClient(API_KEY, STATIC_TOKEN, max_retries=0) as client,
    ):
        mock.add(responses.GET, re.compile(r".*"), body=body, status=200)
        with pytest.raises(ResponseValidationError) as caught:
            client.get_top_tracks()
    error = caught.value
    kept = {"message": str(error), "body": error.body}[cut]
    part = STATIC_TOKEN[:12]  # "Atza|leak-st": the start of the token, cut from the rest

    report(f"leaks-cut[{cut}]", position=position, kept_chars=len(kept), part_kept=part in kept)
    assert part not in kept
    assert part.encode() not in pickle.dumps(error)
