"""A downstream wrapper: four V1 endpoints beyond Browse, added with public names only.

Run it from the repository root (it starts the embedded sandbox; no credentials needed)::

    python examples/downstream_wrapper.py

``MusicClient`` adds two objects (``GET /v1/tracks/{track_id}``, ``GET /v1/me``), a
collection (``GET /v1/me/playlists``, paged with ``paginate``) and, through ``request``,
the search (``POST /v1/search/tracks``, whose next-page token travels in the body). Each
endpoint is one table line plus one method line; ``serve_example_data`` serves them from
the sandbox, as a wrapper's own tests would.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from amazon_music_browse import (
    BrowseClient,
    Endpoint,
    Paginator,
    Playlist,
    ResponseCollection,
    Track,
    list_endpoint,
)
from amazon_music_browse.sandbox import SandboxServer


class User(BaseModel):
    """The signed-in user (``GET /v1/me``); unknown fields are kept."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None


TRACK = Endpoint("/v1/tracks/{track_id}", ("data", "track"), Track)
ME = Endpoint("/v1/me", ("data", "user"), User)
MY_PLAYLISTS = Endpoint(
    "/v1/me/playlists", ("data", "user", "playlists"), Playlist, limits=(1, 100)
)
SEARCH_LIMITS = (1, 100)


class _SearchData(BaseModel):
    tracks: ResponseCollection[Track] = Field(alias="searchTracks")


class _SearchResponse(BaseModel):
    data: _SearchData


class MusicClient(BrowseClient):
    """`BrowseClient` plus the catalog, library and search endpoints a wrapper needs."""

    def get_track(self, track_id: str) -> Track:
        """One track by id."""
        return self.get_object(TRACK, track_id=track_id)

    def get_me(self) -> User:
        """The signed-in user."""
        return self.get_object(ME)

    @list_endpoint(MY_PLAYLISTS)
    def get_my_playlists(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        """One page of the user's playlists (``limit`` 1..100)."""
        return self.get_page(MY_PLAYLISTS, limit=limit, cursor=cursor)

    def search_tracks(
        self, query: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Track]:
        """One page of tracks whose title matches ``query``; the token goes in the body."""
        body: dict[str, Any] = {"searchFilters": [{"field": "TITLE", "query": query}]}
        if limit is not None:
            body["limit"] = limit
        if cursor is not None:
            body["token"] = cursor
        found = self.request("POST", "/v1/search/tracks", json=body, cast_to=_SearchResponse)
        return found.data.tracks

    def paginate_search(self, query: str, **options: Any) -> Paginator[Track]:
        """Every matching track, page by page, as `paginate` does for marked methods."""

        def fetch_page(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
            return self.search_tracks(query, limit=limit, cursor=cursor)

        return Paginator(
            fetch_page,
            min_page_size=SEARCH_LIMITS[0],
            max_page_size=SEARCH_LIMITS[1],
            **options,
        )


CATALOG = [
    {"id": f"T{n:04}", "title": f"{'Jazz' if n % 3 else 'Rock'} tune {n}"} for n in range(230)
]


def search_answer(body: dict[str, Any]) -> dict[str, Any]:
    """What the sandbox answers a search: a page of matches, its next token in the body."""
    query = body["searchFilters"][0]["query"].casefold()
    matches = [track for track in CATALOG if query in track["title"].casefold()]
    start = int(body.get("token", 0))
    end = min(start + int(body.get("limit", 100)), len(matches))
    token = str(end) if end < len(matches) else None
    page = {
        "pageInfo": {"hasNextPage": token is not None, "token": token},
        "edgeCount": end - start,
        "edges": [{"node": track} for track in matches[start:end]],
    }
    return {"data": {"searchTracks": page}}


def serve_example_data(sandbox: SandboxServer) -> None:
    """Serve the four endpoints from ``sandbox``, as a wrapper's tests would."""
    sandbox.serve(TRACK, {"id": "B0785GTW4T", "title": "Beggin'"}, track_id="B0785GTW4T")
    sandbox.serve(ME, {"id": "amzn1.account.EXAMPLE", "name": "Ada", "country": "US"})
    sandbox.serve(MY_PLAYLISTS, items=[{"id": f"P{n:03}", "title": f"Mix {n}"} for n in range(250)])
    sandbox.serve_json("POST", "/v1/search/tracks", handler=search_answer)


def main() -> None:
    """Use the wrapper against a sandbox serving its endpoints."""
    with SandboxServer() as sandbox:
        serve_example_data(sandbox)
        with MusicClient(
            api_key=sandbox.api_key, access_token=sandbox.access_token, base_url=sandbox.url
        ) as client:
            track = client.get_track("B0785GTW4T")
            print(f"track: {track.id} {track.title}")
            me = client.get_me()
            print(f"me: {me.name} ({me.model_extra})")

            playlists = client.paginate(client.get_my_playlists, max_items=230)
            titles = [playlist.title for playlist in playlists]
            print(f"my playlists: {len(titles)}, the last {titles[-1]}")
            print(f"finished: {playlists.finished}, resume at {playlists.cursor!r}")

            first = client.search_tracks("rock", limit=5)
            print(f"search 'rock': {[t.id for t in first]}, next token {first.next_cursor!r}")
            everything = client.paginate_search("rock", page_size=20).to_list()
            print(f"search 'rock', every page: {len(everything)} tracks")
            copy = client.with_options(timeout=5)
            print(f"with_options() keeps the subclass: {type(copy).__name__}")


if __name__ == "__main__":
    main()
