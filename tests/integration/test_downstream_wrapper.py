"""The example wrapper's four endpoints, against the pytest fixture's sandbox serving them."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from amazon_music_browse import BadRequestError, NotFoundError, Playlist, Track
from amazon_music_browse.sandbox import SandboxServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "downstream_wrapper.py"


@pytest.fixture(scope="module")
def wrapper() -> ModuleType:
    """The example module, imported from its file (examples are not a package)."""
    spec = importlib.util.spec_from_file_location("downstream_wrapper", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(amazon_music_sandbox: SandboxServer, wrapper: ModuleType) -> Iterator[Any]:
    wrapper.serve_example_data(amazon_music_sandbox)
    with wrapper.MusicClient(
        api_key=amazon_music_sandbox.api_key,
        access_token=amazon_music_sandbox.access_token,
        base_url=amazon_music_sandbox.url,
    ) as music:
        yield music


def test_an_object_endpoint(client: Any) -> None:
    track = client.get_track("B0785GTW4T")
    assert isinstance(track, Track)
    assert (track.id, track.title) == ("B0785GTW4T", "Beggin'")
    with pytest.raises(NotFoundError):
        client.get_track("B000000000")


def test_an_object_endpoint_without_path_parameters(client: Any, wrapper: ModuleType) -> None:
    me = client.get_me()
    assert isinstance(me, wrapper.User)
    assert (me.id, me.name, me.model_extra) == ("amzn1.account.EXAMPLE", "Ada", {"country": "US"})


def test_a_collection_pages_with_paginate(client: Any, amazon_music_sandbox: SandboxServer) -> None:
    before = amazon_music_sandbox.request_count
    playlists = client.paginate(client.get_my_playlists).to_list()
    assert [p.id for p in playlists] == [f"P{n:03}" for n in range(250)]
    assert all(isinstance(p, Playlist) for p in playlists)
    assert amazon_music_sandbox.request_count - before == 3  # 100 + 100 + 50
    with pytest.raises(ValueError, match="from 1 to 100"):
        client.get_my_playlists(limit=101)


def test_the_sandbox_refuses_a_limit_out_of_the_endpoints_bounds(
    client: Any, wrapper: ModuleType
) -> None:
    with pytest.raises(BadRequestError):
        client.request("GET", "/v1/me/playlists", params={"limit": 101})


def test_a_search_through_request_with_its_token_in_the_body(client: Any) -> None:
    first = client.search_tracks("jazz", limit=50)
    assert len(first) == 50
    assert first.next_cursor == "50"
    everything = client.paginate_search("jazz", page_size=40).to_list()
    assert len(everything) == 153
    assert len({track.id for track in everything}) == 153
    assert all("Jazz" in (track.title or "") for track in everything)


def test_a_search_paginator_keeps_the_bounds(client: Any) -> None:
    with pytest.raises(ValueError, match="page_size must be from 1 to 100"):
        client.paginate_search("jazz", page_size=101)
