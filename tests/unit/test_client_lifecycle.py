"""Closing, copies, where the base URL comes from, arguments that cannot be sent, logging."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import responses

from amazon_music_browse import (
    BrowseClient,
    ClientClosedError,
    ConfigurationError,
)
from tests._support import ACCESS_TOKEN, API_KEY, TOP_TRACKS, make_client, tracks_page
from tests._typing import mypy_errors, register, revealed_types

# -- closing -----------------------------------------------------------------------------------


def test_a_closed_client_refuses_calls_and_sends_nothing(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    client = make_client()
    client.get_top_tracks()
    client.close()

    with pytest.raises(ClientClosedError, match="closed") as caught:
        client.get_top_tracks()

    assert isinstance(caught.value, RuntimeError)
    assert len(mock.calls) == 1
    assert client.closed
    assert "closed=True" in repr(client)


def test_closing_twice_is_harmless() -> None:
    client = make_client()
    client.close()
    client.close()
    assert client.closed


def test_the_end_of_a_with_block_closes_the_client(mock: responses.RequestsMock) -> None:
    with make_client() as client:
        pass
    with pytest.raises(ClientClosedError):
        client.get_category("2iB4IU25")
    assert len(mock.calls) == 0


def test_a_copy_of_a_closed_client_is_closed(mock: responses.RequestsMock) -> None:
    client = make_client()
    client.close()
    with pytest.raises(ClientClosedError):
        client.with_options(timeout=5).get_top_tracks()
    assert len(mock.calls) == 0


def test_closing_a_client_closes_the_copies_made_before(mock: responses.RequestsMock) -> None:
    client = make_client()
    copy = client.with_options(max_retries=0)
    grandchild = copy.with_options(timeout=3)
    client.close()

    for each in (copy, grandchild):
        assert each.closed
        with pytest.raises(ClientClosedError):
            each.get_top_tracks()
    assert len(mock.calls) == 0


def test_closing_a_copy_leaves_its_origin_open(mock: responses.RequestsMock) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    client = make_client()
    with client.with_options(timeout=5) as copy:
        copy.get_top_tracks()

    assert copy.closed
    assert not client.closed
    assert client.get_top_tracks().items[0].id == "t1"


def test_a_closed_client_over_a_session_passed_in_leaves_the_session_open(
    mock: responses.RequestsMock,
) -> None:
    import requests

    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1"))
    session = requests.Session()
    client = make_client(session=session)
    client.close()

    with pytest.raises(ClientClosedError):
        client.get_top_tracks()
    assert session.get(TOP_TRACKS).status_code == 200  # still usable by its owner


# -- the base URL --------------------------------------------------------------------------------


def test_the_base_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, mock: responses.RequestsMock
) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_BASE_URL", "http://127.0.0.1:8765/")
    mock.add(responses.GET, "http://127.0.0.1:8765/v1/browse/tracks/top", json=tracks_page("t"))

    client = make_client()

    assert client.base_url == "http://127.0.0.1:8765"
    assert client.get_top_tracks().items[0].id == "t"


def test_an_explicit_base_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_BASE_URL", "http://127.0.0.1:8765")
    assert make_client(base_url="https://example.test").base_url == "https://example.test"


def test_without_the_environment_the_base_url_is_the_real_service() -> None:
    assert make_client().base_url == "https://api.music.amazon.dev"
    assert make_client(base_url=None).base_url == "https://api.music.amazon.dev"


def test_a_bad_base_url_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMAZON_MUSIC_BASE_URL", "http://api.example.com")
    with pytest.raises(ConfigurationError, match="AMAZON_MUSIC_BASE_URL must use https://"):
        make_client()


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.music.amazon.dev?",
        "https://api.music.amazon.dev/#",
        "https://api.music.amazon.dev/v1?x=1",
        "https://api.music.amazon.dev#top",
    ],
)
def test_a_base_url_with_a_query_or_fragment_mark_is_refused(base_url: str) -> None:
    # An empty "?" or "#" would turn every path appended to it into a query or fragment.
    with pytest.raises(ConfigurationError, match="must not have a query or fragment"):
        make_client(base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user@api.music.amazon.dev",
        "https://user:pass@api.music.amazon.dev",
        "https://@api.music.amazon.dev",
        "http://:@127.0.0.1:8000",
    ],
)
def test_a_base_url_with_userinfo_is_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="user name or password"):
        make_client(base_url=base_url)


@pytest.mark.parametrize(("name", "value"), [("max_connections", 0), ("max_response_bytes", -1)])
def test_size_options_must_be_positive_ints(name: str, value: Any) -> None:
    for bad in (value, True, 1.5, "10", None):
        with pytest.raises(ConfigurationError, match=f"{name} must be an int >= 1"):
            make_client(**{name: bad})


def test_size_options_are_kept() -> None:
    client = make_client(max_response_bytes=1234)
    assert client.max_response_bytes == 1234
    assert client.with_options(timeout=1).max_response_bytes == 1234


# -- arguments that cannot be sent ----------------------------------------------------------


LONE_SURROGATE = "abc\ud800def"


def test_a_cursor_holding_a_lone_surrogate_is_refused_before_sending(
    mock: responses.RequestsMock,
) -> None:
    with pytest.raises(ValueError, match=r"cursor cannot be sent: it holds a lone surrogate"):
        make_client().get_top_tracks(cursor=LONE_SURROGATE)
    assert len(mock.calls) == 0


def test_a_category_id_holding_a_lone_surrogate_is_refused_before_sending(
    mock: responses.RequestsMock,
) -> None:
    client = make_client()
    for call in (
        lambda: client.get_category(LONE_SURROGATE),
        lambda: client.get_category_tracks(LONE_SURROGATE, limit=5),
        lambda: client.paginate(client.get_category_albums, LONE_SURROGATE),
    ):
        with pytest.raises(ValueError, match=r"category_id cannot be sent.*position 3"):
            call()
    assert len(mock.calls) == 0


def test_a_paginator_refuses_a_start_cursor_with_a_lone_surrogate() -> None:
    client = make_client()
    with pytest.raises(ValueError, match="lone surrogate"):
        client.paginate(client.get_top_tracks, cursor="\udfff")


# -- logging ------------------------------------------------------------------------------------


def test_the_package_logger_has_a_null_handler() -> None:
    import logging

    from amazon_music_browse import _client  # noqa: F401 - loads the logger

    handlers = logging.getLogger("amazon_music_browse").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)


def test_retry_warnings_stay_silent_where_logging_is_not_configured(tmp_path: Path) -> None:
    # Without the NullHandler, Python's last-resort handler prints every retry warning.
    script = textwrap.dedent(
        """
        import responses
        from amazon_music_browse import BrowseClient, InternalServerError, _retry

        _retry._sleep = lambda seconds: None
        url = "https://api.music.amazon.dev/v1/browse/tracks/top"
        with responses.RequestsMock() as mock:
            mock.add(responses.GET, url, status=503)
            try:
                BrowseClient("key-123456789", "token-123456789", max_retries=3).get_top_tracks()
            except InternalServerError:
                print("raised after", len(mock.calls), "requests")
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert run.stdout.strip() == "raised after 4 requests"
    assert run.stderr == ""


