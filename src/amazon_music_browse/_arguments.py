"""Checks of the arguments a caller passes, made before any request is sent."""

from __future__ import annotations

import math
from typing import Any, TypeGuard
from urllib.parse import quote, unquote, urlsplit


def _type_name(value: Any) -> str:
    return type(value).__name__


def is_int(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is an ``int`` and not a ``bool`` (which Python counts as one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is an ``int`` or a ``float`` and not a ``bool``; nan and inf count."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is a number (see `is_number`) that is a finite ``float`` too.

    nan, the infinities and an ``int`` too large for a ``float`` (``10**400``) are not.
    """
    if not is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False


def check_limit(limit: Any, bounds: tuple[int, int], *, name: str = "limit") -> int:
    """Return ``limit`` if it is an ``int`` (not ``bool``) inside ``bounds``, else raise."""
    low, high = bounds
    if not is_int(limit):
        raise TypeError(f"{name} must be an int from {low} to {high}, not {_type_name(limit)}")
    if not low <= limit <= high:
        raise ValueError(f"{name} must be from {low} to {high} for this endpoint, got {limit}")
    return limit


def check_count(value: Any, *, name: str) -> int | None:
    """Return ``value`` if it is ``None`` or an ``int`` >= 0 (``max_items``, ``max_pages``)."""
    if value is None:
        return None
    if not is_int(value):
        raise TypeError(f"{name} must be an int >= 0 or None, not {_type_name(value)}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 or None, got {value}")
    return value


def check_sendable(value: str, name: str) -> str:
    """Return ``value`` if it can be encoded as UTF-8 (no lone surrogate), else raise."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} cannot be sent: it holds a lone surrogate ({value[exc.start]!r} at "
            f"position {exc.start}), which is not text; pass a str of real characters"
        ) from None
    return value


def check_cursor(cursor: Any) -> str | None:
    """Return ``cursor`` if it is ``None`` or a non-empty ``str``, else raise."""
    if cursor is None:
        return None
    if not isinstance(cursor, str):
        raise TypeError(
            f"cursor must be a str from a previous page or None, not {_type_name(cursor)}"
        )
    if not cursor:
        raise ValueError("cursor must be a non-empty str from a previous page, or None")
    return check_sendable(cursor, "cursor")


def check_path_param(name: str, value: Any) -> str:
    """Return ``value`` percent-encoded as one path segment, or raise.

    It must be a non-empty ``str`` without surrounding whitespace; ``.`` and ``..`` are
    refused because HTTP libraries collapse them even when encoded.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    if not value:
        raise ValueError(f"{name} must be a non-empty str, like '2iB4IU25'")
    if value != value.strip():
        raise ValueError(f"{name} must not start or end with whitespace: {value!r}")
    if value in {".", ".."}:
        raise ValueError(f"{name} cannot be {value!r}: it is not an id but a path step")
    return quote(check_sendable(value, name), safe="")


def check_request_path(path: Any) -> str:
    """``path`` if it stays below ``base_url`` once joined to it, else raise."""
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    check_sendable(path, "path")
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError(
            f"path must be relative to base_url and start with one '/', like "
            f"'/v1/tracks/B0785GTW4T', got {path!r}"
        )
    if "?" in path or "#" in path or any(not c.isprintable() or c.isspace() for c in path):
        raise ValueError(
            f"path must have no query, fragment, whitespace or control characters "
            f"(pass query parameters as params=), got {path!r}"
        )
    segments = unquote(urlsplit(path).path).split("/")
    if any(segment in {".", ".."} for segment in segments):
        raise ValueError(f"path must not have '.' or '..' segments, got {path!r}")
    return path


def check_method(method: Any) -> str:
    """Return ``method`` upper-cased if it is an HTTP method token, else raise."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a str like 'GET' or 'POST', not {type(method).__name__}")
    if not method.isascii() or not method.isalpha():
        raise ValueError(f"method must be an HTTP method like 'GET' or 'POST', got {method!r}")
    return method.upper()
