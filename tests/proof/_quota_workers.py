"""What the worker processes of the shared-limit proofs run (spawned: importable, small).

Each worker builds its own client with its own store object on the shared file or Redis
server, waits at a barrier so that all start together, and reports what it did through
a queue.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from amazon_music_browse import BrowseClient, RateLimit, RateLimitError, RateLimitStore

API_KEY = "sandbox-key"
ACCESS_TOKEN = "sandbox-token"


def make_store(kind: str, where: str) -> RateLimitStore | None:
    """A store object of its own on the shared file or server (``"none"``: no store)."""
    if kind == "none":
        return None
    return RateLimitStore.sqlite(where) if kind == "sqlite" else RateLimitStore.redis(where)


class RecordingSession(requests.Session):
    """A session that notes the wall-clock time at which each request starts."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[float] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.starts.append(time.time())
        return super().send(request, **kwargs)


def paced(
    kind: str,
    where: str,
    base_url: str,
    per_second: float,
    seconds: float,
    start_at: Any,
    barrier: Any,
    results: Any,
) -> None:
    """Call the sandbox as fast as the shared limit lets it, for ``seconds``."""
    session = RecordingSession()
    client = BrowseClient(
        API_KEY,
        ACCESS_TOKEN,
        base_url=base_url,
        session=session,
        rate_limit=RateLimit(per_second, store=make_store(kind, where)),
    )
    granted = note_grants(client)
    barrier.wait(timeout=60)  # every worker is ready
    barrier.wait(timeout=60)  # the parent has set start_at
    begin = start_at.value
    time.sleep(max(0.0, begin - time.time()))
    while time.time() < begin + seconds:
        client.get_top_tracks(limit=1)
    results.put((granted, session.starts))


def note_grants(client: BrowseClient) -> list[float]:
    """When the client's rate limit granted each token, by the clock of the bucket itself.

    The store reads its clock once per decision (whole milliseconds of the wall clock);
    the reading of the decision that granted a token is noted, so these times are the
    bucket's own, with no delay between the grant and the note.
    """
    granted: list[float] = []
    throttle = client._quota._throttle
    assert throttle is not None
    store = throttle._limit._store_or_memory
    now_ms = store._now_ms
    last: list[int] = [0]

    def read_and_note() -> int:
        last[0] = now_ms()
        return last[0]

    take = throttle.take

    def take_and_note(max_wait: float) -> None:
        take(max_wait)
        granted.append(last[0] / 1000)

    store._now_ms = read_and_note  # type: ignore[method-assign]
    throttle.take = take_and_note  # type: ignore[method-assign]
    return granted


def held(
    kind: str,
    where: str,
    base_url: str,
    window_end: Any,
    barrier: Any,
    results: Any,
) -> None:
    """Call again and again while another process's Retry-After window is open, and after.

    Reports ``(started, ended, sent)`` for each call: ``sent`` when the service answered
    (the sandbox refuses every request with a 429), not when the window held it back.
    """
    client = BrowseClient(
        API_KEY,
        ACCESS_TOKEN,
        base_url=base_url,
        rate_limit=RateLimit(50, store=make_store(kind, where)),
        max_retry_wait=1,
        max_retries=0,
    )
    barrier.wait(timeout=60)  # ready
    barrier.wait(timeout=60)  # the parent got its 429: the window is open
    calls: list[tuple[float, float, bool]] = []
    while time.time() < window_end.value + 1.0:
        started = time.time()
        try:
            client.get_top_tracks(limit=1)
            sent = True
        except RateLimitError as exc:
            sent = exc.response is not None
        calls.append((started, time.time(), sent))
        time.sleep(0.02)
    results.put(calls)
