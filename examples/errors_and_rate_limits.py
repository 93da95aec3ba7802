"""Errors, retries and rate limits, with faults injected by the embedded sandbox.

Run it from the repository root (no credentials needed)::

    python examples/errors_and_rate_limits.py

Every failure is an ``AmazonMusicError``; an answer of the service with an error status
is an ``APIError`` subclass carrying ``.status_code``, ``.code``, ``.message``,
``.reference`` and ``.retry_after``.
"""

from __future__ import annotations

import logging
import os

from amazon_music_browse import (
    AmazonMusicError,
    AuthenticationError,
    BrowseClient,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from amazon_music_browse.sandbox import SandboxServer


class RetryLog(logging.Handler):
    """Keeps the retry warnings the client logs on the ``amazon_music_browse`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def retries_absorb_faults() -> None:
    """Nearly half the answers are 429 or 5xx; retries make the export succeed anyway."""
    retry_log = RetryLog()
    logging.getLogger("amazon_music_browse").addHandler(retry_log)
    try:
        with SandboxServer(rate_limit_rate=0.3, server_error_rate=0.15, retry_after=0) as sandbox:
            client = sandbox.client(max_retries=8)
            playlists = client.paginate(
                client.get_category_playlists, "2iB4IU25", page_size=25
            ).to_list()
            faults = sandbox.faults
    finally:
        logging.getLogger("amazon_music_browse").removeHandler(retry_log)
    print("1. Faults absorbed by retries (max_retries=8):")
    injected = ", ".join(f"{count} x {status}" for status, count in faults.items())
    print(f"   faults injected by the sandbox: {injected}")
    print(f"   {len(playlists)} playlists exported; {len(retry_log.messages)} retries logged")
    for message in retry_log.messages[:2]:
        print(f"   WARNING {message}")


def rate_limit_raised() -> None:
    """A Retry-After longer than max_retry_wait is raised at once, with the wait attached."""
    print("\n2. A long Retry-After is not slept (max_retry_wait=60 s):")
    with SandboxServer(rate_limit_rate=1.0, retry_after=3600) as sandbox:
        client = sandbox.client()
        try:
            client.get_top_tracks(limit=5)
        except RateLimitError as exc:
            print(f"   RateLimitError: {exc}")
            print(f"   .retry_after={exc.retry_after} .code={exc.code!r}")
            print(f"   .reference={exc.reference!r}")
        try:
            client.get_top_tracks(limit=5)
        except RateLimitError as exc:
            print(f"   the next call fails fast, nothing sent: retry after {exc.retry_after:.0f} s")


def server_error_raised() -> None:
    """With every answer a 5xx and no retries left, the error reaches the caller."""
    print("\n3. A server error after the retries run out (max_retries=0):")
    with SandboxServer(server_error_rate=1.0, retry_after=0) as sandbox:
        client = sandbox.client(max_retries=0)
        try:
            client.get_categories(limit=5)
        except InternalServerError as exc:
            print(f"   InternalServerError: status {exc.status_code}, .code={exc.code!r}")


def api_errors(sandbox: SandboxServer) -> None:
    """An unknown category and a refused token."""
    print("\n4. Errors the service answers with:")
    client = sandbox.client()
    try:
        client.get_category("no-such-category")
    except NotFoundError as exc:
        print(f"   NotFoundError: {exc}")
        print(f"   .status_code={exc.status_code} .code={exc.code!r} .reference={exc.reference!r}")
    wrong = BrowseClient(api_key="sandbox-key", access_token="not-a-token", base_url=sandbox.url)
    try:
        wrong.get_top_tracks()
    except AuthenticationError as exc:
        print(f"   AuthenticationError: .status_code={exc.status_code} .code={exc.code!r}")


def local_errors() -> None:
    """Bad configuration and bad arguments are found before anything is sent."""
    print("\n5. Errors found before any request:")
    try:
        BrowseClient(api_key="key", access_token="token", base_url="http://api.example.com")
    except ConfigurationError as exc:
        print(f"   ConfigurationError: {exc}")
    try:
        BrowseClient(api_key="", access_token="token")
    except ConfigurationError as exc:
        print(f"   ConfigurationError: {exc}")
    if "AMAZON_MUSIC_API_KEY" not in os.environ:
        try:
            BrowseClient()  # credentials from the environment, which has none
        except ConfigurationError as exc:
            print(f"   ConfigurationError: {exc}")
    client = BrowseClient(api_key="key", access_token="token")
    for limit in (500, "5"):
        try:
            client.get_top_tracks(limit=limit)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            print(f"   {type(exc).__name__}: {exc}")


def main() -> None:
    """Show each kind of failure, then catch them all with one base class."""
    retries_absorb_faults()
    rate_limit_raised()
    server_error_raised()
    with SandboxServer() as sandbox:
        api_errors(sandbox)
        local_errors()
        print("\n6. One base class catches them all:")
        try:
            sandbox.client().get_category_tracks("no-such-category")
        except AmazonMusicError as exc:
            print(f"   {type(exc).__name__} is an AmazonMusicError: {exc}")


if __name__ == "__main__":
    main()
