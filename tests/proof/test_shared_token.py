"""Proof: processes sharing a token store share one token.

- Cold start: 8 processes (``spawn``) share one store (a real file; a real Redis server)
  holding only the refresh token; they call the API at the same moment: exactly 1 token
  request.
- Restart: a process started with a fresh token in the store makes 0 token requests.
- Rotation: with ``rotate_refresh_tokens=True``, 8 processes call the API for 10 token
  lifetimes of 0.5 s: 0 ``invalid_grant``, and every refresh token the sandbox issued
  reached the store (the last one is there at the end).
- Broken stores: a process killed between writing the new file and renaming it, and a
  truncated file: the next process recovers with at most one extra token request, and
  no exception escapes.
- The store file is mode 0600.

The sandbox runs in this process; the workers are a pool of 8 spawned processes (each
task builds its own `LoginWithAmazon`, with no token in memory) that start a proof's
tasks together at a barrier. The restarted process and the process killed mid-write are
spawned with the pool, so that no proof waits for a process to start; neither runs
anything before its proof.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from amazon_music_browse import FileTokenStore, RedisTokenStore, StoredToken, TokenStore
from amazon_music_browse.sandbox import SandboxServer

from ._support import report
from ._token_workers import (
    Sandbox,
    StoreSpec,
    call_once,
    call_until,
    die_while_saving,
    join_pool,
    run_task,
    started,
    warm_up,
)

# A fleet of processes proves behaviour, not coverage: the stores and the refresh under
# their locks are measured by tests/unit/test_auth_store.py and test_token_stores.py
# (see tests/conftest.py). The truncated store's proof is measured: its next process is
# the suite's only run of a refresh that finds no record in the store.
unmeasured = pytest.mark.unmeasured

WORKERS = 8
ROTATION_LIFETIME = 0.5
ROTATION_LIFETIMES = 10


@dataclass
class Processes:
    """The spawned processes of the proofs, all started at once before the first."""

    pool: ProcessPoolExecutor  # 8 workers
    barrier: Any  # where the pool's workers meet to start together
    fresh: ProcessPoolExecutor  # one process for the restart, idle until then
    doomed: Any  # one process waiting for its task, killed mid-write
    doomed_tasks: Any

    def together(self) -> None:
        """Ready the barrier for a proof whose tasks start together (after a failed one)."""
        if self.barrier.broken:  # pragma: no cover - only after another proof failed
            self.barrier.reset()


@pytest.fixture(scope="module")
def processes() -> Iterator[Processes]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    doomed_tasks = context.Queue()
    doomed = context.Process(target=run_task, args=(doomed_tasks,), daemon=True)
    with (
        ProcessPoolExecutor(
            WORKERS, mp_context=context, initializer=join_pool, initargs=(barrier,)
        ) as pool,
        ProcessPoolExecutor(1, mp_context=context) as fresh,
    ):
        starting = fresh.submit(started)  # starts its process, and imports
        doomed.start()
        pids = {
            future.result(timeout=120) for future in [pool.submit(warm_up) for _ in range(WORKERS)]
        }
        assert len(pids) == WORKERS
        assert starting.result(timeout=120) not in pids
        yield Processes(pool, barrier, fresh, doomed, doomed_tasks)
        if doomed.is_alive():  # pragma: no cover - its proof did not run, or failed
            doomed.kill()
        doomed.join()


@pytest.fixture
def pool(processes: Processes) -> ProcessPoolExecutor:
    """8 spawned worker processes, started and warm before the first proof."""
    processes.together()
    return processes.pool


def seed(store: TokenStore, sandbox: SandboxServer, **fields: object) -> None:
    """The store holds the login's refresh token and, so far, no access token."""
    store.save(
        "default",
        StoredToken(refresh_token=sandbox.refresh_token, scopes=["music::catalog"], **fields),  # type: ignore[arg-type]
    )


def facts(sandbox: SandboxServer) -> Sandbox:
    return Sandbox(
        sandbox.url, sandbox.token_url, sandbox.api_key, sandbox.client_id, sandbox.client_secret
    )


def cold_start(
    pool: ProcessPoolExecutor, sandbox: SandboxServer, spec: StoreSpec
) -> list[dict[str, object]]:
    futures = [pool.submit(call_once, facts(sandbox), spec, True) for _ in range(WORKERS)]
    return [future.result(timeout=120) for future in futures]


