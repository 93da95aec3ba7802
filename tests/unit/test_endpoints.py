"""The eight endpoint methods: the request each sends, the checks made before sending."""

from __future__ import annotations

import functools
import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pydantic
import pytest
import responses

from amazon_music_browse import (
    Album,
    BrowseClient,
    Category,
    Episode,
    Playlist,
    ResponseCollection,
    ResponseValidationError,
    Track,
    __version__,
)
from amazon_music_browse import endpoints as ep
from amazon_music_browse._endpoint import endpoint_of
from tests import _support as support
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "browse"
ANY_URL = re.compile(r".*")


@dataclass(frozen=True)
class Method:
    name: str
    args: tuple[str, ...]
    path: str
    fixture: str
    model: type[pydantic.BaseModel]
    limits: tuple[int, int] | None

    @property
    def is_list(self) -> bool:
        return self.limits is not None

    def __str__(self) -> str:
        return self.name


METHODS = [
    Method("get_top_tracks", (), "/v1/browse/tracks/top", "top_tracks", Track, (1, 20)),
    Method(
        "get_top_playlists", (), "/v1/browse/playlists/top", "top_playlists", Playlist, (1, 100)
    ),
    Method(
        "get_new_podcast_episodes",
        (),
        "/v1/browse/podcasts/episodes/new",
        "new_podcast_episodes",
        Episode,
        (1, 100),
    ),
    Method("get_categories", (), "/v1/browse/categories", "categories", Category, (1, 100)),
    Method(
        "get_category",
        ("2iB4IU25",),
        "/v1/browse/categories/2iB4IU25",
        "category",
        Category,
        None,
    ),
    Method(
        "get_category_albums",
        ("2iB4IU25",),
        "/v1/browse/categories/2iB4IU25/albums",
        "category_albums",
        Album,
        (1, 100),
    ),
    Method(
        "get_category_playlists",
        ("2iB4IU25",),
        "/v1/browse/categories/2iB4IU25/playlists",
        "category_playlists",
        Playlist,
        (1, 100),
    ),
    Method(
        "get_category_tracks",
        ("2iB4IU25",),
        "/v1/browse/categories/2iB4IU25/tracks",
        "category_tracks",
        Track,
        (1, 100),
    ),
]
LIST_METHODS = [method for method in METHODS if method.is_list]
CATEGORY_METHODS = [method for method in METHODS if method.args]


# -- helpers ------------------------------------------------------------------------------


make_client = functools.partial(support.make_client, max_retries=0)
"""A client with the test credentials that never retries (a test may pass max_retries=)."""


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def serve(mock: responses.RequestsMock, body: bytes | str, status: int = 200) -> None:
    mock.add(responses.GET, ANY_URL, body=body, status=status)


def call(method: Method, client: BrowseClient | None = None, *args: Any, **kwargs: Any) -> Any:
    client = client or make_client()
    return getattr(client, method.name)(*(args or method.args), **kwargs)


def sent(mock: responses.RequestsMock) -> Any:
    """The one request sent."""
    assert len(mock.calls) == 1
    return mock.calls[0].request


def query_of(request: Any) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(request.url).query, keep_blank_values=True)


def path_of(request: Any) -> str:
    return urlsplit(request.url).path


# -- what every method sends ---------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS, ids=str)
def test_request_method_url_and_headers(mock: responses.RequestsMock, method: Method) -> None:
    serve(mock, fixture_bytes(method.fixture))
    call(method)
    request = sent(mock)
    assert request.method == "GET"
    assert request.url == BASE_URL + method.path
    assert path_of(request) == method.path
    assert query_of(request) == []
    assert request.body is None
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith(f"amazon-music-browse/{__version__}")


@pytest.mark.parametrize("method", METHODS, ids=str)
def test_return_type(mock: responses.RequestsMock, method: Method) -> None:
    serve(mock, fixture_bytes(method.fixture))
    result = call(method)
    if method.is_list:
        assert isinstance(result, ResponseCollection)
        assert len(result) == 2
        assert all(type(item) is method.model for item in result)
    else:
        assert type(result) is method.model


@pytest.mark.parametrize("method", LIST_METHODS, ids=str)
@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({}, []),
        ({"limit": None, "cursor": None}, []),
        ({"limit": 2}, [("limit", "2")]),
        ({"cursor": "3:vx0YEGc1"}, [("cursor", "3:vx0YEGc1")]),
        ({"limit": 5, "cursor": "c881b6f5.2"}, [("limit", "5"), ("cursor", "c881b6f5.2")]),
        ({"limit": None, "cursor": "tok"}, [("cursor", "tok")]),
        ({"limit": 1, "cursor": None}, [("limit", "1")]),
    ],
)
def test_query(
    mock: responses.RequestsMock,
    method: Method,
    kwargs: dict[str, Any],
    query: list[tuple[str, str]],
) -> None:
    serve(mock, fixture_bytes(method.fixture))
    call(method, **kwargs)
    request = sent(mock)
    assert query_of(request) == query
    assert path_of(request) == method.path


