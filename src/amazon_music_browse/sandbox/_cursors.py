"""`CursorCodec`: the sandbox's opaque, signed page tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Final

__all__ = ["CursorCodec"]


class CursorCodec:
    """Opaque page tokens: ``base64url("<offset>:<scope>") + "." + base64url(HMAC)``.

    The scope names the collection (``topTracks``, ``category/<id>/tracks``), so a token
    is refused on any other collection; the HMAC, keyed by the seed, makes tokens
    unforgeable yet stable across restarts of a sandbox with the same seed.
    """

    _SHAPE: Final = re.compile(r"[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{1,40}")

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"amazon-music-browse-sandbox/{seed}/cursors".encode()).digest()

    def encode(self, scope: str, offset: int) -> str:
        """Return the token for the page of ``scope`` that starts at ``offset``."""
        payload = f"{offset}:{scope}".encode()
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, scope: str, token: str) -> int | None:
        """Return the offset in a token made for ``scope``, or None for any other string."""
        if not self._SHAPE.fullmatch(token):
            return None
        body, _, signature = token.partition(".")
        try:
            payload, mac = _b64decode(body), _b64decode(signature)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._sign(payload)):
            return None
        offset, _, token_scope = payload.decode().partition(":")
        return int(offset) if token_scope == scope else None

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:12]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
