"""Extending the client: Endpoint, get_page/get_object, @list_endpoint, paginate, request."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from pydantic import BaseModel

from amazon_music_browse import (
    APIConnectionError,
    BrowseClient,
    Category,
    Endpoint,
    InternalServerError,
    Playlist,
    RateLimitError,
    ResponseCollection,
    ResponseValidationError,
    Track,
    _retry,
    list_endpoint,
)
from amazon_music_browse.endpoints import CATEGORY, CATEGORY_TRACKS, TOP_TRACKS
from tests._support import BASE_URL, make_client, tracks_page
from tests._typing import mypy_errors, register, revealed_types

TRACK = Endpoint("/v1/tracks/{track_id}", ("data", "track"), Track)
MY_PLAYLISTS = Endpoint(
    "/v1/me/playlists", ("data", "user", "playlists"), Playlist, limits=(1, 100)
)
SHOW_EPISODES = Endpoint(
    "/v1/podcasts/shows/{show_id}",
    ("data", "podcastShow", "episodes"),
    Track,
    limits=(1, 100),
    owner_key="podcastShow",
    owner_model=Category,
)


def collection(*ids: str, token: str | None = None) -> dict[str, Any]:
    return tracks_page(*ids, token=token)["data"]["topTracks"]


# -- Endpoint ----------------------------------------------------------------------------------


def test_path_parameters_are_read_from_the_template() -> None:
    assert TRACK.path_params == ("track_id",)
    assert Endpoint("/v1/a/{x}/b/{y}", ("data", "a"), Track).path_params == ("x", "y")
    assert TOP_TRACKS.path_params == ()
    assert CATEGORY_TRACKS.path_params == ("category_id",)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("v1/tracks", ("data", "track"), Track), "starts with '/'"),
        (("/v1/tracks", ("track",), Track), "starts with 'data'"),
        (("/v1/tracks", ("data",), Track), "starts with 'data'"),
        (("/v1/tracks", "data.track", Track), "tuple of keys"),
        (("/v1/{a}/{a}", ("data", "x"), Track), "reserved or repeated"),
        (("/v1/{limit}", ("data", "x"), Track), "reserved or repeated"),
        (("/v1/{a!r}", ("data", "x"), Track), "plain name"),
        (("/v1/{0}", ("data", "x"), Track), "plain name"),
        (("/v1/{", ("data", "x"), Track), "not a valid template"),
    ],
)
def test_a_malformed_endpoint_is_refused(arguments: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Endpoint(*arguments)


def test_a_model_that_is_not_pydantic_is_refused() -> None:
    with pytest.raises(TypeError, match="pydantic model class"):
        Endpoint("/v1/x", ("data", "x"), dict)  # type: ignore[type-var]


@pytest.mark.parametrize("limits", [(0, 10), (5, 1), (1,), (1, 2.5), (True, 2), "1..100"])
def test_bad_limits_are_refused(limits: Any) -> None:
    with pytest.raises(ValueError, match="limits must be"):
        Endpoint("/v1/x", ("data", "x"), Track, limits=limits)


def test_owner_key_needs_a_collection_a_key_of_the_path_and_a_model() -> None:
    with pytest.raises(ValueError, match="for a collection"):
        Endpoint("/v1/x", ("data", "x", "y"), Track, owner_key="x", owner_model=Category)
    with pytest.raises(ValueError, match="must be a key of key_path"):
        Endpoint("/v1/x", ("data", "x", "y"), Track, limits=(1, 5), owner_key="y")
    with pytest.raises(ValueError, match="needs owner_model"):
        Endpoint("/v1/x", ("data", "x", "y"), Track, limits=(1, 5), owner_key="x")
    with pytest.raises(ValueError, match="needs owner_key"):
        Endpoint("/v1/x", ("data", "x"), Track, owner_model=Category)


def test_a_key_path_given_as_a_list_becomes_a_tuple() -> None:
    endpoint = Endpoint("/v1/x", ["data", "x"], Track)  # type: ignore[arg-type]
    assert endpoint.key_path == ("data", "x")


def test_format_path_encodes_every_parameter_as_one_segment() -> None:
    assert TRACK.format_path(track_id="a/b?c#d") == "/v1/tracks/a%2Fb%3Fc%23d"


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({}, TypeError, "missing track_id"),
        ({"track_id": "a", "other": "b"}, TypeError, "unknown other"),
        ({"track_id": 5}, TypeError, "track_id must be a str"),
        ({"track_id": ""}, ValueError, "non-empty"),
        ({"track_id": " a"}, ValueError, "whitespace"),
        ({"track_id": ".."}, ValueError, "path step"),
        ({"track_id": "\udc80"}, ValueError, "lone surrogate"),
    ],
)
def test_format_path_refuses_what_cannot_be_sent(
    params: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        TRACK.format_path(**params)


def test_the_repr_names_the_path_payload_and_kind() -> None:
    assert repr(TRACK) == "Endpoint('/v1/tracks/{track_id}', 'data.track', Track, one object)"
    assert "limits=(1, 100)" in repr(MY_PLAYLISTS)


# -- get_page and get_object -----------------------------------------------------------------


def test_get_object_fills_the_path_and_parses_the_model(mock: responses.RequestsMock) -> None:
    mock.add(
        responses.GET,
        f"{BASE_URL}/v1/tracks/B0785GTW4T",
        json={"data": {"track": {"id": "B0785GTW4T", "title": "Beggin'", "duration": 211}}},
    )
    track = make_client().get_object(TRACK, track_id="B0785GTW4T")
    assert isinstance(track, Track)
    assert (track.id, track.title, track.model_extra) == (
        "B0785GTW4T",
        "Beggin'",
        {"duration": 211},
    )


def test_get_page_sends_limit_and_cursor_and_parses_the_page(
    mock: responses.RequestsMock,
) -> None:
    url = f"{BASE_URL}/v1/me/playlists"
    mock.add(responses.GET, url, json={"data": {"user": {"playlists": collection("p1", "p2")}}})
    page = make_client().get_page(MY_PLAYLISTS, limit=2, cursor="c0")
    assert [playlist.id for playlist in page] == ["p1", "p2"]
    assert isinstance(page[0], Playlist)
    assert mock.calls[0].request.url == f"{url}?limit=2&cursor=c0"


def test_page_owner_is_the_object_around_the_collection(mock: responses.RequestsMock) -> None:
    body = {"data": {"podcastShow": {"id": "s1", "name": "A show", "episodes": collection("e1")}}}
    mock.add(responses.GET, f"{BASE_URL}/v1/podcasts/shows/s1", json=body)
    page = make_client().get_page(SHOW_EPISODES, show_id="s1")
    assert page.owner == Category(id="s1", name="A show")
    assert page.category == page.owner  # a Category owner is page.category too


def test_the_category_collections_have_the_same_owner_and_category(
    mock: responses.RequestsMock,
) -> None:
    body = {"data": {"category": {"id": "2iB4IU25", "name": "Heavy Metal", "tracks": collection()}}}
    mock.add(responses.GET, f"{BASE_URL}/v1/browse/categories/2iB4IU25/tracks", json=body)
    page = make_client().get_category_tracks("2iB4IU25")
    assert page.owner is page.category
    assert page.category is not None
    assert page.category.name == "Heavy Metal"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.get_page(TRACK, track_id="x"), TypeError, "use get_object"),
        (lambda c: c.get_object(MY_PLAYLISTS), TypeError, "use get_page"),
        (lambda c: c.get_page(MY_PLAYLISTS, limit=101), ValueError, "from 1 to 100"),
        (lambda c: c.get_page(MY_PLAYLISTS, limit=True), TypeError, "must be an int"),
        (lambda c: c.get_page(MY_PLAYLISTS, cursor=""), ValueError, "non-empty"),
        (lambda c: c.get_object(TRACK), TypeError, "missing track_id"),
        (lambda c: c.get_object(TRACK, id="x"), TypeError, "unknown id"),
        (lambda c: c.get_page("/v1/me/playlists"), TypeError, "takes an Endpoint"),
    ],
)
def test_bad_calls_are_refused_before_sending(
    mock: responses.RequestsMock, call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(make_client())
    assert len(mock.calls) == 0


# -- @list_endpoint and paginate ------------------------------------------------------------


class MyClient(BrowseClient):
    def get_track(self, track_id: str) -> Track:
        return self.get_object(TRACK, track_id=track_id)

    @list_endpoint(MY_PLAYLISTS)
    def get_my_playlists(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        return self.get_page(MY_PLAYLISTS, limit=limit, cursor=cursor)


def serve_pages(mock: responses.RequestsMock, url: str, wrap: Any, count: int) -> None:
    """Serve ``count`` items, 40 per page at most, following ``cursor``."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = dict(parse_qsl(urlsplit(request.url or "").query))
        start = int(query.get("cursor", "0"))
        end = min(count, start + int(query.get("limit", "40")))
        token = str(end) if end < count else None
        page = collection(*(f"i{n}" for n in range(start, end)), token=token)
        return 200, {}, json.dumps(wrap(page))

    mock.add_callback(responses.GET, url, callback=answer)