@pytest.mark.parametrize("method", LIST_METHODS, ids=str)
def test_cursor_with_reserved_characters_is_sent_intact(
    mock: responses.RequestsMock, method: Method
) -> None:
    cursor = "tztok-v2_a+b/c=d&limit=1#x y%20"
    serve(mock, fixture_bytes(method.fixture))
    call(method, limit=3, cursor=cursor)
    assert query_of(sent(mock)) == [("limit", "3"), ("cursor", cursor)]


def test_get_category_takes_no_limit_or_cursor() -> None:
    parameters = inspect.signature(BrowseClient.get_category).parameters
    assert list(parameters) == ["self", "category_id"]


@pytest.mark.parametrize("method", LIST_METHODS, ids=str)
def test_list_methods_take_limit_and_cursor_as_keywords_only(method: Method) -> None:
    parameters = inspect.signature(getattr(BrowseClient, method.name)).parameters
    for name in ("limit", "cursor"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[name].default is None


# -- argument checks, before any request ---------------------------------------------------


def assert_nothing_sent(mock: responses.RequestsMock) -> None:
    assert len(mock.calls) == 0


@pytest.mark.parametrize("method", LIST_METHODS, ids=str)
@pytest.mark.parametrize("which", ["below", "above", "negative"])
def test_limit_out_of_bounds_is_a_value_error_naming_the_bounds(
    mock: responses.RequestsMock, method: Method, which: str
) -> None:
    assert method.limits is not None
    low, high = method.limits
    limit = {"below": low - 1, "above": high + 1, "negative": -1}[which]
    serve(mock, fixture_bytes(method.fixture))
    with pytest.raises(ValueError, match=rf"\b{low}\b.*\b{high}\b") as info:
        call(method, limit=limit)
    assert not isinstance(info.value, TypeError)
    assert_nothing_sent(mock)


@pytest.mark.parametrize("method", LIST_METHODS, ids=str)
@pytest.mark.parametrize("limit", [True, False, 1.5, 5.0, "5", b"5", [5]])
def test_limit_of_the_wrong_type_is_a_type_error(
    mock: responses.RequestsMock, method: Method, limit: Any
) -> None:
    assert method.limits is not None
    low, high = method.limits
    serve(mock, fixture_bytes(method.fixture))
    with pytest.raises(TypeError, match=rf"\b{low}\b.*\b{high}\b"):
        call(method, limit=limit)
    assert_nothing_sent(mock)


@pytest.mark.parametrize("method", LIST_METHODS, ids=str)
@pytest.mark.parametrize("edge", ["min", "max"])
def test_limit_bounds_are_inclusive(
    mock: responses.RequestsMock, method: Method, edge: str
) -> None:
    assert method.limits is not None
    limit = method.limits[0] if edge == "min" else method.limits[1]
    serve(mock, fixture_bytes(method.fixture))
    call(method, limit=limit)
    assert query_of(sent(mock)) == [("limit", str(limit))]


def test_top_tracks_max_is_twenty_and_the_others_a_hundred(
    mock: responses.RequestsMock,
) -> None:
    client = make_client()
    with pytest.raises(ValueError, match="20"):
        client.get_top_tracks(limit=21)
    serve(mock, fixture_bytes("top_playlists"))
    client.get_top_playlists(limit=21)
    assert query_of(sent(mock)) == [("limit", "21")]


@pytest.mark.parametrize("method", LIST_METHODS, ids=str)
@pytest.mark.parametrize(
    ("cursor", "error"),
    [("", ValueError), (5, TypeError), (b"tok", TypeError), (["tok"], TypeError)],
)
def test_bad_cursor(
    mock: responses.RequestsMock, method: Method, cursor: Any, error: type[Exception]
) -> None:
    serve(mock, fixture_bytes(method.fixture))
    with pytest.raises(error, match="cursor"):
        call(method, cursor=cursor)
    assert_nothing_sent(mock)


@pytest.mark.parametrize("method", CATEGORY_METHODS, ids=str)
@pytest.mark.parametrize(
    ("category_id", "error"),
    [
        ("", ValueError),
        (" x", ValueError),
        ("x ", ValueError),
        ("\t2iB4IU25", ValueError),
        ("2iB4IU25\n", ValueError),
        (" ", ValueError),
        (".", ValueError),
        ("..", ValueError),
        (5, TypeError),
        (None, TypeError),
        (b"2iB4IU25", TypeError),
        (["2iB4IU25"], TypeError),
    ],
)
def test_bad_category_id(
    mock: responses.RequestsMock, method: Method, category_id: Any, error: type[Exception]
) -> None:
    serve(mock, fixture_bytes(method.fixture))
    with pytest.raises(error, match="category_id"):
        call(method, None, category_id)
    assert_nothing_sent(mock)


@pytest.mark.parametrize("method", CATEGORY_METHODS, ids=str)
@pytest.mark.parametrize(
    ("category_id", "segment"),
    [
        ("2iB4IU25", "2iB4IU25"),
        ("a/b", "a%2Fb"),
        ("../../v1/me", "..%2F..%2Fv1%2Fme"),
        ("a?limit=1", "a%3Flimit%3D1"),
        ("a#frag", "a%23frag"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("%2e%2e", "%252e%252e"),
        ("heavy metal", "heavy%20metal"),
        ("a\tb", "a%09b"),
        ("Música", "M%C3%BAsica"),
        ("日本", "%E6%97%A5%E6%9C%AC"),
        ("a+b&c=d;e", "a%2Bb%26c%3Dd%3Be"),
        ("...", "..."),
        ("-._~", "-._~"),
    ],
)
def test_category_id_is_one_percent_encoded_path_segment(
    mock: responses.RequestsMock, method: Method, category_id: str, segment: str
) -> None:
    serve(mock, fixture_bytes(method.fixture))
    call(method, None, category_id)
    request = sent(mock)
    expected = method.path.replace("2iB4IU25", segment)
    assert path_of(request) == expected
    assert request.url == BASE_URL + expected
    assert query_of(request) == []


# -- the endpoint table ----------------------------------------------------------------------


ENDPOINT_OF_METHOD = {
    "get_top_tracks": ep.TOP_TRACKS,
    "get_top_playlists": ep.TOP_PLAYLISTS,
    "get_new_podcast_episodes": ep.NEW_PODCAST_EPISODES,
    "get_categories": ep.CATEGORIES,
    "get_category": ep.CATEGORY,
    "get_category_albums": ep.CATEGORY_ALBUMS,
    "get_category_playlists": ep.CATEGORY_PLAYLISTS,
    "get_category_tracks": ep.CATEGORY_TRACKS,
}


def test_endpoint_table_has_the_eight_browse_endpoints() -> None:
    assert tuple(ENDPOINT_OF_METHOD[m.name] for m in METHODS) == ep.ENDPOINTS
    assert len({endpoint.name for endpoint in ep.ENDPOINTS}) == 8


@pytest.mark.parametrize("method", METHODS, ids=str)
def test_endpoint_table_entry_matches_the_method(method: Method) -> None:
    endpoint = ENDPOINT_OF_METHOD[method.name]
    assert endpoint.limits == method.limits
    assert endpoint.model is method.model
    assert endpoint.path.format(category_id="2iB4IU25") == method.path
    assert endpoint.key_path[0] == "data"
    # List methods carry the mark paginate() reads; nothing is found by a method's name.
    assert endpoint_of(getattr(BrowseClient, method.name)) is (endpoint if method.is_list else None)


def test_every_public_endpoint_method_is_in_the_table() -> None:
    public = {
        name
        for name, member in inspect.getmembers(BrowseClient, inspect.isfunction)
        if name.startswith("get_") and name not in {"get_page", "get_object"}
    }
    assert public == set(ENDPOINT_OF_METHOD)


def test_endpoint_table_key_paths() -> None:
    assert {name: endpoint.key_path for name, endpoint in ENDPOINT_OF_METHOD.items()} == {
        "get_top_tracks": ("data", "topTracks"),
        "get_top_playlists": ("data", "topPlaylists"),
        "get_new_podcast_episodes": ("data", "newPodcastEpisodes"),
        "get_categories": ("data", "browseCategories"),
        "get_category": ("data", "category"),
        "get_category_albums": ("data", "category", "albums"),
        "get_category_playlists": ("data", "category", "playlists"),
        "get_category_tracks": ("data", "category", "tracks"),
    }


# -- 2xx bodies that are not the documented JSON ---------------------------------------------

NOT_JSON_BODIES = {
    "html": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
    "empty": b"",
    "whitespace": b"  \n ",
    "invalid-utf8": b'{"data": "\xff\xfe\xfa"}',
    "latin1": '{"data": {"topTracks": "Beyoncé"}}'.encode("latin-1"),
    "json-list": b"[]",
    "json-list-of-data": json.dumps([json.loads(fixture_bytes("top_tracks"))]).encode(),
    "json-string": b'"data"',
    "json-null": b"null",
    "json-number": b"42",
    "deeply-nested-list": b"[" * 100_000 + b"]" * 100_000,
    "deeply-nested-object": b'{"data":' * 5_000 + b"{}" + b"}" * 5_000,
    "truncated": fixture_bytes("top_playlists")[:100],
    "trailing-garbage": fixture_bytes("top_tracks") + b"}",
    "nan": b'{"data": NaN}',
}


@pytest.mark.parametrize("method", METHODS, ids=str)
@pytest.mark.parametrize("body", list(NOT_JSON_BODIES.values()), ids=list(NOT_JSON_BODIES))
def test_2xx_body_that_is_not_the_documented_json(
    mock: responses.RequestsMock, method: Method, body: bytes
) -> None:
    serve(mock, body)
    with pytest.raises(ResponseValidationError) as info:
        call(method)
    error = info.value
    assert error.status_code == 200
    assert error.body == body.decode("utf-8", errors="replace")[: 64 * 1024]
    assert len(str(error)) < 1200
    assert len(mock.calls) == 1


def test_response_validation_error_body_is_cut_to_64_kib(mock: responses.RequestsMock) -> None:
    body = b"<html>" + b"x" * 200_000
    serve(mock, body)
    with pytest.raises(ResponseValidationError) as info:
        make_client().get_top_tracks()
    assert info.value.body == body[: 64 * 1024].decode()
