"""The documentation cannot rot: every Python block of ``docs/*.md`` and README.md runs.

How a page runs
---------------
A small fence parser (`parse_blocks`) collects the fenced blocks of a Markdown file.

- A ```` ```python ```` block runs with ``exec``. The blocks of one page run in order in
  one shared namespace (a fresh module), so a later block uses ``client`` or any other
  name an earlier one defined. Tracebacks point at the Markdown file and line.
- A ```` ```text title="Output" ```` block right after a python block (blank lines
  between are fine) is what that block prints: its stdout must equal it exactly.
- A python block with a file title (```` ```python title="test_genres.py" ````) is a
  file, not a statement list: the page's file blocks are written to a temporary
  directory and a pytest run of their own (in this process: `Pytester.runpytest_inprocess`,
  which loads the plugins of the installed entry points, ours too) runs them there; at
  least one test must run, and every test must pass. A file that is not a test must be
  imported by one.
- A ```` ```sh ```` block followed by an Output block must hold one
  ``amazon-music-browse`` command; it runs (its arguments passed to `main`, which
  ``python -m amazon_music_browse`` runs, here in this process: no shell, no credentials
  in the environment, UTF-8 streams) and must exit 0 with exactly that stdout. That the
  command is a process's too is proven by tests/integration (test_cli, test_cli_output).
- Any other block (``sh``, ``text``, ``json``...) is not run. A fence that names Python
  another way (``py``, ``python3``, ``pycon``...) fails the test: no Python slips through
  unrun, and no Python block is ever skipped.

How snippets written for the real service reach the sandbox
-----------------------------------------------------------
Exactly as a reader's would: each page gets a fresh sandbox made as its command line
makes one (``python -m amazon_music_browse.sandbox --port 0``: the same flags, parsed by
its parser, seed 0, so its data and outputs are fixed; fresh, as the request ids it sends
count its requests), and the ``export`` lines its banner prints are set in the
environment, as pasting them into a shell would. The sandbox serves from this process
(starting the command line's process for each page cost more than most pages; that the
command line starts it and prints that banner is proven by tests/sandbox/test_server.py).
The exports name the sandbox's URL
(``AMAZON_MUSIC_BASE_URL``, ``AMAZON_MUSIC_LWA_URL``), its credentials
(``AMAZON_MUSIC_API_KEY``, ``AMAZON_MUSIC_ACCESS_TOKEN``) and its Login with Amazon
secrets (``LWA_CLIENT_ID``, ``LWA_CLIENT_SECRET``, ``LWA_REFRESH_TOKEN``, the names the
Authentication page uses for the reader's own). The SDK reads them where an argument is
left out.

Nothing is patched (not even the retry sleep: snippets keep their waits short), so a
snippet that passes ``base_url=`` or starts its own `SandboxServer` runs exactly as
written. Clients, token providers and sandboxes a page leaves open are closed after it.

The other tests check the parser itself, that every page is in the mkdocs nav, that
docs/index.md shows README.md's two set-up commands verbatim, and that
``mkdocs build --strict`` succeeds; that one needs mkdocs, mkdocs-material and
mkdocstrings[python] (the dev extra), and fails, never skips, without them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from amazon_music_browse import BrowseClient, LoginWithAmazon
from amazon_music_browse._cli import main
from amazon_music_browse.sandbox import SandboxServer
from amazon_music_browse.sandbox import __main__ as sandbox_command_line

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]

RUN = "python"
OUTPUT_INFO = 'text title="Output"'
PYTHON_ALIASES = frozenset({"py", "python3", "py3", "pycon", "ipython", "pyi"})
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
FILE_TITLE = re.compile(r'^title="(?P<name>[\w/.-]+\.py)"$')
CLI_PREFIXES = (("amazon-music-browse",), ("python", "-m", "amazon_music_browse"))


@dataclass
class Block:
    """One fenced block: where it starts, its info string and its (dedented) text."""

    path: Path
    line: int  # 1-based line of the first line of code
    info: str
    code: str
    output: str | None = None  # the Output block that follows it, if any

    @property
    def language(self) -> str:
        return self.info.split(maxsplit=1)[0] if self.info else ""

    @property
    def file_name(self) -> str | None:
        """The file a titled python block stands for, e.g. ``test_genres.py``."""
        match = FILE_TITLE.match(self.info[len(RUN) :].strip())
        return match["name"] if match and self.language == RUN else None

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse_blocks(text: str, path: Path) -> list[Block]:
    """The fenced blocks of a Markdown text, with each Output block attached to its owner.

    A block ends at a fence line of the same character, at least as long, with no info;
    indented blocks (in a list or an admonition) are dedented by their fence's indent.
    """
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    previous: Block | None = None
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            if lines[i].strip():
                previous = None
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = FENCE.match(lines[j])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        else:
            raise AssertionError(f"{path}:{i + 1}: unclosed code fence")
        block = Block(path, i + 2, opening["info"].strip(), "\n".join(body) + "\n")
        if block.info == OUTPUT_INFO:
            if previous is None or previous.output is not None:
                raise AssertionError(f"{block.where()}: an Output block must follow a code block")
            previous.output = block.code
            previous = None
        else:
            blocks.append(block)
            previous = block
        i = j + 1
    return blocks


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- the environment a page runs in ----------------------------------------------------


def sandbox_exports(banner: Iterator[str]) -> dict[str, str]:
    """The variables of the ``export`` lines a sandbox's banner prints, as a shell reads them."""
    exports: dict[str, str] = {}
    for line in banner:
        if line.startswith("Press Ctrl-C"):
            return exports
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            name, _, value = words[1].partition("=")
            exports[name] = value
    raise AssertionError(f"the sandbox's banner ended early; exports so far: {sorted(exports)}")


