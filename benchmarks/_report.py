"""The results table (console and Markdown), the plot, and ``docs/benchmarks.md``."""

from __future__ import annotations

import base64
import io
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata

from _common import ROOT
from _stats import Row, Summary

HEADER = ("benchmark", "SDK median", "baseline median", "ratio", "spread", "target", "met")


def _value(value: float, unit: str) -> str:
    if unit == "MiB":
        return f"{value:.2f} MiB"
    if unit == "items/s":
        return f"{value:,.0f} items/s"
    digits = 0 if value >= 100 else 1
    return f"{value:,.{digits}f} {unit}"


def _spread(row: Row) -> str:
    if row.ratio_spread is not None:
        low, high = row.ratio_spread
        return f"{low:.2f}-{high:.2f} (ratio IQR)"
    return f"{row.sdk.p25:.2f}-{row.sdk.p75:.2f} (SDK IQR)"


def cells(row: Row) -> tuple[str, ...]:
    """The table cells of a row."""
    return (
        row.name,
        _value(row.sdk.median, row.unit),
        _value(row.base.median, row.unit),
        f"{row.ratio:.2f}",
        _spread(row),
        row.target_text,
        "yes" if row.met else "**no**",
    )


def console_table(rows: Sequence[Row]) -> str:
    """The table as aligned plain text."""
    lines = [HEADER, *(tuple(c.replace("**", "") for c in cells(row)) for row in rows)]
    widths = [max(len(line[index]) for line in lines) for index in range(len(HEADER))]
    out = []
    for number, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def markdown_table(rows: Sequence[Row]) -> str:
    """The table in Markdown."""
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---:|---:|---:|---|---|---|"]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def _quantiles(name: str, summary: Summary, unit: str) -> str:
    values = (summary.p10, summary.p25, summary.median, summary.p75, summary.p90)
    shown = " | ".join(_value(value, unit) for value in values)
    return f"| {name} | {shown} | {summary.count} |"


def details(rows: Sequence[Row]) -> str:
    """Each row's notes and both sides' quantiles, in Markdown."""
    out: list[str] = []
    for row in rows:
        out += [f"### {row.name}", ""]
        out += [*row.notes, ""]
        out += ["| side | p10 | p25 | median | p75 | p90 | samples |"]
        out += ["|---|---:|---:|---:|---:|---:|---:|"]
        out += [_quantiles("SDK", row.sdk, row.unit), _quantiles("baseline", row.base, row.unit)]
        out += [""]
    return "\n".join(out)


def plot(rows: Sequence[Row]) -> bytes | None:
    """A PNG of each figure as a share of its target; ``None`` if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    shown = list(reversed(rows))
    shares = [row.budget_used for row in shown]
    errors: list[list[float]] = [[], []]
    for row, share in zip(shown, shares, strict=True):
        if row.ratio_spread is not None and row.op == "<=":
            low, high = (value / row.target for value in row.ratio_spread)
        elif row.ratio_spread is not None:
            low, high = (row.target / value for value in reversed(row.ratio_spread))
        else:  # a figure held to an absolute limit: its own spread
            scale = row.limit if row.limit is not None else row.target
            low, high = row.sdk.p25 / scale, row.sdk.p75 / scale
        errors[0].append(max(0.0, share - low))
        errors[1].append(max(0.0, high - share))
    figure, axes = plt.subplots(figsize=(9, 0.55 * len(shown) + 1.4))
    colours = ["#2e7d32" if row.met else "#c62828" for row in shown]
    positions = range(len(shown))
    axes.barh(positions, shares, xerr=errors, color=colours, capsize=3)
    axes.axvline(1.0, color="black", linewidth=1, linestyle="--")
    axes.set_yticks(list(positions), [row.name for row in shown])
    for position, (row, share) in enumerate(zip(shown, shares, strict=True)):
        label = f"{row.ratio:.2f}x ({row.target_text})"
        if row.limit is not None:
            label = f"{row.sdk.median:.2f} {row.unit} ({row.target_text})"
        right = share + errors[1][position] + 0.03
        axes.text(right, position, label, va="center", fontsize=8)
    axes.set_xlim(0, max(1.8, max(shares) * 1.7))
    axes.set_xlabel("share of the target's budget (≤ 1 meets it; bars: IQR)")
    axes.set_title("amazon_music_browse vs raw baselines")
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=80)
    plt.close(figure)
    return png.getvalue()


def data_uri(png: bytes) -> str:
    """``png`` as a ``data:`` URI, so the page needs no file beside it."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _versions() -> str:
    names = ("amazon-music-browse", "requests", "urllib3", "pydantic", "pydantic-core", "tenacity")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"{head}{' with uncommitted changes in src/' if dirty else ''}"


