"""Target 5: ``paginate(..., prefetch=True)`` overlaps network time with the caller's work.

A canned server of its own answers every request 20 ms late; the loop sleeps 20 ms per
page of 20 top tracks (the caller's work). Both sides are the SDK: the same loop with
``prefetch=True`` against ``prefetch=False``, in alternation. With perfect overlap the
ratio of items/s approaches 2; the first page cannot overlap anything, and a fetch takes
the latency plus the request's own time, so the note also gives the ceiling that perfect
overlap would reach with the fetch time measured here.
"""

from __future__ import annotations

import statistics
import time

from _common import Context, make_client
from _server import ServerProcess
from _stats import Paired, Row, paired_row

from amazon_music_browse import BrowseClient

LATENCY_MS = 20
WORK_SECONDS = 0.020
PAGE = 20


def items_per_second(client: BrowseClient, *, pages: int, prefetch: bool) -> float:
    """Walk ``pages`` pages of top tracks, working ``WORK_SECONDS`` per page."""
    paginator = client.paginate(client.get_top_tracks, max_pages=pages, prefetch=prefetch)
    started = time.perf_counter()
    count = 0
    for _track in paginator:
        count += 1
        if count % PAGE == 0:
            time.sleep(WORK_SECONDS)
    elapsed = time.perf_counter() - started
    if count != pages * PAGE:
        raise RuntimeError(f"expected {pages * PAGE} items, got {count}")
    return count / elapsed


def fetch_seconds(client: BrowseClient, calls: int = 15) -> float:
    """The median time of one page request, latency included."""
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        client.get_top_tracks(limit=PAGE)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ceiling(fetch: float, work: float, pages: int) -> float:
    """The speed-up of perfect overlap: only the first fetch and the last work serialise."""
    serial = pages * (fetch + work)
    overlapped = fetch + (pages - 1) * max(fetch, work) + work
    return serial / overlapped


def bench_prefetch(ctx: Context) -> list[Row]:
    """Target 5: prefetch reaches >= 1.8x the items/s of the same loop without it."""
    pages = 50
    with ServerProcess(latency_ms=LATENCY_MS) as server, make_client(server.url) as client:
        items_per_second(client, pages=2, prefetch=True)
        items_per_second(client, pages=2, prefetch=False)
        fetch = fetch_seconds(client)
        with_prefetch: list[float] = []
        without: list[float] = []
        for index in range(ctx.pick(6, 2)):
            for prefetch in (True, False) if index % 2 == 0 else (False, True):
                rate = items_per_second(client, pages=pages, prefetch=prefetch)
                (with_prefetch if prefetch else without).append(rate)
    row = paired_row(
        "prefetch, 20 ms latency + 20 ms work/page",
        Paired(with_prefetch, without),
        scale=1.0,
        unit="items/s",
        op=">=",
        target=1.8,
    )
    row.notes.append(
        f"{pages} pages of {PAGE} top tracks per run; SDK = `prefetch=True`, "
        f"baseline = the same loop with `prefetch=False`. One request takes "
        f"{fetch * 1e3:.1f} ms here, so perfect overlap would reach "
        f"{ceiling(fetch, WORK_SECONDS, pages):.2f}x."
    )
    return [row]