def test_a_marked_subclass_method_is_paged_with_the_endpoints_bounds(
    mock: responses.RequestsMock,
) -> None:
    serve_pages(
        mock, f"{BASE_URL}/v1/me/playlists", lambda p: {"data": {"user": {"playlists": p}}}, 250
    )
    client = MyClient(api_key="key-12345678", access_token="token-12345678")

    items = client.paginate(client.get_my_playlists, max_items=230).to_list()

    assert len(items) == 230
    assert [call.request.url.split("?")[1] for call in mock.calls] == [
        "limit=100",
        "limit=100&cursor=100",
        "limit=30&cursor=200",
    ]
    with pytest.raises(ValueError, match="from 1 to 100"):
        client.paginate(client.get_my_playlists, page_size=101)


def test_an_endpoint_is_paged_directly_with_its_path_parameters(
    mock: responses.RequestsMock,
) -> None:
    url = f"{BASE_URL}/v1/browse/categories/2iB4IU25/tracks"
    serve_pages(mock, url, lambda p: {"data": {"category": {"id": "2iB4IU25", "tracks": p}}}, 120)
    client = make_client()

    pages = list(client.paginate(CATEGORY_TRACKS, page_size=50, category_id="2iB4IU25").pages())

    assert [len(page) for page in pages] == [50, 50, 20]
    assert all(page.category is not None for page in pages)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.paginate(CATEGORY_TRACKS), TypeError, "missing category_id"),
        (lambda c: c.paginate(CATEGORY_TRACKS, "2iB4IU25"), TypeError, "as keywords"),
        (lambda c: c.paginate(CATEGORY, category_id="x"), TypeError, "of a collection"),
        (lambda c: c.paginate(CATEGORY_TRACKS, category_id=".."), ValueError, "path step"),
        (lambda c: c.paginate(c.get_category_tracks, ".."), ValueError, "path step"),
        (lambda c: c.paginate(c.get_track, "x"), TypeError, "marked with @list_endpoint"),
    ],
)
def test_paginate_refuses_bad_arguments_before_sending(
    mock: responses.RequestsMock, call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(MyClient(api_key="key-12345678", access_token="token-12345678"))
    assert len(mock.calls) == 0


def test_list_endpoint_returns_the_function_unchanged_and_refuses_objects() -> None:
    def method() -> None: ...

    assert list_endpoint(MY_PLAYLISTS)(method) is method
    with pytest.raises(TypeError, match="of a collection"):
        list_endpoint(TRACK)
    with pytest.raises(TypeError, match="of a collection"):
        list_endpoint("MY_PLAYLISTS")  # type: ignore[arg-type]


def test_an_override_keeps_its_own_mark_when_it_has_one() -> None:
    from amazon_music_browse._endpoint import endpoint_of

    class Remapped(BrowseClient):
        @list_endpoint(MY_PLAYLISTS)
        def get_top_tracks(self, **kwargs: Any) -> Any:  # type: ignore[override]
            return None

        def get_top_playlists(self, **kwargs: Any) -> Any:  # type: ignore[override]
            return None

    assert endpoint_of(Remapped.get_top_tracks) is MY_PLAYLISTS
    assert endpoint_of(Remapped.get_top_playlists) is endpoint_of(BrowseClient.get_top_playlists)


# -- request: the escape hatch ------------------------------------------------------------


class SearchResult(BaseModel):
    data: dict[str, Any]


def test_request_posts_json_and_returns_decoded_json(mock: responses.RequestsMock) -> None:
    url = f"{BASE_URL}/v1/search/tracks"
    mock.add(responses.POST, url, json={"data": {"searchTracks": collection("t1")}})
    body = {"searchFilters": [{"field": "TITLE", "query": "jazz"}], "limit": 5}

    answer = make_client().request("POST", "/v1/search/tracks", json=body)

    assert answer["data"]["searchTracks"]["edges"][0]["node"]["id"] == "t1"
    sent = mock.calls[0].request
    assert json.loads(sent.body) == body
    assert sent.headers["x-api-key"] == "test-api-key-9f2c"
    assert sent.headers["Authorization"].startswith("Bearer ")


def test_request_casts_to_a_model_or_any_type(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, f"{BASE_URL}/v1/x", json={"data": {"a": 1}})
    mock.add(responses.GET, f"{BASE_URL}/v1/y", json=[{"id": "t1"}, {"id": 2}])
    client = make_client()
    assert client.request("GET", "/v1/x", cast_to=SearchResult) == SearchResult(data={"a": 1})
    tracks = client.request("get", "/v1/y", params={"ids": "t1,2"}, cast_to=list[Track])
    assert [track.id for track in tracks] == ["t1", "2"]
    assert mock.calls[1].request.url == f"{BASE_URL}/v1/y?ids=t1%2C2"


def test_request_returns_none_for_an_empty_body(mock: responses.RequestsMock) -> None:
    mock.add(responses.DELETE, f"{BASE_URL}/v1/me/playlists/p1", status=204)
    assert make_client().request("DELETE", "/v1/me/playlists/p1") is None


def test_a_body_that_does_not_fit_cast_to_is_a_response_validation_error(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, f"{BASE_URL}/v1/x", json={"nothing": "here"})
    mock.add(responses.GET, f"{BASE_URL}/v1/html", body="<html>", content_type="text/html")
    client = make_client()
    with pytest.raises(ResponseValidationError, match=r"GET /v1/x .* data: Field required"):
        client.request("GET", "/v1/x", cast_to=SearchResult)
    with pytest.raises(ResponseValidationError, match=r"Content-Type text/html.*not JSON"):
        client.request("GET", "/v1/html")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("https://evil.example/v1/x", "start with one '/'"),
        ("v1/x", "start with one '/'"),
        ("//evil.example/v1/x", "start with one '/'"),
        ("/v1/../../x", r"'\.' or '\.\.'"),
        ("/v1/%2e%2e/x", r"'\.' or '\.\.'"),
        ("/v1/x?limit=5", "no query"),
        ("/v1/x#top", "no query"),
        ("/v1/x y", "whitespace"),
        ("/v1/\udc80", "lone surrogate"),
    ],
)
def test_request_refuses_a_path_that_leaves_the_base_url(
    mock: responses.RequestsMock, path: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_client().request("GET", path)
    assert len(mock.calls) == 0


def test_request_refuses_a_bad_method_or_cast_to_before_sending(
    mock: responses.RequestsMock,
) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="HTTP method"):
        client.request("GET /x", "/v1/x")
    with pytest.raises(TypeError, match="cast_to must be a type pydantic can validate"):
        client.request("GET", "/v1/x", cast_to=object())
    assert len(mock.calls) == 0


