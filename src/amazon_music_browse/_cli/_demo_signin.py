"""The demo's first steps on the sandbox: both Login with Amazon sign-in flows, shown.

1. The authorization code grant with PKCE: ``on_url`` plays the browser (the sandbox's
   consent page agrees at once and redirects it to the SDK's loopback server).
2. Code-based linking: ``on_code`` shows the code, and the sandbox approves it as a user
   entering it would.

The rest of the demo then runs with the first sign-in's `LoginWithAmazon` as its
client's ``access_token``, on a sandbox that accepts only the tokens it issued. What is
shown: the calls, the requests (method, path and status: never a query, which holds the
authorization code on the way back), the user code, the scopes and when the access token
expires. Never a token, a code, a verifier or the client secret.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

import requests

from amazon_music_browse._auth import LoginWithAmazon
from amazon_music_browse._device import DeviceCode
from amazon_music_browse._token_store import DEFAULT_STORE_KEY, MemoryTokenStore

from ._request_log import RequestLog

if TYPE_CHECKING:
    from amazon_music_browse.sandbox import SandboxServer

__all__ = ["DEMO_SANDBOX", "signed_in"]

DEMO_SANDBOX: Final[dict[str, Any]] = {"token_lifetime": 3600.0, "device_interval": 0.1}
"""The demo's sandbox: only issued tokens are accepted (the static one is refused), and
code-based linking polls every 0.1 s, not every 5 s."""
_SCOPES: Final = ["music::catalog"]
_BROWSER_TIMEOUT: Final = 10.0


class Narrator(Protocol):
    """What the sign-in steps print with: the demo's numbered headings and lines."""

    def heading(self, title: str, call: str) -> None:
        """Start a numbered step: its title and the Python call it makes."""

    def say(self, text: str = "") -> None:
        """Print one indented line."""

    def show_requests(self) -> None:
        """Print the requests sent since the last time."""


class _SignIn:
    """Both flows against one sandbox, through sessions whose requests ``log`` records."""

    def __init__(self, server: SandboxServer, narrator: Narrator, log: RequestLog) -> None:
        self.server = server
        self.narrator = narrator
        self.browser = requests.Session()  # the user's browser
        self.lwa = requests.Session()  # the SDK's requests to Login with Amazon
        log.watch(self.browser, describe=self._target, label="browser: ")
        log.watch(self.lwa, describe=self._target)

    def close(self) -> None:
        """Close both sessions."""
        self.browser.close()
        self.lwa.close()

    def _target(self, request: requests.PreparedRequest) -> str:
        """The path, with the origin when it is not the sandbox's; never the query."""
        parts = urlsplit(request.url or "")
        if f"{parts.scheme}://{parts.netloc}" == self.server.url:
            return parts.path
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    def _open(self, url: str) -> None:
        """``on_url``: follow the consent page's URL and its redirect, as a browser does."""
        self.browser.get(url, timeout=_BROWSER_TIMEOUT)

    def _show_code(self, code: DeviceCode) -> None:
        """``on_code``: show the code, then approve it on the sandbox, as its user would."""
        self.narrator.show_requests()
        self.narrator.say(
            f"on_code: open {code.verification_uri} and enter the code {code.user_code}"
        )
        self.narrator.say(
            f"sandbox.approve_device({code.user_code!r})   # the user enters it, on their phone"
        )
        self.server.approve_device(code.user_code)

    def _call(self, flow: str, callback: str) -> str:
        """The flow's call as the reader would write it: credentials by name, not value."""
        return (
            f"LoginWithAmazon.{flow}(client_id, client_secret, scopes={_SCOPES!r}, "
            f"lwa_url={self.server.url!r}, {callback}, store=MemoryTokenStore())"
        )

    def browser_flow(self) -> LoginWithAmazon:
        """Step: sign in with the authorization code grant and PKCE."""
        self.narrator.heading(
            "Sign in (authorization code + PKCE)",
            "tokens = " + self._call("sign_in", "open_browser=False, on_url=browser"),
        )
        self.narrator.say(
            "# browser(url) plays the user's browser: the sandbox consents at once and "
            "redirects it to the SDK's server on 127.0.0.1"
        )
        store = MemoryTokenStore()
        tokens = LoginWithAmazon.sign_in(
            self.server.client_id,
            self.server.client_secret,
            scopes=_SCOPES,
            lwa_url=self.server.url,
            open_browser=False,
            on_url=self._open,
            store=store,
            session=self.lwa,
        )
        self._signed_in(store)
        return tokens

    def device_flow(self) -> LoginWithAmazon:
        """Step: sign in with code-based linking."""
        self.narrator.heading(
            "Sign in (code-based linking)",
            "linked = " + self._call("link_device", "on_code=show"),
        )
        store = MemoryTokenStore()
        linked = LoginWithAmazon.link_device(
            self.server.client_id,
            self.server.client_secret,
            scopes=_SCOPES,
            lwa_url=self.server.url,
            on_code=self._show_code,
            store=store,
            session=self.lwa,
        )
        self._signed_in(store)
        return linked

    def _signed_in(self, store: MemoryTokenStore) -> None:
        """Show the requests, and what the store holds now: scopes and expiry, no token."""
        self.narrator.show_requests()
        stored = store.load(DEFAULT_STORE_KEY)
        if stored is None or stored.expires_at is None:  # a sign-in stores both: a bug
            raise RuntimeError("the sign-in stored no token or no expiry")
        expires = datetime.fromtimestamp(stored.expires_at, timezone.utc)
        minutes = round((stored.expires_at - time.time()) / 60)
        self.narrator.say(
            f"signed in with the scopes {stored.scopes}; the access token expires at "
            f"{expires:%H:%M:%S} UTC (in {minutes} min)"
        )


@contextmanager
def signed_in(
    server: SandboxServer, narrator: Narrator, log: RequestLog
) -> Iterator[LoginWithAmazon]:
    """Sign in both ways on ``server``, as two steps; yield the first sign-in's tokens.

    Every request to Login with Amazon is recorded in ``log``; the sessions stay open
    (a refresh goes through them) until the context ends.
    """
    flows = _SignIn(server, narrator, log)
    with ExitStack() as stack:
        stack.callback(flows.close)
        tokens = stack.enter_context(flows.browser_flow())
        stack.enter_context(flows.device_flow())
        yield tokens
