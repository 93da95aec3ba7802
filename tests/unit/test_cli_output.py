"""What the command line writes, in process: table cells, footers, JSON lines."""

from __future__ import annotations

import io
import json

import pytest

from amazon_music_browse import Album, Category, Edge, Playlist, ResponseCollection, Track
from amazon_music_browse._cli._output import json_line, write_json
from amazon_music_browse._cli._table import footer, render_table
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


def test_durations_and_counts_read_as_in_html_tables() -> None:
    playlists = [
        Playlist(id="p1", title="Long", duration=4893.6, track_count=1234),
        Playlist(id="p2", title="Longer", duration=360_000, track_count=25.0),
        Playlist(id="p3", title="Odd", duration=-5),
    ]
    page = ResponseCollection[Playlist](edges=[Edge[Playlist](node=p) for p in playlists])

    lines = render_table(playlists, Playlist, 100)
    html = page._repr_html_()

    assert lines == [
        "ID  TITLE    DURATION  TRACKS",
        "p1  Long      1:21:34   1,234",
        "p2  Longer  100:00:00      25",
        "p3  Odd" + " " * 12 + "-5",
    ]
    for shown in ("1:21:34", "1,234", "100:00:00", "25", "-5"):
        assert f">{shown}</td>" in html


# -- JSON lines ----------------------------------------------------------------------------

ITEMS = [
    Track(id="t1", title="Café 日本 🎵"),
    Track(id="t2", title="lone \ud800 surrogate", note="Ελληνικά \x1b[31m"),  # type: ignore[call-arg]
    Category(id="c1", name="Métal", category_type="GENRE"),
]
DOCUMENTS = [item.model_dump(by_alias=True, exclude_unset=True, mode="json") for item in ITEMS]


@pytest.mark.parametrize(
    "encoding", ["ascii", "latin-1", "cp1252", "koi8-r", "shift_jis", "utf-8", "utf-16"]
)
@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_json_lines_are_lossless_on_any_stream(encoding: str, errors: str) -> None:
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding=encoding, errors=errors, newline="\n")

    for item in ITEMS:
        write_json(stream, item)
    stream.flush()

    text = buffer.getvalue().decode(encoding)  # strict: nothing the stream could not take
    assert [json.loads(line) for line in text.splitlines()] == DOCUMENTS
    assert "?" not in text
    if encoding in ("latin-1", "cp1252", "utf-8", "utf-16"):
        assert "Café" in text  # what the encoding can take is written as it is
    if encoding.startswith("utf"):
        assert "日本 🎵" in text


def test_json_lines_escape_as_ensure_ascii_does() -> None:
    for item, document in zip(ITEMS, DOCUMENTS, strict=True):
        assert json_line(item, "ascii") == json.dumps(document)  # surrogate pairs included
        assert json_line(item, "no-such-encoding") == json.dumps(document)
    assert json_line(ITEMS[0]) == json.dumps(DOCUMENTS[0], ensure_ascii=False)
    assert json_line(ITEMS[1], "utf-8").count("\\ud800") == 1  # no encoder takes it raw


def test_json_lines_on_a_stream_of_str() -> None:
    stream = io.StringIO()  # no encoding: UTF-8 is assumed
    write_json(stream, ITEMS[1])

    assert json.loads(stream.getvalue()) == DOCUMENTS[1]
    stream.getvalue().encode("utf-8")  # writable as UTF-8 afterwards


# -- footers -------------------------------------------------------------------------------


def test_the_footer_says_finished_or_where_to_resume() -> None:
    metal = Category(id="2iB4IU25", name="Heavy \x1b[5mMetal")

    assert footer(3, 2, True, None) == "3 items in 2 pages · end of list"
    assert footer(1, None, False, "Y3Vy", owner=metal, owner_key="category") == (
        "1 item · category: Heavy \ufffdMetal (2iB4IU25) · next cursor: Y3Vy"
    )
    assert footer(2, 1, False, None) == (
        "2 items in 1 page · not finished: run again without --cursor to resume"
    )
    assert footer(0, 1, False, "a\x1b]0;x\x07b") == "0 items in 1 page · next cursor: a\ufffdb"


def test_the_footer_names_any_owner_by_its_key() -> None:
    show = Album(id="S1", title="A Show")  # a wrapper's owner model, with a title
    nameless = Category(id="c9")

    assert footer(2, None, True, None, owner=show, owner_key="show") == (
        "2 items · show: A Show (S1) · end of list"
    )
    assert footer(1, None, True, None, owner=nameless) == "1 item · owner: ? (c9) · end of list"
