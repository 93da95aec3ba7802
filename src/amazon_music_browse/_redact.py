"""Removing credentials from text a service sent back: verbatim or JSON-escaped.

A service may echo a credential in an error message, a header or a body, and JSON lets
it spell every character in more than one way (``/`` as ``\\/``, ``A`` as ``\\u0041``);
a URL it quotes may percent-encode it (``|`` as ``%7C``).
A `Redactor` matches each credential in any mix of those spellings, in one pass, so a
replacement is never searched again: the ``[REDACTED]`` marker and the text around it
stay intact. Credentials shorter than `MIN_REDACTED_LENGTH` are not searched for: they
cannot be told apart from ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["MIN_REDACTED_LENGTH", "REDACTED", "Redactor", "redactor_for"]

REDACTED = "[REDACTED]"
"""What a credential is replaced with."""

MIN_REDACTED_LENGTH = 8
"""Credentials shorter than this are not searched for."""

# JSON's two-character escapes, by the character they stand for.
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f"}
_SHORT_ESCAPES.update({"\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _unicode_escape(code_unit: int) -> str:
    """A pattern for ``\\uXXXX`` of one UTF-16 code unit, hex digits in either case."""
    return "".join(
        f"[{digit.lower()}{digit.upper()}]" if digit.isalpha() else digit
        for digit in f"\\\\u{code_unit:04x}"
    )


def _char_pattern(char: str) -> str:
    """Every spelling of ``char`` in JSON text: itself, a short escape, ``\\u`` escapes."""
    code = ord(char)
    if code > 0xFFFF:  # written in JSON as a surrogate pair
        code -= 0x10000
        escaped = _unicode_escape(0xD800 + (code >> 10)) + _unicode_escape(0xDC00 + (code & 0x3FF))
    else:
        escaped = _unicode_escape(code)
    spellings = [re.escape(char), escaped]
    if char in _SHORT_ESCAPES:
        spellings.append(re.escape(_SHORT_ESCAPES[char]))
    if not (char.isascii() and char.isalnum()):  # as a URL would carry it: %7C, %2f...
        spellings.append("".join(_percent(byte) for byte in char.encode("utf-8")))
    return f"(?:{'|'.join(spellings)})"


def _percent(byte: int) -> str:
    """A pattern for ``%XX`` of one byte, hex digits in either case."""
    return "%" + "".join(
        f"[{digit.lower()}{digit.upper()}]" if digit.isalpha() else digit for digit in f"{byte:02x}"
    )


@lru_cache(maxsize=64)
def _compile(secrets: tuple[str, ...]) -> re.Pattern[str]:
    spelled = "|".join("".join(_char_pattern(char) for char in secret) for secret in secrets)
    # Tried in this order at each position: a marker already in the text (kept: redacting
    # twice is harmless); a credential; a backslash and a credential (replaced together:
    # in JSON `\nXYZ` a credential `nXYZ` overlaps the escape `\n`, and a backslash left
    # before the marker would escape its "[" and break the JSON); any other backslash
    # with the character after it (kept as a pair, so `\\nXYZ` keeps its escaped
    # backslash and only `nXYZ` is replaced).
    return re.compile(f"({re.escape(REDACTED)})|(?:{spelled})|\\\\(?:{spelled})|(\\\\[\\s\\S])")


def _replace(match: re.Match[str]) -> str:
    return match[1] or match[2] or REDACTED


class Redactor:
    """Replaces the given credentials in text, however JSON spells them.

    The regular expression is compiled when a text first needs it (most never do: see
    `__call__`): for an access token of a few hundred characters it takes ~25 ms, which
    every new token would otherwise cost each process on its first answer.
    """

    __slots__ = ("_pattern", "_secrets")

    def __init__(self, secrets: Iterable[str | None]) -> None:
        kept = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_REDACTED_LENGTH}
        # Longest first, so a credential that contains another is replaced whole.
        self._secrets = tuple(sorted(kept, key=lambda s: (-len(s), s)))
        self._pattern: re.Pattern[str] | None = None

    def __call__(self, text: str) -> str:
        """``text`` with every spelling of every credential replaced by ``[REDACTED]``."""
        if not self._secrets or not text:
            return text
        # Every spelling but the verbatim one needs a backslash or a percent sign: text
        # with neither, and no credential as it is, has nothing to replace (the common
        # case, e.g. a request id, is settled without the regular expression).
        if "\\" not in text and "%" not in text:
            for secret in self._secrets:  # a loop: any() over a generator costs ~1 µs more
                if secret in text:
                    break
            else:
                return text
        pattern = self._pattern
        if pattern is None:  # two threads may both compile: the same pattern
            pattern = self._pattern = _compile(self._secrets)
        return pattern.sub(_replace, text)

    def optional(self, text: str | None) -> str | None:
        """As calling it, passing ``None`` through."""
        return None if text is None else self(text)


@lru_cache(maxsize=64)
def redactor_for(secrets: tuple[str, ...]) -> Redactor:
    """The `Redactor` of ``secrets``, built once and shared by every call that sent them."""
    return Redactor(secrets)
