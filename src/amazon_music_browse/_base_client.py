"""`BaseClient`: the client's configuration and lifecycle, and what it offers a wrapper.

Settings and their checks, closing and copies, then every way to call the API:
`get_page`, `get_object` and `request` for any endpoint, `paginate` for a collection and
`map` for many calls at once. Each call goes through the request pipeline of
`RequestPipeline` (`_pipeline.py`). `BrowseClient` adds one method per Browse endpoint.
"""

from __future__ import annotations

import inspect
import json as jsonlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import requests
from pydantic import BaseModel, TypeAdapter, ValidationError

from ._arguments import check_cursor, check_limit, check_method, check_request_path
from ._config import (
    Timeout,
    check_base_url,
    check_max_retries,
    check_max_retry_wait,
    check_positive_int,
    check_timeout,
)
from ._constants import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
)
from ._credentials import (
    AccessToken,
    resolve_access_token,
    resolve_api_key,
)
from ._endpoint import Endpoint, describe, endpoint_of, invalid_body, list_endpoint
from ._errors import (
    ConfigurationError,
)
from ._events import (
    CLIENT_EVENTS,
    Hooks,
    check_event_hooks,
)
from ._fanout import fan_out
from ._models import ResponseCollection
from ._pagination import Paginator
from ._pipeline import Call, CallTracer, Closed, RequestPipeline, content_type_of
from ._quota import Quota
from ._raw_response import BaseClientWithRawResponse
from ._retry import build_retrying
from ._transport import Transport

if TYPE_CHECKING:
    from ._cache import ResponseCache
    from ._ratelimit import RateLimit

__all__ = ["BaseClient"]

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT", bound=BaseModel)
CastT = TypeVar("CastT")
ResultT = TypeVar("ResultT")
ClientT = TypeVar("ClientT", bound="BaseClient")

EventHooks = Mapping[str, Sequence[Callable[[Any], object]]]
"""``{"request": [...], "response": [...], "retry": [...]}``: callables by event name."""

_UNSET: Any = object()


