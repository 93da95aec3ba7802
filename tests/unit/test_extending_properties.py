"""Properties: no path parameter changes a path's shape; tolerant models never raise oddly."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from amazon_music_browse import Endpoint, ResponseValidationError, Track
from amazon_music_browse._errors import api_error_from_body
from amazon_music_browse.endpoints import CATEGORY_PLAYLISTS, TOP_PLAYLISTS

TWO_PARAMS = Endpoint("/v1/a/{first}/b/{second}", ("data", "a"), Track)


def sendable(value: str) -> bool:
    try:
        TWO_PARAMS.format_path(first=value, second="x")
    except ValueError:
        return False
    return True


@settings(max_examples=400)
@given(st.text(min_size=1), st.text(min_size=1))
def test_no_parameter_value_changes_the_shape_of_the_path(first: str, second: str) -> None:
    if not (sendable(first) and sendable(second)):
        return
    path = TWO_PARAMS.format_path(first=first, second=second)
    segments = path.split("/")
    assert segments[:3] == ["", "v1", "a"]
    assert segments[4] == "b"
    assert len(segments) == 6
    assert "?" not in path
    assert "#" not in path
    assert unquote(segments[3]) == first
    assert unquote(segments[5]) == second


OPTIONAL = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.booleans(),
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field that may be left out (the sentinel), null, or a value."""
    return st.one_of(st.just(...), st.none(), value)


def node() -> st.SearchStrategy[dict[str, Any]]:
    image = st.fixed_dictionaries(
        {}, optional={"url": OPTIONAL, "width": OPTIONAL, "height": OPTIONAL}
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=10), st.integers(), st.floats(allow_nan=False)),
            "title": OPTIONAL,
            "url": OPTIONAL,
            "duration": OPTIONAL,
            "trackCount": OPTIONAL,
            "images": st.one_of(st.none(), st.lists(image, max_size=2), OPTIONAL),
            "_type": OPTIONAL,
        },
    )


def page() -> st.SearchStrategy[dict[str, Any]]:
    page_info = st.fixed_dictionaries({}, optional={"hasNextPage": OPTIONAL, "token": OPTIONAL})
    edge = st.fixed_dictionaries(
        {}, optional={"node": st.one_of(node(), st.none()), "cursor": OPTIONAL}
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "pageInfo": st.one_of(st.none(), page_info),
            "edgeCount": OPTIONAL,
            "edges": st.one_of(st.none(), st.lists(edge, max_size=3)),
        },
    )


@settings(max_examples=300)
@given(page(), st.booleans())
def test_any_page_from_the_documented_shapes_parses_or_is_a_validation_error(
    collection: dict[str, Any], in_a_category: bool
) -> None:
    if in_a_category:
        endpoint, body = (
            CATEGORY_PLAYLISTS,
            {"data": {"category": {"id": "c", "playlists": collection}}},
        )
    else:
        endpoint, body = TOP_PLAYLISTS, {"data": {"topPlaylists": collection}}
    try:
        parsed = endpoint.parse(json.dumps(body).encode(), 200)
    except ResponseValidationError:
        return
    assert isinstance(parsed.edge_count, int)
    assert isinstance(parsed.items, list)
    assert parsed.next_cursor is None or isinstance(parsed.next_cursor, str)
    for item in parsed.items:
        assert isinstance(item.id, str)
        assert isinstance(item.images, list)


def test_an_error_body_with_raw_line_breaks_in_its_strings_is_still_read() -> None:
    # The Errors page's own example holds raw line breaks inside its message string.
    body = (
        '{"error": {"status": "400", "code": "INVALID_REQUEST",\n'
        '"message": "The request is not valid.\nCheck the parameters.\tThen retry.",\n'
        '"reference": "ref-1\r\n"}}'
    )
    error = api_error_from_body(400, body)
    assert error.code == "INVALID_REQUEST"
    assert error.message == "The request is not valid.\nCheck the parameters.\tThen retry."
    assert error.reference == "ref-1\r\n"
