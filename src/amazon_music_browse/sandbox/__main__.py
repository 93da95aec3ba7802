"""``python -m amazon_music_browse.sandbox``: serve the sandbox in the foreground.

Ctrl-C (SIGINT) or SIGTERM stops it cleanly, with exit status 0.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import time
from collections.abc import Sequence
from types import FrameType
from typing import Final

from ._app import DEFAULT_STALL_SECONDS
from ._server import SandboxServer

_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox from the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        sandbox = SandboxServer(
            args.host,
            args.port,
            latency=args.latency,
            rate_limit_rate=args.rate_limit_rate,
            server_error_rate=args.server_error_rate,
            retry_after=args.retry_after,
            token_lifetime=args.token_lifetime,
            seed=args.seed,
            drop_rate=args.drop_rate,
            truncate_rate=args.truncate_rate,
            stall_rate=args.stall_rate,
            stall_seconds=args.stall_seconds,
            redirect_to=args.redirect_to,
        )
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
    parser = argparse.ArgumentParser(
        prog="python -m amazon_music_browse.sandbox",
        description="Serve the Amazon Music Browse API sandbox until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument(
        "--port", type=int, default=8765, help="port to listen on; 0 picks a free one (%(default)s)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added before every API answer"
    )
    parser.add_argument(
        "--rate-limit-rate", type=float, default=0.0, help="share of API requests answered 429"
    )
    parser.add_argument(
        "--server-error-rate", type=float, default=0.0, help="share of API requests answered 5xx"
    )
    parser.add_argument(
        "--retry-after", type=int, default=1, help="Retry-After seconds on 429/5xx (%(default)s)"
    )
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of API requests whose connection is closed mid-answer",
    )
    parser.add_argument(
        "--truncate-rate",
        type=float,
        default=0.0,
        help="share of API requests answered with half the body, then the connection closed",
    )
    parser.add_argument(
        "--stall-rate",
        type=float,
        default=0.0,
        help="share of API requests whose body is withheld for --stall-seconds",
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=DEFAULT_STALL_SECONDS,
        help="how long a stalled answer withholds its body (%(default)s)",
    )
    parser.add_argument(
        "--redirect-to",
        default=None,
        metavar="URL",
        help="answer every API request 302 to URL + its path and query",
    )
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=None,
        help="lifetime of issued tokens in seconds; when set, only issued tokens are accepted",
    )
    parser.add_argument("--seed", type=int, default=0, help="catalog and fault seed (%(default)s)")
    return parser


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
        answer = sandbox._app.issue_token()
        token, note = answer["access_token"], f"  # expires in {answer['expires_in']} s"
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