class BaseClient(RequestPipeline):
    """Configuration, lifecycle and every way to call the API; `BrowseClient` builds on it.

    Its arguments are `BrowseClient`'s (see there).
    """

    def __init__(
        self,
        api_key: str | None = None,
        access_token: AccessToken | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        session: requests.Session | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        rate_limit: RateLimit | None = None,
        cache: ResponseCache | None = None,
        event_hooks: EventHooks | None = None,
    ) -> None:
        if session is not None and not isinstance(session, requests.Session):
            raise ConfigurationError(
                f"session must be a requests.Session, not {type(session).__name__}"
            )
        hooks = check_event_hooks(event_hooks, CLIENT_EVENTS, type(self).__name__)
        self._api_key = resolve_api_key(api_key)
        self._access_token = resolve_access_token(access_token)
        self._base_url = check_base_url(base_url)
        self._configure(timeout, max_retries, max_retry_wait)
        self._max_response_bytes = check_positive_int(max_response_bytes, "max_response_bytes")
        self._transport = Transport(
            session,
            self._base_url,
            max_connections=check_positive_int(max_connections, "max_connections"),
        )
        self._quota = Quota(self._transport, self._api_key, rate_limit=rate_limit, cache=cache)
        self._window = self._quota.window()
        self._owns_session = self._transport.owns_session
        self._closed: tuple[Closed, ...] = (Closed(),)  # its own flag, then its origins'
        self._on_request: Hooks = hooks.get("request", ())
        self._on_response: Hooks = hooks.get("response", ())
        self._on_retry: Hooks = hooks.get("retry", ())
        self._tracer: CallTracer | None = None
        self._instrumented: Mapping[str, Hooks] = {}  # the tracer's own hooks

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """An override of a list method keeps its `list_endpoint` mark, unless it has one."""
        super().__init_subclass__(**kwargs)
        for name, member in vars(cls).items():
            if inspect.isfunction(member) and endpoint_of(member) is None:
                inherited = endpoint_of(getattr(super(cls, cls), name, None))
                if inherited is not None:
                    list_endpoint(inherited)(member)

    def _configure(self, timeout: Any, max_retries: Any, max_retry_wait: Any) -> None:
        self._timeout = check_timeout(timeout)
        self._max_retries = check_max_retries(max_retries)
        self._max_retry_wait = check_max_retry_wait(max_retry_wait)
        self._retrying = build_retrying(self._max_retries, self._max_retry_wait)

    # -- settings and lifecycle -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        return self._base_url

    @property
    def timeout(self) -> Timeout:
        """Seconds for the connection and each read, or a ``(connect, read)`` pair."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._max_retries

    @property
    def max_retry_wait(self) -> float:
        """The longest ``Retry-After`` the client sleeps, in seconds."""
        return self._max_retry_wait

    @property
    def max_response_bytes(self) -> int:
        """The largest decoded body of a successful response the client reads."""
        return self._max_response_bytes

    @property
    def rate_limit(self) -> RateLimit | None:
        """The `RateLimit` every attempt takes a token from, if any."""
        return self._quota.rate_limit

    @property
    def cache(self) -> ResponseCache | None:
        """The `ResponseCache` answers are served from, if any."""
        return self._quota.cache

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` the client sends through."""
        return self._transport.session

    @property
    def event_hooks(self) -> dict[str, list[Callable[[Any], object]]]:
        """The hooks by event (a copy: changing it changes nothing)."""
        return {
            "request": list(self._on_request),
            "response": list(self._on_response),
            "retry": list(self._on_retry),
        }

    @property
    def with_raw_response(self) -> BaseClientWithRawResponse:
        """The client's methods, each returning a `RawResponse`: the result and its response.

        Example:
            >>> raw = client.with_raw_response.get_page(TOP_TRACKS, limit=5)
            >>> print(raw.status_code, raw.request_id)
            >>> page = raw.parse()
        """
        return BaseClientWithRawResponse(self)

    def with_options(
        self: ClientT,
        *,
        timeout: Timeout = _UNSET,
        max_retries: int = _UNSET,
        max_retry_wait: float = _UNSET,
    ) -> ClientT:
        """A copy with other options that shares this client's session and rate-limit window.

        The copy keeps the event hooks (and an OpenTelemetry instrumentation). It never
        closes the shared session. Closing this client closes the copy too; closing the
        copy leaves this client open.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._configure(
            self._timeout if timeout is _UNSET else timeout,
            self._max_retries if max_retries is _UNSET else max_retries,
            self._max_retry_wait if max_retry_wait is _UNSET else max_retry_wait,
        )
        copy._owns_session = False
        copy._closed = (Closed(), *self._closed)
        return copy

    def _instrument(self, tracer: CallTracer, hooks: Mapping[str, Hooks]) -> None:
        """Wrap every call in ``tracer``, with ``hooks`` after the application's own.

        Replaces an earlier instrumentation, its hooks included (``amazon_music_browse.otel``).
        """
        old = self._instrumented
        for name in CLIENT_EVENTS:
            attribute = f"_on_{name}"
            kept = tuple(hook for hook in getattr(self, attribute) if hook not in old.get(name, ()))
            setattr(self, attribute, kept + hooks.get(name, ()))
        self._tracer = tracer
        self._instrumented = dict(hooks)

    def close(self) -> None:
        """Close the client: later calls raise `ClientClosedError`. Closing twice is harmless.

        The session is closed if the client created it (a session passed in stays open).
        """
        self._closed[0].closed = True
        if self._owns_session:
            self._transport.close()

    def __enter__(self: ClientT) -> ClientT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        closed = ", closed=True" if self.closed else ""
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, timeout={self._timeout!r}, "
            f"max_retries={self._max_retries!r}{closed})"
        )

    def __getstate__(self) -> Any:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled: it holds credentials and a live "
            "session; create one client per process instead"
        )

    # -- any endpoint -----------------------------------------------------------------

    def get_page(
        self,
        endpoint: Endpoint[ItemT],
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **path_params: str,
    ) -> ResponseCollection[ItemT]:
        """One page of a collection endpoint, typed by the endpoint's item model.

        Example:
            >>> page = client.get_page(CATEGORY_TRACKS, category_id="2iB4IU25", limit=10)

        Raises:
            TypeError: ``endpoint`` is not a collection, or a path parameter is missing,
                unknown or not a ``str`` (before anything is sent).
            ValueError: ``limit`` is out of the endpoint's bounds, or an argument cannot
                be sent (before anything is sent).
        """
        if not isinstance(endpoint, Endpoint) or endpoint.limits is None:
            raise TypeError(
                f"get_page() takes an Endpoint of a collection, got {endpoint!r}; "
                "use get_object() for an endpoint that answers one object"
            )
        path = endpoint.format_path(**path_params)
        params: dict[str, Any] = {}
        if limit is not None:
            params["limit"] = check_limit(limit, endpoint.limits)
        if check_cursor(cursor) is not None:
            params["cursor"] = cursor
        page: ResponseCollection[ItemT] = self._call_endpoint(endpoint, path, params)
        return page

    def get_object(self, endpoint: Endpoint[ModelT], **path_params: str) -> ModelT:
        """The object an object endpoint answers, typed by the endpoint's model.

        Example:
            >>> heavy_metal = client.get_object(CATEGORY, category_id="2iB4IU25")

        Raises:
            TypeError: ``endpoint`` is a collection, or a path parameter is missing,
                unknown or not a ``str`` (before anything is sent).
            ValueError: an argument cannot be sent (before anything is sent).
        """
        if not isinstance(endpoint, Endpoint) or endpoint.limits is not None:
            raise TypeError(
                f"get_object() takes an Endpoint of one object, got {endpoint!r}; "
                "use get_page() for a collection"
            )
        path = endpoint.format_path(**path_params)
        obj: ModelT = self._call_endpoint(endpoint, path, {})
        return obj

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cast_to: type[CastT],
    ) -> CastT: ...
    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cast_to: None = None,
    ) -> Any: ...
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        cast_to: Any = None,
    ) -> Any:
        """Call an endpoint nobody has described yet, through the same pipeline.

        Example:
            >>> found = client.request(
            ...     "POST",
            ...     "/v1/search/tracks",
            ...     json={"searchFilters": [{"field": "TITLE", "query": "jazz"}]},
            ... )

        Args:
            method: the HTTP method, e.g. ``"GET"`` or ``"POST"``.
            path: the path below ``base_url``, starting with ``/``, without a query.
            params: query parameters.
            json: a JSON body.
            cast_to: a pydantic model, or any type a ``TypeAdapter`` takes, to parse the
                body into; by default the decoded JSON (``None`` for an empty body).

        GET is retried as usual; other methods only after a 429 or a connection error
        raised before the request was sent (the service may have acted on it otherwise).

        Raises:
            ValueError: a path that is not relative to ``base_url`` or leaves it, or a
                method that is not a token (before anything is sent).
            ResponseValidationError: the body is not JSON, or does not fit ``cast_to``.
        """
        method = check_method(method)
        path = check_request_path(path)
        parse = _parser_for(cast_to)
        query = dict(params) if params is not None else {}
        # No template is known: the path names the call (events, spans).
        call = Call(method, path, query, path, json)

        def parse_body(response: requests.Response) -> Any:
            try:
                return parse(response.content)
            except (ValidationError, ValueError, RecursionError) as exc:
                reason = describe(exc) if isinstance(exc, ValidationError) else "is not JSON"
                raise invalid_body(
                    response.content,
                    response.status_code,
                    reason,
                    self._redactor(call),
                    f"{call} ({content_type_of(response)})",
                ) from None

        return self._call(call, parse_body)

    # -- pagination ---------------------------------------------------------------------

    @overload
    def paginate(
        self,
        method: Endpoint[ItemT],
        /,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        max_pages: int | None = None,
        cursor: str | None = None,
        prefetch: bool = False,
        progress: bool = False,
        **path_params: str,
    ) -> Paginator[ItemT]: ...
    @overload
    def paginate(
        self,
        method: Callable[..., ResponseCollection[ItemT]],
        /,
        *args: Any,
        page_size: int | None = None,
        max_items: int | None = None,
        max_pages: int | None = None,
        cursor: str | None = None,
        prefetch: bool = False,
        progress: bool = False,
        **kwargs: Any,
    ) -> Paginator[ItemT]: ...
    def paginate(
        self,
        method: Any,
        /,
        *args: Any,
        page_size: int | None = None,
        max_items: int | None = None,
        max_pages: int | None = None,
        cursor: str | None = None,
        prefetch: bool = False,
        progress: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Walk every page of a collection, lazily.

        Args:
            method: a list method marked with `list_endpoint` (every list method of
                `BrowseClient` is), e.g. ``client.get_category_tracks``, or an `Endpoint`
                of a collection, whose path parameters are then keywords.
            *args: positional arguments for ``method`` (e.g. the category id).
            page_size: items per request; defaults to the endpoint's maximum.
            max_items: stop after this many items.
            max_pages: send at most this many requests.
            cursor: resume from a saved ``paginator.cursor``.
            prefetch: fetch the next page in the background while you work.
            progress: show a ``tqdm`` progress bar while iterating (a widget in Jupyter);
                needs ``pip install "amazon-music-browse[progress]"``.
            **kwargs: other keyword arguments for ``method``, or the path parameters.

        Raises:
            TypeError, ValueError: bad arguments, found before any request is sent.
            ImportError: ``progress=True`` without ``tqdm`` installed.
        """
        for reserved in ("limit", "cursor"):
            if reserved in kwargs:
                raise TypeError(
                    f"paginate() sets {reserved}= itself; use page_size= and cursor= instead"
                )
        fetch_page, endpoint = self._page_fetcher(method, args, kwargs)
        assert endpoint.limits is not None
        return Paginator(
            fetch_page,
            page_size=page_size,
            min_page_size=endpoint.limits[0],
            max_page_size=endpoint.limits[1],
            max_items=max_items,
            max_pages=max_pages,
            cursor=cursor,
            prefetch=prefetch,
            progress=progress,
        )

    def _page_fetcher(
        self, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Callable[[int | None, str | None], Any], Endpoint[Any]]:
        """``fetch_page(limit, cursor)`` for a marked method or an endpoint; checks first."""
        if isinstance(method, Endpoint):
            endpoint: Endpoint[Any] | None = method
            if args or not method.is_collection:
                raise TypeError(
                    "paginate(endpoint, ...) takes an Endpoint of a collection, with its path "
                    f"parameters as keywords; got {method!r}"
                    + (f" and positional arguments {args!r}" if args else "")
                )
            method.format_path(**kwargs)  # checks the path parameters now

            def fetch_endpoint_page(limit: int | None, page_cursor: str | None) -> Any:
                return self.get_page(method, limit=limit, cursor=page_cursor, **kwargs)

            return fetch_endpoint_page, method
        endpoint = endpoint_of(method)
        if endpoint is None or not isinstance(getattr(method, "__self__", None), BaseClient):
            raise TypeError(_not_a_list_method(method))
        bound = inspect.signature(method).bind(*args, limit=None, cursor=None, **kwargs)
        # Arguments named like the endpoint's path parameters are checked now, not later.
        named = {k: v for k, v in bound.arguments.items() if k in endpoint.path_params}
        if set(named) == set(endpoint.path_params):
            endpoint.format_path(**named)

        def fetch_method_page(limit: int | None, page_cursor: str | None) -> Any:
            return method(*args, limit=limit, cursor=page_cursor, **kwargs)

        return fetch_method_page, endpoint

    # -- fan-out ------------------------------------------------------------------------

    @overload
    def map(
        self,
        method: Callable[..., ResultT],
        values: Iterable[Any],
        *,
        max_workers: int = 8,
        return_exceptions: Literal[False] = False,
        progress: bool = False,
        **kwargs: Any,
    ) -> list[ResultT]: ...
    @overload
    def map(
        self,
        method: Callable[..., ResultT],
        values: Iterable[Any],
        *,
        max_workers: int = 8,
        return_exceptions: Literal[True],
        progress: bool = False,
        **kwargs: Any,
    ) -> list[ResultT | Exception]: ...
    def map(
        self,
        method: Callable[..., Any],
        values: Iterable[Any],
        *,
        max_workers: int = 8,
        return_exceptions: bool = False,
        progress: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Call ``method(value, **kwargs)`` for every value on a few threads, in input order.

        Example:
            >>> pages = client.map(client.get_category_tracks, category_ids, limit=10)

        At most ``max_workers`` calls run at once (they share the client's connections,
        rate limit and rate-limit window). The first failure stops the fan-out: nothing
        starts after it, the calls in flight end without further retries, and the
        failure of the earliest value in input order is raised.

        Args:
            method: any method of the client (or any callable taking one value).
            values: the first argument of each call.
            max_workers: the most calls at once.
            return_exceptions: put each call's exception in its place instead of raising;
                every value is then called.
            progress: show a ``tqdm`` progress bar (needs the ``progress`` extra).
            **kwargs: the same keyword arguments for every call (e.g. ``limit=10``).

        Raises:
            TypeError, ValueError: bad arguments, before any call.
            ClientClosedError: the client is closed, before any call.
        """
        if not callable(method):
            raise TypeError(f"map() takes a method to call, not {type(method).__name__}")
        self._check_open()

        def call(value: Any) -> Any:
            return method(value, **kwargs)

        return fan_out(
            call,
            values,
            max_workers=max_workers,
            return_exceptions=return_exceptions,
            progress=progress,
        )


def _not_a_list_method(method: Any) -> str:
    """Why `paginate` refuses ``method``, and what to pass instead."""
    return (
        "paginate() takes a list method of a client marked with @list_endpoint, like "
        f"client.get_top_tracks, or an Endpoint; got {method!r}. To page another "
        "callable, use Paginator(fetch_page, ...)"
    )


def _parser_for(cast_to: Any) -> Callable[[bytes], Any]:
    """What parses a body for `BaseClient.request`: checked before anything is sent."""
    if cast_to is None:
        return lambda body: jsonlib.loads(body) if body.strip() else None
    if isinstance(cast_to, type) and issubclass(cast_to, BaseModel):
        return cast_to.model_validate_json
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(cast_to)
    except Exception as exc:  # pydantic refuses types it cannot build a schema for
        raise TypeError(f"cast_to must be a type pydantic can validate, got {cast_to!r}") from exc
    return adapter.validate_json
