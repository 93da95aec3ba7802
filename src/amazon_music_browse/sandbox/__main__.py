"""``python -m amazon_music_browse.sandbox``: serve the sandbox in the foreground.

Its flags are made from `SandboxConfig`'s fields (``rate_limit_rate`` is
``--rate-limit-rate``). Ctrl-C (SIGINT) or SIGTERM stops it cleanly, with exit status 0.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from types import FrameType, UnionType
from typing import Any, Final, Union, get_args, get_origin, get_type_hints

from ._config import SandboxConfig
from ._server import SandboxServer

_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox from the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        sandbox = SandboxServer(**vars(args))
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    try:
        sandbox.start()
    except OSError as exc:
        parser.exit(1, f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {exc}\n")
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(_banner(sandbox), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    finally:
        _stop_ignoring_signals(sandbox)
        signal.signal(signal.SIGTERM, previous_handler)
    return 0


def _stop_ignoring_signals(sandbox: SandboxServer) -> None:
    """Stop the sandbox, ignoring a second Ctrl-C or SIGTERM meanwhile.

    ``timeout`` sends SIGTERM twice; the second must not cut the stop short with a traceback.
    """
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _STOP_SIGNALS}
    try:
        sandbox.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Stop on SIGTERM as on Ctrl-C."""
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    """One flag per option of `SandboxConfig` that has one, e.g. ``--rate-limit-rate``."""
    parser = argparse.ArgumentParser(
        prog="python -m amazon_music_browse.sandbox",
        description="Serve the Amazon Music Browse API sandbox until Ctrl-C.",
    )
    types = get_type_hints(SandboxConfig)
    for option in fields(SandboxConfig):
        metadata = option.metadata
        if not metadata.get("flag"):
            continue
        default = metadata["flag_default"]
        kind = _base_type(types[option.name])
        help_text = metadata["help"] + ("" if default is None else " (%(default)s)")
        settings: dict[str, Any] = {"default": default, "help": help_text, "dest": option.name}
        if kind is bool:
            settings["action"] = argparse.BooleanOptionalAction
        else:
            settings["type"] = _flag_type(metadata["parse"]) if metadata["parse"] else kind
            settings["metavar"] = metadata["metavar"] or option.name.upper()
        parser.add_argument("--" + option.name.replace("_", "-"), **settings)
    return parser


def _flag_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, with its ValueError's message shown as the flag's usage error."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _base_type(annotation: Any) -> Any:
    """``float`` for ``float | None``; the annotation itself otherwise."""
    members = [member for member in get_args(annotation) if member is not type(None)]
    return (
        members[0]
        if get_origin(annotation) in (Union, UnionType) and len(members) == 1
        else annotation
    )


def _banner(sandbox: SandboxServer) -> str:
    """What to connect to, with the sandbox's (fake) credentials and the shell exports."""
    static_token = sandbox.token_lifetime is None
    bearer = sandbox.access_token if static_token else "$TOKEN"
    lines = [
        f"Amazon Music sandbox listening on {sandbox.url}",
        f"  base URL:       {sandbox.url}",
        f"  x-api-key:      {sandbox.api_key}",
        f"  access token:   {sandbox.access_token if static_token else '(refused: tokens expire)'}",
        f"  token URL:      {sandbox.token_url}",
        f"  client_id:      {sandbox.client_id}",
        f"  client_secret:  {sandbox.client_secret}",
        f"  refresh_token:  {sandbox.refresh_token}",
        "Paste into a shell, and the SDK (every docs snippet too) uses this sandbox:",
        *_exports(sandbox),
        "Try:",
        f"  curl -d grant_type=refresh_token -d refresh_token={sandbox.refresh_token} "
        f"-d client_id={sandbox.client_id} -d client_secret={sandbox.client_secret} "
        f"{sandbox.token_url}",
        f"  curl -H 'x-api-key: {sandbox.api_key}' -H \"Authorization: Bearer {bearer}\" "
        f"'{sandbox.url}/v1/browse/tracks/top?limit=2'",
        "  amazon-music-browse login --no-browser   (with the exports above: signs in here)",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def _exports(sandbox: SandboxServer) -> list[str]:
    """``export`` lines for the environment variables the SDK reads, shell-quoted.

    When tokens expire, the access token is one issued now, and says when it expires.
    """
    if sandbox.token_lifetime is None:
        token, note = sandbox.access_token, ""
    else:
        issued = sandbox._app.issue_token()
        token, note = issued["access_token"], f"  # expires in {issued['expires_in']} s"
    values = {
        "AMAZON_MUSIC_BASE_URL": sandbox.url,
        "AMAZON_MUSIC_API_KEY": sandbox.api_key,
        "AMAZON_MUSIC_ACCESS_TOKEN": token,
        "AMAZON_MUSIC_LWA_URL": sandbox.url,
        "LWA_CLIENT_ID": sandbox.client_id,
        "LWA_CLIENT_SECRET": sandbox.client_secret,
        "LWA_REFRESH_TOKEN": sandbox.refresh_token,
    }
    lines = [f"  export {name}={shlex.quote(value)}" for name, value in values.items()]
    lines[2] += note
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
