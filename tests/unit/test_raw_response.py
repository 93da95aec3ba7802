"""Request ids on success: ``page.request_id`` and friends, and ``client.with_raw_response``."""

from __future__ import annotations

import contextvars
import pickle
from typing import Any

import pytest
import requests
import responses

from amazon_music_browse import (
    BrowseClient,
    Category,
    Endpoint,
    NotFoundError,
    Playlist,
    RawResponse,
    ResponseCollection,
    ResponseValidationError,
    Track,
    list_endpoint,
)
from amazon_music_browse.endpoints import CATEGORY, TOP_TRACKS
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL, error_body, make_client, tracks_page
from tests._support import CATEGORY as CATEGORY_URL
from tests._support import TOP_TRACKS as TOP_TRACKS_URL
from tests._typing import mypy_errors, register, revealed_types

REQUEST_ID = "0b6a7c1e-1111-4000-8000-00000000abcd"
MINE = Endpoint("/v1/me/playlists", ("data", "user", "playlists"), Playlist, limits=(1, 100))
MINE_URL = BASE_URL + "/v1/me/playlists"


class MyClient(BrowseClient):
    @list_endpoint(MINE)
    def get_my_playlists(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        return self.get_page(MINE, limit=limit, cursor=cursor)

    def first_of_my_playlists(self) -> Playlist:
        return self.get_my_playlists(limit=1)[0]

    def nothing(self) -> int:
        return 42


def category_body() -> dict[str, Any]:
    return {"data": {"category": {"id": "2iB4IU25", "name": "Heavy Metal"}}}


def my_playlists_body(*ids: str) -> dict[str, Any]:
    return {"data": {"user": {"playlists": {"edges": [{"node": {"id": i}} for i in ids]}}}}


# -- page.request_id, page.status_code, page.elapsed ---------------------------------------


def test_a_page_says_which_response_carried_it(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": REQUEST_ID})
    page = make_client().get_top_tracks()
    assert page.request_id == REQUEST_ID
    assert page.status_code == 200
    assert isinstance(page.elapsed, float)
    assert 0 <= page.elapsed < 60


def test_a_page_without_a_request_id_header_has_none(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"))
    assert make_client().get_top_tracks().request_id is None


def test_a_page_built_by_hand_has_no_response() -> None:
    page = ResponseCollection[Track].model_validate(tracks_page("t1")["data"]["topTracks"])
    assert (page.request_id, page.status_code, page.elapsed) == (None, None, None)


def test_the_response_is_not_data(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": REQUEST_ID})
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": "another"})
    client = make_client()
    first, second = client.get_top_tracks(), client.get_top_tracks()
    dumped = first.model_dump()
    assert set(dumped) == {"page_info", "edge_count", "edges"}
    assert REQUEST_ID not in repr(dumped) + first.model_dump_json()
    assert first == second  # the same data, from two responses
    assert first != "not a page"
    assert first != Track(id="t1")
    assert first != client.get_top_tracks().model_copy(update={"edges": []})


def test_the_response_survives_pickling_and_copying(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1", "t2"), headers={"x-amzn-RequestId": REQUEST_ID})
    page = make_client().get_top_tracks()
    copy = pickle.loads(pickle.dumps(page))
    assert type(copy) is type(page)
    assert (copy.request_id, copy.status_code, copy.elapsed) == (
        REQUEST_ID,
        200,
        page.elapsed,
    )
    assert page.model_copy(update={"edges": page.edges[:1]}).request_id == REQUEST_ID


def test_a_page_cut_to_max_items_keeps_its_response(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1", "t2", "t3"), headers={"x-amzn-RequestId": "r"})
    client = make_client()
    (page,) = client.paginate(client.get_top_tracks, max_items=2).pages()
    assert len(page) == 2
    assert page.request_id == "r"


def test_a_request_id_echoing_a_credential_is_redacted(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": API_KEY})
    assert make_client().get_top_tracks().request_id == "[REDACTED]"


# -- with_raw_response -------------------------------------------------------------------------


def test_a_raw_response_has_the_status_headers_request_id_elapsed_and_the_page(
    mock: responses.RequestsMock,
) -> None:
    mock.get(
        TOP_TRACKS_URL,
        json=tracks_page("t1"),
        headers={"x-amzn-RequestId": REQUEST_ID, "X-Trace": "abc"},
    )
    raw = make_client().with_raw_response.get_top_tracks(limit=1)
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.request_id == REQUEST_ID
    assert raw.headers["x-trace"] == "abc"  # case-insensitive
    assert raw.headers["Content-Type"] == "application/json"
    assert isinstance(raw.elapsed, float)
    page = raw.parse()
    assert [track.id for track in page] == ["t1"]
    assert page.request_id == REQUEST_ID
    assert repr(raw).startswith(f"RawResponse(status_code=200, request_id='{REQUEST_ID}'")
    assert mock.calls[0].request.url == TOP_TRACKS_URL + "?limit=1"


def test_raw_headers_hold_no_credential_even_when_echoed(mock: responses.RequestsMock) -> None:
    mock.get(
        TOP_TRACKS_URL,
        json=tracks_page("t1"),
        headers={
            "x-api-key": API_KEY,
            "Authorization": f"Bearer {ACCESS_TOKEN}",
            "X-Echo": f"token={ACCESS_TOKEN}",
            "x-amzn-RequestId": f"{API_KEY}-1",
        },
    )
    raw = make_client().with_raw_response.get_top_tracks()
    assert "x-api-key" not in raw.headers
    assert "authorization" not in raw.headers
    assert raw.headers["X-Echo"] == "token=[REDACTED]"
    assert raw.request_id == "[REDACTED]-1"
    text = repr(dict(raw.headers)) + repr(raw)
    assert API_KEY not in text
    assert ACCESS_TOKEN not in text


def test_raw_responses_of_the_other_methods(mock: responses.RequestsMock) -> None:
    mock.get(CATEGORY_URL, json=category_body(), headers={"x-amzn-RequestId": "cat"})
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": "page"})
    mock.post(BASE_URL + "/v1/search", json={"found": 1}, status=201)
    client = make_client()
    category = client.with_raw_response.get_category("2iB4IU25")
    assert (category.request_id, category.parse().name) == ("cat", "Heavy Metal")
    obj = client.with_raw_response.get_object(CATEGORY, category_id="2iB4IU25")
    assert isinstance(obj.parse(), Category)
    page = client.with_raw_response.get_page(TOP_TRACKS, limit=1)
    assert (page.request_id, page.parse()[0].id) == ("page", "t1")
    found = client.with_raw_response.request("POST", "/v1/search", json={"q": "x"})
    assert (found.status_code, found.parse()) == (201, {"found": 1})
    typed = client.with_raw_response.request("GET", "/v1/browse/categories/2iB4IU25", cast_to=dict)
    assert typed.parse()["data"]["category"]["id"] == "2iB4IU25"


def test_a_subclass_method_by_name_or_through_a_call(mock: responses.RequestsMock) -> None:
    mock.get(MINE_URL, json=my_playlists_body("p1"), headers={"x-amzn-RequestId": "mine"})
    client = MyClient(API_KEY, ACCESS_TOKEN)
    by_name = client.with_raw_response.get_my_playlists(limit=1)
    through_call = client.with_raw_response(client.get_my_playlists)(limit=1)
    post_processed = client.with_raw_response.first_of_my_playlists()
    assert by_name.parse()[0].id == through_call.parse()[0].id == "p1"
    assert post_processed.parse() == Playlist(id="p1")
    assert {by_name.request_id, through_call.request_id, post_processed.request_id} == {"mine"}


def test_an_overridden_method_is_the_one_called(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1", "t2"))

    class Reversing(BrowseClient):
        def get_top_tracks(
            self, *, limit: int | None = None, cursor: str | None = None
        ) -> ResponseCollection[Track]:
            page = super().get_top_tracks(limit=limit, cursor=cursor)
            return page.model_copy(update={"edges": page.edges[::-1]})

    raw = Reversing(API_KEY, ACCESS_TOKEN).with_raw_response.get_top_tracks()
    assert [track.id for track in raw.parse()] == ["t2", "t1"]


def test_several_requests_give_the_last_response(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": "first"})
    mock.get(CATEGORY_URL, json=category_body(), headers={"x-amzn-RequestId": "second"})

    class Both(BrowseClient):
        def both(self) -> tuple[int, str | None]:
            return len(self.get_top_tracks()), self.get_category("2iB4IU25").name

    raw = Both(API_KEY, ACCESS_TOKEN).with_raw_response.both()
    assert raw.request_id == "second"
    assert raw.parse() == (1, "Heavy Metal")


def test_a_retried_call_gives_the_successful_response(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, status=503, json=error_body(503), headers={"x-amzn-RequestId": "x"})
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": "ok"})
    raw = make_client().with_raw_response.get_top_tracks()
    assert (raw.status_code, raw.request_id) == (200, "ok")


def test_errors_propagate_as_from_the_method(mock: responses.RequestsMock) -> None:
    mock.get(CATEGORY_URL, status=404, json=error_body(404, "RESOURCE_NOT_FOUND"))
    mock.get(TOP_TRACKS_URL, body="<html>")
    client = make_client()
    with pytest.raises(NotFoundError):
        client.with_raw_response.get_category("2iB4IU25")
    with pytest.raises(ResponseValidationError):
        client.with_raw_response.get_top_tracks()
    with pytest.raises(ValueError, match="limit"):
        client.with_raw_response.get_top_tracks(limit=500)


def test_methods_that_send_nothing_are_refused() -> None:
    client = MyClient(API_KEY, ACCESS_TOKEN)
    with pytest.raises(TypeError, match=r"nothing\(\) returned without receiving a response"):
        client.with_raw_response.nothing()
    for name in ("close", "paginate", "with_options", "session", "_call", "no_such_method"):
        with pytest.raises(AttributeError, match=f"no method '{name}'"):
            getattr(client.with_raw_response, name)
    assert not client.closed


def test_a_raw_response_call_leaves_no_recording_behind(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"))
    client = make_client()
    client.with_raw_response.get_top_tracks()
    from amazon_music_browse import _raw_response

    assert _raw_response.current_recording() is None
    assert contextvars.copy_context().get(_raw_response._recording) is None


def test_a_connection_failure_through_with_raw_response(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS_URL, body=requests.ConnectionError("refused"))
    from amazon_music_browse import APIConnectionError

    with pytest.raises(APIConnectionError):
        make_client(max_retries=0).with_raw_response.get_top_tracks()


RAW_TYPES = register(
    "raw_types",
    """
            from amazon_music_browse import (
                BrowseClient, Endpoint, Playlist, ResponseCollection, Track, list_endpoint
            )
            from amazon_music_browse.endpoints import CATEGORY, CATEGORY_TRACKS

            MINE = Endpoint("/v1/me/playlists", ("data", "user", "playlists"), Playlist,
                            limits=(1, 100))

            class MyClient(BrowseClient):
                @list_endpoint(MINE)
                def get_my_playlists(
                    self, *, limit: int | None = None, cursor: str | None = None
                ) -> ResponseCollection[Playlist]:
                    return self.get_page(MINE, limit=limit, cursor=cursor)

            client = MyClient("key", "token")
            raw = client.with_raw_response
            reveal_type(raw.get_top_tracks(limit=5))
            reveal_type(raw.get_category("x"))
            reveal_type(raw.get_category_tracks("x", limit=5).parse())
            reveal_type(raw.get_page(CATEGORY_TRACKS, category_id="x"))
            reveal_type(raw.get_object(CATEGORY, category_id="x"))
            reveal_type(raw.request("GET", "/v1/x", cast_to=Track))
            reveal_type(raw(client.get_my_playlists)(limit=5))
            reveal_type(raw.get_top_tracks(limit=5).request_id)
            raw.get_top_tracks(limit="5")
            """,
)


def test_the_types_of_raw_responses_are_precise() -> None:
    models = "amazon_music_browse._models"
    raw_of = "amazon_music_browse._raw_response.RawResponse[{}]".format
    assert revealed_types(RAW_TYPES) == [
        raw_of(f"{models}.ResponseCollection[{models}.Track]"),
        raw_of(f"{models}.Category"),
        f"{models}.ResponseCollection[{models}.Track]",
        raw_of(f"{models}.ResponseCollection[{models}.Track]"),
        raw_of(f"{models}.Category"),
        raw_of(f"{models}.Track"),
        raw_of(f"{models}.ResponseCollection[{models}.Playlist]"),
        "str | None",
    ]
    errors = mypy_errors(RAW_TYPES)
    assert len(errors) == 1, errors
    assert 'Argument "limit"' in errors[0], errors


def test_a_base_client_has_raw_responses_of_its_own_methods(mock: responses.RequestsMock) -> None:
    from amazon_music_browse._base_client import BaseClient
    from amazon_music_browse._client import BrowseClientWithRawResponse

    mock.get(TOP_TRACKS_URL, json=tracks_page("t1"), headers={"x-amzn-RequestId": "base"})
    client = BaseClient(API_KEY, ACCESS_TOKEN)
    raw = client.with_raw_response.get_page(TOP_TRACKS, limit=1)
    assert (raw.request_id, raw.parse()[0].id) == ("base", "t1")
    with pytest.raises(AttributeError):
        client.with_raw_response.get_top_tracks  # noqa: B018 - not a method of BaseClient
    assert repr(client.with_raw_response) == f"<with_raw_response of {client!r}>"
    assert BrowseClientWithRawResponse.get_top_tracks.__class__.__name__ == "raw_method"
