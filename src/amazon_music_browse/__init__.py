"""amazon_music_browse: a typed, synchronous SDK for the Amazon Music Web API (V1) Browse endpoints.

```python
from amazon_music_browse import BrowseClient

with BrowseClient(api_key="...", access_token="...") as client:
    for track in client.paginate(client.get_category_tracks, "2iB4IU25", max_items=50):
        print(track.title)
```
"""

import typing

from ._version import __version__

if typing.TYPE_CHECKING:
    from ._auth import LoginWithAmazon
    from ._cache import ResponseCache
    from ._client import BrowseClient
    from ._credentials import AccessToken
    from ._device import DeviceCode
    from ._endpoint import Endpoint, list_endpoint
    from ._errors import (
        AmazonMusicError,
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ClientClosedError,
        ConfigurationError,
        InternalServerError,
        NotFoundError,
        PaginationError,
        PermissionDeniedError,
        RateLimitError,
        ResponseValidationError,
        UnprocessableEntityError,
    )
    from ._events import RequestEvent, ResponseEvent, RetryEvent, TokenEvent
    from ._file_store import FileTokenStore
    from ._models import (
        Album,
        Category,
        Edge,
        Episode,
        Image,
        PageInfo,
        Playlist,
        ResponseCollection,
        Track,
    )
    from ._pagination import FetchPage, Paginator
    from ._ratelimit import RateLimit, RateLimitStore
    from ._raw_response import RawResponse
    from ._token_store import MemoryTokenStore, RedisTokenStore, StoredToken, TokenStore

# The public names are loaded on first use, so that `import amazon_music_browse` (and the
# pytest plugin, which every test run of a project that installs this package loads) costs
# almost nothing until a name is used.
_SUBMODULE_OF: dict[str, str] = {
    "LoginWithAmazon": "_auth",
    "BrowseClient": "_client",
    "AccessToken": "_credentials",
    "Endpoint": "_endpoint",
    "list_endpoint": "_endpoint",
    **dict.fromkeys(
        (
            "AmazonMusicError",
            "APIConnectionError",
            "APIError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "ClientClosedError",
            "ConfigurationError",
            "InternalServerError",
            "NotFoundError",
            "PaginationError",
            "PermissionDeniedError",
            "RateLimitError",
            "ResponseValidationError",
            "UnprocessableEntityError",
        ),
        "_errors",
    ),
    **dict.fromkeys(
        (
            "Album",
            "Category",
            "Edge",
            "Episode",
            "Image",
            "PageInfo",
            "Playlist",
            "ResponseCollection",
            "Track",
        ),
        "_models",
    ),
    **dict.fromkeys(("RequestEvent", "ResponseEvent", "RetryEvent", "TokenEvent"), "_events"),
    "FetchPage": "_pagination",
    "Paginator": "_pagination",
    "RawResponse": "_raw_response",
    "DeviceCode": "_device",
    "FileTokenStore": "_file_store",
    **dict.fromkeys(
        ("MemoryTokenStore", "RedisTokenStore", "StoredToken", "TokenStore"), "_token_store"
    ),
    "RateLimit": "_ratelimit",
    "RateLimitStore": "_ratelimit",
    "ResponseCache": "_cache",
}


def __getattr__(name: str) -> object:
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccessToken",
    "Album",
    "AmazonMusicError",
    "AuthenticationError",
    "BadRequestError",
    "BrowseClient",
    "Category",
    "ClientClosedError",
    "ConfigurationError",
    "DeviceCode",
    "Edge",
    "Endpoint",
    "Episode",
    "FetchPage",
    "FileTokenStore",
    "Image",
    "InternalServerError",
    "LoginWithAmazon",
    "MemoryTokenStore",
    "NotFoundError",
    "PageInfo",
    "PaginationError",
    "Paginator",
    "PermissionDeniedError",
    "Playlist",
    "RateLimit",
    "RateLimitError",
    "RateLimitStore",
    "RawResponse",
    "RedisTokenStore",
    "RequestEvent",
    "ResponseCache",
    "ResponseCollection",
    "ResponseEvent",
    "ResponseValidationError",
    "RetryEvent",
    "StoredToken",
    "TokenEvent",
    "TokenStore",
    "Track",
    "UnprocessableEntityError",
    "__version__",
    "list_endpoint",
]
