"""Closing a prefetching paginator stops it: no request or retry after the close, no wait."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from amazon_music_browse import Paginator, ResponseCollection, Track
from amazon_music_browse._cancel import raise_if_cancelled, sleep_unless_cancelled
from tests.unit.test_pagination import PAGES, Book, collection, prefetch_threads

FIRST_PAGE = collection(["a1", "a2"], "p1")


class RetryingService:
    """A ``fetch_page`` that retries like the client: the cancel check before every attempt,
    and the retry wait through `sleep_unless_cancelled`.

    The first page answers at once. Every attempt at page 2 hangs until ``release`` is set
    and then fails, and is retried after ``retry_wait`` seconds, up to ``attempts_at_most``.
    """

    def __init__(self, retry_wait: float, attempts_at_most: int = 4) -> None:
        self.retry_wait = retry_wait
        self.attempts_at_most = attempts_at_most
        self.attempts: list[str | None] = []  # the cursor of each attempt sent
        self.in_flight = threading.Event()
        self.release = threading.Event()
        self.ended = threading.Event()  # the call for page 2 returned or raised

    def __call__(self, limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        if cursor is None:
            self.attempts.append(cursor)
            return ResponseCollection[Track].model_validate(FIRST_PAGE)
        try:
            for _ in range(self.attempts_at_most):
                raise_if_cancelled()
                self.attempts.append(cursor)
                self.in_flight.set()
                assert self.release.wait(10), "the test never released the attempt"
                sleep_unless_cancelled(self.retry_wait, time.sleep)
            raise RuntimeError("page 2 failed after every attempt")
        finally:
            self.ended.set()


def stop(iterator: Any, how: str) -> None:
    """Close the iterator, or abandon it (drop the last reference)."""
    if how == "close":
        iterator.close()
    else:
        del iterator
        gc.collect()


@pytest.mark.parametrize("how", ["close", "abandon"])
@pytest.mark.parametrize("mode", ["items", "pages"])
def test_no_retry_starts_after_the_close(how: str, mode: str) -> None:
    service = RetryingService(retry_wait=0.01)
    paginator = Paginator(service, page_size=2, prefetch=True)
    iterator: Any = iter(paginator) if mode == "items" else paginator.pages()
    next(iterator)
    assert service.in_flight.wait(5)

    stop(iterator, how)
    del iterator
    service.release.set()  # the attempt in flight fails now; no retry may follow

    assert service.ended.wait(5)
    assert service.attempts == [None, "p1"]


def test_a_retry_wait_ends_at_the_close() -> None:
    service = RetryingService(retry_wait=600)
    service.release.set()  # each attempt fails at once, then waits 600 s
    pages = Paginator(service, page_size=2, prefetch=True).pages()
    next(pages)
    assert service.in_flight.wait(5)

    pages.close()

    assert service.ended.wait(5)  # not 600 s later
    assert service.attempts == [None, "p1"]


def test_the_close_does_not_wait_for_a_request_in_flight() -> None:
    book = Book(PAGES)
    book.gates[1] = threading.Event()  # page 2 hangs until the test is over
    pages = Paginator(book, page_size=2, prefetch=True).pages()
    next(pages)
    assert book.started[1].wait(5)

    closer = threading.Thread(target=pages.close)
    closer.start()
    closer.join(5)
    closed_while_in_flight = not closer.is_alive() and not book.finished[1].is_set()
    book.gates[1].set()

    assert closed_while_in_flight
    assert [cursor for _, cursor in book.requests] == [None, "p1"]


def test_a_cancelled_fetch_is_dropped_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    uncaught: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    service = RetryingService(retry_wait=600)
    service.release.set()
    pages = Paginator(service, page_size=2, prefetch=True).pages()
    next(pages)
    assert service.in_flight.wait(5)

    pages.close()

    assert service.ended.wait(5)
    for thread in prefetch_threads():
        thread.join(5)
    assert uncaught == []
    with pytest.raises(StopIteration):
        next(pages)


def test_the_prefetch_thread_is_a_daemon() -> None:
    book = Book(PAGES)
    book.gates[1] = threading.Event()
    pages = Paginator(book, page_size=2, prefetch=True).pages()
    next(pages)
    assert book.started[1].wait(5)

    threads = prefetch_threads()
    book.gates[1].set()
    pages.close()

    assert len(threads) == 1
    assert threads[0].daemon


EXIT_WHILE_IN_FLIGHT = """
import threading
import time

from amazon_music_browse import Paginator, ResponseCollection, Track

in_flight = threading.Event()


def fetch_page(limit, cursor):
    if cursor is None:
        page = {"pageInfo": {"hasNextPage": True, "token": "p1"}, "edges": []}
        return ResponseCollection[Track].model_validate(page)
    in_flight.set()
    time.sleep(600)  # a server that does not answer
    raise AssertionError("unreachable")


pages = Paginator(fetch_page, prefetch=True).pages()
next(pages)
assert in_flight.wait(60)
pages.close()
print([t.daemon for t in threading.enumerate() if t.name.startswith("amazon-music-prefetch")])
"""


def test_interpreter_exit_does_not_wait_for_a_request_in_flight() -> None:
    # The request would take 600 s; the process must exit long before (60 s is 10x more
    # than starting Python and importing the package takes on a busy machine).
    result = subprocess.run(
        [sys.executable, "-c", EXIT_WHILE_IN_FLIGHT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "[True]\n"  # the request was still in flight, on a daemon thread
