"""What the benchmarks share: run settings, the SDK client, and the baseline's request."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from amazon_music_browse import BrowseClient

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
API_KEY = "k"
ACCESS_TOKEN = "t"

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def isolate_from_proxies() -> None:
    """Drop proxy variables, so every request goes straight to 127.0.0.1.

    Subprocesses started afterwards inherit the cleaned environment.
    """
    for name in _PROXY_VARIABLES:
        os.environ.pop(name, None)
        os.environ.pop(name.upper(), None)


@dataclass(frozen=True)
class Context:
    """Settings of one run of the suite."""

    quick: bool
    base_url: str

    def pick(self, full: int, quick: int) -> int:
        """An iteration count for the current mode."""
        return quick if self.quick else full


def make_client(base_url: str) -> BrowseClient:
    """The SDK as the issue specifies it, with a session of its own."""
    return BrowseClient(api_key=API_KEY, access_token=ACCESS_TOKEN, base_url=base_url)


def sdk_exchange(client: BrowseClient, call: Callable[[], object]) -> requests.Response:
    """The one response the SDK got for ``call()`` (its request included), via a hook."""
    seen: list[requests.Response] = []

    def hook(response: requests.Response, *args: object, **kwargs: object) -> None:
        seen.append(response)

    hooks = client.session.hooks["response"]
    hooks.append(hook)
    try:
        call()
    finally:
        hooks.remove(hook)
    if len(seen) != 1:
        raise RuntimeError(f"expected one request, the SDK sent {len(seen)}")
    return seen[0]


def baseline_headers(client: BrowseClient, call: Callable[[], object]) -> dict[str, str]:
    """The headers the SDK adds to its session's defaults, for the raw side to send too."""
    prepared = sdk_exchange(client, call).request
    defaults = client.session.headers
    return {name: value for name, value in prepared.headers.items() if defaults.get(name) != value}
