"""The token stores: records, the file's rules (0600, rename, corrupt reads as empty, the
default path), locks exclusive across threads and store objects, and Redis (a real server)."""

from __future__ import annotations

import json
import logging
import os
import pickle
import stat
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from amazon_music_browse import (
    ConfigurationError,
    FileTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    StoredToken,
    TokenStore,
)
from amazon_music_browse import _token_store as token_store_module
from amazon_music_browse._file_store import default_token_path

TOKEN = StoredToken(
    access_token="Atza|stored-access-token-1234",
    expires_at=2_000_000_000.0,
    refresh_token="Atzr|stored-refresh-token-5678",
    scopes=["music::catalog"],
    issued_at=1_999_996_400.0,
)


@pytest.fixture
def file_store(tmp_path: Path) -> FileTokenStore:
    return FileTokenStore(tmp_path / "tokens.json")


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisTokenStore]:
    store = RedisTokenStore(redis_url, prefix=f"test-{uuid.uuid4().hex}:")
    yield store
    store.close()


@pytest.fixture(params=["memory", "file", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    if request.param == "memory":
        return MemoryTokenStore()
    if request.param == "file":
        return FileTokenStore(tmp_path / "tokens.json")
    result: TokenStore = request.getfixturevalue("redis_store")
    return result


# -- StoredToken --------------------------------------------------------------------------


def test_a_record_round_trips_through_json() -> None:
    assert StoredToken.from_json(json.loads(json.dumps(TOKEN.to_json()))) == TOKEN


def test_a_records_repr_shows_no_token() -> None:
    text = repr(TOKEN)
    assert "stored-access" not in text
    assert "stored-refresh" not in text
    assert text.startswith("StoredToken(access_token=<set>, expires_at=2000000000.0, ")
    assert repr(StoredToken(refresh_token="Atzr|x")).startswith("StoredToken(access_token=None")


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"access_token": 5},
        {"access_token": ""},
        {"expires_at": "soon"},
        {"expires_at": True},
        {"expires_at": float("nan")},
        {"scopes": "music::catalog"},
        {"scopes": [1]},
    ],
)
def test_a_malformed_record_is_a_value_error(document: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any message
        StoredToken.from_json(document)


# -- every store ----------------------------------------------------------------------------


def test_every_store_is_a_token_store(store: TokenStore) -> None:
    assert isinstance(store, TokenStore)


def test_save_load_delete(store: TokenStore) -> None:
    assert store.load("default") is None
    store.save("default", TOKEN)
    other = StoredToken(refresh_token="Atzr|another-login-0000")
    store.save("tv", other)
    assert store.load("default") == TOKEN
    assert store.load("tv") == other
    store.delete("default")
    store.delete("default")  # a missing key: nothing happens
    assert store.load("default") is None
    assert store.load("tv") == other


def test_save_takes_a_stored_token_only(store: TokenStore) -> None:
    with pytest.raises(TypeError, match="StoredToken"):
        store.save("default", {"refresh_token": "Atzr|x"})  # type: ignore[arg-type]


def test_the_lock_is_exclusive_across_threads_and_store_objects(
    store: TokenStore, tmp_path: Path, redis_url: str
) -> None:
    """Two store objects on the same data (one for memory) lock each other out."""
    if isinstance(store, FileTokenStore):
        twin: TokenStore = FileTokenStore(store.path)
    elif isinstance(store, RedisTokenStore):
        twin = RedisTokenStore(redis_url, prefix=store.prefix)
    else:
        twin = store
    inside = 0
    most = 0
    guard = threading.Lock()

    def hold(which: TokenStore) -> None:
        nonlocal inside, most
        for _ in range(20):
            with which.lock("default"):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.001)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=hold, args=(s,)) for s in (store, twin, store, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


# -- MemoryTokenStore -----------------------------------------------------------------------


def test_a_memory_store_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="FileTokenStore or a RedisTokenStore"):
        pickle.dumps(MemoryTokenStore())


# -- FileTokenStore -------------------------------------------------------------------------


def test_the_file_is_mode_0600_and_each_save_is_a_new_file(file_store: FileTokenStore) -> None:
    file_store.save("default", TOKEN)
    first = os.stat(file_store.path)
    file_store.save("default", TOKEN)
    second = os.stat(file_store.path)
    assert stat.S_IMODE(first.st_mode) == 0o600
    assert stat.S_IMODE(second.st_mode) == 0o600
    assert first.st_ino != second.st_ino  # written beside it and renamed over it
    assert sorted(p.name for p in file_store.path.parent.iterdir()) == [
        "tokens.json",
        "tokens.json.lock",
    ]


