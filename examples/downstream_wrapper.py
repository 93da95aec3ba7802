"""A downstream wrapper: a ``BrowseClient`` subclass with its own convenience methods.

Run it from the repository root (it starts the embedded sandbox; no credentials needed)::

    python examples/downstream_wrapper.py

``paginate`` accepts the subclass's methods, overridden ones included, and
``with_options`` returns an instance of the subclass.
"""

from __future__ import annotations

from typing import Any

from amazon_music_browse import BrowseClient, Category, ResponseCollection, Track
from amazon_music_browse.sandbox import SandboxServer


class GenreClient(BrowseClient):
    """A client that finds genres by name and counts the track pages it fetches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.track_pages = 0

    def get_category_tracks(
        self, category_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Track]:
        """The parent's method, counting the pages fetched (a stand-in for caching)."""
        self.track_pages += 1
        return super().get_category_tracks(category_id, limit=limit, cursor=cursor)

    def find_category(self, name: str) -> Category:
        """The category called ``name`` (any case), looked up across every page."""
        for category in self.paginate(self.get_categories, page_size=50):
            if (category.name or "").casefold() == name.casefold():
                return category
        raise LookupError(f"no category named {name!r}")

    def genre_top_titles(self, name: str, count: int = 5) -> list[str]:
        """The titles of the first ``count`` tracks of the genre called ``name``."""
        category = self.find_category(name)
        tracks = self.paginate(self.get_category_tracks, category.id, max_items=count)
        return [track.title or track.id for track in tracks]


def main() -> None:
    """Use the wrapper against a sandbox."""
    with SandboxServer() as sandbox:
        client = GenreClient(
            api_key=sandbox.api_key, access_token=sandbox.access_token, base_url=sandbox.url
        )
        with client:
            for genre in ("Sacred Steel", "Jazz"):
                category = client.find_category(genre)
                print(f"{genre} is category {category.id}; first tracks:")
                for title in client.genre_top_titles(genre, count=3):
                    print(f"  - {title}")

            client.track_pages = 0
            tracks = client.paginate(
                client.get_category_tracks, "2iB4IU25", page_size=100, max_items=250
            ).to_list()
            print(
                f"paginate(client.get_category_tracks, ...) used the override: "
                f"{len(tracks)} tracks in {client.track_pages} counted pages"
            )
            patient = client.with_options(max_retries=5)
            print(f"with_options() keeps the subclass: {type(patient).__name__}")
            try:
                client.find_category("No Such Genre")
            except LookupError as exc:
                print(f"LookupError: {exc}")


if __name__ == "__main__":
    main()
