"""Closing a prefetching paginator stops the client's own retries in the background thread."""

from __future__ import annotations

import threading
import time

import responses

from amazon_music_browse._pagination import _PREFETCH_THREAD
from tests._support import TOP_TRACKS, make_client, tracks_page


def prefetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == _PREFETCH_THREAD]


def test_a_close_ends_the_retry_wait_of_the_prefetch_and_sends_no_retry(
    mock: responses.RequestsMock,
) -> None:
    mock.add(responses.GET, TOP_TRACKS, json=tracks_page("t1", "t2", token="c1"))
    # Page 2 fails with a 30 s Retry-After, which the client would sleep and then retry.
    mock.add(responses.GET, TOP_TRACKS, status=503, headers={"Retry-After": "30"})
    client = make_client(max_retries=3, max_retry_wait=60)
    pages = client.paginate(client.get_top_tracks, page_size=2, prefetch=True).pages()

    first = next(pages)
    deadline = time.monotonic() + 30
    while len(mock.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(mock.calls) == 2  # page 1, and page 2's first attempt: now waiting 30 s

    closed_at = time.monotonic()
    pages.close()
    while prefetch_threads() and time.monotonic() < closed_at + 25:
        time.sleep(0.01)

    assert [track.id for track in first] == ["t1", "t2"]
    assert prefetch_threads() == []  # the wait ended long before its 30 s
    assert time.monotonic() - closed_at < 25
    time.sleep(0.1)
    assert len(mock.calls) == 2  # no retry was sent after the close
