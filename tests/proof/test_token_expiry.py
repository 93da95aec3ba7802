"""Proof: a pagination that outlives many token lifetimes completes, with exactly one
token request per lifetime, also when 8 threads share the provider, and with exactly
one more when the service refuses a token early.

The sandbox and ``LoginWithAmazon`` read the same fake clock, moved on by the loop that
fetches the pages: each page is fetched ``STEP`` seconds after the one before it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import pytest

from amazon_music_browse import _auth
from amazon_music_browse.sandbox import SandboxServer

from ._support import HEAVY_METAL, FakeClock, catalog_ids, report

pytestmark = pytest.mark.unmeasured  # a proof at volume: see tests/conftest.py

SIZE = 10_000
PAGES = SIZE // 100
LIFETIME = 100.0  # seconds; renewed when less than a tenth (10 s) is left
STEP = 10.0  # seconds of fake time between two pages: ten pages per token lifetime
START = 1000.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(START)
    monkeypatch.setattr(_auth, "_monotonic", fake)
    return fake


@pytest.fixture(scope="module")
def expected() -> list[str]:
    return catalog_ids("tracks", HEAVY_METAL, sizes={"tracks": SIZE})


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(
        token_lifetime=LIFETIME,
        clock=clock,
        catalog_sizes={"tracks": SIZE},
        rate_limit_rate=0.1,  # retries in the mix must not cost token requests
        retry_after=0,
    ) as server:
        yield server


def issue_times(sandbox: SandboxServer) -> list[float]:
    return sorted(expiry - LIFETIME for expiry in sandbox.issued_tokens.values())


def test_a_long_pagination_requests_one_token_per_lifetime(
    sandbox: SandboxServer, clock: FakeClock, expected: list[str], sleeps: list[float]
) -> None:
    client = sandbox.client(access_token=sandbox.login_with_amazon(), max_retries=10)
    ids: list[str] = []
    for page in client.paginate(client.get_category_tracks, HEAVY_METAL).pages():
        ids.extend(track.id for track in page)
        clock.now += STEP
    span = clock.now - START
    lifetimes = math.ceil(span / LIFETIME)

    report(
        "token-expiry",
        items=len(ids),
        pages=PAGES,
        span_s=span,
        lifetime_s=LIFETIME,
        lifetimes=lifetimes,
        token_requests=sandbox.token_requests,
        per_lifetime=sandbox.token_requests / lifetimes,
        retries=len(sleeps),
    )
    assert ids == expected
    assert lifetimes == 10
    assert sandbox.token_requests == lifetimes
    # one token at the start of each lifetime, none renewed twice, none used past its end
    assert issue_times(sandbox) == [START + i * LIFETIME for i in range(lifetimes)]
    assert sandbox.faults["429"] == len(sleeps) > 0


def test_eight_threads_sharing_the_provider_request_one_token_per_lifetime(
    sandbox: SandboxServer, clock: FakeClock, sleeps: list[float]
) -> None:
    threads = 8
    client = sandbox.client(access_token=sandbox.login_with_amazon(), max_retries=10)
    barrier = threading.Barrier(threads, action=lambda: setattr(clock, "now", clock.now + STEP))
    errors: list[BaseException] = []
    calls = [0] * threads

    def work(index: int) -> None:
        try:
            for _ in range(PAGES):  # all threads call at the same fake time, then it moves
                client.get_category_tracks(HEAVY_METAL, limit=1 + index)
                calls[index] += 1
                barrier.wait(timeout=30)
        except BaseException as error:  # every error counts, whatever its class
            errors.append(error)
            barrier.abort()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    lifetimes = math.ceil((clock.now - START - STEP) / LIFETIME)

    report(
        "token-expiry-threads",
        threads=threads,
        calls=sum(calls),
        lifetimes=lifetimes,
        token_requests=sandbox.token_requests,
        errors=len(errors),
    )
    assert errors == []
    assert sum(calls) == threads * PAGES
    assert sandbox.token_requests == lifetimes == 10
    assert issue_times(sandbox) == [START + i * LIFETIME for i in range(lifetimes)]


def test_a_token_refused_early_by_the_service_costs_one_401_and_one_more_token(
    monkeypatch: pytest.MonkeyPatch, expected: list[str]
) -> None:
    client_clock, service_clock = FakeClock(START), FakeClock(START)
    monkeypatch.setattr(_auth, "_monotonic", client_clock)
    with SandboxServer(
        token_lifetime=LIFETIME, clock=service_clock, catalog_sizes={"tracks": SIZE}
    ) as sandbox:
        client = sandbox.client(access_token=sandbox.login_with_amazon(), max_retries=0)
        ids: list[str] = []
        for number, page in enumerate(
            client.paginate(client.get_category_tracks, HEAVY_METAL).pages(), start=1
        ):
            ids.extend(track.id for track in page)
            client_clock.now += STEP
            service_clock.now += STEP
            if number == PAGES // 2 + 5:  # mid-lifetime, the service jumps a lifetime ahead
                service_clock.now += LIFETIME
        requests_sent, token_requests = sandbox.request_count, sandbox.token_requests

    report(
        "token-expiry-refused",
        items=len(ids),
        requests=requests_sent,
        refused=requests_sent - PAGES,
        token_requests=token_requests,
    )
    assert ids == expected
    assert requests_sent == PAGES + 1  # exactly one 401, answered by one refresh
    assert token_requests == PAGES // 10 + 1
