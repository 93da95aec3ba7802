"""Event hooks: one no-op hook on each event costs at most 3% of a call.

Both sides are the SDK, each client with a session of its own (as an application makes
them; a session passed in costs more per request) and a warm connection: a client with
``event_hooks`` holding one no-op callable for ``request``, ``response`` and ``retry``
against a client without hooks, in alternation (the no-hooks side is what the per-call
rows hold to their targets against raw ``requests``). No call is retried here, so the
retry hook is never called; it is registered all the same, as an application would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from _common import ACCESS_TOKEN, API_KEY, Context
from _stats import Row, alternate, paired_row

from amazon_music_browse import BrowseClient, ResponseCollection

TARGET = 1.03


def _no_op(event: object) -> None:
    """A hook that does nothing: what the pipeline itself costs per event."""


def _hooked(base_url: str, hook: Callable[[Any], object] = _no_op) -> BrowseClient:
    return BrowseClient(
        API_KEY,
        ACCESS_TOKEN,
        base_url=base_url,
        event_hooks={"request": [hook], "response": [hook], "retry": [hook]},
    )


def _hooks_row(
    ctx: Context, name: str, call: Callable[[BrowseClient], ResponseCollection[Any]], items: int
) -> Row:
    seen: list[object] = []
    with _hooked(ctx.base_url, seen.append) as check:
        if len(call(check)) != items:
            raise RuntimeError(f"{name}: expected {items} items")
    if [type(event).__name__ for event in seen] != ["RequestEvent", "ResponseEvent"]:
        raise RuntimeError(f"{name}: expected one request and one response event")
    with (
        BrowseClient(API_KEY, ACCESS_TOKEN, base_url=ctx.base_url) as plain,
        _hooked(ctx.base_url) as hooked,
    ):
        paired = alternate(
            lambda: call(hooked),
            lambda: call(plain),
            rounds=ctx.pick(80, 12),
            batch=ctx.pick(40, 15),
            warmup=ctx.pick(50, 10),
        )
    row = paired_row(name, paired, scale=1e6, unit="µs/call", op="<=", target=TARGET)
    row.notes.append(
        "SDK with one no-op hook on each event (`request`, `response`, `retry`) vs the SDK "
        "without hooks"
    )
    return row


def bench_hooks(ctx: Context) -> list[Row]:
    """One no-op hook per event vs no hooks, for both per-call endpoints: <= 1.03."""
    return [
        _hooks_row(
            ctx,
            "hooks: top tracks, per call (20 items)",
            lambda client: client.get_top_tracks(limit=20),
            20,
        ),
        _hooks_row(
            ctx,
            "hooks: top playlists, per call (100 items)",
            lambda client: client.get_top_playlists(limit=100),
            100,
        ),
    ]
