"""The bodies of the API's responses: pages of a collection, and objects, in their envelope.

A page takes ``limit`` (inside the endpoint's bounds; the maximum when omitted) and a
``cursor`` (a signed token of the same collection), and answers the documented Response
Collection: ``pageInfo`` (``hasNextPage``, and ``token`` when there is a next page),
``edgeCount`` and ``edges``. The payload is wrapped along the endpoint's ``key_path``,
with the owner's own fields in the object at ``owner_key``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from amazon_music_browse import Endpoint

from ._cursors import CursorCodec
from ._http import ApiError, Node, one
from ._images import absolute_images
from ._routes import Collection, Single

__all__ = ["page", "single", "wrap"]


def page(
    collection: Collection, query: Mapping[str, list[str]], cursors: CursorCodec, base_url: str
) -> Node:
    """The body for one page of ``collection``, for the request's query.

    Raises:
        ApiError: 400 for a repeated parameter, a ``limit`` out of bounds or a foreign
            or forged ``cursor``.
    """
    try:
        limit, cursor = one(query, "limit"), one(query, "cursor")
    except ValueError as exc:
        raise ApiError(400, "BAD_REQUEST", str(exc)) from None
    assert collection.endpoint.limits is not None
    size = _limit(limit, collection.endpoint.limits)
    offset = _offset(collection.scope, cursor, cursors)
    items = collection.items
    nodes = items.slice(offset, offset + size)
    if collection.local_images:
        nodes = [absolute_images(node, base_url) for node in nodes]
    end = offset + len(nodes)
    page_info: Node = {"hasNextPage": end < items.size}
    if end < items.size:
        page_info["token"] = cursors.encode(collection.scope, end)
    if collection.edge_cursors:
        edges = [
            {"node": node, "cursor": f"{offset + i}:{node.get('id')}"}
            for i, node in enumerate(nodes)
        ]
    else:
        edges = [{"node": node} for node in nodes]
    body = {"pageInfo": page_info, "edgeCount": len(edges), "edges": edges}
    return wrap(collection.endpoint, body, collection.owner)


def single(resource: Single) -> Node:
    """The body for one object."""
    return wrap(resource.endpoint, resource.node)


def wrap(endpoint: Endpoint[Any], payload: Any, owner: Node | None = None) -> Node:
    """``payload`` along ``endpoint.key_path``, beside ``owner``'s fields at ``owner_key``.

    E.g. ``("data", "category", "tracks")``: ``{"data": {"category": {**owner, "tracks": page}}}``.
    """
    inner = payload
    key_path = endpoint.key_path
    for depth in range(len(key_path) - 1, 0, -1):
        container = {key_path[depth]: inner}
        if owner and key_path[depth - 1] == endpoint.owner_key:
            container = {**owner, **container}
        inner = container
    return {key_path[0]: inner}


def _limit(value: str | None, limits: tuple[int, int]) -> int:
    low, high = limits
    if value is None:
        return high
    if re.fullmatch(r"[0-9]{1,9}", value) and low <= int(value) <= high:
        return int(value)
    raise ApiError(
        400,
        "BAD_REQUEST",
        f"Invalid limit {value[:40]!r}: must be an integer from {low} to {high}.",
    )


def _offset(scope: str, cursor: str | None, cursors: CursorCodec) -> int:
    if cursor is None:
        return 0
    offset = cursors.decode(scope, cursor)
    if offset is None:
        raise ApiError(
            400, "BAD_REQUEST", "Invalid cursor: pass a pageInfo.token of this same collection."
        )
    return offset
