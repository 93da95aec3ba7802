"""What the command line writes, in process: table cells, footers, JSON lines."""

from __future__ import annotations

import pytest

from amazon_music_browse import Category, Playlist, Track
from amazon_music_browse._cli import render_table
from amazon_music_browse._display import printable
from tests.unit.test_display import HOSTILE, PLAIN


@pytest.mark.parametrize(("name", "text", "shown"), HOSTILE, ids=[name for name, *_ in HOSTILE])
def test_table_cells_go_through_the_shared_sanitiser(name: str, text: str, shown: str) -> None:
    lines = render_table([Track(id="t1", title=f"<{text}>")], Track, 500)

    assert lines[1] == f"t1  <{shown}>"
    assert printable(f"<{text}>") == f"<{shown}>"


def test_table_cells_keep_ordinary_text() -> None:
    items = [Track(id=f"t{n}", title=text) for n, text in enumerate(PLAIN)]

    lines = render_table(items, Track, 500)

    assert lines[1:] == [f"t{n}  {text}".rstrip() for n, text in enumerate(PLAIN)]


def test_every_column_is_sanitised() -> None:
    hostile = "\x1b]0;x\x07a\nb"
    lines = [
        *render_table([Category(id=hostile, name=hostile, category_type=hostile)], Category, 500),
        *render_table([Playlist(id=hostile, title=hostile)], Playlist, 500),
    ]

    assert not [line for line in lines if "\x1b" in line or "\x07" in line or "\n" in line]
    assert lines[1].split() == ["\ufffda", "b"] * 3
