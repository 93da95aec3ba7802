"""The eight Browse endpoints, as `Endpoint` constants, and `ENDPOINTS`, their tuple.

Each entry says where the endpoint lives, where its payload sits in the body, what its
items are and which ``limit`` it takes; the client's methods, ``paginate``, the command
line and the sandbox's routes all read them from here. A path the real service spells
differently is a change of one entry here.

```python
from amazon_music_browse.endpoints import CATEGORY_TRACKS

page = client.get_page(CATEGORY_TRACKS, category_id="2iB4IU25", limit=10)
```
"""

from __future__ import annotations

from typing import Any

from ._endpoint import Endpoint, ModelT
from ._models import Album, Category, Episode, Playlist, Track

__all__ = [
    "CATEGORIES",
    "CATEGORY",
    "CATEGORY_ALBUMS",
    "CATEGORY_PLAYLISTS",
    "CATEGORY_TRACKS",
    "ENDPOINTS",
    "NEW_PODCAST_EPISODES",
    "TOP_PLAYLISTS",
    "TOP_TRACKS",
]

_CATEGORY = "/v1/browse/categories/{category_id}"

TOP_TRACKS = Endpoint(
    "/v1/browse/tracks/top",
    ("data", "topTracks"),
    Track,
    limits=(1, 20),
    name="top-tracks",
    summary="Top tracks",
)
"""Get Top Tracks: the top tracks for the current user."""

TOP_PLAYLISTS = Endpoint(
    "/v1/browse/playlists/top",
    ("data", "topPlaylists"),
    Playlist,
    limits=(1, 100),
    name="top-playlists",
    summary="Top playlists",
)
"""Get Top Playlists: the top playlists for the current user."""

NEW_PODCAST_EPISODES = Endpoint(
    "/v1/browse/podcasts/episodes/new",
    ("data", "newPodcastEpisodes"),
    Episode,
    limits=(1, 100),
    name="new-episodes",
    summary="New podcast episodes",
)
"""Get New Podcast Episodes: new episodes for the current user."""

CATEGORIES = Endpoint(
    "/v1/browse/categories",
    ("data", "browseCategories"),
    Category,
    limits=(1, 100),
    name="categories",
    summary="All categories",
)
"""Get All Categories: the categories (genres) used to tag catalog items."""

CATEGORY = Endpoint(
    _CATEGORY, ("data", "category"), Category, name="category", summary="One category"
)
"""Get Category: one category by id."""


def _category_collection(key: str, model: type[ModelT], summary: str) -> Endpoint[ModelT]:
    """A category's collection: answered inside the category object, beside its own fields."""
    return Endpoint(
        f"{_CATEGORY}/{key}",
        ("data", "category", key),
        model,
        limits=(1, 100),
        owner_key="category",
        owner_model=Category,
        name=f"category-{key}",
        summary=summary,
    )


CATEGORY_ALBUMS = _category_collection("albums", Album, "A category's albums")
"""Get Category Albums: the albums tagged with a category; ``page.category`` is the category."""

CATEGORY_PLAYLISTS = _category_collection("playlists", Playlist, "A category's playlists")
"""Get Category Playlists: the playlists tagged with a category."""

CATEGORY_TRACKS = _category_collection("tracks", Track, "A category's tracks")
"""Get Category Tracks: the tracks tagged with a category."""

ENDPOINTS: tuple[Endpoint[Any], ...] = (
    TOP_TRACKS,
    TOP_PLAYLISTS,
    NEW_PODCAST_EPISODES,
    CATEGORIES,
    CATEGORY,
    CATEGORY_ALBUMS,
    CATEGORY_PLAYLISTS,
    CATEGORY_TRACKS,
)
"""Every Browse endpoint, in the order of the Browse page."""
