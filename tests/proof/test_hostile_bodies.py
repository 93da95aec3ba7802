"""Proof: whatever a server answers, only the SDK's documented exceptions come out.

``hypothesis`` draws answers for every endpoint (and the Login with Amazon token
endpoint): random JSON, the documented answer with keys removed or values of the wrong
type, huge strings, deep nesting, invalid UTF-8, an empty body, binary and HTML, with
2xx, 3xx, 4xx and 5xx statuses, any content type, odd ``Retry-After``,
``Content-Encoding`` and ``Location`` headers. ``responses`` serves them (no sockets).
Every call must return the documented type or raise an ``AmazonMusicError`` whose
``str``, ``repr`` and pickle round trip work; anything else is collected and reported.
"""

from __future__ import annotations

import copy
import gzip
import itertools
import json
import pickle
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from amazon_music_browse import (
    AmazonMusicError,
    BrowseClient,
    Category,
    LoginWithAmazon,
    ResponseCollection,
)

from ._support import report

pytestmark = pytest.mark.unmeasured  # a proof at volume: see tests/conftest.py

EXAMPLES_PER_CASE = 4  # 9 targets x 10 kinds of body x 4 = 360 answers
BASE_URL = "https://api.music.amazon.dev"
TOKEN_URL = "https://api.amazon.com/auth/o2/token"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "browse"
TOKEN_ANSWER = {
    "access_token": "Atza|hostile-access",
    "refresh_token": "Atzr|hostile-refresh",
    "token_type": "bearer",
    "expires_in": 3600,
}
DEEP = "\x00deep:{}\x00"  # a placeholder replaced by nesting after serialization


@dataclass(frozen=True)
class Target:
    name: str
    fixture: str
    call: Callable[[BrowseClient], Any]
    returns: type


TARGETS = {
    target.name: target
    for target in (
        Target(
            "get_top_tracks", "top_tracks", lambda c: c.get_top_tracks(limit=5), ResponseCollection
        ),
        Target(
            "get_top_playlists",
            "top_playlists",
            lambda c: c.get_top_playlists(cursor="c1"),
            ResponseCollection,
        ),
        Target(
            "get_new_podcast_episodes",
            "new_podcast_episodes",
            lambda c: c.get_new_podcast_episodes(limit=100),
            ResponseCollection,
        ),
        Target(
            "get_categories", "categories", lambda c: c.get_categories(limit=2), ResponseCollection
        ),
        Target("get_category", "category", lambda c: c.get_category("2iB4IU25"), Category),
        Target(
            "get_category_albums",
            "category_albums",
            lambda c: c.get_category_albums("E9UEPoEH", limit=3),
            ResponseCollection,
        ),
        Target(
            "get_category_playlists",
            "category_playlists",
            lambda c: c.get_category_playlists("hZiJ3FwS"),
            ResponseCollection,
        ),
        Target(
            "get_category_tracks",
            "category_tracks",
            lambda c: c.get_category_tracks("E9UEPoEH", limit=50, cursor="x"),
            ResponseCollection,
        ),
        Target("login_with_amazon", "", lambda c: None, str),
    )
}
DOCUMENTS: dict[str, Any] = {
    name: json.loads((FIXTURES / f"{target.fixture}.json").read_text())
    for name, target in TARGETS.items()
    if target.fixture
} | {"login_with_amazon": TOKEN_ANSWER}


@dataclass(frozen=True)
class Answer:
    """One drawn answer, and how the client that meets it is set up."""

    target: str
    kind: str
    status: int
    body: bytes = field(repr=False)
    headers: tuple[tuple[str, str], ...]
    max_retries: int = 0
    token_provider: bool = False

    def __repr__(self) -> str:
        return (
            f"Answer({self.target}, {self.kind}, {self.status}, {len(self.body)} bytes "
            f"{self.body[:60]!r}, headers={self.headers}, max_retries={self.max_retries}, "
            f"token_provider={self.token_provider})"
        )


# --- what a server may answer ---------------------------------------------------------

ascii_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
wrong_types = st.sampled_from(
    [None, True, False, 0, -1, 2**64, 1.5, "", "x", [], {}, [None], {"id": None}]
)
huge_strings = st.builds(
    lambda n, c: c * n, st.integers(50_000, 2_000_000), st.sampled_from('xé🎵\\"')
)
deep_markers = st.builds(DEEP.format, st.integers(2_000, 100_000))

