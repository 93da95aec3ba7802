"""``main``: parse, connect, run the subcommand or the demo, and turn failures into exit codes.

Exit codes: 0 done, 1 API, network or output error, 2 usage or configuration error,
130 interrupted, 141 stdout closed early (a broken pipe, silently). Any other exception
is a bug: it propagates with its traceback, and Python exits with 1.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from amazon_music_browse._client import BrowseClient
from amazon_music_browse._constants import ENV_ACCESS_TOKEN, ENV_API_KEY
from amazon_music_browse._display import printable
from amazon_music_browse._endpoint import Endpoint
from amazon_music_browse._errors import AmazonMusicError, ConfigurationError

from ._command import run_command
from ._demo import run_demo, run_sandbox_demo
from ._demo_signin import DEMO_SANDBOX
from ._login import run_login, run_logout, store_path, stored_login
from ._output import Output, OutputError, Writer, closed_error
from ._parser import PROG, UsageError, build_parser

if TYPE_CHECKING:
    from amazon_music_browse.sandbox import SandboxServer

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141

logger = logging.getLogger("amazon_music_browse.cli")


def _has_credentials(args: argparse.Namespace) -> bool:
    """An API key, and a token in the environment or a stored login."""
    if not (args.api_key or os.environ.get(ENV_API_KEY)):
        return False
    return bool(os.environ.get(ENV_ACCESS_TOKEN)) or store_path(args).is_file()


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's options the command line sets: ``--timeout``, ``--max-retries``."""
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    return options


@contextmanager
def _sandbox(**settings: Any) -> Iterator[SandboxServer]:
    """A sandbox started for the command, stopped after it."""
    from amazon_music_browse.sandbox import SandboxServer  # a server: loaded when asked for

    with SandboxServer(**settings) as server:
        logger.info("sandbox listening at %s", server.url)
        yield server


@contextmanager
def _connect(args: argparse.Namespace, *, sandbox: bool) -> Iterator[BrowseClient]:
    """A client for the command: on a sandbox started for it, or on ``--base-url``."""
    options = _client_options(args)
    if sandbox:
        with _sandbox() as server, server.client(**options) as client:
            yield client
        return
    tokens = None if os.environ.get(ENV_ACCESS_TOKEN) else stored_login(args)
    missing = [ENV_API_KEY] if not (args.api_key or os.environ.get(ENV_API_KEY)) else []
    if not os.environ.get(ENV_ACCESS_TOKEN) and tokens is None:
        missing.append(ENV_ACCESS_TOKEN)
    if missing:
        if tokens is not None:
            tokens.close()
        raise ConfigurationError(
            f"{' and '.join(missing)} not set: export {ENV_API_KEY} (your security profile "
            f"ID; or pass --api-key) and {ENV_ACCESS_TOKEN} (a Login with Amazon access "
            f"token; or run '{PROG} login' once, which stores a login in "
            f"{store_path(args)}), or add --sandbox to run against the local sandbox"
        )
    if args.api_key:
        options["api_key"] = args.api_key
    if tokens is not None:
        options["access_token"] = tokens
    if args.base_url is not None:
        options["base_url"] = args.base_url
    try:
        with BrowseClient(**options) as client:
            yield client
    finally:
        if tokens is not None:
            tokens.close()


def _demo(args: argparse.Namespace, out: Writer) -> None:
    """The demo: on a sandbox (signing in first) without credentials or with ``--sandbox``."""
    if args.sandbox or (args.base_url is None and not _has_credentials(args)):
        with _sandbox(**DEMO_SANDBOX) as server:
            if args.sandbox:
                why = "--sandbox"
            else:
                why = (
                    f"no {ENV_API_KEY} and {ENV_ACCESS_TOKEN} in the environment: set both, "
                    f"or {ENV_API_KEY} and '{PROG} login', to use the real service"
                )
            intro = f"Amazon Music Browse API demo, on the local sandbox at {server.url} ({why})"
            run_sandbox_demo(server, _client_options(args), intro, out)
        return
    with _connect(args, sandbox=False) as client:
        token = (
            ENV_ACCESS_TOKEN
            if os.environ.get(ENV_ACCESS_TOKEN)
            else f"the login stored in {store_path(args)}"
        )
        where = f"the service at {client.base_url} (credentials from {ENV_API_KEY} and {token})"
        run_demo(client, f"Amazon Music Browse API demo, on {where}", out)


def _run(args: argparse.Namespace, out: Writer, err: Writer) -> None:
    """Run the subcommand ``args`` names, or the demo."""
    if args.subcommand == "login":
        run_login(args, out)
        return
    if args.subcommand == "logout":
        run_logout(args, out)
        return
    if args.sandbox and args.base_url is not None:
        raise UsageError("use either --sandbox or --base-url, not both")
    endpoint: Endpoint[Any] | None = args.endpoint
    if endpoint is None:
        _demo(args, out)
        return
    with _connect(args, sandbox=args.sandbox) as client:
        run_command(client, endpoint, args, out, err)


@contextmanager
def _logging_to(stream: Output, verbosity: int) -> Iterator[None]:
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


def _report(err: Output, message: str, code: int) -> int:
    """Write ``error: message`` on one line (unless stderr is gone too) and return ``code``."""
    try:
        err.write(f"error: {printable(' '.join(message.split()))}\n")
        err.flush()
    except OutputError as exc:  # the exit code says it all
        exc.stream.discard()
    return code


def _output_failed(error: OutputError, err: Output) -> int:
    """A broken pipe ends quietly with 141; any other write failure is an error, exit 1."""
    error.stream.discard()
    if isinstance(error.error, BrokenPipeError):
        return EXIT_BROKEN_PIPE
    return _report(err, str(error), EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Only the SDK's own errors and bad input become an ``error:`` line; any other
    exception is a bug and propagates with its traceback.

    Args:
        argv: the arguments after the program name; default ``sys.argv[1:]``.

    Returns:
        0 on success, 1 on an API, network or output error, 2 on a usage or
        configuration error, 130 when interrupted, 141 when stdout was closed early
        (a broken pipe: nothing is written to stderr).
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # a title the terminal cannot show: "?"
            stream.reconfigure(errors="replace")
    err = Output(sys.stderr if sys.stderr is not None else io.StringIO(), "stderr")
    out = Output(sys.stdout if sys.stdout is not None else io.StringIO(), "stdout")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # after --help or --version
        code = exc.code if isinstance(exc.code, int) else EXIT_OK
        try:
            out.flush()
        except OutputError as error:
            return _output_failed(error, err)
        return code
    except UsageError as exc:
        return _report(err, str(exc), EXIT_USAGE)
    except OSError as exc:  # writing --help or --version to stdout failed
        return _output_failed(OutputError(out, exc), err)
    if sys.stdout is None:  # started with descriptor 1 closed
        return _output_failed(OutputError(out, closed_error()), err)
    with _logging_to(err, args.verbose):
        try:
            _run(args, out, err)
            out.flush()
        except OutputError as exc:
            return _output_failed(exc, err)
        except KeyboardInterrupt:
            return _report(err, "interrupted", EXIT_INTERRUPTED)
        except (AmazonMusicError, UsageError) as exc:
            logger.debug("the command failed", exc_info=True)
            return _report(err, str(exc), _exit_code(exc))
    return EXIT_OK
