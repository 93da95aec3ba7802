"""Target 6: ``import amazon_music_browse`` against importing its three dependencies.

Whole fresh interpreters, timed from the parent, alternating the two commands. Then one
``-X importtime`` run of each tells where the difference goes: the SDK's own modules,
and the modules that only the SDK's import loads (``import pydantic`` alone is lazy, so
the baseline does not load ``pydantic.main``).

Every interpreter loads bytecode from a private cache (``PYTHONPYCACHEPREFIX``, filled by
warm-up runs), as an installed package does: with ``PYTHONDONTWRITEBYTECODE=1`` and an
editable install, the SDK's modules, and only they, would be compiled on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from _common import ROOT, Context
from _stats import Paired, Row, paired_row

SDK_CODE = "import amazon_music_browse"
BASE_CODE = "import requests, pydantic, tenacity"
# The package loads its names on first use; this pair holds the first use of the client
# to the same bar, against its dependencies made usable: `import pydantic` alone is lazy,
# and defining a first model loads most of pydantic, whatever the SDK. What remains is
# what the SDK itself adds.
FIRST_USE_CODE = "from amazon_music_browse import BrowseClient"
FIRST_USE_BASE_CODE = (
    "import requests, tenacity; from pydantic import create_model; "
    "create_model('Model', id=(str, ...))"
)
PACKAGE = "amazon_music_browse"


@contextmanager
def bytecode_cache() -> Iterator[dict[str, str]]:
    """An environment whose interpreters read and write bytecode in a private cache."""
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as prefix:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=prefix)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for _ in range(2):
            for code in (SDK_CODE, BASE_CODE, FIRST_USE_CODE, FIRST_USE_BASE_CODE):
                _time_import(code, env)
        yield env


def _time_import(code: str, env: dict[str, str]) -> float:
    """Wall seconds of ``python -c code``, waited for with a blocking ``wait4``.

    (``subprocess.run(..., timeout=...)`` polls with sleeps of up to 50 ms, which would
    round every figure up to its next poll.)
    """
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    _, status, _usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"python -c {code!r} exited with {child.returncode}")
    return elapsed


@dataclass(frozen=True)
class ImportCost:
    """One module's line of ``-X importtime``, in milliseconds."""

    module: str
    self_ms: float
    cumulative_ms: float


def import_costs(code: str, env: dict[str, str]) -> dict[str, ImportCost]:
    """Every module ``code`` imports, with its own and cumulative import time."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    costs: dict[str, ImportCost] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, module = line.removeprefix("import time:").split("|")
        name = module.strip()
        costs[name] = ImportCost(name, int(own) / 1000, int(cumulative) / 1000)
    return costs


def import_breakdown(env: dict[str, str], top: int = 12) -> list[str]:
    """Lines naming the SDK's own costliest modules and what only the SDK imports."""
    sdk = import_costs(FIRST_USE_CODE, env)
    base = import_costs(FIRST_USE_BASE_CODE, env)
    own = sorted(
        (cost for cost in sdk.values() if cost.module.split(".")[0] == PACKAGE),
        key=lambda cost: -cost.self_ms,
    )
    extra = sorted(
        (cost for name, cost in sdk.items() if name not in base),
        key=lambda cost: -cost.self_ms,
    )
    extra_ms = sum(cost.self_ms for cost in extra)
    own_ms = sum(cost.self_ms for cost in own)
    lines = [
        f"`-X importtime` (one run each; inflated by the tracing): `{FIRST_USE_CODE}`: "
        f"{len(extra)} modules that `{FIRST_USE_BASE_CODE}` does not load cost "
        f"{extra_ms:.1f} ms of self time, "
        f"{own_ms:.1f} ms of it in the SDK's own modules.",
        "",
        "| SDK module | self ms | cumulative ms |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{c.module}` | {c.self_ms:.1f} | {c.cumulative_ms:.1f} |" for c in own[:top]]
    lines += [
        "",
        "| imported only by the SDK (not its own) | self ms | cumulative ms |",
        "|---|---:|---:|",
    ]
    others = [cost for cost in extra if cost.module.split(".")[0] != PACKAGE]
    lines += [f"| `{c.module}` | {c.self_ms:.1f} | {c.cumulative_ms:.1f} |" for c in others[:top]]
    return lines


def bench_import(ctx: Context) -> list[Row]:
    """Target 6: the SDK's import within 1.15x of importing requests, pydantic, tenacity."""
    pairs = {
        (SDK_CODE, BASE_CODE): Paired([], []),
        (FIRST_USE_CODE, FIRST_USE_BASE_CODE): Paired([], []),
    }
    with bytecode_cache() as env:
        for index in range(ctx.pick(40, 10)):
            for (sdk_code, base_code), paired in pairs.items():
                if index % 2 == 0:
                    paired.sdk.append(_time_import(sdk_code, env))
                    paired.base.append(_time_import(base_code, env))
                else:
                    paired.base.append(_time_import(base_code, env))
                    paired.sdk.append(_time_import(sdk_code, env))
        breakdown = import_breakdown(env)
    rows = []
    for name, (sdk_code, base_code) in zip(
        ("import (fresh interpreter)", "first use: import BrowseClient"), pairs, strict=True
    ):
        paired = pairs[sdk_code, base_code]
        row = paired_row(name, paired, scale=1e3, unit="ms", op="<=", target=1.15)
        row.notes.append(f'`python -c "{sdk_code}"` vs `python -c "{base_code}"`, wall time')
        rows.append(row)
    rows[-1].notes += ["", *breakdown]
    return rows
