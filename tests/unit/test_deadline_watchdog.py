"""The deadline watchdog: alarms fire in deadline order, and disarmed ones do not pile up.

The watchdog thread is woken only by an alarm earlier than the one it waits for, so these
check that an earlier alarm still fires on time, a later one fires after it, and that a
stream of attempts that all end in time leaves the heap as small as the attempts in flight.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from amazon_music_browse._deadline import _Watchdog

PATIENCE = 5.0  # seconds to wait for a shutdown that is due at once: far past it


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for pair in made:
        for end in pair:
            end.close()


def pair(pairs: list[tuple[socket.socket, socket.socket]]) -> tuple[socket.socket, socket.socket]:
    ends = socket.socketpair()
    pairs.append(ends)
    return ends


def shut_down(peer: socket.socket) -> bool:
    """Whether the other end was shut down (reads as the end of the stream) in time."""
    peer.settimeout(PATIENCE)
    try:
        return peer.recv(1) == b""
    except TimeoutError:
        return False


def test_an_alarm_earlier_than_the_one_waited_for_fires_first(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    watchdog = _Watchdog()
    late_sock, late_peer = pair(pairs)
    soon_sock, soon_peer = pair(pairs)
    then_sock, then_peer = pair(pairs)
    late = watchdog.arm(late_sock, time.monotonic() + 3600)  # the thread waits for this one
    soon = watchdog.arm(soon_sock, time.monotonic() + 0.05)  # earlier: wakes the thread
    then = watchdog.arm(then_sock, time.monotonic() + 0.1)  # later than soon: no wake-up

    assert shut_down(soon_peer)
    assert soon.fired
    assert shut_down(then_peer)
    assert then.fired
    assert not late.fired
    watchdog.disarm(late)
    late_peer.setblocking(False)
    with pytest.raises(BlockingIOError):  # left alone: nothing to read, not shut down
        late_peer.recv(1)


def test_disarmed_alarms_are_swept_and_let_go_of_their_sockets(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    watchdog = _Watchdog()
    sock, _ = pair(pairs)
    head = watchdog.arm(sock, time.monotonic() + 3600)
    alarms = []
    for _ in range(500):  # attempts that all end in time, one after the other
        alarm = watchdog.arm(sock, time.monotonic() + 3600)
        watchdog.disarm(alarm)
        alarms.append(alarm)

    assert len(watchdog._heap) <= 2 * (watchdog._SWEEP_AFTER + 1)
    assert all(alarm.sock is None and alarm.cancelled for alarm in alarms)
    assert head.sock is sock
    assert not head.cancelled
    watchdog.disarm(head)


def test_an_alarm_disarmed_after_it_fired_is_not_counted_in_the_heap(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    watchdog = _Watchdog()
    sock, peer = pair(pairs)
    alarm = watchdog.arm(sock, time.monotonic() + 0.01)
    assert shut_down(peer)
    assert alarm.fired
    watchdog.disarm(alarm)  # as an attempt's end does, after the deadline fired
    assert (watchdog._disarmed, watchdog._heap) == (0, [])
    assert alarm.sock is None


def test_a_disarmed_alarm_the_thread_waits_for_is_dropped_and_the_next_one_fires(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    watchdog = _Watchdog()
    first_sock, first_peer = pair(pairs)
    next_sock, next_peer = pair(pairs)
    first = watchdog.arm(first_sock, time.monotonic() + 0.05)
    then = watchdog.arm(next_sock, time.monotonic() + 0.1)
    watchdog.disarm(first)  # the attempt ended in time: the thread wakes for nothing

    assert shut_down(next_peer)
    assert then.fired
    assert not first.fired
    assert (watchdog._disarmed, watchdog._heap) == (0, [])
    first_peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        first_peer.recv(1)
