"""`FileTokenStore`: tokens in a JSON file, shared by every process of one machine.

- The file is mode 0600 and never written in place: each save writes a new file beside
  it and renames it over the old one (`os.replace`), so a reader sees the old file or the
  new one, whole, and a writer killed mid-write leaves the old one intact.
- One lock per file, held across processes (``flock`` on ``<file>.lock``, which is never
  deleted: deleting a lock file lets two holders in). In one process, a thread-level lock
  per lock file comes first, so threads and store objects on the same path queue too;
  the holder may save and delete while it holds the lock (the lock is reentrant).
- A file that is not JSON of the store's shape (truncated, corrupt) reads as empty, with a
  WARNING, and the next save replaces it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ._errors import ConfigurationError
from ._log import logger
from ._token_store import StoredToken

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt
else:
    import fcntl

__all__ = ["FileTokenStore", "default_token_path"]

_APP_DIR = "amazon-music-browse"
_FILE_NAME = "tokens.json"
_FORMAT_VERSION = 1


def default_token_path() -> Path:
    """``$XDG_CONFIG_HOME/amazon-music-browse/tokens.json``, else under ``~/.config``.

    On Windows: ``%APPDATA%\\amazon-music-browse\\tokens.json``.
    """
    if sys.platform == "win32":  # pragma: no cover
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / _APP_DIR / _FILE_NAME
    config = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG rule: a relative path is invalid and is ignored.
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / _APP_DIR / _FILE_NAME


class _FileLock:
    """The lock of one lock file in this process: a thread lock, then ``flock``.

    Reentrant in the thread holding it; the file is locked while the depth is above 0.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.mutex = threading.RLock()
        self.descriptor: int | None = None
        self.depth = 0

    def acquire(self) -> None:
        self.mutex.acquire()
        if self.depth == 0:
            try:
                self.descriptor = _lock_file(self.path)
            except BaseException:
                self.mutex.release()
                raise
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.descriptor is not None:
            descriptor, self.descriptor = self.descriptor, None
            _unlock_file(descriptor)
        self.mutex.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


_LOCKS: dict[str, _FileLock] = {}
_LOCKS_GUARD = threading.Lock()


def _process_lock(path: str) -> _FileLock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(path)
        if lock is None:
            lock = _LOCKS[path] = _FileLock(path)
        return lock


def _forget_locks_in_child() -> None:
    """A forked child holds none of its parent's locks (though it inherited them)."""
    global _LOCKS_GUARD
    _LOCKS_GUARD = threading.Lock()
    for lock in _LOCKS.values():
        if lock.descriptor is not None:
            # Closing the child's copy leaves the parent's flock in place: the lock is the
            # parent's until the parent releases it.
            os.close(lock.descriptor)
    _LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_in_child)


def _open_lock_file(path: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o600)


def _lock_file(path: str) -> int:
    """Open ``path`` and lock it exclusively, waiting as long as another process holds it."""
    descriptor = _open_lock_file(path)
    try:
        if sys.platform == "win32":  # pragma: no cover
            while True:
                try:
                    msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(0.01)
        else:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _unlock_file(descriptor: int) -> None:
    try:
        if sys.platform == "win32":  # pragma: no cover
            os.lseek(descriptor, 0, os.SEEK_SET)
            msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


