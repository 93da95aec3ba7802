"""``paginator.finished``: the collection was received to its end, as a checkpoint can trust."""

from __future__ import annotations

import re
from typing import Any

import pytest

from amazon_music_browse import PaginationError, Paginator, ResponseCollection, Track
from tests.unit.test_pagination import ALL_ITEMS, PAGES, Book, collection, ids


def test_a_crash_in_the_first_page_is_not_the_end() -> None:
    paginator = Paginator(Book(PAGES), page_size=2)
    assert (paginator.cursor, paginator.finished) == (None, False)

    with pytest.raises(RuntimeError):
        crash_on_the_first_item(paginator)

    # cursor is None as at the end, but finished says: start from the beginning
    assert (paginator.cursor, paginator.finished) == (None, False)


def crash_on_the_first_item(paginator: Paginator[Track]) -> None:
    for _ in paginator:
        raise RuntimeError("the export crashed")


def test_finished_after_the_last_page() -> None:
    paginator = Paginator(Book(PAGES), page_size=2)

    assert ids(paginator) == ALL_ITEMS
    assert (paginator.cursor, paginator.finished) == (None, True)


@pytest.mark.parametrize("prefetch", [False, True])
def test_with_items_the_last_page_counts_once_the_caller_asks_past_it(prefetch: bool) -> None:
    paginator = Paginator(Book(PAGES), page_size=2, prefetch=prefetch)
    items = iter(paginator)

    assert [next(items).id for _ in ALL_ITEMS] == ALL_ITEMS
    assert (paginator.cursor, paginator.finished) == ("p3", False)  # d1 given, not asked past

    with pytest.raises(StopIteration):
        next(items)
    assert (paginator.cursor, paginator.finished) == (None, True)


@pytest.mark.parametrize("prefetch", [False, True])
def test_with_pages_the_last_page_counts_when_handed_over(prefetch: bool) -> None:
    paginator = Paginator(Book(PAGES), page_size=2, prefetch=prefetch)
    pages = paginator.pages()

    for _ in PAGES[:-1]:
        next(pages)
        assert paginator.finished is False
    assert ids(next(pages)) == ["d1"]
    assert paginator.finished is True
    pages.close()
    assert paginator.finished is True  # closing after the last page takes nothing back


@pytest.mark.parametrize(
    ("max_items", "finished", "cursor"),
    [(7, True, None), (100, True, None), (6, False, "p3"), (5, False, "p2")],
)
def test_max_items(max_items: int, finished: bool, cursor: str | None) -> None:
    paginator = Paginator(Book(PAGES), page_size=2, max_items=max_items)

    assert ids(paginator) == ALL_ITEMS[:max_items]
    assert (paginator.cursor, paginator.finished) == (cursor, finished)


@pytest.mark.parametrize(
    ("max_pages", "finished", "cursor"), [(4, True, None), (9, True, None), (3, False, "p3")]
)
@pytest.mark.parametrize("mode", ["items", "pages"])
def test_max_pages(max_pages: int, finished: bool, cursor: str | None, mode: str) -> None:
    paginator = Paginator(Book(PAGES), page_size=2, max_pages=max_pages)

    list(paginator if mode == "items" else paginator.pages())

    assert (paginator.cursor, paginator.finished) == (cursor, finished)


def test_max_items_zero_sends_nothing_and_is_not_finished() -> None:
    book = Book(PAGES)
    paginator = Paginator(book, page_size=2, max_items=0)

    assert paginator.to_list() == []
    assert book.requests == []
    assert (paginator.cursor, paginator.finished) == (None, False)


def over_delivering(pages: list[list[str]]) -> Any:
    """A ``fetch_page`` that ignores ``limit``: page n is ``pages[n]``, cursors ``"p<n>"``."""

    def fetch_page(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        index = 0 if cursor is None else int(cursor[1:])
        token = f"p{index + 1}" if index + 1 < len(pages) else None
        return ResponseCollection[Track].model_validate(collection(pages[index], token))

    return fetch_page


@pytest.mark.parametrize(
    ("pages", "max_items", "cursor"),
    [([["a", "b", "c"]], 2, None), ([["a"], ["b", "c", "d"]], 3, "p1")],
    ids=["only-page", "last-page"],
)
def test_a_last_page_cut_to_max_items_is_not_finished(
    pages: list[list[str]], max_items: int, cursor: str | None
) -> None:
    paginator = Paginator(over_delivering(pages), page_size=2, max_items=max_items)

    assert len(paginator.to_list()) == max_items
    # the rest of that page is only reachable by asking for the page again
    assert (paginator.cursor, paginator.finished) == (cursor, False)


def test_a_last_page_that_holds_exactly_max_items_is_finished() -> None:
    paginator = Paginator(over_delivering([["a"], ["b", "c"]]), page_size=1, max_items=3)

    assert ids(paginator) == ["a", "b", "c"]
    assert (paginator.cursor, paginator.finished) == (None, True)


@pytest.mark.parametrize("pages", [[[]], [["a", "b"], []]], ids=["no-items", "empty-last"])
def test_an_empty_last_page_finishes(pages: list[list[str]]) -> None:
    paginator = Paginator(Book(pages), page_size=2)

    assert ids(paginator) == [item for page in pages for item in page]
    assert (paginator.cursor, paginator.finished) == (None, True)


def test_an_error_on_the_last_page_is_not_finished() -> None:
    paginator = Paginator(Book(PAGES, failures={3: RuntimeError("page 4 failed")}), page_size=2)

    with pytest.raises(RuntimeError, match="page 4 failed"):
        paginator.to_list()
    assert (paginator.cursor, paginator.finished) == ("p3", False)


def test_a_repeated_cursor_is_not_finished() -> None:
    def stuck(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        return ResponseCollection[Track].model_validate(collection(["a"], "again"))

    paginator = Paginator(stuck, page_size=1)

    with pytest.raises(PaginationError):
        paginator.to_list()
    assert paginator.finished is False


def test_each_iteration_starts_unfinished() -> None:
    paginator = Paginator(Book(PAGES), page_size=2, cursor="p2")
    assert ids(paginator) == ["c1", "c2", "d1"]
    assert paginator.finished

    items = iter(paginator)
    assert next(items).id == "c1"
    assert (paginator.cursor, paginator.finished) == ("p2", False)  # back at the start cursor

    assert ids(items) == ["c2", "d1"]
    assert paginator.finished is True


def test_finished_is_read_only() -> None:
    paginator = Paginator(Book(PAGES), page_size=2)

    with pytest.raises(AttributeError):
        paginator.finished = True  # type: ignore[misc]


def test_repr_and_html_show_finished() -> None:
    paginator = Paginator(Book(PAGES), page_size=2)
    assert "cursor=None, finished=False" in repr(paginator)
    assert html_row(paginator, "finished (no next page)") == "False"

    paginator.to_list()

    assert "cursor=None, finished=True" in repr(paginator)
    assert html_row(paginator, "finished (no next page)") == "True"


def html_row(paginator: Paginator[Track], name: str) -> str:
    """The value shown in the HTML table's row ``name``."""
    found = re.search(
        rf"<th[^>]*>{re.escape(name)}</th><td[^>]*><code>(.*?)</code>", paginator._repr_html_()
    )
    assert found is not None, f"no row {name!r}"
    return found[1]
