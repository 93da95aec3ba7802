"""Quickstart: one call per kind of endpoint, against the embedded sandbox.

Run it from the repository root::

    python examples/quickstart.py          # the local sandbox, no credentials needed
    python examples/quickstart.py --real   # the real service: set AMAZON_MUSIC_API_KEY
                                           # and AMAZON_MUSIC_ACCESS_TOKEN first
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from amazon_music_browse import BrowseClient
from amazon_music_browse.sandbox import SandboxServer


@contextmanager
def open_client(real: bool) -> Iterator[BrowseClient]:
    """A client of the real service (credentials from the environment) or of a sandbox."""
    if real:
        with BrowseClient() as client:
            yield client
        return
    with SandboxServer() as sandbox, sandbox.client() as client:
        print(f"Using the local sandbox at {sandbox.url}")
        yield client


def quickstart(client: BrowseClient) -> None:
    """Call a few endpoints and print what comes back."""
    page = client.get_top_tracks(limit=5)
    print(f"\nTop tracks (client.get_top_tracks(limit=5)): {len(page)} on this page")
    for track in page:
        print(f"  {track.id}  {track.title}")
    print(f"  next page: client.get_top_tracks(cursor={page.next_cursor!r})")

    category = client.get_category("2iB4IU25")
    print(f"\nCategory {category.id}: {category.name} ({category.url})")

    albums = client.get_category_albums(category.id, limit=3)
    print(f"\nAlbums tagged {category.name}:")
    for album in albums:
        print(f"  {album.id}  {album.title}")

    print("\nFirst 5 categories:")
    for item in client.get_categories(limit=5):
        print(f"  {item.id}  {item.name}")

    print("\nThe first 250 tracks of Sacred Steel, 100 per request:")
    tracks = client.paginate(client.get_category_tracks, "E9UEPoEH", max_items=250).to_list()
    print(f"  {len(tracks)} tracks, from {tracks[0].title!r} to {tracks[-1].title!r}")


if __name__ == "__main__":
    with open_client(real="--real" in sys.argv[1:]) as browse_client:
        quickstart(browse_client)
