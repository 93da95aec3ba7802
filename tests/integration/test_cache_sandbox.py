"""The response cache against the sandbox's own ETag and Cache-Control (``etag=True``)."""

from __future__ import annotations

from pathlib import Path

import requests

from amazon_music_browse import ResponseCache
from amazon_music_browse.sandbox import SandboxServer


def test_the_sandbox_answers_304_to_a_matching_if_none_match() -> None:
    with SandboxServer(etag=True, cache_max_age=30) as sandbox:
        headers = {"x-api-key": sandbox.api_key, "Authorization": f"Bearer {sandbox.access_token}"}
        url = f"{sandbox.url}/v1/browse/tracks/top?limit=2"
        first = requests.get(url, headers=headers, timeout=10)
        tag = first.headers["ETag"]
        again = requests.get(url, headers={**headers, "If-None-Match": tag}, timeout=10)
        other = requests.get(url, headers={**headers, "If-None-Match": '"other"'}, timeout=10)
        unauthorised = requests.get(url, headers={"If-None-Match": tag}, timeout=10)

    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, max-age=30"
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", tag)
    assert other.status_code == 200
    assert unauthorised.status_code == 401  # credentials are checked before any 304


def test_a_fresh_page_comes_from_the_cache_and_a_stale_one_is_revalidated(
    tmp_path: Path,
) -> None:
    with SandboxServer(etag=True, cache_max_age=0) as sandbox:
        cache = ResponseCache("sqlite", path=tmp_path / "responses.sqlite")
        with sandbox.client(cache=cache) as client:
            first = client.get_top_tracks(limit=3)
            sent = sandbox.request_count
            second = client.get_top_tracks(limit=3)  # max-age 0: revalidated, answered 304
            revalidations = sandbox.request_count - sent

    assert first.from_cache is False
    assert second.from_cache is True
    assert [t.id for t in second] == [t.id for t in first]
    assert revalidations == 1
    stored = (tmp_path / "responses.sqlite").read_bytes()
    assert b"sandbox-key" not in stored
    assert b"sandbox-token" not in stored


def test_within_max_age_no_request_is_sent(tmp_path: Path) -> None:
    with SandboxServer(etag=True, cache_max_age=3600) as sandbox:
        with sandbox.client(cache=ResponseCache("memory")) as client:
            client.get_categories(limit=5)
            sent = sandbox.request_count
            pages = [client.get_categories(limit=5) for _ in range(5)]

        assert sandbox.request_count == sent
    assert all(page.from_cache for page in pages)