STATUSES = {
    "2xx": [200, 200, 200, 201, 203, 204, 206, 299],
    "3xx": [301, 302, 303, 304, 307, 308],
    "4xx": [400, 401, 403, 404, 405, 409, 418, 422, 429, 499],
    "5xx": [500, 502, 503, 504, 599],
}
statuses = st.sampled_from(sorted(STATUSES)).flatmap(lambda group: st.sampled_from(STATUSES[group]))
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/problem+json",
    "text/html; charset=utf-8",
    "text/plain",
    "application/octet-stream",
    "multipart/form-data; boundary=x",
    "",
]
RETRY_AFTERS = ["0", "1", "3600", "-1", "nan", "inf", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT"]
LOCATIONS = ["/v1/elsewhere", "http://other.example/x", "ftp://x/", "http://[bad", "", "//h:99999"]
ENCODINGS = ["gzip", "deflate", "br", "identity", "chunked"]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indices) inside a JSON document, the root included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def edited(draw: st.DrawFn, document: Any, values: st.SearchStrategy[Any] | None) -> bytes:
    """The documented answer with 1-3 of its values replaced by ``values`` (or removed)."""
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(document)[1:]))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if values is None:
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
        if not paths(document)[1:]:
            break
    return serialize(document)


def serialize(document: Any) -> bytes:
    """JSON (NaN and Infinity allowed), with each deep-nesting placeholder expanded."""
    text = json.dumps(document, allow_nan=True)
    for marker in set(re.findall(r'"\\u0000deep:(\d+)\\u0000"', text)):
        depth = int(marker)
        nested = "[" * depth + "]" * depth if depth % 2 else '{"a":' * depth + "1" + "}" * depth
        text = text.replace(f'"\\u0000deep:{marker}\\u0000"', nested)
    return text.encode()


@st.composite
def invalid_utf8(draw: st.DrawFn, document: Any) -> bytes:
    """The documented answer with bytes that are not UTF-8 put in at 1-4 places."""
    body = bytearray(serialize(document))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(body)))
        body[position:position] = draw(
            st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x80"])
        )
    return bytes(body)


def bodies(kind: str, document: Any) -> st.SearchStrategy[bytes]:
    """The bodies of one kind, built around the documented answer of the endpoint."""
    return {
        "documented": st.just(serialize(document)),
        "missing-key": edited(document, None),
        "wrong-type": edited(document, wrong_types | json_values),
        "huge-string": edited(document, huge_strings),
        "deep-nesting": edited(document, deep_markers) | deep_markers.map(serialize),
        "random-json": json_values.map(serialize),
        "invalid-utf8": invalid_utf8(document),
        "empty": st.just(b""),
        "binary": st.binary(max_size=2000),
        "html": st.text().map(
            lambda text: f"<html><body><h1>{text}</h1></body></html>".encode("utf-8", "replace")
        ),
    }[kind]


KINDS = (
    "documented",
    "missing-key",
    "wrong-type",
    "huge-string",
    "deep-nesting",
    "random-json",
    "invalid-utf8",
    "empty",
    "binary",
    "html",
)


@st.composite
def answers(draw: st.DrawFn, target: str, kind: str) -> Answer:
    body = draw(bodies(kind, DOCUMENTS[target]))
    headers = [("Content-Type", draw(st.sampled_from(CONTENT_TYPES)))]
    for name, values in (
        ("Retry-After", st.sampled_from(RETRY_AFTERS) | ascii_text),
        ("Location", st.sampled_from(LOCATIONS) | ascii_text),
        ("Content-Encoding", st.sampled_from(ENCODINGS)),
        ("x-amzn-RequestId", ascii_text),
    ):
        if draw(st.integers(0, 3)) == 3:  # each header in a quarter of the answers
            headers.append((name, draw(values)))
            if (name, headers[-1][1]) == ("Content-Encoding", "gzip") and draw(st.booleans()):
                body = gzip.compress(body)  # sometimes the encoding is even true
    return Answer(
        target=target,
        kind=kind,
        status=draw(statuses),
        body=body,
        headers=tuple(headers),
        max_retries=draw(st.integers(0, 2)),
        token_provider=draw(st.booleans()),
    )


# --- meeting them --------------------------------------------------------------------


