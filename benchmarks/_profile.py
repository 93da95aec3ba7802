"""Profiles of the SDK side of a benchmark, for targets that were missed.

Function profiles use cProfile and show each function's own and cumulative time per SDK
call (profiling inflates absolute times; compare the entries with each other). The
import target is explained by ``-X importtime`` instead, and memory by tracemalloc.
"""

from __future__ import annotations

import cProfile
import pstats
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import Context, make_client
from _server import LONG_CATEGORY, ServerProcess
from bench_calls import playlists_body
from bench_import import bytecode_cache, import_breakdown
from bench_prefetch import LATENCY_MS, items_per_second

from amazon_music_browse import endpoints

_SITE_MARKERS = ("site-packages/", "lib/python3")


def _where(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function
    path = filename.replace("\\", "/")
    if "amazon_music_browse/" in path:
        path = "src/amazon_music_browse/" + path.rsplit("amazon_music_browse/", 1)[1]
    else:
        for marker in _SITE_MARKERS:
            if marker in path:
                path = path.rsplit(marker, 1)[1]
                break
        else:
            path = Path(path).name
    return f"{path}:{line}({function})"


def print_profile(function: Callable[[], object], calls: int, *, top: int = 25) -> None:
    """Run ``function`` ``calls`` times under cProfile; print the costliest entries."""
    function()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        function()
    profiler.disable()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    entries: list[tuple[float, float, int, str]] = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in stats.items():
        entries.append((tottime, cumtime, ncalls, _where(filename, line, name)))
    total = sum(entry[0] for entry in entries)
    print(f"{calls} SDK calls, {total / calls * 1e6:.0f} µs per call under cProfile")
    for title, cumulative in (("own time", False), ("cumulative time", True)):
        print(f"\ntop {top} by {title}, µs per SDK call:")
        print(f"{'own':>8} {'cum':>8} {'calls':>6}  function")
        ordered = sorted(entries, key=lambda entry: entry[1] if cumulative else entry[0])
        for tottime, cumtime, ncalls, where in ordered[::-1][:top]:
            per_call = ncalls / calls
            print(
                f"{tottime / calls * 1e6:8.1f} {cumtime / calls * 1e6:8.1f} "
                f"{per_call:6.1f}  {where}"
            )
    print("\n(pydantic-core's validate_json is one opaque entry here)")


def _memory(ctx: Context) -> None:
    with make_client(ctx.base_url) as client:
        client.get_category_tracks(LONG_CATEGORY, limit=100)
        tracemalloc.start(10)
        paginator = client.paginate(client.get_category_tracks, LONG_CATEGORY, max_items=5_000)
        for count, _track in enumerate(paginator, 1):
            if count == 2_550:
                snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
    print("live allocations in the middle of a page, by line:")
    for stat in snapshot.statistics("lineno")[:15]:
        print(f"  {stat.size / 1024:8.1f} KiB {stat.count:6d} blocks  {stat.traceback[0]}")


def profile(name: str, ctx: Context) -> None:
    """Print the profile that explains benchmark ``name``."""
    calls = 100 if ctx.quick else 400
    if name == "import":
        with bytecode_cache() as env:
            print("\n".join(import_breakdown(env, top=15)))
    elif name == "memory":
        _memory(ctx)
    elif name == "parse":
        body = playlists_body(ctx)
        print_profile(lambda: endpoints.TOP_PLAYLISTS.parse(body, 200), calls)
    elif name == "prefetch":
        with ServerProcess(latency_ms=LATENCY_MS) as server, make_client(server.url) as client:
            print_profile(lambda: items_per_second(client, pages=10, prefetch=True), 3)
    else:
        with make_client(ctx.base_url) as client:
            if name == "top-tracks":
                print_profile(lambda: client.get_top_tracks(limit=20), calls)
            else:
                print_profile(lambda: client.get_top_playlists(limit=100), calls)
