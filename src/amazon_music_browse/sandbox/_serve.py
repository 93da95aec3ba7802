"""Resources a test serves for its own endpoints: `SandboxServer.serve` and ``serve_json``.

Items and objects are JSON-shaped dicts or pydantic models; a model is dumped as the API
would send it (``by_alias=True``, ``exclude_unset=True``: camelCase, only the fields that
were set, unknown fields kept). Everything is copied when served, so changing it later
changes nothing, and anything that is not JSON is refused at once, not at request time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from pydantic import BaseModel

from amazon_music_browse import Endpoint

from ._catalog import Items
from ._http import Node, split_path
from ._routes import Collection, Handler, Single

__all__ = ["collection", "handler", "json_path", "method_name", "single"]

_METHOD: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token


def collection(
    endpoint: Endpoint[Any], items: Any, owner: Any, path_params: Mapping[str, Any]
) -> Collection:
    """A served collection of ``endpoint`` at ``path_params``.

    Raises:
        TypeError: ``items`` is not an iterable of objects, an object is not JSON-shaped,
            or ``owner`` is given for an endpoint without ``owner_key``.
    """
    if isinstance(items, (str, bytes, Mapping, BaseModel)) or not isinstance(items, Iterable):
        raise TypeError(f"items must be an iterable of dicts or models, not {type(items).__name__}")
    nodes = [_json_object(item, f"items[{index}]") for index, item in enumerate(items)]
    if owner is not None and endpoint.owner_key is None:
        raise TypeError(f"owner= needs an endpoint with owner_key; {endpoint!r} has none")
    owner_node = None if owner is None else _json_object(owner, "owner")
    path = endpoint.format_path(**path_params)
    scope = "served/" + hashlib.blake2b(path.encode(), digest_size=12).hexdigest()
    return Collection(endpoint, Items(len(nodes), nodes), scope, owner_node)


def single(endpoint: Endpoint[Any], obj: Any) -> Single:
    """A served object of ``endpoint``.

    Raises:
        TypeError: ``obj`` is not a JSON-shaped dict or a model.
    """
    return Single(endpoint, _json_object(obj, "the object"))


def handler(answer: Any, respond: Callable[[Any], Any] | None) -> Handler:
    """A resource that answers ``answer`` (a copy), or what ``respond(body)`` returns."""
    if respond is not None:
        if not callable(respond):
            raise TypeError(f"handler must be a callable, not {type(respond).__name__}")
        return Handler(respond)
    fixed = _json(answer, "the answer")
    return Handler(lambda body: fixed)


def method_name(method: Any) -> str:
    """The method, upper case, if it is an HTTP method name."""
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ValueError(f"method must be an HTTP method such as 'POST', got {method!r}")
    return method.upper()


def json_path(path: Any) -> str:
    """``path`` decoded, if it is a path below the base URL without a query or fragment."""
    if not isinstance(path, str) or not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError(f"path must start with '/' and have no query or fragment, got {path!r}")
    return "/".join(split_path(path))


def _json_object(value: Any, what: str) -> Node:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict or a pydantic model, not {type(value).__name__}")
    node: Node = _json(dict(value), what)
    return node


def _json(value: Any, what: str) -> Any:
    """A copy of ``value`` through JSON, so it is JSON and changing ``value`` changes nothing."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} is not JSON-shaped: {exc}") from None