def test_a_post_is_not_retried_after_a_server_error(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.POST, f"{BASE_URL}/v1/search/tracks", status=503)
    with pytest.raises(InternalServerError):
        make_client(max_retries=3).request("POST", "/v1/search/tracks", json={})
    assert len(mock.calls) == 1


def test_a_post_is_retried_after_a_429(mock: responses.RequestsMock, sleeps: list[float]) -> None:
    url = f"{BASE_URL}/v1/search/tracks"
    mock.add(responses.POST, url, status=429, headers={"Retry-After": "0"})
    mock.add(responses.POST, url, json={"ok": True})
    assert make_client(max_retries=3).request("POST", "/v1/search/tracks", json={}) == {"ok": True}
    assert len(mock.calls) == 2


def test_a_post_is_retried_only_when_it_never_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "_sleep", lambda seconds: None)
    # Nothing listens on port 9: the connection is refused, so nothing was sent.
    refused = make_client(base_url="http://127.0.0.1:9", max_retries=2)
    with pytest.raises(APIConnectionError, match="gave up after 3 attempts"):
        refused.request("POST", "/v1/search/tracks", json={})


def test_a_post_whose_answer_broke_off_is_not_retried(mock: responses.RequestsMock) -> None:
    mock.add(responses.POST, f"{BASE_URL}/v1/x", body=requests.ConnectionError("reset"))
    with pytest.raises(APIConnectionError) as caught:
        make_client(max_retries=3).request("POST", "/v1/x")
    assert len(mock.calls) == 1
    assert "attempts" not in str(caught.value)


