"""Text for a person: aligned tables of items, and the footer under them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from amazon_music_browse._display import duration_text, number_text, printable
from amazon_music_browse._models import Album, Category, Episode, Playlist, Track

__all__ = ["cell", "footer", "plural", "render_table", "terminal_width", "where_next"]


@dataclass(frozen=True)
class _Column:
    header: str
    value: Callable[[Any], object]
    right: bool = False
    flexible: bool = False


_ID = _Column("ID", lambda item: getattr(item, "id", None))
_TITLE = _Column("TITLE", lambda item: getattr(item, "title", None), flexible=True)
_COLUMNS: dict[type[BaseModel], tuple[_Column, ...]] = {
    Track: (_ID, _TITLE),
    Album: (_ID, _TITLE),
    Episode: (_ID, _TITLE),
    Playlist: (
        _ID,
        _TITLE,
        _Column("DURATION", lambda item: duration_text(item.duration), right=True),
        _Column("TRACKS", lambda item: number_text(item.track_count), right=True),
    ),
    Category: (
        _ID,
        _Column("NAME", lambda item: item.name, flexible=True),
        _Column("TYPE", lambda item: item.category_type),
    ),
}
_DEFAULT_COLUMNS = (
    _ID,
    _TITLE,
    _Column("NAME", lambda item: getattr(item, "name", None), flexible=True),
)
_GAP = "  "
_MIN_FLEXIBLE_WIDTH = 12


def _columns_of(model: type[BaseModel]) -> tuple[_Column, ...]:
    """The columns of ``model`` or of its nearest base (a wrapper's subclass of `Track`)."""
    for base in model.__mro__:
        if base in _COLUMNS:
            return _COLUMNS[base]
    return _DEFAULT_COLUMNS


def cell(value: object) -> str:
    """A value as one line of printable text (no line breaks or terminal escapes)."""
    return "" if value is None else printable(str(value)).strip()


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_table(items: Sequence[BaseModel], model: type[BaseModel], width: int) -> list[str]:
    """The lines of an aligned table of ``items``, at most ``width`` characters wide.

    Columns that are empty in every row (a category type that is never sent) are left
    out; the title or name column is cut with "…" when the rows would not fit.
    """
    columns = _columns_of(model)
    rows = [[cell(column.value(item)) for column in columns] for item in items]
    keep = [i for i, column in enumerate(columns) if i == 0 or any(row[i] for row in rows)]
    columns = tuple(columns[i] for i in keep)
    rows = [[row[i] for i in keep] for row in rows]
    widths = [max([len(c.header)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    excess = sum(widths) + len(_GAP) * (len(widths) - 1) - width
    for i, column in enumerate(columns):
        if excess > 0 and column.flexible:
            shrunk = max(_MIN_FLEXIBLE_WIDTH, widths[i] - excess)
            excess -= widths[i] - shrunk
            widths[i] = shrunk
    lines = []
    for cells in [[c.header for c in columns], *rows]:
        parts = [
            _fit(text, w).rjust(w) if column.right else _fit(text, w).ljust(w)
            for text, w, column in zip(cells, widths, columns, strict=True)
        ]
        lines.append(_GAP.join(parts).rstrip())
    return lines


def terminal_width() -> int:
    """The terminal's width in columns (``COLUMNS`` when set)."""
    return shutil.get_terminal_size().columns


def plural(count: int, word: str) -> str:
    """``1 item``, ``2 items``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def where_next(finished: bool, cursor: str | None) -> str:
    """``end of list``, or where a later run resumes (``--cursor``)."""
    if finished:
        return "end of list"
    if cursor:
        return f"next cursor: {cell(cursor)}"
    return "not finished: run again without --cursor to resume"  # cut in the first page


def _owner_text(key: str, owner: BaseModel) -> str:
    """``category: Heavy Metal (2iB4IU25)``: the object around a collection."""
    label = getattr(owner, "name", None) or getattr(owner, "title", None) or "?"
    return f"{key}: {cell(label)} ({cell(getattr(owner, 'id', None))})"


def footer(
    count: int,
    pages: int | None,
    finished: bool,
    cursor: str | None,
    *,
    owner: BaseModel | None = None,
    owner_key: str | None = None,
) -> str:
    """The line under a table: the count (and pages), the owner, and where to go next.

    Args:
        count: the items shown.
        pages: the pages they came from, or ``None`` for one page not walked.
        finished: whether the service said there is no next page.
        cursor: where a later run resumes.
        owner: the object around the collection (``page.owner``), if any.
        owner_key: its key in the body (``"category"``), which names it.
    """
    parts = [plural(count, "item")]
    if pages is not None:
        parts[0] += f" in {plural(pages, 'page')}"
    if owner is not None:
        parts.append(_owner_text(owner_key or "owner", owner))
    parts.append(where_next(finished, cursor))
    return " · ".join(parts)
