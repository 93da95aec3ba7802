"""Subcommands come from the endpoint table: names, positionals, paging, client methods."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from amazon_music_browse import Album, BrowseClient, Category, Endpoint, Episode, Track
from amazon_music_browse._cli import _command, _demo, _demo_signin, _parser, _subcommands
from amazon_music_browse._cli._command import run_command
from amazon_music_browse._cli._parser import UsageError, build_parser, path_params
from amazon_music_browse._cli._subcommands import (
    SUBCOMMANDS,
    method_name,
    parameter_help,
    parameter_metavar,
)
from amazon_music_browse.endpoints import ENDPOINTS
from tests._support import BASE_URL, make_client

# A wrapper's endpoints: a collection inside a show, and an object with two parameters.
SHOW_EPISODES = Endpoint(
    "/v1/shows/{show_id}/episodes",
    ("data", "show", "episodes"),
    Episode,
    limits=(1, 50),
    owner_key="show",
    owner_model=Album,
    name="episodes",
    summary="A show's episodes",
)
ALBUM_TRACK = Endpoint(
    "/v1/albums/{album_id}/tracks/{track_id}",
    ("data", "track"),
    Track,
    name="album-track",
    summary="One track of an album",
)


def episodes_page(start: int, count: int, token: str | None) -> dict[str, Any]:
    numbers = range(start, start + count)
    edges = [{"node": {"id": f"e{n}", "title": f"Episode {n}"}} for n in numbers]
    page = {"pageInfo": {"hasNextPage": token is not None, "token": token}, "edges": edges}
    return {"data": {"show": {"id": "S1", "title": "A Show", "episodes": page}}}


def query(call: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def run(client: BrowseClient, *argv: str) -> tuple[str, str]:
    args = build_parser([SHOW_EPISODES, ALBUM_TRACK]).parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    run_command(client, args.endpoint, args, out, err)
    return out.getvalue(), err.getvalue()


# -- names and positionals -----------------------------------------------------------------


def test_every_named_endpoint_of_the_table_is_a_subcommand() -> None:
    assert SUBCOMMANDS == ENDPOINTS
    assert all(endpoint.name and endpoint.summary for endpoint in SUBCOMMANDS)


def test_each_endpoint_finds_the_client_method_that_calls_it() -> None:
    assert [method_name(endpoint) for endpoint in ENDPOINTS] == [
        "get_top_tracks",
        "get_top_playlists",
        "get_new_podcast_episodes",
        "get_categories",
        "get_category",
        "get_category_albums",
        "get_category_playlists",
        "get_category_tracks",
    ]
    assert method_name(SHOW_EPISODES) is None
    assert method_name(ALBUM_TRACK) is None


@pytest.mark.parametrize(
    ("endpoint", "parameter", "metavar"),
    [
        (ENDPOINTS[4], "category_id", "ID"),  # category
        (ENDPOINTS[7], "category_id", "ID"),  # category-tracks
        (SHOW_EPISODES, "show_id", "SHOW_ID"),  # "episodes" does not name the show
        (ALBUM_TRACK, "album_id", "ID"),
        (ALBUM_TRACK, "track_id", "TRACK_ID"),
    ],
)
def test_a_positional_is_named_after_its_path_parameter(
    endpoint: Endpoint[Any], parameter: str, metavar: str
) -> None:
    assert parameter_metavar(endpoint, parameter) == metavar


def test_a_positional_is_described_in_words() -> None:
    assert parameter_help("category_id") == "a category id, like 2iB4IU25"
    assert parameter_help("show_id") == "a show id"
    assert parameter_help("album_id") == "an album id"


def test_a_wrapper_endpoint_gets_positionals_and_paging_from_its_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser([SHOW_EPISODES, ALBUM_TRACK])

    args = parser.parse_args(["episodes", "S1", "--limit", "50", "--max-items", "7"])
    track = parser.parse_args(["album-track", "A1", "T1"])
    with pytest.raises(UsageError, match="must be an int from 1 to 50 for episodes, got 51"):
        parser.parse_args(["episodes", "S1", "--limit", "51"])
    with pytest.raises(UsageError, match="required: SHOW_ID"):
        parser.parse_args(["episodes"])
    with pytest.raises(UsageError, match="unrecognized arguments: --limit"):
        parser.parse_args(["album-track", "A1", "T1", "--limit", "3"])
    with pytest.raises(UsageError, match="show_id must not start or end with whitespace"):
        parser.parse_args(["episodes", " S1"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])

    assert args.endpoint is SHOW_EPISODES
    assert (args.limit, args.max_items) == (50, 7)
    assert path_params(args, SHOW_EPISODES) == {"show_id": "S1"}
    assert path_params(track, ALBUM_TRACK) == {"album_id": "A1", "track_id": "T1"}
    listing = capsys.readouterr().out
    assert "A show's episodes (/v1/shows/{show_id}/episodes)" in listing
    assert "top-tracks" not in listing


def test_an_endpoint_without_a_name_is_no_subcommand() -> None:
    nameless = Endpoint("/v1/me", ("data", "user"), Category)

    with pytest.raises(ValueError, match="needs an endpoint with a name"):
        build_parser([nameless])


# -- running a wrapper's endpoint ----------------------------------------------------------


@responses.activate
def test_a_page_of_a_wrapper_endpoint_as_a_table_names_its_owner() -> None:
    responses.get(f"{BASE_URL}/v1/shows/S%201/episodes", json=episodes_page(0, 2, "next"))

    with make_client() as client:
        out, err = run(client, "episodes", "S 1", "--limit", "2")

    assert out.splitlines() == [
        "ID  TITLE",
        "e0  Episode 0",
        "e1  Episode 1",
        "2 items · show: A Show (S1) · next cursor: next",
    ]
    assert err == ""
    assert [query(call) for call in responses.calls] == [{"limit": ["2"]}]


@responses.activate
def test_all_pages_of_a_wrapper_endpoint_as_json_lines() -> None:
    url = f"{BASE_URL}/v1/shows/S1/episodes"
    responses.get(url, json=episodes_page(0, 50, "p2"))
    responses.get(url, json=episodes_page(50, 10, None))

    with make_client() as client:
        out, err = run(client, "episodes", "S1", "--all", "--json")

    assert [json.loads(line)["id"] for line in out.splitlines()] == [f"e{n}" for n in range(60)]
    assert err == ""  # the end of the list
    assert [query(call) for call in responses.calls] == [
        {"limit": ["50"]},
        {"limit": ["50"], "cursor": ["p2"]},
    ]


@responses.activate
def test_an_object_with_two_path_parameters() -> None:
    body = {"data": {"track": {"id": "T/1", "title": "Heat Waves"}}}
    responses.get(f"{BASE_URL}/v1/albums/A1/tracks/T%2F1", json=body)

    with make_client() as client:
        out, _ = run(client, "album-track", "A1", "T/1")

    assert out.splitlines() == ["ID   TITLE", "T/1  Heat Waves"]


# -- nothing knows one endpoint from another ------------------------------------------------


def _identifiers(path: Path) -> set[str]:
    """Names, attributes, keywords and plain string constants used in a module's code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.keyword | ast.arg) and node.arg:
            found.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
    return found


@pytest.mark.parametrize(
    "module", [_command, _parser, _demo, _demo_signin], ids=lambda m: m.__name__
)
def test_no_module_of_the_command_line_names_a_path_parameter(module: Any) -> None:
    assert "category_id" not in _identifiers(Path(module.__file__))
    assert "category" not in _identifiers(Path(module.__file__))


def test_only_the_examples_name_one() -> None:
    assert _subcommands.EXAMPLES == {"category_id": "2iB4IU25"}
