"""The argument parser: one subcommand per named endpoint of the table, and ``demo``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from amazon_music_browse._arguments import check_cursor, check_limit, check_path_param
from amazon_music_browse._constants import (
    DEFAULT_BASE_URL,
    ENV_ACCESS_TOKEN,
    ENV_API_KEY,
    ENV_LWA_CLIENT_ID,
    ENV_LWA_CLIENT_SECRET,
    ENV_LWA_URL,
)
from amazon_music_browse._endpoint import Endpoint
from amazon_music_browse._version import __version__

from ._output import closed_error
from ._subcommands import SUBCOMMANDS, method_name, parameter_help, parameter_metavar

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["PROG", "UsageError", "build_parser", "path_params"]

PROG = "amazon-music-browse"
_PATH_PARAM = "path_param:"  # the prefix of a path parameter's dest, apart from the options


class UsageError(Exception):
    """Bad input on the command line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # argparse ignores failures to write --help or --version; this reports them.
        if not message:
            return
        if file is None:  # sys.stdout is None: started with descriptor 1 closed
            raise closed_error()
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


def _path_param_type(parameter: str, metavar: str) -> Callable[[str], str]:
    def check(text: str) -> str:
        check_path_param(parameter, text)
        return text  # as typed: the client encodes it when it sends

    return _argument_type(metavar, check)


def _limit_type(name: str, low: int, high: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            return check_limit(int(text), (low, high))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an int from {low} to {high} for {name}, got {text}"
            ) from None

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
        "--api-key",
        metavar="KEY",
        default=unset,
        help=f"your security profile ID (default: ${ENV_API_KEY})",
    )
    _add_verbose(group, top_level=top_level)
    _add_store_options(parser, top_level=top_level, login=False)


def _add_verbose(group: Any, *, top_level: bool) -> None:
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top_level else argparse.SUPPRESS,
        help="log to stderr: -v for INFO, -vv for DEBUG (every request)",
    )


def _add_store_options(parser: argparse.ArgumentParser, *, top_level: bool, login: bool) -> None:
    """Where the login is stored (``login``, ``logout``, and every API subcommand)."""
    unset: Any = None if top_level else argparse.SUPPRESS
    group = parser.add_argument_group(
        "stored login" if not login else "token store",
        None
        if login
        else f"used when {ENV_ACCESS_TOKEN} is not set (see '{PROG} login'); refreshing needs "
        f"{ENV_LWA_CLIENT_ID} and {ENV_LWA_CLIENT_SECRET}",
    )
    group.add_argument(
        "--store",
        metavar="PATH",
        default=unset,
        help="the token file (default: $XDG_CONFIG_HOME/amazon-music-browse/tokens.json, "
        "else ~/.config/amazon-music-browse/tokens.json)",
    )
    group.add_argument(
        "--store-key", metavar="KEY", default=unset, help="the login in it (default: default)"
    )
    group.add_argument(
        "--lwa-url",
        metavar="URL",
        default=unset,
        help="base URL of Login with Amazon's endpoints, e.g. a sandbox's URL "
        f"(default: ${ENV_LWA_URL}, else Amazon's)",
    )


def _add_login_commands(subparsers: Any) -> None:
    login = subparsers.add_parser(
        "login",
        help="sign in and store the tokens, so the other commands need no token",
        description="Sign in with Login with Amazon (a browser, or --device) and keep the "
        "tokens in a file (mode 0600); then every other command works with no token in the "
        f"environment. Nothing secret is printed. The API key still comes from --api-key "
        f"or {ENV_API_KEY}.",
    )
    login.add_argument(
        "--client-id", metavar="ID", help=f"the security profile's client ID (${ENV_LWA_CLIENT_ID})"
    )
    login.add_argument(
        "--client-secret",
        metavar="SECRET",
        help=f"its client secret (default: ${ENV_LWA_CLIENT_SECRET}, which is safer)",
    )
    login.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="a scope to ask for; repeat for more (default: music::catalog)",
    )
    how = login.add_mutually_exclusive_group()
    how.add_argument(
        "--device",
        action="store_true",
        help="code-based linking: enter a code on another device, no browser needed here",
    )
    how.add_argument(
        "--no-browser",
        action="store_true",
        help="print the sign-in URL and read back the URL the browser was sent to",
    )
    _add_store_options(login, top_level=False, login=True)
    _add_verbose(login, top_level=False)
    login.set_defaults(endpoint=None)
    logout = subparsers.add_parser(
        "logout",
        help="forget the stored tokens",
        description="Forget the tokens 'login' stored (under --store-key, in --store).",
    )
    _add_store_options(logout, top_level=False, login=True)
    _add_verbose(logout, top_level=False)
    logout.set_defaults(endpoint=None)


def _add_paging_options(parser: argparse.ArgumentParser, name: str, low: int, high: int) -> None:
    parser.add_argument(
        "--limit",
        type=_limit_type(name, low, high),
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
    paging.add_argument("--max-items", type=_positive_int, metavar="N", help="pages until N items")


def _add_subcommand(subparsers: Any, endpoint: Endpoint[Any]) -> None:
    if not endpoint.name:
        raise ValueError(f"a subcommand needs an endpoint with a name, not {endpoint!r}")
    name = endpoint.name
    summary = endpoint.summary or name
    method = method_name(endpoint)
    calls = f"client.{method}(), " if method else ""
    parser = subparsers.add_parser(
        name,
        help=f"{summary} ({endpoint.path})",
        description=f"{summary}: {calls}GET {endpoint.path}.",
    )
    for parameter in endpoint.path_params:
        metavar = parameter_metavar(endpoint, parameter)
        parser.add_argument(
            _PATH_PARAM + parameter,
            metavar=metavar,
            type=_path_param_type(parameter, metavar),
            help=parameter_help(parameter),
        )
    if endpoint.limits is not None:
        _add_paging_options(parser, name, *endpoint.limits)
    parser.add_argument("--json", action="store_true", help="print JSON lines, one per item")
    _add_connection_options(parser, top_level=False)
    parser.set_defaults(endpoint=endpoint)


def build_parser(
    subcommands: Sequence[Endpoint[Any]] = SUBCOMMANDS,
) -> argparse.ArgumentParser:
    """The argument parser of ``amazon-music-browse``: ``demo``, ``login``, ``logout``,
    then one subcommand per endpoint of ``subcommands`` (each needs a ``name``).

    ``args.endpoint`` is the endpoint of the subcommand, ``None`` for the others.
    """
    parser = _Parser(
        prog=PROG,
        description="Browse the Amazon Music catalog (Web API v1). "
        f"Credentials: {ENV_API_KEY} and {ENV_ACCESS_TOKEN} (or '{PROG} login'), or --sandbox.",
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
    demo.set_defaults(endpoint=None)
    _add_login_commands(subparsers)
    for endpoint in subcommands:
        _add_subcommand(subparsers, endpoint)
    return parser


def path_params(args: argparse.Namespace, endpoint: Endpoint[Any]) -> dict[str, str]:
    """The path parameters given on the command line, by name (``{"category_id": ...}``)."""
    return {name: getattr(args, _PATH_PARAM + name) for name in endpoint.path_params}
