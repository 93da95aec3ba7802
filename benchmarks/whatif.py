"""Estimated savings of proposed SDK changes, measured by monkeypatching (src/ untouched).

    python benchmarks/whatif.py [--quick] [--only calls|import]

Per call, each variant is the real client with one change applied in this process, timed
in rotation with the unchanged SDK and the raw ``requests`` baseline:

- ``after-validator``: ``ResponseCollection``'s ``mode="before"`` model validator (which
  makes pydantic-core turn the whole JSON page into Python dicts before validating it)
  replaced by an equivalent ``mode="after"`` one;
- ``no-tenacity``: the first attempt made without tenacity's ``Retrying`` (a fast path
  that enters the retry loop only after a retryable failure);
- ``query-in-url``: the query string encoded by the SDK into the URL, instead of a
  ``params`` dict that ``requests`` encodes through its slow Protocol isinstance checks;
- ``no-netrc``: a no-op ``auth`` so ``requests`` skips its per-request ``~/.netrc`` lookup
  (which, when the file has an entry for the host, also replaces the Bearer token);
- ``all``: every change above together.

For the import, fresh interpreters time the baseline, the baseline plus one trivial
deferred pydantic model (the floor for any package that defines models at import: ``import
pydantic`` alone is lazy), and the SDK; one more child measures how long pydantic generic
parametrisation (``Model[T]``) takes during the SDK's import.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import requests
from _common import ROOT, Context, baseline_headers, isolate_from_proxies, make_client
from _server import TOP_PLAYLISTS_PATH, TOP_TRACKS_PATH, ServerProcess
from _stats import Summary, alternate_many, quantile
from bench_import import BASE_CODE, SDK_CODE, _time_import, bytecode_cache
from pydantic import BaseModel, model_validator

from amazon_music_browse import BrowseClient, ResponseCollection
from amazon_music_browse import _endpoints as ep

ItemT = TypeVar("ItemT", bound=BaseModel)


class AfterValidatorCollection(ResponseCollection[ItemT], Generic[ItemT]):
    """``ResponseCollection`` whose edge count is filled in after validation."""

    edge_count: int = -1

    @model_validator(mode="after")
    def _count_edges_when_unsaid(self) -> Any:  # same name: replaces the "before" one
        if "edge_count" not in self.model_fields_set:
            self.edge_count = len(self.edges)
        return self


def _after_validator_model(endpoint: ep.Endpoint[Any]) -> Any:
    """The answer model of ``endpoint`` built over :class:`AfterValidatorCollection`."""
    copy = dataclasses.replace(endpoint)
    original = ep.ResponseCollection  # type: ignore[attr-defined]
    ep.ResponseCollection = AfterValidatorCollection  # type: ignore[attr-defined]
    try:
        return copy._answer_model
    finally:
        ep.ResponseCollection = original  # type: ignore[attr-defined]


def _with_answer_model(
    endpoint: ep.Endpoint[Any], model: Any, call: Callable[[], object]
) -> Callable[[], object]:
    """``call`` made while ``endpoint`` parses with ``model`` (swapped in for the call)."""
    cache = endpoint.__dict__

    def patched() -> object:
        kept = cache["_answer_model"]
        cache["_answer_model"] = model
        try:
            return call()
        finally:
            cache["_answer_model"] = kept

    return patched


def _call_once(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


def _no_auth(request: Any) -> Any:
    return request


def _query_in_url(client: BrowseClient) -> None:
    transport = client._transport
    original = transport.get

    def get(url: str, params: Any, headers: Any, credentials: Any, timeout: Any) -> Any:
        if params:
            url, params = f"{url}?{urlencode(params)}", None
        return original(url, params, headers, credentials, timeout)

    transport.get = get  # type: ignore[method-assign]


def _variants(
    base_url: str, endpoint: ep.Endpoint[Any], method: str, limit: int
) -> dict[str, Callable[[], object]]:
    changed = _after_validator_model(endpoint)
    sides: dict[str, Callable[[], object]] = {}
    clients: dict[str, BrowseClient] = {}
    for name in ("SDK now", "after-validator", "no-tenacity", "query-in-url", "no-netrc", "all"):
        client = clients[name] = make_client(base_url)
        if name in {"no-tenacity", "all"}:
            client._retrying = _call_once  # type: ignore[assignment]
        if name in {"query-in-url", "all"}:
            _query_in_url(client)
        if name in {"no-netrc", "all"}:
            client.session.auth = _no_auth
        bound = getattr(client, method)

        def call(bound: Callable[..., object] = bound) -> object:
            return bound(limit=limit)

        sides[name] = call
        if name in {"after-validator", "all"}:
            sides[name] = _with_answer_model(endpoint, changed, call)
    client = clients["SDK now"]
    client.get_top_tracks()  # builds the endpoints' own answer models before any swap
    client.get_top_playlists()
    url = f"{base_url}{endpoint.path}?limit={limit}"
    headers = baseline_headers(client, sides["SDK now"])
    session = client.session
    sides["raw requests"] = lambda: session.get(url, headers=headers).json()
    return sides


def _paired_table(title: str, samples: dict[str, list[float]], reference: str) -> None:
    """Print each side's median, its paired saving against ``reference``, and vs raw."""
    now = samples[reference]
    raw = samples.get("raw requests")
    print(f"\n{title}")
    header = f"{'variant':<22} {'median':>9} {'saves (paired)':>15}"
    print(header + ("  vs raw (paired ratio, IQR)" if raw else ""))
    for name, values in samples.items():
        savings = [(a - b) * 1e6 for a, b in zip(now, values, strict=True)]
        line = (
            f"{name:<22} {statistics.median(values) * 1e6:7.1f}µs "
            f"{statistics.median(savings):9.1f}µs ±{_half_iqr(savings):5.1f}"
        )
        if raw:
            ratios = [a / b for a, b in zip(values, raw, strict=True)]
            line += (
                f"  {statistics.median(ratios):.2f} "
                f"({quantile(ratios, 0.25):.2f}-{quantile(ratios, 0.75):.2f})"
            )
        print(line)


