"""Properties of the paginator against a fake in-memory service (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from amazon_music_browse import PaginationError, Paginator, ResponseCollection, Track

MAX_CALLS = 2_000
"""A runaway guard: no example needs this many requests, so reaching it is a failure."""


@dataclass
class FakeService:
    """Serves ``size`` items in pages, honouring ``limit``, with scripted misbehaviour.

    Cursors are opaque to the client; the service maps each one it issued to a position.

    Args:
        size: how many items the collection has (ids ``"i0"``...).
        empty_pages: ``empty_pages[n]`` empty pages, each with a fresh next cursor, are
            sent before the n-th page of items.
        repeat_at: from this answer (0-based) on, the next cursor is one already sent.
        extra: items sent beyond ``limit`` on each page (an over-delivering service).
    """

    size: int
    empty_pages: list[int] = field(default_factory=list)
    repeat_at: int | None = None
    extra: int = 0
    calls: list[tuple[int | None, str | None]] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # items per answer, one per call
    repeated: bool = False
    _issued: list[str] = field(default_factory=list)
    _positions: dict[str, int] = field(default_factory=dict)
    _item_pages: int = 0
    _empties_left: int | None = None

    def twin(self) -> FakeService:
        """A fresh service with the same script."""
        return FakeService(self.size, list(self.empty_pages), self.repeat_at, self.extra)

    @property
    def items(self) -> list[str]:
        return [f"i{n}" for n in range(self.size)]

    def fetch_page(self, limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        self.calls.append((limit, cursor))
        assert len(self.calls) <= MAX_CALLS, "the paginator does not stop"
        assert limit is not None, "asked for the service's default page size"
        assert limit >= 1, f"asked for limit={limit}"
        start = 0 if cursor is None else self._positions[cursor]
        if self._empties_left is None:
            n = self._item_pages
            self._empties_left = self.empty_pages[n] if n < len(self.empty_pages) else 0
        if self._empties_left > 0 and start < self.size:
            self._empties_left -= 1
            end, more = start, True
        else:
            self._empties_left = None
            self._item_pages += 1
            end = min(self.size, start + limit + self.extra)
            more = end < self.size
        ids = [f"i{n}" for n in range(start, end)]
        token = self._next_cursor(end) if more else None
        self.sent.append(len(ids))
        return ResponseCollection[Track].model_validate(
            {
                "pageInfo": {"hasNextPage": token is not None, "token": token},
                "edges": [{"node": {"id": item_id}} for item_id in ids],
            }
        )

    def _next_cursor(self, position: int) -> str:
        answer = len(self.calls) - 1
        if self.repeat_at is not None and answer >= self.repeat_at and self._issued:
            self.repeated = True
            return self._issued[0]
        cursor = f"c{position}-{len(self._issued)}"
        self._issued.append(cursor)
        self._positions[cursor] = position
        return cursor


services = st.builds(
    FakeService,
    size=st.integers(0, 60),
    empty_pages=st.lists(st.integers(0, 3), max_size=8),
    repeat_at=st.none() | st.integers(0, 8),
    extra=st.sampled_from([0, 0, 0, 1, 3]),
)
honest_services = st.builds(
    FakeService,
    size=st.integers(0, 60),
    empty_pages=st.lists(st.integers(0, 3), max_size=8),
)
page_sizes = st.integers(1, 12)
max_items = st.none() | st.integers(0, 70)

SETTINGS = settings(max_examples=200, deadline=None, database=None)


def run(paginator: Paginator[Track]) -> tuple[list[str], Exception | None]:
    received: list[str] = []
    try:
        for item in paginator:
            received.append(item.id)
    except PaginationError as error:
        return received, error
    return received, None


@SETTINGS
@given(service=services, page_size=page_sizes, limit=max_items)
def test_every_item_once_in_order_within_max_items(
    service: FakeService, page_size: int, limit: int | None
) -> None:
    paginator = Paginator(service.fetch_page, page_size=page_size, max_items=limit)

    received, error = run(paginator)

    # Always terminates, within a bound set by the items and the empty pages.
    assert len(service.calls) <= service.size + sum(service.empty_pages) + 1
    if service.repeated:
        assert isinstance(error, PaginationError)
    else:
        assert error is None
    expected = service.items if limit is None else service.items[:limit]
    if error is None:
        assert received == expected
    else:
        assert received == expected[: len(received)]  # a prefix: no loss before the stop
    if limit is not None:
        assert len(received) <= limit


@SETTINGS
@given(service=services, page_size=page_sizes, limit=max_items)
def test_no_request_asks_for_more_than_the_page_size_or_what_is_still_needed(
    service: FakeService, page_size: int, limit: int | None
) -> None:
    run(Paginator(service.fetch_page, page_size=page_size, max_items=limit))

    received_so_far = 0
    assert len(service.sent) == len(service.calls)
    for (asked, _), sent in zip(service.calls, service.sent, strict=True):
        assert asked is not None
        assert 1 <= asked <= page_size
        if limit is not None:
            assert asked <= limit - received_so_far
        received_so_far += sent
    if limit == 0:
        assert service.calls == []


@SETTINGS
@given(service=services, page_size=page_sizes)
def test_pages_and_items_agree(service: FakeService, page_size: int) -> None:
    twin = service.twin()
    items, error = run(Paginator(service.fetch_page, page_size=page_size))

    paged: list[str] = []
    try:
        for page in Paginator(twin.fetch_page, page_size=page_size).pages():
            paged.extend(item.id for item in page)
    except PaginationError:
        assert error is not None
    else:
        assert error is None

    assert paged == items
    assert twin.calls == service.calls


@SETTINGS
@given(
    service=honest_services,
    page_size=page_sizes,
    max_pages=st.integers(0, 8),
    pages_mode=st.booleans(),
)
def test_resume_from_the_cursor_after_max_pages_gives_the_rest_exactly(
    service: FakeService, page_size: int, max_pages: int, pages_mode: bool
) -> None:
    first = Paginator(service.fetch_page, page_size=page_size, max_pages=max_pages)
    if pages_mode:
        head = [item.id for page in first.pages() for item in page]
    else:
        head = [item.id for item in first]

    assert len(service.calls) <= max_pages
    if first.cursor is None and max_pages > 0:
        rest: list[str] = []  # the collection ended within max_pages
    else:
        assert len(service.calls) == max_pages
        resumed = Paginator(service.fetch_page, page_size=page_size, cursor=first.cursor)
        rest = [item.id for item in resumed]
        if len(service.calls) > max_pages:
            assert service.calls[max_pages][1] == first.cursor

    assert head + rest == service.items


@settings(max_examples=40, deadline=None, database=None)
@given(service=services, page_size=page_sizes, limit=max_items)
def test_prefetch_gives_the_same_result_as_without(
    service: FakeService, page_size: int, limit: int | None
) -> None:
    twin = service.twin()

    plain = Paginator(service.fetch_page, page_size=page_size, max_items=limit)
    fetched = Paginator(twin.fetch_page, page_size=page_size, max_items=limit, prefetch=True)
    plain_result, plain_error = run(plain)
    prefetched_result, prefetched_error = run(fetched)

    assert prefetched_result == plain_result
    assert type(prefetched_error) is type(plain_error)
    assert twin.calls == service.calls  # no page fetched that was not needed
    assert fetched.cursor == plain.cursor


class Crash(Exception):
    """The caller's own work failing mid-walk."""


