"""Proof: however large an answer is, or decodes to, the client holds at most its cap.

A raw-socket loopback server sends gzip and deflate bombs (about 300 KB that decode to
300 MiB of zeros, built block by block so the test never holds 300 MiB either), plain
bodies of 1, 8, 64 and 200 MiB (streamed from a generator), error statuses with 50 MB
bodies, and Login with Amazon token answers over their 1 MiB cap. Each case runs in a
process of its own, forked from a fresh interpreter that imported the SDK and parsed one
small answer of each kind; the child resets its peak RSS (``/proc/self/clear_refs``) and
makes the call; its peak RSS growth must stay under twice the cap. A 2xx over the cap is
``ResponseValidationError`` naming ``max_response_bytes`` and the cap in bytes, sent once
(the server counts); an error status is classified by its status, with at most 64 KiB of
body kept.
"""

from __future__ import annotations

import functools
import json
import socket
import struct
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ._hostile_server import HostileServer, Request, send_all
from ._support import report

KiB, MiB = 1024, 1024 * 1024
CAP = 8 * MiB
DEFAULT_CAP = 32 * MiB
TOKEN_CAP = 1 * MiB
BOMB_MIB = 300
KEPT_BODY = 64 * KiB
CHUNK = b"x" * MiB
PAGE_HEAD = (
    b'{"data":{"category":{"id":"size","tracks":{"pageInfo":{"hasNextPage":false},'
    b'"edges":[{"node":{"id":"T1","title":"one"}}]}}},"pad":"'
)
TOKEN_HEAD = b'{"access_token":"Atza|size-proof","token_type":"bearer","expires_in":3600,"pad":"'
TAIL = b'"}'


# --- what the server sends ------------------------------------------------------------


