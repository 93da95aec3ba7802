"""Running one endpoint's subcommand: fetch its page, pages or object, and print them."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from amazon_music_browse._client import BrowseClient
from amazon_music_browse._endpoint import Endpoint
from amazon_music_browse._models import ResponseCollection

from ._output import Writer, write_json
from ._parser import path_params
from ._table import footer, render_table, terminal_width, where_next

__all__ = ["run_command"]


@dataclass
class _Listing:
    """The pages a subcommand fetches, and what is known about them once read."""

    pages: Iterable[ResponseCollection[Any]]
    next_cursor: Callable[[], str | None]
    finished: Callable[[], bool]
    paginated: bool
    page_count: int = 0
    owner: BaseModel | None = None

    def items(self) -> Iterator[BaseModel]:
        for page in self.pages:
            self.page_count += 1
            self.owner = page.owner or self.owner
            yield from page


def _listing(client: BrowseClient, endpoint: Endpoint[Any], args: argparse.Namespace) -> _Listing:
    """One page, or (with ``--all`` or ``--max-items``) a paginator's pages."""
    params: dict[str, Any] = path_params(args, endpoint)  # keywords beside the options
    if args.all_items or args.max_items is not None:
        paginator = client.paginate(
            endpoint, page_size=args.limit, max_items=args.max_items, cursor=args.cursor, **params
        )
        return _Listing(
            paginator.pages(),
            lambda: paginator.cursor,
            lambda: paginator.finished,
            paginated=True,
        )
    page = client.get_page(endpoint, limit=args.limit, cursor=args.cursor, **params)
    return _Listing(
        [page], lambda: page.next_cursor, lambda: page.next_cursor is None, paginated=False
    )


def run_command(
    client: BrowseClient,
    endpoint: Endpoint[Any],
    args: argparse.Namespace,
    out: Writer,
    err: Writer,
) -> None:
    """Call ``endpoint`` and print its items as JSON lines or as a table with a footer.

    With ``--json``, stdout holds only the items; where to resume goes to ``err``.
    """
    if not endpoint.is_collection:
        item = client.get_object(endpoint, **path_params(args, endpoint))
        if args.json:
            write_json(out, item)
        else:
            out.write("\n".join(render_table([item], endpoint.model, terminal_width())) + "\n")
        return
    listing = _listing(client, endpoint, args)
    if args.json:
        for item in listing.items():
            write_json(out, item)
        if not listing.finished():
            out.flush()  # the items are written before the hint that follows them is shown
            err.write(where_next(False, listing.next_cursor()) + "\n")
        return
    items = list(listing.items())
    lines = render_table(items, endpoint.model, terminal_width()) if items else ["(no items)"]
    for line in lines:
        out.write(line + "\n")
    text = footer(
        len(items),
        listing.page_count if listing.paginated else None,
        listing.finished(),
        listing.next_cursor(),
        owner=listing.owner,
        owner_key=endpoint.owner_key,
    )
    out.write(text + "\n")
