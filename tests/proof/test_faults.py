"""Proof: 10,000 items through a faulty sandbox arrive exactly once, in order.

The sandbox injects 20% 429/5xx answers, latency, dropped connections, truncated bodies
and reads that stall past the client's read timeout. Every fault the contract retries is
survived; the ones it does not retry (or no longer retries) surface as the documented
exception, and ``paginator.cursor`` resumes the export with nothing lost.

The tests count what happened rather than what an idle machine would do: the sandbox's
own counters (read once it has stopped, so every request it received is in them) against
what the client saw. On a loaded machine an answer may come later than the read timeout
even though no fault was injected; the client then sees one timeout more, which costs
one request more, and the counts say so (``late`` in the figures) instead of failing.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from amazon_music_browse import (
    AmazonMusicError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BrowseClient,
    Endpoint,
    NotFoundError,
    Playlist,
    RateLimitError,
    _retry,
)
from amazon_music_browse.sandbox import SandboxServer

from ._support import HEAVY_METAL, FakeClock, catalog_ids, report

pytestmark = pytest.mark.unmeasured  # a proof at volume: see tests/conftest.py

SIZE = 10_000
SEED = 2
READ_TIMEOUT = 1.0  # seconds: ~100x a page's answer time, even on a loaded machine
STALL_SECONDS = 60.0  # far past the read timeout; stopping the sandbox cuts a stall short
FAULTY: dict[str, Any] = {
    "seed": SEED,
    "catalog_sizes": {"tracks": SIZE},
    "latency": 0.002,
    "rate_limit_rate": 0.10,
    "server_error_rate": 0.10,  # 503 and 500, alternately
    "drop_rate": 0.05,
    "truncate_rate": 0.05,
    # 2 stalls with this seed (each one is a whole read timeout of waiting)
    "stall_rate": 0.01,
    "stall_seconds": STALL_SECONDS,
    "retry_after": 0,
}
STATUS_FAULTS = ("429", "500", "503")
RETRY_REASONS = {*STATUS_FAULTS, "APIConnectionError", "APITimeoutError"}
_RETRY_LINE = re.compile(r"^retrying GET \S+ after (\S+) \(attempt \d+ failed\)")


@pytest.fixture(scope="module")
def expected() -> list[str]:
    return catalog_ids("tracks", HEAVY_METAL, seed=SEED, sizes={"tracks": SIZE})


@pytest.fixture
def faulty() -> Iterator[SandboxServer]:
    with SandboxServer(**FAULTY) as sandbox:
        yield sandbox


def faulty_client(sandbox: SandboxServer, max_retries: int) -> BrowseClient:
    return sandbox.client(max_retries=max_retries, timeout=(5.0, READ_TIMEOUT))


def lost_and_duplicated(ids: list[str], expected: list[str]) -> tuple[int, int]:
    return len(set(expected) - set(ids)), len(ids) - len(set(ids))


def final_counts(sandbox: SandboxServer) -> tuple[dict[str, int], int]:
    """The faults injected and the requests received, once the sandbox has stopped.

    Stopping joins every connection's thread, so a request the client gave up on before
    the sandbox got to it is counted too.
    """
    sandbox.stop()
    return sandbox.faults, sandbox.request_count


def test_every_item_arrives_once_in_order_through_every_retried_fault(
    faulty: SandboxServer,
    expected: list[str],
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = faulty_client(faulty, max_retries=10)
    ids: list[str] = []
    calls = 0
    started = time.perf_counter()
    with caplog.at_level("WARNING", logger="amazon_music_browse"):
        for page in client.paginate(client.get_category_tracks, HEAVY_METAL).pages():
            calls += 1
            ids.extend(track.id for track in page)
    seconds = time.perf_counter() - started
    faults, requests_sent = final_counts(faulty)
    retried = Counter(
        match[1]
        for record in caplog.records
        if (match := _RETRY_LINE.match(record.getMessage())) is not None
    )
    lost, duplicated = lost_and_duplicated(ids, expected)
    injected = sum(faults.values())
    retries = sum(retried.values())
    late = retried["APITimeoutError"] - faults["stall"]  # timeouts no stall explains

    report(
        "faults",
        items=len(ids),
        calls=calls,
        requests=requests_sent,
        injected=faults,
        retried=dict(retried),
        survived=len(sleeps),
        late=late,
        lost=lost,
        duplicated=duplicated,
        seconds=seconds,
    )
    assert ids == expected
    assert (lost, duplicated) == (0, 0)
    assert calls == SIZE // 100
    assert all(count > 0 for count in faults.values()), faults
    assert faults["drop"] >= 2  # both ways of dropping: before any byte, after some headers
    assert 0.15 < (faults["429"] + faults["500"] + faults["503"]) / requests_sent < 0.3
    # every failed attempt was retried once (one sleep, one log line) and cost one request
    assert set(retried) <= RETRY_REASONS
    assert requests_sent == calls + retries
    assert len(sleeps) == retries
    # every injected fault failed its attempt, seen as what it is, or as a timeout when
    # its answer came late; an attempt with no fault can only fail by coming late
    assert retries >= injected
    assert all(retried[status] <= faults[status] for status in STATUS_FAULTS)
    assert retried["APIConnectionError"] <= faults["drop"] + faults["truncate"]
    assert late >= retries - injected >= 0


MY_PLAYLISTS = Endpoint("/v1/me/playlists", ("data", "user", "playlists"), Playlist, limits=(1, 50))
SERVED = 5_000


def test_a_served_collection_of_a_wrapper_arrives_once_in_order_through_every_fault(
    faulty: SandboxServer, sleeps: list[float]
) -> None:
    expected = [f"p{i:05}" for i in range(SERVED)]
    faulty.serve(MY_PLAYLISTS, items=[{"id": item, "title": item} for item in expected])
    client = faulty_client(faulty, max_retries=10)
    calls = 0
    ids: list[str] = []
    for page in client.paginate(MY_PLAYLISTS).pages():
        calls += 1
        ids.extend(playlist.id for playlist in page)
    faults, requests_sent = final_counts(faulty)
    lost, duplicated = lost_and_duplicated(ids, expected)

    report(
        "faults-served",
        items=len(ids),
        calls=calls,
        requests=requests_sent,
        injected=faults,
        retries=len(sleeps),
        lost=lost,
        duplicated=duplicated,
    )
    assert ids == expected
    assert calls == SERVED // 50
    assert sum(faults.values()) > 0.15 * calls  # faults hit the served route as any other
    assert {kind for kind, count in faults.items() if count} >= {"429", "drop", "truncate"}
    assert requests_sent == calls + len(sleeps)  # every failed attempt was retried once
    assert len(sleeps) >= sum(faults.values())


@pytest.mark.parametrize("prefetch", [False, True], ids=["plain", "prefetch"])
def test_with_no_retries_every_fault_surfaces_and_the_cursor_resumes_without_loss(
    faulty: SandboxServer, expected: list[str], sleeps: list[float], prefetch: bool
) -> None:
    client = faulty_client(faulty, max_retries=0)
    ids: list[str] = []
    surfaced: Counter[str] = Counter()
    cursor: str | None = None
    for _ in range(1000):  # bounded: far more than the faults a run can meet
        paginator = client.paginate(
            client.get_category_tracks, HEAVY_METAL, cursor=cursor, prefetch=prefetch
        )
        try:
            for track in paginator:
                ids.append(track.id)
        except AmazonMusicError as error:
            surfaced[type(error).__name__] += 1
            cursor = paginator.cursor
        else:
            break
    else:
        pytest.fail("the export did not finish")
    faults, requests_sent = final_counts(faulty)
    lost, duplicated = lost_and_duplicated(ids, expected)
    failures = sum(surfaced.values())
    late = surfaced["APITimeoutError"] - faults["stall"]  # timeouts no stall explains

    report(
        f"faults-resume[{'prefetch' if prefetch else 'plain'}]",
        items=len(ids),
        requests=requests_sent,
        injected=faults,
        surfaced=dict(surfaced),
        resumes=failures,
        late=late,
        lost=lost,
        duplicated=duplicated,
    )
    assert ids == expected
    assert sleeps == []  # max_retries=0: nothing was retried
    # each failure surfaced once and cost one request; the resume asked for that page again
    assert requests_sent == SIZE // 100 + failures
    # every injected fault surfaced, as what it is, or as a timeout when its answer came late
    assert set(surfaced) <= {
        "RateLimitError",
        "InternalServerError",
        "APIConnectionError",
        "APITimeoutError",
    }
    assert failures >= sum(faults.values()) > 0
    assert surfaced["RateLimitError"] <= faults["429"]
    assert surfaced["InternalServerError"] <= faults["500"] + faults["503"]
    assert surfaced["APIConnectionError"] <= faults["drop"] + faults["truncate"]
    assert late >= failures - sum(faults.values()) >= 0


@pytest.mark.parametrize(
    ("options", "cursor", "category_id", "error_class", "status", "code"),
    [
        ({}, "forged.cursor", HEAVY_METAL, BadRequestError, 400, "BAD_REQUEST"),
        ({}, None, "no-such-category", NotFoundError, 404, "RESOURCE_NOT_FOUND"),
        (
            {"api_key": "wrong-key"},
            None,
            HEAVY_METAL,
            AuthenticationError,
            401,
            "INVALID_CLIENT_ID",
        ),
    ],
    ids=["bad-cursor", "unknown-category", "wrong-key"],
)
def test_a_fault_the_contract_does_not_retry_surfaces_at_once(
    sleeps: list[float],
    options: dict[str, str],
    cursor: str | None,
    category_id: str,
    error_class: type[APIError],
    status: int,
    code: str,
) -> None:
    with SandboxServer(seed=SEED) as sandbox:
        client = sandbox.client(max_retries=10, **options)
        paginator = client.paginate(client.get_category_tracks, category_id, cursor=cursor)
        with pytest.raises(error_class) as caught:
            next(iter(paginator))
        requests_sent = sandbox.request_count

    report(
        f"faults-not-retried[{code}]",
        requests=requests_sent,
        retries=len(sleeps),
        raised=type(caught.value).__name__,
    )
    assert (caught.value.status_code, caught.value.code) == (status, code)
    assert requests_sent == 1
    assert sleeps == []
    assert paginator.cursor == cursor  # nothing was skipped: a resume starts where it was


def test_a_retry_after_over_max_retry_wait_is_raised_at_once_and_the_export_resumes_after_it(
    sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(_retry, "_monotonic", clock)
    expected = catalog_ids("tracks", HEAVY_METAL, seed=SEED)
    ids: list[str] = []
    retry_afters: list[float | None] = []
    held = 0
    cursor: str | None = None
    with SandboxServer(seed=SEED, rate_limit_rate=0.25, retry_after=120) as sandbox:
        client = sandbox.client(max_retries=10, max_retry_wait=60)
        for _ in range(1000):
            paginator = client.paginate(
                client.get_category_tracks, HEAVY_METAL, page_size=20, cursor=cursor
            )
            try:
                for track in paginator:
                    ids.append(track.id)
            except RateLimitError as error:
                retry_afters.append(error.retry_after)
                before = sandbox.request_count
                with pytest.raises(RateLimitError) as waiting:  # inside the window
                    client.get_category_tracks(HEAVY_METAL, limit=1, cursor=paginator.cursor)
                assert sandbox.request_count == before  # ... nothing was sent
                assert 0 < (waiting.value.retry_after or 0) <= 120
                held += 1
                clock.now += 121
                cursor = paginator.cursor
            else:
                break
        faults, requests_sent = sandbox.faults, sandbox.request_count
    lost, duplicated = lost_and_duplicated(ids, expected)

    report(
        "faults-retry-after",
        items=len(ids),
        requests=requests_sent,
        injected_429=faults["429"],
        raised_at_once=len(retry_afters),
        held_without_sending=held,
        slept=len(sleeps),
        lost=lost,
        duplicated=duplicated,
    )
    assert ids == expected
    assert retry_afters == [120] * held
    assert held == faults["429"] >= 3
    assert sleeps == []  # never parked: a Retry-After over max_retry_wait is not slept
    assert requests_sent == math.ceil(len(expected) / 20) + faults["429"]


def test_a_read_that_stalls_past_the_timeout_is_retried_then_raised_as_api_timeout_error(
    sleeps: list[float],
) -> None:
    with SandboxServer(stall_rate=1.0, stall_seconds=STALL_SECONDS) as sandbox:
        client = sandbox.client(max_retries=1, timeout=(5.0, READ_TIMEOUT))
        started = time.perf_counter()
        with pytest.raises(APIConnectionError) as caught:
            client.get_category_tracks(HEAVY_METAL, limit=5)
        seconds = time.perf_counter() - started
        requests_sent, faults = sandbox.request_count, sandbox.faults

    report(
        "faults-stall",
        requests=requests_sent,
        stalls=faults["stall"],
        retries=len(sleeps),
        raised=type(caught.value).__name__,
        seconds=seconds,
    )
    assert requests_sent == faults["stall"] == 2  # retried once, like any timeout
    assert len(sleeps) == 1
    # two read timeouts, not the stall: the client did not wait it out
    assert READ_TIMEOUT * 2 <= seconds < STALL_SECONDS / 2
    # The contract's class for "a read took longer than the client's timeout":
    assert isinstance(caught.value, APITimeoutError), (
        f"a body read that timed out surfaced as {type(caught.value).__name__}: {caught.value}"
    )
