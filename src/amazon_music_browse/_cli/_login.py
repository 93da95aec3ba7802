"""``login`` and ``logout``, and the stored login the API subcommands fall back on.

``login`` signs in (a browser and the loopback redirect; ``--no-browser`` prints the URL
and reads the redirected URL pasted back; ``--device`` for code-based linking) and keeps
the tokens in a `FileTokenStore`; ``logout`` forgets them. No token, code or secret is
ever printed: only where the tokens are, and the user code of code-based linking.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from amazon_music_browse._auth import DEFAULT_SCOPES, LoginWithAmazon
from amazon_music_browse._constants import (
    ENV_ACCESS_TOKEN,
    ENV_LWA_CLIENT_ID,
    ENV_LWA_CLIENT_SECRET,
)
from amazon_music_browse._device import DeviceCode
from amazon_music_browse._display import printable
from amazon_music_browse._errors import ConfigurationError
from amazon_music_browse._file_store import FileTokenStore, default_token_path
from amazon_music_browse._token_store import DEFAULT_STORE_KEY

from ._output import Output, Writer
from ._parser import PROG

__all__ = ["run_login", "run_logout", "store_path", "stored_login"]


def store_path(args: argparse.Namespace) -> Path:
    """The token store's file: ``--store``, else the default under the config directory."""
    store: str | None = getattr(args, "store", None)
    return Path(store).expanduser() if store else default_token_path()


def _store_key(args: argparse.Namespace) -> str:
    return getattr(args, "store_key", None) or DEFAULT_STORE_KEY


def _client_credentials(args: argparse.Namespace) -> tuple[str, str]:
    """``--client-id``/``--client-secret``, else ``LWA_CLIENT_ID``/``LWA_CLIENT_SECRET``."""
    client_id = getattr(args, "client_id", None) or os.environ.get(ENV_LWA_CLIENT_ID)
    client_secret = getattr(args, "client_secret", None) or os.environ.get(ENV_LWA_CLIENT_SECRET)
    missing = [
        name
        for name, value in ((ENV_LWA_CLIENT_ID, client_id), (ENV_LWA_CLIENT_SECRET, client_secret))
        if not value
    ]
    if missing:
        raise ConfigurationError(
            f"{' and '.join(missing)} not set: export your security profile's client ID "
            f"({ENV_LWA_CLIENT_ID}) and client secret ({ENV_LWA_CLIENT_SECRET}), or pass "
            "--client-id and --client-secret"
        )
    assert client_id is not None
    assert client_secret is not None
    return client_id, client_secret


def _say(out: Writer, text: str) -> None:
    out.write(printable(text) + "\n")
    if isinstance(out, Output):
        out.flush()  # before the sign-in prints, or waits for the user


def run_login(args: argparse.Namespace, out: Writer) -> None:
    """Sign in and store the tokens; says where they are, never what they are."""
    client_id, client_secret = _client_credentials(args)
    store = FileTokenStore(store_path(args))
    key = _store_key(args)
    scopes = args.scope or list(DEFAULT_SCOPES)
    if args.device:

        def show(code: DeviceCode) -> None:
            minutes = max(1, round(code.expires_in / 60))
            _say(
                out,
                f"To sign in, open {code.verification_uri} on any device and enter the code "
                f"{code.user_code} (within {minutes} min). Waiting...",
            )

        tokens = LoginWithAmazon.link_device(
            client_id,
            client_secret,
            scopes=scopes,
            store=store,
            store_key=key,
            on_code=show,
            lwa_url=args.lwa_url,
        )
    else:
        if not args.no_browser:
            _say(
                out,
                "Opening the Login with Amazon page in your browser; sign in there "
                "(Ctrl-C to give up; --no-browser on a machine without one).",
            )
        tokens = LoginWithAmazon.sign_in(
            client_id,
            client_secret,
            scopes=scopes,
            store=store,
            store_key=key,
            open_browser=not args.no_browser,
            lwa_url=args.lwa_url,
        )
    tokens.close()
    _say(
        out,
        f"Signed in. The tokens are stored in {store.path} (key {key!r}); {PROG} commands "
        f"use them when {ENV_ACCESS_TOKEN} is not set.",
    )


def run_logout(args: argparse.Namespace, out: Writer) -> None:
    """Forget the stored tokens of ``--store-key``."""
    path = store_path(args)
    key = _store_key(args)
    if not path.is_file():
        _say(out, f"Nothing to forget: no login is stored in {path}.")
        return
    store = FileTokenStore(path)
    if store.load(key) is None:
        _say(out, f"Nothing to forget: no login is stored under {key!r} in {path}.")
        return
    store.delete(key)
    _say(out, f"Signed out: the tokens stored under {key!r} in {path} are forgotten.")


def stored_login(args: argparse.Namespace) -> LoginWithAmazon | None:
    """A `LoginWithAmazon` on the stored login, or None when nothing is stored."""
    path = store_path(args)
    if not path.is_file():
        return None
    store = FileTokenStore(path)
    key = _store_key(args)
    stored = store.load(key)
    if stored is None or not stored.refresh_token:
        return None
    client_id, client_secret = _client_credentials(args)
    token_url = None
    if args.lwa_url:
        from amazon_music_browse._auth import _token_url

        token_url = _token_url(None, args.lwa_url)
    return LoginWithAmazon(
        client_id, client_secret, token_url=token_url, store=store, store_key=key
    )
