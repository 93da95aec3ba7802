"""What the worker processes of the shared-token proofs run (started with ``spawn``).

Each task builds its own `LoginWithAmazon` on a store named by a `StoreSpec`, so it holds
no token of its own, and calls the API through the sandbox. A `RecordingFileStore` also
appends every refresh token it saves to a log, so the parent can tell which of the
sandbox's refresh tokens reached the store.

The pool's processes share one barrier (`join_pool`): the tasks that run ``together``
wait there until every process of the pool holds one, and then start at once.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amazon_music_browse import (
    AmazonMusicError,
    BrowseClient,
    FileTokenStore,
    LoginWithAmazon,
    RedisTokenStore,
    StoredToken,
    TokenStore,
    _file_store,
)


@dataclass(frozen=True)
class StoreSpec:
    """A store to open in a worker: ``("file", path)`` or ``("redis", url, prefix)``."""

    kind: str
    location: str
    prefix: str = ""
    log_dir: str | None = None  # a RecordingFileStore's log directory

    def open(self) -> TokenStore:
        if self.kind == "redis":
            return RedisTokenStore(self.location, prefix=self.prefix)
        if self.log_dir is not None:
            return RecordingFileStore(self.location, self.log_dir)
        return FileTokenStore(self.location)


@dataclass(frozen=True)
class Sandbox:
    """What a worker needs to know of the sandbox (it runs in the parent)."""

    url: str
    token_url: str
    api_key: str
    client_id: str
    client_secret: str


class RecordingFileStore(FileTokenStore):
    """A file store that logs each refresh token it saves (one log per process)."""

    def __init__(self, path: str, log_dir: str) -> None:
        super().__init__(path)
        self._log = Path(log_dir) / f"saved-{os.getpid()}.log"

    def save(self, key: str, token: StoredToken) -> None:
        super().save(key, token)
        with self._log.open("a", encoding="utf-8") as log:
            log.write(f"{token.refresh_token}\n")


_pool: dict[str, Any] = {}


def join_pool(barrier: Any) -> None:
    """The pool's initializer: keep the barrier every process of the pool waits at."""
    _pool["barrier"] = barrier


def _start_together() -> None:
    """Wait until every process of the pool is at the barrier (each holds one task)."""
    _pool["barrier"].wait(timeout=60)


def warm_up() -> int:
    """Wait for every process of the pool: the pool must start all of them to get past."""
    _start_together()
    return os.getpid()


def started() -> int:
    """Nothing but this module's imports (which unpickling the task made)."""
    return os.getpid()


def run_task(tasks: Any) -> None:
    """The body of a process started ahead of its task: run the one task it is sent."""
    function, args = tasks.get(timeout=600)
    function(*args)


def _provider(sandbox: Sandbox, store: TokenStore, refresh_token: str | None) -> LoginWithAmazon:
    return LoginWithAmazon(
        sandbox.client_id,
        sandbox.client_secret,
        refresh_token,
        sandbox.token_url,
        store=store,
    )


def call_once(
    sandbox: Sandbox, spec: StoreSpec, together: bool, refresh_token: str | None = None
) -> dict[str, Any]:
    """One API call with the store's token (``together``: all the pool's workers at once)."""
    store = spec.open()
    if together:
        _start_together()
    try:
        with (
            _provider(sandbox, store, refresh_token) as tokens,
            BrowseClient(sandbox.api_key, tokens, base_url=sandbox.url) as client,
        ):
            items = len(client.get_top_tracks(limit=1))
        return {"pid": os.getpid(), "items": items, "error": None}
    except AmazonMusicError as error:
        return {"pid": os.getpid(), "items": 0, "error": f"{type(error).__name__}: {error}"}


def call_until(sandbox: Sandbox, spec: StoreSpec, seconds: float) -> dict[str, Any]:
    """With all the pool's workers at once, call the API over and over for ``seconds``;
    count what happened."""
    store = spec.open()
    _start_together()
    end_at = time.time() + seconds
    calls = 0
    errors: list[str] = []
    with (
        _provider(sandbox, store, None) as tokens,
        BrowseClient(sandbox.api_key, tokens, base_url=sandbox.url, max_retries=0) as client,
    ):
        while time.time() < end_at:
            try:
                client.get_top_tracks(limit=1)
                calls += 1
            except AmazonMusicError as error:
                errors.append(f"{type(error).__name__}: {getattr(error, 'code', None)}")
            time.sleep(0.02)
    return {"pid": os.getpid(), "calls": calls, "errors": errors}


def die_while_saving(sandbox: Sandbox, path: str) -> None:
    """Refresh, and be killed (SIGKILL) after writing the new file, before renaming it."""

    def killed(*args: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    store = FileTokenStore(path)
    _file_store.os.replace = killed  # type: ignore[assignment]
    tokens = _provider(sandbox, store, None)
    tokens.invalidate(tokens())  # the first refresh is killed mid-save: never returns
    raise AssertionError("not killed")
