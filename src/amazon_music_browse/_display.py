"""How pages and paginators show themselves: short text, and HTML tables for notebooks.

Pure functions of data already in memory: nothing here sends a request or does I/O.
Durations read ``h:mm:ss`` and counts and sizes get thousands separators, in HTML tables
and the command line's tables alike (`duration_text`, `number_text`).
Every value is escaped with `html.escape`, and only ``http(s)`` URLs become links or
``<img>`` thumbnails, so a hostile title or a ``javascript:`` URL is shown, never run.
Plain text (``str(page)``, the command line's tables) goes through `printable`, so a
title cannot move the cursor, recolour or retitle a terminal, or reorder a line.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel
from pydantic.alias_generators import to_snake

from ._arguments import is_number

__all__ = [
    "MAX_ROWS",
    "duration_text",
    "item_lines",
    "number_text",
    "printable",
    "settings_html",
    "table_html",
    "web_url",
]

MAX_ROWS: Final = 20
"""The most items a table or a text listing shows; the rest are counted in one line."""

_MAX_CELL_CHARS: Final = 80
_THUMBNAIL_WIDTH: Final = 48
_IMAGES: Final = "images"
_LEADING_COLUMNS: Final = ("id", "title", "name")
_WEB_URL: Final = re.compile(r"https?://[^\s/?#]", re.IGNORECASE)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_STYLE: Final = "text-align: left"

_REPLACEMENT: Final = "\N{REPLACEMENT CHARACTER}"
# ECMA-48 escape sequences, 7-bit (ESC ...) and 8-bit (C1) forms: a control sequence
# (CSI ... final byte), a terminated control string (OSC, DCS, SOS, PM, APC: the payload
# of an OSC 8 link or an OSC 52 clipboard write goes with it), or ESC and its next bytes.
_ESCAPE_SEQUENCE: Final = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    r"|(?:\x1b[P\]X^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
_LINE_BREAKS: Final = re.compile(r"[\t\n\v\f\r\x85\u2028\u2029]+")
# The rest of C0, DEL, C1; the bidi embeddings, overrides and isolates (they reorder
# the rest of a line); lone surrogates (no encoding can write them).
_UNPRINTABLE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def duration_text(seconds: int | float | None) -> str:
    """A length in seconds as ``h:mm:ss``: ``4893`` and ``4893.4`` read ``1:21:33``.

    Rounded to the nearest second (a tie to the even one); hours are not capped
    (``100:00:00``). ``None`` is blank. A value that is no length of time (negative, NaN,
    infinite) is shown as it is (``-5``), so a bad value is seen, not hidden.
    """
    if seconds is None:
        return ""
    if seconds < 0 or (isinstance(seconds, float) and not math.isfinite(seconds)):
        return str(seconds)
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}"


def number_text(value: int | float | None) -> str:
    """A count or size with thousands separators: ``1234`` and ``1234.0`` read ``1,234``.

    A fraction keeps its digits (``1,234.5``); ``None`` is blank; NaN and infinity are
    shown as they are. The separator is always ``,``, whatever the locale.
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def web_url(value: Any) -> str | None:
    """``value`` if it is an absolute ``http(s)`` URL safe to put in an attribute, else ``None``."""
    if not isinstance(value, str) or not _WEB_URL.match(value) or _CONTROL.search(value):
        return None
    return value.replace(" ", "%20")  # the documented data has raw spaces in its URLs


def printable(text: str) -> str:
    """``text`` as one line that a terminal shows as it is, and nothing more.

    Escape sequences (each as a whole) and control characters (C0, DEL, C1), the bidi
    embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069) and lone
    surrogates become U+FFFD; a run of line breaks or tabs becomes one space. Everything
    else is left alone: accents, CJK, emoji with their joiners, no-break spaces and the
    bidi marks (U+200E, U+200F, U+061C) that right-to-left text uses.
    """
    if text.isprintable():
        return text
    text = _ESCAPE_SEQUENCE.sub(_REPLACEMENT, text)
    text = _LINE_BREAKS.sub(" ", text)
    return _UNPRINTABLE.sub(_REPLACEMENT, text)


def item_lines(items: Sequence[BaseModel], *, max_rows: int = MAX_ROWS) -> list[str]:
    """One line per item (``id`` and ``title`` or ``name``), then ``… N more`` if cut.

    Values pass through `printable`: one line each, no control characters.
    """
    lines = []
    for item in items[:max_rows]:
        label = _first_present(item, ("title", "name"))
        text = f"{getattr(item, 'id', '')}  {'' if label is None else label}"
        lines.append(printable(text).rstrip())
    if len(items) > max_rows:
        lines.append(f"… {len(items) - max_rows} more")
    return lines


