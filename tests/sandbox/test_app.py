"""The WSGI app, called directly: every endpoint, pagination, errors, tokens, faults."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Mapping
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from amazon_music_browse.sandbox._app import SandboxApp
from amazon_music_browse.sandbox._catalog import Catalog
from amazon_music_browse.sandbox._config import SandboxConfig
from amazon_music_browse.sandbox._cursors import CursorCodec
from amazon_music_browse.sandbox._faults import FAULT_ENVIRON_KEY, SocketFault

from ._support import (
    AUTH,
    LWA_FORM,
    MAX_LIMITS,
    Answer,
    FakeClock,
    call,
    make_app,
    page_through,
    token_request,
)

COLLECTIONS = {
    "/v1/browse/tracks/top": ("topTracks", None),
    "/v1/browse/playlists/top": ("topPlaylists", None),
    "/v1/browse/podcasts/episodes/new": ("newPodcastEpisodes", None),
    "/v1/browse/categories": ("browseCategories", None),
    "/v1/browse/categories/E9UEPoEH/albums": ("albums", "E9UEPoEH"),
    "/v1/browse/categories/hZiJ3FwS/playlists": ("playlists", "hZiJ3FwS"),
    "/v1/browse/categories/E9UEPoEH/tracks": ("tracks", "E9UEPoEH"),
}
NO_FAULTS = {"429": 0, "500": 0, "503": 0, "drop": 0, "truncate": 0, "stall": 0}


def catalog_ids(app: SandboxApp, path: str) -> list[str]:
    key, category_id = COLLECTIONS[path]
    if category_id is None:
        nodes = app.catalog.collection(key)
    else:
        nodes = app.catalog.category_collection(category_id, key)
    return [node["id"] for node in nodes]


def assert_error(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.body == {
        "error": {
            "status": str(status),
            "code": code,
            "message": answer.body["error"]["message"],
            "reference": answer.headers["x-amzn-requestid"],
        }
    }
    assert answer.body["error"]["message"]


# --- successful answers -------------------------------------------------------------------


def test_top_tracks_first_page_reproduces_the_documented_example(app: SandboxApp) -> None:
    answer = call(app, "/v1/browse/tracks/top", {"limit": 2})
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert int(answer.headers["content-length"]) > 0
    page = answer.body["data"]["topTracks"]
    assert page["pageInfo"]["hasNextPage"] is True
    assert isinstance(page["pageInfo"]["token"], str)
    assert page["edgeCount"] == 2
    assert page["edges"] == [
        {
            "node": {
                "id": "B0785GTW4T",
                "title": "Beggin' [Explicit]",
                "url": "https://music.amazon.com/albums/B077XF8X4W/?trackAsin=B0785GTW4T",
            }
        },
        {
            "node": {
                "id": "B08ZCM5758",
                "title": "Heat Waves",
                "url": "https://music.amazon.com/albums/B08ZCTL3QB/?trackAsin=B08ZCM5758",
            }
        },
    ]


@pytest.mark.parametrize("path", sorted(MAX_LIMITS))
def test_limit_defaults_to_the_maximum(app: SandboxApp, path: str) -> None:
    page = call(app, path).collection()
    assert page["edgeCount"] == len(page["edges"]) == MAX_LIMITS[path]
    ids = [edge["node"]["id"] for edge in page["edges"]]
    assert ids == catalog_ids(app, path)[: MAX_LIMITS[path]]


@pytest.mark.parametrize("path", sorted(MAX_LIMITS))
@pytest.mark.parametrize("page_size", ["max", 7])
def test_pagination_returns_every_item_once_in_order(
    app: SandboxApp, path: str, page_size: int | str
) -> None:
    limit = MAX_LIMITS[path] if page_size == "max" else int(page_size)
    assert page_through(app, path, limit) == catalog_ids(app, path)


def test_the_first_page_of_a_large_collection_costs_only_its_own_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[int] = []
    make_track = Catalog._tracks

    def counting_track(self: Catalog, *args: Any) -> Any:
        made.append(1)
        return make_track(self, *args)

    monkeypatch.setattr(Catalog, "_tracks", counting_track)
    app = make_app(catalog_sizes={"tracks": 100_000})
    first = call(app, "/v1/browse/categories/2iB4IU25/tracks", {"limit": 100}).collection()
    assert first["edgeCount"] == 100
    assert len(made) == 100  # not 100,000: the rest is built when a page reaches it
    cursor = first["pageInfo"]["token"]
    query = {"limit": 100, "cursor": cursor}
    assert (
        call(app, "/v1/browse/categories/2iB4IU25/tracks", query).collection()["edgeCount"] == 100
    )
    assert len(made) == 200


def test_pagination_without_limit_uses_the_default(app: SandboxApp) -> None:
    path = "/v1/browse/categories"
    assert page_through(app, path, None) == catalog_ids(app, path)


def test_page_size_may_change_between_pages(app: SandboxApp) -> None:
    path = "/v1/browse/playlists/top"
    first = call(app, path, {"limit": 100}).collection()
    second = call(app, path, {"limit": 3, "cursor": first["pageInfo"]["token"]}).collection()
    ids = [edge["node"]["id"] for edge in first["edges"] + second["edges"]]
    assert ids == catalog_ids(app, path)[:103]


def test_categories_edges_carry_the_documented_cursor(app: SandboxApp) -> None:
    first = call(app, "/v1/browse/categories", {"limit": 2}).collection()
    assert [edge["cursor"] for edge in first["edges"]] == ["0:2iB4IU25", "1:hZiJ3FwS"]
    second = call(
        app, "/v1/browse/categories", {"limit": 2, "cursor": first["pageInfo"]["token"]}
    ).collection()
    assert second["edges"] == [
        {"node": {"id": "cpdRsfJP", "name": "Technoid"}, "cursor": "2:cpdRsfJP"},
        {"node": {"id": "vx0YEGc1", "name": "Latin Urban"}, "cursor": "3:vx0YEGc1"},
    ]


@pytest.mark.parametrize("path", sorted(set(MAX_LIMITS) - {"/v1/browse/categories"}))
def test_other_edges_carry_no_cursor(app: SandboxApp, path: str) -> None:
    assert all(set(edge) == {"node"} for edge in call(app, path).collection()["edges"])


def test_get_category(app: SandboxApp) -> None:
    answer = call(app, "/v1/browse/categories/2iB4IU25")
    assert answer.status == 200
    assert answer.body == {
        "data": {
            "category": {
                "id": "2iB4IU25",
                "name": "Heavy Metal",
                "url": "https://music.amazon.com/genres/2iB4IU25",
                "categoryType": "GENRE",
            }
        }
    }


@pytest.mark.parametrize("key", ["albums", "playlists", "tracks"])
def test_category_collections_sit_beside_the_category(app: SandboxApp, key: str) -> None:
    answer = call(app, f"/v1/browse/categories/E9UEPoEH/{key}", {"limit": 2})
    category = answer.body["data"]["category"]
    assert set(category) == {"id", "name", "url", key}
    assert category["id"] == "E9UEPoEH"
    assert category["name"] == "Sacred Steel"
    assert category["url"] == "https://music.amazon.com/genres/E9UEPoEH"
    assert category[key]["edgeCount"] == 2


def test_sacred_steel_albums_reproduce_the_documented_example(app: SandboxApp) -> None:
    page = call(app, "/v1/browse/categories/E9UEPoEH/albums", {"limit": 2}).collection()
    assert [edge["node"] for edge in page["edges"]] == [
        {
            "id": "B003R490PW",
            "title": "We Walk This Road",
            "url": "https://music.amazon.com/albums/B003R490PW",
        },
        {
            "id": "B00DRA5QC2",
            "title": "Lickety Split",
            "url": "https://music.amazon.com/albums/B00DRA5QC2",
        },
    ]


def test_bearer_scheme_is_case_insensitive(app: SandboxApp) -> None:
    headers = {"x-api-key": "sandbox-key", "Authorization": "bearer sandbox-token"}
    assert call(app, "/v1/browse/tracks/top", headers=headers).status == 200


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Authorization": "Bearer sandbox-token"}, "NO_X_API_KEY"),
        ({"x-api-key": "", "Authorization": "Bearer sandbox-token"}, "NO_X_API_KEY"),
        ({"x-api-key": "other-key", "Authorization": "Bearer sandbox-token"}, "INVALID_CLIENT_ID"),
        ({"x-api-key": "sandbox-key"}, "INVALID_AUTH_TYPE"),
        ({"x-api-key": "sandbox-key", "Authorization": "Basic c2FuZGJveA=="}, "INVALID_AUTH_TYPE"),
        ({"x-api-key": "sandbox-key", "Authorization": "sandbox-token"}, "INVALID_AUTH_TYPE"),
        ({"x-api-key": "sandbox-key", "Authorization": "Bearer"}, "INVALID_AUTH_TOKEN"),
        ({"x-api-key": "sandbox-key", "Authorization": "Bearer   "}, "INVALID_AUTH_TOKEN"),
        ({"x-api-key": "sandbox-key", "Authorization": "Bearer nope"}, "INVALID_ACCESS_TOKEN"),
        (
            {"x-api-key": "sandbox-kéy", "Authorization": "Bearer sandbox-token"},
            "INVALID_CLIENT_ID",
        ),
    ],
)
def test_credential_errors(app: SandboxApp, headers: dict[str, str], code: str) -> None:
    assert_error(call(app, "/v1/browse/tracks/top", headers=headers), 401, code)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1/browse/tracks",
        "/v1/browse/tracks/top/",
        "/v1/browse/browse/categories",
        "/v1/browse/categories/",
        "/v1/browse/categories/E9UEPoEH/artists",
        "/v1/browse/categories/E9UEPoEH/tracks/extra",
        "/v1/browse/categories//tracks",
    ],
)
def test_unknown_paths_are_404(app: SandboxApp, path: str) -> None:
    assert_error(call(app, path), 404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize("suffix", ["", "/albums", "/playlists", "/tracks"])
def test_unknown_category_is_404(app: SandboxApp, suffix: str) -> None:
    answer = call(app, f"/v1/browse/categories/e9uepoeh{suffix}")
    assert_error(answer, 404, "RESOURCE_NOT_FOUND")
    assert "'e9uepoeh'" in answer.body["error"]["message"]


def test_path_ids_are_read_as_utf8(app: SandboxApp) -> None:
    answer = call(app, "/v1/browse/categories/Ünïcødé ✓")
    assert_error(answer, 404, "RESOURCE_NOT_FOUND")
    assert "'Ünïcødé ✓'" in answer.body["error"]["message"]


@pytest.mark.parametrize(
    ("path_info", "category_id"),
    [
        ("/v1/browse/categories/\xff\xfe", "\xff\xfe"),  # not UTF-8: kept as latin-1 text
        ("/v1/browse/categories/\u2713", "\u2713"),  # a server that decoded it already
    ],
)
def test_undecodable_paths_are_looked_up_as_they_are(
    app: SandboxApp, path_info: str, category_id: str
) -> None:
    answer = call(app, "/", environ_overrides={"PATH_INFO": path_info})
    assert_error(answer, 404, "RESOURCE_NOT_FOUND")
    assert repr(category_id) in answer.body["error"]["message"]


@pytest.mark.parametrize(
    ("raw_uri", "status"),
    [
        ("/v1/browse/categories/E9UEPoEH?limit=1", 200),
        ("http://127.0.0.1:1/v1/browse/categories/E9UEPoEH", 200),  # absolute-form
        ("//x/v1/browse/categories/E9UEPoEH", 404),  # a path, not a host named "x"
        ("/v1/browse/categories/E9UEPoEH%2Ftracks", 404),  # one segment
    ],
)
def test_routing_reads_the_request_target_as_sent(
    app: SandboxApp, raw_uri: str, status: int
) -> None:
    answer = call(app, "/", environ_overrides={"RAW_URI": raw_uri})
    assert answer.status == status


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_other_methods_are_405(app: SandboxApp, method: str) -> None:
    answer = call(app, "/v1/browse/categories/E9UEPoEH", method=method)
    assert_error(answer, 405, "METHOD_NOT_ALLOWED")
    assert answer.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/v1/browse/tracks/top", "0"),
        ("/v1/browse/tracks/top", "21"),
        ("/v1/browse/playlists/top", "101"),
        ("/v1/browse/categories/E9UEPoEH/tracks", "-1"),
        ("/v1/browse/categories", "abc"),
        ("/v1/browse/categories", ""),
        ("/v1/browse/categories", "1.5"),
        ("/v1/browse/categories", " 5"),
        ("/v1/browse/categories", "+5"),
        ("/v1/browse/categories", "9" * 5000),
    ],
)
def test_bad_limit_is_400_naming_the_bounds(app: SandboxApp, path: str, limit: str) -> None:
    answer = call(app, path, {"limit": limit})
    assert_error(answer, 400, "BAD_REQUEST")
    assert f"from 1 to {MAX_LIMITS.get(path, 100)}" in answer.body["error"]["message"]


@pytest.mark.parametrize("path", sorted(MAX_LIMITS))
def test_limit_bounds_are_inclusive(app: SandboxApp, path: str) -> None:
    assert call(app, path, {"limit": 1}).collection()["edgeCount"] == 1
    assert call(app, path, {"limit": MAX_LIMITS[path]}).status == 200


def test_repeated_limit_is_400(app: SandboxApp) -> None:
    assert_error(call(app, "/v1/browse/categories", "limit=1&limit=2"), 400, "BAD_REQUEST")


def next_token(app: SandboxApp, path: str) -> str:
    token: str = call(app, path, {"limit": 1}).collection()["pageInfo"]["token"]
    return token


@pytest.mark.parametrize(
    ("token_path", "path"),
    [
        ("/v1/browse/playlists/top", "/v1/browse/tracks/top"),
        ("/v1/browse/categories/E9UEPoEH/tracks", "/v1/browse/categories/hZiJ3FwS/tracks"),
        ("/v1/browse/categories/E9UEPoEH/albums", "/v1/browse/categories/E9UEPoEH/tracks"),
        ("/v1/browse/categories", "/v1/browse/podcasts/episodes/new"),
    ],
)
def test_cursor_of_another_collection_is_400(app: SandboxApp, token_path: str, path: str) -> None:
    token = next_token(app, token_path)
    assert_error(call(app, path, {"cursor": token}), 400, "BAD_REQUEST")


@pytest.mark.parametrize("cursor", ["", "garbage", "3:vx0YEGc1", "a.b", "....", "é.é"])
def test_malformed_cursor_is_400(app: SandboxApp, cursor: str) -> None:
    assert_error(call(app, "/v1/browse/categories", {"cursor": cursor}), 400, "BAD_REQUEST")


def test_tampered_cursor_is_400(app: SandboxApp) -> None:
    token = next_token(app, "/v1/browse/playlists/top")
    body, _, signature = token.partition(".")
    codec = CursorCodec(seed=0)
    forged_body = codec.encode("topPlaylists", 250).partition(".")[0]
    for forged in (f"{forged_body}.{signature}", f"{body}.{signature[:-1]}A", f"{body}."):
        answer = call(app, "/v1/browse/playlists/top", {"cursor": forged})
        assert_error(answer, 400, "BAD_REQUEST")


def test_cursors_survive_a_restart_with_the_same_seed_only(app: SandboxApp) -> None:
    token = next_token(app, "/v1/browse/playlists/top")
    page = call(SandboxApp(), "/v1/browse/playlists/top", {"cursor": token}).collection()
    assert page["edges"][0]["node"]["id"] == catalog_ids(app, "/v1/browse/playlists/top")[1]
    other_seed = make_app(seed=1)
    assert call(other_seed, "/v1/browse/playlists/top", {"cursor": token}).status == 400


def test_request_ids_are_unique_and_deterministic() -> None:
    def ids(app: SandboxApp) -> list[str]:
        paths = ["/v1/browse/tracks/top", "/nope", "/auth/o2/token"]
        return [call(app, path).headers["x-amzn-requestid"] for path in paths * 3]

    first = ids(SandboxApp())
    assert first == ids(SandboxApp())
    assert len(set(first)) == len(first)
    assert all(str(uuid.UUID(request_id)) == request_id for request_id in first)


# --- the token endpoint -------------------------------------------------------------------


def test_token_endpoint_issues_tokens_the_api_accepts(clock: FakeClock) -> None:
    app = make_app(clock)
    answer = token_request(app)
    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert "x-amzn-requestid" in answer.headers
    token = answer.body["access_token"]
    assert answer.body == {
        "access_token": token,
        "refresh_token": "sandbox-refresh",
        "token_type": "bearer",
        "expires_in": 3600,
    }
    assert token.startswith("Atza|")
    assert len(token) >= 350
    assert app.issued_tokens == {token: 1000.0 + 3600}
    assert token_request(app).body["access_token"] != token
    assert app.token_requests == 2
    headers = {"x-api-key": "sandbox-key", "Authorization": f"Bearer {token}"}
    assert call(app, "/v1/browse/tracks/top", headers=headers).status == 200
    assert call(app, "/v1/browse/tracks/top").status == 200  # the static token too


def test_issued_tokens_expire_on_the_clock(clock: FakeClock) -> None:
    app = make_app(clock, token_lifetime=90)
    answer = token_request(app)
    assert answer.body["expires_in"] == 90
    headers = {"x-api-key": "sandbox-key", "Authorization": f"Bearer {answer.body['access_token']}"}
    clock.now += 89.9
    assert call(app, "/v1/browse/tracks/top", headers=headers).status == 200
    clock.now += 0.1
    expired = call(app, "/v1/browse/tracks/top", headers=headers)
    assert_error(expired, 401, "INVALID_ACCESS_TOKEN")
    assert "expired" in expired.body["error"]["message"]


def test_fractional_lifetime_is_rounded_up_in_expires_in() -> None:
    assert token_request(make_app(token_lifetime=0.5)).body["expires_in"] == 1


def test_static_token_is_refused_when_tokens_expire() -> None:
    app = make_app(token_lifetime=60)
    assert_error(call(app, "/v1/browse/tracks/top"), 401, "INVALID_ACCESS_TOKEN")


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_id": "other"}, 401, "invalid_client"),
        ({"client_secret": "other"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|other"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "unsupported_grant_type"),
        ({"client_secret": None}, 400, "invalid_request"),
        ({"refresh_token": ""}, 400, "invalid_request"),
    ],
)
def test_token_endpoint_errors(changes: dict[str, str | None], status: int, error: str) -> None:
    form = {**LWA_FORM, **changes}
    answer = token_request(SandboxApp(), {k: v for k, v in form.items() if v is not None})
    assert answer.status == status
    assert answer.body == {"error": error, "error_description": answer.body["error_description"]}
    assert answer.body["error_description"]
    assert answer.headers["cache-control"] == "no-store"


def test_token_endpoint_names_missing_parameters() -> None:
    answer = token_request(SandboxApp(), {"grant_type": "refresh_token", "client_id": "x"})
    assert answer.body["error"] == "invalid_request"
    assert "refresh_token, client_secret" in answer.body["error_description"]


def test_token_endpoint_wants_a_form_post(app: SandboxApp) -> None:
    get = call(app, "/auth/o2/token", headers={})
    assert get.status == 405
    assert get.headers["allow"] == "POST"
    as_json = call(
        app,
        "/auth/o2/token",
        method="POST",
        headers={},
        body=b'{"grant_type": "refresh_token"}',
        content_type="application/json",
    )
    assert as_json.status == 400
    assert as_json.body["error"] == "invalid_request"
    repeated = call(
        app,
        "/auth/o2/token",
        method="POST",
        headers={},
        body=b"grant_type=refresh_token&grant_type=refresh_token",
        content_type="application/x-www-form-urlencoded",
    )
    assert repeated.body["error"] == "invalid_request"
    too_large = call(
        app,
        "/auth/o2/token",
        method="POST",
        headers={},
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"CONTENT_LENGTH": str(64 * 1024 + 1)},
    )
    assert too_large.body["error"] == "invalid_request"
    assert "Content-Length" in too_large.body["error_description"]


def test_token_endpoint_is_never_faulted_nor_delayed() -> None:
    sleeps: list[float] = []
    config = SandboxConfig(rate_limit_rate=1.0, latency=2.5, clock=FakeClock())
    app = SandboxApp(config, sleep=sleeps.append)
    assert token_request(app).status == 200
    assert app.faults == NO_FAULTS
    assert app.request_count == 0
    assert sleeps == []


# --- fault injection and latency ----------------------------------------------------------


def test_rate_limit_fault(clock: FakeClock) -> None:
    app = make_app(clock, rate_limit_rate=1.0, retry_after=7)
    answer = call(app, "/v1/browse/tracks/top")
    assert_error(answer, 429, "THROTTLED")
    assert answer.headers["retry-after"] == "7"
    assert app.faults == {**NO_FAULTS, "429": 1}


def test_server_error_faults_alternate_503_and_500() -> None:
    app = make_app(server_error_rate=1.0, retry_after=0)
    answers = [call(app, "/v1/browse/tracks/top") for _ in range(4)]
    assert [(a.status, a.body["error"]["code"]) for a in answers] == [
        (503, "DEPENDENCY"),
        (500, "INTERNAL"),
        (503, "DEPENDENCY"),
        (500, "INTERNAL"),
    ]
    assert all(a.headers["retry-after"] == "0" for a in answers)
    assert app.faults == {**NO_FAULTS, "500": 2, "503": 2}


def statuses(app: SandboxApp, count: int) -> list[int]:
    return [call(app, "/v1/browse/tracks/top", {"limit": 1}).status for _ in range(count)]


def test_fault_shares_follow_the_rates_deterministically() -> None:
    settings: dict[str, Any] = {"rate_limit_rate": 0.2, "server_error_rate": 0.1, "seed": 42}
    app = make_app(**settings)
    sequence = statuses(app, 2000)
    assert sequence == statuses(make_app(**settings), 2000)
    assert sequence != statuses(make_app(**{**settings, "seed": 43}), 2000)
    assert app.faults == {**NO_FAULTS, **{str(s): sequence.count(s) for s in (429, 500, 503)}}
    assert 0.17 < sequence.count(429) / 2000 < 0.23
    assert 0.08 < (sequence.count(500) + sequence.count(503)) / 2000 < 0.12
    assert sequence.count(200) == 2000 - sum(app.faults.values())
    assert app.request_count == 2000


def test_faults_come_before_authentication() -> None:
    app = make_app(rate_limit_rate=1.0)
    assert call(app, "/v1/browse/tracks/top", headers={}).status == 429


def test_latency_is_waited_before_every_api_answer() -> None:
    sleeps: list[float] = []
    app = SandboxApp(SandboxConfig(latency=0.25), sleep=sleeps.append)
    call(app, "/v1/browse/tracks/top")
    call(app, "/nope")
    assert sleeps == [0.25, 0.25]
    assert app.request_count == 2


def test_counters_are_thread_safe() -> None:
    app = make_app(rate_limit_rate=0.5)
    threads = [threading.Thread(target=statuses, args=(app, 50)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert app.request_count == 400
    assert 100 < app.faults["429"] < 300


# --- socket-level faults and the redirect -------------------------------------------------


def drawn(
    app: SandboxApp,
    path: str = "/v1/browse/tracks/top",
    query: str = "limit=1",
    headers: Mapping[str, str] = AUTH,
) -> tuple[int, dict[str, str], Any]:
    """Call the app; return the status, the headers and the socket fault it named."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(),
    }
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    setup_testing_defaults(environ)
    started: list[Any] = []
    b"".join(app(environ, lambda status, headers, *_: started.extend([status, headers])))
    status, response_headers = started
    return int(status.split()[0]), dict(response_headers), environ.get(FAULT_ENVIRON_KEY)


