"""Reading a response's body incrementally, never holding more than a cap of decoded bytes.

The body is read raw and decompressed here with ``max_length``, chunk by chunk, so a
gzip bomb costs at most the cap however far it would expand.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import Any

import requests

from ._deadline import raise_if_deadline_passed

__all__ = ["ACCEPT_ENCODING", "BodyTooLarge", "read_body"]

ACCEPT_ENCODING = "gzip, deflate"
"""The encodings this module decodes, to send as ``Accept-Encoding``."""

_CHUNK = 64 * 1024


class BodyTooLarge(Exception):
    """The decoded body is longer than the cap; ``head`` holds its first ``cap`` bytes."""

    def __init__(self, cap: int, head: bytes) -> None:
        super().__init__(f"the body is longer than {cap} bytes")
        self.cap = cap
        self.head = head


class _Inflate:
    """gzip (possibly several members) or deflate (zlib-wrapped, or raw as some send it)."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._first = True
        self._inner: Any = self._new()

    def _new(self) -> Any:
        return zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """Decoded pieces of ``data``, lazily: each at most `_CHUNK` bytes, and together
        at most ``room + 1`` (one byte more than fits tells the caller it does not)."""
        while True:
            limit = min(room + 1, _CHUNK)
            try:
                out = self._inner.decompress(data, limit)
            except zlib.error:
                if self._gzip or not self._first:
                    raise
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
                out = self._inner.decompress(data, limit)
            self._first = False
            if out:
                yield out
            room -= len(out)
            if self._inner.unconsumed_tail:
                data = self._inner.unconsumed_tail
            elif self._inner.eof and self._gzip and self._inner.unused_data.strip(b"\0"):
                data = self._inner.unused_data
                self._inner = self._new()
            elif len(out) == limit and not self._inner.eof:
                data = b""  # the output filled the limit: more may be pending inside
            else:
                return


def _raw_chunks(response: requests.Response) -> tuple[Iterator[bytes], str | None]:
    """The body's chunks as sent (still encoded) and the encoding to undo, if we can."""
    loaded = getattr(response, "_content", False)
    if isinstance(loaded, bytes):  # a session that read the body already, despite stream=True
        return iter([loaded]), None
    raw = response.raw
    encoding = response.headers.get("Content-Encoding", "").strip().lower() or None
    if hasattr(raw, "stream") and encoding in (None, "identity", "gzip", "x-gzip", "deflate"):
        return raw.stream(_CHUNK, decode_content=False), encoding
    # Not a urllib3 response (a cache's, say), or an encoding we do not decode here.
    return response.iter_content(_CHUNK), None


def read_body(response: requests.Response, cap: int) -> bytes:
    """The decoded body of a streamed ``response``, at most ``cap`` bytes.

    Raises:
        BodyTooLarge: the decoded body is longer than ``cap`` (the response is closed).
        zlib.error: the body does not decode as its ``Content-Encoding`` says.
        requests.RequestException: the connection failed while reading, or the attempt's
            deadline passed (`DeadlinePassed`): the end of the stream was not the end of
            the response.
    """
    chunks, encoding = _raw_chunks(response)
    inflate = _Inflate(encoding) if encoding not in (None, "identity") else None
    # BytesIO grows in place and getvalue() hands its buffer over without a copy: the
    # body costs about its own size once, never a list of pieces plus their join.
    buffer = io.BytesIO()
    size = 0
    for chunk in chunks:
        pieces = inflate.feed(chunk, cap - size) if inflate is not None else (chunk,)
        for piece in pieces:
            if size + len(piece) > cap:
                buffer.write(memoryview(piece)[: cap - size])
                response.close()
                raise BodyTooLarge(cap, buffer.getvalue())
            buffer.write(piece)
            size += len(piece)
    # A socket the deadline shut down reads as the end of the body: it is not.
    raise_if_deadline_passed()
    return buffer.getvalue()