@pytest.fixture
def docs_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A fresh sandbox made as its command line makes one (``--port 0``), and the exports
    its banner prints set in the environment, as a shell would."""
    args = sandbox_command_line._parser().parse_args(["--port", "0"])
    with SandboxServer(**vars(args)) as sandbox:
        exports = sandbox_exports(iter(sandbox_command_line._banner(sandbox).splitlines()))
        assert set(exports) >= {
            "AMAZON_MUSIC_BASE_URL",
            "AMAZON_MUSIC_API_KEY",
            "AMAZON_MUSIC_ACCESS_TOKEN",
        }
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        yield exports


def close_leftovers(namespace: dict[str, Any]) -> None:
    for value in namespace.values():
        if isinstance(value, (BrowseClient, LoginWithAmazon)):
            value.close()
        elif isinstance(value, SandboxServer):
            value.stop()


# -- running blocks -----------------------------------------------------------------------


def run_python(block: Block, namespace: dict[str, Any]) -> None:
    source = "\n" * (block.line - 1) + block.code  # line numbers as in the Markdown file
    code = compile(source, str(block.path), "exec")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(code, namespace)
    if block.output is not None:
        assert stdout.getvalue() == block.output, f"{block.where()}: output differs"


def cli_arguments(block: Block) -> list[str]:
    lines = [line for line in block.code.splitlines() if line.strip()]
    assert len(lines) == 1, f"{block.where()}: a command with an Output block is one line"
    words = shlex.split(lines[0])
    for prefix in CLI_PREFIXES:
        if tuple(words[: len(prefix)]) == prefix:
            return words[len(prefix) :]
    raise AssertionError(f"{block.where()}: only amazon-music-browse commands are run")


def text_stream() -> io.TextIOWrapper:
    """A UTF-8 text stream over bytes, as a process's stdout or stderr is."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")


def written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8")


def run_cli(block: Block) -> None:
    """The command, run by `main` as ``python -m amazon_music_browse`` runs it: with no
    credentials in the environment, 100 columns, UTF-8 text streams for stdout and stderr."""
    stdout, stderr = text_stream(), text_stream()
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AMAZON_MUSIC_"):
                patch.delenv(name)
        patch.setenv("COLUMNS", "100")
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        code = main(cli_arguments(block))
    assert code == 0, f"{block.where()}: exit {code}: {written(stderr)}"
    assert written(stdout) == block.output, f"{block.where()}: output differs"