def test_socket_faults_are_named_in_the_environ_and_counted() -> None:
    assert drawn(make_app(truncate_rate=1.0))[::2] == (200, SocketFault("truncate"))
    assert drawn(make_app(stall_rate=1.0, stall_seconds=4.5))[::2] == (
        200,
        SocketFault("stall", 4.5),
    )
    app = make_app(drop_rate=1.0)
    kinds = [drawn(app)[2].kind for _ in range(4)]
    assert kinds == ["drop", "drop-after-headers", "drop", "drop-after-headers"]
    assert app.faults == {**NO_FAULTS, "drop": 4}
    assert app.request_count == 4
    assert drawn(make_app())[2] is None


def test_socket_faults_apply_to_whatever_the_answer_is() -> None:
    app = make_app(truncate_rate=1.0)
    assert drawn(app, headers={})[::2] == (401, SocketFault("truncate"))
    assert drawn(app, "/nope")[::2] == (404, SocketFault("truncate"))


def test_every_fault_kind_follows_its_rate_deterministically() -> None:
    rates = {
        "rate_limit_rate": 0.1,
        "server_error_rate": 0.1,
        "drop_rate": 0.1,
        "truncate_rate": 0.1,
        "stall_rate": 0.1,
    }

    def kinds(app: SandboxApp) -> list[str]:
        answers = [drawn(app) for _ in range(2000)]
        return [fault.kind if fault else str(status) for status, _, fault in answers]

    app = make_app(seed=11, **rates)
    sequence = kinds(app)
    assert sequence == kinds(make_app(seed=11, **rates))
    assert sequence != kinds(make_app(seed=12, **rates))
    counted = {kind: sequence.count(kind) for kind in ("429", "500", "503", "truncate", "stall")}
    counted["drop"] = sequence.count("drop") + sequence.count("drop-after-headers")
    assert app.faults == counted
    for key in ("429", "drop", "truncate", "stall"):
        assert 0.08 < app.faults[key] / 2000 < 0.12, key
    assert 0.08 < (app.faults["500"] + app.faults["503"]) / 2000 < 0.12
    assert sequence.count("200") == 2000 - sum(app.faults.values())


