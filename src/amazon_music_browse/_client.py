"""``BrowseClient``: configuration, the request pipeline and one method per endpoint."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from pydantic import BaseModel

from . import _endpoints as ep
from ._arguments import check_category_id, check_cursor, check_limit
from ._config import (
    Timeout,
    check_base_url,
    check_max_retries,
    check_max_retry_wait,
    check_timeout,
)
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    MAX_KEPT_BODY,
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
    APIConnectionError,
    APIError,
    ConfigurationError,
    RateLimitError,
    api_error_from_body,
)
from ._models import Album, Category, Episode, Playlist, ResponseCollection, Track
from ._pagination import Paginator
from ._retry import RateLimitWindow, build_retrying, parse_retry_after
from ._transport import Transport

__all__ = ["BrowseClient"]

logger = logging.getLogger("amazon_music_browse")

ItemT = TypeVar("ItemT", bound=BaseModel)

_ENDPOINT_OF_METHOD = {endpoint.name: endpoint for endpoint in ep.ENDPOINTS}
_UNSET: Any = object()


@dataclass
class _Call:
    """One call of an endpoint method, across its attempts."""

    path: str
    params: dict[str, Any]
    refreshed: bool = False
    sent_tokens: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"GET {self.path}"


class BrowseClient:
    """A client of the Amazon Music Web API (V1) Browse endpoints.

    Every request carries ``x-api-key`` and ``Authorization: Bearer <token>``. List
    methods return one page (a `ResponseCollection`); `paginate` walks them all.

    Args:
        api_key: your security profile ID; default: env ``AMAZON_MUSIC_API_KEY``.
        access_token: a Login with Amazon access token, or a zero-argument callable
            that returns the current one; default: env ``AMAZON_MUSIC_ACCESS_TOKEN``.
        base_url: the API host; ``https://`` only, or ``http://`` on loopback hosts.
        timeout: seconds for the connection and each read, or ``(connect, read)``.
        max_retries: retries after the first attempt (connection errors, timeouts,
            429, 500, 502, 503, 504).
        max_retry_wait: the longest ``Retry-After`` slept; longer ones raise at once.
        session: a ``requests.Session`` to send through (never closed by the client).

    Raises:
        ConfigurationError: a credential is missing, or an option is invalid.
    """

    def __init__(
        self,
        api_key: str | None = None,
        access_token: AccessToken | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        session: requests.Session | None = None,
    ) -> None:
        if session is not None and not isinstance(session, requests.Session):
            raise ConfigurationError(
                f"session must be a requests.Session, not {type(session).__name__}"
            )
        self._api_key = resolve_api_key(api_key)
        self._access_token = resolve_access_token(access_token)
        self._base_url = check_base_url(base_url)
        self._configure(timeout, max_retries, max_retry_wait)
        self._transport = Transport(session, self._base_url)
        self._window = RateLimitWindow()
        self._owns_session = self._transport.owns_session

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
    def session(self) -> requests.Session:
        """The ``requests.Session`` the client sends through."""
        return self._transport.session

    def with_options(
        self,
        *,
        timeout: Timeout = _UNSET,
        max_retries: int = _UNSET,
        max_retry_wait: float = _UNSET,
    ) -> BrowseClient:
        """A copy with other options that shares this client's session and rate-limit window.

        The copy never closes the shared session.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._configure(
            self._timeout if timeout is _UNSET else timeout,
            self._max_retries if max_retries is _UNSET else max_retries,
            self._max_retry_wait if max_retry_wait is _UNSET else max_retry_wait,
        )
        copy._owns_session = False
        return copy

    def close(self) -> None:
        """Close the session, if the client created it (a session passed in stays open)."""
        if self._owns_session:
            self._transport.close()

    def __enter__(self) -> BrowseClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, timeout={self._timeout!r}, "
            f"max_retries={self._max_retries!r})"
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
        self._window.check()
        call = _Call(path, params)
        body, status_code = self._retrying(self._attempt, call)
        return endpoint.parse(body, status_code, lambda text: self._redact(text, call))

    def _attempt(self, call: _Call) -> tuple[bytes, int]:
        token = current_token(self._access_token)
        response = self._send(call, token)
        if (
            response.status_code == 401
            and not call.refreshed
            and invalidate_token(self._access_token, token)
        ):
            call.refreshed = True
            token = current_token(self._access_token)
            response = self._send(call, token)
        if 200 <= response.status_code < 300:
            return response.content, response.status_code
        raise self._error(response, call)

    def _send(self, call: _Call, token: str) -> requests.Response:
        call.sent_tokens.append(token)
        started = time.perf_counter()
        try:
            response = self._transport.get(
                self._base_url + call.path,
                call.params,
                {"Accept": "application/json", "User-Agent": USER_AGENT},
                {"x-api-key": self._api_key, "Authorization": f"Bearer {token}"},
                self._timeout,
            )
        except APIConnectionError as exc:
            logger.debug("%s %s -> %s", call, call.params, exc)
            raise
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms",
                call,
                call.params,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        return response

    def _redact(self, text: str, call: _Call) -> str:
        """``text`` without the credentials this call sent (a service may echo them)."""
        for secret in (self._api_key, *call.sent_tokens):
            text = text.replace(secret, "[REDACTED]")
        return text

    def _error(self, response: requests.Response, call: _Call) -> APIError:
        body = self._redact(
            response.content[: MAX_KEPT_BODY * 4].decode("utf-8", errors="replace"), call
        )
        error = api_error_from_body(
            response.status_code,
            body,
            request_id=response.headers.get("x-amzn-RequestId"),
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


def _category_path(endpoint: ep.Endpoint[Any], category_id: str) -> str:
    return endpoint.path.format(category_id=check_category_id(category_id))


def _endpoint_of(method: Callable[..., Any]) -> ep.Endpoint[Any] | None:
    """The endpoint behind a list method of ``BrowseClient`` or of a subclass."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, BrowseClient):
        return None
    return _ENDPOINT_OF_METHOD.get(getattr(method, "__name__", ""))
