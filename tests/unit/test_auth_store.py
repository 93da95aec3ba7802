"""`LoginWithAmazon` with a token store: one token shared, refreshed under the store's lock,
rotated refresh tokens persisted, and ``invalid_grant`` re-read once, against the sandbox."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from amazon_music_browse import (
    AuthenticationError,
    ConfigurationError,
    FileTokenStore,
    LoginWithAmazon,
    MemoryTokenStore,
    StoredToken,
    _auth,
)
from amazon_music_browse.sandbox import SandboxServer
from tests._support import FakeClock

LIFETIME = 100.0
WALL = 1_800_000_000.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """One fake clock for the sandbox's expiry, the provider's and the store's Unix time."""
    fake = FakeClock(1000.0)
    monkeypatch.setattr(_auth, "_monotonic", fake)
    monkeypatch.setattr(_auth, "_wall", lambda: WALL + fake.now)
    return fake


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(token_lifetime=LIFETIME, clock=clock) as server:
        yield server


@pytest.fixture
def rotating(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(token_lifetime=LIFETIME, clock=clock, rotate_refresh_tokens=True) as server:
        yield server


def provider(sandbox: SandboxServer, store: object, **options: object) -> LoginWithAmazon:
    return LoginWithAmazon(
        sandbox.client_id,
        sandbox.client_secret,
        token_url=sandbox.token_url,
        store=store,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def seeded(sandbox: SandboxServer) -> MemoryTokenStore:
    """A store holding only the sandbox's refresh token: no process has a token yet."""
    store = MemoryTokenStore()
    store.save(
        "default", StoredToken(refresh_token=sandbox.refresh_token, scopes=["music::catalog"])
    )
    return store


def test_the_refresh_token_comes_from_the_store(sandbox: SandboxServer) -> None:
    store = seeded(sandbox)
    with provider(sandbox, store) as lwa:
        token = lwa()
    stored = store.load("default")
    assert stored is not None
    assert stored.access_token == token
    assert stored.refresh_token == sandbox.refresh_token
    assert stored.scopes == ["music::catalog"]  # kept from the record
    assert stored.expires_at == pytest.approx(WALL + 1000.0 + LIFETIME)
    assert stored.issued_at == pytest.approx(WALL + 1000.0)


def test_an_empty_store_without_a_refresh_token_is_a_configuration_error(
    sandbox: SandboxServer,
) -> None:
    with pytest.raises(ConfigurationError, match=r"holds none under 'tv'.*sign in first"):
        provider(sandbox, MemoryTokenStore(), store_key="tv")


def test_a_store_must_be_a_token_store(sandbox: SandboxServer) -> None:
    with pytest.raises(ConfigurationError, match="store must be a TokenStore"):
        provider(sandbox, {"default": "x"})
    with pytest.raises(ConfigurationError, match="store_key must be a non-empty"):
        provider(sandbox, seeded(sandbox), store_key="")


def test_a_fresh_stored_token_is_used_without_a_request(sandbox: SandboxServer) -> None:
    store = seeded(sandbox)
    with provider(sandbox, store) as first:
        token = first()
    with provider(sandbox, store) as second:  # another process, restarted
        assert second() == token
    assert sandbox.token_requests == 1


def test_a_due_stored_token_is_refreshed_once_and_shared(
    sandbox: SandboxServer, clock: FakeClock
) -> None:
    store = seeded(sandbox)
    first, second = provider(sandbox, store), provider(sandbox, store)
    old = first()
    assert second() == old
    clock.now += LIFETIME - 5  # less than a tenth left: due
    new = first()
    assert new != old
    assert second() == new  # read from the store, not refreshed again
    assert sandbox.token_requests == 2


def test_the_stored_refresh_token_wins_over_the_given_one(rotating: SandboxServer) -> None:
    store = seeded(rotating)
    with provider(rotating, store) as lwa:
        lwa()  # rotates: the configured refresh token is refused from now on
    rotated = store.load("default")
    assert rotated is not None
    assert rotated.refresh_token == rotating.issued_refresh_tokens[-1]
    store.save("default", StoredToken(refresh_token=rotated.refresh_token))  # no access token
    given_old = provider(rotating, store, refresh_token=rotating.refresh_token)
    given_old()
    assert rotating.token_errors.get("invalid_grant", 0) == 0


def test_every_rotated_refresh_token_is_stored(rotating: SandboxServer, clock: FakeClock) -> None:
    store = seeded(rotating)
    workers = [provider(rotating, store) for _ in range(3)]
    for _ in range(6):
        for worker in workers:
            worker()
        clock.now += LIFETIME
    stored = store.load("default")
    assert stored is not None
    assert len(rotating.issued_refresh_tokens) == rotating.token_requests == 6
    assert stored.refresh_token == rotating.issued_refresh_tokens[-1]
    assert rotating.token_errors == {}


def test_invalid_grant_rereads_the_store_once(
    rotating: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that changes outside its lock (another login, say): the new token is used."""
    store = seeded(rotating)
    stale = provider(rotating, store)
    with provider(rotating, store) as other:
        other()  # rotates; the store has the new refresh token
    newest = store.load("default")
    assert newest is not None
    # The stale object read the old refresh token; make the store look due, then have a
    # "login" replace the record between its re-read and its request.
    store.save("default", StoredToken(refresh_token=rotating.refresh_token))
    real_load = store.load
    calls = 0

    def load(key: str) -> StoredToken | None:
        nonlocal calls
        calls += 1
        if calls == 3:  # the re-read after invalid_grant
            return StoredToken(refresh_token=newest.refresh_token)
        return real_load(key)

    store.load = load  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, "amazon_music_browse"):
        assert stale()
    assert rotating.token_errors == {"invalid_grant": 1}
    assert "replaced in the store meanwhile" in caplog.text


def test_invalid_grant_with_nothing_newer_raises_and_keeps_the_store(
    sandbox: SandboxServer,
) -> None:
    store = MemoryTokenStore()
    store.save("default", StoredToken(refresh_token="Atzr|revoked-refresh-token"))
    with pytest.raises(AuthenticationError) as caught:
        provider(sandbox, store)()
    assert caught.value.code == "invalid_grant"
    assert store.load("default") == StoredToken(refresh_token="Atzr|revoked-refresh-token")
    assert "revoked-refresh" not in str(caught.value)


def test_a_refused_token_is_not_taken_back_from_the_store(sandbox: SandboxServer) -> None:
    store = seeded(sandbox)
    with provider(sandbox, store) as lwa:
        refused = lwa()
        lwa.invalidate(refused)
        assert lwa() != refused
    assert sandbox.token_requests == 2


def test_threads_of_two_providers_share_one_refresh(sandbox: SandboxServer) -> None:
    store = seeded(sandbox)
    providers = [provider(sandbox, store) for _ in range(2)]
    barrier = threading.Barrier(8)
    tokens: list[str] = []

    def call(index: int) -> None:
        barrier.wait()
        tokens.append(providers[index % 2]())

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(tokens)) == 1
    assert sandbox.token_requests == 1


def test_the_repr_names_the_store_and_no_secret(sandbox: SandboxServer, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    store.save("default", StoredToken(refresh_token=sandbox.refresh_token))
    with provider(sandbox, store) as lwa:
        token = lwa()
        text = repr(lwa)
    assert text.startswith(f"LoginWithAmazon(token_url={sandbox.token_url!r}, store={store!r}, ")
    assert token not in text
    assert lwa.store is store
    assert lwa.store_key == "default"