def _half_iqr(values: list[float]) -> float:
    return (quantile(values, 0.75) - quantile(values, 0.25)) / 2


def _micro(ctx: Context) -> None:
    """CPU-only pieces of a call, each with and without its change (no network noise)."""
    client = make_client(ctx.base_url)
    bodies = {
        "playlists": client.session.get(f"{ctx.base_url}{TOP_PLAYLISTS_PATH}?limit=100").content,
        "tracks": client.session.get(f"{ctx.base_url}{TOP_TRACKS_PATH}?limit=20").content,
    }
    rounds, batch = ctx.pick(40, 10), ctx.pick(200, 50)
    for label, endpoint in (("playlists", ep.TOP_PLAYLISTS), ("tracks", ep.TOP_TRACKS)):
        body = bodies[label]
        parse = functools.partial(endpoint.parse, body, 200)
        parse()
        changed = _after_validator_model(endpoint)
        sides: dict[str, Callable[[], object]] = {
            "parse now": parse,
            "after-validator": _with_answer_model(endpoint, changed, parse),
            "json.loads": functools.partial(json.loads, body),
        }
        samples = alternate_many(sides, rounds=rounds, batch=batch, warmup=20)
        _paired_table(f"parse of one page of {label} ({len(body):,} bytes)", samples, "parse now")

    def attempt(call: object) -> tuple[bytes, int]:
        return b"", 200

    retrying = client._retrying
    samples = alternate_many(
        {
            "Retrying(...)": lambda: retrying(attempt, None),
            "direct call": lambda: attempt(None),
        },
        rounds=rounds,
        batch=batch,
        warmup=20,
    )
    _paired_table("tenacity on a call that succeeds at once", samples, "Retrying(...)")

    session = client.session
    url = f"{ctx.base_url}{TOP_PLAYLISTS_PATH}"
    headers = baseline_headers(client, lambda: client.get_top_playlists(limit=100))
    samples = alternate_many(
        {
            "params dict (now)": lambda: session.prepare_request(
                requests.Request("GET", url, params={"limit": 100}, headers=headers)
            ),
            "query in url": lambda: session.prepare_request(
                requests.Request("GET", f"{url}?limit=100", headers=headers)
            ),
            "no-op auth": lambda: session.prepare_request(
                requests.Request("GET", url, params={"limit": 100}, headers=headers, auth=_no_auth)
            ),
            "query in url + auth": lambda: session.prepare_request(
                requests.Request("GET", f"{url}?limit=100", headers=headers, auth=_no_auth)
            ),
        },
        rounds=rounds,
        batch=batch,
        warmup=20,
    )
    _paired_table("Session.prepare_request of one GET", samples, "params dict (now)")
    client.close()


