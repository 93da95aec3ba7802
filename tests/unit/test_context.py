"""The caller's context (``contextvars``) goes along into the SDK's own threads."""

from __future__ import annotations

import contextvars
import threading

from amazon_music_browse import Paginator, ResponseCollection, Track
from amazon_music_browse._context import in_callers_context

current_request: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request", default="none"
)


def page(*ids: str, token: str | None = None) -> ResponseCollection[Track]:
    return ResponseCollection[Track].model_validate(
        {
            "pageInfo": {"hasNextPage": token is not None, "token": token},
            "edges": [{"node": {"id": i}} for i in ids],
        }
    )


def test_a_prefetch_sees_the_callers_context_at_the_time_it_was_started() -> None:
    seen: list[tuple[str, str]] = []

    def fetch_page(limit: int | None, cursor: str | None) -> ResponseCollection[Track]:
        seen.append((threading.current_thread().name, current_request.get()))
        return page("a", token="p2") if cursor is None else page("b")

    token = current_request.set("req-7")
    try:
        items = [item.id for item in Paginator(fetch_page, prefetch=True)]
    finally:
        current_request.reset(token)
    assert items == ["a", "b"]
    assert seen == [(threading.current_thread().name, "req-7"), ("amazon-music-prefetch", "req-7")]


def test_work_in_the_callers_context_changes_nothing_for_the_caller() -> None:
    token = current_request.set("outer")
    try:

        def work() -> str:
            before = current_request.get()
            current_request.set("changed in the thread")
            return before

        results: list[str] = []
        run = in_callers_context(work)
        thread = threading.Thread(target=lambda: results.append(run()))
        thread.start()
        thread.join()
        assert results == ["outer"]
        assert current_request.get() == "outer"
    finally:
        current_request.reset(token)
