"""amazon_music_browse: a typed, synchronous SDK for the Amazon Music Web API (V1) Browse endpoints.

```python
from amazon_music_browse import BrowseClient

with BrowseClient(api_key="...", access_token="...") as client:
    for track in client.paginate(client.get_category_tracks, "2iB4IU25", max_items=50):
        print(track.title)
```
"""

from ._auth import LoginWithAmazon
from ._client import BrowseClient
from ._credentials import AccessToken
from ._errors import (
    AmazonMusicError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
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
from ._version import __version__

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
    "ConfigurationError",
    "Edge",
    "Episode",
    "FetchPage",
    "Image",
    "InternalServerError",
    "LoginWithAmazon",
    "NotFoundError",
    "PageInfo",
    "PaginationError",
    "Paginator",
    "PermissionDeniedError",
    "Playlist",
    "RateLimitError",
    "ResponseCollection",
    "ResponseValidationError",
    "Track",
    "UnprocessableEntityError",
    "__version__",
]
