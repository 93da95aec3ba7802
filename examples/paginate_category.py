"""Paginate a category's tracks: pages, max_items, an interrupted export resumed, prefetch.

Run it from the repository root (it starts the embedded sandbox; no credentials needed)::

    python examples/paginate_category.py
"""

from __future__ import annotations

import time

from amazon_music_browse import BrowseClient, Track
from amazon_music_browse.sandbox import SandboxServer

CATEGORY_ID = "2iB4IU25"  # Heavy Metal


def walk_pages(client: BrowseClient) -> list[Track]:
    """Every track of the category, page by page (100 per request, the maximum)."""
    print(f"client.paginate(client.get_category_tracks, {CATEGORY_ID!r}).pages():")
    tracks: list[Track] = []
    for number, page in enumerate(client.paginate(client.get_category_tracks, CATEGORY_ID).pages()):
        tracks.extend(page)
        print(f"  page {number + 1}: {len(page)} tracks, next cursor {page.next_cursor!r}")
    distinct = len({track.id for track in tracks})
    print(f"  {len(tracks)} tracks in all, {distinct} distinct ids")
    return tracks


def first_items(client: BrowseClient) -> None:
    """``max_items`` stops early and never asks for more than it still needs."""
    paginator = client.paginate(client.get_category_tracks, CATEGORY_ID, max_items=130)
    tracks = paginator.to_list()
    print(f"\nmax_items=130: {len(tracks)} tracks (requests asked for limit=100, then 30)")
    print(f"  paginator.cursor = {paginator.cursor!r}  (where a next run would carry on)")


def interrupted_export(client: BrowseClient, everything: list[Track]) -> None:
    """Export two pages, stop, then resume from ``paginator.cursor`` in a later run."""
    first_run = client.paginate(client.get_category_tracks, CATEGORY_ID, max_pages=2)
    exported = first_run.to_list()
    saved = first_run.cursor
    print(f"\nInterrupted export: {len(exported)} tracks, then stopped; saved cursor {saved!r}")
    second_run = client.paginate(client.get_category_tracks, CATEGORY_ID, cursor=saved)
    exported += second_run.to_list()
    same = [track.id for track in exported] == [track.id for track in everything]
    print(f"Resumed with cursor=saved: {len(exported)} tracks in all; same as one run: {same}")


def prefetching() -> None:
    """With 50 ms per request and 50 ms of work per page, prefetch overlaps the two."""
    print("\nPrefetch (sandbox latency 50 ms, 50 ms of work per page):")
    with SandboxServer(latency=0.05) as slow, slow.client() as client:
        for prefetch in (False, True):
            started = time.perf_counter()
            paginator = client.paginate(
                client.get_category_tracks, CATEGORY_ID, page_size=50, prefetch=prefetch
            )
            for _page in paginator.pages():
                time.sleep(0.05)  # the caller's own work on a page
            print(f"  prefetch={prefetch}: {time.perf_counter() - started:.2f} s")


def main() -> None:
    """Run every part against a fresh sandbox."""
    with SandboxServer() as sandbox, sandbox.client() as client:
        print(f"Using the local sandbox at {sandbox.url}\n")
        everything = walk_pages(client)
        first_items(client)
        interrupted_export(client, everything)
    prefetching()


if __name__ == "__main__":
    main()
