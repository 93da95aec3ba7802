"""Deadlines for whole attempts: no response outlives its budget, however slowly it drips.

A read timeout bounds each wait for data, not a response: a server sending one byte every
half second never trips it. Here a watchdog thread shuts down the socket of an attempt
whose deadline passed, so the blocked read ends at once and the attempt fails.

The socket is armed as soon as the request is on the wire, by a hook on urllib3's
connections (`install_connection_hook`), for the sessions the client creates and those
passed in alike.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import socket
import threading
import time
from typing import Any, Final

import requests
from urllib3.connection import HTTPConnection

from ._fork import reset_after_fork

__all__ = [
    "install_connection_hook",
    "Alarm",
    "AttemptDeadline",
    "DeadlinePassed",
    "raise_if_deadline_passed",
    "watchdog",
]

_monotonic = time.monotonic


class Alarm:
    """One armed deadline: `fired` once the watchdog shut the socket down."""

    __slots__ = ("cancelled", "deadline", "fired", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock: socket.socket | None = sock  # None once disarmed: nothing holds it here
        self.deadline = deadline
        self.fired = False
        self.cancelled = False


class _Watchdog:
    """One daemon thread that shuts down the sockets of attempts past their deadline.

    The thread sleeps until the earliest deadline and is woken only by an alarm earlier
    than that one (each attempt waking it cost a thread switch per request). A disarmed
    alarm stays in the heap until the thread reaches it; the heap is swept of them when
    they outnumber the armed ones, so it stays as small as the attempts in flight.
    """

    _SWEEP_AFTER: Final = 32  # disarmed alarms tolerated in the heap before a sweep

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Alarm]] = []
        self._disarmed = 0  # disarmed alarms in the heap (or more: never fewer)
        self._order = itertools.count()
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        reset_after_fork(self)

    def arm(self, sock: socket.socket, deadline: float) -> Alarm:
        """Shut ``sock`` down at ``deadline`` (monotonic) unless disarmed before."""
        alarm = Alarm(sock, deadline)
        with self._wake:
            heapq.heappush(self._heap, (deadline, next(self._order), alarm))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="amazon-music-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is alarm:  # earlier than what the thread waits for
                self._wake.notify()
        return alarm

    def disarm(self, alarm: Alarm) -> None:
        """Forget ``alarm``; its socket is left alone from now on."""
        with self._wake:
            alarm.cancelled = True
            alarm.sock = None
            if alarm.fired:  # no longer in the heap
                return
            self._disarmed += 1
            if self._disarmed > self._SWEEP_AFTER and 2 * self._disarmed > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].cancelled]
                heapq.heapify(self._heap)
                self._disarmed = 0

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                    self._disarmed -= 1
                if not self._heap:
                    self._wake.wait()
                    continue
                left = self._heap[0][0] - _monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                alarm = heapq.heappop(self._heap)[2]
                alarm.fired = True
                sock = alarm.sock
            assert sock is not None  # only a disarmed alarm lets go of its socket
            with contextlib.suppress(OSError):  # closed already: the attempt ended
                sock.shutdown(socket.SHUT_RDWR)

    def _after_fork_in_child(self) -> None:
        self._heap, self._disarmed = [], 0
        self._wake = threading.Condition(threading.Lock())
        self._thread = None


watchdog = _Watchdog()
"""The process's watchdog (its thread starts with the first deadline)."""

_attempt = threading.local()


class AttemptDeadline:
    """Arm the deadline of the attempt this thread sends next, and disarm it on exit.

    ``budget`` is in seconds from when the request has been sent. The alarm is set by the
    connection as it waits for the headers (`install_connection_hook`), or by the
    transport through `arm_socket` once they are in, for a connection that is not urllib3's.
    """

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.alarm: Alarm | None = None

    def __enter__(self) -> AttemptDeadline:
        _attempt.current = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        _attempt.current = None
        if self.alarm is not None:
            watchdog.disarm(self.alarm)

    @property
    def fired(self) -> bool:
        """Whether the deadline passed and the socket was shut down."""
        return self.alarm is not None and self.alarm.fired

    def arm_socket(self, sock: Any) -> None:
        """Arm the deadline on ``sock``, unless armed already or it is not a socket."""
        if self.alarm is None and isinstance(sock, socket.socket):
            self.alarm = watchdog.arm(sock, _monotonic() + self.budget)


class DeadlinePassed(requests.exceptions.ReadTimeout):
    """The attempt's deadline passed and its socket was shut down.

    A shut-down socket reads as the end of the stream, so a response cut there can look
    complete (headers ended early, a body without ``Content-Length``); this says it is not.
    """


def raise_if_deadline_passed() -> None:
    """Raise `DeadlinePassed` if the deadline of this thread's current attempt fired.

    Raises:
        DeadlinePassed: it did; whatever was read of the response is not the whole of it.
    """
    current: AttemptDeadline | None = getattr(_attempt, "current", None)
    if current is not None and current.fired:
        raise DeadlinePassed(
            "the response took longer than its deadline; its socket was shut down and what "
            "was read of it is not the whole response"
        )


def _arm_current(sock: Any) -> None:
    current: AttemptDeadline | None = getattr(_attempt, "current", None)
    if current is not None:
        current.arm_socket(sock)


_hook_lock = threading.Lock()


def install_connection_hook() -> None:
    """Make urllib3's connections arm the current attempt's deadline as the request leaves.

    Installed once per process, on urllib3's ``HTTPConnection.getresponse`` (which its
    HTTPS connection inherits), so it covers the sessions the client creates and those
    passed in alike. It acts only in a thread inside one of this package's attempts;
    any other use of urllib3 in the process goes through untouched.
    """
    with _hook_lock:
        original = HTTPConnection.getresponse
        if getattr(original, "_arms_deadline", False):
            return

        @functools.wraps(original)
        def getresponse(self: HTTPConnection, *args: Any, **kwargs: Any) -> Any:
            current: AttemptDeadline | None = getattr(_attempt, "current", None)
            if current is not None:
                current.arm_socket(self.sock)
            return original(self, *args, **kwargs)

        getresponse._arms_deadline = True  # type: ignore[attr-defined]
        HTTPConnection.getresponse = getresponse  # type: ignore[method-assign]
