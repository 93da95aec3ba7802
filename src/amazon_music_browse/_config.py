"""Checks of the client's options, made in the constructor."""

from __future__ import annotations

import ipaddress
import os
from typing import Any, Literal
from urllib.parse import urlsplit

from ._arguments import is_finite_number, is_int, is_number
from ._constants import DEFAULT_BASE_URL, ENV_BASE_URL
from ._errors import ConfigurationError

Timeout = float | tuple[float, float]
"""Seconds for the connection and each read, or a ``(connect, read)`` pair."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, ``127.0.0.0/8`` or ``::1``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_https_url(url: Any, name: str, example: str) -> str:
    """Return ``url`` if credentials may be sent to it: ``https://``, or ``http://`` on loopback.

    It must have a host, and no user name, password, query or fragment.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"{name} must be a str, not {type(url).__name__}")
    return check_url(url, name, example)


def check_url(
    url: str,
    name: str,
    example: str,
    *,
    plain_http: Literal["loopback", "anywhere"] = "loopback",
    error: type[ValueError] = ConfigurationError,
) -> str:
    """Return ``url`` if requests may be sent to it, else raise ``error`` naming ``name``.

    The one URL check of the package, for the client's base URLs and the sandbox's
    ``redirect_to``: an ``http(s)://`` URL with a host and a valid port, without a user
    name, password, query, fragment, whitespace or control character. ``plain_http``
    says where ``http://`` is allowed: on loopback hosts only, or anywhere.
    """
    if any(char.isspace() or not char.isprintable() for char in url):
        # urlsplit drops tabs and newlines silently: the URL checked would not be the one sent.
        raise error(f"{name} contains whitespace or control characters: {url!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as exc:
        raise error(f"{name} is not a valid URL: {exc}") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        schemes = "an https://" if plain_http == "loopback" else "an http:// or https://"
        raise error(f"{name} must be {schemes} URL with a host, like {example!r}, got {url!r}")
    if "@" in parts.netloc:
        raise error(f"{name} must not carry a user name or password")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        # An empty "?" or "#" would make every path appended to the URL a query or fragment.
        raise error(f"{name} must not have a query or fragment, got {url!r}")
    if plain_http == "loopback" and parts.scheme == "http" and not is_loopback(parts.hostname):
        raise error(
            f"{name} must use https://; plain http:// is allowed only for loopback hosts "
            f"(localhost, 127.0.0.0/8, ::1), got {url!r}"
        )
    return url


def check_base_url(base_url: Any) -> str:
    """Return ``base_url`` without a trailing slash if it is safe to send credentials to.

    ``None`` means ``AMAZON_MUSIC_BASE_URL`` from the environment, else the real service.
    """
    if base_url is None:
        from_environment = os.environ.get(ENV_BASE_URL)
        if from_environment:
            return check_https_url(from_environment, ENV_BASE_URL, DEFAULT_BASE_URL).rstrip("/")
        base_url = DEFAULT_BASE_URL
    return check_https_url(base_url, "base_url", DEFAULT_BASE_URL).rstrip("/")


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` if it is an ``int`` (not ``bool``) >= 1."""
    if not is_int(value) or value < 1:
        raise ConfigurationError(f"{name} must be an int >= 1, got {value!r}")
    return value


def _seconds(value: Any, what: str) -> float:
    if not is_number(value):
        raise ConfigurationError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not (is_finite_number(value) and value > 0):
        raise ConfigurationError(f"{what} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def check_timeout(timeout: Any) -> Timeout:
    """Return ``timeout`` as float seconds or a ``(connect, read)`` pair of them."""
    if timeout is None:
        raise ConfigurationError(
            "timeout cannot be None: the client never waits forever; pass seconds "
            "(e.g. 30.0) or a (connect, read) pair"
        )
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ConfigurationError("timeout must be seconds or a (connect, read) pair")
        return (_seconds(timeout[0], "connect timeout"), _seconds(timeout[1], "read timeout"))
    return _seconds(timeout, "timeout")


def check_max_retries(max_retries: Any) -> int:
    """Return ``max_retries`` if it is an ``int`` >= 0."""
    if not is_int(max_retries) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
    return max_retries


def check_max_retry_wait(max_retry_wait: Any) -> float:
    """Return ``max_retry_wait`` if it is a finite number of seconds >= 0."""
    if not (is_finite_number(max_retry_wait) and max_retry_wait >= 0):
        raise ConfigurationError(
            f"max_retry_wait must be a finite number of seconds >= 0, got {max_retry_wait!r}"
        )
    return float(max_retry_wait)
