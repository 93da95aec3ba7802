"""Proof: one client shared by 8 threads makes 10,000 calls with no error, every answer
its own, and no growth of open file descriptors or resident memory.

Each thread pages through its own category collection (its own category, collection
kind and ever-changing ``limit``), and every answer is compared with the catalog slice
that its own request asked for, so an answer handed to the wrong thread cannot pass.
Descriptors and RSS are read from ``/proc/self`` after a warm-up and after the run.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from amazon_music_browse import BrowseClient, ResponseCollection
from amazon_music_browse.sandbox import SandboxServer

from ._support import catalog_ids, report

pytestmark = pytest.mark.unmeasured  # a proof at volume: see tests/conftest.py

THREADS = 8
CALLS = 10_000
WARMUP_CALLS = 800
MAX_LIMIT = 20  # limits cycle through 1..20: small pages keep the run about the calls
KINDS = ("albums", "playlists", "tracks")
FD_TOLERANCE = 2  # descriptors
RSS_TOLERANCE = 8 * 1024 * 1024  # bytes


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Worker:
    """One thread's share of the load: its own category and collection, paged round."""

    def __init__(self, client: BrowseClient, index: int, category_id: str) -> None:
        self.index = index
        self.category_id = category_id
        self.kind = KINDS[index % len(KINDS)]
        self.method: Callable[..., ResponseCollection[Any]] = getattr(
            client, f"get_category_{self.kind}"
        )
        self.expected = catalog_ids(self.kind, category_id)
        self.calls = 0
        self.errors: list[BaseException] = []
        self.mismatches: list[str] = []
        self._offset = 0
        self._cursor: str | None = None

    def run(self, calls: int) -> None:
        for _ in range(calls):
            limit = 1 + (self.calls * 7 + self.index * 3) % MAX_LIMIT
            self.calls += 1
            try:
                page = self.method(self.category_id, limit=limit, cursor=self._cursor)
            except BaseException as error:  # every error counts, whatever its class
                self.errors.append(error)
                return
            self._check(page, limit)

    def _check(self, page: ResponseCollection[Any], limit: int) -> None:
        wanted = self.expected[self._offset : self._offset + limit]
        got = [item.id for item in page]
        category = page.category.id if page.category else None
        if category != self.category_id or got != wanted or len(page) != len(wanted):
            self.mismatches.append(
                f"thread {self.index} asked {self.category_id}/{self.kind} "
                f"offset={self._offset} limit={limit}: got {category} {got[:3]}..."
            )
        self._offset += len(wanted)
        self._cursor = page.next_cursor
        if self._cursor is None:  # the end of the collection: start over
            self._offset = 0


def run_threads(workers: list[Worker], calls_each: int) -> float:
    threads = [
        threading.Thread(target=worker.run, args=(calls_each,), name=f"load-{worker.index}")
        for worker in workers
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return time.perf_counter() - started


def test_eight_threads_share_one_client_for_ten_thousand_calls() -> None:
    categories = catalog_ids("browseCategories")[:THREADS]
    fds_before_start = open_fds()
    with SandboxServer() as sandbox, sandbox.client() as client:
        workers = [Worker(client, index, category) for index, category in enumerate(categories)]
        run_threads(workers, WARMUP_CALLS // THREADS)
        gc.collect()
        fds_start, rss_start = open_fds(), rss_bytes()
        requests_before = sandbox.request_count

        seconds = run_threads(workers, CALLS // THREADS)

        gc.collect()
        fds_end, rss_end = open_fds(), rss_bytes()
        requests_sent = sandbox.request_count - requests_before
    fds_after_close = open_fds()
    errors = [error for worker in workers for error in worker.errors]
    mismatches = [line for worker in workers for line in worker.mismatches]
    calls = sum(worker.calls for worker in workers) - WARMUP_CALLS

    report(
        "load",
        threads=THREADS,
        calls=calls,
        requests=requests_sent,
        errors=len(errors),
        mismatched=len(mismatches),
        seconds=seconds,
        calls_per_second=round(calls / seconds),
        fds=f"{fds_start}->{fds_end}",
        rss_mib=f"{rss_start / 2**20:.1f}->{rss_end / 2**20:.1f}",
        fds_after_close=f"{fds_before_start}->{fds_after_close}",
    )
    assert errors == []
    assert mismatches == []
    assert calls == requests_sent == CALLS
    assert fds_end - fds_start <= FD_TOLERANCE
    assert rss_end - rss_start <= RSS_TOLERANCE
    assert fds_after_close <= fds_before_start
