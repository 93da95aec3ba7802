"""The route table: the Browse routes come from `ENDPOINTS`; matching rules."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from amazon_music_browse import Endpoint, Track
from amazon_music_browse.endpoints import ENDPOINTS, TOP_TRACKS
from amazon_music_browse.sandbox import _browse
from amazon_music_browse.sandbox._catalog import Catalog
from amazon_music_browse.sandbox._http import ApiError
from amazon_music_browse.sandbox._routes import Handler, Route, RouteTable

from ._support import call, make_app

CATEGORY_ID = "E9UEPoEH"


def path_of(endpoint: Any) -> str:
    params = dict.fromkeys(endpoint.path_params, CATEGORY_ID)
    path: str = endpoint.format_path(**params)
    return path


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
def test_every_browse_endpoint_is_answered_as_its_entry_says(endpoint: Any) -> None:
    app = make_app()
    answer = call(app, path_of(endpoint))
    assert answer.status == 200
    parsed = endpoint.parse(json_bytes(answer.body), 200)  # the client's own parser reads it
    if endpoint.limits is None:
        assert parsed.id == CATEGORY_ID
        return
    low, high = endpoint.limits
    assert len(parsed) == high
    for limit, status in [(low - 1, 400), (low, 200), (high, 200), (high + 1, 400)]:
        assert call(app, path_of(endpoint), {"limit": limit}).status == status


def json_bytes(body: Any) -> bytes:
    return json.dumps(body).encode()


def test_a_browse_path_changed_in_the_table_is_answered_at_its_new_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moved = dataclasses.replace(TOP_TRACKS, path="/v1/browse/top-tracks", limits=(1, 5))
    monkeypatch.setattr(
        _browse, "ENDPOINTS", tuple(moved if e is TOP_TRACKS else e for e in ENDPOINTS)
    )
    app = make_app()
    page = call(app, "/v1/browse/top-tracks").body["data"]["topTracks"]
    assert page["edgeCount"] == 5  # the new maximum
    assert call(app, "/v1/browse/tracks/top").status == 404


def test_every_endpoint_key_is_known_to_the_catalog() -> None:
    catalog = Catalog()
    for endpoint in ENDPOINTS:
        if endpoint.is_collection:
            params = {"category_id": CATEGORY_ID} if endpoint.path_params else {}
            assert catalog.items(endpoint.key_path[-1], params.get("category_id")).size > 0


def respond(name: str) -> Handler:
    return Handler(lambda body: name)


def test_the_most_literal_route_wins_and_parameters_take_one_segment() -> None:
    generic = Route("GET", "/v1/{kind}/{id}", lambda params: respond(f"generic {params}"))
    tracks = Route("GET", "/v1/tracks/{id}", lambda params: respond(f"tracks {params}"))
    table = RouteTable([generic, tracks])
    found = table.find("GET", ["", "v1", "tracks", "a/b"], "p")
    assert found.respond(None) == "tracks {'id': 'a/b'}"  # type: ignore[union-attr]
    found = table.find("GET", ["", "v1", "albums", "a"], "p")
    assert found.respond(None) == "generic {'kind': 'albums', 'id': 'a'}"  # type: ignore[union-attr]
    for segments in (["", "v1", "tracks"], ["", "v1", "tracks", ""], ["", "v1", "x", "y", "z"]):
        with pytest.raises(ApiError) as caught:
            table.find("GET", segments, "p")
        assert caught.value.status == 404


def test_a_served_resource_wins_over_a_resolver_of_a_more_literal_route() -> None:
    def fallback(params: Any) -> Handler:
        raise ApiError(404, "RESOURCE_NOT_FOUND", "not in the catalog")

    table = RouteTable([Route("GET", "/v1/tracks/{id}", fallback)])
    table.add("GET", "/v1/{kind}/{id}", {"kind": "tracks", "id": "t1"}, respond("served"))
    assert table.find("GET", ["", "v1", "tracks", "t1"], "p").respond(None) == "served"  # type: ignore[union-attr]
    with pytest.raises(ApiError, match="not in the catalog"):
        table.find("GET", ["", "v1", "tracks", "t2"], "p")


def test_405_names_every_method_of_the_path() -> None:
    table = RouteTable()
    table.add("POST", "/v1/x", {}, respond("post"), literal=True)
    table.add("PUT", "/v1/x", {}, respond("put"), literal=True)
    with pytest.raises(ApiError) as caught:
        table.find("GET", ["", "v1", "x"], "/v1/x")
    assert (caught.value.status, caught.value.headers) == (405, (("Allow", "POST, PUT"),))


def test_parameters_may_be_part_of_a_segment_and_literal_routes_keep_braces() -> None:
    route = Route("GET", "/v1/tracks/{id}.json")
    assert route.match(["", "v1", "tracks", "t1.json"]) == {"id": "t1"}
    assert route.match(["", "v1", "tracks", ".json"]) is None
    literal = Route("GET", "/v1/{id}", literal=True)
    assert literal.match(["", "v1", "{id}"]) == {}
    assert literal.match(["", "v1", "x"]) is None


def test_a_served_endpoint_of_a_wrapper_is_matched_on_decoded_segments() -> None:
    track = Endpoint("/v1/tracks/{track_id}", ("data", "track"), Track)
    app = make_app()
    app.serve(track, {"id": "a/b"}, path_params={"track_id": "a/b"})
    assert call(app, "/", environ_overrides={"RAW_URI": "/v1/tracks/a%2Fb"}).status == 200
    assert call(app, "/", environ_overrides={"RAW_URI": "/v1/tracks/a/b"}).status == 404