@SETTINGS
@given(
    service=honest_services,
    page_size=page_sizes,
    max_pages=st.none() | st.integers(1, 4),
    crashes=st.lists(st.integers(0, 60), max_size=5),
)
def test_a_job_checkpointing_cursor_and_finished_gets_every_item(
    service: FakeService, page_size: int, max_pages: int | None, crashes: list[int]
) -> None:
    received: list[str] = []
    cursor = None
    for run_ in range(len(crashes) + service.size + sum(service.empty_pages) + 2):
        paginator = Paginator(
            service.fetch_page, page_size=page_size, max_pages=max_pages, cursor=cursor
        )
        crash_after = crashes[run_] if run_ < len(crashes) else None
        try:
            for number, item in enumerate(paginator):
                if number == crash_after:
                    raise Crash
                received.append(item.id)
        except Crash:
            pass
        if paginator.finished:
            break
        cursor = paginator.cursor  # the checkpoint
    else:
        pytest.fail("the job never finished")

    assert paginator.cursor is None
    # every item in order; a crash mid-page may only repeat items of that page
    assert list(dict.fromkeys(received)) == service.items
    assert all(received.count(item) <= len(crashes) + 1 for item in service.items)


@SETTINGS
@given(
    service=services,
    page_size=page_sizes,
    limit=max_items,
    max_pages=st.none() | st.integers(0, 8),
    pages_mode=st.booleans(),
)
def test_finished_means_every_item_was_received(
    service: FakeService,
    page_size: int,
    limit: int | None,
    max_pages: int | None,
    pages_mode: bool,
) -> None:
    paginator = Paginator(
        service.fetch_page, page_size=page_size, max_items=limit, max_pages=max_pages
    )
    received: list[str] = []
    error = None
    try:
        for page in paginator.pages() if pages_mode else [paginator]:
            received.extend(item.id for item in page)
    except PaginationError as exc:
        error = exc

    if paginator.finished:
        assert (error, paginator.cursor, received) == (None, None, service.items)
    if error is None and limit is None and max_pages is None:
        assert paginator.finished  # nothing stopped it early


@pytest.mark.parametrize(("size", "sent"), [(0, [0]), (1, [0, 1]), (5, [0, 2, 2, 0, 0, 1])])
def test_the_fake_service_serves_its_items_with_empty_pages(size: int, sent: list[int]) -> None:
    service = FakeService(size=size, empty_pages=[1, 0, 2])

    received, error = run(Paginator(service.fetch_page, page_size=2))

    assert error is None
    assert received == service.items
    assert service.sent == sent


def test_the_fake_service_repeats_and_over_delivers() -> None:
    service = FakeService(size=20, repeat_at=2, extra=1)

    received, error = run(Paginator(service.fetch_page, page_size=3))

    assert isinstance(error, PaginationError)
    assert service.repeated
    assert received == service.items[:8]
    assert service.sent == [4, 4, 4]
