"""A local Amazon Music Browse API for tests, demos and development.

`SandboxServer` is a real HTTP server on 127.0.0.1 that speaks the documented Browse API
(envelope, ``pageInfo``/``edges``, error objects) and Login with Amazon (the token
exchange, sign-in with a consent page that consents at once, code-based linking, refresh
token rotation) over a deterministic catalog, with optional latency, 429 and 5xx
responses::

    from amazon_music_browse.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        client = sandbox.client()
        print(client.get_top_tracks(limit=5).items)

From a shell: ``python -m amazon_music_browse.sandbox --port 8765``. In pytest: the
``amazon_music_sandbox`` fixture (installed with the package). ``sandbox.serve`` adds a
downstream wrapper's own endpoints.

Modules, one job each: ``_config`` (every option, once), ``_server`` (`SandboxServer` and
its HTTP server), ``_app`` (the WSGI app: dispatch and the order of checks), ``_http``
(reading requests, shaping responses), ``_routes`` (the route table), ``_browse`` (the
Browse routes, from ``amazon_music_browse.endpoints``), ``_payloads`` (pages and objects
in their envelope), ``_cursors`` (signed page tokens), ``_faults`` (the fault draws),
``_lwa`` (Login with Amazon and the credentials check), ``_catalog`` (the data),
``_images`` (covers), ``_serve`` (what ``serve`` accepts), ``_plugin`` (pytest) and
``__main__`` (the command line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server import SandboxServer

__all__ = ["SandboxServer"]


def __getattr__(name: str) -> object:
    # Imported on first use: the pytest plugin below this package loads in every test run.
    if name == "SandboxServer":
        from ._server import SandboxServer

        return SandboxServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
