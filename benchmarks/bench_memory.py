"""Target 4: memory while 100,000 items stream through ``client.paginate(...)``.

Each figure comes from a fresh subprocess (this file run with ``--child``), so that
nothing the parent process holds, and neither tracemalloc's own bookkeeping nor the
server, shows up in it. The child imports everything, makes one warm-up request (pydantic
builds its validators on first use), then measures only the iteration:

- ``tracemalloc``: the peak of traced memory during the iteration, above the start;
- ``rss``: the largest resident set size seen (``/proc/self/statm``, sampled every page)
  minus the one just before the iteration, in a run without tracemalloc.

The baseline walks the same pages with ``Session.get(url, params=...).json()``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import Context, baseline_headers, make_client
from _server import LONG_CATEGORY, LONG_PATH
from _stats import Row, Summary

from amazon_music_browse import BrowseClient

ITEMS = 100_000
PAGE = 100
MIB = 1024 * 1024


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # no /proc: the peak so far is the best there is (KiB on Linux)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sdk_items(client: BrowseClient) -> Iterator[str]:
    for track in client.paginate(client.get_category_tracks, LONG_CATEGORY, page_size=PAGE):
        yield track.id


def _raw_items(client: BrowseClient) -> Iterator[str]:
    url = client.base_url + LONG_PATH
    headers = baseline_headers(client, lambda: client.get_category_tracks(LONG_CATEGORY))
    session = client.session
    params: dict[str, Any] = {"limit": PAGE}
    while True:
        tracks = session.get(url, params=params, headers=headers).json()["data"]["category"]
        collection = tracks["tracks"]
        for edge in collection["edges"]:
            yield edge["node"]["id"]
        if not collection["pageInfo"]["hasNextPage"]:
            return
        params = {"limit": PAGE, "cursor": collection["pageInfo"]["token"]}


def child(side: str, measure: str, base_url: str) -> dict[str, Any]:
    """Stream every item of the long collection once and measure it (in a subprocess)."""
    client = make_client(base_url)
    warm = client.get_category_tracks(LONG_CATEGORY, limit=PAGE)
    assert len(warm) == PAGE
    items = _sdk_items(client) if side == "sdk" else _raw_items(client)
    del warm
    gc.collect()
    if measure == "tracemalloc":
        tracemalloc.start()
    start_rss = _rss_bytes()
    largest_rss = start_rss
    started = time.perf_counter()
    count = 0
    last = ""
    for item_id in items:
        count += 1
        last = item_id
        if measure == "rss" and count % PAGE == 0:
            largest_rss = max(largest_rss, _rss_bytes())
    elapsed = time.perf_counter() - started
    traced = 0
    if measure == "tracemalloc":
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if count != ITEMS or last != _last_id():
        raise RuntimeError(f"streamed {count} items ending with {last!r}")
    grown = largest_rss - start_rss if measure == "rss" else traced
    return {"bytes": grown, "seconds": elapsed, "items": count}


def _last_id() -> str:
    from _server import track

    return str(track(ITEMS - 1)["id"])


def _run_child(side: str, measure: str, base_url: str) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", side]
    command += ["--measure", measure, "--url", base_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {side}/{measure} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def bench_memory(ctx: Context) -> list[Row]:
    """Target 4: tracemalloc peak < 3 MiB and RSS growth < 5 MiB over 100,000 items."""
    rows = []
    for measure, title, limit in (
        ("tracemalloc", "memory: tracemalloc peak, 100k items", 3.0),
        ("rss", "memory: RSS growth, 100k items", 5.0),
    ):
        samples: dict[str, list[float]] = {"sdk": [], "raw": []}
        seconds: dict[str, list[float]] = {"sdk": [], "raw": []}
        for index in range(ctx.pick(3, 1)):
            for side in ("sdk", "raw") if index % 2 == 0 else ("raw", "sdk"):
                result = _run_child(side, measure, ctx.base_url)
                samples[side].append(result["bytes"] / MIB)
                seconds[side].append(result["seconds"])
        sdk, raw = Summary.of(samples["sdk"]), Summary.of(samples["raw"])
        row = Row(
            name=title,
            unit="MiB",
            sdk=sdk,
            base=raw,
            ratio=sdk.median / raw.median if raw.median > 0 else float("inf"),
            ratio_spread=None,
            op="<",
            target=limit,
            limit=limit,
        )
        traced = " (under tracemalloc)" if measure == "tracemalloc" else ""
        row.notes.append(
            f"{len(samples['sdk'])} fresh subprocess(es) per side; streaming {ITEMS:,} items "
            f"took {Summary.of(seconds['sdk']).median:.2f} s (SDK) vs "
            f"{Summary.of(seconds['raw']).median:.2f} s (raw){traced}."
        )
        rows.append(row)
    return rows


def main() -> None:
    """The child's command line: prints one JSON object."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=("sdk", "raw"), required=True)
    parser.add_argument("--measure", choices=("tracemalloc", "rss"), required=True)
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    print(json.dumps(child(args.child, args.measure, args.url)))


if __name__ == "__main__":
    main()
