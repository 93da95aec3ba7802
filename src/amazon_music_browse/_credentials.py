"""Where the API key and the access token come from, and the checks they pass."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeGuard

from ._constants import ENV_ACCESS_TOKEN, ENV_API_KEY
from ._errors import ConfigurationError

AccessToken = str | Callable[[], str]
"""An access token, or a zero-argument callable that returns the current one."""


def is_header_safe(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a non-empty ASCII ``str`` with no whitespace or control characters."""
    return (
        isinstance(value, str)
        and bool(value)
        and value.isascii()
        and all(char.isprintable() and not char.isspace() for char in value)
    )


def check_header_value(value: object, what: str) -> str:
    """Return ``value`` if it can be sent as a credential header, else raise.

    The message names what is wrong, never the value itself.
    """
    if not isinstance(value, str):
        raise ConfigurationError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise ConfigurationError(f"{what} is empty")
    if not is_header_safe(value):
        raise ConfigurationError(
            f"{what} contains whitespace, control or non-ASCII characters "
            "and cannot be sent in a header"
        )
    return value


def resolve_api_key(api_key: str | None) -> str:
    """The API key passed, or the one in the environment."""
    if api_key is None:
        api_key = os.environ.get(ENV_API_KEY) or None
    if api_key is None:
        raise ConfigurationError(
            f"no API key: pass api_key=... (your security profile ID) or set {ENV_API_KEY}"
        )
    return check_header_value(api_key, "api_key")


def resolve_access_token(access_token: AccessToken | None) -> AccessToken:
    """The token (or token callable) passed, or the token in the environment."""
    if access_token is None:
        access_token = os.environ.get(ENV_ACCESS_TOKEN) or None
    if access_token is None:
        raise ConfigurationError(
            f"no access token: pass access_token=... (a token, or a callable returning one) "
            f"or set {ENV_ACCESS_TOKEN}"
        )
    if callable(access_token):
        return access_token
    return check_header_value(access_token, "access_token")


def current_token(access_token: AccessToken) -> str:
    """The token to send now: the string itself, or what the callable returns."""
    if isinstance(access_token, str):
        return access_token
    return check_header_value(access_token(), "the token returned by access_token()")


def invalidate_token(access_token: AccessToken, refused: str) -> bool:
    """Tell a token callable its token was refused; ``False`` for a plain string token."""
    if isinstance(access_token, str):
        return False
    invalidate = getattr(access_token, "invalidate", None)
    if callable(invalidate):
        invalidate(refused)
    return True