class FileTokenStore:
    """Tokens in a JSON file (mode 0600), locked across processes; one record per key.

    Args:
        path: the file; default `default_token_path()`:
            ``$XDG_CONFIG_HOME/amazon-music-browse/tokens.json``, else
            ``~/.config/amazon-music-browse/tokens.json`` (its directory is created, mode
            0700). The directory of a path given must exist.

    Raises:
        ConfigurationError: the directory is missing, or this process may not create
            files in it (checked by opening the lock file ``<path>.lock``).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            self._path = default_token_path()
            try:
                self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create the token store's directory {str(self._path.parent)!r}: "
                    f"{exc.strerror or exc}"
                ) from None
        elif isinstance(path, (str, os.PathLike)):
            self._path = Path(path).expanduser()
        else:
            raise ConfigurationError(f"path must be a str or a path, not {type(path).__name__}")
        self._path = Path(os.path.abspath(self._path))
        self._lock_path = str(self._path) + ".lock"
        self._check()

    def _check(self) -> None:
        """Refuse a path the store could not write, before anything is signed in."""
        directory = self._path.parent
        try:
            is_directory = directory.is_dir()
            not_a_file = self._path.exists() and not self._path.is_file()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot reach the token store's directory {str(directory)!r}: "
                f"{exc.strerror or exc}"
            ) from None
        if not is_directory:
            raise ConfigurationError(
                f"the token store's directory {str(directory)!r} does not exist "
                "(create it, or choose another path)"
            )
        if not_a_file:
            raise ConfigurationError(f"the token store {str(self._path)!r} is not a file")
        try:
            os.close(_open_lock_file(self._lock_path))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write to the token store's directory {str(directory)!r}: "
                f"{exc.strerror or exc}"
            ) from None

    @property
    def path(self) -> Path:
        """The store's file."""
        return self._path

    def lock(self, key: str) -> _FileLock:
        """The store's lock, for any key: exclusive across threads and processes."""
        return _process_lock(self._lock_path)

    def load(self, key: str) -> StoredToken | None:
        """The record under ``key``, or None (none, or the file is not readable as JSON)."""
        record = self._read().get(key)
        if record is None:
            return None
        try:
            return StoredToken.from_json(record)
        except ValueError as exc:
            logger.warning(
                "the token stored under %r in %s is not readable (%s); it reads as empty",
                key,
                self._path,
                exc,
            )
            return None

    def save(self, key: str, token: StoredToken) -> None:
        """Write ``token`` under ``key`` (a new file, renamed over the old one)."""
        if not isinstance(token, StoredToken):
            raise TypeError(f"save() takes a StoredToken, not {type(token).__name__}")
        with self.lock(key):
            records = self._read()
            records[key] = token.to_json()
            self._write(records)

    def delete(self, key: str) -> None:
        """Forget the record under ``key``; deleting a missing key does nothing."""
        with self.lock(key):
            records = self._read()
            if key in records:
                del records[key]
                self._write(records)

    def keys(self) -> list[str]:
        """The keys that hold a record."""
        return sorted(self._read())

    def _read(self) -> dict[str, Any]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning(
                "the token store %s cannot be read (%s); it reads as empty", self._path, exc
            )
            return {}
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or not isinstance(document.get("tokens"), dict):
                raise ValueError("not a token store (no 'tokens' object)")
        except (ValueError, RecursionError) as exc:
            logger.warning(
                "the token store %s is corrupt or truncated (%s); it reads as empty, and the "
                "next save replaces it",
                self._path,
                exc,
            )
            return {}
        tokens: dict[str, Any] = document["tokens"]
        return tokens

    def _write(self, records: dict[str, Any]) -> None:
        """Write a new file and rename it over the store; call with the lock held."""
        directory = str(self._path.parent)
        prefix = f".{self._path.name}."
        self._remove_leftovers(directory, prefix)
        document = {"version": _FORMAT_VERSION, "tokens": records}
        try:
            descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".tmp")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write the token store {str(self._path)!r}: {exc.strerror or exc}"
            ) from None
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:  # mkstemp: mode 0600
                json.dump(document, file, indent=2, sort_keys=True)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self._path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if isinstance(exc, OSError):
                raise ConfigurationError(
                    f"cannot write the token store {str(self._path)!r}: {exc.strerror or exc}"
                ) from None
            raise

    @staticmethod
    def _remove_leftovers(directory: str, prefix: str) -> None:
        """Remove files a writer killed mid-write left: only the lock holder writes."""
        try:
            names = os.listdir(directory)
        except OSError:
            return
        for name in names:
            if name.startswith(prefix) and name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._path)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self._path),))