@functools.cache
def bomb(encoding: str) -> bytes:
    """``BOMB_MIB`` MiB of zeros, compressed: one deflate block sequence that decodes to
    1 MiB (flushed, so it does not depend on what came before) repeated, then the end."""
    zero = bytes(MiB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(zero) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush(zlib.Z_FINISH)
    assert zlib.decompressobj(-zlib.MAX_WBITS).decompress(block) == zero
    raw = block * BOMB_MIB + end
    size = BOMB_MIB * MiB
    if encoding == "deflate":  # zlib-wrapped; Adler-32 of n zeros is (n mod 65521) << 16 | 1
        return b"\x78\xda" + raw + struct.pack(">I", (size % 65521) << 16 | 1)
    crc = 0
    for _ in range(BOMB_MIB):
        crc = zlib.crc32(zero, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + raw + struct.pack("<II", crc, size & 0xFFFFFFFF)


def padded(head: bytes, size: int) -> Iterator[bytes]:
    """A JSON object of exactly ``size`` bytes: ``head``, a padding string, the end."""
    left = size - len(head) - len(TAIL)
    yield head
    while left > 0:
        piece = CHUNK if left >= len(CHUNK) else CHUNK[:left]
        left -= len(piece)
        yield piece
    yield TAIL


@dataclass(frozen=True)
class Case:
    name: str
    status: int
    size: int  # bytes on the wire
    decoded: int  # bytes once decoded
    encoding: str | None = None
    cap: int | None = CAP  # None: the client's default
    lwa: bool = False
    expected: str = "ResponseValidationError"
    times_cap: int = 2

    @property
    def bound(self) -> int:
        """The most the call may add to the peak RSS: twice what it may hold."""
        return self.times_cap * (TOKEN_CAP if self.lwa else self.cap or DEFAULT_CAP)

    def chunks(self) -> Iterator[bytes]:
        if self.encoding is not None:
            data = bomb(self.encoding)
            for start in range(0, len(data), 64 * KiB):
                yield data[start : start + 64 * KiB]
        else:
            yield from padded(TOKEN_HEAD if self.lwa else PAGE_HEAD, self.size)


def bomb_case(name: str, status: int, encoding: str, **options: Any) -> Case:
    return Case(name, status, len(bomb(encoding)), BOMB_MIB * MiB, encoding, **options)


CASES = [
    bomb_case("gzip-bomb", 200, "gzip"),
    bomb_case("deflate-bomb", 200, "deflate"),
    Case("plain-1MiB", 200, 1 * MiB, 1 * MiB, expected="page"),
    Case("plain-8MiB-at-cap", 200, CAP, CAP, expected="page"),
    Case("plain-8MiB-plus-1", 200, CAP + 1, CAP + 1),
    Case("plain-64MiB", 200, 64 * MiB, 64 * MiB),
    Case("plain-200MiB", 200, 200 * MiB, 200 * MiB),
    Case("plain-64MiB-default-cap", 200, 64 * MiB, 64 * MiB, cap=None),
    bomb_case("gzip-bomb-default-cap", 200, "gzip", cap=None),
    Case("status-500-50MB", 500, 50_000_000, 50_000_000, expected="InternalServerError"),
    Case("status-404-50MB", 404, 50_000_000, 50_000_000, expected="NotFoundError"),
    bomb_case("status-500-gzip-bomb", 500, "gzip", expected="InternalServerError"),
    Case("lwa-2MiB", 200, 2 * MiB, 2 * MiB, lwa=True),
    bomb_case("lwa-gzip-bomb", 200, "gzip", lwa=True),
    # parsed by LoginWithAmazon: the body, its text and the parsed JSON are 3 copies
    Case(
        "lwa-1MiB-under-cap",
        200,
        TOKEN_CAP - KiB,
        TOKEN_CAP,
        lwa=True,
        expected="token",
        times_cap=4,
    ),
]
CASES_BY_NAME = {case.name: case for case in CASES}
WARM = Case("warm", 200, 4 * KiB, 4 * KiB, "deflate")  # a small page, compressed


def answer(connection: socket.socket, request: Request, stopped: threading.Event) -> None:
    """``/lwa/<case>`` or ``/v1/browse/categories/<case>/tracks``: the case's answer."""
    parts = request.path.split("/")
    lwa = parts[1] == "lwa"
    name = parts[2] if lwa else parts[4]
    if name == "warm":
        body = b"".join(padded(TOKEN_HEAD if lwa else PAGE_HEAD, WARM.size))
        status, encoding = 200, None if lwa else "deflate"
        body = body if lwa else zlib.compress(body)
        length, chunks = len(body), iter([body])
    else:
        case = CASES_BY_NAME[name]
        status, encoding, chunks = case.status, case.encoding, case.chunks()
        length = len(bomb(case.encoding)) if case.encoding else case.size
    head = f"HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {length}\r\nConnection: close\r\n"
    if encoding:
        head += f"Content-Encoding: {encoding}\r\n"
    connection.sendall((head + "\r\n").encode())
    send_all(connection, chunks, stopped)


# --- the client, in a process of its own per case ------------------------------------

# A fresh interpreter imports the SDK and warms up (one small answer of each kind parsed),
# then forks one child per case: the child starts with exactly the template's memory,
# resets its peak RSS (clear_refs 5: VmHWM := VmRSS), makes the call and reports how far
# its peak rose. Forking from a warm template costs milliseconds, where a new interpreter
# per case costs a second of imports.
TEMPLATE = r"""
import gc, json, os, resource, sys
from amazon_music_browse import AmazonMusicError, BrowseClient, LoginWithAmazon

url, cases = sys.argv[1], json.loads(sys.argv[2])

def status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False

def peak_kib(resettable):
    if resettable:
        return status_kib("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def make_call(case):
    # the case's call, after a small call of the same kind in this process (which starts
    # this process's deadline watchdog thread and opens a connection)
    if case["lwa"]:
        credentials = ("size-client", "size-secret-0000", "Atzr|size")
        with LoginWithAmazon(*credentials, url + "/lwa/warm") as warm:
            warm()
        return LoginWithAmazon(*credentials, url + case["path"])
    options = {} if case["cap"] is None else {"max_response_bytes": case["cap"]}
    client = BrowseClient(
        "size-key-0000", "Atza|size-token", base_url=url, max_retries=case["retries"],
        timeout=10.0, **options,
    )
    client.get_category_tracks("warm")
    return lambda: client.get_category_tracks(case["name"])

def run(case):
    call = make_call(case)
    gc.collect()
    resettable = reset_peak()
    before = status_kib("VmRSS") if resettable else peak_kib(False)
    result = {"method": "VmHWM after clear_refs" if resettable else "ru_maxrss"}
    try:
        value = call()
    except AmazonMusicError as error:
        result.update(
            outcome=type(error).__name__,
            message=str(error),
            kept=len(getattr(error, "body", "") or ""),
        )
    else:
        result.update(outcome="token" if isinstance(value, str) else "page", kept=0, message="")
    result["growth"] = (peak_kib(resettable) - before) * 1024
    return result

# warm up: imports, models, a compressed page, a token answer
make_call({"lwa": False, "cap": None, "retries": 0, "name": "warm"})
make_call({"lwa": True, "path": "/lwa/warm"})
for case in cases:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            result = run(case)
        except BaseException as error:
            result = {"outcome": "crashed: " + repr(error), "growth": 0, "kept": 0, "message": ""}
        os.write(writer, json.dumps(dict(result, name=case["name"])).encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        line = pipe.read()
    os.waitpid(pid, 0)
    print(line.decode(), flush=True)
"""


def run_cases(url: str) -> dict[str, dict[str, Any]]:
    cases = [
        {
            "name": case.name,
            "path": f"/lwa/{case.name}",
            "cap": case.cap,
            "lwa": case.lwa,
            # a 2xx may be retried twice, but must not be; an error status is not retried
            "retries": 2 if case.status < 300 else 0,
        }
        for case in CASES
    ]
    done = subprocess.run(
        [sys.executable, "-c", TEMPLATE, url, json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {result["name"]: result for result in results}


def test_no_answer_costs_more_than_twice_its_cap() -> None:
    for encoding in ("gzip", "deflate"):
        bomb(encoding)  # built before the clock of any case starts
    with HostileServer(answer, lifetime=120) as server:
        results = run_cases(server.url)
        sent = dict(server.requests)

    rows = []
    problems = []
    for case in CASES:
        result = results[case.name]
        path = f"/lwa/{case.name}" if case.lwa else f"/v1/browse/categories/{case.name}/tracks"
        cap = TOKEN_CAP if case.lwa else case.cap or DEFAULT_CAP
        requests = sent.get(path, 0)
        rows.append(
            f"{case.name}: wire={case.size / MiB:.2f}MiB decoded={case.decoded / MiB:.0f}MiB "
            f"cap={cap / MiB:g}MiB -> {result['outcome']} requests={requests} "
            f"kept={result['kept']} peak_growth={result['growth'] / MiB:.2f}MiB "
            f"(bound {case.bound / MiB:g}MiB)"
        )
        if result["outcome"] != case.expected:
            problems.append(f"{case.name}: {result['outcome']}: {result['message'][:300]}")
        if requests != 1:
            problems.append(f"{case.name}: sent {requests} times")
        if result["growth"] >= case.bound:
            problems.append(f"{case.name}: peak RSS grew {result['growth']} bytes")
        if case.expected == "ResponseValidationError" and (
            "max_response_bytes" not in result["message"] or f"{cap} bytes" not in result["message"]
        ):
            problems.append(f"{case.name}: the message does not name the cap: {result['message']}")
        if case.status >= 400 and not 0 < result["kept"] <= KEPT_BODY:
            problems.append(f"{case.name}: kept {result['kept']} characters of the body")

    print("\n".join(rows))
    report(
        "size",
        cases=len(CASES),
        method=results[CASES[0].name]["method"],
        bomb_wire_KB=len(bomb("gzip")) // 1000,
        bomb_decoded_MiB=BOMB_MIB,
        max_growth_MiB=max(r["growth"] for r in results.values()) / MiB,
        problems=len(problems),
    )
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_the_bombs_are_what_they_claim(encoding: str) -> None:
    """The first 32 MiB of each bomb decode to zeros, at about 1000:1."""
    data = bomb(encoding)
    inflate = zlib.decompressobj(31 if encoding == "gzip" else zlib.MAX_WBITS)
    out = inflate.decompress(data[: len(data) // 8], 64 * MiB)
    report(f"size-bomb[{encoding}]", wire=len(data), first_eighth_decodes_to=len(out))
    assert len(out) >= (BOMB_MIB // 8 - 1) * MiB
    assert out.count(0) == len(out)
