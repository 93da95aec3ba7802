"""What a client tells its event hooks: one frozen dataclass per event, and the hook checks.

``BrowseClient(event_hooks={"request": [...], "response": [...], "retry": [...]})`` calls
each hook with a `RequestEvent` before every attempt is sent, a `ResponseEvent` for every
attempt that received a response (whatever its status), and a `RetryEvent` before every
retry wait; ``LoginWithAmazon(event_hooks={"token": [...]})`` calls its hooks with a
`TokenEvent` after every token it obtained. No event holds a credential, a header or a
URL. A hook runs in the thread that makes the call (a prefetch thread for a prefetched
page), and its exception propagates to the caller: a call whose hook raised is not retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import AmazonMusicError, ConfigurationError, mark_final

__all__ = [
    "CLIENT_EVENTS",
    "TOKEN_EVENTS",
    "Hooks",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "TokenEvent",
    "check_event_hooks",
    "emit",
]

Hooks = tuple[Callable[[Any], object], ...]
"""The hooks of one event, in the order they were given."""

CLIENT_EVENTS = ("request", "response", "retry")
"""The events a client's ``event_hooks`` may name."""

TOKEN_EVENTS = ("token",)
"""The events a ``LoginWithAmazon``'s ``event_hooks`` may name."""


@dataclass(frozen=True)
class _AttemptEvent:
    """The fields every event about one attempt of a call carries."""

    method: str
    """The HTTP method, e.g. ``"GET"``."""
    path_template: str
    """The endpoint's path template, e.g. ``"/v1/browse/categories/{category_id}/tracks"``;
    for `BrowseClient.request`, the path it was given."""
    path: str
    """The path sent, below ``base_url``, with every parameter filled in and encoded."""
    params: Mapping[str, Any]
    """The query parameters (``limit``, ``cursor``), never a URL; a copy: changing it
    changes nothing sent."""
    attempt: int
    """Which attempt of the call, from 1; the re-send after a refreshed token counts too."""


@dataclass(frozen=True)
class RequestEvent(_AttemptEvent):
    """An attempt is about to be sent (after the rate-limit window and cancellation checks)."""


@dataclass(frozen=True)
class ResponseEvent(_AttemptEvent):
    """An attempt received a response, whatever its status (a 503 or a 200 alike)."""

    status_code: int
    """The HTTP status."""
    elapsed: float
    """Seconds from sending the request to the end of reading the body."""
    request_id: str | None
    """The service's ``x-amzn-RequestId`` header (credentials redacted), if sent."""
    from_cache: bool = False
    """Whether a response cache answered (always ``False``: the client has no cache yet)."""


@dataclass(frozen=True)
class RetryEvent(_AttemptEvent):
    """An attempt failed and will be retried after ``wait`` seconds.

    ``attempt`` is the attempt that failed; the next one is ``attempt + 1``.
    """

    reason: str
    """The status that failed (``"429"``, ``"503"``) or the exception's class name
    (``"APIConnectionError"``, ``"APITimeoutError"``)."""
    wait: float
    """Seconds the client waits before the retry (``Retry-After`` or the backoff)."""


@dataclass(frozen=True)
class TokenEvent:
    """``LoginWithAmazon`` obtained a new access token."""

    reason: str
    """Why it asked: ``"initial"`` (no token yet), ``"expiring"`` (too little time left)
    or ``"refused"`` (the API refused the cached token with a 401)."""
    elapsed: float
    """Seconds the token request took."""


def check_event_hooks(event_hooks: Any, allowed: tuple[str, ...], owner: str) -> dict[str, Hooks]:
    """The hooks by event name, checked: known names, lists of callables.

    Raises:
        ConfigurationError: ``event_hooks`` is not a mapping, names an event ``owner`` does
            not have, or holds something that is not a list of callables.
    """
    expected = ", ".join(repr(name) for name in allowed)
    if event_hooks is None:
        return {}
    if not isinstance(event_hooks, Mapping):
        raise ConfigurationError(
            f"{owner}'s event_hooks must be a dict of lists of callables by event "
            f"({expected}), not {type(event_hooks).__name__}"
        )
    checked: dict[str, Hooks] = {}
    for name, hooks in event_hooks.items():
        if name not in allowed:
            raise ConfigurationError(
                f"{owner} has no event {name!r} for event_hooks; its events are: {expected}"
            )
        if not isinstance(hooks, (list, tuple)) or not all(callable(hook) for hook in hooks):
            raise ConfigurationError(
                f"event_hooks[{name!r}] must be a list of callables, got {_describe(hooks)}"
            )
        if hooks:
            checked[name] = tuple(hooks)
    return checked


def _describe(hooks: object) -> str:
    if isinstance(hooks, (list, tuple)):
        wrong = next(hook for hook in hooks if not callable(hook))
        return f"a {type(hooks).__name__} holding a {type(wrong).__name__}"
    return f"a {type(hooks).__name__}"


def emit(hooks: Hooks, event: object) -> None:
    """Call every hook with ``event``; a hook's exception propagates, marked as final.

    Final: the retry policy never retries a call because its hook raised.
    """
    try:
        for hook in hooks:
            hook(event)
    except AmazonMusicError as exc:  # any other exception is never retried anyway
        mark_final(exc)
        raise
