"""Hooks and spans against the sandbox's injected faults, counted against its own counters."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from amazon_music_browse import (
    BrowseClient,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    TokenEvent,
)
from amazon_music_browse.otel import instrument
from amazon_music_browse.sandbox import SandboxServer

CATEGORY = "2iB4IU25"
TEMPLATE = "/v1/browse/categories/{category_id}/tracks"


def credentials_of(sandbox: SandboxServer, *more: str) -> list[str]:
    return [
        sandbox.api_key,
        sandbox.access_token,
        sandbox.client_secret,
        sandbox.refresh_token,
        *more,
    ]


def hits(text: str, secrets: list[str]) -> list[str]:
    return [secret for secret in secrets if secret in text]


def response_ids(client: BrowseClient) -> list[tuple[int, str]]:
    """Every ``(status, x-amzn-RequestId)`` the session receives, as the service sent them."""
    seen: list[tuple[int, str]] = []

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        seen.append((response.status_code, response.headers.get("x-amzn-RequestId", "")))

    client.session.hooks["response"].append(hook)
    return seen


@pytest.fixture(scope="module")
def faulty_sandbox() -> Iterator[SandboxServer]:
    """10,000 tracks in one category, with 429s, 5xxs and dropped connections."""
    with SandboxServer(
        catalog_sizes={"tracks": 10_000},
        rate_limit_rate=0.1,
        server_error_rate=0.15,
        drop_rate=0.05,
        retry_after=0,
        seed=13,
    ) as sandbox:
        yield sandbox


def test_hooks_count_every_attempt_under_faults_over_10000_items(
    faulty_sandbox: SandboxServer, sleeps: list[float]
) -> None:
    sandbox = faulty_sandbox
    events: list[Any] = []
    hooks = {"request": [events.append], "response": [events.append], "retry": [events.append]}
    before_requests, before_faults = sandbox.request_count, sandbox.faults
    with sandbox.client(max_retries=10, event_hooks=hooks) as client:
        items = client.paginate(client.get_category_tracks, CATEGORY).to_list()
    assert len(items) == 10_000
    assert len({item.id for item in items}) == 10_000
    sent = sandbox.request_count - before_requests
    faults = {kind: n - before_faults[kind] for kind, n in sandbox.faults.items()}
    requests_ = [e for e in events if isinstance(e, RequestEvent)]
    responses_ = [e for e in events if isinstance(e, ResponseEvent)]
    retries = [e for e in events if isinstance(e, RetryEvent)]
    connection_failures = faults["drop"]
    assert faults["429"] > 0
    assert faults["500"] + faults["503"] > 0
    assert connection_failures > 0
    assert len(requests_) == sent == len(responses_) + connection_failures
    assert len(retries) == sum(faults.values())  # every fault was survived by one retry
    assert sorted(e.reason for e in retries if e.reason.isdigit()) == sorted(
        ["429"] * faults["429"] + ["500"] * faults["500"] + ["503"] * faults["503"]
    )
    assert sum(e.reason == "APIConnectionError" for e in retries) == connection_failures
    assert len(sleeps) == len(retries)
    assert {e.path_template for e in events} == {TEMPLATE}
    assert all(e.attempt >= 1 for e in events)
    text = json.dumps([dataclasses.asdict(e) for e in events])
    assert hits(text, credentials_of(sandbox)) == []


def test_spans_under_faults_match_the_sandbox(
    faulty_sandbox: SandboxServer, sleeps: list[float]
) -> None:
    sandbox = faulty_sandbox
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    cursors: list[str] = []
    hooks = {"request": [lambda event: cursors.append(event.params.get("cursor", ""))]}
    before_faults = sandbox.faults
    with sandbox.client(max_retries=10, event_hooks=hooks) as client:
        received = response_ids(client)
        instrument(client, provider)
        pages = list(client.paginate(client.get_category_tracks, CATEGORY, max_pages=30).pages())
        provider.shutdown()
    spans = exporter.get_finished_spans()
    faults = {kind: n - before_faults[kind] for kind, n in sandbox.faults.items()}
    assert len(spans) == len(pages) == 30
    assert {span.name for span in spans} == {f"GET {TEMPLATE}"}
    attributes = [dict(span.attributes or {}) for span in spans]
    assert {a["url.template"] for a in attributes} == {TEMPLATE}
    assert {a["http.request.method"] for a in attributes} == {"GET"}
    assert {a["http.response.status_code"] for a in attributes} == {200}
    # Retries: the attribute and the span events both count exactly the faults injected.
    assert sum(a["amazon_music.retries"] for a in attributes) == sum(faults.values()) > 0
    retry_events = [event for span in spans for event in span.events]
    assert len(retry_events) == sum(faults.values())
    assert {event.name for event in retry_events} == {"retry"}
    # Request ids: each span's is the one the service sent with its page.
    # (A connection dropped mid-headers shows as a 200 without a request id: not a success.)
    successes = [request_id for status, request_id in received if status == 200 and request_id]
    assert [a["amazon_music.request_id"] for a in attributes] == successes
    assert [page.request_id for page in pages] == successes
    # Never a credential, a cursor or a query string, in any attribute or event.
    text = "".join(span.to_json() for span in spans)
    secrets = credentials_of(sandbox, *[cursor for cursor in cursors if cursor])
    assert len(secrets) > 30
    assert hits(text, secrets) == []
    assert "?" not in text
    assert "cursor" not in text


def test_token_events_against_the_sandbox_token_endpoint(sleeps: list[float]) -> None:
    events: list[TokenEvent] = []
    with SandboxServer(token_lifetime=3600) as sandbox:
        lwa = sandbox.login_with_amazon(event_hooks={"token": [events.append]})
        with sandbox.client(access_token=lwa) as client:
            client.get_top_tracks(limit=1)
            client.get_top_tracks(limit=1)
        assert sandbox.token_requests == 1
    assert [event.reason for event in events] == ["initial"]
    assert hits(repr(events), credentials_of(sandbox)) == []
