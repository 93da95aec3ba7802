"""The sandbox's one route table: what it answers, by method and path template.

A `Route` is one method and one path template (``/v1/browse/categories/{category_id}``).
It holds the resources served at it, keyed by their path parameters, and may have a
``resolve`` fallback that finds the others (the Browse routes find theirs in the catalog).
A request is matched on its decoded path segments: a ``{name}`` takes any non-empty
segment, so an encoded ``/`` in an id never changes the route. No route for the path:
404; routes only for other methods: 405 naming them.
"""

from __future__ import annotations

import re
import string
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from amazon_music_browse import Endpoint

from ._catalog import Items
from ._http import ApiError, Node

__all__ = ["Collection", "Handler", "Resource", "Route", "RouteTable", "Single"]


@dataclass(frozen=True)
class Collection:
    """A collection, paged by `limit` and signed cursors of ``scope``.

    ``owner`` holds the fields of the object around it (at ``endpoint.owner_key``);
    ``edge_cursors`` gives each edge an ``"<index>:<id>"`` cursor; ``local_images`` makes
    the covers stored as paths absolute URLs on the sandbox.
    """

    endpoint: Endpoint[Any]
    items: Items
    scope: str
    owner: Node | None = None
    edge_cursors: bool = False
    local_images: bool = False


@dataclass(frozen=True)
class Single:
    """One object, answered along ``endpoint.key_path``."""

    endpoint: Endpoint[Any]
    node: Node


@dataclass(frozen=True)
class Handler:
    """A response made per request by ``respond(body)``, from the request's JSON body."""

    respond: Callable[[Any], Any]


Resource = Collection | Single | Handler
Resolve = Callable[[Mapping[str, str]], Resource]
"""Finds the resource for path parameters, or raises a 404 `ApiError`."""


class Route:
    """One method and path template, with the resources served at it.

    Args:
        method: the HTTP method, upper case.
        template: the path (decoded), with ``{name}`` for each parameter; a parameter
            takes a non-empty part of one segment.
        resolve: finds a resource that was not served explicitly; None: only those.
        literal: the template has no parameters, even if it holds braces.
    """

    def __init__(
        self, method: str, template: str, resolve: Resolve | None = None, *, literal: bool = False
    ) -> None:
        self.method = method
        self.template = template
        self.resolve = resolve
        self.literal = literal
        self.params: list[str] = []
        self._segments: list[re.Pattern[str]] = []
        self.specificity = 0
        """How many characters of the template are literal: the more, the earlier it is tried."""
        for part in template.split("/"):
            pieces = [(part, None)] if literal else string.Formatter().parse(part)
            pattern = ""
            for text, name, *_ in pieces:
                pattern += re.escape(text)
                self.specificity += len(text)
                if name is not None:
                    self.params.append(name)
                    pattern += f"(?P<{name}>.+)"
            self._segments.append(re.compile(pattern, re.DOTALL))
        self.served: dict[tuple[str, ...], Resource] = {}

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The path parameters of a path (its decoded segments) that fits, or None."""
        if len(segments) != len(self._segments):
            return None
        values: dict[str, str] = {}
        for pattern, segment in zip(self._segments, segments, strict=True):
            matched = pattern.fullmatch(segment)
            if matched is None:
                return None
            values.update(matched.groupdict())
        return values


class RouteTable:
    """The routes of the sandbox; served resources can be added while it runs.

    Args:
        routes: the routes to start with.
    """

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._lock = threading.Lock()
        self._routes: list[Route] = list(routes)

    def add(
        self,
        method: str,
        template: str,
        params: Mapping[str, str],
        resource: Resource,
        *,
        literal: bool = False,
    ) -> None:
        """Serve ``resource`` at ``template`` with these path parameters (replacing one)."""
        with self._lock:
            route = next(
                (
                    r
                    for r in self._routes
                    if (r.method, r.template, r.literal) == (method, template, literal)
                ),
                None,
            )
            if route is None:
                route = Route(method, template, literal=literal)
                self._routes.append(route)
            route.served[tuple(params[name] for name in route.params)] = resource

    def find(self, method: str, segments: Sequence[str], path: str) -> Resource:
        """The resource for a request.

        A resource served at a matching route wins; else the most literal matching route
        that resolves one.

        Raises:
            ApiError: 404 when nothing is there, 405 when only other methods are.
        """
        with self._lock:
            matches = [(route, route.match(segments)) for route in self._routes]
        found = [(route, params) for route, params in matches if params is not None]
        candidates = sorted(
            ((route, params) for route, params in found if route.method == method),
            key=lambda match: -match[0].specificity,
        )
        if found and not candidates:
            allowed = ", ".join(sorted({route.method for route, _ in found}))
            raise ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"Method {method} is not allowed on {path}; use {allowed}.",
                (("Allow", allowed),),
            )
        for route, params in candidates:
            resource = route.served.get(tuple(params[name] for name in route.params))
            if resource is not None:
                return resource
        for route, params in candidates:
            if route.resolve is not None:
                return route.resolve(params)
        raise ApiError(404, "RESOURCE_NOT_FOUND", f"No resource at {path}.")
