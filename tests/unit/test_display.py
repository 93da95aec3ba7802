"""How pages and paginators show themselves (text, Jupyter HTML), ``to_dicts``, ``progress``."""

from __future__ import annotations

import html
import json
import re
import sys
import types
from collections.abc import Generator, Iterator
from typing import Any, ClassVar, cast
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from amazon_music_browse import (
    Album,
    BrowseClient,
    Category,
    Episode,
    Paginator,
    Playlist,
    ResponseCollection,
    Track,
)
from amazon_music_browse._display import (
    MAX_ROWS,
    duration_text,
    number_text,
    printable,
    web_url,
)
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL

HINT = 'pip install "amazon-music-browse[progress]"'
COVER = "https://m.media-amazon.com/images/I/71JmZ24jF4L.jpg"


def page_of(
    model: type[Any],
    nodes: list[dict[str, Any]],
    token: str | None = None,
    category: dict[str, Any] | None = None,
) -> Any:
    data: dict[str, Any] = {
        "pageInfo": {"hasNextPage": token is not None, "token": token},
        "edges": [{"node": node} for node in nodes],
    }
    if category is not None:
        data["category"] = category
    return ResponseCollection[model].model_validate(data)  # type: ignore[valid-type]


def tracks(count: int, token: str | None = None) -> ResponseCollection[Track]:
    page: ResponseCollection[Track] = page_of(
        Track, [{"id": f"t{n}", "title": f"Song {n}"} for n in range(count)], token
    )
    return page


def playlist(**fields: Any) -> dict[str, Any]:
    return {"id": "B00J9PVXBM", "title": "Happy Modern Pop", **fields}


def headers(markup: str) -> list[str]:
    return re.findall(r"<th(?: [^>]*)?>(.*?)</th>", markup)


def body_rows(markup: str) -> list[str]:
    body = markup.split("<tbody>", 1)[1]
    return re.findall(r"<tr>(.*?)</tr>", body)


