"""Real payloads: nulls, numbers with fractions, numeric ids, left-out page fields, extras."""

from __future__ import annotations

import json
from typing import Any

import pytest

from amazon_music_browse import Playlist, ResponseValidationError
from amazon_music_browse.endpoints import CATEGORY_PLAYLISTS, TOP_PLAYLISTS, TOP_TRACKS


def parse(endpoint: Any, document: dict[str, Any]) -> Any:
    return endpoint.parse(json.dumps(document).encode(), 200)


def playlists(*nodes: dict[str, Any], **collection: Any) -> dict[str, Any]:
    page: dict[str, Any] = {
        "pageInfo": {"hasNextPage": False},
        "edges": [{"node": node} for node in nodes],
    }
    page.update(collection)
    return {"data": {"topPlaylists": page}}


def test_null_for_every_optional_field_reads_as_absent() -> None:
    node = {"id": "p1", "title": None, "url": None, "duration": None, "trackCount": None}
    playlist = parse(TOP_PLAYLISTS, playlists({**node, "images": None}))[0]
    assert (playlist.title, playlist.url, playlist.duration, playlist.track_count) == (None,) * 4
    assert playlist.images == []


def test_null_edges_read_as_an_empty_page() -> None:
    page = parse(TOP_PLAYLISTS, playlists(edges=None))
    assert page.items == []
    assert page.edge_count == 0


def test_a_null_image_size_reads_as_unknown() -> None:
    node = {"id": "p1", "images": [{"url": "u", "width": None, "height": None}]}
    image = parse(TOP_PLAYLISTS, playlists(node))[0].images[0]
    assert (image.width, image.height) == (None, None)


@pytest.mark.parametrize(
    ("sent", "expected", "kind"),
    [
        ("4893", 4893, int),
        ("4893.0", 4893.0, float),
        ("4893.5", 4893.5, float),
        ("1e3", 1e3, float),
    ],
)
def test_numbers_keep_the_kind_the_json_had(sent: str, expected: float, kind: type) -> None:
    body = (
        '{"data": {"topPlaylists": {"pageInfo": {"hasNextPage": false}, "edges": [{"node": '
        f'{{"id": "p1", "duration": {sent}, "trackCount": {sent}, '
        f'"images": [{{"url": "u", "width": {sent}, "height": {sent}}}]}}}}]}}}}}}'
    )
    playlist = TOP_PLAYLISTS.parse(body.encode(), 200)[0]
    image = playlist.images[0]
    for value in (playlist.duration, playlist.track_count, image.width, image.height):
        assert value == expected
        assert type(value) is kind


@pytest.mark.parametrize(("sent", "expected"), [("12345", "12345"), ("-7", "-7"), ("1.5", "1.5")])
def test_an_id_sent_as_a_number_becomes_a_str(sent: str, expected: str) -> None:
    body = (
        '{"data": {"topTracks": {"pageInfo": {"hasNextPage": false}, '
        f'"edges": [{{"node": {{"id": {sent}}}}}]}}}}}}'
    )
    assert TOP_TRACKS.parse(body.encode(), 200)[0].id == expected


def test_a_page_without_page_info_has_no_next_page() -> None:
    page = parse(TOP_PLAYLISTS, {"data": {"topPlaylists": {"edges": [{"node": {"id": "a"}}]}}})
    assert page.page_info.has_next_page is False
    assert page.next_cursor is None
    assert page.edge_count == 1


@pytest.mark.parametrize("page_info", [None, {}])
def test_a_null_or_empty_page_info_has_no_next_page(page_info: Any) -> None:
    page = parse(TOP_PLAYLISTS, playlists({"id": "a"}, pageInfo=page_info))
    assert page.next_cursor is None


def test_a_page_info_without_has_next_page_follows_its_token() -> None:
    page = parse(TOP_PLAYLISTS, playlists({"id": "a"}, pageInfo={"token": "next-one"}))
    assert page.page_info.has_next_page is True
    assert page.next_cursor == "next-one"


def test_type_and_other_unknown_keys_are_kept_as_extras() -> None:
    node = {"id": "p1", "_type": "Playlist", "__typename": "X", "curator": {"name": "Amazon"}}
    playlist = parse(TOP_PLAYLISTS, playlists(node))[0]
    assert playlist.model_extra == {
        "_type": "Playlist",
        "__typename": "X",
        "curator": {"name": "Amazon"},
    }
    dumped = playlist.model_dump(by_alias=True, exclude_unset=True)
    assert dumped["_type"] == "Playlist"


def test_a_category_page_with_a_numeric_category_id() -> None:
    body = {
        "data": {
            "category": {"id": 42, "name": "Jazz", "playlists": {"edges": [{"node": {"id": 7}}]}}
        }
    }
    page = parse(CATEGORY_PLAYLISTS, body)
    assert page.category is not None
    assert page.category.id == "42"
    assert page[0].id == "7"


@pytest.mark.parametrize(
    ("node", "field"),
    [({"id": None}, "id"), ({"id": "p", "duration": "long"}, "duration"), ({"id": {}}, "id")],
)
def test_a_payload_that_still_cannot_be_read_names_the_field(
    node: dict[str, Any], field: str
) -> None:
    with pytest.raises(ResponseValidationError, match=field):
        parse(TOP_PLAYLISTS, playlists(node))


def test_models_built_in_python_accept_the_same() -> None:
    playlist = Playlist.model_validate({"id": 5, "images": None, "trackCount": 2.5})
    assert (playlist.id, playlist.images, playlist.track_count) == ("5", [], 2.5)
