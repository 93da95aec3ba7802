"""The ``amazon-music-browse`` command line: one subcommand per endpoint, and ``demo``.

```
amazon-music-browse demo                                  # every endpoint, on the sandbox
amazon-music-browse top-tracks --limit 5 --sandbox
amazon-music-browse category-tracks 2iB4IU25 --all --json | head
```

Credentials come from ``AMAZON_MUSIC_API_KEY`` and ``AMAZON_MUSIC_ACCESS_TOKEN`` unless
``--sandbox`` runs the command against the embedded sandbox. Errors are one line on
stderr. Exit codes: 0 done, 1 API, network or output error, 2 usage or configuration
error, 130 interrupted, 141 stdout closed early (a broken pipe). Any other exception is
a bug: it propagates, with its traceback, and Python exits with 1.
"""

from __future__ import annotations

import argparse
import codecs
import errno
import io
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TextIO

import requests
from pydantic import BaseModel

from . import endpoints as ep
from ._arguments import check_cursor, check_limit, check_path_param
from ._client import BrowseClient
from ._constants import DEFAULT_BASE_URL, ENV_ACCESS_TOKEN, ENV_API_KEY
from ._display import printable
from ._endpoint import Endpoint
from ._errors import AmazonMusicError, ConfigurationError, NotFoundError
from ._models import Album, Category, Episode, Playlist, ResponseCollection, Track
from ._version import __version__

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["COMMANDS", "Command", "main"]

PROG = "amazon-music-browse"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141

logger = logging.getLogger("amazon_music_browse.cli")


# -- the subcommands ------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, the client method it calls, and a one-line summary."""

    name: str
    method: str
    summary: str

    @property
    def endpoint(self) -> Endpoint[Any]:
        """The endpoint of the subcommand's name."""
        return next(endpoint for endpoint in ep.ENDPOINTS if endpoint.name == self.name)

    @property
    def takes_id(self) -> bool:
        """Whether the command takes a category id."""
        return "category_id" in self.endpoint.path_params

    @property
    def is_list(self) -> bool:
        """Whether the command lists a collection (and so takes paging options)."""
        return self.endpoint.limits is not None


COMMANDS: tuple[Command, ...] = (
    Command("top-tracks", "get_top_tracks", "Top tracks"),
    Command("top-playlists", "get_top_playlists", "Top playlists"),
    Command("new-episodes", "get_new_podcast_episodes", "New podcast episodes"),
    Command("categories", "get_categories", "All categories"),
    Command("category", "get_category", "One category"),
    Command("category-albums", "get_category_albums", "A category's albums"),
    Command("category-playlists", "get_category_playlists", "A category's playlists"),
    Command("category-tracks", "get_category_tracks", "A category's tracks"),
)
"""Every subcommand, in the order of the Browse page."""


# -- tables ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    header: str
    value: Callable[[Any], object]
    right: bool = False
    flexible: bool = False


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02}:{rest % 60:02}"


_ID = _Column("ID", lambda item: item.id)
_TITLE = _Column("TITLE", lambda item: getattr(item, "title", None), flexible=True)
_COLUMNS: dict[type[BaseModel], tuple[_Column, ...]] = {
    Track: (_ID, _TITLE),
    Album: (_ID, _TITLE),
    Episode: (_ID, _TITLE),
    Playlist: (
        _ID,
        _TITLE,
        _Column("DURATION", lambda item: _duration(item.duration), right=True),
        _Column("TRACKS", lambda item: item.track_count, right=True),
    ),
    Category: (
        _ID,
        _Column("NAME", lambda item: item.name, flexible=True),
        _Column("TYPE", lambda item: item.category_type),
    ),
}
_GAP = "  "
_MIN_FLEXIBLE_WIDTH = 12


