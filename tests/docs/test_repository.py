"""What no text file of the project may hold: the markers of a merge left unresolved."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("src", "tests", "docs", "examples", "benchmarks", ".ci")
TOP_FILES = ("README.md", "CHANGELOG.md", "pyproject.toml", "mkdocs.yml")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".txt", ".ipynb", ""}
# git's markers at the start of a line, as a merge with conflicts leaves them
CONFLICT = re.compile(r"^(?:<{7}|>{7})(?: |$)", re.MULTILINE)


def project_files() -> list[Path]:
    """The project's own text files: top-level files and the folders' (no caches)."""
    files = [ROOT / name for name in TOP_FILES if (ROOT / name).is_file()]
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            parts = path.relative_to(ROOT).parts[1:]
            if any(part.startswith(".") or part == "__pycache__" for part in parts):
                continue
            if path.is_file() and path.suffix in TEXT_SUFFIXES:
                files.append(path)
    return files


def test_the_files_checked_include_the_docs_and_the_code() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in project_files()}
    assert {"README.md", "docs/benchmarks.md", "src/amazon_music_browse/__init__.py"} <= names
    assert "tests/docs/test_repository.py" in names


def test_no_file_holds_an_unresolved_merge() -> None:
    unresolved = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
        for path in project_files()
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for match in CONFLICT.finditer(text)
    ]
    assert unresolved == []
