"""``client.with_raw_response``: a method's result together with the HTTP response it came in.

The wrapped method runs exactly as it would (checks, retries, parsing); meanwhile the
client records the last successful response of the calls it makes, and the wrapper hands
both over as a `RawResponse`. So it works for every method that sends a request through
the client: the Browse methods, ``get_page``, ``get_object``, ``request`` and a
subclass's own methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from requests.structures import CaseInsensitiveDict

if TYPE_CHECKING:
    import requests
    from pydantic import BaseModel

    from ._base_client import BaseClient
    from ._endpoint import Endpoint
    from ._models import ResponseCollection
    from ._redact import Redactor

    ModelT = TypeVar("ModelT", bound=BaseModel)
    ItemT = TypeVar("ItemT", bound=BaseModel)

__all__ = [
    "BaseClientWithRawResponse",
    "RawResponse",
    "call_with_raw_response",
    "current_recording",
    "raw_method",
    "record_response",
]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")
CastT = TypeVar("CastT")

_CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})

# The responses recorded for the innermost `with_raw_response` call of this context.
_recording: ContextVar[list[_Recorded] | None] = ContextVar(
    "amazon_music_browse_raw_response", default=None
)


@dataclass(frozen=True)
class _Recorded:
    status_code: int
    headers: Mapping[str, str]
    request_id: str | None
    elapsed: float


class RawResponse(Generic[T]):
    """A method's result, with the HTTP response that carried it.

    Example:
        >>> raw = client.with_raw_response.get_top_tracks(limit=5)
        >>> raw.status_code, raw.request_id
        >>> page = raw.parse()  # the ResponseCollection[Track] the method returned

    When the method sent several requests, it describes the last successful one.
    """

    __slots__ = ("_value", "elapsed", "headers", "request_id", "status_code")

    status_code: int
    """The HTTP status."""
    headers: Mapping[str, str]
    """The response headers (case-insensitive), without ``x-api-key`` or ``Authorization``
    and with every credential the service echoed redacted."""
    request_id: str | None
    """The service's ``x-amzn-RequestId``, if sent: quote it to Amazon's support."""
    elapsed: float
    """Seconds from sending the request to the end of reading the body."""

    def __init__(self, recorded: _Recorded, value: T) -> None:
        self.status_code = recorded.status_code
        self.headers = recorded.headers
        self.request_id = recorded.request_id
        self.elapsed = recorded.elapsed
        self._value = value

    def parse(self) -> T:
        """What the method returned: a page, an object, or the decoded JSON."""
        return self._value

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, "
            f"request_id={self.request_id!r}, elapsed={self.elapsed:.3f})"
        )


def current_recording() -> list[_Recorded] | None:
    """Where the `with_raw_response` call in progress in this context records, if any."""
    return _recording.get()


def record_response(
    recording: list[_Recorded], response: requests.Response, redact: Redactor
) -> None:
    """Record ``response`` (its headers without credentials) in ``recording``."""
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(
        {
            name: redact(value)
            for name, value in response.headers.items()
            if name.lower() not in _CREDENTIAL_HEADERS
        }
    )
    recording.append(
        _Recorded(
            response.status_code,
            headers,
            headers.get("x-amzn-RequestId"),
            response.elapsed.total_seconds(),
        )
    )


def call_with_raw_response(method: Callable[..., R], *args: Any, **kwargs: Any) -> RawResponse[R]:
    """Call ``method``, recording the responses of the client's calls it makes."""
    recording: list[_Recorded] = []
    token = _recording.set(recording)
    try:
        value = method(*args, **kwargs)
    finally:
        _recording.reset(token)
    if not recording:
        name = getattr(method, "__name__", repr(method))
        raise TypeError(
            f"with_raw_response: {name}() returned without receiving a response from the "
            "service, so there is no raw response to give (is it a method that sends a request?)"
        )
    return RawResponse(recording[-1], value)


class raw_method(Generic[P, R]):  # lower case: it reads like a decorator
    """Declares a client method on a `BaseClientWithRawResponse` subclass, typed.

    ``get_top_tracks = raw_method(BrowseClient.get_top_tracks)`` makes
    ``client.with_raw_response.get_top_tracks(...)`` take the method's arguments and
    return ``RawResponse`` of its result. The client's own (possibly overridden) method of
    that name is the one called.
    """

    def __init__(self, method: Callable[Concatenate[Any, P], R]) -> None:
        self._name = method.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> raw_method[P, R]: ...
    @overload
    def __get__(
        self, instance: BaseClientWithRawResponse, owner: type
    ) -> Callable[P, RawResponse[R]]: ...
    def __get__(self, instance: BaseClientWithRawResponse | None, owner: type) -> Any:
        if instance is None:
            return self
        return instance(getattr(instance._client, self._name))


class BaseClientWithRawResponse:
    """``client.with_raw_response``: every method of the client, returning a `RawResponse`.

    ``client.with_raw_response.get_page(...)`` and the client's other methods are typed
    like the methods themselves; a subclass's own methods work by name too (typed loosely),
    or precisely through a call: ``client.with_raw_response(client.get_my_playlists)(...)``.
    """

    __slots__ = ("_client",)

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def __call__(self, method: Callable[P, R]) -> Callable[P, RawResponse[R]]:
        """``method`` (a method of this client), returning a `RawResponse` of its result."""

        def with_raw_response(*args: P.args, **kwargs: P.kwargs) -> RawResponse[R]:
            return call_with_raw_response(method, *args, **kwargs)

        return with_raw_response

    def __getattr__(self, name: str) -> Callable[..., RawResponse[Any]]:
        """A subclass's own method by name (the base client's others send no request)."""
        from ._base_client import BaseClient  # imported by now: it imports this module

        if not name.startswith("_") and not hasattr(BaseClient, name):
            method = getattr(self._client, name, None)
            if callable(method):
                return self(method)
        raise AttributeError(f"with_raw_response has no method {name!r}")

    def __repr__(self) -> str:
        return f"<with_raw_response of {self._client!r}>"

    def get_page(
        self,
        endpoint: Endpoint[ItemT],
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **path_params: str,
    ) -> RawResponse[ResponseCollection[ItemT]]:
        """`BaseClient.get_page`, with its response."""
        return call_with_raw_response(
            self._client.get_page, endpoint, limit=limit, cursor=cursor, **path_params
        )

    def get_object(self, endpoint: Endpoint[ModelT], **path_params: str) -> RawResponse[ModelT]:
        """`BaseClient.get_object`, with its response."""
        return call_with_raw_response(self._client.get_object, endpoint, **path_params)

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cast_to: type[CastT],
    ) -> RawResponse[CastT]: ...
    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cast_to: None = None,
    ) -> RawResponse[Any]: ...
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cast_to: Any = None,
    ) -> RawResponse[Any]:
        """`BaseClient.request`, with its response."""
        return call_with_raw_response(
            self._client.request, method, path, params=params, json=json, cast_to=cast_to
        )
