"""The command line's output: encodings, full disks, closed streams, pipes.

Most tests call `main` in this process, with the streams a Python process would have:
``sys.stdout`` and ``sys.stderr`` as text wrappers of the encoding ``PYTHONIOENCODING``
names, a real ``/dev/full`` descriptor, a real pipe, or ``None`` for a closed descriptor
1 (what Python sets then). One real process per kind of output proves what only a process
shows: the exit code Python exits with, and that nothing fails at exit (a flush into the
full disk, the closed pipe) to add an ``Exception ignored`` line or change that code.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import IO, Any, Protocol

import pytest

from amazon_music_browse import BrowseClient
from amazon_music_browse._cli import main
from tests._support import LoopbackServer

ENCODINGS = ["ascii", "latin-1", "utf-8"]
# What the stub serves as top tracks, whatever the limit (so --max-items cuts the page).
TITLES = [
    "Café 日本 🎵",
    "Beyoncé — Déjà Vu",
    "Ελληνικά ✓ 👨\u200d👩\u200d👧",
    "\x1b]0;owned\x07\x1b[31mred\x1b[0m\r\nnext line",
]
HOSTILE_MESSAGE = "No such category.\x1b[2J\x1b]52;c;cm0gLXJm\x07 \u202eevil"
API_KEY, ACCESS_TOKEN = "stub-api-key-123456", "stub-access-token-123456"


class _Stub(BaseHTTPRequestHandler):
    """Top tracks with the titles above; a 404 with a hostile message for anything else."""

    def do_GET(self) -> None:
        if self.path.startswith("/v1/browse/tracks/top"):
            edges = [{"node": {"id": f"T{n}", "title": t}} for n, t in enumerate(TITLES)]
            page = {"pageInfo": {"hasNextPage": False, "token": None}, "edges": edges}
            status, document = 200, {"data": {"topTracks": page}}
        else:
            error = {"status": "404", "code": "RESOURCE_NOT_FOUND", "message": HOSTILE_MESSAGE}
            status, document = 404, {"error": error}
        body = json.dumps(document).encode("ascii")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stub() -> Iterator[str]:
    server = LoopbackServer(_Stub)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


STUB_CREDENTIALS = {"AMAZON_MUSIC_API_KEY": API_KEY, "AMAZON_MUSIC_ACCESS_TOKEN": ACCESS_TOKEN}
CLOSED = "closed"  # as stdout: a process started with descriptor 1 closed


@dataclass
class Result:
    """How a run of the command line ended: its exit code, and the bytes of its streams."""

    returncode: int
    stdout: bytes
    stderr: bytes


class Runner(Protocol):
    """Runs the command line with ``env`` added to a clean environment (no credentials,
    100 columns, no PYTHONIOENCODING unless given), writing to ``stdout``: an open file
    (descriptor 1 of a process), `CLOSED`, or None to capture it."""

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, stdout: IO[str] | str | None = None
    ) -> Result: ...


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMAZON_MUSIC_")}
    env.pop("PYTHONIOENCODING", None)
    return {**env, "COLUMNS": "100", **extra}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "amazon_music_browse", *args]


def run_process(
    *args: str, env: dict[str, str] | None = None, stdout: IO[str] | str | None = None
) -> Result:
    """``python -m amazon_music_browse args`` in a process of its own."""
    if stdout == CLOSED:  # the shell closes descriptor 1, then runs the command
        argv, stdout = ["sh", "-c", 'exec "$@" >&-', "sh", *command(*args)], None
    else:
        argv = command(*args)
    result = subprocess.run(
        argv,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        env=environment(**(env or {})),
        timeout=120,
        check=False,
    )
    return Result(result.returncode, result.stdout or b"", result.stderr)


def unbuffered() -> bool:
    """Whether the processes these tests start write unbuffered (``PYTHONUNBUFFERED``)."""
    return bool(os.environ.get("PYTHONUNBUFFERED"))


def process_stream(buffer: IO[bytes], encoding: str, errors: str) -> io.TextIOWrapper:
    """A text stream like the ``sys.stdout`` or ``sys.stderr`` Python gives a process."""
    return io.TextIOWrapper(
        buffer, encoding=encoding, errors=errors, newline="\n", write_through=unbuffered()
    )


def output_file(file: str | int, *, buffered: bool | None = None) -> io.TextIOWrapper:
    """``file`` opened as Python opens the ``sys.stdout`` of a process writing to it:
    buffered, unless ``PYTHONUNBUFFERED`` is set (as for the processes this module starts);
    ``buffered`` says which, whatever the environment."""
    if buffered is None:
        buffered = not unbuffered()
    stream = open(file, "wb", buffering=-1 if buffered else 0)  # noqa: SIM115 (returned)
    return io.TextIOWrapper(
        stream, encoding="utf-8", errors="strict", newline="\n", write_through=not buffered
    )


@pytest.fixture
def run_in_process(monkeypatch: pytest.MonkeyPatch) -> Runner:
    """``main(args)`` in this process, with the environment and the streams of a process:
    text wrappers in the encoding ``PYTHONIOENCODING`` names (UTF-8 without it), stdout
    strict and stderr with backslash escapes as Python makes them, and ``sys.stdout`` None
    for a closed descriptor 1, as Python sets it."""

    def run(
        *args: str, env: dict[str, str] | None = None, stdout: IO[str] | str | None = None
    ) -> Result:
        settings = {"COLUMNS": "100", **(env or {})}
        encoding = settings.pop("PYTHONIOENCODING", "utf-8")
        out_buffer, err_buffer = io.BytesIO(), io.BytesIO()
        captured = process_stream(out_buffer, encoding, "strict")
        err = process_stream(err_buffer, encoding, "backslashreplace")
        with monkeypatch.context() as process:
            for name, value in settings.items():
                process.setenv(name, value)
            if stdout is None:
                process.setattr(sys, "stdout", captured)
            else:  # Python's sys.stdout is None when descriptor 1 was closed
                process.setattr(sys, "stdout", None if stdout == CLOSED else stdout)
            process.setattr(sys, "stderr", err)
            code = main(list(args))
        captured.flush()
        err.flush()
        return Result(code, out_buffer.getvalue(), err_buffer.getvalue())

    return run


@pytest.fixture(params=["in-process"])
def run(request: pytest.FixtureRequest) -> Runner:
    """``main`` in this process; or, parametrized ``process``, a process of its own."""
    if request.param == "process":
        return run_process
    runner: Runner = request.getfixturevalue("run_in_process")
    return runner


def assert_quiet_failure(result: Result, code: int, line: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.decode() == (f"error: {line}\n" if line else "")


# -- JSON lines, whatever the encoding ----------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "run"),
    [
        *[(encoding, "in-process") for encoding in ENCODINGS],
        ("latin-1", "process"),  # PYTHONIOENCODING read by Python itself
    ],
    indirect=["run"],
)
def test_json_lines_keep_every_character_in_any_encoding(
    encoding: str, run: Runner, stub: str
) -> None:
    environment = {**STUB_CREDENTIALS, "PYTHONIOENCODING": encoding}
    result = run("top-tracks", "--json", "--base-url", stub, env=environment)

    assert result.returncode == 0, result.stderr
    with BrowseClient(base_url=stub, api_key=API_KEY, access_token=ACCESS_TOKEN) as client:
        expected = [track.title for track in client.get_top_tracks()]
    assert expected == TITLES
    lines = result.stdout.decode(encoding).splitlines()  # strict: every byte is valid
    assert [json.loads(line)["title"] for line in lines] == expected
    assert b"?" not in result.stdout
    if encoding == "latin-1":  # characters the stream can take are written as they are
        assert "Café".encode("latin-1") in result.stdout
        assert b"\\u65e5\\u672c \\ud83c\\udfb5" in result.stdout  # the rest escaped
    if encoding == "utf-8":
        assert "日本 🎵".encode() in result.stdout


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_json_lines_of_the_sandbox_round_trip(
    encoding: str, run: Runner, client: BrowseClient
) -> None:
    result = run(
        "top-playlists", "--all", "--json", "--sandbox", env={"PYTHONIOENCODING": encoding}
    )

    assert result.returncode == 0, result.stderr
    expected = [(p.id, p.title) for p in client.paginate(client.get_top_playlists)]
    got = [json.loads(line) for line in result.stdout.decode(encoding).splitlines()]
    assert [(item["id"], item["title"]) for item in got] == expected
    assert len(expected) > 60


def test_tables_and_errors_show_no_terminal_escapes(run: Runner, stub: str) -> None:
    table = run(
        "top-tracks", "--base-url", stub, env={**STUB_CREDENTIALS, "PYTHONIOENCODING": "utf-8"}
    )
    error = run("category", "x", "--base-url", stub, env=STUB_CREDENTIALS)

    assert table.returncode == 0, table.stderr
    shown = table.stdout.decode()
    assert not {"\x1b", "\x07", "\r"} & set(shown)
    assert "Café 日本 🎵" in shown
    assert len(shown.splitlines()) == 1 + len(TITLES) + 1  # a line break in a title is a space
    assert error.returncode == 1
    message = error.stderr.decode()
    assert message.startswith("error: 404 RESOURCE_NOT_FOUND: No such category.\ufffd\ufffd")
    assert message.count("\n") == 1
    assert not {"\x1b", "\x07", "\u202e"} & set(message)


# -- the footer says whether the collection is finished -----------------------------------


def test_a_walk_cut_in_its_first_page_is_not_finished(run: Runner, stub: str) -> None:
    # The stub sends every track when asked for 2: the walk ends mid-page, with no cursor.
    table = run("top-tracks", "--max-items", "2", "--base-url", stub, env=STUB_CREDENTIALS)
    jsonl = run(
        "top-tracks", "--max-items", "2", "--json", "--base-url", stub, env=STUB_CREDENTIALS
    )
    count = str(len(TITLES))
    whole = run("top-tracks", "--max-items", count, "--base-url", stub, env=STUB_CREDENTIALS)

    assert table.stdout.decode().splitlines()[-1] == (
        "2 items in 1 page · not finished: run again without --cursor to resume"
    )
    assert len(jsonl.stdout.splitlines()) == 2
    assert jsonl.stderr.decode() == "not finished: run again without --cursor to resume\n"
    assert whole.stdout.decode().splitlines()[-1] == f"{count} items in 1 page · end of list"


# -- output that cannot be written ---------------------------------------------------------

FULL_DISK = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
OUTPUTS = {
    "json": ["top-tracks", "--limit", "3", "--json", "--sandbox"],
    "table": ["top-playlists", "--all", "--sandbox"],
    "demo": ["demo"],
    "help": ["--help"],
}


def outputs(*in_a_process: str) -> list[Any]:
    """Each output in this process, and those named in a real process too."""
    return [
        *[pytest.param(args, "in-process", id=name) for name, args in OUTPUTS.items()],
        *[pytest.param(OUTPUTS[name], "process", id=f"{name}-process") for name in in_a_process],
    ]


@FULL_DISK
@pytest.mark.parametrize(("args", "run"), outputs("table"), indirect=["run"])
def test_a_full_disk_is_one_error_line_and_exit_1(args: list[str], run: Runner) -> None:
    with output_file("/dev/full") as full:
        result = run(*args, stdout=full)

    assert_quiet_failure(result, 1, "cannot write to stdout: No space left on device")


@FULL_DISK
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_full_disk_under_json_shows_no_resume_hint(
    buffered: bool, run_in_process: Runner
) -> None:
    # One page of a longer list: the hint to resume would follow the items on stderr, but
    # the items were never written, so there is nothing to resume after.
    with output_file("/dev/full", buffered=buffered) as full:
        result = run_in_process(*OUTPUTS["json"], stdout=full)

    assert_quiet_failure(result, 1, "cannot write to stdout: No space left on device")


@pytest.mark.parametrize(("args", "run"), outputs("json"), indirect=["run"])
def test_a_closed_stdout_is_exit_1(args: list[str], run: Runner) -> None:
    result = run(*args, stdout=CLOSED)

    assert_quiet_failure(result, 1, "cannot write to stdout: it is closed")


def test_a_closed_stdout_is_still_a_usage_error_first(run: Runner) -> None:
    result = run("top-tracks", "--limit", "50", stdout=CLOSED)

    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: argument --limit: ")


PIPES = {
    "json": (["top-playlists", "--all", "--json", "--sandbox"], 1),  # 80 kB: blocks on the pipe
    "table": (["top-playlists", "--all", "--sandbox"], 1),  # 19 kB: blocks on a 4 kB pipe
    "json-unread": (["category-tracks", "E9UEPoEH", "--all", "--json", "--sandbox"], 0),
    "demo": (["demo"], 0),  # closed before the first write
    "help": (["--help"], 0),
}


def smallest_pipe(descriptor: int) -> None:
    """Linux: the smallest pipe (4 kB), so the writer blocks."""
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        fcntl.fcntl(descriptor, fcntl.F_SETPIPE_SZ, 4096)


@pytest.mark.parametrize(("args", "lines_read"), PIPES.values(), ids=PIPES)
def test_a_pipe_closed_early_ends_with_141_and_no_error(
    args: list[str], lines_read: int, run_in_process: Runner
) -> None:
    reading, writing = os.pipe()
    smallest_pipe(reading)
    read: list[bytes] = []
    with open(reading, "rb") as reader, output_file(writing) as out:

        def read_then_close() -> None:
            read.extend(reader.readline() for _ in range(lines_read))
            reader.close()

        if lines_read:
            reader_thread = threading.Thread(target=read_then_close)
            reader_thread.start()
        else:
            read_then_close()
        result = run_in_process(*args, stdout=out)
        if lines_read:
            reader_thread.join(timeout=120)

    assert result.returncode == 141
    assert result.stderr == b""
    assert len(read) == lines_read
    assert all(line.endswith(b"\n") for line in read)


@pytest.mark.parametrize(
    ("args", "lines_read"), [PIPES["json"], PIPES["help"]], ids=["json", "help"]
)
def test_a_pipe_closed_early_ends_a_process_silently_with_141(
    args: list[str], lines_read: int
) -> None:
    process = subprocess.Popen(
        command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment()
    )
    assert process.stdout is not None
    assert process.stderr is not None
    smallest_pipe(process.stdout.fileno())
    read = [process.stdout.readline() for _ in range(lines_read)]
    process.stdout.close()
    error = process.stderr.read()
    process.stderr.close()

    assert process.wait(timeout=120) == 141
    assert error == b""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert all(line.endswith(b"\n") for line in read)