@unmeasured
def test_cold_start_with_a_file_store_makes_one_token_request(
    pool: ProcessPoolExecutor, processes: Processes, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    with SandboxServer(token_lifetime=60) as sandbox:
        seed(FileTokenStore(path), sandbox)
        results = cold_start(pool, sandbox, StoreSpec("file", str(path)))
        token_requests = sandbox.token_requests
        # Restart: a process that has run nothing finds a fresh token in the store.
        restarted = processes.fresh.submit(
            call_once, facts(sandbox), StoreSpec("file", str(path)), False
        ).result(timeout=120)
        restart_requests = sandbox.token_requests - token_requests
    mode = stat.S_IMODE(os.stat(path).st_mode)

    report(
        "cold-start-file",
        processes=len({r["pid"] for r in results}),
        pages=sum(r["items"] for r in results),  # type: ignore[misc]
        errors=sum(r["error"] is not None for r in results),
        token_requests=token_requests,
        restart_token_requests=restart_requests,
        file_mode=oct(mode),
    )
    assert [r["error"] for r in results] == [None] * WORKERS
    assert len({r["pid"] for r in results}) == WORKERS
    assert token_requests == 1
    assert restarted["error"] is None
    assert restart_requests == 0
    assert mode == 0o600


@unmeasured
def test_cold_start_with_a_redis_store_makes_one_token_request(
    pool: ProcessPoolExecutor, redis_url: str
) -> None:
    prefix = f"proof-{uuid.uuid4().hex}:"
    store = RedisTokenStore(redis_url, prefix=prefix)
    with SandboxServer(token_lifetime=60) as sandbox:
        seed(store, sandbox)
        results = cold_start(pool, sandbox, StoreSpec("redis", redis_url, prefix))
        token_requests = sandbox.token_requests
    stored = store.load("default")
    store.close()

    report(
        "cold-start-redis",
        processes=len({r["pid"] for r in results}),
        errors=sum(r["error"] is not None for r in results),
        token_requests=token_requests,
    )
    assert [r["error"] for r in results] == [None] * WORKERS
    assert len({r["pid"] for r in results}) == WORKERS
    assert token_requests == 1
    assert stored is not None
    assert stored.access_token is not None


@unmeasured
def test_rotation_across_processes_loses_no_refresh_token(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    logs = tmp_path / "saved"
    logs.mkdir()
    with SandboxServer(token_lifetime=ROTATION_LIFETIME, rotate_refresh_tokens=True) as sandbox:
        seed(FileTokenStore(path), sandbox)
        spec = StoreSpec("file", str(path), log_dir=str(logs))
        seconds = ROTATION_LIFETIME * ROTATION_LIFETIMES
        futures = [pool.submit(call_until, facts(sandbox), spec, seconds) for _ in range(WORKERS)]
        results = [future.result(timeout=120) for future in futures]
        issued = sandbox.issued_refresh_tokens
        errors = sandbox.token_errors
        token_requests = sandbox.token_requests
    saved = set()
    for log in logs.iterdir():
        saved.update(log.read_text().split())
    stored = FileTokenStore(path).load("default")
    worker_errors = [error for r in results for error in r["errors"]]  # type: ignore[attr-defined]
    calls = sum(r["calls"] for r in results)  # type: ignore[misc]

    report(
        "rotation",
        processes=WORKERS,
        lifetimes=ROTATION_LIFETIMES,
        api_calls=calls,
        token_requests=token_requests,
        refresh_tokens_issued=len(issued),
        refresh_tokens_stored=len(saved & set(issued)),
        invalid_grant=errors.get("invalid_grant", 0),
        worker_errors=len(worker_errors),
    )
    assert errors.get("invalid_grant", 0) == 0
    assert not [e for e in worker_errors if "invalid_grant" in e]
    assert len(issued) == token_requests  # every refresh rotated
    assert token_requests >= 3  # rotated several times (about one per lifetime when idle)
    assert set(issued) <= saved  # every refresh token issued reached the store
    assert stored is not None
    assert stored.refresh_token == issued[-1]
    assert all(r["calls"] > 0 for r in results)  # type: ignore[operator]


@unmeasured
def test_a_process_killed_mid_write_costs_at_most_one_token_request(
    pool: ProcessPoolExecutor, processes: Processes, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    with SandboxServer(token_lifetime=60) as sandbox:
        # An expired access token: the first worker must refresh, and dies saving.
        seed(FileTokenStore(path), sandbox, access_token="Atza|expired-long-ago", expires_at=1.0)
        before = path.read_bytes()
        dying = processes.doomed
        processes.doomed_tasks.put((die_while_saving, (facts(sandbox), str(path))))
        dying.join(timeout=120)
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        intact = path.read_bytes() == before
        requests_before = sandbox.token_requests
        result = pool.submit(call_once, facts(sandbox), StoreSpec("file", str(path)), False).result(
            timeout=120
        )
        extra = sandbox.token_requests - requests_before
    remaining = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    report(
        "killed-mid-write",
        exit_code=dying.exitcode,
        leftover_files=len(leftovers),
        store_intact=intact,
        next_error=result["error"],
        extra_token_requests=extra,
        leftovers_after=len(remaining),
    )
    assert dying.exitcode == -9
    assert len(leftovers) == 1  # the new file, written and never renamed
    assert intact
    assert result["error"] is None
    assert extra <= 1
    assert remaining == []  # the next save removed it


def test_a_truncated_store_costs_at_most_one_token_request(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    with SandboxServer(token_lifetime=60) as sandbox:
        store = FileTokenStore(path)
        seed(store, sandbox)
        first = pool.submit(call_once, facts(sandbox), StoreSpec("file", str(path)), False).result(
            timeout=120
        )
        content = path.read_bytes()
        path.write_bytes(content[: len(content) // 2])  # cut in the middle
        requests_before = sandbox.token_requests
        # The fleet's configuration still names the refresh token. A new process (spawned
        # under coverage: see `unmeasured` above).
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as after:
            result = after.submit(
                call_once,
                facts(sandbox),
                StoreSpec("file", str(path)),
                False,
                sandbox.refresh_token,
            ).result(timeout=120)
        extra = sandbox.token_requests - requests_before
    repaired = FileTokenStore(path).load("default")

    report(
        "truncated-store",
        truncated_to=len(content) // 2,
        next_error=result["error"],
        extra_token_requests=extra,
        repaired=repaired is not None,
    )
    assert first["error"] is None
    assert result["error"] is None
    assert extra <= 1
    assert repaired is not None
    assert repaired.access_token is not None
