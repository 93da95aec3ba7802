"""A reader of the PNG files that Chromium and matplotlib write, with the standard library.

Only what they write is supported: 8 bits per channel, RGB or RGBA, not interlaced.
Anything else is refused with a clear error rather than misread.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["Image", "Span", "read_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type: RGB, RGBA


@dataclass(frozen=True)
class Image:
    """Decoded pixels: ``rows[y]`` holds ``width`` pixels of ``channels`` bytes each."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> bytes:
        """The colour at ``(x, y)`` as RGB bytes (any alpha channel dropped)."""
        start = x * self.channels
        return self.rows[y][start : start + 3]

    def colours(self, left: int, top: int, right: int, bottom: int) -> set[bytes]:
        """The distinct RGB colours of the box ``left <= x < right``, ``top <= y < bottom``."""
        step = self.channels
        found: set[bytes] = set()
        for row in self.rows[top:bottom]:
            found.update(row[x : x + 3] for x in range(left * step, right * step, step))
        return found

    def count(self, colour: bytes, left: int, top: int, right: int, bottom: int) -> int:
        """How many pixels in ``left <= x < right``, ``top <= y < bottom`` are ``colour``."""
        step = self.channels
        return sum(
            row[x : x + 3] == colour
            for row in self.rows[top:bottom]
            for x in range(left * step, right * step, step)
        )

    def spans(self, colours: set[bytes]) -> dict[bytes, dict[int, Span]]:
        """Where each of ``colours`` (RGB) lies, row by row: ``{colour: {y: span}}``."""
        step = self.channels
        found: dict[bytes, dict[int, Span]] = {}
        for y, row in enumerate(self.rows):
            for x in range(self.width):
                colour = row[x * step : x * step + 3]
                if colour in colours:
                    spans = found.setdefault(colour, {})
                    span = spans.get(y)
                    spans[y] = Span(1, x, x + 1) if span is None else span.add(x)
        return found


@dataclass(frozen=True)
class Span:
    """The pixels of one colour in one row: how many, between ``left <= x < right``."""

    count: int
    left: int
    right: int

    def add(self, x: int) -> Span:
        return Span(self.count + 1, min(self.left, x), max(self.right, x + 1))


def read_png(data: bytes) -> Image:
    """The pixels of a PNG file.

    Raises:
        ValueError: not a PNG, or a kind of PNG this reader does not support.
    """
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    position = len(_SIGNATURE)
    header = b""
    compressed = []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        position += 12 + length  # length, type, body, CRC
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour_type not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}")
    channels = _CHANNELS[colour_type]
    raw = zlib.decompress(b"".join(compressed))
    stride = width * channels
    rows = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, previous, channels)
        rows.append(bytes(line))
        previous = line
    return Image(width, height, channels, rows)


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> None:
    """Undo the filter ``kind`` of one scanline in place (PNG specification, section 9)."""
    if kind == 0:
        return
    if kind == 1:  # Sub
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:  # Up
        for i in range(len(line)):
            line[i] = (line[i] + previous[i]) & 0xFF
    elif kind == 3:  # Average
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
    elif kind == 4:  # Paeth
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            estimate = a + b - c
            pa, pb, pc = abs(estimate - a), abs(estimate - b), abs(estimate - c)
            predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + predictor) & 0xFF
    else:
        raise ValueError(f"unknown PNG filter type {kind}")