# -- typing -------------------------------------------------------------------------------------


SUBCLASS_TYPES = register(
    "subclass_types",
    """
    from amazon_music_browse import BrowseClient

    class GenreClient(BrowseClient):
        def own_method(self) -> str:
            return "mine"

    with GenreClient("key", "token") as client:
        mine: str = client.own_method()
        copy = client.with_options(timeout=5.0)
        also_mine: str = copy.own_method()
        reveal_type(copy)
    """,
)


def test_a_subclass_keeps_its_type_through_with_and_with_options() -> None:
    assert revealed_types(SUBCLASS_TYPES) == ["subclass_types.GenreClient"]
    assert mypy_errors(SUBCLASS_TYPES) == []


def test_credentials_never_appear_in_repr_of_a_closed_client() -> None:
    client = BrowseClient(API_KEY, ACCESS_TOKEN)
    client.close()
    assert API_KEY not in repr(client)
    assert ACCESS_TOKEN not in repr(client)


# -- Login with Amazon's endpoint from the environment ----------------------------------------


def test_the_token_url_comes_from_the_lwa_base_url_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from amazon_music_browse import LoginWithAmazon

    monkeypatch.setenv("AMAZON_MUSIC_LWA_URL", "http://127.0.0.1:8765/")
    assert LoginWithAmazon("id", "secret", "refresh").token_url == (
        "http://127.0.0.1:8765/auth/o2/token"
    )
    explicit = LoginWithAmazon("id", "secret", "refresh", "https://api.amazon.co.uk/auth/o2/token")
    assert explicit.token_url == "https://api.amazon.co.uk/auth/o2/token"
    monkeypatch.setenv("AMAZON_MUSIC_LWA_URL", "http://lwa.example.com")
    with pytest.raises(ConfigurationError, match="AMAZON_MUSIC_LWA_URL must use https://"):
        LoginWithAmazon("id", "secret", "refresh")
    monkeypatch.delenv("AMAZON_MUSIC_LWA_URL")
    assert LoginWithAmazon("id", "secret", "refresh").token_url == (
        "https://api.amazon.com/auth/o2/token"
    )
