"""The fault draws: one seeded draw per API request decides its fault, if any.

The rates are stacked in a fixed order (429, 5xx, drop, truncate, stall) on one draw, so
a seed fixes the whole sequence and adding a rate never changes which requests the
earlier ones hit. A 429 or 5xx is an error response; the faults below HTTP (a dropped
connection, a truncated body, a stalled body) cannot be expressed by a WSGI application,
so the app names the one drawn in ``environ[FAULT_ENVIRON_KEY]`` (a `SocketFault`) and the
server's handler carries it out while it writes the response.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Final, NamedTuple

from ._config import RATES, SandboxConfig
from ._http import ApiError

__all__ = ["FAULT_ENVIRON_KEY", "FAULT_KINDS", "FaultDraws", "SocketFault"]

FAULT_ENVIRON_KEY: Final = "amazon_music_browse.sandbox.fault"
"""The WSGI environ key under which the app names the socket-level fault of a request."""
FAULT_KINDS: Final = ("429", "500", "503", "drop", "truncate", "stall")
_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    429: ("THROTTLED", "Rate exceeded: slow down (injected by the sandbox)."),
    500: ("INTERNAL", "Internal server error (injected by the sandbox)."),
    503: ("DEPENDENCY", "A downstream dependency failed (injected by the sandbox)."),
}


class SocketFault(NamedTuple):
    """A fault the server's handler carries out on the connection of one API request.

    ``kind`` is one of:

    - ``"drop"``: close the connection before sending any byte;
    - ``"drop-after-headers"``: send the status line and the headers up to and including
      ``Content-Length`` (no blank line), then close the connection;
    - ``"truncate"``: send every header, then half of the body, then close the connection;
    - ``"stall"``: send every header, wait ``seconds``, then send the body and close the
      connection.
    """

    kind: str
    seconds: float = 0.0


class FaultDraws:
    """Counts API requests and draws the fault of each, thread-safely.

    Args:
        config: the rates, ``retry_after``, ``stall_seconds`` and the ``seed``.
    """

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()
        self._requests = 0
        self._counts = dict.fromkeys(FAULT_KINDS, 0)

    @property
    def requests(self) -> int:
        """API requests drawn for so far."""
        with self._lock:
            return self._requests

    @property
    def counts(self) -> dict[str, int]:
        """Faults drawn so far, by kind; every key of `FAULT_KINDS` is present."""
        with self._lock:
            return dict(self._counts)

    def draw(self) -> ApiError | SocketFault | None:
        """Count one API request and draw its fault: an error response, a socket fault, or None.

        The 5xx alternate 503 and 500; the drops alternate before any byte and after the
        headers.
        """
        config = self._config
        with self._lock:
            self._requests += 1
            draw = self._rng.random()
            edge = 0.0
            for name in RATES:
                edge += getattr(config, name)
                if draw < edge:
                    break
            else:
                return None
            if name == "rate_limit_rate":
                status = 429
            elif name == "server_error_rate":
                status = 503 if (self._counts["500"] + self._counts["503"]) % 2 == 0 else 500
            else:
                kind = name.removesuffix("_rate")
                if kind == "drop" and self._counts["drop"] % 2 == 1:
                    fault = SocketFault("drop-after-headers")
                else:
                    fault = SocketFault(kind, config.stall_seconds if kind == "stall" else 0.0)
                self._counts[kind] += 1
                return fault
            self._counts[str(status)] += 1
        code, message = _ERRORS[status]
        return ApiError(status, code, message, (("Retry-After", str(config.retry_after)),))
