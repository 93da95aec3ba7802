"""The subcommands, read from the endpoint table: names, path parameters, client methods.

Each entry of `amazon_music_browse.endpoints.ENDPOINTS` that has a ``name`` is a
subcommand; nothing here knows one endpoint from another.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Final

from amazon_music_browse._client import BrowseClient
from amazon_music_browse._endpoint import Endpoint, endpoint_of
from amazon_music_browse.endpoints import ENDPOINTS

__all__ = ["EXAMPLES", "SUBCOMMANDS", "method_name", "parameter_help", "parameter_metavar"]

SUBCOMMANDS: Final[tuple[Endpoint[Any], ...]] = tuple(e for e in ENDPOINTS if e.name)
"""Every endpoint with a name, in the table's order (the Browse page's)."""

EXAMPLES: Final[dict[str, str]] = {"category_id": "2iB4IU25"}
"""A value of each path parameter that the sandbox and the service both know (Heavy Metal,
from the Browse page's examples): shown in help texts and used by the demo."""


def parameter_metavar(endpoint: Endpoint[Any], parameter: str) -> str:
    """How a path parameter shows in usage: its name in capitals, less a first word that
    the subcommand's name starts with (``category-tracks ID`` for ``{category_id}``,
    ``episodes SHOW_ID`` for ``{show_id}``)."""
    first_word = (endpoint.name or "").split("-")[0]
    rest = parameter.removeprefix(f"{first_word}_") if first_word else parameter
    return (rest or parameter).upper()


def parameter_help(parameter: str) -> str:
    """``a category id, like 2iB4IU25``: the parameter's name in words, and an example."""
    words = parameter.replace("_", " ")
    text = f"{'an' if words[:1] in tuple('aeiou') else 'a'} {words}"
    example = EXAMPLES.get(parameter)
    return f"{text}, like {example}" if example else text


@functools.cache
def method_name(endpoint: Endpoint[Any]) -> str | None:
    """The name of the `BrowseClient` method that calls ``endpoint``, if there is one.

    A list method carries its endpoint's mark (`list_endpoint`); an object endpoint's
    method is the one unmarked method that takes exactly the endpoint's path parameters
    and returns its model (``get_category(category_id) -> Category``).
    """
    matches = []
    for name, function in inspect.getmembers(BrowseClient, inspect.isfunction):
        if name.startswith("_"):
            continue
        if endpoint.is_collection:
            if endpoint_of(function) == endpoint:
                return name
        elif endpoint_of(function) is None and _answers(function, endpoint):
            matches.append(name)
    return matches[0] if len(matches) == 1 else None


def _answers(function: Any, endpoint: Endpoint[Any]) -> bool:
    """Whether ``function(self, <path parameters>)`` is declared to return the model."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    if tuple(parameter.name for parameter in parameters) != endpoint.path_params:
        return False
    try:
        returns = typing.get_type_hints(function).get("return")
    except (NameError, TypeError):  # an annotation that cannot be evaluated here
        return False
    return returns is endpoint.model
