"""A page's HTML table as a browser draws it: headless Chromium shows every cover, not blank.

The table (``page._repr_html_()``, what a notebook shows) is written to a file while the
sandbox runs, Chromium takes a screenshot of it, and the screenshot is read with the
standard library. Each cover's colours come from the SVG the sandbox serves (its
background and the circle behind the initials); each must fill a thumbnail-sized box in the
screenshot, one box per row, in the table's order. A broken or unloaded image draws none.

Chromium is required, not optional: without it the test fails and says how to install it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from amazon_music_browse.sandbox import SandboxServer

from ._png import Image, Span, read_png

ROWS = 8
THUMBNAIL_WIDTH = 48  # the width of a thumbnail in the table's <img>
WINDOW = (1000, 900)
TIMEOUT = 90  # seconds; Chromium takes one or two, more with every core busy
INSTALL = "apt-get update && apt-get install -y chromium"
PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><title>covers</title></head>'
    '<body style="margin: 8px; background: #ffffff">{table}</body></html>'
)
LIGHT = 0xC0
# A row of a cover shows its background on both sides of the circle, 13 pixels or more; a
# row with fewer pixels of that colour is another picture's antialiased edge that happens
# to match it exactly (seen: a few pixels in the next covers).
MIN_ROW = 8


@dataclass(frozen=True)
class Box:
    """Pixels of one colour: how many, in the box ``left <= x < right``, ``top <= y < bottom``."""

    count: int
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def block(rows: dict[int, Span], min_row: int = 1) -> Box | None:
    """The box of the rows with ``min_row`` pixels or more; ``None`` if none or not adjacent."""
    kept = {y: span for y, span in rows.items() if span.count >= min_row}
    if not kept or max(kept) - min(kept) + 1 != len(kept):
        return None
    return Box(
        sum(span.count for span in kept.values()),
        min(span.left for span in kept.values()),
        min(kept),
        max(span.right for span in kept.values()),
        max(kept) + 1,
    )


def chromium() -> str:
    """The Chromium binary on ``PATH``; a failure that says how to install it if none."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is not None:
            return path
    pytest.fail(
        "Chromium is needed to render the HTML table (tests/integration/"
        f"test_rendered_covers.py) and is not on PATH. Install Debian's package: `{INSTALL}` "
        "(as root; .ci/run does it when chromium is missing).",
        pytrace=False,
    )


def screenshot(html_file: Path, png_file: Path) -> None:
    """Headless Chromium's screenshot of ``html_file``, in a profile of its own."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",  # tests run as root
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-proxy-server",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--force-color-profile=srgb",
            f"--user-data-dir={profile}",
            f"--screenshot={png_file}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            html_file.as_uri(),
        ]
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to end its helpers too
        )
        try:
            output, _ = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"Chromium took more than {TIMEOUT} s to take the screenshot")
        finally:
            if process.poll() is None:  # pragma: no cover - only if communicate itself failed
                os.killpg(process.pid, signal.SIGKILL)
    text = output.decode(errors="replace")
    assert process.returncode == 0, f"Chromium exited {process.returncode}:\n{text[-3000:]}"
    assert png_file.is_file(), f"Chromium wrote no screenshot:\n{text[-3000:]}"


@dataclass(frozen=True)
class Cover:
    url: str
    width: int
    height: int
    background: bytes
    accent: bytes


def served_cover(url: str, width: int, height: int) -> Cover:
    """The cover at ``url``, with the two colours of the SVG the sandbox serves there."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    fills = dict(re.findall(r'<(rect|circle) [^>]*fill="#([0-9a-f]{6})"', response.text))
    return Cover(url, width, height, bytes.fromhex(fills["rect"]), bytes.fromhex(fills["circle"]))


@dataclass(frozen=True)
class Rendered:
    image: Image
    covers: list[Cover]
    boxes: dict[bytes, Box]


@pytest.fixture(scope="module")
def rendered(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    with sandbox.client() as client:
        page = client.get_category_playlists("2iB4IU25", limit=ROWS)
    covers = [
        served_cover(item.images[0].url, item.images[0].width, item.images[0].height)
        for item in page
    ]
    folder = tmp_path_factory.mktemp("rendered")
    html_file = folder / "table.html"
    html_file.write_text(PAGE.format(table=page._repr_html_()), encoding="utf-8")
    screenshot(html_file, folder / "table.png")
    image = read_png((folder / "table.png").read_bytes())
    spans = image.spans({cover.background for cover in covers})
    boxes = {colour: block(rows, MIN_ROW) for colour, rows in spans.items()}
    return Rendered(image, covers, {colour: box for colour, box in boxes.items() if box})


def test_a_missing_chromium_fails_and_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(pytest.fail.Exception, match=re.escape(INSTALL)):
        chromium()


def test_the_screenshot_is_the_window(rendered: Rendered) -> None:
    assert (rendered.image.width, rendered.image.height) == WINDOW


def test_each_cover_fills_its_thumbnail_in_the_tables_order(rendered: Rendered) -> None:
    # Distinct colours, so that each box below is one cover's.
    assert len({cover.background for cover in rendered.covers}) == ROWS

    tops = []
    for cover in rendered.covers:
        box = rendered.boxes.get(cover.background)
        assert box is not None, f"{cover.url} is not drawn"
        expected_height = round(THUMBNAIL_WIDTH * cover.height / cover.width)
        assert box.width == THUMBNAIL_WIDTH, (cover.url, box)
        assert abs(box.height - expected_height) <= 1, (cover.url, box, expected_height)
        assert box.count >= 0.4 * box.width * box.height, (cover.url, box)
        tops.append(box.top)
    assert tops == sorted(tops)
    bottoms = [rendered.boxes[cover.background].bottom for cover in rendered.covers]
    assert all(bottom <= top for bottom, top in zip(bottoms, tops[1:], strict=False))


def test_each_cover_holds_more_than_one_colour(rendered: Rendered) -> None:
    """Background, the circle, the white initials: a cover drawn as one flat colour fails."""
    for cover in rendered.covers:
        box = rendered.boxes[cover.background]
        area = (box.left, box.top, box.right, box.bottom)
        circle = rendered.image.count(cover.accent, *area)
        colours = rendered.image.colours(*area)
        # The white initials, however small and antialiased: some pixel far lighter than
        # the background and the circle (whose darkest channels are about 0x30 and 0x47).
        initials = [colour for colour in colours if min(colour) >= LIGHT]

        assert circle >= 0.1 * box.width * box.height, (cover.url, box, circle)
        assert initials, f"{cover.url}: no initials"
        assert len(colours) >= 3, (cover.url, len(colours))


def test_the_image_column_holds_many_colours(rendered: Rendered) -> None:
    """The covers together: far more than one colour, and none is the page's white alone."""
    boxes = [rendered.boxes[cover.background] for cover in rendered.covers]
    left = min(box.left for box in boxes)
    right = max(box.right for box in boxes)
    column = rendered.image.colours(left, boxes[0].top, right, boxes[-1].bottom)

    assert len(column) > 2 * ROWS