def document(rows: Sequence[Row], plot_link: str | None, mode: str, seconds: float) -> str:
    """The whole of ``docs/benchmarks.md``; ``plot_link`` is relative to the page."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    image = (
        f"![each figure as a share of its target]({plot_link})"
        if plot_link
        else "_(plot skipped: matplotlib is not installed; `pip install -e '.[bench]'`)_"
    )
    met = sum(row.met for row in rows)
    return "\n".join(
        [
            "# Benchmarks",
            "",
            "How the SDK's overhead compares with using `requests` and `pydantic` by hand.",
            "Regenerate this page with `python benchmarks/run.py` (about four minutes;",
            "`--quick` for a smoke run, `--only NAME` for one benchmark, `--profile` to",
            "profile the SDK side of every target missed). Every figure is a ratio taken",
            "within one run, the two sides alternating, so machine speed cancels out.",
            "",
            f"Run of {when}, {mode} mode, {seconds:.0f} s: {met} of {len(rows)} targets met "
            f"(load average at the end: {os.getloadavg()[0]:.2f}; other work on the machine "
            "widens the spreads).",
            f"Python {platform.python_version()} on {platform.system()} "
            f"{platform.machine()}, {os.cpu_count()} CPUs; {_versions()}; SDK at {_revision()}.",
            "",
            "## Results",
            "",
            markdown_table(rows),
            "",
            image,
            "",
            "## Method",
            "",
            "- A canned HTTP/1.1 keep-alive server (`benchmarks/_server.py`, stdlib asyncio,",
            "  bodies serialised once) runs in its own process on 127.0.0.1, so it never",
            "  competes with the measured process for the GIL. Proxy variables are removed.",
            "- Per-call figures: the SDK method with its models against",
            "  `session.get(url, headers=...).json()` on the SDK's own `requests.Session`:",
            "  the same warm connection, URL, headers and bytes (checked before timing).",
            "  Each round times a batch of calls of each side; the side that goes first",
            "  alternates. The SDK and baseline medians are of the per-round means; the",
            "  ratio is the median of the per-round ratios (both sides of a round run back",
            "  to back, so other load on the machine mostly cancels out) and the spread",
            "  is their interquartile range.",
            "- Hooks: the same two calls made by a client with one no-op hook on each",
            "  event (`request`, `response`, `retry`) against a client without hooks, each",
            "  with a session of its own, in alternation: the hooks' own cost.",
            "- Parsing: `endpoints.TOP_PLAYLISTS.parse(body, 200)` against pydantic's own",
            "  `TypeAdapter` of a `TypedDict` chain over the same SDK models.",
            "- Memory: 100,000 tracks in pages of 100 through `client.paginate(...)`, each",
            "  figure from a fresh subprocess after one warm-up request; the baseline walks",
            "  the same pages with `requests` and `.json()`. Only the SDK is held to the",
            "  limits; the ratio is shown for scale.",
            "- Prefetch: a second canned server delays every answer by 20 ms; the loop",
            "  sleeps 20 ms per page of 20 items; `prefetch=True` against `prefetch=False`,",
            "  items/s (the ratio is the speed-up, higher is better).",
            "- Import: fresh interpreters timed from the parent, alternating",
            '  `python -c "import amazon_music_browse"` and',
            '  `python -c "import requests, pydantic, tenacity"`, all loading bytecode from',
            "  a private cache filled by warm-up runs (as an installed package does).",
            "- Quota (`benchmarks/bench_quota.py`): `client.map` against the same calls one",
            "  by one (50 ms latency); 32 threads against 10 on `max_connections=10`, with",
            "  urllib3's own log records counting connections opened and discarded; a",
            "  SQLite cache hit against an uncached call; 4 spawned processes sharing one",
            "  `RateLimit` through Redis and through SQLite against the sandbox; a",
            "  `Retry-After` window in the Redis store against no store. Rows whose target",
            "  has further checks show them after the ratio (all must hold).",
            "",
            "`python benchmarks/run.py --only NAME --profile` profiles one row.",
            "",
            "## Details",
            "",
            details(rows),
        ]
    )
