"""The demo: every endpoint, a walk over several pages and two errors, printed as it goes.

On the sandbox, it signs in first, both ways (`._demo_signin`), and the walk sends the
token it got.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from amazon_music_browse import endpoints as ep
from amazon_music_browse._client import BrowseClient
from amazon_music_browse._display import printable
from amazon_music_browse._endpoint import Endpoint
from amazon_music_browse._errors import NotFoundError

from ._demo_signin import signed_in
from ._output import Writer
from ._parser import PROG
from ._request_log import RequestLog
from ._subcommands import EXAMPLES, SUBCOMMANDS, method_name
from ._table import footer, plural, render_table, terminal_width

if TYPE_CHECKING:
    from amazon_music_browse.sandbox import SandboxServer

__all__ = ["run_demo", "run_sandbox_demo"]

_ROWS = 3
_PAGE_SIZE = 100
_MAX_ITEMS = 250
_BAD_LIMIT = 50
_PAGINATED_CATEGORY = "E9UEPoEH"  # Sacred Steel: more than 250 tracks in the sandbox
_UNKNOWN_CATEGORY = "no-such-category"
_INDENT = "   "


def _method(endpoint: Endpoint[Any]) -> str:
    """The name of ``BrowseClient``'s method for ``endpoint``."""
    name = method_name(endpoint)
    if name is None:
        raise LookupError(f"BrowseClient has no method for {endpoint!r}")
    return name


def _example_values(endpoint: Endpoint[Any]) -> list[str]:
    """Example values of the endpoint's path parameters, in order."""
    return [EXAMPLES[parameter] for parameter in endpoint.path_params]


def _call_text(method: str, *values: str, **options: Any) -> str:
    """``client.get_category_tracks('2iB4IU25', limit=3)``."""
    arguments = [repr(value) for value in values]
    arguments += [f"{key}={value!r}" for key, value in options.items()]
    return f"client.{method}({', '.join(arguments)})"


