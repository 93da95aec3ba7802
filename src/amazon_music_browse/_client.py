"""`BrowseClient`: one method per Browse endpoint, over the pipeline of `BaseClient`."""

from __future__ import annotations

from . import endpoints as ep
from ._base_client import BaseClient
from ._endpoint import list_endpoint
from ._models import Album, Category, Episode, Playlist, ResponseCollection, Track
from ._raw_response import BaseClientWithRawResponse, raw_method

__all__ = ["BrowseClient", "BrowseClientWithRawResponse"]


class BrowseClient(BaseClient):
    """A client of the Amazon Music Web API (V1) Browse endpoints.

    Every request carries ``x-api-key`` and ``Authorization: Bearer <token>``. List
    methods return one page (a `ResponseCollection`); `paginate` walks them all. A wrapper
    subclasses it and adds endpoints with `get_page`, `get_object` and `request`.

    Args:
        api_key: your security profile ID; default: env ``AMAZON_MUSIC_API_KEY``.
        access_token: a Login with Amazon access token, or a zero-argument callable
            that returns the current one; default: env ``AMAZON_MUSIC_ACCESS_TOKEN``.
        base_url: the API host; ``https://`` only, or ``http://`` on loopback hosts;
            default: env ``AMAZON_MUSIC_BASE_URL``, else the real service.
        timeout: seconds for the connection and each read, or ``(connect, read)``; no
            attempt outlives ``connect + 2 * read`` seconds.
        max_retries: retries after the first attempt (connection errors, timeouts,
            429, 500, 502, 503, 504).
        max_retry_wait: the longest ``Retry-After`` slept; longer ones raise at once.
        session: a ``requests.Session`` to send through (never closed by the client).
            Its ``auth`` and ``~/.netrc`` are never applied: they would replace the
            ``Authorization: Bearer`` header.
        max_connections: pooled connections per host of the session the client creates;
            more threads than that wait for a free one.
        max_response_bytes: the largest decoded body of a successful response; a larger
            one raises `ResponseValidationError` (a compressed body is capped decoded).
        event_hooks: callables by event, ``{"request": [...], "response": [...],
            "retry": [...]}``, called with a `RequestEvent` before every attempt is sent,
            a `ResponseEvent` for every response received and a `RetryEvent` before every
            retry wait. A hook's exception propagates (the call is not retried).
            ``with_options`` copies keep them.
        rate_limit: a `RateLimit`: every attempt waits for a token of its bucket (at most
            ``max_retry_wait``); with a store, the bucket and the ``Retry-After`` window
            are shared by every process using this API key.
        cache: a `ResponseCache`: fresh answers are served from it, per user, without a
            request or a rate-limit token (``page.from_cache``).

    Raises:
        ConfigurationError: a credential is missing, or an option is invalid (an
            unknown event or a hook that is not callable, too).
    """

    @property
    def with_raw_response(self) -> BrowseClientWithRawResponse:
        """The client's methods, each returning a `RawResponse`: the result and its response.

        Example:
            >>> raw = client.with_raw_response.get_top_tracks(limit=5)
            >>> print(raw.status_code, raw.request_id)
            >>> page = raw.parse()  # ResponseCollection[Track]
        """
        return BrowseClientWithRawResponse(self)

    @list_endpoint(ep.TOP_TRACKS)
    def get_top_tracks(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Track]:
        """One page of the top tracks for the current user (``limit`` 1..20)."""
        return self.get_page(ep.TOP_TRACKS, limit=limit, cursor=cursor)

    @list_endpoint(ep.TOP_PLAYLISTS)
    def get_top_playlists(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        """One page of the top playlists for the current user (``limit`` 1..100)."""
        return self.get_page(ep.TOP_PLAYLISTS, limit=limit, cursor=cursor)

    @list_endpoint(ep.NEW_PODCAST_EPISODES)
    def get_new_podcast_episodes(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Episode]:
        """One page of new podcast episodes for the current user (``limit`` 1..100)."""
        return self.get_page(ep.NEW_PODCAST_EPISODES, limit=limit, cursor=cursor)

    @list_endpoint(ep.CATEGORIES)
    def get_categories(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Category]:
        """One page of the categories used to tag catalog items (``limit`` 1..100)."""
        return self.get_page(ep.CATEGORIES, limit=limit, cursor=cursor)

    def get_category(self, category_id: str) -> Category:
        """One category (a genre), by id, e.g. ``"2iB4IU25"``."""
        return self.get_object(ep.CATEGORY, category_id=category_id)

    @list_endpoint(ep.CATEGORY_ALBUMS)
    def get_category_albums(
        self, category_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Album]:
        """One page of the albums tagged with a category (``limit`` 1..100).

        ``page.category`` holds the category itself when the service sends it.
        """
        return self.get_page(
            ep.CATEGORY_ALBUMS, category_id=category_id, limit=limit, cursor=cursor
        )

    @list_endpoint(ep.CATEGORY_PLAYLISTS)
    def get_category_playlists(
        self, category_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Playlist]:
        """One page of the playlists tagged with a category (``limit`` 1..100).

        ``page.category`` holds the category itself when the service sends it.
        """
        return self.get_page(
            ep.CATEGORY_PLAYLISTS, category_id=category_id, limit=limit, cursor=cursor
        )

    @list_endpoint(ep.CATEGORY_TRACKS)
    def get_category_tracks(
        self, category_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ResponseCollection[Track]:
        """One page of the tracks tagged with a category (``limit`` 1..100).

        ``page.category`` holds the category itself when the service sends it.
        """
        return self.get_page(
            ep.CATEGORY_TRACKS, category_id=category_id, limit=limit, cursor=cursor
        )


class BrowseClientWithRawResponse(BaseClientWithRawResponse):
    """``client.with_raw_response``: each Browse method, returning a `RawResponse`."""

    __slots__ = ()

    get_top_tracks = raw_method(BrowseClient.get_top_tracks)
    get_top_playlists = raw_method(BrowseClient.get_top_playlists)
    get_new_podcast_episodes = raw_method(BrowseClient.get_new_podcast_episodes)
    get_categories = raw_method(BrowseClient.get_categories)
    get_category = raw_method(BrowseClient.get_category)
    get_category_albums = raw_method(BrowseClient.get_category_albums)
    get_category_playlists = raw_method(BrowseClient.get_category_playlists)
    get_category_tracks = raw_method(BrowseClient.get_category_tracks)