class TokenProvider:
    """A token callable with ``invalidate``, as ``LoginWithAmazon`` is."""

    def __init__(self) -> None:
        self.invalidated = 0

    def __call__(self) -> str:
        return f"Atza|provided-{self.invalidated}"

    def invalidate(self, token: str) -> None:
        self.invalidated += 1


def meet(answer: Answer) -> Any:
    """Make the call of ``answer.target`` against a server that answers ``answer``."""

    def respond(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        return answer.status, dict(answer.headers), answer.body

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, re.compile(r".*"), callback=respond, content_type=None)
        mock.add_callback(responses.POST, re.compile(r".*"), callback=respond, content_type=None)
        if answer.target == "login_with_amazon":
            with LoginWithAmazon("client-id", "client-secret", "Atzr|refresh", TOKEN_URL) as lwa:
                return lwa()
        token: Any = TokenProvider() if answer.token_provider else "Atza|static-token"
        with BrowseClient(
            "api-key", token, base_url=BASE_URL, max_retries=answer.max_retries
        ) as client:
            return TARGETS[answer.target].call(client)


def unusable(error: AmazonMusicError) -> str | None:
    """What is wrong with an exception a caller would log, show or pickle, if anything."""
    try:
        text = str(error)
        repr(error)
        copy_ = pickle.loads(pickle.dumps(error))
    except BaseException as failure:  # every failure counts, whatever its class
        return f"cannot be shown or pickled: {failure!r}"
    if type(copy_) is not type(error) or str(copy_) != text:
        return f"does not survive pickling: {copy_!r}"
    return None


def test_only_documented_exceptions_come_out_of_hostile_answers(sleeps: list[float]) -> None:
    tried: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    statuses_met: Counter[str] = Counter()
    escaped: list[str] = []

    def run(answer: Answer) -> None:
        tried[answer.target] += 1
        kinds[answer.kind] += 1
        statuses_met[f"{answer.status // 100}xx"] += 1
        try:
            result = meet(answer)
        except AmazonMusicError as error:
            outcomes[type(error).__name__] += 1
            problem = unusable(error)
            if problem:
                escaped.append(f"{answer!r}: {type(error).__name__} {problem}")
        except BaseException as error:  # every escape counts, whatever its class
            escaped.append(f"{answer!r}: {type(error).__name__}: {str(error)[:200]}")
        else:
            outcomes["returned"] += 1
            if not isinstance(result, TARGETS[answer.target].returns):
                escaped.append(f"{answer!r}: returned a {type(result).__name__}")

    budget = settings(
        max_examples=EXAMPLES_PER_CASE,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    for number, (target, kind) in enumerate(itertools.product(sorted(TARGETS), KINDS)):
        # a fixed seed per case: the same answers on every run, different across cases
        seed(number)(budget(given(answers(target, kind))(run)))()

    report(
        "hostile-bodies",
        tried=sum(tried.values()),
        targets=len(tried),
        kinds=dict(sorted(kinds.items())),
        statuses=dict(sorted(statuses_met.items())),
        outcomes=dict(sorted(outcomes.items())),
        escaped=len(escaped),
    )
    assert tried == dict.fromkeys(TARGETS, EXAMPLES_PER_CASE * len(KINDS))
    assert kinds == dict.fromkeys(KINDS, EXAMPLES_PER_CASE * len(TARGETS))
    assert min(statuses_met.values()) >= 40
    assert outcomes["returned"] > 0  # the documented answers still parse
    assert escaped == [], "\n".join(escaped[:20])


DEEP_ARRAY = b"[" * 5000 + b"]" * 5000


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("get_top_tracks", 500),
        ("get_category", 404),
        ("login_with_amazon", 400),
        ("login_with_amazon", 200),
    ],
)
def test_a_deeply_nested_answer_is_a_documented_error(target: str, status: int) -> None:
    """Deep JSON nesting makes ``json.loads`` raise RecursionError, not ValueError."""
    raised: BaseException | None = None
    try:
        meet(Answer(target, "deep-nesting", status, DEEP_ARRAY, ()))
    except BaseException as error:  # its class is what this test checks
        raised = error

    report(f"hostile-deep[{target}-{status}]", depth=5000, raised=type(raised).__name__)
    assert isinstance(raised, AmazonMusicError), repr(raised)
    assert getattr(raised, "status_code", None) == status
