"""The command line against the sandbox: every subcommand, both formats, errors, demo."""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from amazon_music_browse import BrowseClient, Endpoint, _signin
from amazon_music_browse._cli import main
from amazon_music_browse.endpoints import ENDPOINTS
from amazon_music_browse.sandbox import SandboxServer, _lwa

HEAVY_METAL = "2iB4IU25"
SACRED_STEEL = "E9UEPoEH"
HEADERS = {
    "top-tracks": ["ID", "TITLE"],
    "top-playlists": ["ID", "TITLE", "DURATION", "TRACKS"],
    "new-episodes": ["ID", "TITLE"],
    "categories": ["ID", "NAME"],
    "category": ["ID", "NAME", "TYPE"],
    "category-albums": ["ID", "TITLE"],
    "category-playlists": ["ID", "TITLE", "DURATION", "TRACKS"],
    "category-tracks": ["ID", "TITLE"],
}
METHODS = [  # what the demo shows it calls, one per endpoint
    "get_top_tracks",
    "get_top_playlists",
    "get_new_podcast_episodes",
    "get_categories",
    "get_category",
    "get_category_albums",
    "get_category_playlists",
    "get_category_tracks",
]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``main(args)`` with its exit code and output, on a 120-column terminal."""
    monkeypatch.setenv("COLUMNS", "120")

    def run(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> str:
    """The sandbox's credentials in the environment; returns its URL for --base-url."""
    monkeypatch.setenv("AMAZON_MUSIC_API_KEY", sandbox.api_key)
    monkeypatch.setenv("AMAZON_MUSIC_ACCESS_TOKEN", sandbox.access_token)
    return sandbox.url


def name_of(endpoint: Endpoint[Any]) -> str:
    assert endpoint.name is not None
    return endpoint.name


def path_params(endpoint: Endpoint[Any]) -> dict[str, str]:
    return dict.fromkeys(endpoint.path_params, HEAVY_METAL)


def arguments(endpoint: Endpoint[Any]) -> list[str]:
    return [name_of(endpoint), *path_params(endpoint).values()]


def expected_ids(client: BrowseClient, endpoint: Endpoint[Any], limit: int | None) -> list[str]:
    if not endpoint.is_collection:
        return [client.get_object(endpoint, **path_params(endpoint)).id]
    return [item.id for item in client.get_page(endpoint, limit=limit, **path_params(endpoint))]


def assert_one_line_error(run: Run, code: int, *fragments: str) -> None:
    assert run.code == code
    assert run.out == ""
    assert run.err.count("\n") == 1, run.err
    assert run.err.startswith("error: ")
    assert "Traceback" not in run.err
    for fragment in fragments:
        assert fragment in run.err


# -- every subcommand, both formats -----------------------------------------------------


def test_every_endpoint_is_a_subcommand() -> None:
    assert list(HEADERS) == [endpoint.name for endpoint in ENDPOINTS]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=name_of)
def test_every_subcommand_prints_json_lines(
    cli: Any, client: BrowseClient, endpoint: Endpoint[Any]
) -> None:
    limit = ["--limit", "7"] if endpoint.is_collection else []
    run = cli(*arguments(endpoint), *limit, "--json", "--sandbox")
    assert run.code == 0, run.err
    documents = run.json()
    assert [document["id"] for document in documents] == expected_ids(
        client, endpoint, 7 if endpoint.is_collection else None
    )
    if endpoint.is_collection:
        assert len(documents) == 7
        assert run.err.startswith("next cursor: ")
    else:
        category = client.get_category(HEAVY_METAL)
        assert documents == [category.model_dump(by_alias=True, exclude_unset=True, mode="json")]
        assert documents[0]["name"] == "Heavy Metal"
        assert documents[0]["categoryType"] == "GENRE"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=name_of)
