"""The command line's output in real processes: encodings, full disks, closed streams, pipes."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from amazon_music_browse import BrowseClient
from amazon_music_browse.sandbox import SandboxServer

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
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMAZON_MUSIC_")}
    env.pop("PYTHONIOENCODING", None)
    return {**env, "COLUMNS": "100", **extra}


def stub_environment(**extra: str) -> dict[str, str]:
    return environment(
        AMAZON_MUSIC_API_KEY=API_KEY, AMAZON_MUSIC_ACCESS_TOKEN=ACCESS_TOKEN, **extra
    )


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "amazon_music_browse", *args]


def run(*args: str, env: dict[str, str], **options: Any) -> subprocess.CompletedProcess[bytes]:
    options.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(
        command(*args), stderr=subprocess.PIPE, env=env, timeout=120, check=False, **options
    )


def assert_quiet_failure(result: subprocess.CompletedProcess[bytes], code: int, line: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.decode() == (f"error: {line}\n" if line else "")


# -- JSON lines, whatever the encoding ----------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_json_lines_keep_every_character_in_any_encoding(encoding: str, stub: str) -> None:
    result = run(
        "top-tracks", "--json", "--base-url", stub, env=stub_environment(PYTHONIOENCODING=encoding)
    )

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
def test_json_lines_of_the_sandbox_round_trip(encoding: str) -> None:
    result = run(
        "top-playlists",
        "--all",
        "--json",
        "--sandbox",
        env=environment(PYTHONIOENCODING=encoding),
    )

    assert result.returncode == 0, result.stderr
    with SandboxServer() as sandbox, sandbox.client() as client:
        expected = [(p.id, p.title) for p in client.paginate(client.get_top_playlists)]
    got = [json.loads(line) for line in result.stdout.decode(encoding).splitlines()]
    assert [(item["id"], item["title"]) for item in got] == expected
    assert len(expected) > 60


def test_tables_and_errors_show_no_terminal_escapes(stub: str) -> None:
    table = run("top-tracks", "--base-url", stub, env=stub_environment(PYTHONIOENCODING="utf-8"))
    error = run("category", "x", "--base-url", stub, env=stub_environment())

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


def test_a_walk_cut_in_its_first_page_is_not_finished(stub: str) -> None:
    # The stub sends every track when asked for 2: the walk ends mid-page, with no cursor.
    table = run("top-tracks", "--max-items", "2", "--base-url", stub, env=stub_environment())
    jsonl = run(
        "top-tracks", "--max-items", "2", "--json", "--base-url", stub, env=stub_environment()
    )
    count = str(len(TITLES))
    whole = run("top-tracks", "--max-items", count, "--base-url", stub, env=stub_environment())

    assert table.stdout.decode().splitlines()[-1] == (
        "2 items in 1 page · not finished: run again without --cursor to resume"
    )
    assert len(jsonl.stdout.splitlines()) == 2
    assert jsonl.stderr.decode() == "not finished: run again without --cursor to resume\n"
    assert whole.stdout.decode().splitlines()[-1] == f"{count} items in 1 page · end of list"


# -- output that cannot be written ---------------------------------------------------------

FULL_DISK = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
OUTPUTS = [
    pytest.param(["top-tracks", "--limit", "3", "--json", "--sandbox"], id="json"),
    pytest.param(["top-playlists", "--all", "--sandbox"], id="table"),
    pytest.param(["demo"], id="demo"),
    pytest.param(["--help"], id="help"),
]


@FULL_DISK
@pytest.mark.parametrize("args", OUTPUTS)
def test_a_full_disk_is_one_error_line_and_exit_1(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = run(*args, env=environment(), stdout=full)

    assert_quiet_failure(result, 1, "cannot write to stdout: No space left on device")


@pytest.mark.parametrize("args", OUTPUTS)
def test_a_closed_stdout_is_exit_1(args: list[str]) -> None:
    closed = ["sh", "-c", 'exec "$@" >&-', "sh", *command(*args)]
    result = subprocess.run(
        closed, stderr=subprocess.PIPE, env=environment(), timeout=120, check=False
    )

    assert_quiet_failure(result, 1, "cannot write to stdout: it is closed")


def test_a_closed_stdout_is_still_a_usage_error_first() -> None:
    closed = ["sh", "-c", 'exec "$@" >&-', "sh", *command("top-tracks", "--limit", "50")]
    result = subprocess.run(closed, stderr=subprocess.PIPE, timeout=120, check=False)

    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: argument --limit: ")


@pytest.mark.parametrize(
    ("args", "lines_read"),
    [
        (["top-playlists", "--all", "--json", "--sandbox"], 1),  # 80 kB: blocks on the pipe
        (["top-playlists", "--all", "--sandbox"], 1),  # 19 kB: blocks on a 4 kB pipe
        (["category-tracks", "E9UEPoEH", "--all", "--json", "--sandbox"], 0),
        (["demo"], 0),  # closed before the first write
        (["--help"], 0),
    ],
    ids=["json", "table", "json-unread", "demo", "help"],
)
def test_a_pipe_closed_early_ends_silently_with_141(args: list[str], lines_read: int) -> None:
    process = subprocess.Popen(
        command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment()
    )
    assert process.stdout is not None
    assert process.stderr is not None
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: the smallest pipe, so the writer blocks
        fcntl.fcntl(process.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
    read = [process.stdout.readline() for _ in range(lines_read)]
    process.stdout.close()
    error = process.stderr.read()
    process.stderr.close()

    assert process.wait(timeout=120) == 141
    assert error == b""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert all(line.endswith(b"\n") for line in read)