def run_files(blocks: list[Block], pytester: pytest.Pytester) -> None:
    files = {block.file_name: block for block in blocks if block.file_name}
    tests = {name: block for name, block in files.items() if Path(name).name.startswith("test_")}
    assert tests, f"{blocks[0].where()}: file blocks, but no test_*.py among them"
    for name, block in files.items():
        module = Path(name).stem
        if name not in tests:
            importers = [t for t in tests.values() if re.search(rf"\b{module}\b", t.code)]
            assert importers, f"{block.where()}: no test file imports {module}"
        target = pytester.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code, encoding="utf-8")
    # pytest-benchmark, where installed, warns in a pytest-xdist worker, and in this process
    # this test's warnings are errors: it is off, as in the suite's own runs.
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:benchmark", *tests)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, result.stdout.str()
    assert set(outcomes) <= {"passed", "warnings"}, result.stdout.str()


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES, ids=page_id)
def test_page_snippets_run(
    path: Path, docs_sandbox: dict[str, str], request: pytest.FixtureRequest
) -> None:
    blocks = parse_blocks(path.read_text(encoding="utf-8"), path)
    for block in blocks:
        assert block.language not in PYTHON_ALIASES, f"{block.where()}: fence it as ```python"
    module = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
    namespace = module.__dict__
    sys.modules[module.__name__] = module
    try:
        for block in blocks:
            if block.language == RUN and block.file_name is None:
                run_python(block, namespace)
            elif block.language == "sh" and block.output is not None:
                run_cli(block)
            else:
                assert block.output is None or block.language == RUN, (
                    f"{block.where()}: an Output block follows a block that does not run"
                )
    finally:
        close_leftovers(namespace)
        del sys.modules[module.__name__]
    file_blocks = [block for block in blocks if block.file_name]
    if file_blocks:
        run_files(file_blocks, request.getfixturevalue("pytester"))


def test_every_python_block_is_found() -> None:
    """The parser misses no ```python fence: it finds as many as a plain search does."""
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        parsed = [b for b in parse_blocks(text, path) if b.language == RUN]
        assert len(parsed) == len(re.findall(r"^[ \t]*```+python\b", text, re.M)), path
        if path.name in {"README.md", "index.md", "getting-started.md"}:
            assert parsed, f"{path} has no Python example"


def test_parser() -> None:
    text = (
        "Intro\n\n```python\nprint('hi')\n```\n\n"
        '```text title="Output"\nhi\n```\n\n'
        "- item\n\n    ```sh\n    echo 1\n    ```\n\n"
        '````python title="test_x.py"\n```\ndef test_x(): pass\n````\n'
        "\nprose\n\n```text\nnot an output\n```\n"
    )
    first, shell, test_file, plain_text = parse_blocks(text, ROOT / "x.md")
    assert (first.line, first.code, first.output) == (4, "print('hi')\n", "hi\n")
    assert (shell.language, shell.code, shell.output) == ("sh", "echo 1\n", None)
    assert test_file.file_name == "test_x.py"
    assert test_file.code == "```\ndef test_x(): pass\n"
    assert (plain_text.info, plain_text.output) == ("text", None)
    with pytest.raises(AssertionError, match="must follow a code block"):
        parse_blocks('Prose\n\n```text title="Output"\nx\n```\n', ROOT / "x.md")
    with pytest.raises(AssertionError, match="unclosed"):
        parse_blocks("```python\nx = 1\n", ROOT / "x.md")


def readme_command(marker: str) -> str:
    """The command of the ```sh block right after ``<!-- marker -->`` in README.md."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\n```sh\n(.+)\n```", readme)
    assert match is not None, marker
    return match[1]


@pytest.mark.parametrize("marker", ["demo-command", "test-command"])
def test_index_shows_the_readme_set_up_commands(marker: str) -> None:
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert f"```sh\n{readme_command(marker)}\n```" in index


def nav_files(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for entry in nav:
            yield from nav_files(entry)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from nav_files(value)


def test_every_page_is_in_the_nav() -> None:
    import yaml  # installed with mkdocs

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert sorted(nav_files(config["nav"])) == sorted(p.name for p in DOCS.glob("*.md"))


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    """The site builds with ``mkdocs build --strict`` (needs the dev extra's mkdocs tools)."""
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    # The build runs none of the package's code (mkdocstrings reads the source as text), so
    # it is not measured: coverage would only double what it costs.
    environment.pop("COVERAGE_PROCESS_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "reference" / "index.html").is_file()
