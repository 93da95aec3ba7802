"""`RequestLog`: the requests some ``requests`` sessions send, one readable line each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

__all__ = ["RequestLog", "path_and_query"]


def path_and_query(request: requests.PreparedRequest) -> str:
    """``/v1/browse/tracks/top?limit=3``: what the demo shows of an API request."""
    return request.path_url


class RequestLog:
    """Records, in order, the requests the sessions it watches send (a response hook each).

    A line reads ``GET /v1/browse/tracks/top?limit=3 -> 200 OK``; what it shows of the URL
    is up to the ``describe`` given to `watch`, so a URL holding a secret (a sign-in's
    redirect carries its code in the query) is shown without it.
    """

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._shown = 0

    def watch(
        self,
        session: requests.Session,
        *,
        describe: Callable[[requests.PreparedRequest], str] = path_and_query,
        label: str = "",
    ) -> None:
        """Record every response ``session`` receives, redirects included.

        Args:
            session: the session to watch.
            describe: the part of a request's URL to show.
            label: a prefix for its lines, e.g. ``"browser: "``.
        """

        def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            """The hook: one line for ``response`` and the request it answers."""
            request = response.request
            self.sent.append(
                f"{label}{request.method} {describe(request)} -> "
                f"{response.status_code} {response.reason}"
            )

        session.hooks["response"].append(record)

    def unshown(self) -> list[str]:
        """The lines recorded since the last call."""
        lines, self._shown = self.sent[self._shown :], len(self.sent)
        return lines