def test_socket_fault_rates_leave_the_status_faults_where_they_were() -> None:
    before = statuses(make_app(rate_limit_rate=0.2, server_error_rate=0.1, seed=42), 500)
    app = make_app(rate_limit_rate=0.2, server_error_rate=0.1, drop_rate=0.3, seed=42)
    after = statuses(app, 500)
    assert after == before  # a socket fault still answers 200 at the WSGI level
    assert app.faults["drop"] > 100


@pytest.mark.parametrize("settings", [{"drop_rate": 1.0}, {"redirect_to": "http://127.0.0.1:9"}])
def test_token_endpoint_gets_no_socket_fault_nor_redirect(
    settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(**settings)
    environs: list[dict[str, Any]] = []
    dispatch = app._dispatch

    def recording_dispatch(environ: Any, request_id: str) -> Any:
        environs.append(environ)
        return dispatch(environ, request_id)

    monkeypatch.setattr(app, "_dispatch", recording_dispatch)
    assert token_request(app).status == 200
    assert FAULT_ENVIRON_KEY not in environs[0]
    assert app.faults == NO_FAULTS
    assert app.request_count == 0


def test_redirect_answers_every_api_request_with_its_path_and_query() -> None:
    app = make_app(redirect_to="http://127.0.0.2:8080/base/")
    status, headers, _ = drawn(app, "/v1/browse/categories/Über x/tracks", "limit=5&cursor=a%2Fb")
    assert status == 302
    assert (
        headers["Location"]
        == "http://127.0.0.2:8080/base/v1/browse/categories/%C3%9Cber%20x/tracks?limit=5&cursor=a%2Fb"
    )
    answer = call(app, "/nope", headers={})  # before authentication and routing
    assert answer.status == 302
    assert answer.headers["location"] == "http://127.0.0.2:8080/base/nope"
    assert answer.body == {"message": "Moved to http://127.0.0.2:8080/base/nope."}
    assert app.request_count == 2


def test_injected_errors_come_before_the_redirect() -> None:
    app = make_app(rate_limit_rate=1.0, redirect_to="http://127.0.0.1:9")
    assert call(app, "/v1/browse/tracks/top").status == 429
    truncated = make_app(truncate_rate=1.0, redirect_to="http://127.0.0.1:9")
    assert drawn(truncated)[::2] == (302, SocketFault("truncate"))


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"latency": -0.1}, ValueError, "latency"),
        ({"latency": float("inf")}, ValueError, "latency"),
        ({"latency": "1"}, TypeError, "latency must be a number"),
        ({"rate_limit_rate": 1.5}, ValueError, "rate_limit_rate must be a finite number from 0"),
        ({"rate_limit_rate": float("nan")}, ValueError, "rate_limit_rate"),
        ({"server_error_rate": -0.5}, ValueError, "server_error_rate"),
        ({"server_error_rate": True}, TypeError, "server_error_rate"),
        ({"rate_limit_rate": 0.6, "server_error_rate": 0.5}, ValueError, "must not exceed 1"),
        ({"drop_rate": 1.01}, ValueError, "drop_rate must be a finite number from 0 to 1"),
        ({"truncate_rate": -0.1}, ValueError, "truncate_rate"),
        ({"stall_rate": "0.1"}, TypeError, "stall_rate must be a number"),
        (
            {"rate_limit_rate": 0.2, "drop_rate": 0.3, "truncate_rate": 0.3, "stall_rate": 0.3},
            ValueError,
            r"must not exceed 1 in total, got 1\.1",
        ),
        ({"stall_seconds": -1}, ValueError, "stall_seconds"),
        ({"stall_seconds": float("inf")}, ValueError, "stall_seconds"),
        ({"redirect_to": b"http://x"}, TypeError, "redirect_to must be a str"),
        ({"redirect_to": "ftp://x/"}, ValueError, "http:// or https://"),
        ({"redirect_to": "http:///path"}, ValueError, "http:// or https://"),
        ({"redirect_to": "http://u:p@x/"}, ValueError, "user name or password"),
        ({"redirect_to": "http://x/?q=1"}, ValueError, "query or fragment"),
        ({"redirect_to": "http://x/#f"}, ValueError, "query or fragment"),
        ({"redirect_to": "http://x/\r\nX: y"}, ValueError, "whitespace or control"),
        ({"redirect_to": "http://x:99999"}, ValueError, "not a valid URL"),
        ({"retry_after": -1}, ValueError, "retry_after must be >= 0"),
        ({"retry_after": 1.5}, TypeError, "retry_after must be an int"),
        ({"token_lifetime": 0}, ValueError, "token_lifetime must be > 0"),
        ({"token_lifetime": -5}, ValueError, "token_lifetime"),
        ({"seed": "0"}, TypeError, "seed must be an int"),
        ({"api_key": ""}, ValueError, "api_key must be a non-empty string"),
        ({"access_token": "two words"}, ValueError, "access_token"),
        ({"client_secret": None}, TypeError, "client_secret must be a str"),
        ({"catalog_sizes": {"topTracks": -1}}, ValueError, "catalog_sizes"),
    ],
)
def test_settings_are_validated(
    settings: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        SandboxApp(SandboxConfig(**settings))


def test_config_repr_hides_credentials() -> None:
    text = repr(SandboxConfig(api_key="k-1", access_token="t-2", client_secret="s-3"))
    assert "latency=0.0" in text
    assert not {"k-1", "t-2", "s-3", "sandbox-client", "sandbox-refresh"} & set(text.split("'"))
