"""Proof: a credential a service echoes back never comes out of the client, however spelled.

A loopback server answers each call with one credential echoed in one spelling (verbatim,
``\\/``-escaped, ``\\u``-escaped whole or in part, in upper or lower hex, or across the
500-character excerpt boundary) in one channel (the error object's ``message``,
``code``, ``reference``, ``url``, nested ``payload``, the ``x-amzn-RequestId`` header, a
2xx body that fails validation). Every credential shape meets every spelling in every
channel, as the API key and as the access token; then the same for Login with Amazon's
client secret and refresh token. ``str``, ``repr``, the traceback, every attribute, the
pickle and every DEBUG log record are searched for each credential (and each half of it)
in every spelling, after undoing JSON and ``repr`` escapes. Each echoed field must also
equal the text sent with the credential replaced by ``[REDACTED]``: nothing else changed.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

import pytest

from amazon_music_browse import (
    AmazonMusicError,
    APIError,
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    LoginWithAmazon,
    ResponseValidationError,
)
from tests._support import LoopbackServer

from ._support import report

MARKER = "[REDACTED]"
SHAPES = {
    "lwa-token": "Atza|IwEBIJr/x+Yq9=Zk|MdW3+v/AbC==",
    "hex-40": "3f9a0c7e1b2d4a6f8e0c3b5d7a9f1e2c4b6d8a0f",
    "exactly-8": "k8/+=|Q9",
    "punctuation": "p!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0",
    "url-safe": "amzn1.application-oa2-client.5f3b_9c1e-4a7d",
}
# the credential a call sends beside the echoed one (never echoed, searched for too)
OTHER_KEY = "other-api-key-7d2e9b41"
OTHER_TOKEN = "Atza|other-token-4c8e1f/Q="
EXCERPT = 500  # characters of a message or body quoted in str(error)
PREFIX = "seen [REDACTED] before; then "  # a marker already there must stay as it is


def json_minimal(text: str) -> str:
    """``text`` inside a JSON string, escaped only where JSON requires it."""
    return json.dumps(text)[1:-1]


def u_escape(char: str, upper: bool) -> str:
    return f"\\u{ord(char):04X}" if upper else f"\\u{ord(char):04x}"


SPELLINGS: dict[str, Callable[[str], str]] = {
    "verbatim": json_minimal,
    "slash-escaped": lambda s: json_minimal(s).replace("/", "\\/"),
    "u-all-lower": lambda s: "".join(u_escape(c, upper=False) for c in s),
    "u-all-upper": lambda s: "".join(u_escape(c, upper=True) for c in s),
    "u-some-mixed": lambda s: "".join(
        json_minimal(c) if i % 3 == 2 else u_escape(c, upper=i % 3 == 1) for i, c in enumerate(s)
    ),
    "split-at-500": json_minimal,  # verbatim, straddling the excerpt's end (see `filler`)
}
CHANNELS = ("message", "code", "reference", "url", "payload", "request-id", "2xx-body")


def filler(spelling: str, secret: str, before: int) -> str:
    """Characters to put before the secret: for ``split-at-500`` enough that the secret
    starts ``len(secret) // 2`` characters before the excerpt ends, ``before`` being the
    length of the text ahead of the filler."""
    if spelling != "split-at-500":
        return ""
    return "f" * (EXCERPT - len(secret) // 2 - before)


def tail(spelling: str) -> str:
    """Characters to put after the secret: for ``split-at-500`` enough that the text is
    still cut once the secret is replaced by the (shorter) marker."""
    return "t" * EXCERPT if spelling == "split-at-500" else ""


# --- the echo server ----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()


class EchoServer:
    """A loopback HTTP/1.0 server that answers every request with ``answer``."""

    def __init__(self) -> None:
        self.answer = Answer(500, "")
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                answer = server.answer
                body = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = LoopbackServer(Handler)
        self.url = self._server.url

    def __enter__(self) -> EchoServer:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()


# --- searching ----------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[/\\\"'])")


def unescaped(text: str) -> str:
    """``text`` with JSON escapes and ``repr``'s ``\\\\`` / ``\\'`` undone."""
    return _ESCAPE.sub(lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 5 else m[1], text)


def needles(secrets: list[str]) -> list[str]:
    """Each secret, and each half of it (a secret cut by an excerpt must not show either)."""
    found = []
    for secret in secrets:
        half = len(secret) // 2
        found += [secret, secret[:half], secret[half:]]
    return found


class Search:
    """Every text a user could print, log or pickle, searched for every secret."""

    def __init__(self, secrets: list[str]) -> None:
        self.needles = needles(secrets)
        self.secrets = secrets
        self.texts = 0
        self.hits: list[str] = []

    def text(self, where: str, text: str) -> None:
        self.texts += 1
        for variant in {text, unescaped(text), unquote(text)}:
            for needle in self.needles:
                if needle in variant:
                    self.hits.append(f"{where}: secret #{self._which(needle)} found")
                    return

    def _which(self, needle: str) -> int:
        return next(i for i, s in enumerate(self.secrets) if needle in s)

    def error(self, where: str, error: AmazonMusicError) -> None:
        blob = pickle.dumps(error)
        copy = pickle.loads(blob)
        texts = {
            "str": str(error),
            "repr": repr(error),
            "traceback": "".join(traceback.format_exception(error)),
            "args": repr(error.args),
            "pickle": blob.decode("latin-1"),
            "str(unpickled)": str(copy),
            "vars(unpickled)": repr(vars(copy)),
        }
        for name in ("message", "code", "reference", "url", "body", "request_id"):
            texts[name] = str(getattr(error, name, ""))
        texts["payload"] = json.dumps(getattr(error, "payload", None))
        for name, text in texts.items():
            self.text(f"{where} {name}", text)

    def logs(self, caplog: pytest.LogCaptureFixture) -> None:
        for record in caplog.records:
            self.text(f"log {record.name}", record.getMessage())
        self.text("caplog", caplog.text)


# --- the API client -----------------------------------------------------------------------


def api_answer(channel: str, spelled: str, spelling: str, secret: str) -> tuple[Answer, Any]:
    """The answer echoing ``spelled`` in ``channel``, and the redacted value expected there."""
    error: dict[str, Any] = {"status": "400", "code": "ECHO", "message": "plain"}
    headers: tuple[tuple[str, str], ...] = ()
    if channel == "message":
        lead = PREFIX + filler(spelling, secret, len(PREFIX))
        error["message"] = "\0"
        after = " and after" + tail(spelling)
        expected: Any = lead + MARKER + after
        body = json.dumps({"error": error}).replace('"\\u0000"', f'"{lead}{spelled}{after}"')
        return Answer(400, body), expected
    if channel in ("code", "reference", "url"):
        lead = {"code": "C-", "reference": "ref ", "url": "https://x.example/?k="}[channel]
        error[channel] = "\0"
        body = json.dumps({"error": error}).replace('"\\u0000"', f'"{lead}{spelled}"')
        return Answer(400, body), lead + MARKER
    if channel == "payload":
        error["payload"] = {"a": [1, {"b": "\0"}], "c": "\1"}
        body = (
            json.dumps({"error": error})
            .replace('"\\u0000"', f'"p {spelled}"')
            .replace('"\\u0001"', f'"{spelled}"')
        )
        return Answer(400, body), {"a": [1, {"b": f"p {MARKER}"}], "c": MARKER}
    if channel == "request-id":
        value = secret if spelling == "verbatim" else spelled  # a header is not JSON
        headers = (("x-amzn-RequestId", f"req-{value}"),)
        return Answer(400, json.dumps({"error": error}), headers), f"req-{MARKER}"
    assert channel == "2xx-body"
    head = '{"data": {"topTracks": {"edges": "' + PREFIX  # a string: not the documented shape
    head += filler(spelling, secret, len(head))
    end = tail(spelling) + '"}}}'
    return Answer(200, head + spelled + end), head + MARKER + end


def echoed_field(channel: str, error: AmazonMusicError) -> Any:
    return {
        "message": lambda: error.message,  # type: ignore[attr-defined]
        "code": lambda: error.code,  # type: ignore[attr-defined]
        "reference": lambda: error.reference,  # type: ignore[attr-defined]
        "url": lambda: error.url,  # type: ignore[attr-defined]
        "payload": lambda: error.payload,  # type: ignore[attr-defined]
        "request-id": lambda: error.request_id,  # type: ignore[attr-defined]
        "2xx-body": lambda: error.body,  # type: ignore[attr-defined]
    }[channel]()


@pytest.mark.unmeasured  # a proof at volume: see tests/conftest.py
def test_every_echo_of_an_api_credential_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="amazon_music_browse")
    search = Search([*SHAPES.values(), OTHER_KEY, OTHER_TOKEN])
    wrong: list[str] = []
    cases = 0
    with EchoServer() as server:
        for (shape, secret), role, spelling, channel in (
            (item, role, spelling, channel)
            for item in SHAPES.items()
            for role in ("api_key", "access_token")
            for spelling in SPELLINGS
            for channel in CHANNELS
        ):
            where = f"{shape} as {role}, {spelling}, in {channel}"
            api_key, token = (secret, OTHER_TOKEN) if role == "api_key" else (OTHER_KEY, secret)
            server.answer, expected = api_answer(
                channel, SPELLINGS[spelling](secret), spelling, secret
            )
            with (
                BrowseClient(api_key, token, base_url=server.url, max_retries=0) as client,
                pytest.raises(AmazonMusicError) as caught,
            ):
                client.get_top_tracks()
            error = caught.value
            cases += 1
            kind = ResponseValidationError if channel == "2xx-body" else BadRequestError
            if type(error) is not kind:
                wrong.append(f"{where}: {type(error).__name__}")
            elif echoed_field(channel, error) != expected:
                wrong.append(f"{where}: the field is not the text with only the secret replaced")
            if spelling == "split-at-500" and channel in ("message", "2xx-body"):
                cut = str(error).split(": ", 1)[1] if channel == "message" else str(error)
                if not cut.endswith("…"):
                    wrong.append(f"{where}: the excerpt was not cut")
            search.error(where, error)
        requests = server.requests
    search.logs(caplog)

    report(
        "redaction-api",
        cases=cases,
        shapes=len(SHAPES),
        spellings=len(SPELLINGS),
        channels=len(CHANNELS),
        secrets=len(search.secrets),
        texts=search.texts,
        log_records=len(caplog.records),
        wrong_fields=len(wrong),
        hits=len(search.hits),
    )
    assert requests == cases == len(SHAPES) * 2 * len(SPELLINGS) * len(CHANNELS)
    assert len(caplog.records) >= cases  # every failed call was logged at DEBUG
    assert wrong == [], "\n".join(wrong[:20])
    assert search.hits == [], "\n".join(search.hits[:20])


def test_a_credential_echoed_in_the_content_type_of_a_2xx_is_redacted() -> None:
    secret = SHAPES["hex-40"]
    with EchoServer() as server:
        server.answer = Answer(200, "not json", (("Content-Type", f"text/x-{secret}"),))
        with (
            BrowseClient(secret, OTHER_TOKEN, base_url=server.url, max_retries=0) as client,
            pytest.raises(ResponseValidationError) as caught,
        ):
            client.get_top_tracks()
    search = Search([secret])
    search.error("content-type", caught.value)
    assert search.hits == []


# --- the rule: short credentials are not searched; nothing else is ever changed -----------

RULE_TEXT = "REDACTED RE R [REDACTED] RERUN [REDACTED][REDACTED] -R- Atza ERR"


@pytest.mark.parametrize(
    ("api_key", "token"),
    [("R", "Atza|x-long-enough"), ("RE", "Atza|x-long-enough"), ("RERUN-key", "Atza")],
    ids=["key-R", "key-RE", "token-Atza"],
)
def test_short_credentials_are_not_searched_and_nothing_is_corrupted(
    api_key: str, token: str
) -> None:
    """With a credential under 8 characters, every text equals the text of a client whose
    credentials do not occur at all: the short one is not searched for, and the markers
    and words around it (which contain it) are left alone."""
    body = json.dumps({"error": {"code": "ECHO", "message": RULE_TEXT, "reference": "R RE"}})
    answer = Answer(400, body, (("x-amzn-RequestId", "R-RE-[REDACTED]"),))

    def texts(key: str, access_token: str) -> dict[str, Any]:
        with EchoServer() as server:
            server.answer = answer
            with (
                BrowseClient(key, access_token, base_url=server.url, max_retries=0) as client,
                pytest.raises(BadRequestError) as caught,
            ):
                client.get_top_tracks()
        error = caught.value
        return {
            "str": str(error),
            "message": error.message,
            "reference": error.reference,
            "request_id": error.request_id,
            "body": error.body,
        }

    with_short = texts(api_key, token)
    unrelated = texts("unrelated-key-0000", "Atza|unrelated-token-0000")

    report(f"redaction-short[{len(api_key)}+{len(token)}]", equal=with_short == unrelated)
    assert with_short == unrelated
    assert with_short["message"] == RULE_TEXT
    assert with_short["body"] == body


@pytest.mark.parametrize(
    ("api_key", "token", "sent", "expected"),
    [
        # a credential spelled like the marker's word: the markers stay single
        ("REDACTED", OTHER_TOKEN, "[REDACTED] REDACTED [REDACTED]", " ".join([MARKER] * 3)),
        # two credentials side by side, and one inside the other: each replaced whole
        ("key-0123456789", "Atza|tok/+=", "key-0123456789Atza|tok/+=!", "[REDACTED][REDACTED]!"),
        ("key-0123456789", "Atza|key-0123456789-tail", "Atza|key-0123456789-tail.", "[REDACTED]."),
        # escaped and verbatim halves of one echo, back to back
        ("key-0123456789", OTHER_TOKEN, "\\u006bey-01234\\/56789", "key-01234/56789"),
        # a credential overlapping an escape (\n + the rest of it), and one after an
        # escaped backslash: the JSON stays valid, so the error object still parses
        ("nA7fQ2x9Lm-key", OTHER_TOKEN, "line\\nA7fQ2x9Lm-key", "line[REDACTED]"),
        ("nA7fQ2x9Lm-key", OTHER_TOKEN, "C:\\\\nA7fQ2x9Lm-key", "C:\\[REDACTED]"),
    ],
    ids=["marker-word", "adjacent", "nested", "not-the-key", "escape-overlap", "after-backslash"],
)
def test_redaction_changes_nothing_but_the_credential(
    api_key: str, token: str, sent: str, expected: str, request: pytest.FixtureRequest
) -> None:
    body = '{"error": {"code": "ECHO", "message": "' + sent + '"}}'
    with EchoServer() as server:
        server.answer = Answer(400, body)
        with (
            BrowseClient(api_key, token, base_url=server.url, max_retries=0) as client,
            pytest.raises(BadRequestError) as caught,
        ):
            client.get_top_tracks()
    error = caught.value
    case = request.node.callspec.id
    report(f"redaction-exact[{case}]", equal=error.message == expected, code=error.code)
    assert error.message == expected
    assert error.code == "ECHO"  # the error object still parsed


# --- Login with Amazon --------------------------------------------------------------------

CLIENT_ID = "amzn1.application-oa2-client.proof"
LWA_SECRETS = {
    "client_secret hex-64": "9c1e4a7d" * 8,
    "client_secret punctuation": SHAPES["punctuation"],
    "client_secret exactly-8": SHAPES["exactly-8"],
    "refresh_token": "Atzr|IwEBIH/q+Z9=mR|kP2w+x/YcD==",
}
LWA_CHANNELS = ("error_description", "error", "request-id", "2xx-body", "form-echo")


def lwa_answer(channel: str, spelled: str, spelling: str, secret: str) -> Answer:
    description = "the grant is invalid"
    if channel == "error_description":
        lead = PREFIX + filler(spelling, secret, len(PREFIX))
        body = '{"error": "invalid_grant", "error_description": "' + lead + spelled
        body += tail(spelling) + '"}'
        return Answer(400, body)
    if channel == "error":
        return Answer(400, '{"error": "bad-' + spelled + '", "error_description": "x"}')
    if channel == "request-id":
        value = secret if spelling == "verbatim" else spelled
        body = json.dumps({"error": "invalid_grant", "error_description": description})
        return Answer(400, body, (("x-amzn-RequestId", f"req-{value}"),))
    if channel == "2xx-body":
        head = '{"token_type": "bearer", "note": "' + PREFIX
        head += filler(spelling, secret, len(head))
        end = tail(spelling) + '"}'
        return Answer(200, head + spelled + end)  # no access_token: not a token answer
    assert channel == "form-echo"  # the request's form, echoed back (URL-encoded)
    form = "grant_type=refresh_token&refresh_token={}&client_id=c&client_secret={}"
    quoted = re.sub(r"[^A-Za-z0-9._~-]", lambda m: f"%{ord(m[0]):02X}", secret)
    echo = json_minimal(f"received {form.format(quoted, quoted)}")
    return Answer(400, '{"error": "invalid_request", "error_description": "' + echo + '"}')


@pytest.mark.unmeasured  # a proof at volume: see tests/conftest.py
def test_every_echo_of_a_login_with_amazon_secret_is_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="amazon_music_browse")
    issued = "Atza|IwEBIAccessIssued/+=Q9x"  # sent with a bad expires_in: never accepted
    search = Search([*LWA_SECRETS.values(), issued])
    wrong: list[str] = []
    cases = 0
    with EchoServer() as server:
        url = server.url + "/auth/o2/token"
        for (name, secret), spelling, channel in (
            (item, spelling, channel)
            for item in LWA_SECRETS.items()
            for spelling in SPELLINGS
            for channel in LWA_CHANNELS
        ):
            where = f"{name}, {spelling}, in {channel}"
            if name == "refresh_token":
                credentials = (CLIENT_ID, "other-client-secret-0000", secret)
            else:
                credentials = (CLIENT_ID, secret, "Atzr|other-refresh-0000")
            server.answer = lwa_answer(channel, SPELLINGS[spelling](secret), spelling, secret)
            with (
                LoginWithAmazon(*credentials, url, timeout=5.0) as lwa,
                pytest.raises(AmazonMusicError) as caught,
            ):
                lwa()
            error = caught.value
            cases += 1
            kind = ResponseValidationError if channel == "2xx-body" else AuthenticationError
            if type(error) is not kind:
                wrong.append(f"{where}: {type(error).__name__}")
            elif MARKER not in str(
                getattr(error, "request_id" if channel == "request-id" else "body", None)
            ):
                wrong.append(f"{where}: no {MARKER} where the secret was")
            search.error(where, error)
        # a 200 that hands out a token it then spoils (no usable expires_in), echoing it
        body = json.dumps({"access_token": issued, "expires_in": "soon", "echo": issued})
        server.answer = Answer(200, body.replace("/", "\\/"))
        with (
            LoginWithAmazon(CLIENT_ID, "client-secret-0000", "Atzr|r-0000", url) as lwa,
            pytest.raises(ResponseValidationError) as caught,
        ):
            lwa()
        search.error("issued token", caught.value)
        cases += 1
        requests = server.requests
    search.logs(caplog)

    report(
        "redaction-lwa",
        cases=cases,
        secrets=len(search.secrets),
        spellings=len(SPELLINGS),
        channels=len(LWA_CHANNELS),
        texts=search.texts,
        log_records=len(caplog.records),
        wrong=len(wrong),
        hits=len(search.hits),
    )
    assert requests == cases
    assert wrong == [], "\n".join(wrong[:20])
    assert search.hits == [], "\n".join(search.hits[:20])


def test_an_api_error_keeps_its_class_and_fields_when_redacted() -> None:
    """The documented error object still parses after redaction (the JSON stays valid)."""
    secret = SHAPES["punctuation"]  # a backslash, a quote, a slash: the hardest to keep valid
    body = json.dumps(
        {"error": {"status": "404", "code": "NF", "message": f"no {secret}", "reference": "r1"}}
    )
    with EchoServer() as server:
        server.answer = Answer(404, body)
        with (
            BrowseClient(secret, OTHER_TOKEN, base_url=server.url, max_retries=0) as client,
            pytest.raises(APIError) as caught,
        ):
            client.get_category("x1")
    error = caught.value
    report("redaction-keeps-fields", code=error.code, reference=error.reference)
    assert (error.code, error.message, error.reference) == ("NF", f"no {MARKER}", "r1")
