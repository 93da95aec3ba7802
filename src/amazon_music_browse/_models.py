"""The pydantic models of the Browse API's data.

Attributes are snake_case, the JSON is camelCase; unknown fields are kept, so nothing the
service adds is lost, and ``model_dump(by_alias=True, exclude_unset=True)`` gives back the
API's own JSON shape. URLs are plain ``str``: the documented data has raw spaces in them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, overload

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from typing_extensions import Self


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
        coerce_numbers_to_str=True,  # an id sent as a JSON number is still an id
    )


Number = int | float
"""A count or size: ``int`` when the JSON had a whole number, ``float`` when it had a fraction."""


class Image(_APIModel):
    """A picture, usually a cover: its ``url`` and, when known, its size in pixels."""

    url: str | None = None
    width: Number | None = None
    height: Number | None = None


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
    duration: Number | None = None
    if TYPE_CHECKING:
        images: list[Image]
    else:  # ``null`` is accepted and read as no images
        images: list[Image] | None = Field(default_factory=list)
    track_count: Number | None = None

    @model_validator(mode="after")
    def _no_images_when_null(self) -> Self:
        if self.images is None:
            self.images = []
        return self


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


def _is_model_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _generic_origin(cls: type[BaseModel]) -> type[BaseModel]:
    """``ResponseCollection`` for ``ResponseCollection[Track]`` (and for itself)."""
    origin: type[BaseModel] | None = cls.__pydantic_generic_metadata__["origin"]
    return origin or cls


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
    """Whether another page exists, and the token that asks for it.

    When the service leaves out ``hasNextPage`` (or sends ``null``), a page has a next one
    exactly when it carries a token.
    """

    if TYPE_CHECKING:
        has_next_page: bool
    else:
        has_next_page: bool | None = None
    token: str | None = None

    @model_validator(mode="after")
    def _next_page_when_unsaid(self) -> Self:
        if self.has_next_page is None:
            self.has_next_page = self.token is not None
        return self


class Edge(_PicklableGeneric, Generic[ItemT]):
    """One item of a collection (``node``) and, on some endpoints, its own ``cursor``."""

    node: ItemT
    cursor: str | None = None


class ResponseInfo(NamedTuple):
    """What the HTTP response that carried a page said beside its body."""

    status_code: int
    elapsed: float
    request_id: str | None


class ResponseCollection(_PicklableGeneric, Generic[ItemT]):
    """One page of a collection; also a small read-only sequence of its items.

    ``for item in page``, ``len(page)``, ``page[0]`` and ``page.items`` work on the items;
    ``page.next_cursor`` is what to pass as ``cursor`` for the next page, or ``None``.
    ``page.owner`` is the object that wraps the collection, when its endpoint names one
    (`Endpoint`'s ``owner_key``); on the category collection endpoints ``page.category``
    is that same `Category`.

    ``page.request_id``, ``page.status_code`` and ``page.elapsed`` describe the HTTP
    response that carried the page (``None`` for a page built from JSON by hand); they are
    not fields (``model_dump()`` leaves them out) but survive pickling.

    ``repr(page)`` is one short line (type, item count, category, next cursor);
    ``str(page)`` adds one line per item; in Jupyter a page shows as an HTML table, with
    cover thumbnails where the items have images. ``page.to_dicts()`` gives plain rows,
    e.g. for ``pandas.DataFrame(page.to_dicts())``. None of these sends a request.
    """

    if TYPE_CHECKING:
        page_info: PageInfo
        edge_count: int
        edges: list[Edge[ItemT]]
    else:  # ``null`` or nothing reads as no next page and no count; ``null`` as no edges
        page_info: PageInfo | None = None
        edge_count: int | None = None
        edges: list[Edge[ItemT]] | None
    owner: Any = Field(default=None, exclude=True)
    category: Category | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _fill_what_is_unsaid(self) -> Self:
        # An "after" validator: a "before" one would make pydantic build Python dicts of
        # the whole page first, which doubles the cost of parsing.
        if self.edges is None:
            self.edges = []
        if self.edge_count is None:
            self.edge_count = len(self.edges)
        if self.page_info is None:
            self.page_info = PageInfo(has_next_page=False)
        return self

    @property
    def from_cache(self) -> bool:
        """Whether the response cache served this page (no request was sent for it).

        A page revalidated with the service (``304 Not Modified``) is served from the
        cache too. Not part of ``model_dump()``; kept by pickling.
        """
        private = self.__pydantic_private__
        return bool(private and private.get("from_cache"))

    def _mark_from_cache(self) -> None:
        """Remember that the response cache served this page (see `_attach_response`)."""
        self._private()["from_cache"] = True

    @property
    def items(self) -> list[ItemT]:
        """The items of this page, in order."""
        return [edge.node for edge in self.edges]

    def _attach_response(self, info: ResponseInfo) -> None:
        """Remember the response that carried this page, beside its data.

        It is kept in pydantic's ``__pydantic_private__`` (pickled and copied with the
        model, left out of dumps) without declaring a private attribute: a declared one
        makes pydantic initialise it in Python for every page parsed, ~10 µs a call.
        """
        self._private()["response"] = info

    def _private(self) -> dict[str, Any]:
        """Pydantic's private dict of this page, made on first use."""
        private = self.__pydantic_private__
        if private is None:
            private = {}
            object.__setattr__(self, "__pydantic_private__", private)
        return private

    @property
    def _response(self) -> ResponseInfo | None:
        private = self.__pydantic_private__
        return None if private is None else private.get("response")

    @property
    def request_id(self) -> str | None:
        """The service's ``x-amzn-RequestId`` for this page: quote it to Amazon's support."""
        response = self._response
        return None if response is None else response.request_id

    @property
    def status_code(self) -> int | None:
        """The HTTP status of the response that carried this page."""
        response = self._response
        return None if response is None else response.status_code

    @property
    def elapsed(self) -> float | None:
        """Seconds the request for this page took, from sending it to reading the body.

        The last attempt's: waits and failed attempts before it are not counted.
        """
        response = self._response
        return None if response is None else response.elapsed

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

    def __eq__(self, other: object) -> bool:
        """Pages are equal when their data are; the responses that carried them don't count."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return (
            isinstance(other, ResponseCollection)
            and _generic_origin(type(self)) is _generic_origin(type(other))
            and self.__dict__ == other.__dict__
            and self.__pydantic_extra__ == other.__pydantic_extra__
        )

    def to_dicts(self, *, by_alias: bool = False) -> list[dict[str, Any]]:
        """The items as plain JSON-ready dicts, one per item, e.g. for ``pandas.DataFrame``.

        Each row is ``item.model_dump(mode="json")``: every documented field (``None`` when
        not sent) under its snake_case attribute name, plus any unknown field under the name
        the service sent. Nothing is lost or flattened: a playlist's ``images`` stays a list
        of ``{"url", "width", "height"}`` dicts (``row["images"][0]["url"]`` is the cover),
        and ``Playlist.model_validate(row)`` gives the item back.

        Args:
            by_alias: use the API's camelCase names (``trackCount``) instead.
        """
        return [edge.node.model_dump(mode="json", by_alias=by_alias) for edge in self.edges]

    def __repr__(self) -> str:
        """``ResponseCollection[Track](3 items, next_cursor='…')``: short, whatever the size."""
        count = len(self.edges)
        parts = [f"{count} item{'' if count == 1 else 's'}"]
        if self.category is not None:
            parts.append(f"category={self.category.id!r}")
        parts.append(f"next_cursor={self.next_cursor!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __str__(self) -> str:
        """The ``repr`` line, then one line per item (id and title or name), capped.

        Text for a terminal: line breaks become spaces, and control characters, escape
        sequences and bidi overrides are replaced (``repr`` escapes them already).
        """
        from . import _display  # loaded on first use, not with the client

        lines = [repr(self), *(f"  {line}" for line in _display.item_lines(self.items))]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """An HTML table of the items for Jupyter (escaped; no request is sent)."""
        from . import _display  # loaded on first use, not with the client

        count = len(self.edges)
        caption = [f"{type(self).__name__}: {count} item{'' if count == 1 else 's'}"]
        if self.category is not None:
            name = f" {self.category.name}" if self.category.name else ""
            caption.append(f"category{name} ({self.category.id})")
        cursor = self.next_cursor
        caption.append("last page" if cursor is None else f"next_cursor {cursor!r}")
        args = type(self).__pydantic_generic_metadata__["args"]
        item_type = args[0] if args and _is_model_class(args[0]) else None
        return _display.table_html(self.items, caption=" · ".join(caption), item_type=item_type)

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
