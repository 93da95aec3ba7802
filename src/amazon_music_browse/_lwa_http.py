"""Login with Amazon's side of HTTP: POSTing forms to its endpoints and reading answers.

Every grant (refresh, authorization code, device code) and the code-pair request go
through `post_form`, over the package's `Transport` (deadlines, size cap, no redirects
followed, no ``~/.netrc``). Answers are read by `read_token_answer` and `read_object`;
error answers become `AuthenticationError` (400 and 401) or the class of their status.
Every text kept on an exception passes a redactor first (`lwa_redactor`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from ._arguments import is_finite_number
from ._config import Timeout, check_https_url
from ._constants import ENV_LWA_URL, MAX_TOKEN_RESPONSE_BYTES, USER_AGENT
from ._credentials import is_header_safe
from ._errors import (
    APIError,
    AuthenticationError,
    ResponseValidationError,
    api_error_from_body,
    excerpt,
)
from ._redact import REDACTED, Redactor
from ._retry import parse_retry_after
from ._transport import Exchange, Transport

__all__ = [
    "TokenAnswer",
    "lwa_endpoint",
    "lwa_error",
    "lwa_redactor",
    "post_form",
    "read_object",
    "read_token_answer",
]

Redact = Callable[[str], str]

# LWA access tokens start with "Atza|", refresh tokens with "Atzr|".
_LWA_TOKEN = re.compile(r"Atz[a-z]\|[^\s\"'&,;<>]*")
_SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "device_code",
)


@dataclass(frozen=True)
class TokenAnswer:
    """What a 200 answer of the token endpoint gave."""

    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str | None = field(repr=False)


def lwa_endpoint(
    explicit: str | None, lwa_url: str | None, path: str, default: str, name: str
) -> str:
    """One Login with Amazon endpoint: ``explicit`` if given, else ``path`` below
    ``lwa_url`` or ``$AMAZON_MUSIC_LWA_URL`` (a base for all three, such as a sandbox's
    URL), else ``default``. ``https://`` only, or ``http://`` on loopback."""
    if explicit is not None:
        return check_https_url(explicit, name, default)
    for base, base_name in ((lwa_url, "lwa_url"), (os.environ.get(ENV_LWA_URL), ENV_LWA_URL)):
        if base is not None and (base or base_name == "lwa_url"):
            return check_https_url(base, base_name, "https://api.amazon.com").rstrip("/") + path
    return default


def lwa_redactor(*secrets: str | None) -> Redact:
    """A function removing ``secrets``, any LWA token and secret-named fields from text."""
    redactor = Redactor(secrets)

    def redact(text: str) -> str:
        text = _LWA_TOKEN.sub(REDACTED, redactor(text))
        for name in _SECRET_FIELDS:  # secret-named fields of a JSON or form body
            text = re.sub(
                rf'("{name}"\s*:\s*")[^"]*(")|(\b{name}=)[^&\s"]*',
                lambda m: f"{m[1]}{REDACTED}{m[2]}" if m[1] else f"{m[3]}{REDACTED}",
                text,
            )
        return text

    return redact


def post_form(
    transport: Transport, url: str, form: Mapping[str, str], timeout: Timeout
) -> requests.Response:
    """POST ``form`` to a Login with Amazon endpoint; the answer's body is read.

    The secrets travel in the form body; redirects are not followed, so they never reach
    another URL. An answer over 1 MiB is not read.
    """
    exchange = Exchange(
        "POST",
        headers={"Accept": "application/json", "User-Agent": USER_AGENT},
        credentials={},
        timeout=timeout,
        max_bytes=MAX_TOKEN_RESPONSE_BYTES,
        data=dict(form),
        follow_redirects=False,
    )
    return transport.send(url, exchange)


def body_text(response: requests.Response) -> str:
    return response.content.decode("utf-8", errors="replace")


def lwa_error(response: requests.Response, redact: Redact) -> APIError:
    """The exception for an error answer: LWA's ``error`` as ``.code``, its description
    as ``.message``; 400 and 401 are `AuthenticationError` (LWA refuses grants with both).
    """
    return api_error_from_body(
        response.status_code,
        redact(body_text(response)),
        request_id=_optional(redact, response.headers.get("x-amzn-RequestId")),
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        response=response,
        error_class=AuthenticationError if response.status_code in (400, 401) else None,
    )


def read_object(response: requests.Response, redact: Redact, what: str) -> dict[str, Any]:
    """The JSON object of a 200 answer; the error for any other status."""
    if response.status_code != 200:
        raise lwa_error(response, redact)
    body = body_text(response)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise _invalid(what, "with a body that is not JSON", response, body, redact) from None
    if not isinstance(document, dict):
        raise _invalid(what, "with JSON that is not an object", response, body, redact)
    return document


def read_token_answer(
    response: requests.Response, redact: Redact, *, require_refresh_token: bool = False
) -> TokenAnswer:
    """``access_token``, ``expires_in`` and ``refresh_token`` of a token answer.

    Raises:
        AuthenticationError: LWA refused the grant (400/401).
        APIError: another error status.
        ResponseValidationError: a 200 without a usable token.
    """
    document = read_object(response, redact, "Login with Amazon")
    body = body_text(response)
    access_token = document.get("access_token")
    expires_in = document.get("expires_in")
    refresh_token = document.get("refresh_token")
    secrets = [v for v in (access_token, refresh_token) if isinstance(v, str) and v]
    also = lwa_redactor(*secrets)

    def fail(problem: str) -> ResponseValidationError:
        return _invalid("Login with Amazon", problem, response, body, lambda t: also(redact(t)))

    if not is_header_safe(access_token):
        raise fail("without a usable access_token")
    if not (is_finite_number(expires_in) and expires_in > 0):
        raise fail("without a positive number expires_in")
    if refresh_token is not None and not (isinstance(refresh_token, str) and refresh_token):
        raise fail("with a refresh_token that is not a non-empty string")
    if require_refresh_token and refresh_token is None:
        raise fail("without a refresh_token (is the client secret right?)")
    return TokenAnswer(access_token, float(expires_in), refresh_token)


def _invalid(
    what: str, problem: str, response: requests.Response, body: str, redact: Redact
) -> ResponseValidationError:
    body = redact(body)
    return ResponseValidationError(
        f"{what} answered {response.status_code} {problem}: {excerpt(body) or '(empty body)'}",
        status_code=response.status_code,
        body=body,
    )


def _optional(redact: Redact, text: str | None) -> str | None:
    return None if text is None else redact(text)
