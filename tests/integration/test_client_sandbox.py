"""The client against the sandbox over real loopback HTTP: every endpoint, every page."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from amazon_music_browse import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    Category,
    NotFoundError,
    ResponseCollection,
    _auth,
)
from amazon_music_browse.sandbox import SandboxServer
from amazon_music_browse.sandbox._catalog import DEFAULT_SIZES
from tests._support import FakeClock

HEAVY_METAL = "2iB4IU25"

# (client method name, category id or None, catalog key, first ids the Browse page documents)
COLLECTIONS: list[tuple[str, str | None, str, list[str]]] = [
    ("get_top_tracks", None, "topTracks", ["B0785GTW4T", "B08ZCM5758"]),
    ("get_top_playlists", None, "topPlaylists", ["B00J9PVXBM", "B0B2239T2L"]),
    (
        "get_new_podcast_episodes",
        None,
        "newPodcastEpisodes",
        ["0c1dc966-2345-4530-b388-e33bc06f4401", "17d202dc-7d25-4ebf-af62-850e79024486"],
    ),
    ("get_categories", None, "browseCategories", [HEAVY_METAL, "hZiJ3FwS", "cpdRsfJP"]),
    ("get_category_albums", "E9UEPoEH", "albums", ["B003R490PW", "B00DRA5QC2"]),
    ("get_category_playlists", "hZiJ3FwS", "playlists", ["B00KO8YSNS", "B00KNI5EVO"]),
    ("get_category_tracks", "E9UEPoEH", "tracks", ["B07PPVYNQZ", "B00DRA5QX6"]),
]


def method_of(client: BrowseClient, name: str) -> Callable[..., ResponseCollection[Any]]:
    method: Callable[..., ResponseCollection[Any]] = getattr(client, name)
    return method


@pytest.mark.parametrize(("name", "category_id", "key", "first_ids"), COLLECTIONS)
def test_every_page_at_the_maximum_page_size_with_no_duplicate_or_missing_id(
    sandbox: SandboxServer,
    client: BrowseClient,
    name: str,
    category_id: str | None,
    key: str,
    first_ids: list[str],
) -> None:
    args = (category_id,) if category_id else ()
    before = sandbox.request_count

    pages = list(client.paginate(method_of(client, name), *args).pages())

    ids = [item.id for page in pages for item in page]
    maximum = 20 if name == "get_top_tracks" else 100
    assert len(ids) == DEFAULT_SIZES[key]
    assert len(set(ids)) == len(ids)
    assert ids[: len(first_ids)] == first_ids
    assert [len(page) for page in pages[:-1]] == [maximum] * (len(pages) - 1)
    assert len(pages) == math.ceil(DEFAULT_SIZES[key] / maximum) >= 3
    assert sandbox.request_count - before == len(pages)
    assert pages[-1].next_cursor is None
    if category_id:
        assert all(page.category is not None for page in pages)
        assert {page.category.id for page in pages if page.category} == {category_id}


@pytest.mark.parametrize(("name", "category_id", "key", "first_ids"), COLLECTIONS)
def test_small_pages_and_max_items_cover_the_same_items(
    client: BrowseClient, name: str, category_id: str | None, key: str, first_ids: list[str]
) -> None:
    args = (category_id,) if category_id else ()
    method = method_of(client, name)

    first_57 = [item.id for item in client.paginate(method, *args, page_size=7, max_items=57)]
    reference = [item.id for item in client.paginate(method, *args, max_items=57)]

    assert first_57 == reference
    assert len(first_57) == 57


def test_resume_from_a_saved_cursor_continues_exactly(client: BrowseClient) -> None:
    everything = [p.id for p in client.paginate(client.get_top_playlists)]
    paginator = client.paginate(client.get_top_playlists, page_size=30, max_pages=4)
    first = [p.id for p in paginator]

    rest = [p.id for p in client.paginate(client.get_top_playlists, cursor=paginator.cursor)]

    assert first + rest == everything


def test_one_category(client: BrowseClient) -> None:
    category = client.get_category(HEAVY_METAL)

    assert category == Category(
        id=HEAVY_METAL,
        name="Heavy Metal",
        url=f"https://music.amazon.com/genres/{HEAVY_METAL}",
        category_type="GENRE",
    )


def test_documented_second_page_of_categories(client: BrowseClient) -> None:
    first = client.get_categories(limit=2)
    second = client.get_categories(limit=2, cursor=first.next_cursor)

    assert [(c.id, c.name) for c in second] == [
        ("cpdRsfJP", "Technoid"),
        ("vx0YEGc1", "Latin Urban"),
    ]
    assert [edge.cursor for edge in second.edges] == ["2:cpdRsfJP", "3:vx0YEGc1"]


def test_the_error_answers(sandbox: SandboxServer, client: BrowseClient) -> None:
    with pytest.raises(NotFoundError) as not_found:
        client.get_category_tracks("no-such-category")
    with pytest.raises(BadRequestError) as bad_cursor:
        client.get_top_tracks(cursor="forged-cursor")
    with pytest.raises(AuthenticationError) as bad_key:
        sandbox.client(api_key="wrong-key").get_top_tracks()
    with pytest.raises(AuthenticationError) as bad_token:
        sandbox.client(access_token="Atza|wrong").get_top_tracks()

    assert (not_found.value.status_code, not_found.value.code) == (404, "RESOURCE_NOT_FOUND")
    assert not_found.value.request_id == not_found.value.reference
    assert (bad_cursor.value.status_code, bad_cursor.value.code) == (400, "BAD_REQUEST")
    assert bad_key.value.code == "INVALID_CLIENT_ID"
    assert bad_token.value.code == "INVALID_ACCESS_TOKEN"
    assert "wrong-key" not in str(bad_key.value)
    assert "Atza|wrong" not in str(bad_token.value)


def test_injected_faults_are_survived_by_the_retries(sleeps: list[float]) -> None:
    with SandboxServer(rate_limit_rate=0.2, server_error_rate=0.1, retry_after=0, seed=7) as faulty:
        client = faulty.client(max_retries=8)

        tracks = client.paginate(client.get_category_tracks, HEAVY_METAL, page_size=10)
        ids = [track.id for track in tracks]
        faults = faulty.faults

    assert len(ids) == len(set(ids)) == DEFAULT_SIZES["tracks"]
    assert faults["429"] > 0
    assert faults["500"] + faults["503"] > 0
    assert len(sleeps) == sum(faults.values())
    assert set(sleeps) == {0.0}


def test_prefetch_gives_the_same_items_over_http() -> None:
    with SandboxServer(latency=0.005) as slow:
        client = slow.client()
        plain = [p.id for p in client.paginate(client.get_top_playlists, page_size=50)]
        ahead = [
            p.id for p in client.paginate(client.get_top_playlists, page_size=50, prefetch=True)
        ]

    assert ahead == plain
    assert len(plain) == DEFAULT_SIZES["topPlaylists"]


def test_a_stopped_sandbox_is_a_connection_error(sleeps: list[float]) -> None:
    with SandboxServer() as gone:
        client = gone.client(max_retries=1)
    with pytest.raises(APIConnectionError):
        client.get_top_tracks()
    assert len(sleeps) == 1


def test_login_with_amazon_refreshes_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(_auth, "_monotonic", clock)
    with SandboxServer(token_lifetime=100, clock=clock) as sandbox:
        client = sandbox.client(access_token=sandbox.login_with_amazon())

        client.get_top_tracks(limit=1)
        client.get_top_tracks(limit=1)
        assert sandbox.token_requests == 1

        clock.now += 95  # less than a tenth of the lifetime left: renewed before use
        client.get_top_tracks(limit=1)
        assert sandbox.token_requests == 2


def test_a_token_refused_by_the_service_is_refreshed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    service_clock, client_clock = FakeClock(), FakeClock()
    monkeypatch.setattr(_auth, "_monotonic", client_clock)
    with SandboxServer(token_lifetime=100, clock=service_clock) as sandbox:
        client = sandbox.client(access_token=sandbox.login_with_amazon(), max_retries=0)
        client.get_top_tracks(limit=1)

        service_clock.now += 500  # expired for the service; the provider does not know yet
        page = client.get_top_tracks(limit=1)

        assert len(page) == 1
        assert sandbox.token_requests == 2


def test_the_static_token_is_refused_when_tokens_expire() -> None:
    with SandboxServer(token_lifetime=60) as sandbox, pytest.raises(AuthenticationError) as caught:
        sandbox.client().get_top_tracks()
    assert caught.value.code == "INVALID_ACCESS_TOKEN"


def test_the_pytest_fixture_gives_a_running_sandbox(amazon_music_sandbox: SandboxServer) -> None:
    page = amazon_music_sandbox.client().get_top_tracks(limit=2)

    assert [track.title for track in page] == ["Beggin' [Explicit]", "Heat Waves"]
    assert amazon_music_sandbox.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("category_id", ["2iB4IU25/tracks", "2iB4IU25%2Ftracks", "../categories"])
def test_an_id_never_reaches_another_route(client: BrowseClient, category_id: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_category(category_id)

    assert repr(category_id) in str(caught.value)


def test_map_fans_out_over_every_category_in_input_order(client: BrowseClient) -> None:
    ids = [category.id for category in client.paginate(client.get_categories, max_items=40)]

    pages = client.map(client.get_category_tracks, ids, max_workers=8, limit=3)

    assert [page.category.id if page.category else None for page in pages] == ids
    for category_id, page in zip(ids[:5], pages[:5], strict=True):
        alone = client.get_category_tracks(category_id, limit=3)
        assert [track.id for track in page] == [track.id for track in alone]
