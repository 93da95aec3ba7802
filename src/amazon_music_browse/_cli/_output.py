"""Writing: streams whose failures are told apart, and JSON lines any stream can take."""

from __future__ import annotations

import codecs
import errno
import json
import os
from typing import Protocol, TextIO

from pydantic import BaseModel

__all__ = ["Output", "OutputError", "Writer", "closed_error", "json_line", "write_json"]


class Writer(Protocol):
    """Where the command line writes: a text stream, or an `Output` around one."""

    @property
    def encoding(self) -> str | None: ...

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


def closed_error() -> OSError:
    """The error of writing to a stream that is closed (or was never open)."""
    return OSError(errno.EBADF, "it is closed")


class OutputError(Exception):
    """Writing to stdout or stderr failed: a full disk, a closed pipe or descriptor."""

    def __init__(self, stream: Output, error: OSError) -> None:
        super().__init__(f"cannot write to {stream.name}: {error.strerror or error}")
        self.stream = stream
        self.error = error


class Output:
    """A text stream whose write failures raise `OutputError`, not a bare ``OSError``."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self.name = name

    @property
    def encoding(self) -> str | None:
        """The stream's encoding (``None`` for a stream of ``str``, like `io.StringIO`)."""
        return getattr(self._stream, "encoding", None)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise OutputError(self, exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise OutputError(self, exc) from exc

    def discard(self) -> None:
        """Point the stream's descriptor at devnull, so the flush at exit cannot fail too."""
        try:
            descriptor = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
        except (OSError, ValueError):  # no descriptor (a stream in memory)
            return
        try:
            os.dup2(devnull, descriptor)
        except OSError:
            pass
        finally:
            os.close(devnull)


def _json_escapes(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: the characters an encoding cannot take, as JSON escapes."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escapes = []
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if code > 0xFFFF:  # a surrogate pair, as json.dumps(ensure_ascii=True) writes it
            code -= 0x10000
            escapes.append(f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}")
        else:
            escapes.append(f"\\u{code:04x}")
    return "".join(escapes), error.end


_JSON_ESCAPES = "amazon_music_browse.json_escapes"
codecs.register_error(_JSON_ESCAPES, _json_escapes)


def json_line(item: BaseModel, encoding: str | None = None) -> str:
    """``item`` as one JSON line in the API's shape, every character of it writable.

    Characters ``encoding`` can take are kept as they are; the rest (and lone
    surrogates, which no encoding takes) become ``\\uXXXX`` escapes, so the line
    decodes to the same value whatever the stream: nothing is replaced with ``?``.
    """
    document = item.model_dump(by_alias=True, exclude_unset=True, mode="json")
    text = json.dumps(document, ensure_ascii=False)
    if text.isascii():
        return text
    try:
        return text.encode(encoding or "utf-8", _JSON_ESCAPES).decode(encoding or "utf-8")
    except LookupError:  # an encoding Python does not know: plain ASCII is safe
        return json.dumps(document)


def write_json(out: Writer, item: BaseModel) -> None:
    """Write ``item`` to ``out`` as one JSON line that ``out``'s encoding can take."""
    out.write(json_line(item, out.encoding) + "\n")
