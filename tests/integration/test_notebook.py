"""``examples/notebook.ipynb`` runs cell by cell in a real Jupyter kernel, against the sandbox.

What a user who opens it offline sees is checked here: covers that load, durations as
``h:mm:ss``, and a chart. The notebook shows a category's playlists, whose covers the
sandbox serves itself, so every ``<img>`` in its outputs must load from the notebook's own
sandbox (the documented example items, whose covers are on a public host, are not shown
in a table). The covers are fetched while that sandbox still runs: just before the cell
that stops it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
from nbclient import NotebookClient

import amazon_music_browse

from ._png import read_png

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"
STOP_CELL = "sandbox.stop()"
# Run in the executed copy only, just before the stop cell: what the kernel imported, and
# where its sandbox listens.
PROBE = (
    "import json as _json\n\nimport amazon_music_browse as _package\n\n"
    'print(_json.dumps({"package": _package.__file__, "sandbox": sandbox.url}))'
)
MIN_COVERS = 10  # the rows of the notebook's playlist table


@dataclass(frozen=True)
class Fetched:
    """One ``<img>`` of the outputs, as a browser would have loaded it from the notebook."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Run:
    notebook: Any
    kernel: dict[str, str]
    covers: dict[str, Fetched]


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.append(dict(attrs).get("src") or "")


def outputs(cell: Any) -> list[Any]:
    return list(cell.get("outputs", []))


def texts(cell: Any) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for output in outputs(cell):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def html_outputs(cells: list[Any]) -> list[str]:
    return [
        out["data"]["text/html"]
        for cell in cells
        for out in outputs(cell)
        if "text/html" in out.get("data", {})
    ]


def image_sources(cells: list[Any]) -> list[str]:
    """The ``src`` of every ``<img>`` in the HTML outputs of ``cells``, in order."""
    parser = _Images()
    for table in html_outputs(cells):
        parser.feed(table)
    parser.close()
    return parser.sources


@pytest.fixture(scope="module")
def run() -> Run:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    stops = [index for index, cell in enumerate(notebook.cells) if STOP_CELL in cell.source]
    assert len(stops) == 1, f"the notebook should stop its sandbox in one cell: {stops}"
    probe = nbformat.v4.new_code_cell(PROBE)  # type: ignore[no-untyped-call]
    notebook.cells.insert(stops[0], probe)
    covers: dict[str, Fetched] = {}

    def before_cell(cell: Any, cell_index: int) -> None:
        if STOP_CELL not in cell.source:
            return
        for url in image_sources(notebook.cells[:cell_index]):
            if url not in covers:
                response = requests.get(url, timeout=10)
                covers[url] = Fetched(
                    response.status_code, response.headers.get("Content-Type", ""), response.content
                )

    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
        on_cell_execute=before_cell,
    )
    client.execute()
    notebook.cells.remove(probe)
    return Run(notebook, json.loads(texts(probe)), covers)


@pytest.fixture(scope="module")
def executed(run: Run) -> Any:
    return run.notebook


def test_the_notebook_is_saved_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 8
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert notebook.metadata.kernelspec.name == "python3"


def test_the_kernel_runs_the_code_under_test(run: Run) -> None:
    """The kernel imports the package these tests import (PYTHONPATH reaches the kernel)."""
    assert Path(run.kernel["package"]) == Path(amazon_music_browse.__file__)


def test_no_cell_errors(executed: Any) -> None:
    code = [cell for cell in executed.cells if cell.cell_type == "code"]

    assert [out for cell in code for out in outputs(cell) if out.output_type == "error"] == []
    assert all(cell.execution_count is not None for cell in code)


def test_pages_display_as_html_tables_with_thumbnails(executed: Any) -> None:
    tables = html_outputs(executed.cells)

    assert any("<table" in table and '<img src="http://127.0.0.1:' in table for table in tables)
    assert any("<th" in table and "Heavy Metal" in table for table in tables)
    assert any("<em>… 10 more</em>" in table for table in tables)
    assert any("Paginator · not started" in table for table in tables)
    assert any("Paginator · finished: 3 pages, 120 items received" in table for table in tables)


def test_every_cover_shown_loads_from_the_notebooks_sandbox(run: Run) -> None:
    sources = image_sources(run.notebook.cells)
    images = f"{run.kernel['sandbox']}/images/"

    assert len(set(sources)) >= MIN_COVERS
    assert [url for url in sources if not url.startswith(images)] == []
    assert set(run.covers) == set(sources)
    for url, fetched in run.covers.items():
        assert fetched.status == 200, url
        assert fetched.content_type.startswith("image/"), (url, fetched.content_type)
        assert fetched.body.startswith(b"<svg "), url


def test_durations_read_as_hours_minutes_and_seconds(executed: Any) -> None:
    playlists = next(table for table in html_outputs(executed.cells) if "B0O8RF0KQT" in table)

    assert '<td style="text-align: left">4:37:40</td>' in playlists  # 16660 s
    assert '<td style="text-align: left">8:04:00</td>' in playlists  # 29040 s
    assert ">16660<" not in playlists


def test_the_chart_is_a_png_image(executed: Any) -> None:
    charts = [
        out["data"]["image/png"]
        for cell in executed.cells
        if cell.cell_type == "code" and "matplotlib" in cell.source
        for out in outputs(cell)
        if "image/png" in out.get("data", {})
    ]

    assert len(charts) == 1
    image = read_png(base64.b64decode(charts[0]))
    assert image.width >= 400
    assert image.height >= 200
    assert len(image.colours(0, 0, image.width, image.height)) > 2  # bars, text, background


def test_the_notebook_shows_rows_progress_and_a_resumed_export(executed: Any) -> None:
    printed = "\n".join(texts(cell) for cell in executed.cells if cell.cell_type == "code")

    assert "'track_count': 68" in printed
    assert "0/120" in printed
    assert "120 tracks; resume cursor: '" in printed
    assert "tracks after resuming; same as one run: True" in printed
    assert "ResponseCollection[Track](30 items, category='2iB4IU25', next_cursor=" in printed
