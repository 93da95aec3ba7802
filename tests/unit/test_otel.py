"""``amazon_music_browse.otel.instrument``: one span per call, its attributes and events."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests
import responses
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from amazon_music_browse import (
    APIConnectionError,
    BrowseClient,
    NotFoundError,
    ResponseValidationError,
)
from amazon_music_browse.otel import instrument
from tests._support import (
    ACCESS_TOKEN,
    API_KEY,
    BASE_URL,
    CATEGORY,
    TOP_TRACKS,
    error_body,
    make_client,
    tracks_page,
)

CATEGORY_TRACKS_URL = BASE_URL + "/v1/browse/categories/2iB4IU25/tracks"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def client(provider: TracerProvider) -> BrowseClient:
    return instrument(make_client(), provider)


def spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return list(exporter.get_finished_spans())


def test_a_call_is_one_client_span_named_by_its_template(
    mock: responses.RequestsMock, client: BrowseClient, exporter: InMemorySpanExporter
) -> None:
    mock.get(
        CATEGORY_TRACKS_URL,
        json={"data": {"category": {"tracks": {"edges": [{"node": {"id": "t1"}}]}}}},
        headers={"x-amzn-RequestId": "rid-1"},
    )
    client.get_category_tracks("2iB4IU25", limit=10, cursor="secret-ish-cursor")
    (span,) = spans(exporter)
    assert span.name == "GET /v1/browse/categories/{category_id}/tracks"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.template": "/v1/browse/categories/{category_id}/tracks",
        "server.address": "api.music.amazon.dev",
        "server.port": 443,
        "http.response.status_code": 200,
        "amazon_music.request_id": "rid-1",
        "amazon_music.retries": 0,
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "amazon_music_browse"


def test_each_retry_is_a_span_event(
    mock: responses.RequestsMock,
    client: BrowseClient,
    exporter: InMemorySpanExporter,
    sleeps: list[float],
) -> None:
    mock.get(TOP_TRACKS, status=429, json=error_body(429), headers={"Retry-After": "1.5"})
    mock.get(TOP_TRACKS, body=requests.ConnectionError("reset"))
    mock.get(TOP_TRACKS, json=tracks_page("t1"), headers={"x-amzn-RequestId": "ok"})
    client.get_top_tracks()
    (span,) = spans(exporter)
    assert span.attributes is not None
    assert span.attributes["amazon_music.retries"] == 2
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["amazon_music.request_id"] == "ok"
    assert [(event.name, dict(event.attributes or {})) for event in span.events] == [
        (
            "retry",
            {
                "amazon_music.attempt": 1,
                "amazon_music.retry.reason": "429",
                "amazon_music.retry.wait": 1.5,
            },
        ),
        (
            "retry",
            {
                "amazon_music.attempt": 2,
                "amazon_music.retry.reason": "APIConnectionError",
                "amazon_music.retry.wait": sleeps[1],
            },
        ),
    ]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 404, "json": error_body(404, "RESOURCE_NOT_FOUND")}, NotFoundError),
        ({"body": requests.ConnectionError("refused")}, APIConnectionError),
        ({"body": "<html>not json</html>"}, ResponseValidationError),
    ],
)
def test_a_failed_call_has_its_error_type_and_an_error_status(
    mock: responses.RequestsMock,
    client: BrowseClient,
    exporter: InMemorySpanExporter,
    answer: dict[str, object],
    error: type[Exception],
) -> None:
    mock.get(CATEGORY, **answer)  # type: ignore[arg-type]
    with pytest.raises(error):
        client.with_options(max_retries=0).get_category("2iB4IU25")
    (span,) = spans(exporter)
    assert span.name == "GET /v1/browse/categories/{category_id}"
    assert span.attributes is not None
    assert span.attributes["error.type"] == error.__name__
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == error.__name__
    assert span.events == ()  # no exception event: its message could quote the service


def test_request_spans_are_named_by_their_path(
    mock: responses.RequestsMock, client: BrowseClient, exporter: InMemorySpanExporter
) -> None:
    mock.post(BASE_URL + "/v1/search/tracks", json={"found": 0})
    client.request("POST", "/v1/search/tracks", params={"q": "jazz"}, json={"q": "jazz"})
    (span,) = spans(exporter)
    assert span.name == "POST /v1/search/tracks"
    assert "jazz" not in repr(span.to_json())


def test_spans_are_children_of_the_current_span_prefetch_included(
    mock: responses.RequestsMock,
    client: BrowseClient,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1", token="p2"))
    mock.get(TOP_TRACKS, json=tracks_page("t2", token="p3"))
    mock.get(TOP_TRACKS, json=tracks_page("t3"))
    with provider.get_tracer("app").start_as_current_span("export") as parent:
        items = list(client.paginate(client.get_top_tracks, prefetch=True))
    assert len(items) == 3
    sdk_spans = [span for span in spans(exporter) if span.name != "export"]
    assert len(sdk_spans) == 3
    parent_id = parent.get_span_context().span_id
    assert [span.parent.span_id if span.parent else None for span in sdk_spans] == [parent_id] * 3


def test_no_span_holds_a_credential_a_cursor_or_a_url(
    mock: responses.RequestsMock,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    sleeps: list[float],
) -> None:
    mock.get(TOP_TRACKS, status=503, json=error_body(503), headers={"x-amzn-RequestId": API_KEY})
    mock.get(TOP_TRACKS, json=tracks_page("t1"), headers={"x-amzn-RequestId": f"a {ACCESS_TOKEN}"})
    client = instrument(BrowseClient(API_KEY, ACCESS_TOKEN), provider)
    client.get_top_tracks(cursor="CURSOR-VALUE-123", limit=7)
    (span,) = spans(exporter)
    text = span.to_json()
    for secret in (API_KEY, ACCESS_TOKEN, "CURSOR-VALUE-123", "?", "limit", "https://"):
        assert secret not in text
    assert span.attributes is not None
    assert span.attributes["amazon_music.request_id"] == "a [REDACTED]"


def test_copies_made_afterwards_are_traced_and_instrumenting_twice_replaces(
    mock: responses.RequestsMock, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    hook_calls: list[int] = []
    client = make_client(event_hooks={"response": [lambda event: hook_calls.append(1)]})
    before = client.with_options(timeout=5)
    assert instrument(client, provider) is client
    instrument(client, provider)
    client.with_options(timeout=5).get_top_tracks()
    before.get_top_tracks()
    (span,) = spans(exporter)
    assert span.attributes is not None
    assert span.attributes["amazon_music.retries"] == 0
    assert len(client.event_hooks["response"]) == 2  # the application's and the tracer's
    assert len(client.event_hooks["retry"]) == 1
    assert hook_calls == [1, 1]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_importing_the_module_loads_no_opentelemetry() -> None:
    result = run_python(
        "import sys, amazon_music_browse.otel, amazon_music_browse; "
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_instrument_without_opentelemetry_names_the_extra() -> None:
    result = run_python(
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from amazon_music_browse import BrowseClient\n"
        "from amazon_music_browse.otel import instrument\n"
        "try:\n"
        "    instrument(BrowseClient('key-key-key', 'token-token'))\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "amazon_music_browse.otel needs opentelemetry-api, which is not installed: "
        'pip install "amazon-music-browse[otel]"'
    )


def test_without_a_provider_the_global_one_is_used() -> None:
    result = run_python(
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import "
        "InMemorySpanExporter\n"
        "from amazon_music_browse.otel import instrument\n"
        "from amazon_music_browse.sandbox import SandboxServer\n"
        "with SandboxServer() as sandbox:\n"
        "    client = instrument(sandbox.client())\n"
        "    exporter = InMemorySpanExporter()\n"
        "    provider = TracerProvider()\n"
        "    provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        "    trace.set_tracer_provider(provider)  # after instrument: looked up per span\n"
        "    client.get_top_tracks(limit=1)\n"
        "    print([span.name for span in exporter.get_finished_spans()])\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['GET /v1/browse/tracks/top']"


def test_a_client_without_instrumentation_makes_no_span(
    mock: responses.RequestsMock, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    with trace.use_span(provider.get_tracer("app").start_span("outer"), end_on_exit=True):
        make_client().get_top_tracks()
    assert [span.name for span in spans(exporter)] == ["outer"]


def test_an_abandoned_prefetch_ends_its_span_without_an_error(
    mock: responses.RequestsMock, client: BrowseClient, exporter: InMemorySpanExporter
) -> None:
    mock.get(TOP_TRACKS, json=tracks_page("t1", token="p2"))
    mock.get(TOP_TRACKS, status=503, json=error_body(503), headers={"Retry-After": "30"})
    pages = client.paginate(client.get_top_tracks, prefetch=True).pages()
    next(pages)
    pages.close()  # the prefetch of page 2 is cancelled, in its retry wait or before
    for thread in threading.enumerate():
        if thread.name == "amazon-music-prefetch":
            thread.join(timeout=10)
    first, abandoned = spans(exporter)
    assert abandoned.name == first.name == "GET /v1/browse/tracks/top"
    assert abandoned.status.status_code is StatusCode.UNSET
    assert "error.type" not in (abandoned.attributes or {})


def test_the_tracers_hooks_on_a_client_without_its_tracer_do_nothing(
    mock: responses.RequestsMock, client: BrowseClient, exporter: InMemorySpanExporter
) -> None:
    mock.get(TOP_TRACKS, status=503, json=error_body(503))
    mock.get(TOP_TRACKS, json=tracks_page("t1"))
    other = make_client(event_hooks=client.event_hooks)  # the hooks, but no span around calls
    other.get_top_tracks()
    assert spans(exporter) == []