def per_call(ctx: Context) -> None:
    """Print the CPU pieces, then whole calls of every variant against raw requests."""
    _micro(ctx)
    for title, endpoint, method, limit in (
        (f"whole call, {TOP_PLAYLISTS_PATH}?limit=100", ep.TOP_PLAYLISTS, "get_top_playlists", 100),
        (f"whole call, {TOP_TRACKS_PATH}?limit=20", ep.TOP_TRACKS, "get_top_tracks", 20),
    ):
        sides = _variants(ctx.base_url, endpoint, method, limit)
        samples = alternate_many(
            sides, rounds=ctx.pick(60, 14), batch=ctx.pick(15, 8), warmup=ctx.pick(30, 5)
        )
        _paired_table(title, samples, "SDK now")


_ONE_MODEL = """
class M(pydantic.BaseModel, defer_build=True):
    x: int = 0
"""

_PARAMETRISATION_PROBE = """
import json, time, requests, pydantic, tenacity
from pydantic import BaseModel
class M(pydantic.BaseModel, defer_build=True):
    x: int = 0
spent, depth = [0.0], [0]
original = BaseModel.__class_getitem__.__func__
def timed(cls, params):
    depth[0] += 1
    started = time.perf_counter()
    try:
        return original(cls, params)
    finally:
        depth[0] -= 1
        if depth[0] == 0:
            spent[0] += time.perf_counter() - started
BaseModel.__class_getitem__ = classmethod(timed)
started = time.perf_counter()
import amazon_music_browse
total = time.perf_counter() - started
print(json.dumps({"sdk_after_one_model": total, "generic_parametrisation": spent[0]}))
"""


def imports(ctx: Context) -> None:
    """Print how the SDK's import time splits between pydantic.main and the SDK itself."""
    commands = {
        "baseline": BASE_CODE,
        "baseline + one model": BASE_CODE + _ONE_MODEL,
        "SDK now": SDK_CODE,
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    probes: list[dict[str, float]] = []
    with bytecode_cache() as env:
        for index in range(ctx.pick(30, 8)):
            names = list(commands) if index % 2 == 0 else list(reversed(commands))
            for name in names:
                samples[name].append(_time_import(commands[name], env))
        for _ in range(ctx.pick(15, 5)):
            done = subprocess.run(
                [sys.executable, "-c", _PARAMETRISATION_PROBE],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
                env=env,
                timeout=60,
            )
            probes.append(json.loads(done.stdout))
    base = Summary.of(samples["baseline"]).median
    print("\nimport, fresh interpreters (wall, median)")
    for name, values in samples.items():
        median = Summary.of(values).median
        print(f"{name:<26} {median * 1e3:6.0f} ms  {median / base:5.2f}x baseline")
    in_sdk = statistics.median(probe["sdk_after_one_model"] for probe in probes)
    generic = statistics.median(probe["generic_parametrisation"] for probe in probes)
    sdk = Summary.of(samples["SDK now"]).median
    print(
        f"the SDK's own import after one model: {in_sdk * 1e3:.1f} ms, of which "
        f"{generic * 1e3:.1f} ms is pydantic generic parametrisation (Model[T]); "
        f"without it: {(sdk - generic) / base:.2f}x baseline"
    )


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("calls", "import"))
    args = parser.parse_args()
    isolate_from_proxies()
    with ServerProcess() as server:
        ctx = Context(quick=args.quick, base_url=server.url)
        if args.only in (None, "calls"):
            per_call(ctx)
        if args.only in (None, "import"):
            imports(ctx)


if __name__ == "__main__":
    main()
