"""Run the SDK's benchmarks against raw baselines; print the table, write the docs page.

python benchmarks/run.py                  # full run, writes docs/benchmarks.md
python benchmarks/run.py --quick          # smoke run (prints only, unless --write)
python benchmarks/run.py --only parse --only import
python benchmarks/run.py --profile        # also profile the SDK side of missed targets
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import ROOT, Context, isolate_from_proxies, make_client
from _profile import profile
from _report import console_table, data_uri, document, plot
from _server import LONG_CATEGORY, ServerProcess
from _stats import Row
from bench_calls import bench_parse, bench_top_playlists, bench_top_tracks
from bench_hooks import bench_hooks
from bench_import import bench_import
from bench_memory import bench_memory
from bench_prefetch import bench_prefetch
from bench_quota import bench_cache, bench_fan_out, bench_pool, bench_shared_limit, bench_window

BENCHMARKS: dict[str, Callable[[Context], list[Row]]] = {
    "top-tracks": bench_top_tracks,
    "top-playlists": bench_top_playlists,
    "parse": bench_parse,
    "hooks": bench_hooks,
    "memory": bench_memory,
    "prefetch": bench_prefetch,
    "import": bench_import,
    "fan-out": bench_fan_out,
    "pool": bench_pool,
    "cache": bench_cache,
    "shared-limit": bench_shared_limit,
    "window": bench_window,
}
DOCS = ROOT / "docs" / "benchmarks.md"


def _warm_server(base_url: str) -> None:
    """Have the server serialise every page of the long collection once, untimed."""
    with make_client(base_url) as client:
        for _track in client.paginate(client.get_category_tracks, LONG_CATEGORY):
            pass


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; exit status 0 whether or not targets are met."""
    parser = argparse.ArgumentParser(
        description="Benchmark amazon_music_browse against raw requests/pydantic baselines."
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations: a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write docs/benchmarks.md and the plot (default: only for a full run of all)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the run, profile the SDK side of every target that was missed",
    )
    parser.add_argument("--output", type=Path, default=DOCS, help="the Markdown page to write")
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="also write the plot to this PNG and link it (default: embedded in the page)",
    )
    args = parser.parse_args(argv)
    isolate_from_proxies()
    chosen = args.only or list(BENCHMARKS)
    write = args.write if args.write is not None else not (args.quick or args.only)

    started = time.perf_counter()
    rows: list[Row] = []
    failed: list[str] = []
    with ServerProcess() as server:
        ctx = Context(quick=args.quick, base_url=server.url)
        if "memory" in chosen:
            _warm_server(server.url)
        for name in BENCHMARKS:
            if name not in chosen:
                continue
            print(f"running {name} ...", file=sys.stderr, flush=True)
            new = BENCHMARKS[name](ctx)
            rows += new
            failed += [name for row in new if not row.met]
        seconds = time.perf_counter() - started
        print()
        print(console_table(rows))
        print()
        print(f"{sum(row.met for row in rows)} of {len(rows)} targets met in {seconds:.0f} s")
        if write:
            output: Path = args.output.resolve()
            png = plot(rows)
            link = None
            if png is None:
                print("plot skipped: matplotlib is not installed (pip install -e '.[bench]')")
            elif args.plot is None:
                link = data_uri(png)
            else:
                args.plot.parent.mkdir(parents=True, exist_ok=True)
                args.plot.write_bytes(png)
                link = Path(os.path.relpath(args.plot.resolve(), output.parent)).as_posix()
                print(f"wrote {args.plot}")
            mode = "quick" if args.quick else "full"
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(document(rows, link, mode, seconds) + "\n", encoding="utf-8")
            print(f"wrote {output}")
        else:
            print("docs not written (a quick or partial run); pass --write to write them")
        if args.profile:
            for name in dict.fromkeys(failed):
                print(f"\n=== profile of the SDK side: {name}\n")
                profile(name, ctx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
