"""A notebook-style walkthrough of the SDK: models, pages, pagination, resuming.

Each ``# %%`` marks a cell (VS Code, PyCharm and Jupytext open it as a notebook), or run
it whole from the repository root (it starts the embedded sandbox; no credentials)::

    python examples/walkthrough.py
"""

# %% Start a local sandbox and a client pointed at it.
# For the real service: client = BrowseClient()  # AMAZON_MUSIC_API_KEY/ACCESS_TOKEN set
from __future__ import annotations

import json

from amazon_music_browse import Playlist
from amazon_music_browse.sandbox import SandboxServer

sandbox = SandboxServer()
sandbox.start()
client = sandbox.client()
print(repr(client))  # the base URL, never a credential

# %% A page is a pydantic model, and also a small sequence of its items.
page = client.get_top_playlists(limit=3)
print(f"len(page) = {len(page)}; page.page_info.has_next_page = {page.page_info.has_next_page}")
print(f"page.next_cursor = {page.next_cursor!r}")
first: Playlist = page[0]
print(f"page[0].title = {first.title!r}")
print(f"page[0].duration = {first.duration} s, page[0].track_count = {first.track_count}")
print(f"ids: {[playlist.id for playlist in page]}")

# %% Attributes are snake_case; model_dump(by_alias=True) gives the API's camelCase JSON.
print(json.dumps(first.model_dump(by_alias=True, exclude_unset=True), indent=2))

# %% The next page: pass the cursor back.
second = client.get_top_playlists(limit=3, cursor=page.next_cursor)
print(f"second page: {[playlist.id for playlist in second]}")

# %% A category collection also says which category wraps it.
tracks = client.get_category_tracks("2iB4IU25", limit=2)
print(f"page.category = {tracks.category!r}")
print(f"tracks: {[track.title for track in tracks]}")

# %% paginate() follows the cursors for you, lazily, one page in memory at a time.
paginator = client.paginate(client.get_top_playlists, max_items=150)
titles = [playlist.title for playlist in paginator]
print(f"{len(titles)} playlists; the last is {titles[-1]!r}")

# %% Stop after some pages, keep paginator.cursor, and resume later from it.
export = client.paginate(client.get_new_podcast_episodes, page_size=50, max_pages=2)
episodes = export.to_list()
print(f"{len(episodes)} episodes, stopped at cursor {export.cursor!r}")
rest = client.paginate(client.get_new_podcast_episodes, cursor=export.cursor).to_list()
print(f"resumed: {len(rest)} more episodes, {len(episodes) + len(rest)} in all")

# %% Clean up.
client.close()
sandbox.stop()
print("done")
