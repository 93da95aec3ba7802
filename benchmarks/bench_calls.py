"""Targets 1-3: one call of an endpoint, and parsing alone, against the raw baselines.

The raw side is ``session.get(url, headers=...).json()`` on the SDK's own
``requests.Session`` (a plain one the client created), so both sides use the same warm
keep-alive connection, send the same headers to the same URL and get the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _common import Context, baseline_headers, make_client, sdk_exchange
from _server import TOP_PLAYLISTS_PATH, TOP_TRACKS_PATH
from _stats import Row, alternate, paired_row
from pydantic import TypeAdapter
from typing_extensions import TypedDict

from amazon_music_browse import BrowseClient, Playlist, ResponseCollection, endpoints


def _per_call(
    ctx: Context,
    name: str,
    sdk_call: Callable[[BrowseClient], ResponseCollection[Any]],
    url_path: str,
    target: float,
    expected_items: int,
) -> Row:
    client = make_client(ctx.base_url)
    with client:

        def sdk() -> ResponseCollection[Any]:
            return sdk_call(client)

        url = ctx.base_url + url_path
        headers = baseline_headers(client, sdk)
        session = client.session

        def raw() -> Any:
            return session.get(url, headers=headers).json()

        seen = sdk_exchange(client, sdk)
        if seen.request.url != url or seen.content != session.get(url, headers=headers).content:
            raise RuntimeError(f"{name}: the two sides do not exchange the same bytes")
        if len(sdk()) != expected_items:
            raise RuntimeError(f"{name}: expected {expected_items} items")
        paired = alternate(
            sdk,
            raw,
            rounds=ctx.pick(60, 12),
            batch=ctx.pick(40, 15),
            warmup=ctx.pick(50, 10),
        )
    row = paired_row(name, paired, scale=1e6, unit="µs/call", op="<=", target=target)
    row.notes.append(f"GET {url_path}: SDK method vs requests `Session.get(url).json()`")
    return row


def bench_top_tracks(ctx: Context) -> list[Row]:
    """Target 1: ``get_top_tracks(limit=20)`` with models vs raw ``.json()``: <= 1.00."""
    return [
        _per_call(
            ctx,
            "top tracks, per call (20 items)",
            lambda client: client.get_top_tracks(limit=20),
            f"{TOP_TRACKS_PATH}?limit=20",
            1.00,
            20,
        )
    ]


def bench_top_playlists(ctx: Context) -> list[Row]:
    """Target 2: ``get_top_playlists(limit=100)`` vs raw ``.json()``: <= 1.15."""
    return [
        _per_call(
            ctx,
            "top playlists, per call (100 items)",
            lambda client: client.get_top_playlists(limit=100),
            f"{TOP_PLAYLISTS_PATH}?limit=100",
            1.15,
            100,
        )
    ]


class _TopPlaylistsData(TypedDict):
    topPlaylists: ResponseCollection[Playlist]


class _TopPlaylistsAnswer(TypedDict):
    data: _TopPlaylistsData


def playlists_body(ctx: Context) -> bytes:
    """The bytes the canned server sends for a page of 100 top playlists."""
    client = make_client(ctx.base_url)
    with client:
        url = f"{ctx.base_url}{TOP_PLAYLISTS_PATH}?limit=100"
        return client.session.get(url).content


def playlists_adapter() -> TypeAdapter[_TopPlaylistsAnswer]:
    """pydantic's own validator of the same answer, over the SDK's models."""
    return TypeAdapter(_TopPlaylistsAnswer)


def bench_parse(ctx: Context) -> list[Row]:
    """Target 3: ``TOP_PLAYLISTS.parse(body, 200)`` vs ``TypeAdapter.validate_json``: <= 1.10."""
    body = playlists_body(ctx)
    adapter = playlists_adapter()
    endpoint = endpoints.TOP_PLAYLISTS

    def sdk() -> Any:
        return endpoint.parse(body, 200)

    def base() -> Any:
        return adapter.validate_json(body)

    ours = sdk()
    theirs = base()["data"]["topPlaylists"]
    if ours.model_dump() != theirs.model_dump():
        raise RuntimeError("the SDK and the TypeAdapter disagree about the answer")
    paired = alternate(
        sdk, base, rounds=ctx.pick(60, 12), batch=ctx.pick(50, 15), warmup=ctx.pick(50, 10)
    )
    row = paired_row(
        "parse only, 100 playlists", paired, scale=1e6, unit="µs/page", op="<=", target=1.10
    )
    row.notes.append(
        f"`endpoints.TOP_PLAYLISTS.parse(body, 200)` vs `TypeAdapter(<TypedDict of "
        f"data.topPlaylists: ResponseCollection[Playlist]>).validate_json(body)`, "
        f"{len(body):,} bytes"
    )
    return [row]
