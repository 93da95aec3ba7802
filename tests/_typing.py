"""Type-checking snippets with `mypy --strict`: one run for every snippet of the session.

A test module registers its snippet at import (collection), with `register`; the first
test that asks for a result runs mypy once over every registered snippet, so the cost of
starting mypy is paid once per test process instead of once per test. mypy runs with the
project's own configuration and incremental cache (``.mypy_cache``, which ``mypy src``
fills): a warm cache checks the snippets in well under a second instead of re-checking
pydantic and requests (about 8 s). The cache is mypy's own, validated by content hashes,
and written file by file with atomic renames, so test processes may share it.
"""

from __future__ import annotations

import functools
import os
import tempfile
import textwrap
from pathlib import Path

import amazon_music_browse

__all__ = ["mypy_errors", "mypy_output", "register", "revealed_types"]

_SNIPPETS: dict[str, str] = {}
_PROJECT = Path(__file__).resolve().parents[1]


def register(name: str, source: str) -> str:
    """Register ``source`` as the module ``name`` (a Python identifier); return the name."""
    if not name.isidentifier() or _SNIPPETS.get(name, source) != source:
        raise ValueError(f"snippet name {name!r} is not an identifier, or taken")
    _SNIPPETS[name] = textwrap.dedent(source)
    return name


@functools.cache
def _checked() -> dict[str, list[str]]:
    """Each registered snippet's lines of mypy output (one run over all of them)."""
    from mypy import api as mypy_api

    folder = Path(tempfile.mkdtemp(prefix="typing-"))
    for name, source in _SNIPPETS.items():
        (folder / f"{name}.py").write_text(source, encoding="utf-8")
    package_root = str(Path(amazon_music_browse.__file__).parents[1])
    previous = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = package_root  # the package these tests import, not another copy
    try:
        out, err, _ = mypy_api.run(
            [
                f"--config-file={_PROJECT / 'pyproject.toml'}",
                f"--cache-dir={_PROJECT / '.mypy_cache'}",
                "--strict",
                "--show-error-codes",
                *sorted(str(folder / f"{name}.py") for name in _SNIPPETS),
            ]
        )
    finally:
        if previous is None:
            del os.environ["MYPYPATH"]
        else:
            os.environ["MYPYPATH"] = previous
    lines: dict[str, list[str]] = {name: [] for name in _SNIPPETS}
    for line in out.splitlines():
        file_name = Path(line.split(":", 1)[0]).stem
        if file_name in lines:
            lines[file_name].append(line.split(": ", 1)[1] if ": " in line else line)
    if err.strip():
        raise RuntimeError(f"mypy failed to run: {err}")
    return lines


def mypy_output(name: str) -> list[str]:
    """The lines mypy printed about snippet ``name`` (``note: …``, ``error: …``)."""
    return _checked()[name]


def revealed_types(name: str) -> list[str]:
    """The types ``reveal_type`` showed in snippet ``name``, in order."""
    return [
        line.split("Revealed type is ")[1].strip('"')
        for line in mypy_output(name)
        if "Revealed type is " in line
    ]


def mypy_errors(name: str) -> list[str]:
    """The errors mypy found in snippet ``name``."""
    return [line for line in mypy_output(name) if line.startswith("error:")]
