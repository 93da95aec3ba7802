"""Every example runs against the sandbox, exits 0 and prints what it promises.

Each runs as ``python examples/NAME.py`` runs it (its directory first on ``sys.path``,
``__name__`` set to ``"__main__"``, no credentials in the environment), in this process;
the quickstart, the first a reader runs, also in a process of its own.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example_process(name: str) -> str:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("AMAZON_MUSIC_")
    }
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        cwd=EXAMPLES.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture
def run_example(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run_example(name)``: the example run as its script, in this process; its stdout."""

    def run(name: str) -> str:
        path = EXAMPLES / name
        monkeypatch.chdir(EXAMPLES.parent)
        monkeypatch.syspath_prepend(str(EXAMPLES))
        monkeypatch.setattr(sys, "argv", [str(path)])
        code: object = 0
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as exc:  # the process would exit with this
            code = exc.code
        captured = capsys.readouterr()
        assert code in (None, 0), captured.err
        assert "Traceback" not in captured.err
        return captured.out

    return run


def test_every_example_is_tested() -> None:
    tested = {"quickstart.py", "paginate_category.py", "errors_and_rate_limits.py"}
    tested |= {"downstream_wrapper.py", "walkthrough.py"}
    assert {path.name for path in EXAMPLES.glob("*.py")} == tested


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda path: path.name)
def test_every_example_says_how_to_run_it(path: Path) -> None:
    docstring = path.read_text(encoding="utf-8").split('"""')[1]
    assert f"python examples/{path.name}" in docstring


@pytest.mark.parametrize("in_a_process", [False, True], ids=["in-process", "process"])
def test_quickstart(run_example: Any, in_a_process: bool) -> None:
    out = (run_example_process if in_a_process else run_example)("quickstart.py")
    assert "Using the local sandbox at http://127.0.0.1:" in out
    assert "  B0785GTW4T  Beggin' [Explicit]" in out
    assert "Category 2iB4IU25: Heavy Metal" in out
    assert "First 5 categories:" in out
    assert "  250 tracks, from " in out


def test_paginate_category(run_example: Any) -> None:
    out = run_example("paginate_category.py")
    pages = re.findall(r"page (\d+): (\d+) tracks", out)
    assert len(pages) >= 3
    assert all(count == "100" for _, count in pages[:-1])
    total = sum(int(count) for _, count in pages)
    assert f"{total} tracks in all, {total} distinct ids" in out
    assert "max_items=130: 130 tracks" in out
    assert "Interrupted export: 200 tracks, then stopped" in out
    assert f"Resumed with cursor=saved: {total} tracks in all; same as one run: True" in out
    assert "prefetch=False: " in out
    assert "prefetch=True: " in out


def test_errors_and_rate_limits(run_example: Any) -> None:
    out = run_example("errors_and_rate_limits.py")
    faults = re.search(
        r"faults injected by the sandbox: (\d+) x 429, (\d+) x 500, (\d+) x 503", out
    )
    exported = re.search(r"(\d+) playlists exported; (\d+) retries logged", out)
    assert faults is not None
    assert exported is not None
    assert int(faults[1]) > 0
    assert int(faults[2]) + int(faults[3]) > 0
    assert int(exported[1]) > 300
    assert int(exported[2]) == sum(int(count) for count in faults.groups())
    assert "WARNING retrying GET /v1/browse/categories/2iB4IU25/playlists after " in out
    assert "RateLimitError: 429 " in out
    assert ".retry_after=3600.0 .code='THROTTLED'" in out
    assert ".reference=" in out
    assert "the next call fails fast, nothing sent: retry after " in out
    assert "InternalServerError: status 50" in out
    assert "NotFoundError: 404 RESOURCE_NOT_FOUND" in out
    assert ".status_code=404 .code='RESOURCE_NOT_FOUND'" in out
    assert "AuthenticationError: .status_code=401" in out
    assert "ConfigurationError: base_url must use https://" in out
    assert "ConfigurationError: api_key is empty" in out
    assert "ConfigurationError: no API key: " in out
    assert "or set AMAZON_MUSIC_API_KEY" in out
    assert "ValueError: limit must be from 1 to 20" in out
    assert "TypeError: limit must be an int" in out
    assert "NotFoundError is an AmazonMusicError" in out


def test_downstream_wrapper(run_example: Any) -> None:
    out = run_example("downstream_wrapper.py")
    assert "track: B0785GTW4T Beggin'" in out
    assert "me: Ada ({'country': 'US'})" in out
    assert "my playlists: 230, the last Mix 229" in out
    assert "finished: False, resume at '" in out
    assert "search 'rock': ['T0000', 'T0003', 'T0006', 'T0009', 'T0012'], next token '5'" in out
    assert "search 'rock', every page: 77 tracks" in out
    assert "with_options() keeps the subclass: MusicClient" in out


def test_walkthrough(run_example: Any) -> None:
    out = run_example("walkthrough.py")
    assert "BrowseClient(base_url='http://127.0.0.1:" in out
    assert "len(page) = 3; page.page_info.has_next_page = True" in out
    assert '"trackCount"' in out
    assert "page.category = Category(id='2iB4IU25'" in out
    assert "150 playlists; the last is " in out
    assert re.search(r"100 episodes, stopped at cursor '.+'", out)
    assert re.search(r"resumed: \d+ more episodes", out)
    assert out.rstrip().endswith("done")
