"""docs/sandbox.md describes `SandboxServer` as it is: its signature block cannot drift."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from amazon_music_browse.sandbox import SandboxServer

PAGE = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"
SIGNATURE_BLOCK = re.compile(r"^```text\n(SandboxServer\(.*?\))\n```$", re.MULTILINE | re.DOTALL)


def documented_signature() -> list[tuple[str, object, str]]:
    """(name, kind, default) for each parameter of the page's signature block.

    A default is the repr of the literal written, or the dotted name written for a function.
    """
    [block] = SIGNATURE_BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    [function] = ast.parse(f"def {block}: pass").body
    assert isinstance(function, ast.FunctionDef)
    arguments = function.args
    names = [
        *((arg.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD) for arg in arguments.args),
        *((arg.arg, inspect.Parameter.KEYWORD_ONLY) for arg in arguments.kwonlyargs),
    ]
    defaults = [*arguments.defaults, *arguments.kw_defaults]
    assert all(default is not None for default in defaults), "a keyword without a default"
    assert len(defaults) == len(names), "a positional argument without a default"
    return [
        (name, kind, written(default))
        for (name, kind), default in zip(names, defaults, strict=True)
        if default is not None
    ]


def written(default: ast.expr) -> str:
    try:
        return repr(ast.literal_eval(default))
    except ValueError:
        return ast.unparse(default)  # e.g. time.monotonic


def actual_signature() -> list[tuple[str, object, str]]:
    """(name, kind, default) for each parameter of `SandboxServer`, written alike."""
    return [
        (
            name,
            parameter.kind,
            f"{parameter.default.__module__}.{parameter.default.__qualname__}"
            if callable(parameter.default)
            else repr(parameter.default),
        )
        for name, parameter in inspect.signature(SandboxServer).parameters.items()
    ]


def test_the_signature_block_matches_sandbox_server() -> None:
    assert documented_signature() == actual_signature()
