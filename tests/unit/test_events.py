"""Event hooks: what each event says, when it fires, and what a hook may and may not do."""

from __future__ import annotations

import dataclasses
import pickle
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses

from amazon_music_browse import (
    APIConnectionError,
    AuthenticationError,
    BrowseClient,
    ConfigurationError,
    InternalServerError,
    LoginWithAmazon,
    RateLimitError,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    TokenEvent,
    _auth,
)
from amazon_music_browse.endpoints import CATEGORY_TRACKS
from tests._support import API_KEY, BASE_URL, TOP_TRACKS, error_body, make_client, tracks_page

CATEGORY_TRACKS_URL = BASE_URL + "/v1/browse/categories/2iB4IU25/tracks"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
REQUEST_ID = "6f1c0a52-0000-4000-8000-000000000001"


class Recorder:
    """Hooks for every client event, recording what they were called with, in order."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.threads: list[str] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        self.threads.append(threading.current_thread().name)

    def hooks(self) -> dict[str, list[Callable[[Any], object]]]:
        return {"request": [self], "response": [self], "retry": [self]}

    def kinds(self) -> list[tuple[str, int]]:
        """``(kind, attempt)`` of each event, with the status or reason where there is one."""
        out: list[tuple[str, int]] = []
        for event in self.events:
            if isinstance(event, ResponseEvent):
                out.append((f"response {event.status_code}", event.attempt))
            elif isinstance(event, RetryEvent):
                out.append((f"retry {event.reason}", event.attempt))
            else:
                out.append(("request", event.attempt))
        return out


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


# -- what the events say -----------------------------------------------------------------


def test_a_successful_call_has_one_request_and_one_response_event(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    mock.get(
        CATEGORY_TRACKS_URL,
        json={"data": {"category": {"tracks": tracks_page("t1")["data"]["topTracks"]}}},
        headers={"x-amzn-RequestId": REQUEST_ID},
    )
    client = make_client(event_hooks=recorder.hooks())
    client.get_category_tracks("2iB4IU25", limit=5, cursor="c1")
    request, response = recorder.events
    assert request == RequestEvent(
        method="GET",
        path_template="/v1/browse/categories/{category_id}/tracks",
        path="/v1/browse/categories/2iB4IU25/tracks",
        params={"limit": 5, "cursor": "c1"},
        attempt=1,
    )
    assert type(request) is RequestEvent
    assert type(response) is ResponseEvent
    assert dataclasses.astuple(response)[:5] == dataclasses.astuple(request)
    assert response.status_code == 200
    assert response.request_id == REQUEST_ID
    assert response.from_cache is False
    assert isinstance(response.elapsed, float)
    assert 0 <= response.elapsed < 60


def test_the_path_template_is_the_endpoints_and_request_uses_its_path(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    mock.get(CATEGORY_TRACKS_URL, json={"data": {"category": {"tracks": {"edges": []}}}})
    mock.post(BASE_URL + "/v1/search/tracks", json={"found": 0})
    client = make_client(event_hooks={"request": [recorder]})
    client.get_page(CATEGORY_TRACKS, category_id="2iB4IU25")
    client.request("POST", "/v1/search/tracks", params={"q": "jazz"}, json={"x": 1})
    endpoint_call, any_call = recorder.events
    assert endpoint_call.path_template == CATEGORY_TRACKS.path
    assert endpoint_call.params == {}
    assert (any_call.method, any_call.path_template, any_call.path) == (
        "POST",
        "/v1/search/tracks",
        "/v1/search/tracks",
    )
    assert any_call.params == {"q": "jazz"}


def test_events_are_frozen_and_changing_their_params_changes_nothing_sent(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.get(TOP_TRACKS, status=503, json=error_body(503))
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    events: list[RequestEvent] = []

    def meddle(event: RequestEvent) -> None:
        events.append(event)
        event.params["limit"] = 20  # type: ignore[index]

    make_client(event_hooks={"request": [meddle]}).get_top_tracks(limit=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        events[0].attempt = 2  # type: ignore[misc]
    assert [call.request.url for call in mock.calls] == [TOP_TRACKS + "?limit=3"] * 2


def test_events_pickle_and_convert_to_dicts(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1"), headers={"x-amzn-RequestId": REQUEST_ID})
    make_client(event_hooks=recorder.hooks()).get_top_tracks(limit=3)
    for event in recorder.events:
        assert pickle.loads(pickle.dumps(event)) == event
    assert dataclasses.asdict(recorder.events[1]) == {
        "method": "GET",
        "path_template": "/v1/browse/tracks/top",
        "path": "/v1/browse/tracks/top",
        "params": {"limit": 3},
        "attempt": 1,
        "status_code": 200,
        "elapsed": recorder.events[1].elapsed,
        "request_id": REQUEST_ID,
        "from_cache": False,
    }


def test_no_event_has_a_header_a_url_or_a_credential(
    mock: responses.RequestsMock, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "Atza|echoed-token-0123456789"
    mock.get(TOP_TRACKS, status=503, json=error_body(503), headers={"Retry-After": "0"})
    # A service that echoes the token in its request id: the event has it redacted.
    mock.get(TOP_TRACKS, json=tracks_page("t1"), headers={"x-amzn-RequestId": f"id-{token}"})
    client = BrowseClient(API_KEY, token, event_hooks=recorder.hooks())
    client.get_top_tracks(cursor="opaque-cursor")
    names = {field.name for event in recorder.events for field in dataclasses.fields(event)}
    assert names == {
        "method",
        "path_template",
        "path",
        "params",
        "attempt",
        "status_code",
        "elapsed",
        "request_id",
        "from_cache",
        "reason",
        "wait",
    }
    text = " ".join(repr(event) for event in recorder.events)
    assert token not in text
    assert API_KEY not in text
    assert "http" not in text  # no URL, with or without the cursor
    assert recorder.events[-1].request_id == "id-[REDACTED]"


def test_the_cursor_is_in_params_as_sent(mock: responses.RequestsMock, recorder: Recorder) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t3"))
    make_client(event_hooks={"request": [recorder]}).get_top_tracks(cursor="abc")
    assert recorder.events[0].params == {"cursor": "abc"}


# -- when they fire ---------------------------------------------------------------------------


def test_a_retried_status_gives_a_response_then_a_retry_then_the_next_attempt(
    mock: responses.RequestsMock, recorder: Recorder, sleeps: list[float]
) -> None:
    mock.get(TOP_TRACKS, status=429, json=error_body(429), headers={"Retry-After": "2"})
    mock.get(TOP_TRACKS, status=503, json=error_body(503), headers={"Retry-After": "1"})
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    make_client(event_hooks=recorder.hooks()).get_top_tracks()
    assert recorder.kinds() == [
        ("request", 1),
        ("response 429", 1),
        ("retry 429", 1),
        ("request", 2),
        ("response 503", 2),
        ("retry 503", 2),
        ("request", 3),
        ("response 200", 3),
    ]
    retries = [event for event in recorder.events if isinstance(event, RetryEvent)]
    assert [retry.wait for retry in retries] == [2.0, 1.0] == sleeps
    assert retries[0].path_template == "/v1/browse/tracks/top"


def test_a_connection_failure_has_a_request_event_and_no_response_event(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    mock.get(TOP_TRACKS, body=requests.ConnectionError("connection reset"))
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    make_client(event_hooks=recorder.hooks()).get_top_tracks()
    assert recorder.kinds() == [
        ("request", 1),
        ("retry APIConnectionError", 1),
        ("request", 2),
        ("response 200", 2),
    ]


def test_a_call_that_fails_for_good_ends_with_its_last_response(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    mock.get(TOP_TRACKS, status=500, json=error_body(500))
    with pytest.raises(InternalServerError):
        make_client(event_hooks=recorder.hooks(), max_retries=1).get_top_tracks()
    assert recorder.kinds() == [
        ("request", 1),
        ("response 500", 1),
        ("retry 500", 1),
        ("request", 2),
        ("response 500", 2),
    ]


def test_the_resend_with_a_fresh_token_is_an_attempt_of_its_own(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    tokens = iter(["Atza|old-token-1111", "Atza|new-token-2222"])
    current = next(tokens)

    class Source:
        def __call__(self) -> str:
            return current

        def invalidate(self, token: str) -> None:
            nonlocal current
            current = next(tokens)

    mock.get(
        TOP_TRACKS,
        status=401,
        json={"error": {"status": "401", "code": "INVALID_ACCESS_TOKEN", "message": "expired"}},
    )
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    BrowseClient(API_KEY, Source(), event_hooks=recorder.hooks()).get_top_tracks()
    assert recorder.kinds() == [
        ("request", 1),
        ("response 401", 1),
        ("request", 2),
        ("response 200", 2),
    ]


def test_a_window_that_refuses_to_send_has_no_request_event(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    mock.get(TOP_TRACKS, status=429, json=error_body(429), headers={"Retry-After": "3600"})
    client = make_client(event_hooks=recorder.hooks())
    with pytest.raises(RateLimitError):
        client.get_top_tracks()
    with pytest.raises(RateLimitError, match="no request was sent"):
        client.get_top_tracks()
    assert recorder.kinds() == [("request", 1), ("response 429", 1)]


def test_hooks_run_in_order_and_with_options_copies_keep_them(
    mock: responses.RequestsMock,
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    seen: list[str] = []
    client = make_client(
        event_hooks={"request": [lambda e: seen.append("first"), lambda e: seen.append("second")]}
    )
    client.with_options(timeout=5, max_retries=0).get_top_tracks()
    assert seen == ["first", "second"]
    assert len(client.with_options(timeout=5).event_hooks["request"]) == 2


def test_event_hooks_are_shown_as_a_copy() -> None:
    def hook(event: Any) -> None: ...

    client = make_client(event_hooks={"retry": [hook]})
    hooks = client.event_hooks
    assert hooks == {"request": [], "response": [], "retry": [hook]}
    hooks["retry"].append(hook)
    assert client.event_hooks["retry"] == [hook]


def test_a_prefetched_page_fires_its_hooks_on_the_prefetch_thread(
    mock: responses.RequestsMock, recorder: Recorder
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1", token="p2"))
    mock.get(TOP_TRACKS, json=tracks_page("t2"))
    client = make_client(event_hooks={"request": [recorder]})
    items = list(client.paginate(client.get_top_tracks, prefetch=True))
    assert [item.id for item in items] == ["t1", "t2"]
    assert recorder.threads == [threading.current_thread().name, "amazon-music-prefetch"]


# -- a hook that raises ---------------------------------------------------------------------


def test_a_request_hooks_exception_propagates_and_nothing_is_sent(
    mock: responses.RequestsMock,
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1"))

    def refuse(event: RequestEvent) -> None:
        raise RuntimeError("budget exhausted")

    with pytest.raises(RuntimeError, match="budget exhausted"):
        make_client(event_hooks={"request": [refuse]}).get_top_tracks()
    assert len(mock.calls) == 0


def test_a_hook_raising_a_retryable_error_is_not_retried(mock: responses.RequestsMock) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1"))

    def trip(event: ResponseEvent) -> None:
        raise APIConnectionError("circuit open")

    with pytest.raises(APIConnectionError, match=r"^circuit open$"):
        make_client(event_hooks={"response": [trip]}).get_top_tracks()
    assert len(mock.calls) == 1


def test_a_retry_hooks_exception_stops_the_retry(
    mock: responses.RequestsMock, sleeps: list[float]
) -> None:
    mock.get(TOP_TRACKS, status=503, json=error_body(503))

    def give_up(event: RetryEvent) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_client(event_hooks={"retry": [give_up]}).get_top_tracks()
    assert len(mock.calls) == 1
    assert sleeps == []


# -- checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_hooks", "message"),
    [
        ({"requests": []}, r"no event 'requests'.*'request', 'response', 'retry'"),
        ({"token": []}, r"no event 'token'.*'request', 'response', 'retry'"),
        ({"request": print}, r"event_hooks\['request'\] must be a list of callables"),
        ({"retry": [print, "not callable"]}, r"a list holding a str"),
        ([print], r"must be a dict of lists of callables"),
    ],
)
def test_bad_event_hooks_are_a_configuration_error(event_hooks: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_client(event_hooks=event_hooks)


def test_login_with_amazon_takes_only_token_hooks() -> None:
    with pytest.raises(ConfigurationError, match=r"no event 'request'.*'token'"):
        LoginWithAmazon("client", "secret-secret", "refresh-token", event_hooks={"request": []})


# -- token events -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_events_say_why_each_token_was_asked_for(
    mock: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(_auth, "_monotonic", clock)
    for token in ("Atza|token-one-1111", "Atza|token-two-2222", "Atza|token-three-3333"):
        mock.post(TOKEN_URL, json={"access_token": token, "expires_in": 3600})
    events: list[TokenEvent] = []
    lwa = LoginWithAmazon(
        "client-id",
        "client-secret-0000",
        "Atzr|refresh-0000",
        event_hooks={"token": [events.append]},
    )
    assert lwa() == "Atza|token-one-1111"
    assert lwa() == "Atza|token-one-1111"  # cached: no event
    lwa.invalidate("Atza|token-one-1111")
    assert lwa() == "Atza|token-two-2222"
    clock.now += 3600
    assert lwa() == "Atza|token-three-3333"
    assert [event.reason for event in events] == ["initial", "refused", "expiring"]
    assert all(isinstance(event.elapsed, float) and event.elapsed >= 0 for event in events)
    assert "Atz" not in repr(events)


def test_a_token_hooks_exception_propagates_and_the_token_is_kept(
    mock: responses.RequestsMock,
) -> None:
    mock.post(TOKEN_URL, json={"access_token": "Atza|token-one-1111", "expires_in": 3600})

    def fail(event: TokenEvent) -> None:
        raise AuthenticationError("not now", status_code=401)

    lwa = LoginWithAmazon(
        "client-id", "client-secret-0000", "Atzr|refresh-0000", event_hooks={"token": [fail]}
    )
    with pytest.raises(AuthenticationError, match="not now"):
        lwa()
    assert lwa() == "Atza|token-one-1111"
    assert len(mock.calls) == 1


def test_empty_hook_lists_are_accepted() -> None:
    client = make_client(event_hooks={"request": [], "retry": ()})
    assert client.event_hooks == {"request": [], "response": [], "retry": []}
