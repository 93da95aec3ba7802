"""`sandbox.serve` and ``serve_json``: a downstream wrapper's endpoints, tested on the fixture."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from amazon_music_browse import (
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    Category,
    Endpoint,
    NotFoundError,
    Playlist,
    RateLimitError,
    ResponseCollection,
    Track,
    list_endpoint,
)
from amazon_music_browse.endpoints import CATEGORY, TOP_TRACKS
from amazon_music_browse.sandbox import SandboxServer

from ._support import AUTH

TRACK = Endpoint("/v1/tracks/{track_id}", ("data", "track"), Track)
ME = Endpoint("/v1/me", ("data", "user"), Category)
MY_PLAYLISTS = Endpoint(
    "/v1/me/playlists", ("data", "user", "playlists"), Playlist, limits=(1, 100)
)
SHOW_EPISODES = Endpoint(
    "/v1/podcasts/shows/{show_id}",
    ("data", "podcastShow", "episodes"),
    Track,
    limits=(5, 50),
    owner_key="podcastShow",
    owner_model=Category,
)
PLAYLISTS = [{"id": f"p{i:03}", "title": f"Playlist {i}", "trackCount": i} for i in range(250)]


class WrapperClient(BrowseClient):
    """A downstream wrapper, as the docs describe one."""

    def get_track(self, track_id: str) -> Track:
        return self.get_object(TRACK, track_id=track_id)

    @list_endpoint(MY_PLAYLISTS)
    def get_my_playlists(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        return self.get_page(MY_PLAYLISTS, limit=limit, cursor=cursor)


def wrapper(sandbox: SandboxServer, **options: Any) -> WrapperClient:
    settings = {"api_key": sandbox.api_key, "access_token": sandbox.access_token}
    return WrapperClient(**{**settings, "base_url": sandbox.url, **options})


def get(sandbox: SandboxServer, path: str, **params: Any) -> requests.Response:
    return requests.get(sandbox.url + path, params=params, headers=AUTH, timeout=10)


# --- collections ---------------------------------------------------------------------------


def test_a_served_collection_of_250_pages_through_paginate(
    amazon_music_sandbox: SandboxServer,
) -> None:
    amazon_music_sandbox.serve(MY_PLAYLISTS, items=PLAYLISTS)
    with wrapper(amazon_music_sandbox) as client:
        marked = client.paginate(client.get_my_playlists)
        titles = [playlist.title for playlist in marked]
        assert marked.finished
        by_endpoint = client.paginate(MY_PLAYLISTS, page_size=40).pages()
        sizes = [len(page) for page in by_endpoint]
    assert titles == [item["title"] for item in PLAYLISTS]
    assert sizes == [40] * 6 + [10]
    assert amazon_music_sandbox.request_count == 3 + 7  # 100 + 100 + 50, then 7 pages of 40


def test_a_served_page_is_the_documented_response_collection(
    amazon_music_sandbox: SandboxServer,
) -> None:
    amazon_music_sandbox.serve(MY_PLAYLISTS, items=PLAYLISTS[:3])
    first = get(amazon_music_sandbox, "/v1/me/playlists", limit=2)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    page = first.json()["data"]["user"]["playlists"]
    assert list(first.json()["data"]["user"]) == ["playlists"]
    assert page["edgeCount"] == 2
    assert page["edges"] == [{"node": PLAYLISTS[0]}, {"node": PLAYLISTS[1]}]
    assert page["pageInfo"]["hasNextPage"] is True
    last = get(amazon_music_sandbox, "/v1/me/playlists", cursor=page["pageInfo"]["token"])
    assert last.json()["data"]["user"]["playlists"] == {
        "pageInfo": {"hasNextPage": False},
        "edgeCount": 1,
        "edges": [{"node": PLAYLISTS[2]}],
    }


@pytest.mark.parametrize(("limit", "status"), [(4, 400), (5, 200), (50, 200), (51, 400)])
def test_limit_bounds_come_from_the_endpoint(
    amazon_music_sandbox: SandboxServer, limit: int, status: int
) -> None:
    amazon_music_sandbox.serve(SHOW_EPISODES, items=[{"id": "e1"}], show_id="s1")
    response = get(amazon_music_sandbox, "/v1/podcasts/shows/s1", limit=limit)
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == "BAD_REQUEST"
        assert "from 5 to 50" in response.json()["error"]["message"]


def test_omitted_limit_is_the_endpoints_maximum(amazon_music_sandbox: SandboxServer) -> None:
    amazon_music_sandbox.serve(
        SHOW_EPISODES, items=[{"id": f"e{i}"} for i in range(60)], show_id="s"
    )
    page = get(amazon_music_sandbox, "/v1/podcasts/shows/s").json()["data"]["podcastShow"]
    assert page["episodes"]["edgeCount"] == 50


def test_a_bounds_error_is_raised_by_the_wrapper_too(amazon_music_sandbox: SandboxServer) -> None:
    amazon_music_sandbox.serve(MY_PLAYLISTS, items=PLAYLISTS)
    with wrapper(amazon_music_sandbox) as client, pytest.raises(BadRequestError, match="cursor"):
        client.get_my_playlists(cursor="made-up")
    assert amazon_music_sandbox.request_count == 1


def test_cursors_are_signed_per_served_collection(amazon_music_sandbox: SandboxServer) -> None:
    sandbox = amazon_music_sandbox
    sandbox.serve(SHOW_EPISODES, items=[{"id": f"a{i}"} for i in range(9)], show_id="a")
    sandbox.serve(SHOW_EPISODES, items=[{"id": f"b{i}"} for i in range(9)], show_id="b")
    sandbox.serve(MY_PLAYLISTS, items=PLAYLISTS)
    first = get(sandbox, "/v1/podcasts/shows/a", limit=5).json()["data"]["podcastShow"]
    token = first["episodes"]["pageInfo"]["token"]
    assert get(sandbox, "/v1/podcasts/shows/a", cursor=token).status_code == 200
    assert get(sandbox, "/v1/podcasts/shows/b", cursor=token).status_code == 400
    assert get(sandbox, "/v1/me/playlists", cursor=token).status_code == 400
    top = get(sandbox, "/v1/browse/tracks/top", limit=1).json()["data"]["topTracks"]
    assert get(sandbox, "/v1/me/playlists", cursor=top["pageInfo"]["token"]).status_code == 400


def test_owner_fields_are_sent_around_the_collection(amazon_music_sandbox: SandboxServer) -> None:
    amazon_music_sandbox.serve(
        SHOW_EPISODES,
        items=[Track(id="e1", title="Pilot")],
        owner=Category(id="s1", name="The Show"),
        show_id="s1",
    )
    body = get(amazon_music_sandbox, "/v1/podcasts/shows/s1").json()
    assert list(body["data"]["podcastShow"]) == ["id", "name", "episodes"]
    with wrapper(amazon_music_sandbox) as client:
        page = client.get_page(SHOW_EPISODES, show_id="s1")
    assert page.owner == Category(id="s1", name="The Show")
    assert [episode.title for episode in page] == ["Pilot"]


def test_models_are_sent_as_the_api_would_send_them(amazon_music_sandbox: SandboxServer) -> None:
    playlist = Playlist.model_validate(
        {"id": "p1", "trackCount": 7, "images": [{"url": "u"}], "_type": "Playlist"}
    )
    amazon_music_sandbox.serve(MY_PLAYLISTS, items=[playlist, Playlist(id="p2", title="Two")])
    edges = get(amazon_music_sandbox, "/v1/me/playlists").json()["data"]["user"]["playlists"]
    assert [edge["node"] for edge in edges["edges"]] == [
        {"id": "p1", "trackCount": 7, "images": [{"url": "u"}], "_type": "Playlist"},
        {"id": "p2", "title": "Two"},
    ]


def test_an_empty_collection_is_one_empty_page(amazon_music_sandbox: SandboxServer) -> None:
    amazon_music_sandbox.serve(MY_PLAYLISTS, items=[])
    with wrapper(amazon_music_sandbox) as client:
        paginator = client.paginate(client.get_my_playlists)
        assert paginator.to_list() == []
        assert paginator.finished


# --- objects and path parameters -------------------------------------------------------------


def test_objects_are_served_per_path_parameter(amazon_music_sandbox: SandboxServer) -> None:
    sandbox = amazon_music_sandbox
    sandbox.serve(TRACK, {"id": "t1", "title": "One"}, track_id="t1")
    sandbox.serve(TRACK, Track(id="a/b c", title="Slash"), track_id="a/b c")
    sandbox.serve(ME, {"id": "me", "name": "Me"})
    with wrapper(sandbox) as client:
        assert client.get_track("t1") == Track(id="t1", title="One")
        assert client.get_track("a/b c").title == "Slash"  # one encoded segment
        assert client.get_object(ME).name == "Me"
        with pytest.raises(NotFoundError) as caught:
            client.get_track("t2")
    assert caught.value.code == "RESOURCE_NOT_FOUND"
    assert caught.value.reference
    assert "/v1/tracks/t2" in caught.value.message
    assert get(sandbox, "/v1/tracks/t1").json() == {"data": {"track": {"id": "t1", "title": "One"}}}
    assert get(sandbox, "/v1/tracks/a%2Fb%20c").status_code == 200
    assert get(sandbox, "/v1/tracks/a/b%20c").status_code == 404  # two segments


def test_serving_again_replaces_and_a_copy_is_served(amazon_music_sandbox: SandboxServer) -> None:
    track = {"id": "t1", "title": "Before"}
    amazon_music_sandbox.serve(TRACK, track, track_id="t1")
    track["title"] = "Changed after serving"
    assert get(amazon_music_sandbox, "/v1/tracks/t1").json()["data"]["track"]["title"] == "Before"
    amazon_music_sandbox.serve(TRACK, {"id": "t1", "title": "After"}, track_id="t1")
    assert get(amazon_music_sandbox, "/v1/tracks/t1").json()["data"]["track"]["title"] == "After"


def test_a_served_path_wins_over_the_catalog(amazon_music_sandbox: SandboxServer) -> None:
    sandbox = amazon_music_sandbox
    sandbox.serve(CATEGORY, {"id": "new", "name": "New Genre"}, category_id="new")
    sandbox.serve(TOP_TRACKS, items=[{"id": "only"}])
    with sandbox.client() as client:
        assert client.get_category("new").name == "New Genre"
        assert client.get_category("E9UEPoEH").name == "Sacred Steel"  # the catalog's
        assert [track.id for track in client.get_top_tracks()] == ["only"]


def test_serve_before_start_and_after_a_restart() -> None:
    sandbox = SandboxServer()
    sandbox.serve(TRACK, {"id": "t1"}, track_id="t1")
    with sandbox:
        assert get(sandbox, "/v1/tracks/t1").status_code == 200
    with sandbox:
        assert get(sandbox, "/v1/tracks/t1").status_code == 200


def test_unknown_paths_are_still_the_documented_404(amazon_music_sandbox: SandboxServer) -> None:
    amazon_music_sandbox.serve(TRACK, {"id": "t1"}, track_id="t1")
    response = get(amazon_music_sandbox, "/v1/tracks/t1/extra")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "status": "404",
            "code": "RESOURCE_NOT_FOUND",
            "message": "No resource at /v1/tracks/t1/extra.",
            "reference": response.headers["x-amzn-RequestId"],
        }
    }
    post = requests.post(amazon_music_sandbox.url + "/v1/tracks/t1", headers=AUTH, timeout=10)
    assert (post.status_code, post.headers["Allow"]) == (405, "GET")


# --- credentials and faults apply ----------------------------------------------------------


def test_credentials_are_checked_on_served_routes(amazon_music_sandbox: SandboxServer) -> None:
    amazon_music_sandbox.serve(TRACK, {"id": "t1"}, track_id="t1")
    amazon_music_sandbox.serve_json("POST", "/v1/search/tracks", {"data": {}})
    with wrapper(amazon_music_sandbox, api_key="wrong-key") as client:
        with pytest.raises(AuthenticationError) as caught:
            client.get_track("t1")
        assert caught.value.code == "INVALID_CLIENT_ID"
        with pytest.raises(AuthenticationError):
            client.request("POST", "/v1/search/tracks", json={})
    assert requests.get(amazon_music_sandbox.url + "/v1/tracks/t1", timeout=10).status_code == 401


@pytest.mark.amazon_music_sandbox(rate_limit_rate=1.0, retry_after=0)
def test_faults_apply_to_served_routes(amazon_music_sandbox: SandboxServer) -> None:
    amazon_music_sandbox.serve(MY_PLAYLISTS, items=PLAYLISTS)
    amazon_music_sandbox.serve_json("POST", "/v1/search/tracks", {"data": {}})
    with wrapper(amazon_music_sandbox, max_retries=2) as client:
        with pytest.raises(RateLimitError):
            client.get_my_playlists()
        with pytest.raises(RateLimitError):
            client.request("POST", "/v1/search/tracks", json={})
    assert amazon_music_sandbox.faults["429"] == amazon_music_sandbox.request_count == 3 + 3


@pytest.mark.amazon_music_sandbox(server_error_rate=0.3, seed=4, retry_after=0)
def test_a_served_collection_survives_faults_with_retries(
    amazon_music_sandbox: SandboxServer,
) -> None:
    amazon_music_sandbox.serve(MY_PLAYLISTS, items=PLAYLISTS)
    with wrapper(amazon_music_sandbox, max_retries=10) as client:
        ids = [playlist.id for playlist in client.paginate(MY_PLAYLISTS, page_size=10)]
    faults = amazon_music_sandbox.faults["500"] + amazon_music_sandbox.faults["503"]
    assert ids == [item["id"] for item in PLAYLISTS]
    assert faults > 0
    assert amazon_music_sandbox.request_count == 25 + faults


# --- serve_json: what request() calls --------------------------------------------------------

SEARCH = "/v1/search/tracks"


def search_handler(tracks: list[dict[str, Any]], seen: list[Any]) -> Any:
    """A search whose next-page token travels in the body, as ``{"token": ...}``."""

    def respond(body: Any) -> Any:
        seen.append(body)
        start = int(body.get("token") or 0)
        end = start + body.get("limit", 20)
        page_info: dict[str, Any] = {"hasNextPage": end < len(tracks)}
        if end < len(tracks):
            page_info["token"] = str(end)
        edges = [{"node": track} for track in tracks[start:end]]
        collection = {"pageInfo": page_info, "edgeCount": len(edges), "edges": edges}
        return {"data": {"searchTracks": collection}}

    return respond


def test_a_search_paged_by_a_token_in_the_body(amazon_music_sandbox: SandboxServer) -> None:
    tracks = [{"id": f"t{i}", "title": f"Jazz {i}"} for i in range(45)]
    seen: list[Any] = []
    amazon_music_sandbox.serve_json("POST", SEARCH, handler=search_handler(tracks, seen))
    found: list[str] = []
    token = None
    with wrapper(amazon_music_sandbox) as client:
        while True:
            body = {"searchFilters": [{"field": "TITLE", "query": "jazz"}], "limit": 20}
            if token is not None:
                body["token"] = token
            page = client.request("POST", SEARCH, json=body, cast_to=dict[str, Any])["data"][
                "searchTracks"
            ]
            found.extend(edge["node"]["id"] for edge in page["edges"])
            token = page["pageInfo"].get("token")
            if token is None:
                break
    assert found == [track["id"] for track in tracks]
    assert [body.get("token") for body in seen] == [None, "20", "40"]
    assert seen[0]["searchFilters"] == [{"field": "TITLE", "query": "jazz"}]


def test_serve_json_answers_a_fixed_body_and_refuses_what_is_not_json(
    amazon_music_sandbox: SandboxServer,
) -> None:
    answer = {"data": {"ok": True}}
    amazon_music_sandbox.serve_json("put", "/v1/me/settings", answer)
    answer["data"]["ok"] = False  # a copy was served
    url = amazon_music_sandbox.url + "/v1/me/settings"
    assert requests.put(url, json={}, headers=AUTH, timeout=10).json() == {"data": {"ok": True}}
    bad = requests.put(url, data=b"{oops", headers=AUTH, timeout=10)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "BAD_REQUEST")
    wrong_method = get(amazon_music_sandbox, "/v1/me/settings")
    assert (wrong_method.status_code, wrong_method.headers["Allow"]) == (405, "PUT")


def test_a_handler_receives_none_without_a_body(amazon_music_sandbox: SandboxServer) -> None:
    seen: list[Any] = []
    amazon_music_sandbox.serve_json("DELETE", "/v1/me/x", handler=lambda body: seen.append(body))
    response = requests.delete(amazon_music_sandbox.url + "/v1/me/x", headers=AUTH, timeout=10)
    assert (response.status_code, response.json(), seen) == (200, None, [None])


# --- refused arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.serve(MY_PLAYLISTS, {"id": "x"}), TypeError, "is a collection"),
        (lambda s: s.serve(MY_PLAYLISTS), TypeError, "is a collection"),
        (lambda s: s.serve(TRACK, items=[], track_id="t"), TypeError, "one object"),
        (lambda s: s.serve(TRACK, track_id="t"), TypeError, "one object"),
        (lambda s: s.serve(TRACK, {"id": "t"}), TypeError, "missing track_id"),
        (lambda s: s.serve(TRACK, {"id": "t"}, track_id="t", x="y"), TypeError, "unknown x"),
        (lambda s: s.serve(TRACK, {"id": "t"}, track_id=".."), ValueError, "track_id"),
        (lambda s: s.serve(TRACK, ["t"], track_id="t"), TypeError, "dict or a pydantic"),
        (lambda s: s.serve(TRACK, {"id": object()}, track_id="t"), TypeError, "JSON-shaped"),
        (lambda s: s.serve(TRACK, {"n": float("nan")}, track_id="t"), TypeError, "JSON-shaped"),
        (lambda s: s.serve(MY_PLAYLISTS, items="abc"), TypeError, "iterable of dicts"),
        (lambda s: s.serve(MY_PLAYLISTS, items=[1]), TypeError, r"items\[0\]"),
        (lambda s: s.serve(MY_PLAYLISTS, items=[], owner={}), TypeError, "owner_key"),
        (lambda s: s.serve("/v1/x", {"id": "t"}), TypeError, "takes an Endpoint"),
        (lambda s: s.serve_json("POST", SEARCH), TypeError, "answer or a handler"),
        (lambda s: s.serve_json("POST", SEARCH, {}, handler=dict), TypeError, "not both"),
        (lambda s: s.serve_json("POST", SEARCH, handler=5), TypeError, "callable"),
        (lambda s: s.serve_json("PO ST", SEARCH, {}), ValueError, "HTTP method"),
        (lambda s: s.serve_json("POST", "v1/x", {}), ValueError, "start with '/'"),
        (lambda s: s.serve_json("POST", "/v1/x?a=1", {}), ValueError, "no query"),
        (lambda s: s.serve_json("POST", SEARCH, {1, 2}), TypeError, "not JSON-shaped"),
    ],
)
def test_serve_refuses_what_it_cannot_serve(
    call: Any, error: type[Exception], message: str
) -> None:
    sandbox = SandboxServer()
    with pytest.raises(error, match=message):
        call(sandbox)
