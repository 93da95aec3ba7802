"""The pydantic models of the Browse API's data.

Attributes are snake_case, the JSON is camelCase; unknown fields are kept, so nothing the
service adds is lost, and ``model_dump(by_alias=True, exclude_unset=True)`` gives back the
API's own JSON shape. URLs are plain ``str``: the documented data has raw spaces in them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "Album",
    "Category",
    "Edge",
    "Episode",
    "Image",
    "PageInfo",
    "Playlist",
    "ResponseCollection",
    "Track",
]


class _APIModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        defer_build=True,
    )


class Image(_APIModel):
    """A picture, usually a cover: its ``url`` and, when known, its size in pixels."""

    url: str | None = None
    width: int | None = None
    height: int | None = None


class Track(_APIModel):
    """A track: ``id``, ``title``, ``url``, plus whatever else the service sends."""

    id: str
    title: str | None = None
    url: str | None = None


class Album(_APIModel):
    """An album: ``id``, ``title``, ``url``, plus whatever else the service sends."""

    id: str
    title: str | None = None
    url: str | None = None


class Playlist(_APIModel):
    """A playlist, with its length in seconds, its cover images and its track count."""

    id: str
    title: str | None = None
    url: str | None = None
    duration: int | None = None
    images: list[Image] = Field(default_factory=list)
    track_count: int | None = None


class Episode(_APIModel):
    """A podcast episode: ``id``, ``title``, ``url``, plus whatever else is sent."""

    id: str
    title: str | None = None
    url: str | None = None


class Category(_APIModel):
    """A category (a genre) used to tag catalog items."""

    id: str
    name: str | None = None
    url: str | None = None
    category_type: str | None = None


ItemT = TypeVar("ItemT", bound=BaseModel)


def _rebuild_generic(origin: Any, args: tuple[Any, ...], state: Any) -> Any:
    cls = origin[args if len(args) > 1 else args[0]]
    model = cls.__new__(cls)
    model.__setstate__(state)
    return model


class _PicklableGeneric(_APIModel):
    """Pickles a parametrised model (``Edge[Track]``) by its origin and arguments.

    Pickle finds a class by module and name, and ``Edge[Track]`` is nowhere to be found;
    it is parametrised again on unpickling instead.
    """

    def __reduce__(self) -> Any:
        metadata = type(self).__pydantic_generic_metadata__
        if metadata["origin"] is None:
            return super().__reduce__()
        return (_rebuild_generic, (metadata["origin"], metadata["args"], self.__getstate__()))


class PageInfo(_APIModel):
    """Whether another page exists, and the token that asks for it."""

    has_next_page: bool
    token: str | None = None


class Edge(_PicklableGeneric, Generic[ItemT]):
    """One item of a collection (``node``) and, on some endpoints, its own ``cursor``."""

    node: ItemT
    cursor: str | None = None


class ResponseCollection(_PicklableGeneric, Generic[ItemT]):
    """One page of a collection; also a small read-only sequence of its items.

    ``for item in page``, ``len(page)``, ``page[0]`` and ``page.items`` work on the items;
    ``page.next_cursor`` is what to pass as ``cursor`` for the next page, or ``None``.
    On the category collection endpoints ``page.category`` is the category that wraps it.
    """

    page_info: PageInfo
    edge_count: int
    edges: list[Edge[ItemT]]
    category: Category | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _count_edges_when_unsaid(cls, data: Any) -> Any:
        if isinstance(data, dict) and "edgeCount" not in data and "edge_count" not in data:
            edges = data.get("edges")
            if isinstance(edges, list):
                return {**data, "edgeCount": len(edges)}
        return data

    @property
    def items(self) -> list[ItemT]:
        """The items of this page, in order."""
        return [edge.node for edge in self.edges]

    @property
    def next_cursor(self) -> str | None:
        """The cursor of the next page, or ``None`` when this is the last page.

        ``None`` whenever ``hasNextPage`` is false; otherwise ``pageInfo.token``, or, when
        the service says there is a next page but sends no token, the last edge's
        ``cursor`` (else ``None``: without a cursor there is no way to ask for more).
        """
        if not self.page_info.has_next_page:
            return None
        if self.page_info.token:
            return self.page_info.token
        if self.edges and self.edges[-1].cursor:
            return self.edges[-1].cursor
        return None

    def __iter__(self) -> Iterator[ItemT]:  # type: ignore[override]
        """Iterate over the items (not the fields, as a plain pydantic model would)."""
        return (edge.node for edge in self.edges)

    def __len__(self) -> int:
        return len(self.edges)

    @overload
    def __getitem__(self, index: int) -> ItemT: ...
    @overload
    def __getitem__(self, index: slice) -> list[ItemT]: ...
    def __getitem__(self, index: int | slice) -> ItemT | list[ItemT]:
        if isinstance(index, slice):
            return [edge.node for edge in self.edges[index]]
        return self.edges[index].node
