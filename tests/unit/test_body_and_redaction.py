"""Reading bodies under a cap (with our own decompression) and redacting escaped echoes."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from typing import Any

import pytest
import requests
import urllib3

from amazon_music_browse._body import BodyTooLarge, read_body
from amazon_music_browse._redact import REDACTED, Redactor


def streamed(body: bytes, encoding: str | None = None, chunk: int = 1000) -> requests.Response:
    """A ``requests.Response`` over a urllib3 response that hands ``body`` out in chunks."""
    headers = {"Content-Encoding": encoding} if encoding else {}
    raw = urllib3.HTTPResponse(
        body=io.BufferedReader(io.BytesIO(body), buffer_size=chunk),  # type: ignore[arg-type]
        headers=headers,
        status=200,
        preload_content=False,
        decode_content=False,
    )
    response = requests.Response()
    response.raw = raw
    response.status_code = 200
    response.headers.update(headers)
    return response


TEXT = json.dumps({"words": ["x" * 10, "Café 日本 🎵"] * 1000}).encode()


def deflate(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(wbits=wbits)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        (None, TEXT),
        ("identity", TEXT),
        ("gzip", gzip.compress(TEXT, mtime=0)),
        ("x-gzip", gzip.compress(TEXT, mtime=0)),
        ("GZIP", gzip.compress(TEXT, mtime=0)),
        ("deflate", deflate(TEXT, zlib.MAX_WBITS)),  # zlib-wrapped, as the RFC says
        ("deflate", deflate(TEXT, -zlib.MAX_WBITS)),  # raw, as some servers send it
    ],
    ids=["none", "identity", "gzip", "x-gzip", "GZIP", "deflate-zlib", "deflate-raw"],
)
def test_every_encoding_we_ask_for_is_decoded(encoding: str | None, encoded: bytes) -> None:
    assert read_body(streamed(encoded, encoding), cap=len(TEXT)) == TEXT


def test_a_gzip_body_of_several_members_is_decoded_whole() -> None:
    body = gzip.compress(TEXT[:1000], mtime=0) + gzip.compress(TEXT[1000:], mtime=0)
    assert read_body(streamed(body, "gzip"), cap=len(TEXT)) == TEXT


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate"])
def test_a_body_one_byte_over_the_cap_raises_with_its_head(encoding: str | None) -> None:
    encoded = {None: TEXT, "gzip": gzip.compress(TEXT, mtime=0), "deflate": zlib.compress(TEXT)}[
        encoding
    ]
    with pytest.raises(BodyTooLarge) as caught:
        read_body(streamed(encoded, encoding), cap=len(TEXT) - 1)
    assert caught.value.head == TEXT[: len(TEXT) - 1]
    assert caught.value.cap == len(TEXT) - 1


def test_a_bomb_is_never_expanded_past_the_cap() -> None:
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(b"\0" * 1_000_000) for _ in range(200)) + compressor.flush()
    assert len(bomb) < 300_000  # 200 MB decoded

    produced: list[int] = []
    original = zlib.decompressobj

    def watched(*args: object) -> object:
        inner = original(*args)  # type: ignore[arg-type]

        class Watched:
            def __getattr__(self, name: str) -> object:
                return getattr(inner, name)

            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                out = inner.decompress(data, max_length)
                produced.append(len(out))
                return out

        return Watched()

    zlib_module = pytest.MonkeyPatch()
    zlib_module.setattr(zlib, "decompressobj", watched)
    try:
        with pytest.raises(BodyTooLarge):
            read_body(streamed(bomb, "gzip", chunk=64 * 1024), cap=1_000_000)
    finally:
        zlib_module.undo()
    assert max(produced) <= 1_000_001  # never more than the room left, plus one byte
    assert sum(produced) <= 1_000_001


def test_a_body_that_does_not_decode_raises_zlib_error() -> None:
    with pytest.raises(zlib.error):
        read_body(streamed(b"this is not gzip at all", "gzip"), cap=1000)


def test_an_encoding_we_did_not_ask_for_is_passed_through() -> None:
    response = streamed(b"\x1b\x00 brotli?", "br")
    assert read_body(response, cap=1000) == b"\x1b\x00 brotli?"


# -- redaction ------------------------------------------------------------------------------


SECRET = "Atza|IwEB/abc+DEF=xyz"


def unicode_escaped(text: str, upper: bool = False) -> str:
    return "".join((f"\\u{ord(c):04X}" if upper else f"\\u{ord(c):04x}") for c in text)


@pytest.mark.parametrize(
    "echo",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        SECRET.replace("/", "\\/"),
        unicode_escaped(SECRET),
        unicode_escaped(SECRET, upper=True),
        SECRET[:5] + unicode_escaped(SECRET[5:9]) + SECRET[9:].replace("/", "\\/"),
    ],
    ids=["verbatim", "json", "slash", "unicode", "UNICODE", "mixed"],
)
def test_every_spelling_of_a_secret_is_redacted(echo: str) -> None:
    text = f'{{"message": "token {echo} refused"}}'
    redacted = Redactor([SECRET])(text)
    assert redacted == f'{{"message": "token {REDACTED} refused"}}'
    assert SECRET not in json.loads(redacted)["message"]


def test_a_non_ascii_secret_is_redacted_in_surrogate_pair_escapes() -> None:
    secret = "clé-secrète-🎵-1234"
    escaped = json.dumps(secret)[1:-1]  # ensure_ascii: é as \u00e9, 🎵 as a surrogate pair
    assert "\\ud83c\\udfb5" in escaped
    assert Redactor([secret])(f"x {escaped} y") == f"x {REDACTED} y"


@pytest.mark.parametrize("short", ["R", "RE", "D]", "ACTE", "1234567"])
def test_secrets_shorter_than_8_characters_are_not_searched(short: str) -> None:
    text = f"401 RESOURCE_NOT_FOUND: [REDACTED] {short} (reference {short}-1)"
    assert Redactor([short])(text) == text


def test_redacting_twice_changes_nothing_and_never_touches_the_marker() -> None:
    redact = Redactor(["REDACTED", "a-longer-secret"])
    once = redact("a-longer-secret and REDACTED")
    assert once == f"{REDACTED} and {REDACTED}"
    assert redact(once) == once


def test_a_secret_containing_another_is_replaced_whole() -> None:
    redact = Redactor(["abcdefgh", "abcdefgh-and-more"])
    assert redact("x abcdefgh-and-more y") == f"x {REDACTED} y"


def test_regex_characters_in_a_secret_are_literal() -> None:
    redact = Redactor(["a.b*c+d?(e)"])
    assert redact("a.b*c+d?(e)") == REDACTED
    assert redact("aXbbbcdde") == "aXbbbcdde"


@pytest.mark.parametrize("escape", [str.upper, str.lower])
def test_a_secret_percent_encoded_in_a_url_is_redacted(escape: Any) -> None:
    secret = "Atza|IwEB/abc+DEF=xyz"
    encoded = "".join(c if c.isalnum() else escape(f"%{ord(c):02x}") for c in secret)
    assert "%7C" in encoded or "%7c" in encoded
    text = f"see https://example.test/?t={encoded}&x=1"
    assert Redactor([secret])(text) == f"see https://example.test/?t={REDACTED}&x=1"
