"""The deterministic catalog: documented examples, generated items, sizes, laziness."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import pytest

from amazon_music_browse.sandbox._catalog import (
    CATEGORY_COLLECTIONS,
    DEFAULT_SIZES,
    MAX_SIZE,
    TOP_COLLECTIONS,
    Catalog,
)

WEB = "https://music.amazon.com"
IMAGES = "https://m.media-amazon.com/images/I"

# The Browse page's example nodes, transcribed by hand (archive host rewritten).
DOCUMENTED_TOP: dict[str, list[dict[str, Any]]] = {
    "topTracks": [
        {
            "id": "B0785GTW4T",
            "title": "Beggin' [Explicit]",
            "url": f"{WEB}/albums/B077XF8X4W/?trackAsin=B0785GTW4T",
        },
        {
            "id": "B08ZCM5758",
            "title": "Heat Waves",
            "url": f"{WEB}/albums/B08ZCTL3QB/?trackAsin=B08ZCM5758",
        },
    ],
    "topPlaylists": [
        {
            "id": "B00J9PVXBM",
            "duration": 4893,
            "images": [{"height": 1280, "width": 2560, "url": f"{IMAGES}/71JmZ24jF4L.jpg"}],
            "title": "Happy Modern Pop",
            "trackCount": 25,
            "url": f"{WEB}/playlists/B00J9PVXBM",
        },
        {
            "id": "B0B2239T2L",
            "duration": 22860,
            "images": [{"height": 500, "width": 500, "url": f"{IMAGES}/51p-JxIHgtL.jpg"}],
            "title": "Pride Hits",
            "trackCount": 115,
            "url": f"{WEB}/playlists/B0B2239T2L",
        },
    ],
    "newPodcastEpisodes": [
        {
            "id": "0c1dc966-2345-4530-b388-e33bc06f4401",
            "title": "MURDERED: Billy Stafford",
            "url": f"{WEB}/podcasts/d6e/episodes/Crime-JunkieMURDERED: Billy Stafford",
        },
        {
            "id": "17d202dc-7d25-4ebf-af62-850e79024486",
            "title": "Full Body Chills IS BACK!",
            "url": f"{WEB}/podcasts/946e/episodes/Crime-JunkieFull Body Chills IS BACK!",
        },
    ],
}
DOCUMENTED_CATEGORY_ITEMS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("E9UEPoEH", "albums"): [
        {"id": "B003R490PW", "title": "We Walk This Road", "url": f"{WEB}/albums/B003R490PW"},
        {"id": "B00DRA5QC2", "title": "Lickety Split", "url": f"{WEB}/albums/B00DRA5QC2"},
    ],
    ("hZiJ3FwS", "playlists"): [
        {
            "id": "B00KO8YSNS",
            "duration": 12456,
            "images": [{"height": 1280, "width": 2560, "url": f"{IMAGES}/71VfjyvQ+pL.jpg"}],
            "title": "50 Great '80s Songs",
            "trackCount": 50,
            "url": f"{WEB}/playlists/B00KO8YSNS",
        },
        {
            "id": "B00KNI5EVO",
            "duration": 24389,
            "images": [{"height": 500, "width": 500, "url": f"{IMAGES}/51+VJ8i9qML.jpg"}],
            "title": "REDISCOVER THE '90s: Alternative",
            "trackCount": 100,
            "url": f"{WEB}/playlists/B00KNI5EVO",
        },
    ],
    ("E9UEPoEH", "tracks"): [
        {
            "id": "B07PPVYNQZ",
            "title": "Baptise Me",
            "url": f"{WEB}/albums/B07PMV5LV8/?trackAsin=B07PPVYNQZ",
        },
        {
            "id": "B00DRA5QX6",
            "title": "Amped Up",
            "url": f"{WEB}/albums/B00DRA5QC2/?trackAsin=B00DRA5QX6",
        },
    ],
}
DOCUMENTED_CATEGORIES = {
    "2iB4IU25": "Heavy Metal",
    "hZiJ3FwS": "Rock",
    "cpdRsfJP": "Technoid",
    "vx0YEGc1": "Latin Urban",
    "E9UEPoEH": "Sacred Steel",
}
ASIN = re.compile(r"B0[0-9A-Z]{8}")
GENERATED_ASIN = re.compile(r"B0[C-Z][0-9A-Z]{7}")
CATEGORY_ID = re.compile(r"[0-9A-Za-z]{8}")
# Pins the seed-0 catalog (same on Python 3.10-3.13): a change in generation shows here.
SEED_0_DIGEST = "295b9d0db916a2882482fe72bf41f890fc890936262a8918bb4e8e6578a8bd9f"


def everything(catalog: Catalog, categories: list[str]) -> dict[str, Any]:
    """Every top collection, plus the given categories and their collections."""
    result: dict[str, Any] = {key: catalog.collection(key) for key in TOP_COLLECTIONS}
    for category_id in categories:
        result[category_id] = {
            "category": catalog.category(category_id),
            **{key: catalog.category_collection(category_id, key) for key in CATEGORY_COLLECTIONS},
        }
    return result


def some_categories(catalog: Catalog) -> list[str]:
    """The documented categories and a few generated ones (first, middle, last)."""
    ids = [node["id"] for node in catalog.collection("browseCategories")]
    return [*DOCUMENTED_CATEGORIES, ids[5], ids[len(ids) // 2], ids[-1]]


def test_same_seed_gives_the_same_catalog() -> None:
    first, second = Catalog(seed=7), Catalog(seed=7)
    # Build the second in another order: lazily built collections must not depend on it.
    categories = some_categories(first)
    assert everything(first, categories) == everything(second, list(reversed(categories)))


def test_seed_0_catalog_is_pinned() -> None:
    catalog = Catalog()
    text = json.dumps(everything(catalog, some_categories(catalog)), sort_keys=True)
    assert hashlib.sha256(text.encode()).hexdigest() == SEED_0_DIGEST


def test_other_seed_changes_generated_items_only() -> None:
    zero, one = Catalog(seed=0), Catalog(seed=1)
    for key, documented in DOCUMENTED_TOP.items():
        assert zero.collection(key)[:2] == one.collection(key)[:2] == documented
        assert zero.collection(key)[2:] != one.collection(key)[2:]


@pytest.mark.parametrize("key", sorted(DOCUMENTED_TOP))
def test_documented_top_nodes_come_first_exactly(key: str) -> None:
    assert Catalog().collection(key)[:2] == DOCUMENTED_TOP[key]


@pytest.mark.parametrize(("category_id", "key"), sorted(DOCUMENTED_CATEGORY_ITEMS))
def test_documented_category_items_come_first_exactly(category_id: str, key: str) -> None:
    items = Catalog().category_collection(category_id, key)
    assert items[:2] == DOCUMENTED_CATEGORY_ITEMS[(category_id, key)]


def test_documented_categories_and_their_positions() -> None:
    catalog = Catalog()
    nodes = catalog.collection("browseCategories")
    assert nodes[:5] == [{"id": cid, "name": name} for cid, name in DOCUMENTED_CATEGORIES.items()]
    # Positions 2 and 3, as the documented edge cursors "2:cpdRsfJP" and "3:vx0YEGc1" say.
    assert nodes[2]["id"] == "cpdRsfJP"
    assert nodes[3]["id"] == "vx0YEGc1"
    assert catalog.category("2iB4IU25") == {
        "id": "2iB4IU25",
        "name": "Heavy Metal",
        "url": f"{WEB}/genres/2iB4IU25",
        "categoryType": "GENRE",
    }


def test_default_sizes_span_at_least_three_pages() -> None:
    catalog = Catalog()
    assert len(catalog.collection("topTracks")) == DEFAULT_SIZES["topTracks"] > 2 * 20
    for key in ("topPlaylists", "newPodcastEpisodes", "browseCategories"):
        assert len(catalog.collection(key)) == DEFAULT_SIZES[key] > 2 * 100
    for key in CATEGORY_COLLECTIONS:
        assert len(catalog.category_collection("2iB4IU25", key)) == DEFAULT_SIZES[key] > 2 * 100


def test_ids_are_unique_and_well_formed_across_the_catalog() -> None:
    catalog = Catalog()
    asins = [
        node["id"] for key in ("topTracks", "topPlaylists") for node in catalog.collection(key)
    ]
    for category_id in some_categories(catalog):
        for key in CATEGORY_COLLECTIONS:
            asins += [node["id"] for node in catalog.category_collection(category_id, key)]
    assert len(asins) == len(set(asins)) > 7000
    assert all(ASIN.fullmatch(asin) for asin in asins)
    documented = {n["id"] for nodes in DOCUMENTED_CATEGORY_ITEMS.values() for n in nodes}
    documented |= {n["id"] for n in DOCUMENTED_TOP["topTracks"] + DOCUMENTED_TOP["topPlaylists"]}
    assert all(GENERATED_ASIN.fullmatch(asin) for asin in set(asins) - documented)

    episodes = [node["id"] for node in catalog.collection("newPodcastEpisodes")]
    assert len(set(episodes)) == len(episodes)
    assert all(str(uuid.UUID(episode)) == episode for episode in episodes)

    categories = [node["id"] for node in catalog.collection("browseCategories")]
    assert len(set(categories)) == len(categories)
    assert all(CATEGORY_ID.fullmatch(category) for category in categories)


def test_generated_nodes_have_the_documented_shape() -> None:
    catalog = Catalog()
    track = catalog.collection("topTracks")[2]
    assert set(track) == {"id", "title", "url"}
    assert re.fullmatch(rf"{WEB}/albums/B0\w{{8}}/\?trackAsin={track['id']}", track["url"])
    playlist = catalog.collection("topPlaylists")[2]
    assert set(playlist) == {"id", "title", "url", "duration", "images", "trackCount"}
    assert playlist["url"] == f"{WEB}/playlists/{playlist['id']}"
    assert isinstance(playlist["duration"], int)
    assert playlist["duration"] > playlist["trackCount"] > 0
    [image] = playlist["images"]
    assert image == {"url": f"/images/{playlist['id']}.svg", "width": 2560, "height": 1280}
    album = catalog.category_collection("2iB4IU25", "albums")[0]
    assert album["url"] == f"{WEB}/albums/{album['id']}"
    assert album["images"] == [{"url": f"/images/{album['id']}.svg", "width": 1800, "height": 1800}]
    episode = catalog.collection("newPodcastEpisodes")[2]
    assert episode["url"].startswith(f"{WEB}/podcasts/")
    assert episode["url"].endswith(f"/episodes/{episode['id']}")
    for node in catalog.collection("topTracks") + catalog.collection("topPlaylists"):
        assert node["title"].strip()
        assert node["url"].startswith(f"{WEB}/")
        assert "rproxy" not in node["url"]


def test_category_playlists_are_titled_after_their_genre() -> None:
    playlists = Catalog().category_collection("2iB4IU25", "playlists")
    assert sum("Heavy Metal" in playlist["title"] for playlist in playlists) == len(playlists)


def test_collections_are_built_lazily() -> None:
    catalog = Catalog()
    assert catalog._cache == {}
    tracks = catalog.items("tracks", "E9UEPoEH")
    assert set(catalog._cache) == {("browseCategories", ""), ("tracks", "E9UEPoEH")}
    assert catalog.items("tracks", "E9UEPoEH") is tracks
    assert tracks.built == 0
    assert catalog.items("browseCategories").built == 100  # one step, as far as E9UEPoEH


@pytest.mark.unmeasured  # 100,000 items built: their code is measured by the other tests here
def test_a_page_builds_the_collection_only_as_far_as_its_end() -> None:
    catalog = Catalog(seed=2, sizes={"tracks": MAX_SIZE})
    tracks = catalog.items("tracks", "2iB4IU25")
    first = tracks.slice(0, 100)
    assert (len(first), tracks.built, tracks.size) == (100, 100, MAX_SIZE)
    second = tracks.slice(100, 200)
    assert (len(second), tracks.built) == (100, 200)
    assert tracks.slice(50, 150) == first[50:] + second[:50]  # nothing built twice
    assert tracks.slice(MAX_SIZE - 1, MAX_SIZE + 10) == tracks.slice(MAX_SIZE - 1, MAX_SIZE)
    assert tracks.built == MAX_SIZE


def test_items_built_on_demand_equal_the_whole_collection_built_at_once() -> None:
    sizes = {"tracks": 450, "newPodcastEpisodes": 450, "browseCategories": 450}
    on_demand, at_once = Catalog(seed=5, sizes=sizes), Catalog(seed=5, sizes=sizes)
    for key, category_id in [
        ("tracks", "hZiJ3FwS"),
        ("newPodcastEpisodes", None),
        ("browseCategories", None),
    ]:
        items = on_demand.items(key, category_id)
        pieces = [items.slice(start, start + 7) for start in range(0, 450, 7)]
        assert [node for piece in pieces for node in piece] == at_once.items(key, category_id).all()


def test_a_category_lookup_builds_the_list_only_as_far_as_that_category() -> None:
    catalog = Catalog(sizes={"browseCategories": MAX_SIZE})
    assert catalog.category("E9UEPoEH") is not None
    assert catalog.items("browseCategories").built == 100
    assert catalog.category_collection("hZiJ3FwS", "albums") == Catalog().category_collection(
        "hZiJ3FwS", "albums"
    )
    assert catalog.items("browseCategories").built == 100


def test_unknown_category_ids_are_looked_up_exactly() -> None:
    catalog = Catalog()
    assert catalog.category("e9uepoeh") is None
    assert catalog.category(" E9UEPoEH") is None
    with pytest.raises(KeyError):
        catalog.category_collection("nope", "tracks")


def test_catalog_sizes_override_the_defaults() -> None:
    catalog = Catalog(sizes={"topPlaylists": 1000, "tracks": 3, "topTracks": 1, "albums": 0})
    playlists = catalog.collection("topPlaylists")
    assert len(playlists) == len({node["id"] for node in playlists}) == 1000
    assert playlists[:2] == DOCUMENTED_TOP["topPlaylists"]
    assert catalog.collection("topTracks") == DOCUMENTED_TOP["topTracks"][:1]
    assert (
        catalog.category_collection("E9UEPoEH", "tracks")[:2]
        == (DOCUMENTED_CATEGORY_ITEMS[("E9UEPoEH", "tracks")])
    )
    assert len(catalog.category_collection("E9UEPoEH", "tracks")) == 3
    assert catalog.category_collection("E9UEPoEH", "albums") == []
    assert len(catalog.collection("newPodcastEpisodes")) == DEFAULT_SIZES["newPodcastEpisodes"]


def test_a_smaller_category_list_still_answers_lookups() -> None:
    catalog = Catalog(sizes={"browseCategories": 3})
    assert [node["name"] for node in catalog.collection("browseCategories")] == [
        "Heavy Metal",
        "Rock",
        "Technoid",
    ]
    assert catalog.category("E9UEPoEH") is None


@pytest.mark.parametrize(
    ("sizes", "error", "message"),
    [
        ({"artists": 5}, ValueError, "unknown collection 'artists'"),
        ({"topTracks": -1}, ValueError, "from 0 to 100000"),
        ({"topTracks": MAX_SIZE + 1}, ValueError, "from 0 to 100000"),
        ({"topTracks": 2.0}, TypeError, "must be an int"),
        ({"topTracks": True}, TypeError, "must be an int"),
    ],
)
def test_catalog_sizes_are_validated(sizes: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Catalog(sizes=sizes)


# --- covers ---------------------------------------------------------------------------


def covered(catalog: Catalog) -> list[dict[str, Any]]:
    """Nodes with a cover from every collection that has covers, first and last pages."""
    nodes: list[dict[str, Any]] = []
    categories = [node["id"] for node in catalog.collection("browseCategories")]
    for category_id in ("hZiJ3FwS", "E9UEPoEH", categories[-1]):
        for key in ("albums", "playlists"):
            nodes += catalog.category_collection(category_id, key)[:3]
            nodes += catalog.category_collection(category_id, key)[-3:]
    nodes += catalog.collection("topPlaylists")[:5] + catalog.collection("topPlaylists")[-3:]
    return [node for node in nodes if "images" in node]  # the documented albums have none


def test_every_generated_cover_is_a_local_path_and_documented_ones_are_kept() -> None:
    catalog = Catalog()
    documented_urls = {
        image["url"]
        for nodes in [*DOCUMENTED_TOP.values(), *DOCUMENTED_CATEGORY_ITEMS.values()]
        for node in nodes
        for image in node.get("images", [])
    }
    assert len(documented_urls) == 4
    for node in covered(catalog):
        [image] = node["images"]
        if image["url"] in documented_urls:
            assert image["url"].startswith(f"{IMAGES}/")
        else:
            assert image["url"] == f"/images/{node['id']}.svg"


def test_a_cover_is_found_by_its_id_in_a_catalog_that_has_built_nothing() -> None:
    ids = [node["id"] for node in covered(Catalog(seed=3)) if node["images"][0]["url"][0] == "/"]
    assert len(ids) > 30
    for node_id in ids:
        fresh = Catalog(seed=3)
        node = fresh.image_node(node_id)
        assert node is not None
        assert node["id"] == node_id


@pytest.mark.parametrize(
    "node_id",
    [
        "B0785GTW4T",  # a documented track
        "B00J9PVXBM",  # a documented playlist: its cover is not served locally
        "nope",
        "",
        "B0zzzzzzzz",
        "B0CCCCCCCC",
        "B0ÄÄÄÄÄÄÄÄ",
        "B0" + "Z" * 8,
    ],
)
def test_ids_without_a_local_cover_are_not_found(node_id: str) -> None:
    assert Catalog().image_node(node_id) is None


def test_tracks_and_nodes_past_the_end_have_no_cover() -> None:
    catalog = Catalog()
    track = catalog.category_collection("2iB4IU25", "tracks")[5]
    assert catalog.image_node(track["id"]) is None
    small = Catalog(sizes={"topPlaylists": 3})
    last = small.collection("topPlaylists")[-1]
    assert small.image_node(last["id"]) == last
    beyond = Catalog().collection("topPlaylists")[3]  # in the default catalog only
    assert small.image_node(beyond["id"]) is None
