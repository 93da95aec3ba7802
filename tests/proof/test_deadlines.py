"""Proof: no attempt outlives ``connect + 2 * read`` seconds, however slowly a server drips.

Raw-socket servers on 127.0.0.1 send the status line and then one header byte every
0.2 s, or full headers (a large ``Content-Length``) and then one body byte every 0.2 s,
or accept and never answer. Each drip would go on for `LIFETIME` seconds (a read
timeout of 1 s never trips on it); the client (``timeout=(1, 1)``, no retries) must end
in ``APITimeoutError`` within 3.3 s (the bound plus 10 %), while the server is still
dripping. The same for ``LoginWithAmazon`` and for a ``requests.Session`` passed in.
All cases run at once, each against its own server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from amazon_music_browse import AmazonMusicError, APITimeoutError, BrowseClient, LoginWithAmazon

from ._hostile_server import HostileServer, Request, drip
from ._support import report

CONNECT, READ = 1.0, 1.0
BOUND = (CONNECT + 2 * READ) * 1.10  # the contract's bound, with its 10 % slack
DEADLINE = 2 * READ
INTERVAL = 0.2  # one byte every 0.2 s: far inside the read timeout
LIFETIME = 60.0  # how long each drip would go on (the server stops by itself then)


@dataclass
class Drip:
    """What a server does with each request, and what it saw."""

    kind: str
    duration: float = LIFETIME
    dripped: list[int] = field(default_factory=lambda: [0])
    ended: threading.Event = field(default_factory=threading.Event)

    def __call__(
        self, connection: socket.socket, request: Request, stopped: threading.Event
    ) -> None:
        try:
            if self.kind in ("slow-headers", "slow-body"):
                if self.kind == "slow-headers":
                    head, data = b"HTTP/1.1 200 OK\r\n", b"X-Drip: " + b"a" * 500
                else:
                    head = (
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 100000000\r\n\r\n"
                    )
                    data = b'{"data": "' + b"x" * 500
                connection.sendall(head)
                drip(
                    connection,
                    data,
                    interval=INTERVAL,
                    stopped=stopped,
                    dripped=self.dripped,
                    duration=self.duration,
                )
            else:
                assert self.kind == "silent"
                stopped.wait(self.duration)
        finally:
            self.ended.set()


@dataclass
class Outcome:
    name: str
    error: str
    message: str
    elapsed: float
    dripped: int
    still_dripping: bool


Call = Callable[[str], object]


def api_call(**options: Any) -> Call:
    def call(url: str) -> object:
        with BrowseClient(
            "deadline-key-0000",
            "Atza|deadline-token",
            base_url=url,
            timeout=(CONNECT, READ),
            max_retries=0,
            **options,
        ) as client:
            return client.get_top_tracks()

    return call


def lwa_call(url: str) -> object:
    with LoginWithAmazon(
        "deadline-client",
        "deadline-secret-0000",
        "Atzr|deadline",
        url + "/auth/o2/token",
        timeout=(CONNECT, READ),
    ) as lwa:
        return lwa()


def measure(name: str, kind: str, call: Call) -> Outcome:
    behaviour = Drip(kind)
    with HostileServer(behaviour, lifetime=LIFETIME) as server:
        started = time.monotonic()
        try:
            call(server.url)
        except AmazonMusicError as error:
            elapsed = time.monotonic() - started
            outcome = Outcome(
                name,
                type(error).__name__,
                str(error),
                elapsed,
                behaviour.dripped[0],
                not behaviour.ended.is_set(),
            )
        else:
            elapsed = time.monotonic() - started
            outcome = Outcome(name, "returned", "", elapsed, behaviour.dripped[0], False)
    return outcome


CASES: dict[str, tuple[str, Call]] = {
    "api slow-headers": ("slow-headers", api_call()),
    "api slow-body": ("slow-body", api_call()),
    "api silent": ("silent", api_call()),
    "lwa slow-headers": ("slow-headers", lwa_call),
    "lwa slow-body": ("slow-body", lwa_call),
    "lwa silent": ("silent", lwa_call),
    "api slow-headers, session passed in": (
        "slow-headers",
        api_call(session=requests.Session()),
    ),
    "api slow-body, session passed in": ("slow-body", api_call(session=requests.Session())),
    "api silent, session passed in": ("silent", api_call(session=requests.Session())),
}


def table(outcomes: list[Outcome]) -> str:
    return "\n".join(
        f"{o.name}: {o.error} after {o.elapsed:.2f} s (bound {BOUND:.2f} s), "
        f"{o.dripped} bytes dripped, server still dripping: {o.still_dripping}"
        for o in outcomes
    )


def test_every_attempt_ends_within_connect_plus_twice_read() -> None:
    with ThreadPoolExecutor(len(CASES)) as pool:
        outcomes = list(pool.map(lambda item: measure(item[0], *item[1]), CASES.items()))

    print(table(outcomes))
    report(
        "deadlines",
        cases=len(outcomes),
        timeouts=sum(o.error == APITimeoutError.__name__ for o in outcomes),
        max_elapsed_s=max(o.elapsed for o in outcomes),
        bound_s=BOUND,
        drip_would_last_s=LIFETIME,
    )
    for outcome in outcomes:
        assert outcome.error == APITimeoutError.__name__, (outcome.name, outcome.message)
        assert outcome.elapsed <= BOUND, outcome
        assert outcome.still_dripping, outcome  # the client cut the answer, not the server
        if CASES[outcome.name][0] == "silent":
            assert "read timeout" in outcome.message, outcome
        else:  # a drip never trips the read timeout: only the deadline ends it
            assert "deadline" in outcome.message, outcome
            assert outcome.elapsed >= DEADLINE * 0.95, outcome
            assert outcome.dripped >= 3, outcome