def test_a_get_through_request_is_retried_as_usual(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.add(responses.GET, f"{BASE_URL}/v1/x", status=503)
    mock.add(responses.GET, f"{BASE_URL}/v1/x", json={"ok": 1})
    assert make_client().request("GET", "/v1/x") == {"ok": 1}


def test_request_honours_the_rate_limit_window(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, f"{BASE_URL}/v1/x", status=429, headers={"Retry-After": "3600"})
    client = make_client()
    with pytest.raises(RateLimitError):
        client.request("GET", "/v1/x")
    with pytest.raises(RateLimitError, match="no request was sent"):
        client.request("POST", "/v1/y")
    assert len(mock.calls) == 1


# -- typing ---------------------------------------------------------------------------------


WRAPPER_TYPES = register(
    "wrapper_types",
    """
            from amazon_music_browse import (
                BrowseClient, Endpoint, Playlist, ResponseCollection, Track, list_endpoint
            )
            from amazon_music_browse.endpoints import CATEGORY, CATEGORY_TRACKS

            TRACK = Endpoint("/v1/tracks/{track_id}", ("data", "track"), Track)
            MINE = Endpoint("/v1/me/playlists", ("data", "user", "playlists"), Playlist,
                            limits=(1, 100))

            class MyClient(BrowseClient):
                @list_endpoint(MINE)
                def get_my_playlists(
                    self, *, limit: int | None = None, cursor: str | None = None
                ) -> ResponseCollection[Playlist]:
                    return self.get_page(MINE, limit=limit, cursor=cursor)

            client = MyClient("key", "token")
            reveal_type(client.get_object(TRACK, track_id="x"))
            reveal_type(client.get_object(CATEGORY, category_id="x"))
            reveal_type(client.get_page(MINE, limit=5))
            reveal_type(client.paginate(MINE))
            reveal_type(client.paginate(CATEGORY_TRACKS, category_id="x"))
            reveal_type(client.paginate(client.get_my_playlists))
            reveal_type(client.paginate(client.get_category_tracks, "x"))
            reveal_type(client.request("GET", "/v1/x", cast_to=Track))
            """,
)


def test_the_types_a_wrapper_sees_are_precise() -> None:
    assert revealed_types(WRAPPER_TYPES) == [
        "amazon_music_browse._models.Track",
        "amazon_music_browse._models.Category",
        "amazon_music_browse._models.ResponseCollection[amazon_music_browse._models.Playlist]",
        "amazon_music_browse._pagination.Paginator[amazon_music_browse._models.Playlist]",
        "amazon_music_browse._pagination.Paginator[amazon_music_browse._models.Track]",
        "amazon_music_browse._pagination.Paginator[amazon_music_browse._models.Playlist]",
        "amazon_music_browse._pagination.Paginator[amazon_music_browse._models.Track]",
        "amazon_music_browse._models.Track",
    ]
    assert mypy_errors(WRAPPER_TYPES) == []
