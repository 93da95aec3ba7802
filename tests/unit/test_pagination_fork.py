"""A prefetching paginator carried into a child by ``fork()`` goes on there, without a hang."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from amazon_music_browse import Paginator, ResponseCollection, Track
from tests.unit.test_pagination import (
    ALL_ITEMS,
    PAGES,
    PREFETCH_PREFIX,
    collection,
    prefetch_threads,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

CHILD_DEADLINE = 30.0
"""Seconds the child gets to page through three small pages (milliseconds of work)."""


class ForkableBook:
    """A ``fetch_page`` over `PAGES` that records which process and thread fetched what.

    In the parent, page 2 (cursor ``"p1"``) waits for ``release``: at the fork the parent's
    prefetch of it is still in flight.
    """

    def __init__(self, hold_page_2: bool) -> None:
        self.parent = os.getpid()
        self.release = threading.Event()
        if not hold_page_2:
            self.release.set()
        self.fetched_page_2 = threading.Event()  # in the parent
        self.calls: list[tuple[int, str, str | None]] = []  # pid, thread name, cursor

    def __call__(self, limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        self.calls.append((os.getpid(), threading.current_thread().name, cursor))
        index = 0 if cursor is None else int(cursor[1:])
        if index == 1 and os.getpid() == self.parent:
            assert self.release.wait(CHILD_DEADLINE + 10), "the test never released page 2"
            self.fetched_page_2.set()
        token = f"p{index + 1}" if index + 1 < len(PAGES) else None
        return ResponseCollection[Track].model_validate(collection(PAGES[index], token))


def in_child(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a forked child and return what it returned (JSON); fail on a hang."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns about forking with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status, report = 1, "null"
        try:
            os.close(read_end)
            report = json.dumps({"result": work()})
            status = 0
        except BaseException as error:
            report = json.dumps({"error": repr(error)})
        finally:
            os.write(write_end, report.encode())
            os._exit(status)
    os.close(write_end)
    status = wait_or_kill(pid, CHILD_DEADLINE)
    with os.fdopen(read_end, "rb") as pipe:
        answer = json.loads(pipe.read() or b"null")
    assert status is not None, f"the child hung for {CHILD_DEADLINE} s and was killed"
    assert answer is not None, f"the child reported nothing (exit status {status})"
    assert "error" not in answer, f"the child failed: {answer['error']}"
    assert status == 0
    return answer["result"]


def wait_or_kill(pid: int, deadline: float) -> int | None:
    """The child's exit status, or ``None`` if it was still running after ``deadline`` s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.parametrize("mode", ["items", "pages"])
@pytest.mark.parametrize("at_fork", ["in-flight", "arrived"])
def test_a_child_pages_through_the_rest_after_fork(mode: str, at_fork: str) -> None:
    book = ForkableBook(hold_page_2=at_fork == "in-flight")
    paginator = Paginator(book, page_size=2, prefetch=True)
    iterator: Iterator[Any] = iter(paginator) if mode == "items" else paginator.pages()
    next(iterator)  # page 1 handed over; page 2 is being prefetched
    if at_fork == "arrived":
        assert book.fetched_page_2.wait(5)
        for thread in prefetch_threads():
            thread.join(5)

    def rest_in_child() -> dict[str, Any]:
        items = items_of(iterator, mode)
        mine = [(thread, cursor) for pid, thread, cursor in book.calls if pid == os.getpid()]
        return {
            "items": items,
            "calls": mine,
            "cursor": paginator.cursor,
            "finished": paginator.finished,
        }

    try:
        child = in_child(rest_in_child)
    finally:
        book.release.set()

    expected = ALL_ITEMS[1:] if mode == "items" else ALL_ITEMS[len(PAGES[0]) :]
    assert child["items"] == expected
    assert (child["cursor"], child["finished"]) == (None, True)
    # the child asked for page 2 again in the caller's thread, then prefetched on new threads
    assert child["calls"][0] == [threading.current_thread().name, "p1"]
    assert [cursor for _, cursor in child["calls"]] == ["p1", "p2", "p3"]
    assert all(name.startswith(PREFETCH_PREFIX) for name, _ in child["calls"][1:])

    # the parent goes on as if nothing happened
    assert items_of(iterator, mode) == expected
    assert [cursor for pid, _, cursor in book.calls if pid == os.getpid()] == [
        None,
        "p1",
        "p2",
        "p3",
    ]


def items_of(iterator: Iterator[Any], mode: str) -> list[str]:
    rest = list(iterator)
    items = rest if mode == "items" else [item for page in rest for item in page]
    return [item.id for item in items]


def test_a_child_can_close_a_paginator_whose_prefetch_was_in_flight() -> None:
    book = ForkableBook(hold_page_2=True)
    paginator = Paginator(book, page_size=2, prefetch=True)
    pages = paginator.pages()
    next(pages)

    def close_in_child() -> list[Any]:
        pages.close()
        return [paginator.cursor, paginator.finished, len(book.calls)]

    try:
        child = in_child(close_in_child)
    finally:
        book.release.set()
        pages.close()

    assert child == ["p1", False, len(book.calls)]
