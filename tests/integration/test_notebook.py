"""``examples/notebook.ipynb`` runs cell by cell in a real Jupyter kernel, against the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def outputs(cell: Any) -> list[Any]:
    return list(cell.get("outputs", []))


def texts(cell: Any) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for output in outputs(cell):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def executed() -> Any:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    return notebook


def test_the_notebook_is_saved_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 8
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert notebook.metadata.kernelspec.name == "python3"


def test_no_cell_errors(executed: Any) -> None:
    code = [cell for cell in executed.cells if cell.cell_type == "code"]

    assert [out for cell in code for out in outputs(cell) if out.output_type == "error"] == []
    assert all(cell.execution_count is not None for cell in code)


def test_pages_display_as_html_tables_with_thumbnails(executed: Any) -> None:
    tables = [
        out["data"]["text/html"]
        for cell in executed.cells
        for out in outputs(cell)
        if "text/html" in out.get("data", {})
    ]

    assert any("<table" in table and '<img src="https://' in table for table in tables)
    assert any("<th" in table and "Heavy Metal" in table for table in tables)
    assert any("<em>… 10 more</em>" in table for table in tables)
    assert any("Paginator · not started" in table for table in tables)
    assert any("Paginator · finished: 3 pages, 120 items received" in table for table in tables)


def test_the_notebook_shows_rows_progress_and_a_resumed_export(executed: Any) -> None:
    printed = "\n".join(texts(cell) for cell in executed.cells if cell.cell_type == "code")

    assert "'track_count': 25" in printed
    assert "0/120" in printed
    assert "120 tracks; resume cursor: '" in printed
    assert "tracks after resuming; same as one run: True" in printed
    assert "ResponseCollection[Track](30 items, category='2iB4IU25', next_cursor=" in printed