def test_every_subcommand_prints_a_table(
    cli: Any, client: BrowseClient, endpoint: Endpoint[Any]
) -> None:
    limit = ["--limit", "4"] if endpoint.is_collection else []
    run = cli(*arguments(endpoint), *limit, "--sandbox")
    assert run.code == 0, run.err
    assert run.err == ""
    header, *rows = run.lines
    assert header.split() == HEADERS[name_of(endpoint)]
    ids = expected_ids(client, endpoint, 4 if endpoint.is_collection else None)
    if endpoint.is_collection:
        *rows, footer = rows
        assert footer.startswith("4 items · ")
        assert "next cursor: " in footer
    assert [row.split()[0] for row in rows] == ids


def test_top_tracks_start_with_the_documented_tracks(cli: Any) -> None:
    run = cli("top-tracks", "--json", "--sandbox")
    assert run.code == 0
    assert [track["id"] for track in run.json()[:2]] == ["B0785GTW4T", "B08ZCM5758"]
    assert run.json()[0]["title"] == "Beggin' [Explicit]"


def test_table_rows_hold_titles_and_playlist_durations(cli: Any, client: BrowseClient) -> None:
    playlist = client.get_top_playlists(limit=1)[0]
    run = cli("top-playlists", "--limit", "1", "--sandbox")
    row = run.lines[1]
    assert row.startswith(f"{playlist.id}  {playlist.title}")
    assert playlist.duration is not None
    hours, rest = divmod(playlist.duration, 3600)
    assert f"{hours}:{rest // 60:02}:{rest % 60:02}" in row
    assert row.endswith(str(playlist.track_count))


def test_category_collections_name_their_category_in_the_footer(cli: Any) -> None:
    run = cli("category-tracks", HEAVY_METAL, "--limit", "2", "--sandbox")
    assert "category: Heavy Metal (2iB4IU25)" in run.lines[-1]


def test_long_titles_are_cut_to_the_terminal_width(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    run = cli("top-playlists", "--limit", "20", "--sandbox")
    assert run.code == 0
    table = run.lines[:-1]
    assert all(len(line) <= 50 for line in table)
    assert any(line.rstrip().endswith("…") or "… " in line for line in table)


def test_the_cursor_of_a_page_leads_to_the_next(cli: Any, client: BrowseClient) -> None:
    first = cli("top-playlists", "--limit", "5", "--json", "--sandbox")
    cursor = first.err.removeprefix("next cursor: ").strip()
    second = cli("top-playlists", "--limit", "5", "--cursor", cursor, "--json", "--sandbox")
    both = [p["id"] for p in first.json() + second.json()]
    assert both == [playlist.id for playlist in client.get_top_playlists(limit=10)]


# -- pagination -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method", "ids"),
    [
        ("category-tracks", "get_category_tracks", [HEAVY_METAL]),
        ("top-tracks", "get_top_tracks", []),
        ("categories", "get_categories", []),
    ],
)
def test_all_returns_every_item_once(
    cli: Any, client: BrowseClient, name: str, method: str, ids: list[str]
) -> None:
    run = cli(name, *ids, "--all", "--json", "--sandbox")
    assert run.code == 0
    assert run.err == ""  # the end of the list: no next cursor
    got = [item["id"] for item in run.json()]
    expected = [item.id for item in client.paginate(getattr(client, method), *ids)]
    assert got == expected
    assert len(set(got)) == len(got) > 60


