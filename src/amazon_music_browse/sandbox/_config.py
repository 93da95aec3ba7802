"""`SandboxConfig`: every option of the sandbox, written once, and checked on creation.

A field is one option: its name, type, default and a one-line help in its metadata.
`SandboxServer` is a `SandboxConfig`, so the fields are its constructor's arguments (``host``
and ``port`` positional, the rest keyword-only) and its read-only attributes; the command
line (``python -m amazon_music_browse.sandbox``) makes one flag of each field that has one.
Adding an option is adding a field here (and saying what it does where it is used).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, MISSING, dataclass, field
from types import MappingProxyType
from typing import Any, Final

from amazon_music_browse._arguments import is_finite_number, is_int, is_number
from amazon_music_browse._config import check_url

from ._catalog import resolve_sizes

__all__ = ["DEFAULT_STALL_SECONDS", "RATES", "SandboxConfig", "option"]

DEFAULT_STALL_SECONDS: Final = 60.0
RATES: Final = ("rate_limit_rate", "server_error_rate", "drop_rate", "truncate_rate", "stall_rate")
"""The fault rates, in the order their shares are stacked on one draw."""


def option(
    default: Any,
    help: str,
    *,
    flag: bool = True,
    flag_default: Any = MISSING,
    parse: Callable[[str], Any] | None = None,
    metavar: str | None = None,
    secret: bool = False,
) -> Any:
    """A field of `SandboxConfig`: one option of the sandbox.

    Args:
        default: its default value.
        help: one line for the command line's ``--help``.
        flag: whether the command line has a flag for it.
        flag_default: the flag's default, when it differs from ``default``.
        parse: turns the flag's text into a value (default: the field's type).
        metavar: the flag's value in ``--help``.
        secret: a credential: left out of reprs.
    """
    metadata = {
        "help": help,
        "flag": flag,
        "flag_default": default if flag_default is MISSING else flag_default,
        "parse": parse,
        "metavar": metavar,
    }
    return field(default=default, repr=not secret, metadata=metadata)


def parse_sizes(text: str) -> dict[str, int]:
    """``"topPlaylists=1000,tracks=50"`` as ``{"topPlaylists": 1000, "tracks": 50}``."""
    sizes: dict[str, int] = {}
    for item in filter(None, text.split(",")):
        key, equals, count = item.partition("=")
        if not equals or not count.strip().isdecimal():
            raise ValueError(f"expected KEY=COUNT[,KEY=COUNT...], got {item!r}")
        sizes[key.strip()] = int(count)
    return sizes


@dataclass(frozen=True, eq=False)
class SandboxConfig:
    """The sandbox's options (see `SandboxServer` for each one), checked on creation.

    Credentials are left out of the repr.

    Raises:
        TypeError: a value has the wrong type.
        ValueError: a value is out of range.
    """

    host: str = option("127.0.0.1", "address to listen on")
    port: int = option(0, "port to listen on; 0 picks a free one", flag_default=8765)
    _: KW_ONLY
    api_key: str = option("sandbox-key", "the x-api-key value the API accepts", secret=True)
    access_token: str = option(
        "sandbox-token", "the bearer token the API accepts (unless tokens expire)", secret=True
    )
    client_id: str = option(
        "sandbox-client", "Login with Amazon client id of the token endpoint", secret=True
    )
    client_secret: str = option("sandbox-secret", "its client secret", secret=True)
    refresh_token: str = option(
        "sandbox-refresh", "the refresh token the token endpoint exchanges", secret=True
    )
    latency: float = option(0.0, "seconds added before every API response", metavar="SECONDS")
    rate_limit_rate: float = option(0.0, "share of API requests answered 429", metavar="SHARE")
    server_error_rate: float = option(
        0.0, "share of API requests answered 503 and 500, alternately", metavar="SHARE"
    )
    retry_after: int = option(
        1, "Retry-After seconds on injected 429/5xx responses", metavar="SECONDS"
    )
    token_lifetime: float | None = option(
        None,
        "lifetime of issued tokens in seconds; when set, only issued tokens are accepted",
        metavar="SECONDS",
    )
    seed: int = option(0, "seed of the catalog, the page tokens and the faults", metavar="N")
    catalog_sizes: Mapping[str, int] | None = option(
        None,
        "item counts per collection, e.g. topPlaylists=1000,tracks=50",
        parse=parse_sizes,
        metavar="KEY=COUNT,...",
    )
    clock: Callable[[], float] = option(  # noqa: RUF009 - option() is a dataclasses.field()
        time.monotonic, "decides token expiry", flag=False
    )
    drop_rate: float = option(
        0.0, "share of API requests whose connection is closed mid-response", metavar="SHARE"
    )
    truncate_rate: float = option(
        0.0, "share of API requests answered with half the body, then closed", metavar="SHARE"
    )
    stall_rate: float = option(
        0.0, "share of API requests whose body is withheld for --stall-seconds", metavar="SHARE"
    )
    stall_seconds: float = option(
        DEFAULT_STALL_SECONDS, "how long a stalled response withholds its body", metavar="SECONDS"
    )
    redirect_to: str | None = option(
        None, "answer every API request 302 to URL + its path and query", metavar="URL"
    )
    auto_approve_after: float | None = option(
        None,
        "approve every device code (code-based linking) this many seconds after it is issued",
        metavar="SECONDS",
    )
    device_interval: float = option(
        5, "the polling interval a code pair asks for, in seconds", metavar="SECONDS"
    )
    device_expires_in: float = option(
        600, "seconds a device code (code-based linking) stays valid", metavar="SECONDS"
    )
    rotate_refresh_tokens: bool = option(
        False, "answer each refresh with a new refresh token, refusing the old one"
    )
    rotation_grace: float = option(
        0.0, "seconds a rotated refresh token is still accepted", metavar="SECONDS"
    )
    etag: bool = option(
        False, "send ETag and Cache-Control with API responses; answer 304 to If-None-Match"
    )
    cache_max_age: int = option(
        60, "the max-age of the Cache-Control sent with etag", metavar="SECONDS"
    )

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise TypeError(f"host must be a non-empty str, not {self.host!r}")
        _check_int("port", self.port)
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be from 0 to 65535, got {self.port}")
        for name in ("api_key", "access_token", "client_id", "client_secret", "refresh_token"):
            _check_credential(name, getattr(self, name))
        _check_number("latency", self.latency, minimum=0.0)
        for name in RATES:
            _check_number(name, getattr(self, name), minimum=0.0, maximum=1.0)
        total = sum(getattr(self, name) for name in RATES)
        if total > 1.0:
            raise ValueError(
                f"the fault rates ({' + '.join(RATES)}) must not exceed 1 in total, got {total:g}"
            )
        _check_number("stall_seconds", self.stall_seconds, minimum=0.0)
        if self.redirect_to is not None:
            _check_redirect_to(self.redirect_to)
        _check_int("retry_after", self.retry_after)
        if self.retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {self.retry_after}")
        if self.token_lifetime is not None:
            _check_number("token_lifetime", self.token_lifetime, minimum=0.0)
            if self.token_lifetime == 0:
                raise ValueError("token_lifetime must be > 0, or None for 3600 s tokens")
        _check_int("seed", self.seed)
        if self.auto_approve_after is not None:
            _check_number("auto_approve_after", self.auto_approve_after, minimum=0.0)
        _check_number("device_interval", self.device_interval, minimum=0.0)
        _check_number("device_expires_in", self.device_expires_in, minimum=0.0)
        if self.device_expires_in == 0:
            raise ValueError("device_expires_in must be > 0")
        if not isinstance(self.rotate_refresh_tokens, bool):
            raise TypeError(
                "rotate_refresh_tokens must be a bool, not "
                f"{type(self.rotate_refresh_tokens).__name__}"
            )
        _check_number("rotation_grace", self.rotation_grace, minimum=0.0)
        if not isinstance(self.etag, bool):
            raise TypeError(f"etag must be a bool, not {type(self.etag).__name__}")
        _check_int("cache_max_age", self.cache_max_age)
        if self.cache_max_age < 0:
            raise ValueError("cache_max_age must be >= 0")
        if not callable(self.clock):
            raise TypeError(f"clock must be a callable returning seconds, not {self.clock!r}")
        if self.catalog_sizes is not None:
            resolve_sizes(self.catalog_sizes)
            # A copy: changing the caller's mapping changes nothing.
            object.__setattr__(self, "catalog_sizes", MappingProxyType(dict(self.catalog_sizes)))


def _check_credential(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value or any(char.isspace() for char in value):
        raise ValueError(f"{name} must be a non-empty string without whitespace")


def _check_redirect_to(value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"redirect_to must be a str or None, not {type(value).__name__}")
    check_url(
        value, "redirect_to", "http://127.0.0.1:8080", plain_http="anywhere", error=ValueError
    )


def _check_int(name: str, value: object) -> None:
    if not is_int(value):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def _check_number(name: str, value: object, *, minimum: float, maximum: float = math.inf) -> None:
    if not is_number(value):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not (minimum <= value <= maximum and is_finite_number(value)):
        bounds = f"from {minimum:g} to {maximum:g}" if math.isfinite(maximum) else f">= {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}")
