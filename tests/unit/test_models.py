"""The models, fed with every JSON example of the Browse page (``tests/fixtures/browse``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydantic
import pytest
import responses

from amazon_music_browse import (
    Album,
    BrowseClient,
    Category,
    Edge,
    Episode,
    Image,
    PageInfo,
    Playlist,
    ResponseCollection,
    ResponseValidationError,
    Track,
)
from tests._support import ACCESS_TOKEN, API_KEY

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "browse"

Call = Callable[[BrowseClient], Any]

# fixture name -> (the client call that answers with it, key path of the payload, item model)
COLLECTIONS: dict[str, tuple[Call, tuple[str, ...], type[pydantic.BaseModel]]] = {
    "top_tracks": (lambda c: c.get_top_tracks(), ("data", "topTracks"), Track),
    "top_playlists": (lambda c: c.get_top_playlists(), ("data", "topPlaylists"), Playlist),
    "new_podcast_episodes": (
        lambda c: c.get_new_podcast_episodes(),
        ("data", "newPodcastEpisodes"),
        Episode,
    ),
    "categories": (lambda c: c.get_categories(), ("data", "browseCategories"), Category),
    "category_albums": (
        lambda c: c.get_category_albums("E9UEPoEH"),
        ("data", "category", "albums"),
        Album,
    ),
    "category_playlists": (
        lambda c: c.get_category_playlists("hZiJ3FwS"),
        ("data", "category", "playlists"),
        Playlist,
    ),
    "category_tracks": (
        lambda c: c.get_category_tracks("E9UEPoEH"),
        ("data", "category", "tracks"),
        Track,
    ),
}


# -- helpers ------------------------------------------------------------------------------


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def collection_json(name: str) -> dict[str, Any]:
    """The collection object of a fixture, found by its key path."""
    node = fixture_json(name)
    for key in COLLECTIONS[name][1]:
        node = node[key]
    return node


def fetch(call: Call, body: bytes | str, status: int = 200) -> Any:
    """Answer one request of ``call`` with ``body`` and return what the client makes of it."""
    client = BrowseClient(API_KEY, ACCESS_TOKEN, max_retries=0)
    with responses.RequestsMock() as rsps:
        rsps.add(
            responses.GET,
            re.compile(r"https://api\.music\.amazon\.dev/.*"),
            body=body,
            status=status,
        )
        result = call(client)
        assert len(rsps.calls) == 1
    return result


def fetch_fixture(name: str) -> Any:
    return fetch(COLLECTIONS[name][0], fixture_bytes(name))


def fetch_invalid(call: Call, document: Any, status: int = 200) -> ResponseValidationError:
    body = json.dumps(document)
    with pytest.raises(ResponseValidationError) as info:
        fetch(call, body, status)
    return info.value


def wrap(key_path: tuple[str, ...], collection: Any) -> dict[str, Any]:
    """An answer with ``collection`` at ``key_path`` (category wrappers get an id)."""
    node: Any = collection
    for depth in range(len(key_path) - 1, 0, -1):
        container = {key_path[depth]: node}
        if key_path[depth - 1] == "category":
            container["id"] = "2iB4IU25"
        node = container
    return {key_path[0]: node}


def as_tuples(page: ResponseCollection[Any], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(getattr(item, field) for field in fields) for item in page]


# -- the fixtures themselves --------------------------------------------------------------


def test_there_is_one_fixture_per_json_example_of_the_browse_page() -> None:
    names = sorted(path.stem for path in FIXTURES.glob("*.json"))
    assert names == sorted([*COLLECTIONS, "category"])


@pytest.mark.parametrize("name", [*COLLECTIONS, "category"])
def test_fixtures_are_repaired_but_otherwise_verbatim(name: str) -> None:
    text = fixture_bytes(name).decode("utf-8")
    assert "rproxy" not in text
    assert "..." not in text
    assert isinstance(json.loads(text), dict)


# -- every example, value by value --------------------------------------------------------


def test_top_tracks_example() -> None:
    page = fetch_fixture("top_tracks")
    assert isinstance(page, ResponseCollection)
    assert page.page_info == PageInfo(
        has_next_page=True, token="c881b6f5-d1c3-4a78-81f8-b8efec7fcf78.2"
    )
    assert page.edge_count == 2
    assert all(isinstance(track, Track) for track in page)
    assert as_tuples(page, "id", "title", "url") == [
        (
            "B0785GTW4T",
            "Beggin' [Explicit]",
            "https://music.amazon.com/albums/B077XF8X4W/?trackAsin=B0785GTW4T",
        ),
        (
            "B08ZCM5758",
            "Heat Waves",
            "https://music.amazon.com/albums/B08ZCTL3QB/?trackAsin=B08ZCM5758",
        ),
    ]
    assert [edge.cursor for edge in page.edges] == [None, None]
    assert page.next_cursor == "c881b6f5-d1c3-4a78-81f8-b8efec7fcf78.2"
    assert page.category is None


def test_top_playlists_example() -> None:
    page = fetch_fixture("top_playlists")
    assert page.page_info.has_next_page is True
    assert page.page_info.token == "ef4002a0-5752-4d3f-9ed9-41e8980397c2.2"
    assert page.edge_count == 2
    first, second = page.items
    assert isinstance(first, Playlist)
    assert (first.id, first.title, first.url) == (
        "B00J9PVXBM",
        "Happy Modern Pop",
        "https://music.amazon.com/playlists/B00J9PVXBM",
    )
    assert (first.duration, first.track_count) == (4893, 25)
    assert first.images == [
        Image(url="https://m.media-amazon.com/images/I/71JmZ24jF4L.jpg", width=2560, height=1280)
    ]
    assert (second.id, second.title, second.duration, second.track_count) == (
        "B0B2239T2L",
        "Pride Hits",
        22860,
        115,
    )
    assert second.url == "https://music.amazon.com/playlists/B0B2239T2L"
    assert [(i.url, i.width, i.height) for i in second.images] == [
        ("https://m.media-amazon.com/images/I/51p-JxIHgtL.jpg", 500, 500)
    ]
    assert page.next_cursor == "ef4002a0-5752-4d3f-9ed9-41e8980397c2.2"


def test_new_podcast_episodes_example_keeps_raw_spaces_in_urls() -> None:
    page = fetch_fixture("new_podcast_episodes")
    assert page.page_info == PageInfo(has_next_page=False)
    assert page.page_info.token is None
    assert page.next_cursor is None
    assert page.edge_count == 2
    assert all(isinstance(episode, Episode) for episode in page)
    assert as_tuples(page, "id", "title", "url") == [
        (
            "0c1dc966-2345-4530-b388-e33bc06f4401",
            "MURDERED: Billy Stafford",
            "https://music.amazon.com/podcasts/d6e/episodes/Crime-JunkieMURDERED: Billy Stafford",
        ),
        (
            "17d202dc-7d25-4ebf-af62-850e79024486",
            "Full Body Chills IS BACK!",
            "https://music.amazon.com/podcasts/946e/episodes/Crime-JunkieFull Body Chills IS BACK!",
        ),
    ]


def test_categories_example_has_edge_cursors() -> None:
    page = fetch_fixture("categories")
    assert page.page_info == PageInfo(has_next_page=True, token="3:vx0YEGc1")
    assert page.edge_count == 2
    assert all(isinstance(category, Category) for category in page)
    assert as_tuples(page, "id", "name", "url", "category_type") == [
        ("cpdRsfJP", "Technoid", None, None),
        ("vx0YEGc1", "Latin Urban", None, None),
    ]
    assert [edge.cursor for edge in page.edges] == ["2:cpdRsfJP", "3:vx0YEGc1"]
    assert page.next_cursor == "3:vx0YEGc1"


EXPECTED_HEAVY_METAL = Category(
    id="2iB4IU25",
    name="Heavy Metal",
    url="https://music.amazon.com/genres/2iB4IU25",
    category_type="GENRE",
)


def test_category_example_without_data_wrapper() -> None:
    assert "data" not in fixture_json("category")
    category = fetch(lambda c: c.get_category("2iB4IU25"), fixture_bytes("category"))
    assert type(category) is Category
    assert category == EXPECTED_HEAVY_METAL
    assert category.category_type == "GENRE"


def test_category_example_inside_data_wrapper() -> None:
    body = json.dumps({"data": fixture_json("category")})
    category = fetch(lambda c: c.get_category("2iB4IU25"), body)
    assert category == EXPECTED_HEAVY_METAL


def test_category_round_trips_to_the_example() -> None:
    category = fetch(lambda c: c.get_category("2iB4IU25"), fixture_bytes("category"))
    assert (
        category.model_dump(by_alias=True, exclude_unset=True)
        == (fixture_json("category")["category"])
    )


def test_category_albums_example() -> None:
    page = fetch_fixture("category_albums")
    assert page.page_info == PageInfo(has_next_page=False)
    assert page.next_cursor is None
    assert page.edge_count == 2
    assert all(isinstance(album, Album) for album in page)
    assert as_tuples(page, "id", "title", "url") == [
        ("B003R490PW", "We Walk This Road", "https://music.amazon.com/albums/B003R490PW"),
        ("B00DRA5QC2", "Lickety Split", "https://music.amazon.com/albums/B00DRA5QC2"),
    ]
    assert page.category == Category(id="E9UEPoEH", name="Sacred Steel")
    assert page.category.url is None


def test_category_playlists_example() -> None:
    page = fetch_fixture("category_playlists")
    # The example says there is a next page but sends no token and no edge cursor.
    assert page.page_info.has_next_page is True
    assert page.page_info.token is None
    assert page.next_cursor is None
    assert page.edge_count == 2
    first, second = page
    assert (first.id, first.title, first.duration, first.track_count) == (
        "B00KO8YSNS",
        "50 Great '80s Songs",
        12456,
        50,
    )
    assert first.url == "https://music.amazon.com/playlists/B00KO8YSNS"
    assert first.images == [
        Image(url="https://m.media-amazon.com/images/I/71VfjyvQ+pL.jpg", width=2560, height=1280)
    ]
    assert (second.id, second.title, second.duration, second.track_count) == (
        "B00KNI5EVO",
        "REDISCOVER THE '90s: Alternative",
        24389,
        100,
    )
    assert second.images[0].url == "https://m.media-amazon.com/images/I/51+VJ8i9qML.jpg"
    assert (second.images[0].width, second.images[0].height) == (500, 500)
    assert page.category == Category(
        id="hZiJ3FwS", name="Rock", url="https://music.amazon.com/genres/hZiJ3FwS"
    )


def test_category_tracks_example_edge_count_is_not_the_edges_shown() -> None:
    page = fetch_fixture("category_tracks")
    assert page.edge_count == 50
    assert len(page) == 2
    assert page.page_info.has_next_page is True
    token = "tztok-v2_iosmAqq9RWIFJZXCZvgM5OnQj0NR8UsA2BMCfq-3hR4VYAfZb16fzIeuiCNaZzZp"
    assert page.page_info.token == token
    assert page.next_cursor == token
    assert as_tuples(page, "id", "title", "url") == [
        (
            "B07PPVYNQZ",
            "Baptise Me",
            "https://music.amazon.com/albums/B07PMV5LV8/?trackAsin=B07PPVYNQZ",
        ),
        (
            "B00DRA5QX6",
            "Amped Up",
            "https://music.amazon.com/albums/B00DRA5QC2/?trackAsin=B00DRA5QX6",
        ),
    ]
    assert all(isinstance(track, Track) for track in page)
    assert page.category == Category(id="E9UEPoEH", name="Sacred Steel")


@pytest.mark.parametrize("name", ["top_tracks", "top_playlists", "new_podcast_episodes"])
def test_collections_outside_a_category_have_no_category(name: str) -> None:
    assert fetch_fixture(name).category is None


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(COLLECTIONS))
def test_page_from_the_client_dumps_back_to_the_example(name: str) -> None:
    page = fetch_fixture(name)
    assert page.model_dump(by_alias=True, exclude_unset=True) == collection_json(name)


@pytest.mark.parametrize("name", list(COLLECTIONS))
def test_model_validate_of_the_collection_round_trips(name: str) -> None:
    item_model = COLLECTIONS[name][2]
    page = ResponseCollection[item_model].model_validate(collection_json(name))  # type: ignore[valid-type]
    assert all(type(item) is item_model for item in page)
    assert page.category is None
    assert page.model_dump(by_alias=True, exclude_unset=True) == collection_json(name)
    from_client = fetch_fixture(name)
    assert page.items == from_client.items
    assert (page.page_info, page.edge_count) == (from_client.page_info, from_client.edge_count)


@pytest.mark.parametrize("name", list(COLLECTIONS))
def test_json_dump_round_trips_too(name: str) -> None:
    page = fetch_fixture(name)
    text = page.model_dump_json(by_alias=True, exclude_unset=True)
    assert json.loads(text) == collection_json(name)


def test_snake_case_dump_uses_attribute_names() -> None:
    page = fetch_fixture("top_playlists")
    dumped = page.model_dump(exclude_unset=True)
    assert dumped["page_info"] == {
        "has_next_page": True,
        "token": "ef4002a0-5752-4d3f-9ed9-41e8980397c2.2",
    }
    assert dumped["edges"][0]["node"]["track_count"] == 25
    assert "trackCount" not in dumped["edges"][0]["node"]


# -- the page as a sequence ----------------------------------------------------------------


def test_page_is_a_small_sequence_of_its_items() -> None:
    page = fetch_fixture("categories")
    ids = ["cpdRsfJP", "vx0YEGc1"]
    assert [category.id for category in page.items] == ids
    assert [category.id for category in page] == ids
    assert len(page) == 2
    assert page[0].id == "cpdRsfJP"
    assert page[1].id == "vx0YEGc1"
    assert page[-1].id == "vx0YEGc1"
    assert [category.id for category in page[:1]] == ["cpdRsfJP"]
    assert [category.id for category in page[::-1]] == ids[::-1]
    assert page[5:] == []
    assert page.items == [edge.node for edge in page.edges]
    assert isinstance(page.items, list)


def test_page_index_out_of_range_raises_index_error() -> None:
    page = fetch_fixture("top_tracks")
    with pytest.raises(IndexError):
        page[2]


def test_empty_page() -> None:
    page = ResponseCollection[Track].model_validate(
        {"pageInfo": {"hasNextPage": False}, "edgeCount": 0, "edges": []}
    )
    assert len(page) == 0
    assert list(page) == []
    assert page.items == []
    assert page[:] == []
    assert page.next_cursor is None


def test_items_keep_the_order_of_the_edges() -> None:
    edges = [{"node": {"id": f"T{n:03}"}} for n in range(30)]
    page = ResponseCollection[Track].model_validate(
        {"pageInfo": {"hasNextPage": False}, "edgeCount": 30, "edges": edges}
    )
    assert [track.id for track in page] == [f"T{n:03}" for n in range(30)]
    assert page[10:13] == [Track(id="T010"), Track(id="T011"), Track(id="T012")]


def test_edge_count_defaults_to_the_edges_sent() -> None:
    page = ResponseCollection[Track].model_validate(
        {
            "pageInfo": {"hasNextPage": False},
            "edges": [{"node": {"id": "a"}}, {"node": {"id": "b"}}],
        }
    )
    assert page.edge_count == 2


# -- next_cursor ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_info", "edge_cursors", "expected"),
    [
        ({"hasNextPage": True, "token": "t2"}, [None, None], "t2"),
        ({"hasNextPage": True, "token": "t2"}, ["c1", "c2"], "t2"),
        ({"hasNextPage": False, "token": "t2"}, ["c1", "c2"], None),
        ({"hasNextPage": False}, ["c1", "c2"], None),
        ({"hasNextPage": True}, [None, None], None),
        ({"hasNextPage": True}, ["c1", "c2"], "c2"),
        ({"hasNextPage": True, "token": None}, ["c1", "c2"], "c2"),
        ({"hasNextPage": True, "token": ""}, ["c1", "c2"], "c2"),
        ({"hasNextPage": True, "token": ""}, [None, None], None),
        ({"hasNextPage": True}, ["c1", None], None),
        ({"hasNextPage": True}, ["c1", ""], None),
        ({"hasNextPage": True}, [], None),
    ],
)
def test_next_cursor_rules(
    page_info: dict[str, Any], edge_cursors: list[str | None], expected: str | None
) -> None:
    edges: list[dict[str, Any]] = []
    for n, cursor in enumerate(edge_cursors):
        edge: dict[str, Any] = {"node": {"id": f"id{n}"}}
        if cursor is not None:
            edge["cursor"] = cursor
        edges.append(edge)
    page = ResponseCollection[Category].model_validate({"pageInfo": page_info, "edges": edges})
    assert page.next_cursor == expected


def test_next_cursor_falls_back_to_the_last_edge_cursor_through_the_client() -> None:
    collection = collection_json("categories")
    del collection["pageInfo"]["token"]
    page = fetch(
        lambda c: c.get_categories(), json.dumps(wrap(("data", "browseCategories"), collection))
    )
    assert page.page_info.token is None
    assert page.next_cursor == "3:vx0YEGc1"


# -- tolerance: unknown fields, optional fields, names -------------------------------------


def test_unknown_fields_are_kept_everywhere_and_round_trip() -> None:
    collection = collection_json("top_tracks")
    collection["totalCount"] = 1234
    collection["pageInfo"]["hasPreviousPage"] = False
    collection["edges"][0]["score"] = 0.5
    node = collection["edges"][0]["node"]
    node["duration"] = 232
    node["audioQualities"] = ["SD", "HD", "UHD"]
    node["album"] = {"id": "B077XF8X4W", "title": "Beggin'"}
    node["artists"] = [{"id": "B00GWRWLM8", "name": "Måneskin"}]
    body = json.dumps(wrap(("data", "topTracks"), collection))

    page = fetch(lambda c: c.get_top_tracks(), body)

    track = page[0]
    assert track.model_extra == {
        "duration": 232,
        "audioQualities": ["SD", "HD", "UHD"],
        "album": {"id": "B077XF8X4W", "title": "Beggin'"},
        "artists": [{"id": "B00GWRWLM8", "name": "Måneskin"}],
    }
    assert track.audioQualities == ["SD", "HD", "UHD"]  # type: ignore[attr-defined]
    assert page.model_extra == {"totalCount": 1234}
    assert page.page_info.model_extra == {"hasPreviousPage": False}
    assert page.edges[0].model_extra == {"score": 0.5}
    assert page.model_dump(by_alias=True, exclude_unset=True) == collection


def test_unknown_fields_of_a_category_are_kept() -> None:
    document = fixture_json("category")
    document["category"]["images"] = [{"url": "https://m.media-amazon.com/x.jpg"}]
    category = fetch(lambda c: c.get_category("2iB4IU25"), json.dumps(document))
    assert category.model_extra == {"images": [{"url": "https://m.media-amazon.com/x.jpg"}]}
    assert category.model_dump(by_alias=True, exclude_unset=True) == document["category"]


def test_unknown_field_of_an_image_is_kept() -> None:
    image = Image.model_validate({"url": "u", "imageType": "PRIMARY"})
    assert (image.url, image.width, image.height) == ("u", None, None)
    assert image.model_extra == {"imageType": "PRIMARY"}
    assert image.model_dump(by_alias=True, exclude_unset=True) == {
        "url": "u",
        "imageType": "PRIMARY",
    }


@pytest.mark.parametrize(
    ("model", "defaults"),
    [
        (Track, {"title": None, "url": None}),
        (Album, {"title": None, "url": None}),
        (Episode, {"title": None, "url": None}),
        (
            Playlist,
            {"title": None, "url": None, "duration": None, "images": [], "track_count": None},
        ),
        (Category, {"name": None, "url": None, "category_type": None}),
    ],
)
def test_only_id_is_required(model: type[pydantic.BaseModel], defaults: dict[str, Any]) -> None:
    item = model.model_validate({"id": "X1"})
    assert item.id == "X1"  # type: ignore[attr-defined]
    assert {name: getattr(item, name) for name in defaults} == defaults
    assert item.model_dump(by_alias=True, exclude_unset=True) == {"id": "X1"}
    with pytest.raises(pydantic.ValidationError, match="id"):
        model.model_validate({"title": "no id", "name": "no id"})


def test_image_has_no_required_field() -> None:
    assert Image.model_validate({}) == Image(url=None, width=None, height=None)


@pytest.mark.parametrize(
    ("document", "has_next_page"),
    [({"token": "t"}, True), ({}, False), ({"token": None}, False), ({"hasNextPage": None}, False)],
)
def test_a_page_info_without_has_next_page_has_one_when_it_has_a_token(
    document: dict[str, Any], has_next_page: bool
) -> None:
    assert PageInfo.model_validate(document).has_next_page is has_next_page


def test_edge_cursor_is_optional() -> None:
    edge = Edge[Track].model_validate({"node": {"id": "a"}})
    assert edge.cursor is None
    assert edge.node == Track(id="a")
    assert Edge[Track].model_validate({"node": {"id": "a"}, "cursor": "1:a"}).cursor == "1:a"


@pytest.mark.parametrize(
    ("model", "data", "attribute", "expected"),
    [
        (Playlist, {"id": "P", "trackCount": 7}, "track_count", 7),
        (Playlist, {"id": "P", "track_count": 7}, "track_count", 7),
        (Category, {"id": "C", "categoryType": "GENRE"}, "category_type", "GENRE"),
        (Category, {"id": "C", "category_type": "GENRE"}, "category_type", "GENRE"),
        (PageInfo, {"hasNextPage": True}, "has_next_page", True),
        (PageInfo, {"has_next_page": True}, "has_next_page", True),
        (
            ResponseCollection[Track],
            {"page_info": {"has_next_page": False}, "edge_count": 0, "edges": []},
            "edge_count",
            0,
        ),
    ],
)
def test_fields_populate_by_alias_and_by_name(
    model: type[pydantic.BaseModel], data: dict[str, Any], attribute: str, expected: Any
) -> None:
    instance = model.model_validate(data)
    assert getattr(instance, attribute) == expected
    assert instance.model_extra == {}


def test_constructors_take_attribute_names_and_dump_camel_case() -> None:
    playlist = Playlist(id="P", track_count=3, images=[Image(url="u", width=1, height=2)])
    assert playlist.model_dump(by_alias=True, exclude_unset=True) == {
        "id": "P",
        "trackCount": 3,
        "images": [{"url": "u", "width": 1, "height": 2}],
    }
    page_info = PageInfo(has_next_page=True, token="t")
    assert page_info.model_dump(by_alias=True) == {"hasNextPage": True, "token": "t"}
    assert Category(id="c", category_type="GENRE").model_dump(by_alias=True) == {
        "id": "c",
        "name": None,
        "url": None,
        "categoryType": "GENRE",
    }


# -- wrong shapes --------------------------------------------------------------------------


def _top_tracks(**changes: Any) -> dict[str, Any]:
    collection = collection_json("top_tracks")
    collection.update(changes)
    return wrap(("data", "topTracks"), collection)


def _top_playlist_node(**changes: Any) -> dict[str, Any]:
    collection = collection_json("top_playlists")
    collection["edges"][0]["node"].update(changes)
    return wrap(("data", "topPlaylists"), collection)


WRONG_SHAPES: list[Any] = [
    pytest.param(
        {"data": {"topTracks": {"pageInfo": {"hasNextPage": False}, "edgeCount": 0}}},
        "edges",
        id="no-edges",
    ),
    pytest.param(_top_tracks(edges=[{"node": {"title": "x"}}]), "id", id="node-without-id"),
    pytest.param(_top_tracks(edges=[{"node": None}]), "node", id="null-node"),
    pytest.param(_top_tracks(edges=[{"cursor": "c"}]), "node", id="edge-without-node"),
    pytest.param(_top_tracks(edges=[None]), "edges", id="null-edge"),
    pytest.param(_top_tracks(edges={"node": {"id": "a"}}), "edges", id="edges-not-a-list"),
    pytest.param(_top_tracks(edges=[{"node": {"id": [5]}}]), "id", id="id-a-list"),
    pytest.param(_top_tracks(edges=[{"node": {"id": "a", "title": {}}}]), "title", id="title-obj"),
    pytest.param(_top_tracks(pageInfo={"hasNextPage": [1]}), "hasNextPage", id="hasNextPage"),
    pytest.param(_top_tracks(edgeCount="many"), "edgeCount", id="edgeCount-not-int"),
    pytest.param(_top_playlist_node(trackCount="lots"), "trackCount", id="trackCount-str"),
    pytest.param(_top_playlist_node(images="x.jpg"), "images", id="images-not-a-list"),
    pytest.param(_top_playlist_node(images=[{"width": "wide"}]), "width", id="image-width"),
    pytest.param(_top_playlist_node(duration=[1]), "duration", id="duration-list"),
    pytest.param({"data": {"topTracks": None}}, "topTracks", id="null-collection"),
    pytest.param({"data": {"topTracks": []}}, "topTracks", id="collection-is-a-list"),
    pytest.param({"data": {}}, "topTracks", id="no-collection"),
    pytest.param({"data": None}, "topTracks", id="null-data"),
    pytest.param({"data": "x"}, "data", id="data-is-a-str"),
    pytest.param({}, "topTracks", id="empty-object"),
]


def _call_for(document: dict[str, Any]) -> Call:
    data = document.get("data")
    if isinstance(data, dict) and "topPlaylists" in data:
        return lambda c: c.get_top_playlists()
    return lambda c: c.get_top_tracks()


@pytest.mark.parametrize(("document", "named"), WRONG_SHAPES)
def test_wrong_shapes_raise_response_validation_error(document: Any, named: str) -> None:
    error = fetch_invalid(_call_for(document), document)
    assert error.status_code == 200
    assert error.body == json.dumps(document)
    assert named in str(error)


@pytest.mark.parametrize(
    ("call", "document"),
    [
        pytest.param(
            lambda c: c.get_category("2iB4IU25"),
            {"data": {"category": {"name": "no id"}}},
            id="category-without-id",
        ),
        pytest.param(
            lambda c: c.get_category("2iB4IU25"),
            {"data": {"category": None}},
            id="null-category",
        ),
        pytest.param(
            lambda c: c.get_category("2iB4IU25"), {"categoryType": "GENRE"}, id="no-category"
        ),
        pytest.param(
            lambda c: c.get_category_tracks("E9UEPoEH"),
            {"data": {"category": {"id": "E9UEPoEH", "name": "Sacred Steel"}}},
            id="category-without-tracks",
        ),
        pytest.param(
            lambda c: c.get_category_albums("E9UEPoEH"),
            {"data": {"albums": collection_json("category_albums")}},
            id="albums-not-under-category",
        ),
    ],
)
def test_wrong_category_shapes_raise_response_validation_error(
    call: Call, document: dict[str, Any]
) -> None:
    error = fetch_invalid(call, document)
    assert error.status_code == 200
    assert error.body == json.dumps(document)


@pytest.mark.parametrize("status", [200, 201, 203])
def test_response_validation_error_carries_the_status_of_the_answer(status: int) -> None:
    error = fetch_invalid(lambda c: c.get_top_tracks(), {"data": {}}, status)
    assert error.status_code == status
    assert str(error).startswith("GET /v1/browse/tracks/top (Content-Type text/plain) ")
    assert f" answered {status} with a body that is not the documented shape: " in str(error)


def test_a_category_wrapper_without_id_leaves_page_category_unset() -> None:
    from amazon_music_browse.endpoints import CATEGORY_TRACKS

    body = {"data": {"category": {"name": "Nameless", "tracks": collection_without_token()}}}
    page = CATEGORY_TRACKS.parse(json.dumps(body).encode(), 200)

    assert page.category is None
    assert [track.id for track in page] == ["T1"]


def test_a_category_wrapper_with_a_wrong_id_type_is_refused() -> None:
    from amazon_music_browse.endpoints import CATEGORY_TRACKS

    body = {"data": {"category": {"id": [7], "tracks": collection_without_token()}}}
    with pytest.raises(ResponseValidationError, match="id"):
        CATEGORY_TRACKS.parse(json.dumps(body).encode(), 200)


@pytest.mark.parametrize("name", ["top_playlists", "category_tracks", "categories"])
def test_pages_pickle_and_unpickle_equal(name: str) -> None:
    import pickle

    from amazon_music_browse import endpoints as _endpoints

    endpoint = {
        "top_playlists": _endpoints.TOP_PLAYLISTS,
        "category_tracks": _endpoints.CATEGORY_TRACKS,
        "categories": _endpoints.CATEGORIES,
    }[name]
    page = endpoint.parse((FIXTURES / f"{name}.json").read_bytes(), 200)

    copy = pickle.loads(pickle.dumps(page))

    assert copy == page
    assert type(copy) is type(page)
    assert copy.next_cursor == page.next_cursor
    assert copy.category == page.category


def collection_without_token() -> dict[str, Any]:
    return {"pageInfo": {"hasNextPage": False}, "edgeCount": 1, "edges": [{"node": {"id": "T1"}}]}