class _Demo:
    """Walks through every endpoint, pagination and an error, printing as it goes."""

    def __init__(self, out: Writer) -> None:
        self.out = out
        self.requests = RequestLog()
        self.width = terminal_width() - len(_INDENT)
        self.step = 0
        self.sign_ins = 0  # the steps before the walk
        self.started = time.perf_counter()

    def say(self, text: str = "", *, indent: bool = True) -> None:
        """Print a line: indented under the step's heading, unless ``indent`` is false."""
        self.out.write(f"{_INDENT if indent and text else ''}{printable(text)}\n")

    def heading(self, title: str, call: str) -> None:
        """Start the next numbered step: its title and the call it makes."""
        self.step += 1
        self.say()
        self.say(f"{self.step}. {title}", indent=False)
        self.say(call)

    def show_requests(self) -> None:
        """Print the requests sent since the last time."""
        for line in self.requests.unshown():
            self.say(line)

    def table(self, items: Sequence[BaseModel], model: type[BaseModel]) -> None:
        """Print ``items`` as a table of ``model``'s columns."""
        for line in render_table(items, model, self.width):
            self.say(line)

    def intro(self, text: str) -> None:
        """Print the first line, and start the clock."""
        self.started = time.perf_counter()
        self.say(text, indent=False)

    def walk(self, client: BrowseClient) -> None:
        """Every endpoint, a walk over several pages and two errors, with ``client``."""
        self.sign_ins = self.step
        self.requests.watch(client.session)
        for endpoint in SUBCOMMANDS:
            self.endpoint(client, endpoint)
        self.pagination(client)
        self.errors(client)

    def finish(self) -> None:
        """Print what was shown, how long it took, and what to run next."""
        self.say()
        seconds = time.perf_counter() - self.started
        signing_in = f"{plural(self.sign_ins, 'sign-in')}, " if self.sign_ins else ""
        self.say(
            f"Done: {signing_in}{len(SUBCOMMANDS)} endpoints, pagination and errors in "
            f"{seconds:.1f} s, {plural(len(self.requests.sent), 'request')}.",
            indent=False,
        )
        example = [ep.CATEGORY_TRACKS.name or "", *_example_values(ep.CATEGORY_TRACKS)]
        self.say(
            f"Next: {PROG} {' '.join(example)} --max-items 5 --sandbox  "
            f"(add --json for JSON lines; {PROG} --help for more)",
            indent=False,
        )

    def endpoint(self, client: BrowseClient, endpoint: Endpoint[Any]) -> None:
        """One endpoint's step: the call, its request and the items (a few of them)."""
        name = _method(endpoint)
        method = getattr(client, name)
        values = _example_values(endpoint)
        summary = endpoint.summary or endpoint.path
        if not endpoint.is_collection:
            self.heading(summary, _call_text(name, *values))
            item = method(*values)
            self.show_requests()
            self.table([item], endpoint.model)
            return
        self.heading(summary, _call_text(name, *values, limit=_ROWS))
        page = method(*values, limit=_ROWS)
        self.show_requests()
        self.table(page.items, endpoint.model)
        self.say(
            footer(
                len(page),
                None,
                page.next_cursor is None,
                page.next_cursor,
                owner=page.owner,
                owner_key=endpoint.owner_key,
            )
        )

    def pagination(self, client: BrowseClient) -> None:
        """A walk over several pages, and its resumption from the cursor."""
        name = _method(ep.CATEGORY_TRACKS)
        method = getattr(client, name)
        walked = _PAGINATED_CATEGORY
        self.heading(
            "Pagination: follow the cursor, page after page",
            f"paginator = client.paginate(client.{name}, {walked!r}, "
            f"page_size={_PAGE_SIZE}, max_items={_MAX_ITEMS})",
        )
        paginator = client.paginate(method, walked, page_size=_PAGE_SIZE, max_items=_MAX_ITEMS)
        ids: set[str] = set()
        total = 0
        for number, page in enumerate(paginator.pages(), 1):
            total += len(page)
            ids.update(track.id for track in page)
            self.show_requests()
            self.say(f"  page {number}: {plural(len(page), 'item')}, {total} so far")
        self.say(
            f"{plural(total, 'item')}, {len(ids)} distinct ids; "
            f"paginator.finished = {paginator.finished}, paginator.cursor = {paginator.cursor!r}"
        )
        if paginator.finished:
            self.say("finished: that was the whole collection, there is nothing to resume")
            return
        self.say(
            f"resume: client.paginate(client.{name}, {walked!r}, "
            f"cursor=paginator.cursor, max_items={_ROWS})"
        )
        resumed = client.paginate(
            method, walked, cursor=paginator.cursor, max_items=_ROWS
        ).to_list()
        self.show_requests()
        self.table(resumed, ep.CATEGORY_TRACKS.model)

    def errors(self, client: BrowseClient) -> None:
        """A 404 and a limit refused before anything is sent, each its own exception."""
        name = _method(ep.CATEGORY)
        self.heading(
            "Errors: one exception class per failure",
            f"try: {_call_text(name, _UNKNOWN_CATEGORY)}",
        )
        try:
            getattr(client, name)(_UNKNOWN_CATEGORY)
        except NotFoundError as exc:
            self.show_requests()
            self.say(f"except NotFoundError: {exc}")
            self.say(f"  .status_code={exc.status_code} .code={exc.code!r}")
        name = _method(ep.TOP_TRACKS)
        self.say(f"try: {_call_text(name, limit=_BAD_LIMIT)}   # checked before anything is sent")
        try:
            getattr(client, name)(limit=_BAD_LIMIT)
        except ValueError as exc:
            self.say(f"except ValueError: {exc}")


def run_demo(client: BrowseClient, intro: str, out: Writer) -> None:
    """Walk through every endpoint, a multi-page pagination and an error, with ``client``."""
    demo = _Demo(out)
    demo.intro(intro)
    demo.walk(client)
    demo.finish()


def run_sandbox_demo(
    server: SandboxServer, client_options: Mapping[str, Any], intro: str, out: Writer
) -> None:
    """Sign in both ways on ``server``, then walk as `run_demo` does with the token got.

    Args:
        server: a running sandbox, started with `DEMO_SANDBOX`'s options.
        client_options: for its client (``timeout``, ``max_retries``...).
        intro: the first line.
        out: where to print.
    """
    demo = _Demo(out)
    demo.intro(intro)
    with signed_in(server, demo, demo.requests) as tokens:
        demo.say()
        demo.say(
            "The steps below send the token of step 1 (this sandbox accepts no other):",
            indent=False,
        )
        demo.say("client = sandbox.client(access_token=tokens)", indent=False)
        with server.client(**client_options, access_token=tokens) as client:
            demo.walk(client)
    demo.finish()