def test_all_as_a_table_counts_items_and_pages(cli: Any, client: BrowseClient) -> None:
    total = len(client.paginate(client.get_category_albums, HEAVY_METAL).to_list())
    run = cli("category-albums", HEAVY_METAL, "--all", "--limit", "100", "--sandbox")
    pages = -(-total // 100)
    assert run.lines[-1].startswith(f"{total} items in {pages} pages · ")
    assert run.lines[-1].endswith("end of list")
    assert len(run.lines) == total + 2


def test_max_items_stops_there_and_names_the_resume_cursor(cli: Any, client: BrowseClient) -> None:
    run = cli("category-tracks", SACRED_STEEL, "--max-items", "130", "--json", "--sandbox")
    assert run.code == 0
    paginator = client.paginate(client.get_category_tracks, SACRED_STEEL, max_items=130)
    assert [item["id"] for item in run.json()] == [track.id for track in paginator]
    assert run.err == f"next cursor: {paginator.cursor}\n"
    rest = cli(
        "category-tracks",
        SACRED_STEEL,
        "--all",
        "--cursor",
        paginator.cursor,
        "--json",
        "--sandbox",
    )
    everything = client.paginate(client.get_category_tracks, SACRED_STEEL).to_list()
    assert [item["id"] for item in run.json() + rest.json()] == [t.id for t in everything]


def test_max_items_with_a_limit_as_the_page_size(cli: Any) -> None:
    run = cli("new-episodes", "--max-items", "45", "--limit", "20", "--sandbox")
    assert run.lines[-1].startswith("45 items in 3 pages · next cursor: ")


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["top-tracks", "--limit", "21"], ["--limit", "1 to 20"]),
        (["top-tracks", "--limit", "0"], ["1 to 20"]),
        (["category-tracks", HEAVY_METAL, "--limit", "101"], ["1 to 100"]),
        (["top-playlists", "--limit", "many"], ["1 to 100", "got many"]),
        (["top-tracks", "--max-items", "-3"], ["--max-items", ">= 1"]),
        (["top-tracks", "--all", "--max-items", "5"], ["not allowed with"]),
        (["top-tracks", "--cursor", ""], ["cursor"]),
        (["category", " 2iB4IU25"], ["whitespace"]),
        (["category", ".."], [".."]),
        (["category"], ["ID"]),
        (["no-such-command"], ["invalid choice"]),
        ([], ["COMMAND"]),
        (["top-tracks", "--timeout", "0"], ["timeout"]),
        (["top-tracks", "--base-url", "http://127.0.0.1:1"], ["--sandbox", "--base-url"]),
        (["top-tracks", "--cursor", "ab\udcff"], ["--cursor", "not UTF-8"]),  # bytes of argv
        (["category-albums", "2iB4\udcff"], ["ID", "not UTF-8"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: Any, args: list[str], fragments: list[str]) -> None:
    assert_one_line_error(cli(*args, "--sandbox"), 2, *fragments)


def test_unknown_category_is_one_line_and_exit_1(cli: Any) -> None:
    run = cli("category", "no-such-category", "--sandbox")
    assert_one_line_error(run, 1, "error: 404 RESOURCE_NOT_FOUND: ")


def test_unknown_category_collection_is_exit_1(cli: Any) -> None:
    run = cli("category-albums", "no-such-category", "--all", "--json", "--sandbox")
    assert_one_line_error(run, 1, "404 RESOURCE_NOT_FOUND")


def test_missing_credentials_name_the_variables(cli: Any) -> None:
    run = cli("top-tracks")
    assert_one_line_error(run, 2, "AMAZON_MUSIC_API_KEY", "AMAZON_MUSIC_ACCESS_TOKEN", "--sandbox")


def test_credentials_come_from_the_environment(cli: Any, credentials: str) -> None:
    run = cli("top-tracks", "--limit", "2", "--json", "--base-url", credentials)
    assert run.code == 0, run.err
    assert [track["id"] for track in run.json()] == ["B0785GTW4T", "B08ZCM5758"]


def test_a_refused_token_is_exit_1(
    cli: Any, credentials: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_ACCESS_TOKEN", "not-the-token")
    run = cli("top-tracks", "--base-url", credentials)
    assert_one_line_error(run, 1, "error: 401 ")
    assert "not-the-token" not in run.err


def test_a_network_failure_is_exit_1(cli: Any, credentials: str) -> None:
    run = cli("categories", "--base-url", "http://127.0.0.1:9", "--max-retries", "0")
    assert_one_line_error(run, 1, "GET http://127.0.0.1:9/v1/browse/categories failed")


def test_interrupted_is_exit_130(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("amazon_music_browse._cli._main.run_command", interrupt)
    assert_one_line_error(cli("top-tracks", "--sandbox"), 130, "interrupted")


@pytest.mark.parametrize("error", [ValueError("boom"), TypeError("boom"), KeyError("boom")])
def test_a_bug_is_not_reported_as_a_usage_error(
    cli: Any, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr("amazon_music_browse._cli._main.run_command", fail)
    with pytest.raises(type(error)) as raised:
        cli("top-tracks", "--sandbox")
    assert raised.value is error


def test_a_bug_shows_its_traceback_and_exits_1() -> None:
    code = (
        "import sys; from amazon_music_browse._cli import _main\n"
        "def fail(*args): raise ValueError('an SDK bug')\n"
        "_main.run_command = fail\n"
        "sys.exit(_main.main(['top-tracks', '--base-url', 'http://127.0.0.1:9']))\n"
    )
    credentials = {"AMAZON_MUSIC_API_KEY": "a-key", "AMAZON_MUSIC_ACCESS_TOKEN": "a-token"}
    result = subprocess.run(  # the bug strikes before any request: nothing listens on :9
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**_environment(), **credentials},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.endswith("ValueError: an SDK bug\n")
    assert "error: " not in result.stderr


# -- options --------------------------------------------------------------------------


def test_options_go_before_or_after_the_subcommand(cli: Any) -> None:
    before = cli("--sandbox", "top-tracks", "--limit", "3", "--json")
    after = cli("top-tracks", "--limit", "3", "--json", "--sandbox")
    assert before.code == after.code == 0
    assert before.out == after.out


def test_verbose_logs_requests_without_credentials(cli: Any, sandbox: SandboxServer) -> None:
    run = cli("top-tracks", "--limit", "2", "--json", "--sandbox", "-vv")
    assert run.code == 0
    assert "sandbox listening at http://127.0.0.1:" in run.err
    assert "GET /v1/browse/tracks/top" in run.err
    assert sandbox.api_key not in run.err
    assert sandbox.access_token not in run.err
    assert len(run.json()) == 2


def test_version_and_help(cli: Any) -> None:
    version = cli("--version")
    assert version.code == 0
    assert version.out.startswith("amazon-music-browse 0.")
    help_run = cli("--help")
    assert help_run.code == 0
    for endpoint in ENDPOINTS:
        assert re.search(rf"^    {endpoint.name}(\s|$)", help_run.out, re.MULTILINE)
        assert f"{endpoint.summary} ({endpoint.path})" in help_run.out
    assert "demo" in help_run.out
    limit_help = cli("top-tracks", "--help")
    assert "1 to 20" in limit_help.out
    id_help = cli("category-tracks", "--help")
    assert re.search(r"^  ID +a category id, like 2iB4IU25$", id_help.out, re.MULTILINE)
    assert "A category's tracks: client.get_category_tracks(), GET /v1/" in id_help.out


# -- demo -----------------------------------------------------------------------------


def test_demo_walks_through_every_endpoint(demo: Any) -> None:
    run, _ = demo("demo")
    assert run.code == 0, run.err
    first = run.lines[0]
    assert "local sandbox at http://127.0.0.1:" in first
    assert "AMAZON_MUSIC_API_KEY" in first
    for method in METHODS:
        assert f"client.{method}(" in run.out
    for path in (
        "GET /v1/browse/tracks/top?limit=3 -> 200",
        "GET /v1/browse/playlists/top?limit=3 -> 200",
        "GET /v1/browse/podcasts/episodes/new?limit=3 -> 200",
        "GET /v1/browse/categories?limit=3 -> 200",
        "GET /v1/browse/categories/2iB4IU25 -> 200",
        "GET /v1/browse/categories/2iB4IU25/albums?limit=3 -> 200",
        "GET /v1/browse/categories/2iB4IU25/playlists?limit=3 -> 200",
        "GET /v1/browse/categories/2iB4IU25/tracks?limit=3 -> 200",
    ):
        assert path in run.out
    assert "B0785GTW4T" in run.out
    assert "Heavy Metal" in run.out
    assert "page 1: 100 items, 100 so far" in run.out
    assert "page 2: 100 items, 200 so far" in run.out
    assert "page 3: 50 items, 250 so far" in run.out
    assert "/tracks?limit=50&cursor=" in run.out
    assert (
        "250 items, 250 distinct ids; paginator.finished = False, paginator.cursor = '" in run.out
    )
    assert "resume: client.paginate(" in run.out
    assert "except NotFoundError: 404 RESOURCE_NOT_FOUND" in run.out
    assert "except ValueError: limit must be from 1 to 20" in run.out
    assert run.lines[-2].startswith("Done: 2 sign-ins, 8 endpoints")
    assert run.lines[-1].startswith("Next: amazon-music-browse category-tracks ")


def test_demo_says_when_the_walk_finished_the_collection(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("amazon_music_browse._cli._demo._MAX_ITEMS", 10**6)
    run = cli("demo")
    assert run.code == 0, run.err
    assert "distinct ids; paginator.finished = True, paginator.cursor = None" in run.out
    assert "finished: that was the whole collection, there is nothing to resume" in run.out
    assert "resume: " not in run.out


def test_demo_uses_the_service_when_credentials_are_set(cli: Any, credentials: str) -> None:
    run = cli("demo", "--base-url", credentials)
    assert run.code == 0, run.err
    assert run.lines[0].startswith(f"Amazon Music Browse API demo, on the service at {credentials}")
    assert "Sign in" not in run.out  # the service's sign-in is the user's own, not the demo's
    assert "/auth/o2/" not in run.out
    assert run.lines[2:4] == ["1. Top tracks", "   client.get_top_tracks(limit=3)"]
    assert run.lines[-2].startswith("Done: 8 endpoints")
    forced = cli("demo", "--sandbox")
    assert "local sandbox" in forced.lines[0]
    assert "(--sandbox)" in forced.lines[0]
    assert "1. Sign in (authorization code + PKCE)" in forced.lines


# -- demo: signing in ----------------------------------------------------------------


class RecordingSecrets:
    """Stands in for the ``secrets`` module of the sandbox's Login with Amazon: records
    every random string it makes (authorization codes, device codes, access and refresh
    tokens); user codes (``choice``), which a user types, are not recorded."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def token_urlsafe(self, nbytes: int) -> str:
        value = secrets.token_urlsafe(nbytes)
        self.made.append(value)
        return value

    def choice(self, sequence: str) -> str:
        return secrets.choice(sequence)


@dataclass
class SignInWatch:
    """What the sandbox of one demo run did: the server, every secret made on either side
    of the sign-ins, and the bearer token of each API request."""

    servers: list[SandboxServer] = field(default_factory=list)
    sandbox_secrets: RecordingSecrets = field(default_factory=RecordingSecrets)
    verifiers: list[str] = field(default_factory=list)
    bearers: list[str] = field(default_factory=list)

    @property
    def server(self) -> SandboxServer:
        assert len(self.servers) == 1
        return self.servers[0]

    def secrets(self) -> list[str]:
        """Every secret of the run: made by the sandbox, the PKCE verifiers, the client
        secret, and (a check that nothing slipped by the recording) the issued tokens."""
        server = self.server
        return [
            *self.sandbox_secrets.made,
            *self.verifiers,
            server.client_secret,
            *server.issued_tokens,
            *server.issued_refresh_tokens,
        ]


def watch_sign_ins(monkeypatch: pytest.MonkeyPatch) -> SignInWatch:
    """Watches the sandbox the demo starts (found as the proof of sign-in secrets finds
    its secrets: the sandbox's issued tokens, plus the codes as they are made)."""
    watch = SignInWatch()

    class Watched(SandboxServer):
        def start(self) -> SandboxServer:
            if self not in watch.servers:
                watch.servers.append(self)
            return super().start()

    def pkce_pair() -> tuple[str, str]:
        verifier, challenge = real_pkce_pair()
        watch.verifiers.append(verifier)
        return verifier, challenge

    def authenticate(endpoints: Any, environ: dict[str, Any]) -> None:
        watch.bearers.append(environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer "))
        real_authenticate(endpoints, environ)

    real_pkce_pair = _signin.pkce_pair
    real_authenticate = _lwa.LoginWithAmazonEndpoints.authenticate
    monkeypatch.setattr("amazon_music_browse.sandbox.SandboxServer", Watched)
    monkeypatch.setattr(_lwa, "secrets", watch.sandbox_secrets)
    monkeypatch.setattr(_signin, "pkce_pair", pkce_pair)
    monkeypatch.setattr(_lwa.LoginWithAmazonEndpoints, "authenticate", authenticate)
    return watch


@pytest.fixture(scope="module")
def demo_runs() -> dict[tuple[str, ...], tuple[Run, SignInWatch]]:
    """The watched demo runs of this module's test process, by their arguments."""
    return {}


@pytest.fixture
def demo(
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    demo_runs: dict[tuple[str, ...], tuple[Run, SignInWatch]],
) -> Any:
    """``demo(*args)``: the run of ``cli(*args)`` with its sign-ins watched, and the watch.

    The demo is the same every time but for the secrets it is issued, and a test only
    reads a run: the first test asking for a run makes it (in its own environment, on a
    sandbox of its own), the other tests of this process read that one.
    """

    def run(*args: str) -> tuple[Run, SignInWatch]:
        if args not in demo_runs:
            watch = watch_sign_ins(monkeypatch)
            demo_runs[args] = (cli(*args), watch)
        return demo_runs[args]

    return run


def test_demo_on_the_sandbox_signs_in_both_ways_first(demo: Any) -> None:
    run, sign_in_watch = demo("demo")
    assert run.code == 0, run.err
    server = sign_in_watch.server
    url = server.url
    lines = run.lines
    first = lines.index("1. Sign in (authorization code + PKCE)")
    assert lines[first + 1] == (
        "   tokens = LoginWithAmazon.sign_in(client_id, client_secret, "
        f"scopes=['music::catalog'], lwa_url='{url}', open_browser=False, on_url=browser, "
        "store=MemoryTokenStore())"
    )
    second = lines.index("2. Sign in (code-based linking)")
    assert lines[second + 1] == (
        "   linked = LoginWithAmazon.link_device(client_id, client_secret, "
        f"scopes=['music::catalog'], lwa_url='{url}', on_code=show, store=MemoryTokenStore())"
    )
    browser, device = lines[first:second], lines[second : lines.index("3. Top tracks")]
    assert browser[3] == "   browser: GET /ap/oa -> 302 Found"
    assert re.fullmatch(r"   browser: GET http://127\.0\.0\.1:\d+/ -> 200 OK", browser[4])
    assert browser[5] == "   POST /auth/o2/token -> 200 OK"
    expiry = r"   signed in with the scopes \['music::catalog'\]; the access token expires at "
    assert re.fullmatch(expiry + r"\d\d:\d\d:\d\d UTC \(in 60 min\)", browser[6])
    assert device[2] == "   POST /auth/o2/create/codepair -> 200 OK"
    code = re.fullmatch(
        rf"   on_code: open {url}/a/code and enter the code ([A-Z2-9]{{6}})", device[3]
    )
    assert code is not None
    assert device[4].startswith(f"   sandbox.approve_device('{code[1]}')")
    assert device[5] == "   POST /auth/o2/token -> 200 OK"  # one poll: approved at once
    assert re.fullmatch(expiry + r".*", device[6])
    assert "   GET /v1/browse/tracks/top?limit=3 -> 200 OK" in lines
    assert lines[-2].startswith("Done: 2 sign-ins, 8 endpoints, pagination and errors in ")
    assert server.token_errors == {}  # no authorization_pending, no slow_down: no waiting


def test_the_demo_walk_sends_the_token_of_the_browser_sign_in(demo: Any) -> None:
    run, sign_in_watch = demo("demo")
    assert run.code == 0, run.err
    server = sign_in_watch.server
    assert server.token_lifetime is not None  # so the sandbox refuses its static token
    browser_token, device_token = server.issued_tokens  # in the order they were issued
    assert server.token_requests == 2  # the code exchange and one poll: no refresh
    assert len(server.issued_refresh_tokens) == 2  # one per sign-in
    shown = [line for line in run.lines if line.startswith("   GET /v1/")]
    assert server.request_count == len(shown) > 8  # every API request the demo showed...
    assert sign_in_watch.bearers == [browser_token] * len(shown)  # ...sent that token
    assert device_token not in sign_in_watch.bearers


@pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["quiet", "debug-log"])
def test_the_demo_prints_no_secret_of_signing_in(demo: Any, verbosity: list[str]) -> None:
    run, sign_in_watch = demo(*verbosity, "demo")
    assert run.code == 0, run.err
    server = sign_in_watch.server
    made = sign_in_watch.sandbox_secrets.made
    assert set(server.issued_tokens) <= {f"Atza|{value}" for value in made}
    assert set(server.issued_refresh_tokens) <= {f"Atzr|{value}" for value in made}
    assert len(made) >= 6  # a code, a device code, two access and two refresh tokens
    assert len(sign_in_watch.verifiers) == 1
    texts = {"stdout": run.out, "stderr": run.err}
    leaks = [
        (name, secret[:12])
        for secret in sign_in_watch.secrets()
        for name, text in texts.items()
        if secret in text
    ]
    assert leaks == []
    if verbosity:
        assert "POST /auth/o2/token" in run.err  # the debug log was there to search


# -- real processes -------------------------------------------------------------------


def _environment() -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("AMAZON_MUSIC_")
    }
    environment["COLUMNS"] = "100"
    return environment


def test_python_dash_m_on_a_terminal_without_unicode() -> None:
    """``python -m``, writing to a stream whose encoding (ASCII) cannot show every title:
    what it cannot show is replaced, not an error."""
    result = subprocess.run(
        [sys.executable, "-m", "amazon_music_browse", "top-tracks", "--limit", "2", "--sandbox"],
        capture_output=True,
        env={**_environment(), "PYTHONIOENCODING": "ascii"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    header, *rows, footer = result.stdout.splitlines()
    assert header.split() == [b"ID", b"TITLE"]
    assert [row.split()[0] for row in rows] == [b"B0785GTW4T", b"B08ZCM5758"]
    assert footer.startswith(b"2 items ? next cursor: ")
    assert result.stderr == b""


def test_console_script() -> None:
    script = Path(sysconfig.get_path("scripts")) / "amazon-music-browse"
    assert script.exists(), script
    result = subprocess.run(
        [str(script), "category", HEAVY_METAL, "--sandbox"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["ID", "NAME", "TYPE"]
    assert result.stdout.splitlines()[1].split() == [HEAVY_METAL, "Heavy", "Metal", "GENRE"]


def test_console_script_errors_without_a_traceback() -> None:
    script = Path(sysconfig.get_path("scripts")) / "amazon-music-browse"
    result = subprocess.run(
        [str(script), "top-tracks"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "AMAZON_MUSIC_ACCESS_TOKEN" in result.stderr or "AMAZON_MUSIC_API_KEY" in result.stderr


def test_importing_the_package_imports_neither_cli_nor_sandbox() -> None:
    code = (
        "import sys; from amazon_music_browse import BrowseClient, LoginWithAmazon; "
        "print(sorted(m for m in sys.modules if m.startswith('amazon_music_browse.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = ast.literal_eval(result.stdout)
    assert "amazon_music_browse._cli" not in loaded
    assert not [name for name in loaded if name.startswith("amazon_music_browse.sandbox")]
    assert "amazon_music_browse._client" in loaded
