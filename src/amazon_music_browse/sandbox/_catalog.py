"""The sandbox's deterministic catalog: the Browse page's examples plus generated items.

Everything derives from the seed through ``random.Random`` seeded with strings and keyed
BLAKE2 hashes, never ``hash()``, so a seed gives the same catalog on every machine and
Python version. Collections are built on first use, in page order and only as far as a
page needs (`Items`): starting a sandbox costs nothing, asking for one category never
builds the others, and the first page of a 100,000-item collection costs what any
other page costs.

Generated ASINs are a keyed permutation of (collection, position), so they are unique
across the whole catalog without any shared state between lazily built collections, and
they start with ``B0C``..``B0Z`` so they never collide with the documented ones. The
permutation is inverted to find the node of a cover (`Catalog.image_node`).

Generated playlists and albums carry one cover each, stored as a path on the sandbox
(``/images/<id>.svg``); the documented nodes keep their original image URLs.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Final

from amazon_music_browse._arguments import is_int

__all__ = [
    "CATEGORY_COLLECTIONS",
    "DEFAULT_SIZES",
    "IMAGE_PREFIX",
    "IMAGE_SUFFIX",
    "MAX_SIZE",
    "TOP_COLLECTIONS",
    "Catalog",
    "Items",
]

Node = dict[str, Any]

TOP_COLLECTIONS: Final = ("topTracks", "topPlaylists", "newPodcastEpisodes", "browseCategories")
CATEGORY_COLLECTIONS: Final = ("albums", "playlists", "tracks")
DEFAULT_SIZES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "topTracks": 75,
        "topPlaylists": 320,
        "newPodcastEpisodes": 310,
        "browseCategories": 230,
        "albums": 320,
        "playlists": 310,
        "tracks": 340,
    }
)
MAX_SIZE: Final = 100_000
IMAGE_PREFIX: Final = "/images/"
IMAGE_SUFFIX: Final = ".svg"

_SALT: Final = "amazon-music-browse-sandbox"
_WEB: Final = "https://music.amazon.com"
_BASE36: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE62: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_IMAGE_CHARS: Final = _BASE62 + "+-"
_BASE36_PAIRS: Final = tuple(a + b for a in _BASE36 for b in _BASE36)  # 2 digits: 0..36**2-1
# ASIN suffixes are 8 base-36 digits whose first digit is C..Z: 24 * 36**7 values,
# permuted by a Feistel network over (high, low) halves of sizes 24 * 36**3 and 36**4.
_ASIN_OFFSET: Final = 12 * 36**7
_HIGH: Final = 24 * 36**3
_LOW: Final = 36**4
# Each collection owns an even namespace of 2**17 > MAX_SIZE positions; the odd one after
# it holds the ids of the albums that its tracks link to.
_INDEX_BITS: Final = 17
_TRACKS_PER_ALBUM: Final = 3
_ALBUM_COVER: Final = (1800, 1800)
# Namespaces: 0 top tracks, 2 top playlists, and 4 + 2 * (3 * position + index) for the
# collections of the category at that position (index into CATEGORY_COLLECTIONS).
_TOP_PLAYLISTS_NAMESPACE: Final = 2
_FIRST_CATEGORY_NAMESPACE: Final = 4
_WITH_COVERS: Final = frozenset({"topPlaylists", "albums", "playlists"})


def _image(name: str, width: int, height: int) -> Node:
    return {
        "url": f"https://m.media-amazon.com/images/I/{name}.jpg",
        "width": width,
        "height": height,
    }


def _local_image(node_id: str, width: int, height: int) -> Node:
    """A cover the sandbox serves itself, stored as a path (see `IMAGE_PREFIX`)."""
    return {"url": f"{IMAGE_PREFIX}{node_id}{IMAGE_SUFFIX}", "width": width, "height": height}


# --- The Browse page's example nodes, with the archive's host rewritten. -----------------

_DOC_TOP_TRACKS: Final[tuple[Node, ...]] = (
    {
        "id": "B0785GTW4T",
        "title": "Beggin' [Explicit]",
        "url": f"{_WEB}/albums/B077XF8X4W/?trackAsin=B0785GTW4T",
    },
    {
        "id": "B08ZCM5758",
        "title": "Heat Waves",
        "url": f"{_WEB}/albums/B08ZCTL3QB/?trackAsin=B08ZCM5758",
    },
)
_DOC_TOP_PLAYLISTS: Final[tuple[Node, ...]] = (
    {
        "id": "B00J9PVXBM",
        "title": "Happy Modern Pop",
        "url": f"{_WEB}/playlists/B00J9PVXBM",
        "duration": 4893,
        "images": [_image("71JmZ24jF4L", 2560, 1280)],
        "trackCount": 25,
    },
    {
        "id": "B0B2239T2L",
        "title": "Pride Hits",
        "url": f"{_WEB}/playlists/B0B2239T2L",
        "duration": 22860,
        "images": [_image("51p-JxIHgtL", 500, 500)],
        "trackCount": 115,
    },
)
_DOC_EPISODES: Final[tuple[Node, ...]] = (
    {
        "id": "0c1dc966-2345-4530-b388-e33bc06f4401",
        "title": "MURDERED: Billy Stafford",
        "url": f"{_WEB}/podcasts/d6e/episodes/Crime-JunkieMURDERED: Billy Stafford",
    },
    {
        "id": "17d202dc-7d25-4ebf-af62-850e79024486",
        "title": "Full Body Chills IS BACK!",
        "url": f"{_WEB}/podcasts/946e/episodes/Crime-JunkieFull Body Chills IS BACK!",
    },
)
# Technoid and Latin Urban sit at positions 2 and 3, so their edge cursors read
# "2:cpdRsfJP" and "3:vx0YEGc1" exactly as in the documented example.
_DOC_CATEGORIES: Final[tuple[tuple[str, str], ...]] = (
    ("2iB4IU25", "Heavy Metal"),
    ("hZiJ3FwS", "Rock"),
    ("cpdRsfJP", "Technoid"),
    ("vx0YEGc1", "Latin Urban"),
    ("E9UEPoEH", "Sacred Steel"),
)
_DOC_CATEGORY_ITEMS: Final[Mapping[tuple[str, str], tuple[Node, ...]]] = {
    ("E9UEPoEH", "albums"): (
        {"id": "B003R490PW", "title": "We Walk This Road", "url": f"{_WEB}/albums/B003R490PW"},
        {"id": "B00DRA5QC2", "title": "Lickety Split", "url": f"{_WEB}/albums/B00DRA5QC2"},
    ),
    ("hZiJ3FwS", "playlists"): (
        {
            "id": "B00KO8YSNS",
            "title": "50 Great '80s Songs",
            "url": f"{_WEB}/playlists/B00KO8YSNS",
            "duration": 12456,
            "images": [_image("71VfjyvQ+pL", 2560, 1280)],
            "trackCount": 50,
        },
        {
            "id": "B00KNI5EVO",
            "title": "REDISCOVER THE '90s: Alternative",
            "url": f"{_WEB}/playlists/B00KNI5EVO",
            "duration": 24389,
            "images": [_image("51+VJ8i9qML", 500, 500)],
            "trackCount": 100,
        },
    ),
    ("E9UEPoEH", "tracks"): (
        {
            "id": "B07PPVYNQZ",
            "title": "Baptise Me",
            "url": f"{_WEB}/albums/B07PMV5LV8/?trackAsin=B07PPVYNQZ",
        },
        {
            "id": "B00DRA5QX6",
            "title": "Amped Up",
            "url": f"{_WEB}/albums/B00DRA5QC2/?trackAsin=B00DRA5QX6",
        },
    ),
}

# --- Word lists for generated items (all names are made up). -----------------------------

_GENRES: Final = (
    "Pop", "Jazz", "Blues", "Classical", "Country", "Hip-Hop", "Reggae", "K-Pop", "Ambient",
    "R&B", "Soul", "Funk", "Disco", "House", "Techno", "Trance", "Drum & Bass", "Dubstep",
    "Electronic", "Folk", "Americana", "Bluegrass", "Gospel", "Punk", "Indie Rock",
    "Alternative", "Grunge", "Emo", "Metalcore", "Death Metal", "Thrash Metal", "Latin Pop",
    "Reggaeton", "Salsa", "Bachata", "Cumbia", "Afrobeats", "Dancehall", "Ska", "Lo-Fi",
    "Soundtracks", "Opera", "Baroque", "Swing", "Bebop", "Smooth Jazz", "Trap", "J-Pop",
    "Bossa Nova", "Flamenco", "Celtic", "New Age", "Synthwave", "Shoegaze", "Chillout",
    "Singer-Songwriter", "Soft Rock", "Hard Rock", "Garage Rock", "Psychedelic Rock",
    "New Wave", "Post-Punk", "Industrial", "Tango", "Fado", "Zydeco", "Highlife", "Bhangra",
)  # fmt: skip
_GENRE_PREFIXES: Final = (
    "Classic", "Modern", "Indie", "Acoustic", "Progressive", "Experimental", "Vintage",
    "Contemporary", "Instrumental", "Underground", "Traditional", "Latin", "Nordic", "Tropical",
)  # fmt: skip
_ADJECTIVES: Final = (
    "Golden", "Electric", "Midnight", "Neon", "Silent", "Wild", "Broken", "Endless", "Crimson",
    "Velvet", "Burning", "Frozen", "Hidden", "Lonely", "Restless", "Shining", "Wicked", "Sweet",
    "Distant", "Falling", "Hollow", "Bright", "Savage", "Gentle", "Lucky", "Fading", "Rising",
    "Secret", "Summer", "Paper",
)  # fmt: skip
_NOUNS: Final = (
    "Heart", "Highway", "River", "Fire", "Dream", "City", "Night", "Sky", "Ocean", "Shadow",
    "Thunder", "Echo", "Mirror", "Garden", "Storm", "Horizon", "Light", "Rain", "Moon", "Road",
    "Diamond", "Paradise", "Season", "Signal", "Kingdom", "Fever", "Wave", "Memory", "Machine",
    "Satellite",
)  # fmt: skip
_ARTISTS: Final = (
    "The Velvet Owls", "Nova Reyes", "Kid Atlas", "Luna Park", "The Midnight Choir",
    "Jasper Cole", "Ivy & The Wolves", "DJ Solstice", "Marisol Vega", "The Copper Kings",
    "Echo Harbor", "Sierra Quinn", "Blue Static", "Mateo Cruz", "The Hollow Pines", "Aria Bloom",
    "Neon Tigers", "Otis Gray", "Lila Monroe", "Rust & Rivers",
)  # fmt: skip
_SHOWS: Final = (
    "Crime Junkie", "The Quiet Hour", "Deep Cuts Radio", "Tiny Histories", "The Weekly Mixtape",
    "Science on Tap", "Night Owl Stories", "Founders & Failures", "The Long Run",
    "Kitchen Table Talks",
)  # fmt: skip
_ACTIVITIES: Final = (
    "Focus", "Running", "Road Trips", "Cooking", "Sleep", "Studying", "the Weekend", "Rainy Days",
)  # fmt: skip
_DECADES: Final = ("60", "70", "80", "90", "00", "10")
_TRACK_TITLES: Final = (
    "{adj} {noun}",
    "{adj} {noun}",
    "{noun} of the {noun2}",
    "{adj} {noun} (feat. {artist})",
    "{adj} {noun} [Explicit]",
    "{noun}s",
    "{adj} {noun} (Remastered)",
)
_ALBUM_TITLES: Final = (
    "{adj} {noun}",
    "The {adj} {noun}",
    "{noun}s",
    "{noun} & {noun2}",
    "{adj} {noun} (Deluxe Edition)",
    "Live at the {noun}",
)
_PLAYLIST_TITLES: Final = (
    "{genre} Essentials",
    "Top {genre}",
    "{genre} Hits",
    "Fresh {genre}",
    "{genre} Deep Cuts",
    "'{decade}s {genre}",
    "{genre} for {activity}",
    "{adj} {genre}",
    "50 Great {genre} Songs",
    "Rediscover {genre}",
)
_EPISODE_TITLES: Final = (
    "Episode {n}: The {adj} {noun}",
    "The {adj} {noun}",
    "{adj} {noun}s, Explained",
    "Inside the {noun}",
    "Q&A: {adj} {noun}s",
)
_IMAGE_SIZES: Final = ((2560, 1280), (500, 500), (1800, 1800))


def resolve_sizes(sizes: Mapping[str, int] | None) -> dict[str, int]:
    """Return the collection sizes: the defaults, overridden by ``sizes``.

    Raises:
        ValueError: a key is not a collection name, or a size is outside 0..MAX_SIZE.
        TypeError: a size is not an int.
    """
    resolved = dict(DEFAULT_SIZES)
    for key, size in (sizes or {}).items():
        if key not in DEFAULT_SIZES:
            expected = ", ".join(DEFAULT_SIZES)
            raise ValueError(
                f"catalog_sizes: unknown collection {key!r}; expected one of {expected}"
            )
        if not is_int(size):
            raise TypeError(f"catalog_sizes[{key!r}] must be an int, not {type(size).__name__}")
        if not 0 <= size <= MAX_SIZE:
            raise ValueError(f"catalog_sizes[{key!r}] must be from 0 to {MAX_SIZE}, got {size}")
        resolved[key] = size
    return resolved


class Items:
    """One collection, built in page order and only as far as the pages asked for.

    Each item is drawn from one seeded stream, in order, so an item cannot be made without
    the ones before it; building on demand keeps that content and makes a page cost its
    own length (plus whatever lies before it that no page has asked for yet).

    Args:
        size: How many items the collection holds.
        nodes: The items in page order; at most ``size`` are taken, and only when needed.
    """

    def __init__(self, size: int, nodes: Iterable[Node]) -> None:
        self.size = size
        self._nodes: list[Node] = []
        self._source: Iterator[Node] = itertools.islice(nodes, size)
        self._lock = threading.Lock()

    @property
    def built(self) -> int:
        """How many items have been built so far."""
        with self._lock:
            return len(self._nodes)

    def slice(self, start: int, stop: int) -> list[Node]:
        """Return the items from ``start`` up to (not including) ``stop``, building them."""
        stop = min(stop, self.size)
        with self._lock:
            missing = stop - len(self._nodes)
            if missing > 0:
                self._nodes.extend(itertools.islice(self._source, missing))
            return self._nodes[start:stop]

    def all(self) -> list[Node]:
        """Return every item (building the whole collection)."""
        return self.slice(0, self.size)


class Catalog:
    """The items the sandbox serves; the same seed and sizes give the same catalog.

    Args:
        seed: Drives every generated id, title and number.
        sizes: Item counts overriding `DEFAULT_SIZES` (documented items included); the
            keys ``albums``, ``playlists`` and ``tracks`` apply to every category.
    """

    def __init__(self, seed: int = 0, sizes: Mapping[str, int] | None = None) -> None:
        self.seed = seed
        self.sizes = resolve_sizes(sizes)
        self._id_key = hashlib.sha256(f"{_SALT}/{seed}/ids".encode()).digest()
        # keyed once; each round hashes a copy (the same digest as keying it anew)
        self._round_hash = hashlib.blake2b(key=self._id_key, digest_size=8)
        self._last_album: dict[int, tuple[int, str]] = {}  # namespace -> (position, ASIN)
        self._cache: dict[tuple[str, str], Items] = {}
        self._categories: dict[str, tuple[int, str]] = {}  # id -> (position, name), so far
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()

    def items(self, key: str, category_id: str | None = None) -> Items:
        """Return a collection, built on demand.

        Args:
            key: One of `TOP_COLLECTIONS`, or with ``category_id`` one of
                `CATEGORY_COLLECTIONS`.
            category_id: The category whose collection it is, or None.

        Raises:
            KeyError: no category has this id.
        """
        if category_id is None:
            builders: dict[str, Callable[[], Iterator[Node]]] = {
                "topTracks": self._top_tracks,
                "topPlaylists": self._top_playlists,
                "newPodcastEpisodes": self._episodes,
                "browseCategories": self._category_list,
            }
            return self._cached(key, "", builders[key])
        found = self._find_category(category_id)
        if found is None:
            raise KeyError(category_id)
        position, name = found
        return self._cached(
            key, category_id, lambda: self._category_items(position, category_id, name, key)
        )

    def collection(self, key: str) -> list[Node]:
        """Return every item of a top-level collection (one of `TOP_COLLECTIONS`), in order."""
        return self.items(key).all()

    def category(self, category_id: str) -> Node | None:
        """Return the full Category object for an exact id, or None when there is none."""
        found = self._find_category(category_id)
        if found is None:
            return None
        return {
            "id": category_id,
            "name": found[1],
            "url": f"{_WEB}/genres/{category_id}",
            "categoryType": "GENRE",
        }

    def category_collection(self, category_id: str, key: str) -> list[Node]:
        """Return every item of a category's ``albums``, ``playlists`` or ``tracks``, in order.

        Raises:
            KeyError: no category has this id.
        """
        return self.items(key, category_id).all()

    def image_node(self, node_id: str) -> Node | None:
        """Return the generated node whose cover is ``/images/<node_id>.svg``, or None.

        The id's ASIN is inverted to its collection and position, so any cover of the
        catalog is found whether or not a page has shown it yet.
        """
        located = self._locate(node_id)
        if located is None:
            return None
        key, category_id, position = located
        if category_id is None:
            documented: tuple[Node, ...] = _DOC_TOP_PLAYLISTS
        else:
            documented = _DOC_CATEGORY_ITEMS.get((category_id, key), ())
        index = len(documented) + position
        nodes = self.items(key, category_id).slice(index, index + 1)
        if not nodes or nodes[0]["id"] != node_id:
            return None
        return nodes[0]

    def _locate(self, node_id: str) -> tuple[str, str | None, int] | None:
        """The collection (key, category id) and generated position of a cover's ASIN."""
        suffix = node_id[2:]
        if not (node_id.startswith("B0") and len(suffix) == 8):
            return None
        if not all(char in _BASE36 for char in suffix):
            return None
        value = int(suffix, 36) - _ASIN_OFFSET
        if not 0 <= value < _HIGH * _LOW:
            return None
        namespace, position = divmod(self._unpermute(value), 1 << _INDEX_BITS)
        if namespace == _TOP_PLAYLISTS_NAMESPACE:
            return "topPlaylists", None, position
        if namespace < _FIRST_CATEGORY_NAMESPACE or namespace % 2:
            return None
        category, index = divmod((namespace - _FIRST_CATEGORY_NAMESPACE) // 2, 3)
        key = CATEGORY_COLLECTIONS[index]
        nodes = self.items("browseCategories").slice(category, category + 1)
        if key not in _WITH_COVERS or not nodes:
            return None
        return key, nodes[0]["id"], position

    # --- caching and seeded helpers --------------------------------------------------------

    def _cached(self, key: str, scope: str, build: Callable[[], Iterator[Node]]) -> Items:
        with self._lock:
            items = self._cache.get((key, scope))
            if items is None:
                size = self.sizes[key]
                items = self._cache[(key, scope)] = Items(size, build())
            return items

    def _find_category(self, category_id: str) -> tuple[int, str] | None:
        """The position and name of a category, building the list only as far as it."""
        categories = self.items("browseCategories")
        with self._index_lock:
            index = self._categories
            while category_id not in index and len(index) < categories.size:
                start = len(index)
                for position, node in enumerate(categories.slice(start, start + 100), start):
                    index[node["id"]] = (position, node["name"])
            return index.get(category_id)

    def _rng(self, name: str) -> random.Random:
        return random.Random(f"{_SALT}/{self.seed}/{name}")

    def _asin(self, namespace: int, position: int) -> str:
        """Return the generated ASIN for a position in a namespace (a collection)."""
        value = _ASIN_OFFSET + self._permute(namespace << _INDEX_BITS | position)
        # 8 base-36 digits (value < 36**8), two at a time
        high, low = divmod(value, 36**4)
        pairs = (*divmod(high, 36**2), *divmod(low, 36**2))
        return "B0" + "".join([_BASE36_PAIRS[pair] for pair in pairs])

    def _album_asin(self, namespace: int, position: int) -> str:
        """The ASIN of a track's album, computed once for its tracks (they come in a row)."""
        last = self._last_album.get(namespace)
        if last is not None and last[0] == position:
            return last[1]
        album_id = self._asin(namespace, position)
        self._last_album[namespace] = (position, album_id)
        return album_id

    def _permute(self, value: int) -> int:
        """Map 0..24*36**7-1 onto itself, one to one, scrambled by the seed's key."""
        high, low = divmod(value, _LOW)
        for round_ in range(4):
            if round_ % 2:
                low = (low + self._round(round_, high)) % _LOW
            else:
                high = (high + self._round(round_, low)) % _HIGH
        return high * _LOW + low

    def _unpermute(self, value: int) -> int:
        """The inverse of `_permute`."""
        high, low = divmod(value, _LOW)
        for round_ in reversed(range(4)):
            if round_ % 2:
                low = (low - self._round(round_, high)) % _LOW
            else:
                high = (high - self._round(round_, low)) % _HIGH
        return high * _LOW + low

    def _round(self, round_: int, value: int) -> int:
        digest = self._round_hash.copy()
        digest.update(f"{round_}:{value}".encode())
        return int.from_bytes(digest.digest(), "big")

    # --- builders ---------------------------------------------------------------------------

    def _top_tracks(self) -> Iterator[Node]:
        return self._fill(_DOC_TOP_TRACKS, "topTracks", self._tracks, 0)

    def _top_playlists(self) -> Iterator[Node]:
        return self._fill(
            _DOC_TOP_PLAYLISTS, "topPlaylists", self._playlists, _TOP_PLAYLISTS_NAMESPACE
        )

    def _category_items(
        self, position: int, category_id: str, genre: str, key: str
    ) -> Iterator[Node]:
        documented = _DOC_CATEGORY_ITEMS.get((category_id, key), ())
        index = len(CATEGORY_COLLECTIONS) * position + CATEGORY_COLLECTIONS.index(key)
        namespace = _FIRST_CATEGORY_NAMESPACE + 2 * index
        make = {"albums": self._albums, "playlists": self._playlists, "tracks": self._tracks}[key]
        return self._fill(documented, f"category/{category_id}/{key}", make, namespace, genre)

    def _fill(
        self,
        documented: tuple[Node, ...],
        rng_name: str,
        make: Callable[[random.Random, int, int, str | None], Node],
        namespace: int,
        genre: str | None = None,
    ) -> Iterator[Node]:
        """Yield the documented nodes first, then generated ones, without end."""
        yield from documented
        rng = self._rng(rng_name)
        for i in itertools.count():
            yield make(rng, namespace, i, genre)

    def _tracks(self, rng: random.Random, namespace: int, i: int, genre: str | None) -> Node:
        track_id = self._asin(namespace, i)
        album_id = self._album_asin(namespace + 1, i // _TRACKS_PER_ALBUM)
        return {
            "id": track_id,
            "title": _title(rng, _TRACK_TITLES),
            "url": f"{_WEB}/albums/{album_id}/?trackAsin={track_id}",
        }

    def _albums(self, rng: random.Random, namespace: int, i: int, genre: str | None) -> Node:
        album_id = self._asin(namespace, i)
        return {
            "id": album_id,
            "title": _title(rng, _ALBUM_TITLES),
            "url": f"{_WEB}/albums/{album_id}",
            "images": [_local_image(album_id, *_ALBUM_COVER)],
        }

    def _playlists(self, rng: random.Random, namespace: int, i: int, genre: str | None) -> Node:
        playlist_id = self._asin(namespace, i)
        title = _title(rng, _PLAYLIST_TITLES, genre=genre or rng.choice(_GENRES))
        track_count = rng.randint(10, 150)
        width, height = rng.choice(_IMAGE_SIZES)
        # Drawn and unused since covers are served locally: the draws after it stay as they were.
        rng.choice("56789")
        rng.choices(_IMAGE_CHARS, k=8)
        return {
            "id": playlist_id,
            "title": title,
            "url": f"{_WEB}/playlists/{playlist_id}",
            "duration": track_count * rng.randint(170, 260),
            "images": [_local_image(playlist_id, width, height)],
            "trackCount": track_count,
        }

    def _episodes(self) -> Iterator[Node]:
        yield from _DOC_EPISODES
        rng = self._rng("newPodcastEpisodes")
        shows = [(name, _uuid(rng)) for name in _SHOWS]
        while True:
            show, show_id = rng.choice(shows)
            episode_id = _uuid(rng)
            yield {
                "id": episode_id,
                "title": f"{show}: {_title(rng, _EPISODE_TITLES)}",
                "url": f"{_WEB}/podcasts/{show_id}/episodes/{episode_id}",
            }

    def _category_list(self) -> Iterator[Node]:
        for category_id, name in _DOC_CATEGORIES:
            yield {"id": category_id, "name": name}
        rng = self._rng("browseCategories")
        documented_names = {name for _, name in _DOC_CATEGORIES}
        genres = [genre for genre in _GENRES if genre not in documented_names]
        rng.shuffle(genres)
        blends = [
            f"{prefix} {genre}"
            for prefix in _GENRE_PREFIXES
            for genre in _GENRES
            if prefix.lower() not in genre.lower()
        ]
        rng.shuffle(blends)
        names = genres + blends
        seen = {category_id for category_id, _ in _DOC_CATEGORIES}
        for generated in itertools.count():
            category_id = "".join(rng.choices(_BASE62, k=8))
            while category_id in seen:
                category_id = "".join(rng.choices(_BASE62, k=8))
            seen.add(category_id)
            yield {"id": category_id, "name": names[generated % len(names)]}


def _title(rng: random.Random, templates: tuple[str, ...], **extra: str) -> str:
    """Fill a random template; always draws the same number of values from ``rng``."""
    return rng.choice(templates).format(
        adj=rng.choice(_ADJECTIVES),
        noun=rng.choice(_NOUNS),
        noun2=rng.choice(_NOUNS),
        artist=rng.choice(_ARTISTS),
        activity=rng.choice(_ACTIVITIES),
        decade=rng.choice(_DECADES),
        n=rng.randint(1, 300),
        **extra,
    )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
