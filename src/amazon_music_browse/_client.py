"""``BrowseClient``: configuration, the request pipeline and one method per endpoint."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from pydantic import BaseModel

from . import _endpoints as ep
from ._arguments import check_category_id, check_cursor, check_limit
from ._cancel import raise_if_cancelled
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
    TOKEN_ERROR_CODES,
    USER_AGENT,
)
from ._credentials import (
    AccessToken,
    current_token,
    invalidate_token,
    resolve_access_token,
    resolve_api_key,
)
from ._errors import (
    AmazonMusicError,
    APIConnectionError,
    APIError,
    ClientClosedError,
    ConfigurationError,
    RateLimitError,
    add_attempts,
    api_error_from_body,
    redact_message,
)
from ._log import logger
from ._models import Album, Category, Episode, Playlist, ResponseCollection, Track
from ._pagination import Paginator
from ._redact import Redactor
from ._retry import RateLimitWindow, build_retrying, parse_retry_after
from ._transport import Exchange, Transport

__all__ = ["BrowseClient"]


ItemT = TypeVar("ItemT", bound=BaseModel)
ClientT = TypeVar("ClientT", bound="BrowseClient")

_ENDPOINT_OF_METHOD = {endpoint.name: endpoint for endpoint in ep.ENDPOINTS}
_UNSET: Any = object()


@dataclass
class _Call:
    """One call of an endpoint method, across its attempts."""

    path: str
    params: dict[str, Any]
    refreshed: bool = False
    attempts: int = 0
    sent_tokens: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"GET {self.path}"


class _Closed:
    """Whether one client (not its copies' own flags) was closed."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


class BrowseClient:
    """A client of the Amazon Music Web API (V1) Browse endpoints.

    Every request carries ``x-api-key`` and ``Authorization: Bearer <token>``. List
    methods return one page (a `ResponseCollection`); `paginate` walks them all.

    Args:
        api_key: your security profile ID; default: env ``AMAZON_MUSIC_API_KEY``.
        access_token: a Login with Amazon access token, or a zero-argument callable
            that returns the current one; default: env ``AMAZON_MUSIC_ACCESS_TOKEN``.
        base_url: the API host; ``https://`` only, or ``http://`` on loopback hosts;
            default: env ``AMAZON_MUSIC_BASE_URL``, else the real service.
        timeout: seconds for the connection and each read, or ``(connect, read)``.
        max_retries: retries after the first attempt (connection errors, timeouts,
            429, 500, 502, 503, 504).
        max_retry_wait: the longest ``Retry-After`` slept; longer ones raise at once.
        session: a ``requests.Session`` to send through (never closed by the client).
            Its ``auth`` and ``~/.netrc`` are never applied: they would replace the
            ``Authorization: Bearer`` header.
        max_connections: pooled connections per host of the session the client creates;
            more threads than that wait for a free one.
        max_response_bytes: the largest decoded body of a successful answer; a larger
            one raises `ResponseValidationError` (a compressed body is capped decoded).

    Raises:
        ConfigurationError: a credential is missing, or an option is invalid.
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
    ) -> None:
        if session is not None and not isinstance(session, requests.Session):
            raise ConfigurationError(
                f"session must be a requests.Session, not {type(session).__name__}"
            )
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
        self._window = RateLimitWindow()
        self._owns_session = self._transport.owns_session
        self._closed: tuple[_Closed, ...] = (_Closed(),)  # its own flag, then its origins'

    def _configure(self, timeout: Any, max_retries: Any, max_retry_wait: Any) -> None:
        self._timeout = check_timeout(timeout)
        self._max_retries = check_max_retries(max_retries)
        self._max_retry_wait = check_max_retry_wait(max_retry_wait)
        self._retrying = build_retrying(self._max_retries, self._max_retry_wait)

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
        """The largest decoded body of a successful answer the client reads."""
        return self._max_response_bytes

    @property
    def session(self) -> requests.Session:
        """The ``requests.Session`` the client sends through."""
        return self._transport.session

    @property
    def closed(self) -> bool:
        """Whether this client, or the client it was copied from, was closed."""
        return any(flag.closed for flag in self._closed)

    def with_options(
        self: ClientT,
        *,
        timeout: Timeout = _UNSET,
        max_retries: int = _UNSET,
        max_retry_wait: float = _UNSET,
    ) -> ClientT:
        """A copy with other options that shares this client's session and rate-limit window.

        The copy never closes the shared session. Closing this client closes the copy
        too; closing the copy leaves this client open.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._configure(
            self._timeout if timeout is _UNSET else timeout,
            self._max_retries if max_retries is _UNSET else max_retries,
            self._max_retry_wait if max_retry_wait is _UNSET else max_retry_wait,
        )
        copy._owns_session = False
        copy._closed = (_Closed(), *self._closed)
        return copy

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

    # -- the endpoints ------------------------------------------------------------------

    def get_top_tracks(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Track]:
        """One page of the top tracks for the current user (``limit`` 1..20)."""
        page: ResponseCollection[Track] = self._list(
            ep.TOP_TRACKS, ep.TOP_TRACKS.path, limit, cursor
        )
        return page

    def get_top_playlists(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        """One page of the top playlists for the current user (``limit`` 1..100)."""
        page: ResponseCollection[Playlist] = self._list(
            ep.TOP_PLAYLISTS, ep.TOP_PLAYLISTS.path, limit, cursor
        )
        return page

    def get_new_podcast_episodes(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Episode]:
        """One page of new podcast episodes for the current user (``limit`` 1..100)."""
        page: ResponseCollection[Episode] = self._list(
            ep.NEW_PODCAST_EPISODES, ep.NEW_PODCAST_EPISODES.path, limit, cursor
        )
        return page

    def get_categories(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Category]:
        """One page of the categories used to tag catalog items (``limit`` 1..100)."""
        page: ResponseCollection[Category] = self._list(
            ep.CATEGORIES, ep.CATEGORIES.path, limit, cursor
        )
        return page

    def get_category(self, category_id: str) -> Category:
        """One category (a genre), by id, e.g. ``"2iB4IU25"``."""
        category: Category = self._get(ep.CATEGORY, _category_path(ep.CATEGORY, category_id), {})
        return category

    def get_category_albums(
        self, category_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Album]:
        """One page of the albums tagged with a category (``limit`` 1..100).

        ``page.category`` holds the category itself when the service sends it.
        """
        page: ResponseCollection[Album] = self._list(
            ep.CATEGORY_ALBUMS, _category_path(ep.CATEGORY_ALBUMS, category_id), limit, cursor
        )
        return page

    def get_category_playlists(
        self, category_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        """One page of the playlists tagged with a category (``limit`` 1..100).

        ``page.category`` holds the category itself when the service sends it.
        """
        page: ResponseCollection[Playlist] = self._list(
            ep.CATEGORY_PLAYLISTS, _category_path(ep.CATEGORY_PLAYLISTS, category_id), limit, cursor
        )
        return page

    def get_category_tracks(
        self, category_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Track]:
        """One page of the tracks tagged with a category (``limit`` 1..100).

        ``page.category`` holds the category itself when the service sends it.
        """
        page: ResponseCollection[Track] = self._list(
            ep.CATEGORY_TRACKS, _category_path(ep.CATEGORY_TRACKS, category_id), limit, cursor
        )
        return page

    # -- pagination ---------------------------------------------------------------------

    def paginate(
        self,
        method: Callable[..., ResponseCollection[ItemT]],
        *args: Any,
        page_size: int | None = None,
        max_items: int | None = None,
        max_pages: int | None = None,
        cursor: str | None = None,
        prefetch: bool = False,
        progress: bool = False,
        **kwargs: Any,
    ) -> Paginator[ItemT]:
        """Walk every page of a list method, lazily.

        Args:
            method: a list method of this client (or of a subclass), e.g.
                ``client.get_category_tracks``.
            *args: positional arguments for ``method`` (e.g. the category id).
            page_size: items per request; defaults to the endpoint's maximum.
            max_items: stop after this many items.
            max_pages: send at most this many requests.
            cursor: resume from a saved ``paginator.cursor``.
            prefetch: fetch the next page in the background while you work.
            progress: show a ``tqdm`` progress bar while iterating (a widget in Jupyter);
                needs ``pip install "amazon-music-browse[progress]"``.
            **kwargs: other keyword arguments for ``method``.

        Raises:
            TypeError, ValueError: bad arguments, found before any request is sent.
            ImportError: ``progress=True`` without ``tqdm`` installed.
        """
        endpoint = _endpoint_of(method)
        if endpoint is None or endpoint.limits is None:
            raise TypeError(
                "paginate() takes a list method of the client, like client.get_top_tracks; "
                f"got {method!r}. To page another callable, use Paginator(fetch_page, ...)"
            )
        for reserved in ("limit", "cursor"):
            if reserved in kwargs:
                raise TypeError(
                    f"paginate() sets {reserved}= itself; use page_size= and cursor= instead"
                )
        bound = inspect.signature(method).bind(*args, limit=None, cursor=None, **kwargs)
        if "category_id" in bound.arguments:
            check_category_id(bound.arguments["category_id"])

        def fetch_page(limit: int | None, page_cursor: str | None) -> ResponseCollection[ItemT]:
            return method(*args, limit=limit, cursor=page_cursor, **kwargs)

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

    # -- the request pipeline -----------------------------------------------------------

    def _list(
        self, endpoint: ep.Endpoint[Any], path: str, limit: int | None, cursor: str | None
    ) -> Any:
        params: dict[str, Any] = {}
        if limit is not None:
            assert endpoint.limits is not None
            params["limit"] = check_limit(limit, endpoint.limits)
        if check_cursor(cursor) is not None:
            params["cursor"] = cursor
        return self._get(endpoint, path, params)

    def _get(self, endpoint: ep.Endpoint[Any], path: str, params: dict[str, Any]) -> Any:
        call = _Call(path, params)
        try:
            response = self._retrying(self._attempt, call)
        except (APIConnectionError, APIError) as exc:
            add_attempts(exc, call.attempts)
            raise
        return endpoint.parse(
            response.content,
            response.status_code,
            self._redactor(call),
            source=f"GET {path} ({_content_type(response)})",
        )

    def _check_open(self) -> None:
        if self.closed:
            raise ClientClosedError(
                f"this {type(self).__name__} is closed (close() or the end of its with "
                "block); create a new client to send requests"
            )

    def _attempt(self, call: _Call) -> requests.Response:
        """One attempt: the checks every retry passes again, then the request."""
        raise_if_cancelled()
        self._check_open()
        self._window.check()
        call.attempts += 1
        token = current_token(self._access_token)
        response = self._send(call, token)
        if 200 <= response.status_code < 300:
            return response
        error = self._error(response, call)
        if self._may_retry_with_new_token(error, call) and invalidate_token(
            self._access_token, token
        ):
            call.refreshed = True
            new_token = current_token(self._access_token)
            if new_token == token:  # the same token would be refused the same way
                raise error
            response = self._send(call, new_token)
            if 200 <= response.status_code < 300:
                return response
            error = self._error(response, call)
        raise error

    @staticmethod
    def _may_retry_with_new_token(error: APIError, call: _Call) -> bool:
        """A first 401 about the token (not about the API key) may succeed with a new one."""
        return (
            error.status_code == 401
            and not call.refreshed
            and (error.code is None or error.code in TOKEN_ERROR_CODES)
        )

    def _send(self, call: _Call, token: str) -> requests.Response:
        call.sent_tokens.append(token)
        exchange = Exchange(
            "GET",
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            credentials={"x-api-key": self._api_key, "Authorization": f"Bearer {token}"},
            timeout=self._timeout,
            max_bytes=self._max_response_bytes,
            params=call.params,
        )
        try:
            response = self._transport.send(self._base_url + call.path, exchange)
        except AmazonMusicError as exc:
            redact_message(exc, self._redactor(call))  # a redirect may have echoed one
            logger.debug("%s %s -> %s", call, call.params, exc)
            raise
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms",
                call,
                call.params,
                response.status_code,
                response.elapsed.total_seconds() * 1000,
            )
        return response

    def _redactor(self, call: _Call) -> Redactor:
        """Removes the credentials this call sent from text the service sent back."""
        return Redactor((self._api_key, *call.sent_tokens))

    def _error(self, response: requests.Response, call: _Call) -> APIError:
        redact = self._redactor(call)
        error = api_error_from_body(
            response.status_code,
            redact(response.content.decode("utf-8", errors="replace")),
            request_id=redact.optional(response.headers.get("x-amzn-RequestId")),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            response=response,
        )
        if (
            isinstance(error, RateLimitError)
            and error.retry_after is not None
            and error.retry_after > self._max_retry_wait
        ):
            self._window.hold(error.retry_after)
        return error


def _content_type(response: requests.Response) -> str:
    content_type = response.headers.get("Content-Type")
    return f"Content-Type {content_type}" if content_type else "no Content-Type"


def _category_path(endpoint: ep.Endpoint[Any], category_id: str) -> str:
    return endpoint.path.format(category_id=check_category_id(category_id))


def _endpoint_of(method: Callable[..., Any]) -> ep.Endpoint[Any] | None:
    """The endpoint behind a list method of ``BrowseClient`` or of a subclass."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, BrowseClient):
        return None
    return _ENDPOINT_OF_METHOD.get(getattr(method, "__name__", ""))