def test_the_file_holds_json_by_key(file_store: FileTokenStore) -> None:
    file_store.save("default", TOKEN)
    document = json.loads(file_store.path.read_text())
    assert document == {"version": 1, "tokens": {"default": TOKEN.to_json()}}
    assert file_store.keys() == ["default"]


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        '{"version": 1, "tokens": {"default": {"access_token": "Atza|x", "expi',
        "[]",
        '{"tokens": []}',
        "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),
    ],
    ids=["empty", "brace", "truncated", "list", "tokens-list", "not-utf8"],
)
def test_a_corrupt_file_reads_as_empty_with_a_warning(
    file_store: FileTokenStore, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    file_store.path.write_bytes(content.encode("latin-1"))
    with caplog.at_level(logging.WARNING, "amazon_music_browse"):
        assert file_store.load("default") is None
    if content != "":
        assert any("reads as empty" in r.getMessage() for r in caplog.records)
    file_store.save("default", TOKEN)  # replaces it
    assert file_store.load("default") == TOKEN


def test_a_malformed_record_reads_as_empty_and_the_others_stay(
    file_store: FileTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    good = TOKEN.to_json()
    file_store.path.write_text(json.dumps({"tokens": {"bad": {"scopes": 3}, "good": good}}))
    with caplog.at_level(logging.WARNING, "amazon_music_browse"):
        assert file_store.load("bad") is None
    assert "'bad'" in caplog.text
    assert file_store.load("good") == TOKEN


def test_a_writers_leftover_is_removed_by_the_next_save(file_store: FileTokenStore) -> None:
    leftover = file_store.path.parent / ".tokens.json.abc123.tmp"
    leftover.write_text('{"version": 1, "tok')  # a writer killed mid-write
    assert file_store.load("default") is None
    file_store.save("default", TOKEN)
    assert not leftover.exists()


def test_a_missing_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        FileTokenStore(tmp_path / "missing" / "tokens.json")
    assert not (tmp_path / "missing").exists()


def test_a_directory_as_the_path_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a file"):
        FileTokenStore(tmp_path)


def test_a_path_of_another_type_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="must be a str or a path"):
        FileTokenStore(42)  # type: ignore[arg-type]


# os.fork() in a process with threads (another test's) is what is done here, on purpose.
FORK_WARNING = "ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning"


@pytest.mark.filterwarnings(FORK_WARNING)
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_directory_without_write_permission_is_a_configuration_error() -> None:
    """Checked in a forked child that is not root (root may write anywhere)."""
    directory = Path(tempfile.mkdtemp(prefix="read-only-"))  # reachable by any user
    os.chmod(directory, 0o555)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        message = b"no error"
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            FileTokenStore(directory / "tokens.json")
        except ConfigurationError as error:
            message = str(error).encode()
        except BaseException as error:
            message = repr(error).encode()
        os.write(writer, message)
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    assert message.startswith("cannot write to the token store's directory"), message
    assert "Permission denied" in message
    assert list(directory.iterdir()) == []
    os.rmdir(directory)


def test_the_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_token_path() == tmp_path / "xdg" / "amazon-music-browse" / "tokens.json"
    store = FileTokenStore()
    assert store.path == tmp_path / "xdg" / "amazon-music-browse" / "tokens.json"
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".config" / "amazon-music-browse" / "tokens.json"
    assert default_token_path() == expected
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_token_path() == expected


def test_a_file_store_pickles_as_its_path(file_store: FileTokenStore) -> None:
    file_store.save("default", TOKEN)
    copy = pickle.loads(pickle.dumps(file_store))
    assert copy.path == file_store.path
    assert copy.load("default") == TOKEN
    assert repr(copy) == f"FileTokenStore({str(file_store.path)!r})"


def test_the_holder_of_the_lock_may_save(file_store: FileTokenStore) -> None:
    with file_store.lock("default"), file_store.lock("default"):  # reentrant
        file_store.save("default", TOKEN)
        file_store.delete("other")
    assert file_store.load("default") == TOKEN


@pytest.mark.filterwarnings(FORK_WARNING)
def test_the_lock_holds_across_processes(file_store: FileTokenStore, tmp_path: Path) -> None:
    """A child forked while the parent holds the lock waits for the parent (no clock)."""
    released = tmp_path / "released"
    trying_r, trying_w = os.pipe()
    result_r, result_w = os.pipe()
    with file_store.lock("default"):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through the pipe
            os.write(trying_w, b"trying")
            with FileTokenStore(file_store.path).lock("default"):
                # Only a lock that held until the parent's release sees its marker.
                os.write(result_w, b"after" if released.exists() else b"before")
            os._exit(0)
        os.read(trying_r, 6)  # the child is at the lock now
        time.sleep(0.2)  # and, the lock holding, waits there
        released.write_text("yes")  # the parent's last act before releasing
    os.close(result_w)
    with os.fdopen(result_r, "rb") as pipe:
        seen = pipe.read()
    os.waitpid(pid, 0)
    os.close(trying_r)
    os.close(trying_w)
    assert seen == b"after"


# -- RedisTokenStore ------------------------------------------------------------------------


def test_a_redis_store_takes_a_client_or_a_url(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    store = RedisTokenStore(client, prefix="t-client:")
    store.save("default", TOKEN)
    assert RedisTokenStore(redis_url, prefix="t-client:").load("default") == TOKEN
    assert client.get("t-client:token:default") is not None
    store.close()  # not its client: it stays open
    assert client.ping()
    assert repr(store) == "RedisTokenStore(prefix='t-client:')"
    client.delete("t-client:token:default")
    client.close()


def test_an_unreadable_redis_record_reads_as_empty(
    redis_store: RedisTokenStore, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    with redis.Redis.from_url(redis_url) as client:
        client.set(f"{redis_store.prefix}token:default", b"{not json")
    with caplog.at_level(logging.WARNING, "amazon_music_browse"):
        assert redis_store.load("default") is None
    assert "reads as empty" in caplog.text


def test_an_unreachable_redis_is_an_api_connection_error() -> None:
    from amazon_music_browse import APIConnectionError

    store = RedisTokenStore("redis://127.0.0.1:1/0")
    with pytest.raises(APIConnectionError, match="Redis token store failed to read"):
        store.load("default")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"redis": 42}, "redis must be a redis.Redis or a URL"),
        ({"redis": "redis://127.0.0.1:1/0", "prefix": 3}, "prefix must be a str"),
        ({"redis": "redis://127.0.0.1:1/0", "lock_timeout": 0}, "lock_timeout must be > 0"),
    ],
)
def test_redis_store_arguments_are_checked(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisTokenStore(**arguments)


def test_without_redis_the_name_imports_and_says_which_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real: Callable[[str], Any] = token_store_module.importlib.import_module

    def without_redis(name: str) -> Any:
        if name == "redis":
            raise ImportError("No module named 'redis'")
        return real(name)

    monkeypatch.setattr(token_store_module.importlib, "import_module", without_redis)
    with pytest.raises(ImportError, match=r'pip install "amazon-music-browse\[redis\]"'):
        RedisTokenStore("redis://localhost")


def test_a_failed_write_is_a_configuration_error_and_leaves_the_store(
    file_store: FileTokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amazon_music_browse import _file_store

    file_store.save("default", TOKEN)

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_file_store.os, "replace", full_disk)
    with pytest.raises(ConfigurationError, match="No space left on device"):
        file_store.save("default", StoredToken(refresh_token="Atzr|new-0000000"))
    monkeypatch.undo()
    assert file_store.load("default") == TOKEN
    assert sorted(p.name for p in file_store.path.parent.iterdir()) == [
        "tokens.json",
        "tokens.json.lock",
    ]
    monkeypatch.setattr(_file_store.tempfile, "mkstemp", full_disk)
    with pytest.raises(ConfigurationError, match="cannot write the token store"):
        file_store.save("default", TOKEN)


def test_a_default_directory_that_cannot_be_made_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "a-file"))
    with pytest.raises(ConfigurationError, match="cannot create the token store's directory"):
        FileTokenStore()


def test_an_unreadable_file_reads_as_empty(
    file_store: FileTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    file_store.path.mkdir()  # reading a directory fails
    with caplog.at_level(logging.WARNING, "amazon_music_browse"):
        assert file_store.load("default") is None
    assert "cannot be read" in caplog.text
