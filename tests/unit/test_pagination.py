"""``client.paginate`` and the public ``Paginator``: limits, cursors, laziness, prefetch."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from amazon_music_browse import (
    BrowseClient,
    InternalServerError,
    NotFoundError,
    PaginationError,
    Paginator,
    ResponseCollection,
    Track,
)
from tests._support import ACCESS_TOKEN, API_KEY, BASE_URL

CATEGORY_ID = "2iB4IU25"
PREFETCH_PREFIX = "amazon-music-prefetch"


# -- a fake Browse service ---------------------------------------------------------------------


def collection(ids: list[str], token: str | None) -> dict[str, Any]:
    return {
        "pageInfo": {"hasNextPage": token is not None, "token": token},
        "edgeCount": len(ids),
        "edges": [{"node": {"id": item_id}} for item_id in ids],
    }


def top(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda page: {"data": {key: page}}


def in_category(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda page: {"data": {"category": {"id": CATEGORY_ID, "name": "Rock", key: page}}}


CAT = f"/v1/browse/categories/{CATEGORY_ID}"
EPISODES = "/v1/browse/podcasts/episodes/new"
# method name, path, wrapper of the collection, largest limit
ENDPOINTS = [
    ("get_top_tracks", "/v1/browse/tracks/top", top("topTracks"), 20),
    ("get_top_playlists", "/v1/browse/playlists/top", top("topPlaylists"), 100),
    ("get_new_podcast_episodes", EPISODES, top("newPodcastEpisodes"), 100),
    ("get_categories", "/v1/browse/categories", top("browseCategories"), 100),
    ("get_category_albums", f"{CAT}/albums", in_category("albums"), 100),
    ("get_category_playlists", f"{CAT}/playlists", in_category("playlists"), 100),
    ("get_category_tracks", f"{CAT}/tracks", in_category("tracks"), 100),
]
TOP_TRACKS = ENDPOINTS[0]
CATEGORIES = ENDPOINTS[3]
CATEGORY_TRACKS = ENDPOINTS[6]


def ids_of(count: int, prefix: str = "i") -> list[str]:
    return [f"{prefix}{n}" for n in range(count)]


def serve(
    mock: responses.RequestsMock,
    endpoint: tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]], int],
    ids: list[str],
) -> None:
    """Serve ``ids`` in pages of ``limit`` from ``cursor`` (``"c<offset>"``)."""
    _, path, wrap, largest = endpoint

    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        limit = int(query["limit"][0]) if "limit" in query else largest
        start = int(query["cursor"][0][1:]) if "cursor" in query else 0
        chunk = ids[start : start + limit]
        end = start + len(chunk)
        token = f"c{end}" if end < len(ids) else None
        return 200, {}, json.dumps(wrap(collection(chunk, token)))

    mock.add_callback(responses.GET, BASE_URL + path, callback=callback)


def serve_pages(mock: responses.RequestsMock, path: str, *answers: dict[str, Any] | int) -> None:
    """Serve fixed answers in order: a collection, or an error status."""
    for answer in answers:
        if isinstance(answer, int):
            mock.add(responses.GET, BASE_URL + path, status=answer)
        else:
            mock.add(responses.GET, BASE_URL + path, json={"data": {"topTracks": answer}})


def drain(items: Any, into: list[str]) -> None:
    """Collect item ids into ``into`` until the iteration ends or raises."""
    for item in items:
        into.append(item.id)


def queries(mock: responses.RequestsMock) -> list[dict[str, str]]:
    return [
        {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}
        for call in mock.calls
    ]


def limits(mock: responses.RequestsMock) -> list[int]:
    return [int(query["limit"]) for query in queries(mock)]


@pytest.fixture
def client() -> BrowseClient:
    return BrowseClient(API_KEY, ACCESS_TOKEN, max_retries=0)


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(PREFETCH_PREFIX)]


def wait_for_no_prefetch_threads(timeout: float = 2.0) -> list[threading.Thread]:
    deadline = time.monotonic() + timeout
    while prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    return prefetch_threads()


@pytest.fixture(autouse=True)
def _prefetch_threads_end() -> Iterator[None]:
    yield
    wait_for_no_prefetch_threads()


def method_args(name: str) -> tuple[str, ...]:
    return (CATEGORY_ID,) if name.startswith("get_category_") else ()


# -- page sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_page_size_defaults_to_the_endpoint_maximum(
    mock: responses.RequestsMock, client: BrowseClient, endpoint: Any
) -> None:
    name, path, _, largest = endpoint
    ids = ids_of(2 * largest + 3)
    serve(mock, endpoint, ids)

    paginator = client.paginate(getattr(client, name), *method_args(name))
    items = [item.id for item in paginator]

    assert items == ids
    assert limits(mock) == [largest, largest, largest]
    assert all(urlsplit(call.request.url).path == path for call in mock.calls)
    assert paginator.page_size == largest


@pytest.mark.parametrize(
    ("endpoint", "page_size", "error", "bounds"),
    [
        (TOP_TRACKS, 21, ValueError, "1 to 20"),
        (TOP_TRACKS, 0, ValueError, "1 to 20"),
        (TOP_TRACKS, -5, ValueError, "1 to 20"),
        (CATEGORIES, 101, ValueError, "1 to 100"),
        (CATEGORY_TRACKS, 0, ValueError, "1 to 100"),
        (CATEGORY_TRACKS, 1000, ValueError, "1 to 100"),
        (TOP_TRACKS, "10", TypeError, "1 to 20"),
        (TOP_TRACKS, 2.0, TypeError, "1 to 20"),
        (CATEGORIES, True, TypeError, "1 to 100"),
    ],
)
def test_page_size_is_checked_against_the_bounds_before_any_request(
    mock: responses.RequestsMock,
    client: BrowseClient,
    endpoint: Any,
    page_size: Any,
    error: type[Exception],
    bounds: str,
) -> None:
    name = endpoint[0]
    serve(mock, endpoint, ids_of(5))

    with pytest.raises(error, match=f"page_size.*{bounds}"):
        list(client.paginate(getattr(client, name), *method_args(name), page_size=page_size))

    assert len(mock.calls) == 0


@pytest.mark.parametrize("page_size", [1, 20])
def test_page_size_at_the_bounds_is_accepted(
    mock: responses.RequestsMock, client: BrowseClient, page_size: int
) -> None:
    serve(mock, TOP_TRACKS, ids_of(25))

    items = client.paginate(client.get_top_tracks, page_size=page_size, max_pages=1).to_list()

    assert len(items) == page_size
    assert limits(mock) == [page_size]


# -- max_items and max_pages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "page_size", "max_items", "expected_limits"),
    [
        (100, 10, 25, [10, 10, 5]),
        (100, 10, 20, [10, 10]),
        (100, 10, 3, [3]),
        (100, 10, 1, [1]),
        (100, 100, 250, [100]),
        (12, 10, 50, [10, 10]),
        (100, 10, 0, []),
    ],
)
def test_max_items_shrinks_the_last_request_and_never_yields_more(
    mock: responses.RequestsMock,
    client: BrowseClient,
    total: int,
    page_size: int,
    max_items: int,
    expected_limits: list[int],
) -> None:
    ids = ids_of(total)
    serve(mock, CATEGORIES, ids)

    items = client.paginate(client.get_categories, page_size=page_size, max_items=max_items)

    assert [item.id for item in items] == ids[:max_items]
    assert limits(mock) == expected_limits


def test_max_items_default_page_size_asks_for_what_is_needed(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    serve(mock, CATEGORY_TRACKS, ids_of(500))

    items = client.paginate(client.get_category_tracks, CATEGORY_ID, max_items=230).to_list()

    assert len(items) == 230
    assert limits(mock) == [100, 100, 30]


@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("max_items", -1, ValueError),
        ("max_items", "5", TypeError),
        ("max_items", 2.5, TypeError),
        ("max_pages", -1, ValueError),
        ("max_pages", False, TypeError),
        ("cursor", "", ValueError),
        ("cursor", 5, TypeError),
    ],
)
def test_other_paginate_arguments_are_checked_before_any_request(
    mock: responses.RequestsMock, client: BrowseClient, argument: str, value: Any, error: type
) -> None:
    serve(mock, TOP_TRACKS, ids_of(5))

    with pytest.raises(error, match=argument):
        list(client.paginate(client.get_top_tracks, **{argument: value}))

    assert len(mock.calls) == 0


def test_max_pages_bounds_the_requests(mock: responses.RequestsMock, client: BrowseClient) -> None:
    serve(mock, CATEGORIES, ids_of(35))

    paginator = client.paginate(client.get_categories, page_size=10, max_pages=2)
    items = paginator.to_list()

    assert [item.id for item in items] == ids_of(20)
    assert len(mock.calls) == 2
    assert paginator.cursor == "c20"


def test_max_pages_zero_sends_nothing(mock: responses.RequestsMock, client: BrowseClient) -> None:
    serve(mock, CATEGORIES, ids_of(35))

    paginator = client.paginate(client.get_categories, max_pages=0, cursor="c5")

    assert paginator.to_list() == []
    assert len(mock.calls) == 0
    assert paginator.cursor == "c5"


# -- cursors and resuming ----------------------------------------------------------------------


def test_resume_with_a_cursor_starts_there(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    ids = ids_of(35)
    serve(mock, CATEGORIES, ids)

    items = client.paginate(client.get_categories, page_size=10, cursor="c20").to_list()

    assert [item.id for item in items] == ids[20:]
    assert queries(mock)[0] == {"limit": "10", "cursor": "c20"}
    assert "cursor" in queries(mock)[1]


def test_resume_from_a_saved_cursor_gives_the_rest_exactly(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    ids = ids_of(57)
    serve(mock, CATEGORIES, ids)

    first = client.paginate(client.get_categories, page_size=10, max_pages=3)
    head = [item.id for item in first]
    rest = client.paginate(client.get_categories, page_size=10, cursor=first.cursor)

    assert head + [item.id for item in rest] == ids


def test_cursor_with_pages(mock: responses.RequestsMock, client: BrowseClient) -> None:
    serve(mock, CATEGORIES, ids_of(25))
    paginator = client.paginate(client.get_categories, page_size=10)
    assert paginator.cursor is None

    pages = paginator.pages()
    seen = []
    for page in pages:
        seen.append((len(page), paginator.cursor))

    assert seen == [(10, "c10"), (10, "c20"), (5, None)]
    assert paginator.cursor is None


def test_cursor_with_items_moves_when_the_caller_asks_past_a_page(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    serve(mock, CATEGORIES, ids_of(6))
    paginator = client.paginate(client.get_categories, page_size=3, cursor="c0")
    items = iter(paginator)
    cursors = [paginator.cursor]

    for _ in range(6):
        next(items)
        cursors.append(paginator.cursor)

    # Items 1-3 are page "c0"; item 4 is the first of page "c3".
    assert cursors == ["c0", "c0", "c0", "c0", "c3", "c3", "c3"]
    with pytest.raises(StopIteration):
        next(items)
    assert paginator.cursor is None


def test_cursor_after_an_error_is_the_failed_page(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    path = TOP_TRACKS[1]
    serve_pages(mock, path, collection(["a", "b"], "t2"), collection(["c"], "t3"), 500)
    paginator = client.paginate(client.get_top_tracks)
    received = []

    with pytest.raises(InternalServerError):
        drain(paginator, received)

    assert received == ["a", "b", "c"]
    assert paginator.cursor == "t3"
    assert len(mock.calls) == 3


def test_an_error_mid_way_propagates_from_pages(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    serve_pages(mock, TOP_TRACKS[1], collection(["a"], "t2"), 404)
    paginator = client.paginate(client.get_top_tracks)
    pages = paginator.pages()

    assert next(pages).items[0].id == "a"
    assert paginator.cursor == "t2"
    with pytest.raises(NotFoundError):
        next(pages)
    assert paginator.cursor == "t2"


def test_an_empty_page_with_a_next_cursor_is_followed(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    serve_pages(
        mock,
        TOP_TRACKS[1],
        collection(["a", "b"], "t2"),
        collection([], "t3"),
        collection([], "t4"),
        collection(["c"], None),
    )

    items = client.paginate(client.get_top_tracks).to_list()

    assert [item.id for item in items] == ["a", "b", "c"]
    assert [query.get("cursor") for query in queries(mock)] == [None, "t2", "t3", "t4"]


def test_has_next_page_without_a_token_follows_the_last_edge_cursor(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    first = {
        "pageInfo": {"hasNextPage": True},
        "edges": [{"node": {"id": "a"}, "cursor": "e1"}, {"node": {"id": "b"}, "cursor": "e2"}],
    }
    serve_pages(mock, TOP_TRACKS[1], first, collection(["c"], None))

    items = client.paginate(client.get_top_tracks).to_list()

    assert [item.id for item in items] == ["a", "b", "c"]
    assert queries(mock)[1]["cursor"] == "e2"


@pytest.mark.parametrize(
    "answers",
    [
        [collection(["a"], "t1"), collection(["b"], "t1")],
        [collection(["a"], "t1"), collection(["b"], "t2"), collection(["c"], "t1")],
        [collection(["a"], "t1"), collection([], "t1")],
    ],
)
def test_a_repeated_cursor_raises_pagination_error(
    mock: responses.RequestsMock, client: BrowseClient, answers: list[dict[str, Any]]
) -> None:
    serve_pages(mock, TOP_TRACKS[1], *answers)

    with pytest.raises(PaginationError):
        client.paginate(client.get_top_tracks).to_list()

    assert len(mock.calls) == len(answers)


def test_a_server_answering_with_the_start_cursor_raises_pagination_error(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    serve_pages(mock, TOP_TRACKS[1], collection(["a"], "start"))

    with pytest.raises(PaginationError):
        client.paginate(client.get_top_tracks, cursor="start").to_list()

    assert len(mock.calls) == 1


# -- laziness --------------------------------------------------------------------------------


def test_nothing_is_requested_before_iteration(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    serve(mock, CATEGORIES, ids_of(5))

    paginator = client.paginate(client.get_categories, page_size=2, max_items=4, cursor="c1")
    text = repr(paginator)
    items = iter(paginator)
    pages = paginator.pages()
    assert paginator.cursor == "c1"
    assert len(mock.calls) == 0

    assert "Paginator" in text
    assert next(items).id == "i1"
    assert len(mock.calls) == 1
    del pages


def test_each_iteration_starts_again(mock: responses.RequestsMock, client: BrowseClient) -> None:
    serve(mock, CATEGORIES, ids_of(5))
    paginator = client.paginate(client.get_categories, page_size=2)

    assert [item.id for item in paginator] == ids_of(5)
    assert [item.id for item in paginator] == ids_of(5)
    assert len(mock.calls) == 6


# -- what paginate accepts ------------------------------------------------------------------


def not_a_client_method(*, limit: int | None = None, cursor: str | None = None) -> Any:
    raise AssertionError("never called")


class NotAClient:
    def get_top_tracks(self, *, limit: int | None = None, cursor: str | None = None) -> Any:
        raise AssertionError("never called")


@pytest.mark.parametrize(
    "method",
    [
        lambda client: client.get_category,
        lambda client: lambda **kwargs: client.get_top_tracks(**kwargs),
        lambda client: not_a_client_method,
        lambda client: NotAClient().get_top_tracks,
        lambda client: BrowseClient.get_top_tracks,
        lambda client: client.paginate,
        lambda client: client.close,
    ],
    ids=["get_category", "lambda", "function", "other-class", "unbound", "paginate", "close"],
)
def test_paginate_refuses_anything_but_a_list_method(
    mock: responses.RequestsMock, client: BrowseClient, method: Callable[[BrowseClient], Any]
) -> None:
    with pytest.raises(TypeError, match="list method"):
        client.paginate(method(client), CATEGORY_ID)

    assert len(mock.calls) == 0


def test_paginate_refuses_limit_in_kwargs(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    with pytest.raises(TypeError, match="limit"):
        client.paginate(client.get_top_tracks, limit=5)

    assert len(mock.calls) == 0


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "error"),
    [
        ("get_category_tracks", ("",), {}, ValueError),
        ("get_category_tracks", (" 2iB4IU25",), {}, ValueError),
        ("get_category_tracks", ("..",), {}, ValueError),
        ("get_category_tracks", (42,), {}, TypeError),
        ("get_category_tracks", (None,), {}, TypeError),
        ("get_category_tracks", (), {}, TypeError),
        ("get_category_tracks", (), {"category_id": ""}, ValueError),
        ("get_category_albums", (CATEGORY_ID, "extra"), {}, TypeError),
        ("get_top_tracks", (CATEGORY_ID,), {}, TypeError),
        ("get_top_tracks", (), {"unknown": 1}, TypeError),
    ],
)
def test_paginate_checks_the_method_arguments_before_any_request(
    mock: responses.RequestsMock,
    client: BrowseClient,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        client.paginate(getattr(client, name), *args, **kwargs)

    assert len(mock.calls) == 0


def test_paginate_works_with_an_overriding_subclass(mock: responses.RequestsMock) -> None:
    seen: list[tuple[int | None, str | None]] = []

    class MyClient(BrowseClient):
        def get_top_tracks(
            self, *, limit: int | None = None, cursor: str | None = None
        ) -> ResponseCollection[Track]:
            seen.append((limit, cursor))
            return super().get_top_tracks(limit=limit, cursor=cursor)

    serve(mock, TOP_TRACKS, ids_of(30))
    client = MyClient(API_KEY, ACCESS_TOKEN)

    items = client.paginate(client.get_top_tracks).to_list()

    assert [item.id for item in items] == ids_of(30)
    assert seen == [(20, None), (20, "c20")]


def test_to_list_and_pages(mock: responses.RequestsMock, client: BrowseClient) -> None:
    serve(mock, CATEGORIES, ids_of(7))

    everything = client.paginate(client.get_categories, page_size=3).to_list()
    pages = list(client.paginate(client.get_categories, page_size=3).pages())

    assert [item.id for item in everything] == ids_of(7)
    assert all(isinstance(page, ResponseCollection) for page in pages)
    assert [[item.id for item in page] for page in pages] == [
        ["i0", "i1", "i2"],
        ["i3", "i4", "i5"],
        ["i6"],
    ]
    assert [page.next_cursor for page in pages] == ["c3", "c6", None]


@pytest.mark.parametrize("by_keyword", [False, True])
def test_category_collections_pass_the_category_id_through(
    mock: responses.RequestsMock, client: BrowseClient, by_keyword: bool
) -> None:
    serve(mock, CATEGORY_TRACKS, ids_of(5))
    args: tuple[str, ...] = () if by_keyword else (CATEGORY_ID,)
    kwargs = {"category_id": CATEGORY_ID} if by_keyword else {}

    pages = list(client.paginate(client.get_category_tracks, *args, page_size=2, **kwargs).pages())

    assert len(pages) == 3
    assert all(page.category is not None and page.category.id == CATEGORY_ID for page in pages)
    assert {urlsplit(call.request.url).path for call in mock.calls} == {
        f"/v1/browse/categories/{CATEGORY_ID}/tracks"
    }


def test_a_category_id_is_sent_encoded_on_every_page(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    endpoint = (
        "get_category_albums",
        "/v1/browse/categories/a%2Fb/albums",
        in_category("albums"),
        100,
    )
    serve(mock, endpoint, ids_of(3))

    items = client.paginate(client.get_category_albums, "a/b", page_size=1).to_list()

    assert len(items) == 3
    assert all("/categories/a%2Fb/albums" in call.request.url for call in mock.calls)


# -- the public Paginator --------------------------------------------------------------------


class Book:
    """A fake ``fetch_page`` over fixed pages; cursor ``"p<n>"`` names page n.

    Records each request and signals its start and end, so a test can tell what the
    background thread is doing. ``gates[n]`` holds page n until set; ``failures[n]`` is
    raised for page n.
    """

    def __init__(self, pages: list[list[str]], failures: dict[int, Exception] | None = None):
        self.pages = pages
        self.failures = failures or {}
        self.requests: list[tuple[int | None, str | None]] = []
        self.threads: list[str] = []
        self.started = [threading.Event() for _ in pages]
        self.finished = [threading.Event() for _ in pages]
        self.gates: dict[int, threading.Event] = {}

    def __call__(self, limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        index = 0 if cursor is None else int(cursor[1:])
        self.requests.append((limit, cursor))
        self.threads.append(threading.current_thread().name)
        self.started[index].set()
        try:
            if index in self.gates:
                assert self.gates[index].wait(5), "the test never opened the gate"
            if index in self.failures:
                raise self.failures[index]
            token = f"p{index + 1}" if index + 1 < len(self.pages) else None
            return ResponseCollection[Track].model_validate(collection(self.pages[index], token))
        finally:
            self.finished[index].set()


PAGES = [["a1", "a2"], ["b1", "b2"], ["c1", "c2"], ["d1"]]
ALL_ITEMS = [item for page in PAGES for item in page]


def ids(items: Any) -> list[str]:
    return [item.id for item in items]


def test_paginator_with_a_plain_function() -> None:
    shelf = ids_of(10)
    requests_: list[tuple[int | None, str | None]] = []

    def fetch_page(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        requests_.append((limit, cursor))
        start = 0 if cursor is None else int(cursor[1:])
        end = start + (limit or 4)
        token = f"o{end}" if end < len(shelf) else None
        return ResponseCollection[Track].model_validate(collection(shelf[start:end], token))

    paginator = Paginator(fetch_page, page_size=3, max_page_size=10, max_items=7)

    assert ids(paginator) == ids_of(7)
    assert requests_ == [(3, None), (3, "o3"), (1, "o6")]
    assert paginator.cursor == "o7"
    assert ids(Paginator(fetch_page, page_size=3, cursor=paginator.cursor)) == ["i7", "i8", "i9"]


def test_paginator_page_size_defaults_to_max_page_size() -> None:
    book = Book([["a"]])

    assert ids(Paginator(book, max_page_size=50)) == ["a"]
    assert book.requests == [(50, None)]


def test_paginator_without_any_page_size_lets_the_service_choose() -> None:
    book = Book([["a"], ["b"]])

    assert ids(Paginator(book)) == ["a", "b"]
    assert book.requests == [(None, None), (None, "p1")]


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"page_size": 11, "max_page_size": 10}, ValueError, "1 to 10"),
        ({"page_size": 0}, ValueError, "page_size"),
        ({"page_size": 2, "min_page_size": 5, "max_page_size": 10}, ValueError, "5 to 10"),
        ({"page_size": "3"}, TypeError, "page_size"),
        ({"max_items": -1}, ValueError, "max_items"),
        ({"cursor": 3}, TypeError, "cursor"),
    ],
)
def test_paginator_checks_its_arguments(
    options: dict[str, Any], error: type[Exception], match: str
) -> None:
    book = Book([["a"]])

    with pytest.raises(error, match=match):
        Paginator(book, **options)

    assert book.requests == []


def test_paginator_refuses_a_fetch_page_that_is_not_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        Paginator([1, 2, 3], page_size=2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answer",
    [{"pageInfo": {"hasNextPage": False}, "edges": []}, [Track(id="a")], None, Track(id="a")],
    ids=["dict", "list", "None", "item"],
)
def test_fetch_page_returning_something_else_raises_type_error(answer: Any) -> None:
    paginator = Paginator(lambda limit, cursor: answer, page_size=5)

    with pytest.raises(TypeError, match="ResponseCollection"):
        paginator.to_list()


def test_an_over_delivering_fetch_page_is_cut_to_max_items() -> None:
    def fetch(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        return ResponseCollection[Track].model_validate(collection(ids_of(10), "more"))

    paginator = Paginator(fetch, page_size=3, max_items=3)

    assert ids(paginator) == ["i0", "i1", "i2"]
    assert len(next(iter(paginator.pages()))) == 3


def test_too_many_empty_pages_in_a_row_raise_pagination_error() -> None:
    calls = []

    def fetch(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        calls.append(cursor)
        return ResponseCollection[Track].model_validate(collection([], f"e{len(calls)}"))

    with pytest.raises(PaginationError):
        Paginator(fetch, page_size=5).to_list()

    assert 1 < len(calls) <= 1000


# -- prefetch ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_size", "max_items", "max_pages"), [(30, None, None), (7, 50, None), (10, None, 4)]
)
def test_prefetch_gives_the_same_items_in_the_same_order(
    mock: responses.RequestsMock,
    client: BrowseClient,
    page_size: int,
    max_items: int | None,
    max_pages: int | None,
) -> None:
    ids_ = ids_of(250)
    serve(mock, CATEGORIES, ids_)
    options: dict[str, Any] = {
        "page_size": page_size,
        "max_items": max_items,
        "max_pages": max_pages,
    }

    plain = client.paginate(client.get_categories, **options)
    fetched = client.paginate(client.get_categories, prefetch=True, **options)
    plain_items, plain_calls = ids(plain), len(mock.calls)
    prefetched_items = ids(fetched)

    assert prefetched_items == plain_items
    assert len(mock.calls) == 2 * plain_calls
    assert fetched.cursor == plain.cursor


def test_prefetch_fetches_later_pages_on_a_background_thread() -> None:
    book = Book(PAGES)

    assert ids(Paginator(book, page_size=2, prefetch=True)) == ALL_ITEMS

    assert book.threads[0] == threading.current_thread().name
    assert all(name.startswith(PREFETCH_PREFIX) for name in book.threads[1:])


def test_prefetch_stays_at_most_one_page_ahead_with_pages() -> None:
    book = Book(PAGES)
    pages = Paginator(book, page_size=2, prefetch=True).pages()

    first = next(pages)
    assert book.finished[1].wait(2)  # page 2 came in the background...
    assert not book.started[2].wait(0.2)  # ...but not page 3 while we hold page 1
    assert ids(first) == ["a1", "a2"]

    second = next(pages)
    assert book.finished[2].wait(2)
    assert not book.started[3].wait(0.2)
    assert ids(second) == ["b1", "b2"]

    assert [ids(page) for page in pages] == [["c1", "c2"], ["d1"]]
    assert [cursor for _, cursor in book.requests] == [None, "p1", "p2", "p3"]


def test_prefetch_stays_at_most_one_page_ahead_with_items() -> None:
    book = Book(PAGES)
    items = iter(Paginator(book, page_size=2, prefetch=True))

    assert next(items).id == "a1"
    assert book.finished[1].wait(2)
    assert next(items).id == "a2"  # still on page 1
    assert not book.started[2].wait(0.2)

    assert next(items).id == "b1"  # page 2 handed over: page 3 may come now
    assert book.started[2].wait(2)
    assert not book.started[3].wait(0.2)
    assert ids(items) == ["b2", "c1", "c2", "d1"]


def test_a_prefetched_error_is_raised_when_its_page_is_reached() -> None:
    book = Book(PAGES, failures={2: RuntimeError("page 3 failed")})
    paginator = Paginator(book, page_size=2, prefetch=True)
    items = iter(paginator)
    received = [next(items).id]
    received.append(next(items).id)
    received.append(next(items).id)  # page 2 handed over; page 3 is fetched and fails
    assert book.finished[2].wait(2)

    received.append(next(items).id)  # the rest of page 2 still arrives
    with pytest.raises(RuntimeError, match="page 3 failed"):
        next(items)

    assert received == ["a1", "a2", "b1", "b2"]
    assert paginator.cursor == "p2"
    assert len(book.requests) == 3


def test_a_prefetched_error_of_a_client_page_propagates(
    mock: responses.RequestsMock, client: BrowseClient
) -> None:
    serve_pages(mock, TOP_TRACKS[1], collection(["a", "b"], "t2"), collection(["c"], "t3"), 503)
    paginator = client.paginate(client.get_top_tracks, prefetch=True)
    received = []

    with pytest.raises(InternalServerError):
        drain(paginator, received)

    assert received == ["a", "b", "c"]
    assert paginator.cursor == "t3"


def test_breaking_out_leaves_no_prefetch_thread() -> None:
    book = Book(PAGES)
    book.gates[1] = threading.Event()  # page 2 is still in flight when we leave

    for item in Paginator(book, page_size=2, prefetch=True):
        assert item.id == "a1"
        assert book.started[1].wait(2)
        assert prefetch_threads()
        break
    book.gates[1].set()

    assert wait_for_no_prefetch_threads() == []
    assert [cursor for _, cursor in book.requests] == [None, "p1"]


@pytest.mark.parametrize("mode", ["items", "pages"])
def test_closing_the_iterator_leaves_no_prefetch_thread(mode: str) -> None:
    book = Book(PAGES)
    paginator = Paginator(book, page_size=2, prefetch=True)
    iterator: Any = iter(paginator) if mode == "items" else paginator.pages()

    next(iterator)
    assert book.finished[1].wait(2)
    iterator.close()

    assert wait_for_no_prefetch_threads() == []
    assert len(book.requests) == 2
    with pytest.raises(StopIteration):
        next(iterator)


def test_exhausting_a_prefetching_paginator_leaves_no_thread() -> None:
    assert ids(Paginator(Book(PAGES), page_size=2, prefetch=True)) == ALL_ITEMS

    assert wait_for_no_prefetch_threads() == []


def test_the_cursor_does_not_count_a_prefetched_page_with_pages() -> None:
    book = Book(PAGES)
    paginator = Paginator(book, page_size=2, prefetch=True)
    pages = paginator.pages()

    next(pages)
    assert book.finished[1].wait(2)
    assert paginator.cursor == "p1"

    next(pages)
    assert book.finished[2].wait(2)
    assert paginator.cursor == "p2"
    pages.close()


def test_the_cursor_does_not_count_a_prefetched_page_with_items() -> None:
    book = Book(PAGES)
    paginator = Paginator(book, page_size=2, prefetch=True)
    items = iter(paginator)

    next(items)
    assert book.finished[1].wait(2)
    next(items)
    assert paginator.cursor is None  # page 1 is not yet received in full

    next(items)
    assert book.finished[2].wait(2)
    assert paginator.cursor == "p1"
    items.close()