def _cell(value: object) -> str:
    """A value as one line of printable text (no line breaks or terminal escapes)."""
    return "" if value is None else printable(str(value)).strip()


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def render_table(items: Sequence[BaseModel], model: type[BaseModel], width: int) -> list[str]:
    """The lines of an aligned table of ``items``, at most ``width`` characters wide.

    Columns that are empty in every row (a category type that is never sent) are left
    out; the title or name column is cut with "…" when the rows would not fit.
    """
    columns = _COLUMNS[model]
    rows = [[_cell(column.value(item)) for column in columns] for item in items]
    keep = [i for i, column in enumerate(columns) if i == 0 or any(row[i] for row in rows)]
    columns = tuple(columns[i] for i in keep)
    rows = [[row[i] for i in keep] for row in rows]
    widths = [max([len(c.header)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    excess = sum(widths) + len(_GAP) * (len(widths) - 1) - width
    for i, column in enumerate(columns):
        if excess > 0 and column.flexible:
            shrunk = max(_MIN_FLEXIBLE_WIDTH, widths[i] - excess)
            excess -= widths[i] - shrunk
            widths[i] = shrunk
    lines = []
    for cells in [[c.header for c in columns], *rows]:
        parts = [
            _fit(text, w).rjust(w) if column.right else _fit(text, w).ljust(w)
            for text, w, column in zip(cells, widths, columns, strict=True)
        ]
        lines.append(_GAP.join(parts).rstrip())
    return lines


def _terminal_width() -> int:
    return shutil.get_terminal_size().columns


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _where_next(finished: bool, cursor: str | None) -> str:
    """``end of list``, or where a later run resumes (``--cursor``)."""
    if finished:
        return "end of list"
    if cursor:
        return f"next cursor: {_cell(cursor)}"
    return "not finished: run again without --cursor to resume"  # cut in the first page


def _footer(
    count: int, pages: int | None, category: Category | None, finished: bool, cursor: str | None
) -> str:
    parts = [_plural(count, "item")]
    if pages is not None:
        parts[0] += f" in {_plural(pages, 'page')}"
    if category is not None:
        parts.append(f"category: {_cell(category.name or '?')} ({_cell(category.id)})")
    parts.append(_where_next(finished, cursor))
    return " · ".join(parts)


# -- writing --------------------------------------------------------------------------


class Writer(Protocol):
    """Where the command line writes: a text stream, or an `_Output` around one."""

    @property
    def encoding(self) -> str | None: ...

    def write(self, text: str, /) -> object: ...


def _closed() -> OSError:
    return OSError(errno.EBADF, "it is closed")


class _OutputError(Exception):
    """Writing to stdout or stderr failed: a full disk, a closed pipe or descriptor."""

    def __init__(self, stream: _Output, error: OSError) -> None:
        super().__init__(f"cannot write to {stream.name}: {error.strerror or error}")
        self.stream = stream
        self.error = error


class _Output:
    """A text stream whose write failures are told apart from every other ``OSError``."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self.name = name

    @property
    def encoding(self) -> str | None:
        """The stream's encoding (``None`` for a stream of ``str``, like `io.StringIO`)."""
        return getattr(self._stream, "encoding", None)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise _OutputError(self, exc) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise _OutputError(self, exc) from exc

    def discard(self) -> None:
        """Point the stream's descriptor at devnull, so the flush at exit cannot fail too."""
        try:
            descriptor = self._stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
        except (OSError, ValueError):  # no descriptor (a stream in memory)
            return
        try:
            os.dup2(devnull, descriptor)
        except OSError:
            pass
        finally:
            os.close(devnull)


def _json_escapes(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: the characters an encoding cannot take, as JSON escapes."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escapes = []
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if code > 0xFFFF:  # a surrogate pair, as json.dumps(ensure_ascii=True) writes it
            code -= 0x10000
            escapes.append(f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}")
        else:
            escapes.append(f"\\u{code:04x}")
    return "".join(escapes), error.end


_JSON_ESCAPES = "amazon_music_browse.json_escapes"
codecs.register_error(_JSON_ESCAPES, _json_escapes)


def json_line(item: BaseModel, encoding: str | None = None) -> str:
    """``item`` as one JSON line in the API's shape, every character of it writable.

    Characters ``encoding`` can take are kept as they are; the rest (and lone
    surrogates, which no encoding takes) become ``\\uXXXX`` escapes, so the line
    decodes to the same value whatever the stream: nothing is replaced with ``?``.
    """
    document = item.model_dump(by_alias=True, exclude_unset=True, mode="json")
    text = json.dumps(document, ensure_ascii=False)
    if text.isascii():
        return text
    try:
        return text.encode(encoding or "utf-8", _JSON_ESCAPES).decode(encoding or "utf-8")
    except LookupError:  # an encoding Python does not know: plain ASCII is safe
        return json.dumps(document)


def write_json(out: Writer, item: BaseModel) -> None:
    """Write ``item`` to ``out`` as one JSON line that ``out``'s encoding can take."""
    out.write(json_line(item, out.encoding) + "\n")


# -- running a subcommand -------------------------------------------------------------


@dataclass
class _Listing:
    """The pages a subcommand fetches, and what is known about them once read."""

    pages: Iterable[ResponseCollection[Any]]
    next_cursor: Callable[[], str | None]
    finished: Callable[[], bool]
    paginated: bool
    page_count: int = 0
    category: Category | None = None

    def items(self) -> Iterator[BaseModel]:
        for page in self.pages:
            self.page_count += 1
            self.category = page.category or self.category
            yield from page


def _listing(client: BrowseClient, command: Command, args: argparse.Namespace) -> _Listing:
    method = getattr(client, command.method)
    ids = (args.category_id,) if command.takes_id else ()
    if args.all_items or args.max_items is not None:
        paginator = client.paginate(
            method, *ids, page_size=args.limit, max_items=args.max_items, cursor=args.cursor
        )
        return _Listing(
            paginator.pages(),
            lambda: paginator.cursor,
            lambda: paginator.finished,
            paginated=True,
        )
    page: ResponseCollection[Any] = method(*ids, limit=args.limit, cursor=args.cursor)
    return _Listing(
        [page], lambda: page.next_cursor, lambda: page.next_cursor is None, paginated=False
    )


def run_command(
    client: BrowseClient, command: Command, args: argparse.Namespace, out: Writer, err: Writer
) -> None:
    """Call one endpoint and print its items as JSON lines or as a table."""
    model = command.endpoint.model
    if not command.is_list:
        item = getattr(client, command.method)(args.category_id)
        if args.json:
            write_json(out, item)
        else:
            out.write("\n".join(render_table([item], model, _terminal_width())) + "\n")
        return
    listing = _listing(client, command, args)
    if args.json:
        for item in listing.items():
            write_json(out, item)
        if not listing.finished():
            err.write(_where_next(False, listing.next_cursor()) + "\n")
        return
    items = list(listing.items())
    for line in render_table(items, model, _terminal_width()) if items else ["(no items)"]:
        out.write(line + "\n")
    pages = listing.page_count if listing.paginated else None
    footer = _footer(len(items), pages, listing.category, listing.finished(), listing.next_cursor())
    out.write(footer + "\n")


# -- demo -----------------------------------------------------------------------------

_DEMO_CATEGORY = "2iB4IU25"
_DEMO_PAGINATED_CATEGORY = "E9UEPoEH"
_DEMO_UNKNOWN_CATEGORY = "no-such-category"
_DEMO_ROWS = 3
_DEMO_MAX_ITEMS = 250
_INDENT = "   "


class _RequestLog:
    """Records the requests a client sends (a ``requests`` response hook)."""

    def __init__(self, session: requests.Session) -> None:
        self.sent: list[str] = []
        self._shown = 0
        session.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        self.sent.append(
            f"{request.method} {request.path_url} -> {response.status_code} {response.reason}"
        )

    def unshown(self) -> list[str]:
        """The requests sent since the last call."""
        lines, self._shown = self.sent[self._shown :], len(self.sent)
        return lines


def _call_text(command: Command, category_id: str | None, **options: Any) -> str:
    arguments = [repr(category_id)] if category_id is not None else []
    arguments += [f"{key}={value!r}" for key, value in options.items()]
    return f"client.{command.method}({', '.join(arguments)})"


class _Demo:
    """Walks through every endpoint, pagination and an error, printing as it goes."""

    def __init__(self, client: BrowseClient, out: Writer) -> None:
        self.client = client
        self.out = out
        self.requests = _RequestLog(client.session)
        self.width = _terminal_width() - len(_INDENT)
        self.step = 0

    def say(self, text: str = "", *, indent: bool = True) -> None:
        self.out.write(f"{_INDENT if indent and text else ''}{printable(text)}\n")

    def heading(self, title: str, call: str) -> None:
        self.step += 1
        self.say()
        self.say(f"{self.step}. {title}", indent=False)
        self.say(call)

    def show_requests(self) -> None:
        for line in self.requests.unshown():
            self.say(line)

    def table(self, items: Sequence[BaseModel], model: type[BaseModel]) -> None:
        for line in render_table(items, model, self.width):
            self.say(line)

    def run(self, intro: str) -> None:
        started = time.perf_counter()
        self.say(intro, indent=False)
        for command in COMMANDS:
            self.endpoint(command)
        self.pagination()
        self.errors()
        self.say()
        seconds = time.perf_counter() - started
        self.say(
            f"Done: {len(COMMANDS)} endpoints, pagination and errors in {seconds:.1f} s, "
            f"{_plural(len(self.requests.sent), 'request')}.",
            indent=False,
        )
        self.say(
            f"Next: {PROG} category-tracks {_DEMO_CATEGORY} --max-items 5 --sandbox  "
            f"(add --json for JSON lines; {PROG} --help for more)",
            indent=False,
        )

    def endpoint(self, command: Command) -> None:
        category_id = _DEMO_CATEGORY if command.takes_id else None
        ids = (category_id,) if category_id is not None else ()
        method = getattr(self.client, command.method)
        if not command.is_list:
            self.heading(command.summary, _call_text(command, category_id))
            category = method(*ids)
            self.show_requests()
            self.table([category], command.endpoint.model)
            return
        self.heading(command.summary, _call_text(command, category_id, limit=_DEMO_ROWS))
        page: ResponseCollection[Any] = method(*ids, limit=_DEMO_ROWS)
        self.show_requests()
        self.table(page.items, command.endpoint.model)
        self.say(
            _footer(len(page), None, page.category, page.next_cursor is None, page.next_cursor)
        )

    def pagination(self) -> None:
        command = next(c for c in COMMANDS if c.method == "get_category_tracks")
        category_id, page_size, max_items = _DEMO_PAGINATED_CATEGORY, 100, _DEMO_MAX_ITEMS
        self.heading(
            "Pagination: follow the cursor, page after page",
            f"paginator = client.paginate(client.{command.method}, {category_id!r}, "
            f"page_size={page_size}, max_items={max_items})",
        )
        paginator = self.client.paginate(
            self.client.get_category_tracks, category_id, page_size=page_size, max_items=max_items
        )
        ids: set[str] = set()
        total = 0
        for number, page in enumerate(paginator.pages(), 1):
            total += len(page)
            ids.update(track.id for track in page)
            self.show_requests()
            self.say(f"  page {number}: {_plural(len(page), 'item')}, {total} so far")
        self.say(
            f"{_plural(total, 'item')}, {len(ids)} distinct ids; "
            f"paginator.finished = {paginator.finished}, paginator.cursor = {paginator.cursor!r}"
        )
        if paginator.finished:
            self.say("finished: that was the whole collection, there is nothing to resume")
            return
        self.say(
            f"resume: client.paginate(client.{command.method}, {category_id!r}, "
            f"cursor=paginator.cursor, max_items={_DEMO_ROWS})"
        )
        resumed = self.client.paginate(
            self.client.get_category_tracks,
            category_id,
            cursor=paginator.cursor,
            max_items=_DEMO_ROWS,
        ).to_list()
        self.show_requests()
        self.table(resumed, Track)

    def errors(self) -> None:
        command = next(c for c in COMMANDS if c.method == "get_category")
        self.heading(
            "Errors: one exception class per failure",
            f"try: {_call_text(command, _DEMO_UNKNOWN_CATEGORY)}",
        )
        try:
            self.client.get_category(_DEMO_UNKNOWN_CATEGORY)
        except NotFoundError as exc:
            self.show_requests()
            self.say(f"except NotFoundError: {exc}")
            self.say(f"  .status_code={exc.status_code} .code={exc.code!r}")
        self.say("try: client.get_top_tracks(limit=50)   # checked before anything is sent")
        try:
            self.client.get_top_tracks(limit=50)
        except ValueError as exc:
            self.say(f"except ValueError: {exc}")


def run_demo(client: BrowseClient, intro: str, out: Writer) -> None:
    """Walk through every endpoint, a multi-page pagination and an error."""
    _Demo(client, out).run(intro)


# -- the parser -----------------------------------------------------------------------


class _UsageError(Exception):
    """Bad input on the command line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # argparse ignores failures to write --help or --version; this reports them.
        if not message:
            return
        if file is None:  # sys.stdout is None: started with descriptor 1 closed
            raise _closed()
        file.write(message)


def _undecodable(text: str) -> bool:
    """Whether ``text`` holds lone surrogates: bytes of ``argv`` that were not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _argument_type(name: str, check: Callable[[str], object]) -> Callable[[str], Any]:
    """An argparse type that runs one of the client's checks on the raw text."""

    def convert(text: str) -> Any:
        if not text.isascii() and _undecodable(text):
            raise argparse.ArgumentTypeError(f"holds bytes that are not UTF-8 text: {text!r}")
        try:
            return check(text)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def _limit_type(command: Command) -> Callable[[str], int]:
    low, high = command.endpoint.limits or (1, 1)

    def convert(text: str) -> int:
        try:
            value = check_limit(int(text), (low, high))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an int from {low} to {high} for {command.name}, got {text}"
            ) from None
        return value

    convert.__name__ = "limit"
    return convert


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, not {text!r}")
    return value


def _check_id(text: str) -> str:
    check_path_param("category_id", text)
    return text


def _add_connection_options(parser: argparse.ArgumentParser, *, top_level: bool) -> None:
    """Options every subcommand takes, before or after its name."""
    unset: Any = None if top_level else argparse.SUPPRESS
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--sandbox",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="start the embedded sandbox on a free port and run against it",
    )
    group.add_argument(
        "--base-url", metavar="URL", default=unset, help=f"API host (default {DEFAULT_BASE_URL})"
    )
    group.add_argument(
        "--timeout", type=float, metavar="SECONDS", default=unset, help="per request (default 30)"
    )
    group.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        default=unset,
        help="retries of 429, 5xx and network errors (default 2)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top_level else argparse.SUPPRESS,
        help="log to stderr: -v for INFO, -vv for DEBUG (every request)",
    )


def _add_command(subparsers: Any, command: Command) -> None:
    parser = subparsers.add_parser(
        command.name,
        help=f"{command.summary} ({command.endpoint.path})",
        description=f"{command.summary}: client.{command.method}(), GET {command.endpoint.path}.",
    )
    if command.takes_id:
        parser.add_argument(
            "category_id",
            metavar="ID",
            type=_argument_type("ID", _check_id),
            help=f"a category id, like {_DEMO_CATEGORY}",
        )
    if command.is_list:
        low, high = command.endpoint.limits or (1, 1)
        parser.add_argument(
            "--limit",
            type=_limit_type(command),
            metavar="N",
            help=f"items per page, {low} to {high} (default: the service's); "
            "one page unless --all or --max-items",
        )
        parser.add_argument(
            "--cursor",
            type=_argument_type("cursor", check_cursor),
            metavar="C",
            help="start after this cursor (from a previous page)",
        )
        paging = parser.add_mutually_exclusive_group()
        paging.add_argument(
            "--all", dest="all_items", action="store_true", help="every page, to the end"
        )
        paging.add_argument(
            "--max-items", type=_positive_int, metavar="N", help="pages until N items"
        )
    parser.add_argument("--json", action="store_true", help="print JSON lines, one per item")
    _add_connection_options(parser, top_level=False)
    parser.set_defaults(command=command)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``amazon-music-browse``."""
    parser = _Parser(
        prog=PROG,
        description="Browse the Amazon Music catalog (Web API v1). "
        f"Credentials: {ENV_API_KEY} and {ENV_ACCESS_TOKEN}, or --sandbox.",
        epilog=f"Start with: {PROG} demo",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_connection_options(parser, top_level=True)
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    demo = subparsers.add_parser(
        "demo",
        help="walk through every endpoint (on the sandbox when no credentials are set)",
        description="Call every endpoint, paginate and handle an error. Runs on the "
        "embedded sandbox unless credentials are set in the environment.",
    )
    _add_connection_options(demo, top_level=False)
    demo.set_defaults(command=None)
    for command in COMMANDS:
        _add_command(subparsers, command)
    return parser


# -- main -----------------------------------------------------------------------------


def _has_credentials() -> bool:
    return bool(os.environ.get(ENV_API_KEY) and os.environ.get(ENV_ACCESS_TOKEN))


@contextmanager
def _connect(args: argparse.Namespace, *, sandbox: bool) -> Iterator[BrowseClient]:
    """A client for the command: on a sandbox started for it, or on ``--base-url``."""
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if sandbox:
        from .sandbox import SandboxServer

        with SandboxServer() as server:
            logger.info("sandbox listening at %s", server.url)
            with server.client(**options) as client:
                yield client
        return
    missing = [name for name in (ENV_API_KEY, ENV_ACCESS_TOKEN) if not os.environ.get(name)]
    if missing:
        raise ConfigurationError(
            f"{' and '.join(missing)} not set: export {ENV_API_KEY} (your security profile "
            f"ID) and {ENV_ACCESS_TOKEN} (a Login with Amazon access token), or add "
            "--sandbox to run against the local sandbox"
        )
    if args.base_url is not None:
        options["base_url"] = args.base_url
    with BrowseClient(**options) as client:
        yield client


def _run(args: argparse.Namespace, out: Writer, err: Writer) -> None:
    if args.sandbox and args.base_url is not None:
        raise _UsageError("use either --sandbox or --base-url, not both")
    command: Command | None = args.command
    if command is not None:
        with _connect(args, sandbox=args.sandbox) as client:
            run_command(client, command, args, out, err)
        return
    sandbox = args.sandbox or (args.base_url is None and not _has_credentials())
    with _connect(args, sandbox=sandbox) as client:
        if args.sandbox:
            where = f"the local sandbox at {client.base_url} (--sandbox)"
        elif sandbox:
            where = (
                f"the local sandbox at {client.base_url} (no {ENV_API_KEY} and "
                f"{ENV_ACCESS_TOKEN} in the environment: set both to use the real service)"
            )
        else:
            where = (
                f"the service at {client.base_url} "
                f"(credentials from {ENV_API_KEY} and {ENV_ACCESS_TOKEN})"
            )
        run_demo(client, f"Amazon Music Browse API demo, on {where}", out)


@contextmanager
def _logging_to(stream: _Output, verbosity: int) -> Iterator[None]:
    """Send the package's log records to ``stream`` while a command runs."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    package = logging.getLogger("amazon_music_browse")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = package.level
    package.addHandler(handler)
    package.setLevel(level)
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(previous)


def _exit_code(error: Exception) -> int:
    """1 for what the service or the network did, 2 for what the command line asked."""
    if isinstance(error, AmazonMusicError) and not isinstance(error, ConfigurationError):
        return EXIT_ERROR
    return EXIT_USAGE


def _report(err: _Output, message: str, code: int) -> int:
    """Write ``error: message`` on one line (unless stderr is gone too) and return ``code``."""
    try:
        err.write(f"error: {printable(' '.join(message.split()))}\n")
        err.flush()
    except _OutputError as exc:  # the exit code says it all
        exc.stream.discard()
    return code


def _output_failed(error: _OutputError, err: _Output) -> int:
    """A broken pipe ends quietly with 141; any other write failure is an error, exit 1."""
    error.stream.discard()
    if isinstance(error.error, BrokenPipeError):
        return EXIT_BROKEN_PIPE
    return _report(err, str(error), EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Args:
        argv: the arguments after the program name; default ``sys.argv[1:]``.

    Returns:
        0 on success, 1 on an API, network or output error, 2 on a usage or
        configuration error, 130 when interrupted, 141 when stdout was closed early.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # a title the terminal cannot show: "?"
            stream.reconfigure(errors="replace")
    err = _Output(sys.stderr if sys.stderr is not None else io.StringIO(), "stderr")
    out = _Output(sys.stdout if sys.stdout is not None else io.StringIO(), "stdout")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # after --help or --version
        code = exc.code if isinstance(exc.code, int) else EXIT_OK
        try:
            out.flush()
        except _OutputError as error:
            return _output_failed(error, err)
        return code
    except _UsageError as exc:
        return _report(err, str(exc), EXIT_USAGE)
    except OSError as exc:  # writing --help or --version to stdout failed
        return _output_failed(_OutputError(out, exc), err)
    if sys.stdout is None:  # started with descriptor 1 closed
        return _output_failed(_OutputError(out, _closed()), err)
    with _logging_to(err, args.verbose):
        try:
            _run(args, out, err)
            out.flush()
        except _OutputError as exc:
            return _output_failed(exc, err)
        except KeyboardInterrupt:
            return _report(err, "interrupted", EXIT_INTERRUPTED)
        except (AmazonMusicError, _UsageError) as exc:
            logger.debug("the command failed", exc_info=True)
            return _report(err, str(exc), _exit_code(exc))
    return EXIT_OK
