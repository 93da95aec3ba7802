"""`fan_out`: one call per value on a few threads, results in input order (`BaseClient.map`).

At most ``max_workers`` calls run at once; more values wait their turn, so a long list
costs no more threads or memory than a short one. The first failure stops the fan-out:
no call starts after it, the calls in flight end (their retries are cancelled), and the
failure of the earliest value in input order is raised. With ``return_exceptions`` every
value is called and each failure takes its value's place instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from ._arguments import is_int
from ._cancel import Cancelled, cancel_scope
from ._context import in_callers_context
from ._pagination import _progress_bar, _tqdm_is_installed

__all__ = ["fan_out"]

ValueT = TypeVar("ValueT")
ResultT = TypeVar("ResultT")

_NOT_DONE: Any = object()


def fan_out(
    call: Callable[[ValueT], ResultT],
    values: Iterable[ValueT],
    *,
    max_workers: int,
    return_exceptions: bool,
    progress: bool,
) -> list[Any]:
    """``[call(value) for value in values]``, at most ``max_workers`` calls at a time.

    Each call runs in a copy of the caller's context (an OpenTelemetry span, say), taken
    when the call is handed to a worker.

    Raises:
        TypeError, ValueError: ``max_workers`` is not an int >= 1 (before any call).
        ImportError: ``progress=True`` without ``tqdm`` installed (before any call).
        Exception: the failure of the earliest value that failed, without
            ``return_exceptions``.
    """
    if not is_int(max_workers):
        raise TypeError(f"max_workers must be an int >= 1, not {type(max_workers).__name__}")
    if max_workers < 1:
        raise ValueError(f"max_workers must be an int >= 1, got {max_workers}")
    if progress and not _tqdm_is_installed():
        from ._pagination import _NO_TQDM

        raise ImportError(_NO_TQDM, name="tqdm")
    pending = list(values)
    results: list[Any] = [_NOT_DONE] * len(pending)
    if not pending:
        return results
    stop = threading.Event()  # set on the first failure: in-flight calls stop retrying

    def task(value: ValueT) -> Callable[[], ResultT]:
        def run() -> ResultT:
            with cancel_scope(stop):
                return call(value)

        return in_callers_context(run)  # taken here, in the caller's thread

    bar = _progress_bar(len(pending)) if progress else None
    failures: dict[int, BaseException] = {}
    workers = min(max_workers, len(pending))
    with ThreadPoolExecutor(workers, thread_name_prefix="amazon-music-map") as executor:
        in_flight: dict[Future[ResultT], int] = {}
        next_index = 0
        try:
            while in_flight or (next_index < len(pending) and not stop.is_set()):
                while len(in_flight) < workers and next_index < len(pending) and not stop.is_set():
                    in_flight[executor.submit(task(pending[next_index]))] = next_index
                    next_index += 1
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    index = in_flight.pop(future)
                    error = future.exception()
                    if error is None:
                        results[index] = future.result()
                    elif isinstance(error, Cancelled):  # stopped by an earlier failure
                        continue
                    elif return_exceptions and isinstance(error, Exception):
                        results[index] = error
                    else:
                        failures[index] = error
                        stop.set()
                    if bar is not None:
                        bar.update(1)
        except BaseException:  # KeyboardInterrupt in the caller: stop the workers too
            stop.set()
            raise
        finally:
            if bar is not None:
                bar.close()
    if failures:
        raise failures[min(failures)]
    return results