def cells(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


def images(markup: str) -> list[str]:
    return re.findall(r"<img [^>]*>", markup)


# -- HTML tables of pages ----------------------------------------------------------------------


def test_hostile_values_are_escaped_everywhere() -> None:
    page = page_of(
        Playlist,
        [
            playlist(
                title="<script>alert(1)</script>",
                url='https://x.example/"><script>alert(2)</script>',
                images=[{"url": 'https://img.example/a.jpg" onerror="alert(3)'}],
                note="<b onmouseover=alert(4)>",
            )
        ],
        token="<script>alert(5)</script>",
        category={"id": "c1", "name": "</caption><script>alert(6)</script>"},
    )

    markup = page._repr_html_()

    assert "<script" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "&lt;/caption&gt;&lt;script&gt;alert(6)&lt;/script&gt;" in markup
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in markup
    assert "&lt;b onmouseover=alert(4)&gt;" in markup
    assert images(markup) == [
        '<img src="https://img.example/a.jpg&quot;%20onerror=&quot;alert(3)" width="48" '
        'loading="lazy" alt="" referrerpolicy="no-referrer">'
    ]
    assert 'href="https://x.example/&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in markup
    assert markup.count("<caption") == 1
    assert markup.count("</caption>") == 1


@pytest.mark.parametrize(
    ("url", "src"),
    [
        (COVER, COVER),
        ("http://img.example/cover.png", "http://img.example/cover.png"),
        ("HTTPS://IMG.EXAMPLE/C.PNG", "HTTPS://IMG.EXAMPLE/C.PNG"),
        ("https://m.example/raw space.jpg", "https://m.example/raw%20space.jpg"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        (" javascript:alert(1)", None),
        (" https://img.example/leading-space.png", None),
        ("java\tscript:alert(1)", None),
        ("https://img.example/\nx.png", None),
        ("data:image/png;base64,iVBORw0KGgo=", None),
        ("vbscript:msgbox(1)", None),
        ("//img.example/protocol-relative.png", None),
        ("/images/relative.png", None),
        ("https://", None),
        ("https:///no-host.png", None),
        ("", None),
        (None, None),
    ],
)
def test_thumbnails_only_for_http_urls(url: str | None, src: str | None) -> None:
    page = page_of(Playlist, [playlist(images=[{"url": url, "width": 500, "height": 500}])])

    found = images(page._repr_html_())

    if src is None:
        assert found == []
    else:
        assert found == [
            f'<img src="{html.escape(src)}" width="48" loading="lazy" alt="" '
            'referrerpolicy="no-referrer">'
        ]
    assert web_url(url) == src


def test_only_the_first_image_of_an_item_is_shown() -> None:
    page = page_of(
        Playlist,
        [
            playlist(images=[{"url": COVER}, {"url": "https://img.example/second.jpg"}]),
            playlist(id="p2", images=[{"url": "javascript:x"}, {"url": COVER}]),
            playlist(id="p3", images=[]),
            playlist(id="p4"),
        ],
    )

    rows = body_rows(page._repr_html_())

    assert [images(row) for row in rows] == [
        [f'<img src="{COVER}" width="48" loading="lazy" alt="" referrerpolicy="no-referrer">'],
        [],
        [],
        [],
    ]


def test_columns_of_each_model_start_with_the_cover_id_and_title_or_name() -> None:
    playlists = page_of(Playlist, [playlist(images=[{"url": COVER}], duration=60, trackCount=3)])
    categories = page_of(Category, [{"id": "2iB4IU25", "name": "Heavy Metal"}])
    track_page = page_of(Track, [{"title": "Heat Waves", "id": "B08", "releaseDate": "2020"}])
    episodes = page_of(Episode, [{"id": "e1", "title": "Pilot"}])

    assert headers(playlists._repr_html_()) == [
        "images",
        "id",
        "title",
        "url",
        "duration",
        "track_count",
    ]
    assert headers(categories._repr_html_()) == ["id", "name", "url", "category_type"]
    assert headers(track_page._repr_html_()) == ["id", "title", "url", "releaseDate"]
    assert headers(episodes._repr_html_()) == ["id", "title", "url"]
    assert cells(body_rows(playlists._repr_html_())[0])[1:] == [
        "B00J9PVXBM",
        "Happy Modern Pop",
        "",
        "0:01:00",
        "3",
    ]
    assert cells(body_rows(categories._repr_html_())[0]) == ["2iB4IU25", "Heavy Metal", "", ""]
    assert cells(body_rows(track_page._repr_html_())[0]) == ["B08", "Heat Waves", "", "2020"]


def test_categories_that_send_images_get_thumbnails_too() -> None:
    page = page_of(
        Category,
        [
            {"id": "2iB4IU25", "name": "Heavy Metal", "images": [{"url": COVER}]},
            {"id": "vx0YEGc1", "name": "Latin Urban"},
        ],
    )

    markup = page._repr_html_()

    assert headers(markup) == ["images", "id", "name", "url", "category_type"]
    assert [len(images(row)) for row in body_rows(markup)] == [1, 0]


def test_rows_are_capped_with_a_count_of_the_rest() -> None:
    markup = tracks(MAX_ROWS + 25, token="next")._repr_html_()
    rows = body_rows(markup)

    assert MAX_ROWS == 20
    assert len(rows) == MAX_ROWS + 1
    assert cells(rows[0]) == ["t0", "Song 0", ""]
    assert cells(rows[MAX_ROWS - 1]) == ["t19", "Song 19", ""]
    assert cells(rows[-1]) == ["<em>… 25 more</em>"]
    assert 'colspan="3"' in rows[-1]
    assert "ResponseCollection[Track]: 45 items · next_cursor &#x27;next&#x27;" in markup


def test_a_full_page_of_max_rows_has_no_more_row() -> None:
    rows = body_rows(tracks(MAX_ROWS)._repr_html_())

    assert len(rows) == MAX_ROWS
    assert "more" not in rows[-1]


def test_an_empty_page_shows_the_model_columns_and_says_so() -> None:
    markup = tracks(0)._repr_html_()

    assert headers(markup) == ["id", "title", "url"]
    assert body_rows(markup) == ['<td colspan="3" style="text-align: left"><em>no items</em></td>']
    assert "ResponseCollection[Track]: 0 items · last page" in markup


def test_caption_names_the_category_and_singular_count() -> None:
    page = page_of(
        Track,
        [{"id": "t0"}],
        token="tok",
        category={"id": "2iB4IU25", "name": "Heavy Metal"},
    )

    caption = re.findall(r"<caption[^>]*>(.*?)</caption>", page._repr_html_())

    assert caption == [
        "ResponseCollection[Track]: 1 item · category Heavy Metal (2iB4IU25) · "
        "next_cursor &#x27;tok&#x27;"
    ]


def test_urls_are_links_only_when_http() -> None:
    page = page_of(
        Track,
        [
            {"id": "a", "url": "https://music.amazon.com/albums/B077?trackAsin=B078&x=1"},
            {"id": "b", "url": "javascript:alert(1)"},
            {"id": "c", "previewUrl": "https://cdn.example/p.mp3", "artistUrl": "data:x"},
        ],
    )

    rows = body_rows(page._repr_html_())

    url = "https://music.amazon.com/albums/B077?trackAsin=B078&amp;x=1"
    assert cells(rows[0])[2] == (
        f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>'
    )
    assert cells(rows[1])[2] == "javascript:alert(1)"
    assert cells(rows[2])[3:] == [
        '<a href="https://cdn.example/p.mp3" target="_blank" rel="noopener noreferrer">'
        "https://cdn.example/p.mp3</a>",
        "data:x",
    ]


def test_nested_and_long_values_are_shown_short() -> None:
    page = page_of(
        Track,
        [{"id": "a", "title": "x" * 200, "artists": [{"name": "Måneskin", "id": 7}], "n": 1.5}],
    )

    row = cells(body_rows(page._repr_html_())[0])

    assert row[1] == "x" * 79 + "…"
    assert row[3] == html.escape('[{"name": "Måneskin", "id": 7}]')
    assert row[4] == "1.5"


class TrackWithAlbum(Track):
    """A subclass a wrapper might write, with a declared model field."""

    album: Album | None = None


def test_declared_model_fields_are_shown_as_json() -> None:
    page = page_of(TrackWithAlbum, [{"id": "a", "album": {"id": "B0", "title": "Evolve"}}])

    row = cells(body_rows(page._repr_html_())[0])

    assert headers(page._repr_html_()) == ["id", "title", "url", "album"]
    assert row[3] == html.escape('{"id": "B0", "title": "Evolve", "url": null}')


# -- durations and numbers, as the command line shows them ---------------------------------------

DURATIONS = [
    (None, ""),
    (0, "0:00:00"),
    (59, "0:00:59"),
    (60, "0:01:00"),
    (3599, "0:59:59"),
    (3600, "1:00:00"),
    (4893, "1:21:33"),
    (4893.0, "1:21:33"),
    (4893.4, "1:21:33"),
    (4893.6, "1:21:34"),  # rounded to the second, never "1.0:21:33.6"
    (3599.5, "1:00:00"),  # a rounding that carries into the hours
    (0.4, "0:00:00"),
    (2.5, "0:00:02"),  # a tie goes to the even second
    (360_000, "100:00:00"),  # hours are not capped
    (1_234_567.8, "342:56:08"),
    (-5, "-5"),  # not a length of time: shown as sent
    (-0.5, "-0.5"),
    (float("nan"), "nan"),
    (float("inf"), "inf"),
]
NUMBERS = [
    (None, ""),
    (0, "0"),
    (25, "25"),
    (999, "999"),
    (1000, "1,000"),
    (1234567, "1,234,567"),
    (25.0, "25"),  # a whole number sent as 25.0
    (2560.0, "2,560"),
    (1234.5, "1,234.5"),
    (-1234, "-1,234"),
    (10**20, "100,000,000,000,000,000,000"),
    (float("nan"), "nan"),
]


@pytest.mark.parametrize(("seconds", "shown"), DURATIONS, ids=[repr(d) for d, _ in DURATIONS])
def test_durations_read_h_mm_ss(seconds: int | float | None, shown: str) -> None:
    assert duration_text(seconds) == shown


@pytest.mark.parametrize(("value", "shown"), NUMBERS, ids=[repr(n) for n, _ in NUMBERS])
def test_counts_and_sizes_get_thousands_separators(value: int | float | None, shown: str) -> None:
    assert number_text(value) == shown


def test_html_tables_show_durations_and_counts() -> None:
    nodes = [
        playlist(duration=4893.6, trackCount=1234),
        playlist(id="p2", duration=360_000, trackCount=25.0),
        playlist(id="p3", duration=-5),
        playlist(id="p4"),
    ]
    page = page_of(Playlist, nodes)

    html_rows = [cells(row)[-2:] for row in body_rows(page._repr_html_())]

    assert html_rows == [["1:21:34", "1,234"], ["100:00:00", "25"], ["-5", ""], ["", ""]]


def test_unknown_fields_named_like_durations_and_counts_read_the_same() -> None:
    page = page_of(
        Track,
        [
            {"id": "a", "duration": 232, "trackCount": 12000, "releaseYear": 2020},
            {"id": "b", "duration": "3:52", "trackCount": True},
        ],
    )

    rows = [cells(row) for row in body_rows(page._repr_html_())]

    assert headers(page._repr_html_()) == [
        "id",
        "title",
        "url",
        "duration",
        "trackCount",
        "releaseYear",
    ]
    assert rows[0][3:] == ["0:03:52", "12,000", "2020"]  # a year is no count
    assert rows[1][3:5] == ["3:52", "True"]  # not a number: shown as sent


def test_image_sizes_are_counts_too() -> None:
    page = page_of(Category, [{"id": "c1", "width": 2560, "height": 1440.0}])

    assert cells(body_rows(page._repr_html_())[0])[-2:] == ["2,560", "1,440"]


# -- to_dicts -------------------------------------------------------------------------------------


def test_to_dicts_is_one_json_ready_row_per_item_with_snake_case_keys() -> None:
    page = page_of(
        Playlist,
        [
            playlist(duration=4893, images=[{"url": COVER, "width": 2560}], trackCount=25),
            {"id": "p2", "releaseDate": "2024-01-01"},
        ],
    )

    rows = page.to_dicts()

    assert rows == [
        {
            "id": "B00J9PVXBM",
            "title": "Happy Modern Pop",
            "url": None,
            "duration": 4893,
            "images": [{"url": COVER, "width": 2560, "height": None}],
            "track_count": 25,
        },
        {
            "id": "p2",
            "title": None,
            "url": None,
            "duration": None,
            "images": [],
            "track_count": None,
            "releaseDate": "2024-01-01",
        },
    ]
    assert json.loads(json.dumps(rows)) == rows
    assert [Playlist.model_validate(row) for row in rows] == page.items


def test_to_dicts_by_alias_gives_the_api_names() -> None:
    page = page_of(Playlist, [playlist(trackCount=25)])

    assert page.to_dicts(by_alias=True) == [
        {
            "id": "B00J9PVXBM",
            "title": "Happy Modern Pop",
            "url": None,
            "duration": None,
            "images": [],
            "trackCount": 25,
        }
    ]


def test_to_dicts_of_an_empty_page() -> None:
    assert tracks(0).to_dicts() == []


# -- text ----------------------------------------------------------------------------------------


def test_repr_is_one_short_line() -> None:
    assert repr(tracks(3, token="tok")) == "ResponseCollection[Track](3 items, next_cursor='tok')"
    assert repr(tracks(1)) == "ResponseCollection[Track](1 item, next_cursor=None)"
    assert repr(tracks(0)) == "ResponseCollection[Track](0 items, next_cursor=None)"
    assert len(repr(tracks(1000, token="tok"))) < 80


def test_repr_names_the_category_of_a_category_page() -> None:
    page = page_of(Track, [{"id": "t"}], "tok", {"id": "2iB4IU25", "name": "Metal"})

    assert repr(page) == (
        "ResponseCollection[Track](1 item, category='2iB4IU25', next_cursor='tok')"
    )


def test_str_lists_the_items_under_the_repr_line() -> None:
    page = page_of(Category, [{"id": "2iB4IU25", "name": "Heavy Metal"}, {"id": "x"}], "tok")

    assert str(page).splitlines() == [
        "ResponseCollection[Category](2 items, next_cursor='tok')",
        "  2iB4IU25  Heavy Metal",
        "  x",
    ]


def test_str_is_capped() -> None:
    lines = str(tracks(MAX_ROWS + 5)).splitlines()

    assert len(lines) == 1 + MAX_ROWS + 1
    assert lines[MAX_ROWS] == "  t19  Song 19"
    assert lines[-1] == "  … 5 more"


HOSTILE = [  # (name, text, how it is shown)
    ("sgr-colours", "\x1b[31mred\x1b[0m", "\ufffdred\ufffd"),
    ("clear-screen", "a\x1b[2J\x1b[Hb", "a\ufffd\ufffdb"),
    ("osc-window-title", "\x1b]0;owned\x07title", "\ufffdtitle"),
    ("osc52-clipboard", "\x1b]52;c;cm0gLXJmIH4=\x1b\\x", "\ufffdx"),
    ("osc8-link", "\x1b]8;;https://evil.example\x1b\\a\x1b]8;;\x1b\\", "\ufffda\ufffd"),
    ("c1-forms", "\x9b2J\x9d0;t\x9c", "\ufffd\ufffd"),
    ("reset", "\x1bc", "\ufffd"),
    ("cut-short", "\x1b[31", "\ufffd31"),  # the introducer goes, the rest is inert
    ("c0-del-c1", "bel\x07 nul\x00 del\x7f c1\x84", "bel\ufffd nul\ufffd del\ufffd c1\ufffd"),
    ("line-breaks", "two\r\nlines\tand\x85more\u2028", "two lines and more "),
    ("bidi-controls", "\u202eevil.exe\u202c \u2066x\u2069", "\ufffdevil.exe\ufffd \ufffdx\ufffd"),
    ("lone-surrogate", "lone \ud83c surrogate", "lone \ufffd surrogate"),
]
PLAIN = [
    "Café 日本 🎵",
    "Beyoncé — Déjà Vu (feat. JAY-Z)",
    "👨\u200d👩\u200d👧 family, 👍🏽, ❤\ufe0f",  # joiners, modifiers, variation selectors
    "e\u0301 combining, a\u00a0no-break space, ﬁ ligature",
    "שלום\u200f עולם, مرحبا\u061c",  # right-to-left text and its marks
    "",
]


@pytest.mark.parametrize(("name", "text", "shown"), HOSTILE, ids=[name for name, *_ in HOSTILE])
def test_printable_replaces_controls_and_escape_sequences(name: str, text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize("text", PLAIN, ids=range(len(PLAIN)))
def test_printable_leaves_ordinary_text_alone(text: str) -> None:
    assert printable(text) == text


def unsafe(text: str) -> list[str]:
    """The characters of ``text`` a terminal would act on or that no encoder can write."""
    return [
        char
        for char in text
        if (ord(char) < 0x20 and char != "\n")
        or 0x7F <= ord(char) <= 0x9F
        or 0x202A <= ord(char) <= 0x202E
        or 0x2066 <= ord(char) <= 0x2069
        or 0xD800 <= ord(char) <= 0xDFFF
    ]


def test_str_of_a_page_shows_no_control_characters() -> None:
    nodes = [{"id": f"t{n}", "title": text} for n, (_, text, _) in enumerate(HOSTILE)]
    page = page_of(Track, [*nodes, {"id": "\x1b[8mhidden", "name": "x"}], "tok\x1b[5m")

    lines = str(page).splitlines()

    assert unsafe(str(page)) == []
    assert len(lines) == 1 + len(HOSTILE) + 1  # one line per item, whatever the title
    for n, (_, _, shown) in enumerate(HOSTILE):
        assert lines[1 + n] == f"  t{n}  {shown}".rstrip()
    assert lines[-1] == "  \ufffdhidden  x"
    assert lines[0].endswith("next_cursor='tok\\x1b[5m')")  # repr escapes


def test_str_of_a_page_keeps_ordinary_titles() -> None:
    page = page_of(Track, [{"id": f"t{n}", "title": text} for n, text in enumerate(PLAIN)])

    assert str(page).splitlines()[1:] == [
        f"  t{n}  {text}".rstrip() for n, text in enumerate(PLAIN)
    ]


def test_str_and_repr_of_models_escape_control_characters() -> None:
    hostile = "".join(text for _, text, _ in HOSTILE)
    models = [
        Track(id=hostile, title=hostile, extra=hostile),  # type: ignore[call-arg]
        Category(id="c", name=hostile),
        Playlist(id="p", images=[{"url": hostile}]),  # type: ignore[list-item]
        page_of(Category, [{"id": hostile}], hostile, {"id": hostile}),
        Paginator(never_called, cursor="c\x1b[2J"),
    ]

    for model in models:
        assert unsafe(repr(model)) == [], repr(model)
    for model in models[:3]:
        assert unsafe(str(model)) == [], str(model)


# -- the paginator's HTML ------------------------------------------------------------------------


def never_called(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
    pytest.fail(f"a repr sent a request (limit={limit}, cursor={cursor})")


def serve_tracks(total: int, fail_at: int | None = None) -> Any:
    """A ``fetch_page`` over ``total`` tracks with cursors ``"c<offset>"``."""

    def fetch_page(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        start = int(cursor[1:]) if cursor else 0
        if start == fail_at:
            raise RuntimeError(f"boom at {start}")
        end = min(start + (limit or 10), total)
        token = f"c{end}" if end < total else None
        page: ResponseCollection[Track] = page_of(
            Track, [{"id": f"t{n}"} for n in range(start, end)], token
        )
        return page

    return fetch_page


def settings(markup: str) -> dict[str, str]:
    return dict(re.findall(r"<th[^>]*>(.*?)</th><td[^>]*><code>(.*?)</code></td>", markup))


def caption_of(markup: str) -> str:
    captions: list[str] = re.findall(r"<caption[^>]*>(.*?)</caption>", markup)
    return captions[0]


def test_paginator_html_shows_settings_and_sends_nothing() -> None:
    paginator = Paginator(
        never_called, page_size=10, max_page_size=100, max_items=25, cursor="<c5>"
    )

    markup = paginator._repr_html_()
    text = repr(paginator)

    assert caption_of(markup) == "Paginator · not started"
    assert settings(markup) == {
        "page_size": "10",
        "max_items": "25",
        "max_pages": "None",
        "start cursor": "&#x27;&lt;c5&gt;&#x27;",
        "prefetch": "False",
        "progress": "False",
        "cursor (resume here)": "&#x27;&lt;c5&gt;&#x27;",
        "finished (no next page)": "False",
    }
    assert text == (
        "Paginator(page_size=10, max_items=25, max_pages=None, cursor='<c5>', "
        "finished=False, prefetch=False, progress=False)"
    )


def test_paginator_html_shows_the_state_of_the_latest_iteration() -> None:
    paginator = Paginator(serve_tracks(25), page_size=10)

    assert len(paginator.to_list()) == 25
    finished = paginator._repr_html_()
    items = cast("Generator[Track, None, None]", iter(paginator))
    next(items)
    running = paginator._repr_html_()
    items.close()
    stopped = paginator._repr_html_()

    assert caption_of(finished) == "Paginator · finished: 3 pages, 25 items received"
    assert settings(finished)["cursor (resume here)"] == "None"
    assert caption_of(running) == "Paginator · running: 0 pages, 0 items received"
    assert caption_of(stopped) == "Paginator · stopped: 0 pages, 0 items received"
    assert settings(stopped)["cursor (resume here)"] == "None"


def test_paginator_html_after_an_error() -> None:
    paginator = Paginator(serve_tracks(50, fail_at=20), page_size=10)

    with pytest.raises(RuntimeError, match="boom at 20"):
        paginator.to_list()

    markup = paginator._repr_html_()
    assert caption_of(markup) == "Paginator · failed: 2 pages, 20 items received"
    assert settings(markup)["cursor (resume here)"] == "&#x27;c20&#x27;"


def test_paginator_html_counts_pages_iteration_too() -> None:
    paginator = Paginator(serve_tracks(25), page_size=10, max_items=15)

    assert [len(page) for page in paginator.pages()] == [10, 5]
    assert caption_of(paginator._repr_html_()) == (
        "Paginator · finished: 2 pages, 15 items received"
    )


# -- progress=True -------------------------------------------------------------------------------


class FakeBar:
    """Stands in for ``tqdm.auto.tqdm``, recording what the paginator does with it."""

    made: ClassVar[list[FakeBar]] = []

    def __init__(self, *, total: int | None = None, unit: str = "it") -> None:
        self.total = total
        self.unit = unit
        self.updates: list[int] = []
        self.closed = 0
        FakeBar.made.append(self)

    def update(self, count: int) -> None:
        assert not self.closed
        self.updates.append(count)

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeBar]]:
    """A stub ``tqdm`` package in ``sys.modules``; yields the bars made."""
    package = types.ModuleType("tqdm")
    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = FakeBar  # type: ignore[attr-defined]
    package.auto = auto  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", package)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    FakeBar.made = []
    yield FakeBar.made
    FakeBar.made = []


def test_progress_bar_counts_items_page_by_page(bars: list[FakeBar]) -> None:
    paginator = Paginator(serve_tracks(100), page_size=10, max_items=25, progress=True)
    items = iter(paginator)
    assert bars == []

    assert len([next(items), *items]) == 25

    assert len(bars) == 1
    assert (bars[0].total, bars[0].unit) == (25, "item")
    assert bars[0].updates == [10, 10, 5]
    assert bars[0].closed == 1


def test_progress_bar_without_max_items_has_no_total(bars: list[FakeBar]) -> None:
    paginator = Paginator(serve_tracks(25), page_size=10, progress=True)

    assert [len(page) for page in paginator.pages()] == [10, 10, 5]

    assert [(bar.total, bar.updates, bar.closed) for bar in bars] == [(None, [10, 10, 5], 1)]


def test_each_iteration_gets_its_own_bar(bars: list[FakeBar]) -> None:
    paginator = Paginator(serve_tracks(15), page_size=10, progress=True)

    paginator.to_list()
    paginator.to_list()

    assert [(bar.updates, bar.closed) for bar in bars] == [([10, 5], 1), ([10, 5], 1)]


def test_progress_bar_closes_on_break(bars: list[FakeBar]) -> None:
    paginator = Paginator(serve_tracks(100), page_size=10, progress=True)

    for number, _ in enumerate(paginator):
        if number == 12:
            break

    assert [(bar.updates, bar.closed) for bar in bars] == [([10, 10], 1)]


def test_progress_bar_closes_when_the_iterator_is_closed(bars: list[FakeBar]) -> None:
    paginator = Paginator(serve_tracks(100), page_size=10, progress=True, prefetch=True)
    pages = cast("Generator[ResponseCollection[Track], None, None]", paginator.pages())

    next(pages)
    pages.close()

    assert [(bar.updates, bar.closed) for bar in bars] == [([10], 1)]


def test_progress_bar_closes_on_error(bars: list[FakeBar]) -> None:
    paginator = Paginator(serve_tracks(100, fail_at=20), page_size=10, progress=True)

    with pytest.raises(RuntimeError, match="boom at 20"):
        paginator.to_list()

    assert [(bar.updates, bar.closed) for bar in bars] == [([10, 10], 1)]


def test_without_progress_tqdm_is_never_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)

    assert len(Paginator(serve_tracks(15), page_size=10).to_list()) == 15


def test_missing_tqdm_is_reported_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)

    with pytest.raises(ImportError) as caught:
        Paginator(never_called, progress=True)

    assert str(caught.value) == f"progress=True needs tqdm, which is not installed: {HINT}"
    assert caught.value.name == "tqdm"


def test_missing_tqdm_is_reported_by_paginate_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    client = BrowseClient(API_KEY, ACCESS_TOKEN)

    with responses.RequestsMock() as mock, pytest.raises(ImportError, match=re.escape(HINT)):
        client.paginate(client.get_top_tracks, progress=True)

    assert len(mock.calls) == 0


def test_a_broken_tqdm_install_is_reported_on_first_iteration(
    monkeypatch: pytest.MonkeyPatch, bars: list[FakeBar]
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    items = iter(Paginator(serve_tracks(15), page_size=10, progress=True))

    with pytest.raises(ImportError, match=re.escape(HINT)) as caught:
        next(items)

    assert isinstance(caught.value.__cause__, ImportError)
    assert bars == []


def test_client_paginate_passes_progress_on(bars: list[FakeBar]) -> None:
    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(str(request.url)).query)
        start = int(query.get("cursor", ["0"])[0])
        limit = int(query["limit"][0])
        ids = [f"t{n}" for n in range(start, start + limit)]
        body = {
            "data": {
                "topTracks": {
                    "pageInfo": {"hasNextPage": True, "token": str(start + limit)},
                    "edges": [{"node": {"id": item_id}} for item_id in ids],
                }
            }
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    client = BrowseClient(API_KEY, ACCESS_TOKEN)
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.GET, f"{BASE_URL}/v1/browse/tracks/top", callback=callback)
        paginator = client.paginate(client.get_top_tracks, max_items=30, progress=True)
        found = paginator.to_list()

    assert paginator.progress is True
    assert [track.id for track in found] == [f"t{n}" for n in range(30)]
    assert [(bar.total, bar.updates, bar.closed) for bar in bars] == [(30, [20, 10], 1)]
