"""The ``amazon-music-browse`` command line: one subcommand per endpoint, and ``demo``.

```
amazon-music-browse demo                                  # sign in, every endpoint: sandbox
amazon-music-browse top-tracks --limit 5 --sandbox
amazon-music-browse category-tracks 2iB4IU25 --all --json | head
```

The subcommands are the named entries of `amazon_music_browse.endpoints.ENDPOINTS`.
Credentials come from ``AMAZON_MUSIC_API_KEY`` and ``AMAZON_MUSIC_ACCESS_TOKEN`` unless
``--sandbox`` runs the command against the embedded sandbox. Errors are one line on
stderr. Exit codes: 0 done, 1 API, network or output error, 2 usage or configuration
error, 130 interrupted, 141 stdout closed early (a broken pipe, silently). Any other
exception is a bug: it propagates, with its traceback, and Python exits with 1.

Modules: `_subcommands` (what each endpoint of the table is on the command line),
`_parser`, `_command` (one endpoint's subcommand), `_table` (text tables and footers),
`_output` (streams and JSON lines), `_login` (``login``, ``logout``, the stored login),
`_demo`, `_demo_signin` (the demo's sign-in steps, on the sandbox), `_request_log` (the
requests the demo shows), `_main`.
"""

from ._main import main

__all__ = ["main"]
