"""OpenTelemetry spans for a client: ``instrument(client)``. Needs the ``[otel]`` extra.

```python
from amazon_music_browse import BrowseClient
from amazon_music_browse.otel import instrument

client = instrument(BrowseClient())  # spans go to the global tracer provider
```

Each call of the client is one span of kind CLIENT, named by the method and the path
template (``GET /v1/browse/categories/{category_id}/tracks``, so names stay few), with:

- ``http.request.method``, ``url.template``, ``server.address``, ``server.port``;
- ``http.response.status_code`` and ``amazon_music.request_id`` of the last response;
- ``amazon_music.retries``, the number of retries, and one span event ``retry`` per
  retry (``amazon_music.attempt``, ``amazon_music.retry.reason``,
  ``amazon_music.retry.wait``);
- on failure, ``error.type`` (the exception's class name) and an error status.

A span never holds a credential, a header, a cursor, a query string or a full URL, nor an
exception's message (the service's words could echo any of them). The span is the current
one while the call runs, and a prefetched page's span is a child of the span that was
current where the paginator was iterated. Importing this module needs nothing; calling
`instrument` without ``opentelemetry-api`` raises ``ImportError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from ._cancel import Cancelled
from ._version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from ._base_client import BaseClient
    from ._events import ResponseEvent, RetryEvent

__all__ = ["instrument"]

ClientT = TypeVar("ClientT", bound="BaseClient")

INSTALL_HINT = 'pip install "amazon-music-browse[otel]"'
"""How to install what `instrument` needs."""

_SCOPE = "amazon_music_browse"


class _CallSpan:
    """The span of the call in progress, and the retries counted so far."""

    __slots__ = ("retries", "span")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.retries = 0


# The call in progress in this context: its hooks run in the same thread and context.
_current: ContextVar[_CallSpan | None] = ContextVar("amazon_music_browse_otel", default=None)


class _Instrumentation:
    """A client's spans: the tracer around each call, the hooks filling in each span."""

    def __init__(self, tracer: Tracer, base_url: str) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._tracer = tracer
        self._kind = SpanKind.CLIENT
        self._error = StatusCode.ERROR
        self._status = Status
        parts = urlsplit(base_url)
        self._server: dict[str, str | int] = {"server.address": parts.hostname or ""}
        self._server["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)

    @contextmanager
    def span(self, method: str, path_template: str) -> Iterator[None]:
        """The span of one call, current while its attempts run and its response is parsed."""
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "url.template": path_template,
            **self._server,
        }
        with self._tracer.start_as_current_span(
            f"{method} {path_template}",
            kind=self._kind,
            attributes=attributes,
            record_exception=False,  # its message and traceback could quote the service
            set_status_on_exception=False,
        ) as span:
            call = _CallSpan(span)
            token = _current.set(call)
            try:
                yield
            except Cancelled:  # an abandoned prefetch: no failure, nobody waits for it
                raise
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(self._status(self._error, type(exc).__name__))
                raise
            finally:
                _current.reset(token)
                span.set_attribute("amazon_music.retries", call.retries)

    def on_response(self, event: ResponseEvent) -> None:
        """The response hook: the last response's status and request id."""
        call = _current.get()
        if call is None:
            return
        call.span.set_attribute("http.response.status_code", event.status_code)
        if event.request_id is not None:
            call.span.set_attribute("amazon_music.request_id", event.request_id)

    def on_retry(self, event: RetryEvent) -> None:
        """The retry hook: one span event per retry, and the count."""
        call = _current.get()
        if call is None:
            return
        call.retries += 1
        call.span.add_event(
            "retry",
            {
                "amazon_music.attempt": event.attempt,
                "amazon_music.retry.reason": event.reason,
                "amazon_music.retry.wait": event.wait,
            },
        )


def instrument(client: ClientT, tracer_provider: TracerProvider | None = None) -> ClientT:
    """Trace every call of ``client`` with OpenTelemetry: one span per call.

    Changes the client in place and returns it; ``with_options`` copies made afterwards
    are traced too. Instrumenting it again replaces the earlier instrumentation. The
    spans are built on the client's event hooks (``response`` and ``retry``), which
    run beside any hooks of the application's own.

    Args:
        client: a `BrowseClient` (or any client built on its pipeline).
        tracer_provider: where the spans go; default: the global tracer provider
            (``opentelemetry.trace.set_tracer_provider``), looked up when a span starts.

    Raises:
        ImportError: ``opentelemetry-api`` is not installed
            (``pip install "amazon-music-browse[otel]"``).
    """
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ImportError(
            f"amazon_music_browse.otel needs opentelemetry-api, which is not installed: "
            f"{INSTALL_HINT}",
            name="opentelemetry",
        ) from exc
    tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider)
    instrumentation = _Instrumentation(tracer, client.base_url)
    client._instrument(
        instrumentation.span,
        {"response": (instrumentation.on_response,), "retry": (instrumentation.on_retry,)},
    )
    return client
