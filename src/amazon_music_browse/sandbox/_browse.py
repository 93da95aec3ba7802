"""The Browse API's routes: one per entry of `amazon_music_browse.endpoints.ENDPOINTS`.

Each route takes its path template, key path and ``limit`` bounds from its endpoint, and
finds its resource in the catalog: a top-level collection by its key (the last of the key
path), a category by its ``category_id``, and a category's collection by both. So a Browse
endpoint whose path changes in the table is answered at its new path with no change here.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Final

from amazon_music_browse import Endpoint
from amazon_music_browse.endpoints import CATEGORIES, ENDPOINTS

from ._catalog import Catalog
from ._http import ApiError
from ._routes import Collection, Resource, Route, Single

__all__ = ["browse_routes"]

_CATEGORY_PARAM: Final = "category_id"
_OWNER_FIELDS: Final = ("id", "name", "url")  # a category's fields around its collections
_EDGE_CURSORS: Final = frozenset({CATEGORIES})  # edges with "<index>:<id>" cursors, as documented


def browse_routes(catalog: Catalog) -> list[Route]:
    """The routes of the eight Browse endpoints, answered from ``catalog``."""
    return [
        Route("GET", endpoint.path, partial(_resolve, catalog, endpoint)) for endpoint in ENDPOINTS
    ]


def _resolve(catalog: Catalog, endpoint: Endpoint[Any], params: Mapping[str, str]) -> Resource:
    key = endpoint.key_path[-1]
    category_id = params.get(_CATEGORY_PARAM)
    if category_id is None:
        items = catalog.items(key)
        return Collection(
            endpoint, items, key, edge_cursors=endpoint in _EDGE_CURSORS, local_images=True
        )
    category = catalog.category(category_id)
    if category is None:
        raise ApiError(404, "RESOURCE_NOT_FOUND", f"No category with id {category_id!r}.")
    if not endpoint.is_collection:
        return Single(endpoint, category)
    owner = {name: category[name] for name in _OWNER_FIELDS}
    items = catalog.items(key, category_id)
    return Collection(endpoint, items, f"category/{category_id}/{key}", owner, local_images=True)
