"""A lazy paginator that follows ``pageInfo.token`` into ``cursor``."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from pydantic import BaseModel

from ._arguments import check_count, check_cursor, check_limit
from ._cancel import cancel_scope, raise_if_cancelled
from ._constants import MAX_EMPTY_PAGES
from ._context import in_callers_context
from ._errors import PaginationError
from ._models import ResponseCollection

__all__ = ["FetchPage", "Paginator"]

ItemT = TypeVar("ItemT", bound=BaseModel)

# The return type is a string: parametrising a pydantic generic at import costs ~8 ms.
FetchPage = Callable[[int | None, str | None], "ResponseCollection[ItemT]"]
"""``fetch_page(limit, cursor)``: one page of at most ``limit`` items after ``cursor``."""

_NO_LIMIT = 2**63
_PREFETCH_THREAD: Final = "amazon-music-prefetch"

_PROGRESS_HINT: Final = 'pip install "amazon-music-browse[progress]"'
_NO_TQDM: Final = f"progress=True needs tqdm, which is not installed: {_PROGRESS_HINT}"


def _tqdm_is_installed() -> bool:
    try:
        return importlib.util.find_spec("tqdm") is not None
    except ValueError:  # imported already, without a spec (a stand-in module)
        return True


def _progress_bar(total: int | None) -> Any:
    """A new ``tqdm.auto`` bar counting items (imported here, on first use)."""
    try:
        auto = importlib.import_module("tqdm.auto")
    except ImportError as exc:
        raise ImportError(_NO_TQDM, name="tqdm") from exc
    return auto.tqdm(total=total, unit="item")


class Paginator(Generic[ItemT]):
    """Pages through a collection lazily, one page in memory at a time.

    Iterate it for items, or call `pages()` for whole pages. Nothing is requested
    until iteration starts, and each iteration starts again from the ``cursor`` given.

    Args:
        fetch_page: called as ``fetch_page(limit, cursor)`` for each page.
        page_size: items to ask for per page; defaults to ``max_page_size``.
        max_page_size: the largest ``limit`` the endpoint accepts, if known.
        min_page_size: the smallest ``limit`` the endpoint accepts.
        max_items: stop after this many items; the last request asks only for what is
            still needed.
        max_pages: send at most this many requests.
        cursor: start after this cursor (resume a previous run with its ``cursor``).
        prefetch: fetch the next page on a background (daemon) thread while the caller
            works through the current one. Closing or abandoning the iteration cancels
            it: no request or retry starts after that, and nothing waits for one in flight.
        progress: show a ``tqdm.auto`` progress bar while iterating (a Jupyter widget
            where ``ipywidgets`` is installed), advanced by each page's item count; its
            total is ``max_items`` when given. Needs the ``progress`` extra:
            ``pip install "amazon-music-browse[progress]"``.

    Raises:
        TypeError, ValueError: an argument is of the wrong type or out of bounds.
        ImportError: ``progress=True`` and ``tqdm`` is not installed (the message says
            how to install it).
    """

    def __init__(
        self,
        fetch_page: FetchPage[ItemT],
        *,
        page_size: int | None = None,
        max_page_size: int | None = None,
        min_page_size: int = 1,
        max_items: int | None = None,
        max_pages: int | None = None,
        cursor: str | None = None,
        prefetch: bool = False,
        progress: bool = False,
    ) -> None:
        if not callable(fetch_page):
            raise TypeError(f"fetch_page must be callable, not {type(fetch_page).__name__}")
        if page_size is not None:
            bounds = (min_page_size, max_page_size if max_page_size is not None else _NO_LIMIT)
            check_limit(page_size, bounds, name="page_size")
        self._fetch_page = fetch_page
        self.page_size: int | None = page_size if page_size is not None else max_page_size
        self.max_items = check_count(max_items, name="max_items")
        self.max_pages = check_count(max_pages, name="max_pages")
        self.start_cursor = check_cursor(cursor)
        self.prefetch = bool(prefetch)
        self.progress = bool(progress)
        if self.progress and not _tqdm_is_installed():
            raise ImportError(_NO_TQDM, name="tqdm")
        self._cursor = self.start_cursor
        self._finished = False
        self._received = (0, 0)  # pages, items handed over by the latest iteration
        self._state = "not started"

    @property
    def cursor(self) -> str | None:
        """The cursor of the next page the caller has not yet received.

        Pass it as ``cursor=`` to resume. ``None`` at the end, but also before the first
        page when no ``cursor`` was given: `finished` tells the two apart. With item
        iteration a page counts as received once the caller has asked for the item after
        its last one, so a crash mid-page resumes at that page again.
        """
        return self._cursor

    @property
    def finished(self) -> bool:
        """Whether the latest iteration received the collection to its end.

        ``True`` once the service said there is no next page and the caller received
        that last page whole (counted like `cursor`); ``False`` before, and whenever
        ``max_items``, ``max_pages``, an error or the caller stopped the walk earlier.
        ``cursor is None and not finished`` means: start from the beginning.
        """
        return self._finished

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(page_size={self.page_size!r}, max_items={self.max_items!r}, "
            f"max_pages={self.max_pages!r}, cursor={self._cursor!r}, finished={self._finished!r}, "
            f"prefetch={self.prefetch!r}, progress={self.progress!r})"
        )

    def _repr_html_(self) -> str:
        """Its settings and state as an HTML table for Jupyter; no request is sent."""
        from . import _display  # loaded on first use, not with the client

        pages, items = self._received
        state = self._state
        if state != "not started":
            state += f": {pages} page{'' if pages == 1 else 's'}, {items} items received"
        return _display.settings_html(
            f"{type(self).__name__} · {state}",
            [
                ("page_size", self.page_size),
                ("max_items", self.max_items),
                ("max_pages", self.max_pages),
                ("start cursor", self.start_cursor),
                ("prefetch", self.prefetch),
                ("progress", self.progress),
                ("cursor (resume here)", self._cursor),
                ("finished (no next page)", self._finished),
            ],
        )

    def pages(self) -> Iterator[ResponseCollection[ItemT]]:
        """Iterate over whole pages (a page's items are cut to ``max_items`` if needed)."""
        for step in self._tracked_walk():
            self._hand_over(step)
            yield step.page

    def __iter__(self) -> Iterator[ItemT]:
        """Iterate over items, across pages."""
        for step in self._tracked_walk():
            yield from step.page.items
            self._hand_over(step)

    def to_list(self) -> list[ItemT]:
        """Every item, in one list: all in memory at once, by the caller's choice."""
        return list(self)

    def _hand_over(self, step: _Step[ItemT]) -> None:
        """Count a page as received by the caller."""
        self._cursor = step.next_cursor
        self._finished = step.last
        pages, items = self._received
        self._received = (pages + 1, items + len(step.page.edges))

    def _tracked_walk(self) -> Iterator[_Step[ItemT]]:
        """`_walk()`, keeping the state shown in the HTML repr, with the progress bar."""
        self._cursor = self.start_cursor
        self._finished = False
        self._received = (0, 0)
        self._state = "running"
        bar = _progress_bar(self.max_items) if self.progress else None
        try:
            with contextlib.closing(self._walk()) as walk:
                for step in walk:
                    if bar is not None:
                        bar.update(len(step.page.edges))
                    yield step
            self._state = "finished"
        except GeneratorExit:
            self._state = "stopped"
            raise
        except BaseException:
            self._state = "failed"
            raise
        finally:
            if bar is not None:
                bar.close()

    def _walk(self) -> Generator[_Step[ItemT], None, None]:
        """Yield each page as a `_Step`, enforcing every limit and invariant."""
        pages = _Pages(self)
        pending: _Prefetch[ItemT] | None = None
        try:
            request = pages.next_request()
            while request is not None:
                if pending is None:
                    page = self._fetch_page(*request)
                else:
                    page, pending = pending.result(), None
                step = pages.accept(page)
                request = pages.next_request()
                if self.prefetch and request is not None:
                    pending = _Prefetch(self._fetch_page, request)
                yield step
        finally:
            if pending is not None:
                pending.abandon()


@dataclass(frozen=True)
class _Step(Generic[ItemT]):
    """A page as handed to the caller, and what receiving it means."""

    page: ResponseCollection[ItemT]
    next_cursor: str | None
    """Where a resume starts once the caller has received this page."""
    last: bool
    """The service's last page, whole: receiving it finishes the collection."""


class _Pages(Generic[ItemT]):
    """The bookkeeping of one walk: what to ask for next, and what the responses mean."""

    def __init__(self, paginator: Paginator[ItemT]) -> None:
        self._page_size = paginator.page_size
        self._max_pages = paginator.max_pages
        self._remaining = paginator.max_items
        self._cursor = paginator.start_cursor
        self._seen = {self._cursor} if self._cursor else set()
        self._requests = 0
        self._empty_run = 0
        self._done = False

    def next_request(self) -> tuple[int | None, str | None] | None:
        """``(limit, cursor)`` of the next request, or ``None`` when there is none to make."""
        if self._done or self._remaining == 0:
            return None
        if self._max_pages is not None and self._requests >= self._max_pages:
            return None
        self._requests += 1
        limit = self._page_size
        if self._remaining is not None and limit is not None:
            limit = min(limit, self._remaining)
        return limit, self._cursor

    def accept(self, page: ResponseCollection[ItemT]) -> _Step[ItemT]:
        """Check a page that arrived, cut it to ``max_items``, and move the cursor on."""
        if not isinstance(page, ResponseCollection):
            raise TypeError(
                f"fetch_page must return a ResponseCollection, not {type(page).__name__}"
            )
        next_cursor = page.next_cursor
        last = next_cursor is None  # the service's last page, unless it is cut below
        if next_cursor is not None and next_cursor in self._seen:
            raise PaginationError(
                f"the service sent cursor {next_cursor!r} a second time; "
                "stopping instead of looping over the same pages"
            )
        self._empty_run = 0 if page.edges else self._empty_run + 1
        if self._empty_run > MAX_EMPTY_PAGES:
            raise PaginationError(
                f"{MAX_EMPTY_PAGES} empty pages in a row, each with a new cursor; giving up"
            )
        if self._remaining is not None:
            if len(page.edges) > self._remaining:
                # More than asked for: hand over what is needed, and point a resume at
                # this page again, since no cursor leads to the middle of it.
                page = page.model_copy(update={"edges": page.edges[: self._remaining]})
                self._done = True
                next_cursor, last = self._cursor, False
            self._remaining -= len(page.edges)
        if next_cursor is None or self._done:
            self._done = True
        else:
            self._seen.add(next_cursor)
            self._cursor = next_cursor
        return _Step(page, next_cursor, last)


class _Prefetch(Generic[ItemT]):
    """One page fetched on a daemon thread of its own while the caller works.

    The thread runs in a copy of the caller's context (``contextvars``), so the fetch sees
    what the caller's thread would: its OpenTelemetry span, for one.

    The fetch runs in a `cancel_scope`: after `abandon()` it starts no request and no
    retry, and its response or error is dropped. Nothing waits for a request in flight,
    not even interpreter exit (the thread is a daemon). In a child process forked since,
    the thread does not exist: there the page is fetched again in the caller's thread,
    and the parent's thread and events are left alone.
    """

    def __init__(self, fetch_page: FetchPage[ItemT], request: tuple[int | None, str | None]):
        self._fetch_page = fetch_page
        self._request = request
        self._pid = os.getpid()
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._page: ResponseCollection[ItemT] | None = None
        self._error: BaseException | None = None
        # The caller's context goes along: its OpenTelemetry span is the parent of the fetch's.
        run = in_callers_context(self._run)
        threading.Thread(target=run, name=_PREFETCH_THREAD, daemon=True).start()

    def _run(self) -> None:
        try:
            with cancel_scope(self._cancelled):
                raise_if_cancelled()
                self._page = self._fetch_page(*self._request)
        except BaseException as error:  # raised in the caller's thread by result()
            self._error = error  # or, once abandoned (`Cancelled` included), read by nobody
        finally:
            self._done.set()

    def result(self) -> ResponseCollection[ItemT]:
        """The page (the error of its fetch raised here), once it has arrived."""
        if os.getpid() != self._pid:  # forked: the thread was the parent's
            return self._fetch_page(*self._request)
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._page is not None  # no error: the page arrived
        return self._page

    def abandon(self) -> None:
        """Cancel the fetch without waiting for it."""
        if os.getpid() == self._pid:  # in a child, its lock may be the lost thread's
            self._cancelled.set()