def table_html(
    items: Sequence[BaseModel],
    *,
    caption: str,
    item_type: type[BaseModel] | None = None,
    max_rows: int = MAX_ROWS,
) -> str:
    """A compact HTML table of ``items``, one row each, at most ``max_rows`` of them.

    Columns are the items' fields, documented and unknown alike: ``images`` first (as a
    thumbnail of each item's first image), then ``id``, ``title``/``name``, then the rest in
    the model's order. With no items the columns come from ``item_type``.
    """
    shown = items[:max_rows]
    columns = _columns(shown, item_type)
    header = "".join(f'<th style="{_STYLE}">{html.escape(name)}</th>' for name in columns)
    rows = [
        "<tr>"
        + "".join(f'<td style="{_STYLE}">{_cell(item, name)}</td>' for name in columns)
        + "</tr>"
        for item in shown
    ]
    span = max(len(columns), 1)
    if not items:
        rows.append(f'<tr><td colspan="{span}" style="{_STYLE}"><em>no items</em></td></tr>')
    elif len(items) > max_rows:
        rows.append(
            f'<tr><td colspan="{span}" style="{_STYLE}">'
            f"<em>… {len(items) - max_rows} more</em></td></tr>"
        )
    return (
        '<table class="amazon-music-browse">'
        f'<caption style="text-align: left">{html.escape(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def settings_html(caption: str, settings: Iterable[tuple[str, Any]]) -> str:
    """A two-column HTML table of names and values (``repr`` of each value), escaped."""
    rows = "".join(
        f'<tr><th style="{_STYLE}">{html.escape(name)}</th>'
        f'<td style="{_STYLE}"><code>{html.escape(_shorten(repr(value)))}</code></td></tr>'
        for name, value in settings
    )
    return (
        '<table class="amazon-music-browse">'
        f'<caption style="text-align: left">{html.escape(caption)}</caption>'
        f"<tbody>{rows}</tbody></table>"
    )


# -- helpers -----------------------------------------------------------------------------------

# Columns shown as durations or as counts and sizes (by snake_case name, so an unknown
# ``trackCount`` on a track reads like a playlist's ``track_count``).
_NUMBER_FORMATS: Final[Mapping[str, Callable[[int | float], str]]] = {
    "duration": duration_text,
    "track_count": number_text,
    "width": number_text,
    "height": number_text,
}


def _fields(item: BaseModel) -> list[str]:
    return [*type(item).model_fields, *(item.model_extra or {})]


def _columns(items: Sequence[BaseModel], item_type: type[BaseModel] | None) -> list[str]:
    names: dict[str, None] = {}
    if not items and item_type is not None:
        names.update(dict.fromkeys(item_type.model_fields))
    for item in items:
        names.update(dict.fromkeys(_fields(item)))
    leading = [name for name in (_IMAGES, *_LEADING_COLUMNS) if name in names]
    return leading + [name for name in names if name not in leading]


def _first_present(item: BaseModel, names: Sequence[str]) -> Any:
    for name in names:
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def _cell(item: BaseModel, name: str) -> str:
    value = getattr(item, name, None)
    if name == _IMAGES:
        return _thumbnail(value)
    if value is None:
        return ""
    number_format = _NUMBER_FORMATS.get(to_snake(name))
    if number_format is not None and is_number(value):
        return html.escape(number_format(value))
    text = html.escape(_shorten(_plain(value)))
    url = web_url(value) if name == "url" or name.lower().endswith("url") else None
    if url is None:
        return text
    return f'<a href="{html.escape(url)}" target="_blank" rel="noopener noreferrer">{text}</a>'


def _thumbnail(images: Any) -> str:
    """An ``<img>`` of the first image, when it has an ``http(s)`` URL; else nothing."""
    if not isinstance(images, Sequence) or isinstance(images, str) or not images:
        return ""
    first = images[0]
    raw = first.get("url") if isinstance(first, Mapping) else getattr(first, "url", None)
    url = web_url(raw)
    if url is None:
        return ""
    return (
        f'<img src="{html.escape(url)}" width="{_THUMBNAIL_WIDTH}" loading="lazy" alt="" '
        'referrerpolicy="no-referrer">'
    )


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(_jsonable(value), ensure_ascii=False, default=str)


def _jsonable(value: Any) -> Any:
    # model_dump, not pydantic_core.to_jsonable_python: it builds a deferred model first.
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _shorten(text: str, limit: int = _MAX_CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
